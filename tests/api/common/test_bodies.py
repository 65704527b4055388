"""A body model refuses what it does not describe in the core's own error, naming each
attribute as the client wrote it, and documents itself without references it cannot
resolve."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import Field

from crm.api.common.bodies import FaceBody, Filled, checked, documented
from crm.core.errors import ValidationFailed


class Item(FaceBody):
    qty: int = Field(ge=1)


class Order(FaceBody):
    title: Filled
    items: list[Item] = Field(default_factory=list)
    note_text: str | None = Field(None, alias="noteText", max_length=5)


class Worded(FaceBody):
    unknown: ClassVar[str] = "is not an attribute"
    name: str | None = None


def refused(model: type[FaceBody], payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        checked(model, payload)
    return [(e["field"], e["code"], e["message"]) for e in caught.value.details]


def test_a_good_body_keeps_what_was_sent() -> None:
    order = checked(Order, {"title": "Boxes", "items": [{"qty": 2}], "noteText": "soon"})
    assert order.model_dump(exclude_unset=True) == {
        "title": "Boxes",
        "items": [{"qty": 2}],
        "note_text": "soon",
    }


@pytest.mark.parametrize(
    ("payload", "refusals"),
    [
        ({}, [("title", "required", "is required")]),
        ({"title": "  "}, [("title", "required", "is required")]),
        ({"title": 5}, [("title", "invalid", "must be a string")]),
        ({"title": "A", "colour": "red"}, [("colour", "unknown", "unknown attribute")]),
        (
            {"title": "A", "items": [{"qty": 1}, {"qty": 0}, {"qty": "x"}]},
            [
                ("items[1].qty", "invalid", "must be at least 1"),
                ("items[2].qty", "invalid", "must be an integer"),
            ],
        ),
        ({"title": "A", "items": {}}, [("items", "invalid", "must be a list")]),
        (
            {"title": "A", "noteText": "longer"},
            [("noteText", "invalid", "must be at most 5 characters")],
        ),
    ],
)
def test_refusals_name_each_attribute(
    payload: dict[str, Any], refusals: list[tuple[str, str, str]]
) -> None:
    assert refused(Order, payload) == refusals


def test_a_face_words_unknown_attributes_its_own_way() -> None:
    assert refused(Worded, {"nick": "x"}) == [("nick", "unknown", "is not an attribute")]


def test_the_document_has_no_unresolved_references() -> None:
    schema = documented(Order)["requestBody"]["content"]["application/json"]["schema"]
    assert "$defs" not in str(schema)
    assert "$ref" not in str(schema)
    assert schema["required"] == ["title"]
    assert schema["properties"]["items"]["items"]["properties"]["qty"]["minimum"] == 1
    assert "noteText" in schema["properties"]
    assert schema["additionalProperties"] is False
