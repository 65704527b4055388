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
    "text": {"type": "string", "maxLength": 2000},
    "long_text": {"type": "string", "maxLength": 100000},
    "number": {"type": "number"},
    "currency": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "boolean": {"type": "boolean"},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "description": "E.164, e.g. +14155550123"},
    "url": {"type": "string", "format": "uri"},
    "relation": {"type": "string", "format": "uuid"},
    "user": {"type": "string", "description": "a user's id or email"},
}


def _title(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def field_schema(meta: WorkspaceMeta, f: FieldMeta) -> dict[str, Any]:
    """The JSON schema of one field's value as the native API reads and writes it."""
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
    return {**schema, "title": f.label, "nullable": True}


def _fields_schema(meta: WorkspaceMeta, obj: ObjectMeta) -> dict[str, Any]:
    shown = [f for f in obj.ordered_fields if not f.holds_links]
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.key: field_schema(meta, f) for f in shown},
        "required": [f.key for f in shown if f.required],
    }


def _paths(name: str, obj: ObjectMeta) -> dict[str, Any]:
    fields_ref = {"$ref": f"#/components/schemas/{name}Fields"}
    record_ref = {"$ref": f"#/components/schemas/{name}Record"}
    answer = {"description": "The record", "content": {"application/json": {"schema": record_ref}}}
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "fields": fields_ref,
                        "owner_id": {"type": "string", "nullable": True},
                    },
                }
            }
        },
    }
    record_id = [{"name": "record", "in": "path", "required": True, "schema": {"type": "string"}}]
    tags = [obj.plural_label]
    base = f"/api/v1/objects/{obj.key}/records"
    return {
        base: {
            "post": {
                "summary": f"Create a {obj.label.lower()}",
                "tags": tags,
                "operationId": f"create{name}",
                "requestBody": body,
                "responses": {"201": answer},
            }
        },
        f"{base}/{{record}}": {
            "get": {
                "summary": f"Get a {obj.label.lower()}",
                "tags": tags,
                "operationId": f"get{name}",
                "parameters": record_id,
                "responses": {"200": answer},
            },
            "patch": {
                "summary": f"Change a {obj.label.lower()}",
                "tags": tags,
                "operationId": f"update{name}",
                "parameters": record_id,
                "requestBody": body,
                "responses": {"200": answer},
            },
        },
    }


def for_workspace(base: dict[str, Any], meta: WorkspaceMeta) -> dict[str, Any]:
    """``base`` with the workspace's object types added as schemas and typed paths."""
    doc = copy.deepcopy(base)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for obj in sorted(meta.objects.values(), key=lambda o: o.id):
        name = _title(obj.key)
        schemas[f"{name}Fields"] = _fields_schema(meta, obj)
        schemas[f"{name}Record"] = {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "object": {"type": "string", "enum": [obj.key]},
                "display_name": {"type": "string"},
                "fields": {"$ref": f"#/components/schemas/{name}Fields"},
                "owner_id": {"type": "string", "format": "uuid", "nullable": True},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
                "archived_at": {"type": "string", "format": "date-time", "nullable": True},
            },
        }
        doc["paths"].update(_paths(name, obj))
    return doc
