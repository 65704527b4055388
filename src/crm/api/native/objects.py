"""Object types and their fields."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.schemas import (
    CategoryIn,
    CategoryPatch,
    FieldIn,
    FieldPatch,
    ObjectIn,
    ObjectPatch,
)
from crm.core.metadata import categories
from crm.core.metadata import service as metadata

router = APIRouter(tags=["objects"])
CATEGORIES = "/objects/{object}/field-categories"


@router.get("/objects", summary="List object types")
async def list_objects(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await metadata.list_objects(conn, p)
    return json_response({"data": [render.object_type(o) for o in found]})


@router.post("/objects", status_code=201, summary="Create a custom object type")
async def create_object(body: ObjectIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        created = await metadata.create_object(conn, p, body.model_dump(exclude_unset=True))
    return json_response(render.object_type(created), 201)


@router.get("/objects/{object}", summary="Get an object type with its fields")
async def get_object(object: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await metadata.get_object(conn, p, object)
    return json_response(render.object_type(found))


@router.patch("/objects/{object}", summary="Change an object type's labels or display fields")
async def update_object(object: str, body: ObjectPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        updated = await metadata.update_object(conn, p, object, body.given())
    return json_response(render.object_type(updated))


@router.delete("/objects/{object}", status_code=204, summary="Delete a custom object type")
async def delete_object(object: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await metadata.delete_object(conn, p, object)
    return Response(status_code=204)


@router.get("/objects/{object}/fields", summary="List an object's fields")
async def list_fields(object: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await metadata.get_object(conn, p, object)
    return json_response({"data": [render.field(f) for f in found.ordered_fields]})


@router.post("/objects/{object}/fields", status_code=201, summary="Add a field")
async def create_field(object: str, body: FieldIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        created = await metadata.create_field(conn, p, object, body.given())
    return json_response(render.field(created), 201)


@router.get("/objects/{object}/fields/{field}", summary="Get a field")
async def get_field(object: str, field: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = metadata.get_field(await metadata.get_object(conn, p, object), field)
    return json_response(render.field(found))


@router.patch(
    "/objects/{object}/fields/{field}",
    summary="Rename, retype or reconfigure a field (values are converted, or 409)",
)
async def update_field(object: str, field: str, body: FieldPatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        obj = await metadata.get_object(conn, p, object)
        updated = await metadata.update_field(
            conn, p, obj.key, metadata.get_field(obj, field).key, body.given()
        )
    return json_response(render.field(updated))


@router.delete("/objects/{object}/fields/{field}", status_code=204, summary="Delete a field")
async def delete_field(object: str, field: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        obj = await metadata.get_object(conn, p, object)
        await metadata.delete_field(conn, p, obj.key, metadata.get_field(obj, field).key)
    return Response(status_code=204)


@router.get(CATEGORIES, summary="List an object's field categories, in order")
async def list_categories(object: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await categories.list_categories(conn, p, object)
    return json_response({"data": [render.category(c) for c in found]})


@router.post(CATEGORIES, status_code=201, summary="Add a field category")
async def create_category(object: str, body: CategoryIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        obj = await metadata.get_object(conn, p, object)
        created = await categories.create_category(conn, p, obj.key, body.given())
    return json_response(render.category(created), 201)


@router.get(f"{CATEGORIES}/{{category}}", summary="Get a field category (by key or id)")
async def get_category(object: str, category: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await categories.get_category(conn, p, object, category)
    return json_response(render.category(found))


@router.patch(f"{CATEGORIES}/{{category}}", summary="Relabel or move a field category")
async def update_category(
    object: str, category: str, body: CategoryPatch, request: Request
) -> Response:
    async with write(request) as (conn, p):
        obj = await metadata.get_object(conn, p, object)
        updated = await categories.update_category(
            conn, p, obj.key, obj.category(category).key, body.given()
        )
    return json_response(render.category(updated))


@router.delete(
    f"{CATEGORIES}/{{category}}",
    status_code=204,
    summary="Delete a field category no field is in (not general)",
)
async def delete_category(object: str, category: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        obj = await metadata.get_object(conn, p, object)
        await categories.delete_category(conn, p, obj.key, obj.category(category).key)
    return Response(status_code=204)
