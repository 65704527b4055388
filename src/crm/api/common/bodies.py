"""Bodies described by Pydantic models: one model documents an operation's body and checks
it.

A face reads its body inside its unit of work (:func:`parsed`), so that a bad key is
answered before a bad body, and a refused body names each offending attribute as the
client wrote it (``batch[2]``, ``customFields``), in the core's own error.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError
from starlette.requests import Request

from crm.api.common.openapi import request_body
from crm.api.common.transport import json_object
from crm.core.errors import FieldError, ValidationFailed

__all__ = ["FaceBody", "checked", "documented", "parsed"]

Model = TypeVar("Model", bound=BaseModel)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("missing", "is required")
    return text


#: A text that must hold more than spaces: a blank one is refused as missing.
Filled = Annotated[
    str, AfterValidator(_not_blank), WithJsonSchema({"type": "string", "pattern": r"\S"})
]


class FaceBody(BaseModel):
    """A body that takes no attribute beyond its own, named as the face names them; a
    face words the refusal of any other attribute its own way (:attr:`unknown`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    unknown: ClassVar[str] = "unknown attribute"


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with every ``$ref`` to its own ``$defs`` replaced by the definition."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in schema]
    return schema


def documented(model: type[BaseModel], *, forms: bool = False) -> dict[str, Any]:
    """The ``openapi_extra`` of an operation whose body ``model`` describes (``forms``: it
    may also come URL-encoded or as multipart form data)."""
    schema = {"required": [], **model.model_json_schema()}
    return request_body(_inlined(schema, schema.get("$defs", {})), forms=forms)


def _place(loc: tuple[Any, ...]) -> str:
    place = ""
    for part in loc:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else str(part)
    return place or "body"


#: The words of the refusals every face words alike, by Pydantic's error type.
_WORDS = {
    "string_type": "must be a string",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
}

#: The words of a value out of its bounds, by Pydantic's error type.
_BOUNDS = {
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must hold at least {min_length}",
    "too_long": "must hold at most {max_length}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def _refusal(error: Any, unknown: str) -> FieldError:
    kind, place = error["type"], _place(error["loc"])
    if kind == "missing":
        return FieldError(place, "is required", "required")
    if kind == "extra_forbidden":
        return FieldError(place, unknown, "unknown")
    if kind in _BOUNDS:
        return FieldError(place, _BOUNDS[kind].format(**error["ctx"]))
    if kind in ("literal_error", "enum"):
        expected = str(error["ctx"]["expected"]).replace("'", "")
        return FieldError(place, f"must be {expected}")
    return FieldError(place, _WORDS.get(kind, error["msg"]))


def checked(model: type[Model], payload: dict[str, Any]) -> Model:
    """``payload`` as ``model``; ValidationFailed (422) naming each refused attribute."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        unknown = getattr(model, "unknown", FaceBody.unknown)
        raise ValidationFailed.of([_refusal(e, unknown) for e in exc.errors()]) from None


async def parsed(request: Request, model: type[Model]) -> Model:
    """The JSON object body as ``model`` (415 for another media type, 400 for malformed
    JSON, 422 naming each refused attribute)."""
    return checked(model, await json_object(request))
