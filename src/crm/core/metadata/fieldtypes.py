"""The field type registry: how each type parses, normalises and checks a value.

Every face, the importer and the intake validate through these classes, so a value is
stored the same way whichever door it came in by. Stored values are plain JSON: strings,
numbers, booleans and lists; dates as ``YYYY-MM-DD`` and datetimes as UTC
``YYYY-MM-DDTHH:MM:SSZ``, fixed-width so that text order is time order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import phonenumbers

from crm.core.storable import unstorable

__all__ = ["FIELD_TYPES", "FieldType", "FieldValueError", "field_type"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: A scheme such as ``mailto:`` (a colon after letters, not a port number).
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")


class FieldValueError(ValueError):
    """A value that a field of this type cannot hold; the message says why."""


@dataclass(frozen=True)
class FieldContext:
    """What a type needs to know about its field beyond the value."""

    key: str
    options: dict[str, Any]


class FieldType:
    """One field type. ``parse`` turns input into the stored form or raises FieldValueError."""

    name: ClassVar[str]
    #: The kind of stored JSON value, used to build comparisons: text, number, bool, list.
    storage: ClassVar[str] = "text"
    #: Whether records' search text includes this type's values by default.
    searchable: ClassVar[bool] = False
    #: Whether contains/starts/ends apply to the stored value.
    textual: ClassVar[bool] = True

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        raise NotImplementedError

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the type's ``options``; return what is stored."""
        return {}


def _as_text(value: Any, limit: int) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldValueError("must be a string")
    text = str(value)
    if len(text) > limit:
        raise FieldValueError(f"must be at most {limit} characters")
    problem = unstorable(text, "")
    if problem is not None:
        raise FieldValueError(problem.partition(": ")[2])
    return text


class Text(FieldType):
    name = "text"
    searchable = True

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        return _as_text(value, 2000)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``autonumber: {prefix, start}`` numbers new records that arrive without a value."""
        auto = options.get("autonumber")
        if auto is None:
            return {}
        prefix, start = (
            (auto.get("prefix", ""), auto.get("start", 1))
            if isinstance(auto, dict)
            else (None, None)
        )
        if not isinstance(prefix, str) or len(prefix) > 20 or not isinstance(start, int):
            raise FieldValueError("options.autonumber is {prefix: text, start: integer}")
        return {"autonumber": {"prefix": prefix, "start": max(start, 0)}}


class LongText(FieldType):
    name = "long_text"

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        return _as_text(value, 100_000)


class Number(FieldType):
    name = "number"
    storage = "number"
    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if isinstance(value, bool):
            raise FieldValueError("must be a number")
        if isinstance(value, str):
            try:
                value = float(value.strip().replace(",", "")) if value.strip() else None
            except ValueError:
                raise FieldValueError("must be a number") from None
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise FieldValueError("must be a number")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value


class Currency(Number):
    name = "currency"

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        amount = super().parse(value, ctx)
        return amount if isinstance(amount, int) else round(amount, 2)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        code = options.get("currency", "USD")
        if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
            raise FieldValueError("options.currency must be a three-letter ISO 4217 code")
        return {"currency": code}


class Date(FieldType):
    name = "date"
    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if not isinstance(value, str):
            raise FieldValueError("must be an ISO 8601 date (YYYY-MM-DD)")
        text = value.strip()
        try:
            if len(text) > 10:
                return datetime.fromisoformat(text.replace("z", "Z")).date().isoformat()
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise FieldValueError("must be an ISO 8601 date (YYYY-MM-DD)") from None


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 datetime in UTC, one without an offset read as UTC; ValueError otherwise."""
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """The stored and rendered form of a datetime: UTC, to the second."""
    # isoformat, not strftime("%Y"), which writes the year 345 as "345": RFC 3339 and the
    # stored text's order need four digits
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


class DateTime(FieldType):
    name = "datetime"
    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if not isinstance(value, str):
            raise FieldValueError("must be an ISO 8601 datetime")
        try:
            return format_datetime(parse_datetime(value.strip()))
        except (ValueError, OverflowError):
            raise FieldValueError("must be an ISO 8601 datetime") from None


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


class Boolean(FieldType):
    name = "boolean"
    storage = "bool"
    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise FieldValueError("must be true or false")


class Email(FieldType):
    name = "email"
    searchable = True

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        text = _as_text(value, 320).strip().lower()
        if not _EMAIL.match(text):
            raise FieldValueError("must be an email address")
        return text


def _plausible(number: phonenumbers.PhoneNumber) -> bool:
    """Valid, or at least shaped like a number of its country's numbering plan.

    Assignments change faster than any library's metadata (and forms are full of 555
    numbers), so a number that fits the plan's general pattern is kept rather than refused.
    """
    if phonenumbers.is_valid_number(number):
        return True
    if not phonenumbers.is_possible_number(number):
        return False
    national = phonenumbers.national_significant_number(number)
    for region in phonenumbers.region_codes_for_country_code(number.country_code or 0):
        plan = phonenumbers.PhoneMetadata.metadata_for_region(region)
        pattern = plan.general_desc.national_number_pattern if plan and plan.general_desc else None
        if pattern and re.fullmatch(pattern, national):
            return True
    return False


class Phone(FieldType):
    name = "phone"
    searchable = True

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        text = _as_text(value, 64).strip()
        region = ctx.options.get("default_region")
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise FieldValueError(
                "must be a phone number in E.164 form, such as +14155550123"
            ) from None
        if not _plausible(number):
            raise FieldValueError("is not a valid phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        region = options.get("default_region")
        if region is None:
            return {}
        if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise FieldValueError("options.default_region must be an ISO 3166 region code")
        return {"default_region": region.upper()}


class Url(FieldType):
    name = "url"

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        text = _as_text(value, 2000).strip()
        if "://" not in text:
            if _SCHEME.match(text):
                raise FieldValueError("must be an http or https URL")
            text = "https://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in text:
            raise FieldValueError("must be an http or https URL")
        return text


def _choices(options: dict[str, Any]) -> list[str]:
    return [c["value"] for c in options.get("choices", [])]


def _match_choice(value: Any, options: dict[str, Any]) -> str:
    if not isinstance(value, str):
        raise FieldValueError("must be one of the field's options")
    wanted = value.strip().casefold()
    for choice in options.get("choices", []):
        if wanted in (choice["value"].casefold(), choice["label"].casefold()):
            return str(choice["value"])
    allowed = ", ".join(_choices(options))
    raise FieldValueError(f"must be one of: {allowed}")


def _check_choices(options: dict[str, Any]) -> dict[str, Any]:
    raw = options.get("choices")
    if not isinstance(raw, list) or not raw:
        raise FieldValueError("options.choices must be a non-empty list")
    seen: set[str] = set()
    choices = []
    for item in raw:
        if isinstance(item, str):
            item = {"value": item, "label": item}
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise FieldValueError("each choice is a string or {value, label}")
        value = item["value"].strip()
        label = item.get("label", value)
        if not value or not isinstance(label, str) or value.casefold() in seen:
            raise FieldValueError(f"choice {value!r} is empty or repeated")
        seen.add(value.casefold())
        choices.append({"value": value, "label": label})
    return {"choices": choices}


class Select(FieldType):
    name = "select"

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        return _match_choice(value, ctx.options)

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return _check_choices(options)


class MultiSelect(FieldType):
    name = "multi_select"
    storage = "list"
    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if not isinstance(value, list):
            raise FieldValueError("must be a list of the field's options")
        out: list[str] = []
        for item in value:
            choice = _match_choice(item, ctx.options)
            if choice not in out:
                out.append(choice)
        return out

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        return _check_choices(options)


class _Reference(FieldType):
    """A value naming another row by UUID; the service resolves names and checks existence."""

    textual = False

    def parse(self, value: Any, ctx: FieldContext) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise FieldValueError("must be an id")
        return value.strip()


class Stage(_Reference):
    name = "stage"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        pipeline = options.get("pipeline_id")
        if not isinstance(pipeline, str):
            raise FieldValueError("a stage field is created by creating a pipeline")
        return {"pipeline_id": pipeline}


class Relation(_Reference):
    name = "relation"

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        target = options.get("object")
        if not isinstance(target, str) or not target:
            raise FieldValueError("options.object must name the related object type")
        multiple = options.get("multiple", False)
        if not isinstance(multiple, bool):
            raise FieldValueError("options.multiple must be true or false")
        return {"object": target, "multiple": True} if multiple else {"object": target}


class User(_Reference):
    name = "user"


FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        Text(),
        LongText(),
        Number(),
        Currency(),
        Date(),
        DateTime(),
        Boolean(),
        Email(),
        Phone(),
        Url(),
        Select(),
        MultiSelect(),
        Stage(),
        Relation(),
        User(),
    )
}


def field_type(name: str) -> FieldType:
    """The registered type called ``name``; KeyError if there is none."""
    return FIELD_TYPES[name]
