"""A body may hold what its route takes: the JSON limit anywhere, the upload limit only on
the POST of a route marked as receiving an upload, whatever its path says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common import problems
from crm.api.common.http import UPLOAD_SLACK
from crm.api.common.limits import BodyLimit, receives_upload
from crm.api.common.problems import ErrorShape

JSON_LIMIT, UPLOAD_LIMIT = 1000, 100_000
_SHAPE = ErrorShape(body=lambda p: {"message": p.message}, schema={})


def _size() -> Callable[[Request], Awaitable[Response]]:
    """A handler answering with the size of the body it read."""

    async def size(request: Request) -> Response:
        return Response(str(len(await request.body())))

    return size


def _app() -> BodyLimit:
    app = FastAPI()
    problems.install(app, _SHAPE)

    app.add_api_route("/files", receives_upload(_size()), methods=["POST", "PUT"])
    app.add_api_route("/contacts/import", _size(), methods=["POST"])
    return BodyLimit(app, JSON_LIMIT, upload_limit=UPLOAD_LIMIT)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_a_marked_route_takes_an_upload_past_the_json_limit(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/files", content=b"x" * 50_000)
    assert (answer.status_code, answer.text) == (200, "50000")


async def test_a_marked_route_refuses_past_the_upload_limit(client: httpx.AsyncClient) -> None:
    answer = await client.post("/files", content=b"x" * (UPLOAD_LIMIT + UPLOAD_SLACK + 1))
    assert answer.status_code == 413
    assert answer.json() == {
        "message": f"The request body exceeds {UPLOAD_LIMIT + UPLOAD_SLACK} bytes"
    }


@pytest.mark.parametrize(("method", "path"), [("PUT", "/files"), ("POST", "/contacts/import")])
async def test_other_methods_and_unmarked_routes_keep_the_json_limit(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    assert (await client.request(method, path, content=b"x" * JSON_LIMIT)).text == "1000"
    answer = await client.request(method, path, content=b"x" * (JSON_LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json() == {"message": f"The request body exceeds {JSON_LIMIT} bytes"}


async def test_a_stream_of_unknown_length_is_cut_at_the_limit(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"x" * 100

    answer = await client.post("/contacts/import", content=chunks())
    assert answer.status_code == 413
    assert sent < 1000
