"""One error description for every face: a face that gives only its body's shape answers
every kind of error, in that shape, with the status and message the kit works out."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from crm.api.common import problems
from crm.api.common.problems import HTTP_MESSAGES, ErrorShape, Problem, renamed
from crm.core import errors as e


def _body(problem: Problem) -> dict[str, Any]:
    return {"problem": [problem.status, problem.code, problem.message, problem.details]}


SHAPE = ErrorShape(
    body=_body, schema={"type": "object"}, http_messages={**HTTP_MESSAGES, 404: "Nothing here"}
)


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@pytest.fixture
async def face() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    problems.install(app, SHAPE)

    @app.post("/things")
    async def make(thing: Thing) -> dict[str, str]:
        if thing.name == "taken":
            with renamed({"name_key": "name"}):
                raise e.Conflict("Taken", [{"field": "name_key", "code": "duplicate"}])
        if thing.name == "boom":
            raise RuntimeError("secret detail of the server")
        if thing.name == "busy":
            raise sa.exc.OperationalError(
                "INSERT", {}, sqlite3.OperationalError("database is locked")
            )
        return {"name": thing.name}

    @app.get("/things/{name}")
    async def get(name: str) -> None:
        raise e.Unauthenticated("Send a key")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://face") as client:
        yield client


def _problem(answer: httpx.Response) -> list[Any]:
    return list(answer.json()["problem"])


async def test_a_core_error_keeps_its_code_and_the_fields_the_client_named(
    face: httpx.AsyncClient,
) -> None:
    answer = await face.post("/things", json={"name": "taken"})
    assert answer.status_code == 409
    assert _problem(answer) == [409, "conflict", "Taken", [{"field": "name", "code": "duplicate"}]]


async def test_an_unauthenticated_caller_is_told_how_to_authenticate(
    face: httpx.AsyncClient,
) -> None:
    answer = await face.get("/things/x")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert _problem(answer) == [401, "unauthenticated", "Send a key", []]


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        (
            {"content": b"{nope", "headers": {"content-type": "application/json"}},
            400,
            "malformed_request",
        ),
        (
            {"content": b"name=x", "headers": {"content-type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        ({}, 400, "malformed_request"),
    ],
)
async def test_a_body_that_cannot_be_read_is_refused_before_any_field(
    face: httpx.AsyncClient, send: dict[str, Any], status: int, code: str
) -> None:
    answer = await face.post("/things", **send)
    assert answer.status_code == status
    assert _problem(answer)[:2] == [status, code]


async def test_each_offending_field_is_named_as_the_client_wrote_it(
    face: httpx.AsyncClient,
) -> None:
    answer = await face.post("/things", json={"name": 7, "colour": "red"})
    assert answer.status_code == 422
    status, code, message, details = _problem(answer)
    assert (status, code, message) == (422, "validation_failed", "Validation failed")
    assert [(d["field"], d["code"]) for d in details] == [
        ("name", "invalid"),
        ("colour", "unknown"),
    ]


async def test_routes_and_methods_that_do_not_exist_answer_in_the_faces_words(
    face: httpx.AsyncClient,
) -> None:
    missing = await face.get("/nothing")
    assert (missing.status_code, _problem(missing)) == (404, [404, "not_found", "Nothing here", []])
    refused = await face.delete("/things")
    assert refused.status_code == 405
    assert _problem(refused) == [405, "method_not_allowed", "Method not allowed", []]
    assert refused.headers["allow"] == "POST"


async def test_an_unexpected_error_tells_nothing_of_the_server(face: httpx.AsyncClient) -> None:
    answer = await face.post("/things", json={"name": "boom"})
    assert answer.status_code == 500
    assert _problem(answer) == [500, "internal_error", "Something went wrong on our side", []]
    assert "secret" not in answer.text


async def test_a_busy_database_asks_the_client_to_come_back(face: httpx.AsyncClient) -> None:
    answer = await face.post("/things", json={"name": "busy"})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert _problem(answer)[:2] == [503, "unavailable"]


async def test_a_face_may_document_its_own_status_for_an_error() -> None:
    flat = ErrorShape(body=_body, schema={}, statuses={409: 400, 422: 400})
    app = FastAPI()
    problems.install(app, flat)

    @app.post("/things")
    async def make(thing: Thing) -> None:
        raise e.Conflict("Taken")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://face") as client:
        refused = await client.post("/things", json={"name": 7})
        taken = await client.post("/things", json={"name": "x"})
        missing = await client.get("/nothing")
    assert _problem(refused)[:2] == [400, "validation_failed"]
    assert _problem(taken)[:3] == [400, "conflict", "Taken"]
    assert _problem(missing)[:2] == [404, "not_found"]


def test_middleware_answers_in_the_faces_shape() -> None:
    assert (
        SHAPE.render_status(429, "Slow down") == b'{"problem":[429,"rate_limited","Slow down",[]]}'
    )
