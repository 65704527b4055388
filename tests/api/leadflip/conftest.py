"""Shared setup for the Leadflip face: an entity shaped like Leadflip's ``solar_leads`` and
helpers that check answers in Leadflip's shape (``{"status": "error", "message"}``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Workspace

LF = "/leadflip/api"
API = "/api/v1"

SOLAR_FIELDS: list[dict[str, Any]] = [
    {"key": "lead_name", "label": "Lead name", "type": "text", "required": True},
    {"key": "email", "label": "E-mail", "type": "email"},
    {"key": "phone", "label": "Phone", "type": "phone"},
    {"key": "company", "label": "Company", "type": "text"},
    {"key": "source", "label": "Source", "type": "text"},
]


@dataclass(frozen=True)
class Entity:
    """A custom object as the tests use it: its UUID, key and the stages of its pipeline."""

    id: str
    key: str
    pipeline_id: str | None
    stages: dict[str, str]

    @property
    def records(self) -> str:
        return f"{API}/objects/{self.key}/records"


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


def lf_error(answer: httpx.Response, status: int, message: str | None = None) -> dict[str, Any]:
    """An error in Leadflip's shape with this status (and message); the whole body."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = dict(answer.json())
    assert body["status"] == "error"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert "error" not in body  # never the native shape
    if message is not None:
        assert body["message"] == message
    if status == 422:
        assert set(body) == {"status", "message", "errors"}
        assert body["message"] == "Validation error"
        assert isinstance(body["errors"], dict)
        for messages in body["errors"].values():
            assert messages
            assert all(isinstance(m, str) and m for m in messages)
    else:
        assert set(body) == {"status", "message"}
    return body


def errors_of(answer: httpx.Response) -> dict[str, list[str]]:
    """The ``errors`` of a 422 answer in Leadflip's shape."""
    return dict(lf_error(answer, 422)["errors"])


def is_uuid(value: Any) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except (TypeError, ValueError):
        return False


def is_utc_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parsed = datetime.fromisoformat(value)
    return parsed.utcoffset() == timedelta(0)


async def make_entity(
    client: httpx.AsyncClient,
    ws: Workspace,
    *,
    key: str = "solar_lead",
    label: str = "Solar Lead",
    plural_label: str = "Solar Leads",
    fields: list[dict[str, Any]] | None = None,
    stages: list[str] | None = None,
) -> Entity:
    """A custom object with ``fields`` and, when ``stages`` are given, a pipeline ``stage``."""
    made = ok(
        await client.post(
            f"{API}/objects",
            json={
                "key": key,
                "label": label,
                "plural_label": plural_label,
                "fields": SOLAR_FIELDS if fields is None else fields,
            },
            headers=ws.auth,
        ),
        201,
    )
    if not stages:
        return Entity(made["id"], key, None, {})
    pipeline = ok(
        await client.post(
            f"{API}/pipelines",
            json={
                "key": "stage",
                "label": "Sales",
                "object": key,
                "stages": [{"name": s} for s in stages],
            },
            headers=ws.auth,
        ),
        201,
    )
    return Entity(made["id"], key, pipeline["id"], {s["name"]: s["id"] for s in pipeline["stages"]})


@pytest.fixture
async def solar(client: httpx.AsyncClient, ws: Workspace) -> Entity:
    """``solar_lead`` (plural "Solar Leads") with a pipeline ``stage``: New, Qualified."""
    return await make_entity(client, ws, stages=["New", "Qualified"])


async def take_in(
    client: httpx.AsyncClient, headers: dict[str, str], payload: dict[str, Any]
) -> dict[str, Any]:
    """POST /intake as JSON; the (successful) answer."""
    return dict(ok(await client.post(f"{LF}/intake", json=payload, headers=headers)))


async def get_lead(client: httpx.AsyncClient, headers: dict[str, str], lead_id: str) -> Any:
    return ok(await client.get(f"{LF}/leads/{lead_id}", headers=headers))


async def native(client: httpx.AsyncClient, ws: Workspace, obj: str, record_id: str) -> Any:
    return ok(await client.get(f"{API}/objects/{obj}/records/{record_id}", headers=ws.auth))


async def notes_of(
    client: httpx.AsyncClient, ws: Workspace, obj: str, record_id: str
) -> list[dict[str, Any]]:
    found = ok(await client.get(f"{API}/objects/{obj}/records/{record_id}/notes", headers=ws.auth))
    return list(found["data"])


async def count(client: httpx.AsyncClient, ws: Workspace, obj: str) -> int:
    found = ok(await client.post(f"{API}/objects/{obj}/records/count", json={}, headers=ws.auth))
    return int(found["count"])


async def user_id(client: httpx.AsyncClient, ws: Workspace, email: str) -> str:
    users = ok(await client.get(f"{API}/users", headers=ws.auth))["data"]
    return str(next(u["id"] for u in users if u["email"] == email))


async def my_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str(ok(await client.get(f"{API}/me", headers=headers))["user"]["id"])
