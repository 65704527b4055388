"""Deleting a tag or a field wipes data from every record, so it is an administrator's call.

On every face that exposes the deletion: an agent (who may define fields and tags) may
delete one only when no record it may not edit carries it, and is refused with 403 in
the face's error shape otherwise, the data staying; administrators and owners may delete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import httpx
import pytest

from tests.api.flownally.conftest import FN, face_id, fl_error
from tests.conftest import Workspace, assert_error, bearer

API = "/api/v1"
CONTACTS = f"{API}/objects/contact/records"


def native_refusal(answer: httpx.Response) -> None:
    assert_error(answer, 403, "permission_denied")


def flownally_refusal(answer: httpx.Response) -> None:
    fl_error(answer, 403)


class Face(NamedTuple):
    """Where a face deletes the ``VIP`` tag and the ``region`` field, and how it refuses."""

    tag_path: Callable[[str], str]
    field_path: str
    refused: Callable[[httpx.Response], None]


FACES = {
    "native": Face(
        lambda tag: f"{API}/tags/{tag}", f"{API}/objects/contact/fields/region", native_refusal
    ),
    "flownally": Face(
        lambda tag: f"{FN}/tags/{face_id('tag', tag)}",
        f"{FN}/contacts/custom-fields/cf_region",
        flownally_refusal,
    ),
}


@pytest.fixture(params=sorted(FACES))
def face(request: pytest.FixtureRequest) -> Face:
    return FACES[request.param]


async def ok(answer: Any, status: int = 200) -> Any:
    response = await answer
    assert response.status_code == status, response.text
    return None if status == 204 else response.json()


async def contact(client: httpx.AsyncClient, headers: dict[str, str], vip: str) -> dict[str, Any]:
    """A contact with ``VIP`` tagged and ``region`` filled, made by ``headers``' user."""
    made = await ok(
        client.post(
            CONTACTS, json={"fields": {"first_name": "Ada", "region": "North"}}, headers=headers
        ),
        201,
    )
    await ok(client.put(f"{CONTACTS}/{made['id']}/tags/{vip}", headers=headers), 204)
    return dict(made)


@pytest.fixture
async def vip(client: httpx.AsyncClient, ws: Workspace) -> str:
    """The ``VIP`` tag and the ``region`` text field of contacts; the tag's UUID."""
    await ok(
        client.post(
            f"{API}/objects/contact/fields",
            json={"key": "region", "label": "Region", "type": "text"},
            headers=ws.auth,
        ),
        201,
    )
    return str(
        (await ok(client.post(f"{API}/tags", json={"name": "VIP"}, headers=ws.auth), 201))["id"]
    )


async def state(client: httpx.AsyncClient, ws: Workspace, record: str) -> tuple[Any, list[str]]:
    """The record's region and tag names, as the owner sees them."""
    shown = await ok(client.get(f"{CONTACTS}/{record}", headers=ws.auth))
    tags = await ok(client.get(f"{CONTACTS}/{record}/tags", headers=ws.auth))
    return shown["fields"].get("region"), [t["name"] for t in tags["data"]]


async def test_an_agent_may_not_wipe_others_data(
    client: httpx.AsyncClient,
    ws: Workspace,
    vip: str,
    face: Face,
) -> None:
    record = await contact(client, ws.auth, vip)
    agent = bearer(await ws.add_key(role="agent", email="al@acme.io"))
    face.refused(await client.delete(face.tag_path(vip), headers=agent))
    face.refused(await client.delete(face.field_path, headers=agent))
    assert await state(client, ws, record["id"]) == ("North", ["VIP"])


async def test_an_agent_may_delete_what_only_its_own_records_carry(
    client: httpx.AsyncClient,
    ws: Workspace,
    vip: str,
    face: Face,
) -> None:
    agent = bearer(await ws.add_key(role="agent", email="al@acme.io"))
    mine = await contact(client, agent, vip)
    await ok(client.delete(face.tag_path(vip), headers=agent), 204)
    await ok(client.delete(face.field_path, headers=agent), 204)
    assert await state(client, ws, mine["id"]) == (None, [])


@pytest.mark.parametrize("role", ["admin", "owner"])
async def test_administrators_and_owners_delete(
    client: httpx.AsyncClient,
    ws: Workspace,
    vip: str,
    face: Face,
    role: str,
) -> None:
    record = await contact(client, ws.auth, vip)
    boss = bearer(await ws.add_key(role=role, email=f"{role}@acme.io"))
    await ok(client.delete(face.tag_path(vip), headers=boss), 204)
    await ok(client.delete(face.field_path, headers=boss), 204)
    assert await state(client, ws, record["id"]) == (None, [])


@pytest.mark.parametrize("role", ["agent", "admin"])
async def test_only_an_administrator_retypes_a_field_others_fill(
    client: httpx.AsyncClient, ws: Workspace, vip: str, face: Face, role: str
) -> None:
    """Retyping converts every stored value (text "yes" becomes true for good)."""
    made = await ok(
        client.post(CONTACTS, json={"fields": {"region": "2026-01-02"}}, headers=ws.auth), 201
    )
    caller = bearer(await ws.add_key(role=role, email=f"{role}@acme.io"))
    answer = await client.patch(face.field_path, json={"type": "date"}, headers=caller)
    if role == "agent":
        face.refused(answer)
    else:
        assert answer.status_code == 200, answer.text
    field = await ok(client.get(f"{API}/objects/contact/fields/region", headers=ws.auth))
    assert field["type"] == ("text" if role == "agent" else "date")
    assert (await state(client, ws, made["id"]))[0] == "2026-01-02"
