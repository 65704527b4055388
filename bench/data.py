"""A deterministic generator of realistic contacts, as ``bulk_create`` items.

Everything is drawn from one ``random.Random(seed)`` per workspace, so a given seed and
scale always produce the same field values (record UUIDs and timestamps come from the
product and differ between runs). Names, cities and companies follow rank-based weights:
a few values are common and most are rare. Emails and phone numbers are unique across
all workspaces of a run.
"""

from __future__ import annotations

import bisect
import itertools
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench import names

CITIES = list(dict.fromkeys(names.CITIES))[:200]
FIRST_NAMES = list(dict.fromkeys(names.FIRST_NAMES))
LAST_NAMES = list(dict.fromkeys(names.LAST_NAMES))
COMPANIES = [
    " ".join(p for p in (a, b, s) if p)
    for a, b, s in itertools.product(
        names.COMPANY_FIRST, names.COMPANY_SECOND, names.COMPANY_SUFFIX[:4]
    )
]

#: The custom fields every benchmark workspace gets on ``contact``, all indexed.
CUSTOM_FIELDS: list[dict[str, Any]] = [
    {"key": "score", "label": "Score", "type": "number", "indexed": True},
    {"key": "segment", "label": "Segment", "type": "text", "indexed": True},
    {"key": "renewal_date", "label": "Renewal date", "type": "date", "indexed": True},
]

#: Tags of the benchmark's workspaces and the share of contacts each is put on.
TAGS: list[tuple[str, float]] = [
    ("vip", 0.02),
    ("newsletter", 0.3),
    ("trade show", 0.05),
    ("churn risk", 0.03),
]

_RENEWAL_START = date(2024, 1, 1)
_RENEWAL_DAYS = 4 * 365


class Zipf:
    """Draw from ``values`` with weight ``1 / rank ** s``: realistic skew, deterministic."""

    def __init__(self, values: Sequence[str], s: float = 0.9) -> None:
        self.values = list(values)
        weights = [1 / (rank**s) for rank in range(1, len(values) + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def __call__(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        return self.values[bisect.bisect_right(self.cumulative, x)]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def _domain(company: str) -> str:
    words = company.split()[:2]
    return "".join(_ascii(w) for w in words) + ".com"


@dataclass
class Uniques:
    """Emails and phone numbers handed out so far, shared by all workspaces of a run."""

    emails: dict[str, int] = field(default_factory=dict)
    phones: set[str] = field(default_factory=set)

    def email(self, local: str, domain: str) -> str:
        """``local@domain``, with a number appended when that address is taken."""
        base = f"{local}@{domain}"
        n = self.emails.get(base, 0)
        self.emails[base] = n + 1
        return base if n == 0 else f"{local}{n + 1}@{domain}"

    def phone(self, rng: random.Random) -> str:
        """A unique valid US number in E.164: a real area code, exchange 200-999."""
        while True:
            area = rng.choice(names.US_AREA_CODES)
            exchange = rng.randrange(200, 1000)
            if exchange % 100 == 11 or exchange == 555:
                continue
            number = f"+1{area}{exchange}{rng.randrange(10000):04d}"
            if number not in self.phones:
                self.phones.add(number)
                return number


class ContactGenerator:
    """Contacts for one workspace: ``items(n)`` yields ``bulk_create`` items."""

    first = Zipf(FIRST_NAMES, 0.7)
    last = Zipf(LAST_NAMES, 0.8)
    city = Zipf(CITIES, 0.9)
    company = Zipf(COMPANIES, 0.6)

    def __init__(self, seed: int, owners: Sequence[str], uniques: Uniques) -> None:
        self.rng = random.Random(seed)
        self.owners = list(owners)
        self.uniques = uniques

    def contact(self) -> dict[str, Any]:
        """One contact's ``fields`` (some optional fields left out, as real data has)."""
        rng = self.rng
        first, last = self.first(rng), self.last(rng)
        company = self.company(rng) if rng.random() < 0.85 else None
        domain = _domain(company) if company and rng.random() < 0.6 else rng.choice(names.FREE_MAIL)
        fields: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": self.uniques.email(f"{_ascii(first)}.{_ascii(last)}", domain),
            "city": self.city(rng),
            "country": rng.choice(names.COUNTRIES),
            "status": rng.choices(names.STATUSES, names.STATUS_WEIGHTS)[0],
            "source": rng.choice(names.SOURCES),
            "segment": rng.choice(names.SEGMENTS),
            "renewal_date": (
                _RENEWAL_START + timedelta(days=rng.randrange(_RENEWAL_DAYS))
            ).isoformat(),
        }
        if rng.random() < 0.98:
            fields["score"] = min(1000, max(0, round(rng.gauss(500, 180))))
        if rng.random() < 0.9:
            fields["phone"] = self.uniques.phone(rng)
        if rng.random() < 0.3:
            fields["mobile"] = self.uniques.phone(rng)
        if company:
            fields["company"] = company
            fields["title"] = rng.choice(names.TITLES)
        return fields

    def tagging(self, made: Sequence[Any], tags: Sequence[Any]) -> list[tuple[Any, Any]]:
        """(record, tag) pairs: each tag of ``TAGS`` on its share of ``made``."""
        rng = self.rng
        return [
            (record, tag)
            for record in made
            for tag, (_, share) in zip(tags, TAGS, strict=True)
            if rng.random() < share
        ]

    def items(self, n: int) -> Iterator[dict[str, Any]]:
        """``n`` bulk items, each with an owner drawn from the workspace's users."""
        for _ in range(n):
            yield {"fields": self.contact(), "owner_id": self.rng.choice(self.owners)}
