"""The OpenAPI document as one workspace sees it: its objects' fields as typed schemas.

Fetched with a key, ``/openapi.json`` adds for each object type a schema of its fields
and typed record paths (``/api/v1/objects/property/records``), so a client generated from
it knows the workspace's custom objects. Without a key it is the generic document.
"""

from __future__ import annotations

import copy
from typing import Any

from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta

_SCHEMAS: dict[str, dict[str, Any]] = {
    # a number sent to a text field is stored as its text
    "text": {"type": ["string", "number"], "maxLength": 2000},
    "long_text": {"type": ["string", "number"], "maxLength": 100000},
    "number": {"type": "number"},
    "currency": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    # 0 and 1 are read as false and true
    "boolean": {"type": ["boolean", "integer"], "minimum": 0, "maximum": 1},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "description": "E.164, e.g. +14155550123"},
    "url": {"type": "string", "format": "uri"},
    "relation": {"type": "string", "format": "uuid"},
    "user": {"type": "string", "description": "a user's id or email"},
}


def _title(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def field_schema(meta: WorkspaceMeta, f: FieldMeta, *, required: bool = False) -> dict[str, Any]:
    """The JSON schema of one field's value as the native API reads and writes it; a
    ``required`` value may be neither null nor blank."""
    if f.type == "select":
        schema: dict[str, Any] = {
            "type": "string",
            "enum": [c["value"] for c in f.options["choices"]],
        }
    elif f.type == "multi_select":
        schema = {
            "type": "array",
            "items": {"type": "string", "enum": [c["value"] for c in f.options["choices"]]},
        }
    elif f.type == "stage":
        schema = {"type": "string", "enum": [s.name for s in meta.pipeline_of(f).stages]}
    else:
        schema = dict(_SCHEMAS[f.type])
    if required:
        if "string" in schema["type"] and not {"enum", "format"} & schema.keys():
            schema["minLength"] = 1
        return {**schema, "title": f.label}
    if "format" in schema:  # an empty string clears a field as null does
        return {"anyOf": [schema, {"enum": ["", None]}], "title": f.label}
    # OpenAPI 3.1 has no ``nullable``: null (which clears a field) is one more type and value
    kinds = schema["type"]
    schema["type"] = [*kinds, "null"] if isinstance(kinds, list) else [kinds, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return {**schema, "title": f.label}


def _fields_schema(meta: WorkspaceMeta, obj: ObjectMeta, *, partial: bool) -> dict[str, Any]:
    """The ``fields`` a client sends; a ``partial`` change needs none of them."""
    shown = [f for f in obj.ordered_fields if not f.holds_links]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            f.key: field_schema(meta, f, required=f.required and not partial) for f in shown
        },
        "required": [] if partial else [f.key for f in shown if f.required],
    }


#: The generic record paths, which each object type gets typed copies of.
_RECORDS = "/api/v1/objects/{object}/records"
_ONE_RECORD = f"{_RECORDS}/{{record}}"


def _typed(generic: dict[str, Any], name: str, obj: ObjectMeta, *, one: bool) -> dict[str, Any]:
    """``generic`` (a path item of a record path) for ``obj`` alone: every method the path
    serves, its record bodies and answers (but a list's) typed by the object's fields."""
    item = copy.deepcopy(generic)
    record = {"$ref": f"#/components/schemas/{name}Record"}
    for method, operation in item.items():
        operation["operationId"] = f"{operation['operationId']}_{obj.key}"
        operation["tags"] = [obj.plural_label]
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p["name"] != "object"
        ]
        if method in ("post", "patch"):
            fields = f"{name}Fields" if method == "post" else f"{name}Changes"
            body = operation["requestBody"]["content"]["application/json"]
            body["schema"] = {
                "type": "object",
                "additionalProperties": False,
                "required": ["fields"] if method == "post" else [],
                "properties": {
                    "fields": {"$ref": f"#/components/schemas/{fields}"},
                    "owner_id": {"type": ["string", "null"]},
                },
            }
        for status in ("200", "201"):
            answer = operation["responses"].get(status)
            if answer and (one or method != "get"):
                answer["content"] = {"application/json": {"schema": record}}
    return item


def for_workspace(base: dict[str, Any], meta: WorkspaceMeta) -> dict[str, Any]:
    """``base`` with the workspace's object types added as schemas and typed paths."""
    doc = copy.deepcopy(base)
    base_paths = base["paths"]
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for obj in sorted(meta.objects.values(), key=lambda o: o.id):
        name = _title(obj.key)
        schemas[f"{name}Fields"] = _fields_schema(meta, obj, partial=False)
        schemas[f"{name}Changes"] = _fields_schema(meta, obj, partial=True)
        schemas[f"{name}Record"] = {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "number": {"type": "integer", "description": "Its number in the workspace"},
                "object": {"type": "string", "enum": [obj.key]},
                "display_name": {"type": "string"},
                "fields": {"$ref": f"#/components/schemas/{name}Changes"},
                "owner_id": {"type": ["string", "null"], "format": "uuid"},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "archived_at": {"type": ["string", "null"], "format": "date-time"},
            },
        }
        path = f"/api/v1/objects/{obj.key}/records"
        doc["paths"][path] = _typed(base_paths[_RECORDS], name, obj, one=False)
        doc["paths"][f"{path}/{{record}}"] = _typed(base_paths[_ONE_RECORD], name, obj, one=True)
    return doc
