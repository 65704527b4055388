"""Lead intake throughput through the Leadflip face: single intakes, and bulk batches.

Every request goes through the whole server in this process (``httpx`` over ASGI: routing,
parsing, key matching, validation, duplicate lookups, the insert, notes and events, the
commit), against a workspace that already holds ``--existing`` leads, so the duplicate
lookups search a populated table (analyzed after loading, as autovacuum would have).
Payloads use loose keys (``"First Name"``, ``"E-mail"``), carry a stage, an unmapped key or
two and sometimes a note, the way web forms send them.

Measured: leads per second and request latency for single JSON and form intakes; leads per
second for batches of 1,000 and 10,000 (all new, and half of them duplicates of existing
leads); the Python heap peak while serving one 10,000-lead batch.
"""

from __future__ import annotations

import gc
import json
import random
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import load, machine
from bench.data import ContactGenerator, Uniques
from bench.storage import summary
from crm.api.app import create_app
from crm.core.auth.service import principal_for_user
from crm.core.intake.service import take_in_many
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.settings import Settings

RESULTS = Path(__file__).parent / "results"
BASE = "/leadflip/api"
LOOSE_KEYS = {
    "first_name": "First Name",
    "last_name": "last-name",
    "email": "E-mail",
    "phone": "Phone Number",
    "company": "COMPANY",
    "city": "city",
    "title": "Job title",
}


@dataclass
class Options:
    db: str
    url: str
    existing: int
    singles: int
    seed: int


class Leads:
    """Loose intake payloads made from the benchmark's realistic contacts."""

    def __init__(self, seed: int) -> None:
        self.contacts = ContactGenerator(seed, ["owner"], Uniques())
        self.rng = random.Random(seed)
        self.made: list[dict[str, Any]] = []

    def payload(self) -> dict[str, Any]:
        contact = self.contacts.contact()
        out: dict[str, Any] = {
            label: contact[key] for key, label in LOOSE_KEYS.items() if key in contact
        }
        out["utm_source"] = self.rng.choice(["google", "facebook", "newsletter", "partner"])
        out["status:stage"] = self.rng.choice(["New", "Contacted", "qualified"])
        if self.rng.random() < 0.3:
            out["note"] = "Asked for a call back about pricing."
        self.made.append(out)
        return out

    def batch(self, n: int, duplicates: float = 0.0) -> list[dict[str, Any]]:
        """``n`` payloads, a share of them repeating an earlier lead's email with news."""
        out = []
        for _ in range(n):
            if self.made and self.rng.random() < duplicates:
                earlier = self.rng.choice(self.made)
                out.append({"E-mail": earlier["E-mail"], "city": "Lisbon", "utm_campaign": "q4"})
            else:
                out.append(self.payload())
        return out


async def prefill(engine: AsyncEngine, owner_id: int, leads: Leads, n: int) -> list[str]:
    """Load ``n`` leads through the core's intake path, as the user ``owner_id``; their UUIDs."""
    made: list[str] = []
    while len(made) < n:
        size = min(10_000, n - len(made))
        async with transaction(engine, write=True) as conn:
            principal = await principal_for_user(conn, owner_id)
            outcomes = await take_in_many(conn, principal, "lead", leads.batch(size))
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error][:3]
        made += [str(o.record.uuid) for o in outcomes if o.record is not None]
    return made


async def _singles(
    client: httpx.AsyncClient, leads: Leads, n: int, *, form: bool
) -> dict[str, Any]:
    latencies = []
    start = time.perf_counter()
    for _ in range(n):
        payload = {"entity": "lead", **leads.payload()}
        t0 = time.perf_counter()
        if form:
            answer = await client.post(
                f"{BASE}/intake", data={k: str(v) for k, v in payload.items()}
            )
        else:
            answer = await client.post(f"{BASE}/intake", json=payload)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, answer.text
    seconds = time.perf_counter() - start
    return {"leads": n, "seconds": round(seconds, 3), "leads_per_s": round(n / seconds, 1)} | {
        f"ms_{k}": v for k, v in summary(latencies).items()
    }


async def bulk(
    client: httpx.AsyncClient, leads: Leads, size: int, rounds: int, duplicates: float
) -> dict[str, Any]:
    seconds = 0.0
    counts = {"created": 0, "updated": 0, "failed": 0}
    for _ in range(rounds):
        body = {"entity": "lead", "batch": leads.batch(size, duplicates), "source": "Import"}
        t0 = time.perf_counter()
        answer = await client.post(f"{BASE}/leads/bulk", json=body)
        seconds += time.perf_counter() - t0
        assert answer.status_code == 200, answer.text[:500]
        found = answer.json()
        for key in counts:
            counts[key] += len(found[key])
    assert counts["failed"] == 0, counts
    total = size * rounds
    return {
        "batch": size,
        "batches": rounds,
        "duplicates": duplicates,
        **counts,
        "seconds": round(seconds, 3),
        "leads_per_s": round(total / seconds, 1),
    }


async def _heap_peak(client: httpx.AsyncClient, leads: Leads) -> dict[str, Any]:
    body = {"entity": "lead", "batch": leads.batch(10_000)}
    encoded = json.dumps(body).encode()
    gc.collect()
    tracemalloc.start()
    answer = await client.post(
        f"{BASE}/leads/bulk", content=encoded, headers={"content-type": "application/json"}
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert answer.status_code == 200, answer.text[:500]
    return {"batch": 10_000, "body_mb": round(len(encoded) / 2**20, 1), "peak_mb": peak / 2**20}


async def main(opts: Options) -> dict[str, Any]:
    """Run every measurement on a database ``load.reset_database`` has just made."""
    engine = make_engine(opts.url)
    try:
        async with transaction(engine, write=True) as conn:
            made = await create_workspace(conn, name="Intake bench", subdomain="bench-intake")
        owner_id = made["owner"]["id"]
        leads = Leads(opts.seed)
        start = time.perf_counter()
        await prefill(engine, owner_id, leads, opts.existing)
        prefilled = time.perf_counter() - start
        analyzed = await load.analyze(engine)
        print(f"prefilled {opts.existing} leads in {prefilled:.1f} s, analyzed in {analyzed:.1f} s")
        app = create_app(
            Settings(opts.url, max_body_bytes=64 * 2**20, rate_limit=0, auth_failures=0), engine
        )
        headers = {"Authorization": f"Bearer {made['api_key']}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers, timeout=600
        ) as client:
            results = {
                "single_json": await _singles(client, leads, opts.singles, form=False),
                "single_form": await _singles(client, leads, opts.singles // 2, form=True),
                "bulk_1000_new": await bulk(client, leads, 1_000, 10, 0.0),
                "bulk_10000_new": await bulk(client, leads, 10_000, 3, 0.0),
                "bulk_1000_half_duplicates": await bulk(client, leads, 1_000, 5, 0.5),
                "heap_10000": await _heap_peak(client, leads),
            }
        out = {
            "benchmark": "intake",
            "db": opts.db,
            "existing_leads": opts.existing,
            "prefill_leads_per_s": round(opts.existing / prefilled, 1) if prefilled else None,
            "machine": machine.machine(),
            "database": await machine.database(engine),
            "results": results,
        }
    finally:
        await engine.dispose()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"intake-{opts.db}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(table(out))
    print(f"written to {path}")
    return out


def table(out: dict[str, Any]) -> str:
    """The results as a plain-text table."""
    lines = [f"intake on {out['db']}, {out['existing_leads']} existing leads"]
    lines.append(f"  prefill (core, batches of 10,000): {out['prefill_leads_per_s']} leads/s")
    for name, r in out["results"].items():
        if name == "heap_10000":
            lines.append(f"  {name:28} peak {r['peak_mb']:.1f} MB (body {r['body_mb']} MB)")
        elif "ms_p50" in r:
            lines.append(
                f"  {name:28} {r['leads_per_s']:>8} leads/s  "
                f"p50 {r['ms_p50']:.1f} ms  p95 {r['ms_p95']:.1f} ms"
            )
        else:
            lines.append(f"  {name:28} {r['leads_per_s']:>8} leads/s")
    return "\n".join(lines)
