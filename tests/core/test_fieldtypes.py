"""The field type registry: each type's ``parse`` normalises good input and refuses bad input.

These are the rules every door (API, importer, intake) stores values by, so they are tested
here directly, without a database.
"""

from __future__ import annotations

from typing import Any

import pytest

from crm.core.metadata.fieldtypes import (
    FIELD_TYPES,
    FieldContext,
    FieldValueError,
    field_type,
)

CHOICES = {
    "choices": [
        {"value": "hot", "label": "Hot lead"},
        {"value": "warm", "label": "Warm"},
        {"value": "cold", "label": "Cold"},
    ]
}


def parse(type_name: str, value: Any, options: dict[str, Any] | None = None) -> Any:
    """Parse ``value`` as a field of ``type_name`` keyed ``x`` with ``options``."""
    return field_type(type_name).parse(value, FieldContext("x", options or {}))


def test_registry_holds_every_documented_type() -> None:
    assert set(FIELD_TYPES) == {
        "text",
        "long_text",
        "number",
        "currency",
        "date",
        "datetime",
        "boolean",
        "email",
        "phone",
        "url",
        "select",
        "multi_select",
        "stage",
        "relation",
        "user",
    }
    assert all(field_type(name).name == name for name in FIELD_TYPES)


def test_unknown_type_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        field_type("colour")


# --- text and long_text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("", ""),
        (42, "42"),
        (1.5, "1.5"),
        ("x" * 2000, "x" * 2000),
    ],
)
def test_text_accepts_strings_and_numbers(value: Any, stored: str) -> None:
    assert parse("text", value) == stored


@pytest.mark.parametrize("value", [True, None, ["a"], {"a": 1}, "x" * 2001])
def test_text_refuses_non_strings_and_overlong(value: Any) -> None:
    with pytest.raises(FieldValueError):
        parse("text", value)


def test_long_text_holds_more_than_text() -> None:
    long = "word " * 10_000
    assert parse("long_text", long) == long
    with pytest.raises(FieldValueError, match="100000"):
        parse("long_text", "x" * 100_001)


# --- number and currency ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (42, 42),
        (-3.25, -3.25),
        (3.0, 3),
        ("42", 42),
        (" 7 ", 7),
        ("1,234.5", 1234.5),
        ("1e3", 1000),
        ("-0.5", -0.5),
    ],
)
def test_number_normalises(value: Any, stored: Any) -> None:
    parsed = parse("number", value)
    assert parsed == stored
    assert type(parsed) is type(stored)


@pytest.mark.parametrize(
    "value", ["abc", "", "  ", True, False, None, [1], float("inf"), float("nan"), "nan"]
)
def test_number_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError, match="must be a number"):
        parse("number", value)


@pytest.mark.parametrize(
    ("value", "stored"), [("19.99", 19.99), (10.456, 10.46), (100, 100), ("1,000", 1000)]
)
def test_currency_rounds_to_cents(value: Any, stored: Any) -> None:
    assert parse("currency", value) == stored


def test_currency_refuses_non_numbers() -> None:
    with pytest.raises(FieldValueError):
        parse("currency", "ten dollars")


def test_currency_options() -> None:
    kind = field_type("currency")
    assert kind.check_options({}) == {"currency": "USD"}
    assert kind.check_options({"currency": "EUR"}) == {"currency": "EUR"}
    for bad in ("eur", "EURO", 978, None):
        with pytest.raises(FieldValueError, match="ISO 4217"):
            kind.check_options({"currency": bad})


# --- date and datetime --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2024-02-29", "2024-02-29"),
        (" 2024-01-05 ", "2024-01-05"),
        ("2024-01-05T10:30:00Z", "2024-01-05"),
        ("2024-01-05T10:30:00", "2024-01-05"),
    ],
)
def test_date_is_iso(value: str, stored: str) -> None:
    assert parse("date", value) == stored


@pytest.mark.parametrize(
    "value", ["2023-02-29", "2024-13-01", "05/01/2024", "tomorrow", "", 20240105, None]
)
def test_date_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError, match="YYYY-MM-DD"):
        parse("date", value)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2024-03-10T12:00:00Z", "2024-03-10T12:00:00Z"),
        ("2024-03-10T12:00:00z", "2024-03-10T12:00:00Z"),
        ("2024-03-10T12:00:00+02:00", "2024-03-10T10:00:00Z"),
        ("2024-03-10T01:30:00+05:30", "2024-03-09T20:00:00Z"),
        ("2024-03-10T12:00:00", "2024-03-10T12:00:00Z"),
        ("2024-03-10T12:00:00.987654Z", "2024-03-10T12:00:00Z"),
        ("2024-03-10 08:15:30-04:00", "2024-03-10T12:15:30Z"),
        ("2024-03-10", "2024-03-10T00:00:00Z"),
        # four-digit years always (strftime wrote "345-..."), so stored text sorts by time
        ("0345-05-31T14:56:28-17:08", "0345-06-01T08:04:28Z"),
    ],
)
def test_datetime_is_utc_to_the_second(value: str, stored: str) -> None:
    assert parse("datetime", value) == stored


@pytest.mark.parametrize("value", ["2024-03-10T25:00:00Z", "next week", "", 1_700_000_000, None])
def test_datetime_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError, match="ISO 8601 datetime"):
        parse("datetime", value)


# --- boolean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("FALSE", False),
        (" Yes ", True),
        ("no", False),
        ("y", True),
        ("n", False),
        ("on", True),
        ("off", False),
        ("1", True),
        ("0", False),
    ],
)
def test_boolean_from_bools_numbers_and_words(value: Any, stored: bool) -> None:
    assert parse("boolean", value) is stored


@pytest.mark.parametrize("value", ["maybe", "", 2, -1, 1.0, None, []])
def test_boolean_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError, match="true or false"):
        parse("boolean", value)


# --- email, phone, url --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("ada@example.com", "ada@example.com"),
        ("  Ada.Lovelace@Example.COM ", "ada.lovelace@example.com"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
    ],
)
def test_email_lower_cased_and_trimmed(value: str, stored: str) -> None:
    assert parse("email", value) == stored


@pytest.mark.parametrize(
    "value", ["ada", "ada@example", "@example.com", "ada@@example.com", "a b@example.com", True]
)
def test_email_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError):
        parse("email", value)


@pytest.mark.parametrize(
    ("value", "options", "stored"),
    [
        ("+14155550123", {}, "+14155550123"),
        ("+1 (650) 253-0000", {}, "+16502530000"),
        ("+44 20 7946 0018", {}, "+442079460018"),
        ("020 7946 0018", {"default_region": "GB"}, "+442079460018"),
        ("(650) 253-0000", {"default_region": "US"}, "+16502530000"),
    ],
)
def test_phone_to_e164(value: str, options: dict[str, Any], stored: str) -> None:
    assert parse("phone", value, options) == stored


@pytest.mark.parametrize(
    ("value", "options"),
    [
        ("hello", {}),
        ("020 7946 0018", {}),  # national form without a default region
        ("+1 123", {}),
        ("+1 000 000 0000", {}),
        ("12", {"default_region": "GB"}),
        (True, {}),
    ],
)
def test_phone_refuses(value: Any, options: dict[str, Any]) -> None:
    with pytest.raises(FieldValueError):
        parse("phone", value, options)


def test_phone_options() -> None:
    kind = field_type("phone")
    assert kind.check_options({}) == {}
    assert kind.check_options({"default_region": "gb"}) == {"default_region": "GB"}
    for bad in ("XX", "Britain", 44):
        with pytest.raises(FieldValueError, match="default_region"):
            kind.check_options({"default_region": bad})


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("example.com", "https://example.com"),
        (" www.example.com/about ", "https://www.example.com/about"),
        ("http://example.com/a?b=c", "http://example.com/a?b=c"),
        ("https://example.com", "https://example.com"),
    ],
)
def test_url_gets_https(value: str, stored: str) -> None:
    assert parse("url", value) == stored


@pytest.mark.parametrize(
    "value", ["ftp://example.com", "localhost", "https://", "exa mple.com", "", 3]
)
def test_url_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError):
        parse("url", value)


# --- select and multi_select --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [("hot", "hot"), ("HOT", "hot"), ("Hot lead", "hot"), ("  hot LEAD ", "hot"), ("Warm", "warm")],
)
def test_select_matches_value_or_label_case_insensitively(value: str, stored: str) -> None:
    assert parse("select", value, CHOICES) == stored


def test_select_refusal_lists_the_choices() -> None:
    with pytest.raises(FieldValueError, match="must be one of: hot, warm, cold"):
        parse("select", "lukewarm", CHOICES)
    for bad in (1, None, ["hot"]):
        with pytest.raises(FieldValueError):
            parse("select", bad, CHOICES)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (["hot", "Cold"], ["hot", "cold"]),
        ("warm, Hot lead", ["warm", "hot"]),
        ("cold,,  cold , COLD", ["cold"]),
        (["Warm", "warm"], ["warm"]),
        ([], []),
        ("", []),
    ],
)
def test_multi_select_from_list_or_comma_string(value: Any, stored: list[str]) -> None:
    assert parse("multi_select", value, CHOICES) == stored


@pytest.mark.parametrize("value", [["hot", "tepid"], "hot, tepid", 5, {"hot": True}, [None]])
def test_multi_select_refuses(value: Any) -> None:
    with pytest.raises(FieldValueError):
        parse("multi_select", value, CHOICES)


@pytest.mark.parametrize("type_name", ["select", "multi_select"])
def test_choice_options_normalise(type_name: str) -> None:
    kind = field_type(type_name)
    assert kind.check_options({"choices": ["Low", {"value": " high ", "label": "High!"}]}) == {
        "choices": [
            {"value": "Low", "label": "Low"},
            {"value": "high", "label": "High!"},
        ]
    }
    assert kind.check_options({"choices": [{"value": "a"}]}) == {
        "choices": [{"value": "a", "label": "a"}]
    }


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"choices": []},
        {"choices": "a,b"},
        {"choices": ["a", "A"]},
        {"choices": ["a", " "]},
        {"choices": [1]},
        {"choices": [{"label": "no value"}]},
        {"choices": [{"value": "a", "label": 3}]},
    ],
)
@pytest.mark.parametrize("type_name", ["select", "multi_select"])
def test_choice_options_refuse(type_name: str, options: dict[str, Any]) -> None:
    with pytest.raises(FieldValueError):
        field_type(type_name).check_options(options)


# --- references: stage, relation, user ----------------------------------------------------


@pytest.mark.parametrize("type_name", ["stage", "relation", "user"])
def test_references_take_a_trimmed_id(type_name: str) -> None:
    assert parse(type_name, " 0190a3b4-7c2d-7000-8000-000000000001 ") == (
        "0190a3b4-7c2d-7000-8000-000000000001"
    )


@pytest.mark.parametrize("type_name", ["stage", "relation", "user"])
@pytest.mark.parametrize("value", ["", "   ", 12, None, ["id"]])
def test_references_refuse_non_ids(type_name: str, value: Any) -> None:
    with pytest.raises(FieldValueError, match="must be an id"):
        parse(type_name, value)


def test_relation_options_name_an_object() -> None:
    kind = field_type("relation")
    assert kind.check_options({"object": "company", "extra": 1}) == {"object": "company"}
    for bad in ({}, {"object": ""}, {"object": 3}):
        with pytest.raises(FieldValueError, match=r"options\.object"):
            kind.check_options(bad)


def test_stage_options_come_from_a_pipeline() -> None:
    kind = field_type("stage")
    assert kind.check_options({"pipeline_id": "p1"}) == {"pipeline_id": "p1"}
    with pytest.raises(FieldValueError, match="pipeline"):
        kind.check_options({})


@pytest.mark.parametrize(
    "type_name", ["text", "long_text", "number", "date", "datetime", "boolean", "email", "url"]
)
def test_types_without_options_store_none(type_name: str) -> None:
    assert field_type(type_name).check_options({"anything": 1}) == {}


def test_url_with_another_scheme_is_refused() -> None:
    with pytest.raises(FieldValueError):
        FIELD_TYPES["url"].parse("mailto:a@b.com", FieldContext("u", {}))
    assert FIELD_TYPES["url"].parse("acme.com:8080/x", FieldContext("u", {})) == (
        "https://acme.com:8080/x"
    )


def test_date_from_a_datetime_keeps_the_written_day() -> None:
    assert FIELD_TYPES["date"].parse("2024-01-05T01:00:00+02:00", FieldContext("d", {})) == (
        "2024-01-05"
    )


def test_phone_keeps_numbers_shaped_like_the_plan() -> None:
    """A 555 number from a web form fits the North American plan: kept, in E.164."""
    phone = field_type("phone")
    assert phone.parse("+1 555 222 3333", FieldContext("phone", {})) == "+15552223333"
