"""Two workspaces side by side: nothing of one is visible or changeable from the other.

Workspace A (``ws``) holds records, notes, a custom object with a field and a pipeline,
users and keys. Workspace B (``other_ws``) tries every endpoint on A's ids and data and must
get the answer it would get for ids that do not exist: 404, never any of A's data.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db.schema import records
from tests.conftest import Workspace

API = "/api/v1"


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


def assert_not_found(answer: httpx.Response, *secrets_: str) -> None:
    """A 404 in the error shape that mentions none of the other workspace's data."""
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == "not_found"
    for secret in secrets_:
        assert secret not in answer.text


async def create(
    client: httpx.AsyncClient, ws: Workspace, obj: str, fields: dict[str, Any]
) -> dict[str, Any]:
    answer = await client.post(
        f"{API}/objects/{obj}/records", json={"fields": fields}, headers=ws.auth
    )
    return dict(ok(answer, 201))


async def integer_id(engine: AsyncEngine, record_uuid: str) -> int:
    """The record's internal integer id, which the API also accepts in paths."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(records.c.id).where(records.c.uuid == uuid.UUID(record_uuid))
        )
        return int(found.scalar_one())


@dataclass
class World:
    """What workspace A holds; ``marker`` and ``email`` appear in A's data only."""

    marker: str
    email: str
    contact: str
    company: str
    deleted: str
    archived: str
    note: str
    vault_id: str
    vault_record: str
    field_id: str
    pipeline_id: str
    deal_pipeline_id: str
    lead_pipeline_id: str
    deal_stage_id: str
    owner_user_id: str
    agent_user_id: str
    agent_email: str
    key_id: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.marker, self.email, self.agent_email)


async def seeded_pipeline(client: httpx.AsyncClient, ws: Workspace, obj: str) -> dict[str, Any]:
    """The object's standard pipeline keyed "stage" (lead and deal both have one)."""
    listed = ok(await client.get(f"{API}/pipelines", params={"object": obj}, headers=ws.auth))
    [found] = [p for p in listed["data"] if p["key"] == "stage"]
    return dict(found)


async def build_world(client: httpx.AsyncClient, ws: Workspace) -> World:
    marker = f"Zebulon{secrets.token_hex(4)}"
    email = f"{marker.lower()}@tenant-a.example"
    h = ws.auth
    contact = await create(
        client, ws, "contact", {"first_name": marker, "last_name": "Secret", "email": email}
    )
    company = await create(client, ws, "company", {"name": f"{marker} Corp"})
    deleted = await create(client, ws, "contact", {"first_name": f"{marker}-deleted"})
    ok(await client.delete(f"{API}/objects/contact/records/{deleted['id']}", headers=h), 204)
    archived = await create(client, ws, "contact", {"first_name": f"{marker}-archived"})
    ok(await client.post(f"{API}/objects/contact/records/{archived['id']}/archive", headers=h))
    note = ok(
        await client.post(
            f"{API}/objects/contact/records/{contact['id']}/notes",
            json={"body": f"{marker} private note"},
            headers=h,
        ),
        201,
    )
    vault = ok(
        await client.post(
            f"{API}/objects",
            json={
                "key": "vault",
                "label": "Vault",
                "fields": [{"key": "secret", "label": "Secret", "type": "text"}],
            },
            headers=h,
        ),
        201,
    )
    vault_record = await create(client, ws, "vault", {"secret": marker})
    field = ok(
        await client.post(
            f"{API}/objects/contact/fields",
            json={"key": "region", "label": "Region", "type": "text"},
            headers=h,
        ),
        201,
    )
    pipeline = ok(
        await client.post(
            f"{API}/pipelines",
            json={
                "key": "phase",
                "label": f"{marker} phases",
                "object": "vault",
                "stages": [{"name": "Open"}, {"name": "Done", "kind": "won"}],
            },
            headers=h,
        ),
        201,
    )
    deal_pipeline = await seeded_pipeline(client, ws, "deal")
    lead_pipeline = await seeded_pipeline(client, ws, "lead")
    users = ok(await client.get(f"{API}/users", headers=h))["data"]
    agent_email = f"agent-{marker.lower()}@tenant-a.example"
    agent = ok(
        await client.post(
            f"{API}/users",
            json={"email": agent_email, "name": "Agent A", "role": "agent"},
            headers=h,
        ),
        201,
    )
    key = ok(
        await client.post(f"{API}/api-keys", json={"name": "A key", "scopes": ["*"]}, headers=h),
        201,
    )
    return World(
        marker=marker,
        email=email,
        contact=contact["id"],
        company=company["id"],
        deleted=deleted["id"],
        archived=archived["id"],
        note=note["id"],
        vault_id=vault["id"],
        vault_record=vault_record["id"],
        field_id=field["id"],
        pipeline_id=pipeline["id"],
        deal_pipeline_id=deal_pipeline["id"],
        lead_pipeline_id=lead_pipeline["id"],
        deal_stage_id=deal_pipeline["stages"][0]["id"],
        owner_user_id=users[0]["id"],
        agent_user_id=agent["id"],
        agent_email=agent_email,
        key_id=key["id"],
    )


@pytest.fixture
async def world(client: httpx.AsyncClient, ws: Workspace) -> World:
    return await build_world(client, ws)


# --- records ------------------------------------------------------------------------------

#: (method, path, body) on A's records, as B would send them. ``{c}`` is A's live contact,
#: ``{d}`` a deleted one, ``{a}`` an archived one, ``{n}`` a note of ``{c}``.
RECORD_CALLS = [
    ("GET", "/objects/contact/records/{c}", None),
    ("PATCH", "/objects/contact/records/{c}", {"fields": {"first_name": "Hijacked"}}),
    ("PATCH", "/objects/contact/records/{c}", {"owner_id": "owner@example.com"}),
    ("DELETE", "/objects/contact/records/{c}", None),
    ("POST", "/objects/contact/records/{c}/archive", None),
    ("POST", "/objects/contact/records/{a}/unarchive", None),
    ("POST", "/objects/contact/records/{d}/restore", None),
    ("GET", "/objects/contact/records/{c}/timeline", None),
    ("GET", "/objects/contact/records/{c}/notes", None),
    ("POST", "/objects/contact/records/{c}/notes", {"body": "planted"}),
    ("PATCH", "/objects/contact/records/{c}/notes/{n}", {"body": "changed"}),
    ("DELETE", "/objects/contact/records/{c}/notes/{n}", None),
    ("GET", "/objects/vault/records/{v}", None),
    ("GET", "/objects/company/records/{co}", None),
    ("PATCH", "/objects/company/records/{co}", {"fields": {"name": "Hijacked"}}),
]


def fill(path: str, w: World) -> str:
    return path.format(
        c=w.contact, d=w.deleted, a=w.archived, n=w.note, v=w.vault_record, co=w.company
    )


@pytest.mark.parametrize(("method", "path", "body"), RECORD_CALLS)
async def test_other_workspace_gets_404_on_each_record_endpoint(
    client: httpx.AsyncClient,
    ws: Workspace,
    other_ws: Workspace,
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    answer = await client.request(method, API + fill(path, world), json=body, headers=other_ws.auth)
    assert_not_found(answer, *world.secrets)
    # ... and A's data is as it was.
    contact = ok(
        await client.get(f"{API}/objects/contact/records/{world.contact}", headers=ws.auth)
    )
    assert contact["fields"]["first_name"] == world.marker
    assert contact["owner_id"] == world.owner_user_id
    assert contact["archived_at"] is None
    notes = ok(
        await client.get(f"{API}/objects/contact/records/{world.contact}/notes", headers=ws.auth)
    )["data"]
    assert [n["body"] for n in notes] == [f"{world.marker} private note"]
    archived = ok(
        await client.get(f"{API}/objects/contact/records/{world.archived}", headers=ws.auth)
    )
    assert archived["archived_at"] is not None
    assert (
        await client.get(f"{API}/objects/contact/records/{world.deleted}", headers=ws.auth)
    ).status_code == 404
    company = ok(
        await client.get(f"{API}/objects/company/records/{world.company}", headers=ws.auth)
    )
    assert company["fields"]["name"] == f"{world.marker} Corp"


async def test_the_owner_workspace_reaches_the_same_endpoints(
    client: httpx.AsyncClient, ws: Workspace, world: World
) -> None:
    """The 404s above are about the workspace, not the calls: A's own key gets answers."""
    for method, path, _body in RECORD_CALLS:
        if method != "GET":
            continue
        answer = await client.get(API + fill(path, world), headers=ws.auth)
        assert answer.status_code == 200, (path, answer.text)


async def test_integer_record_ids_do_not_cross_workspaces(
    client: httpx.AsyncClient,
    ws: Workspace,
    other_ws: Workspace,
    world: World,
    engine: AsyncEngine,
) -> None:
    number = await integer_id(engine, world.contact)
    mine = await client.get(f"{API}/objects/contact/records/{number}", headers=ws.auth)
    assert ok(mine)["id"] == world.contact
    theirs = await client.get(f"{API}/objects/contact/records/{number}", headers=other_ws.auth)
    assert_not_found(theirs, *world.secrets)
    patched = await client.patch(
        f"{API}/objects/contact/records/{number}",
        json={"fields": {"first_name": "Hijacked"}},
        headers=other_ws.auth,
    )
    assert_not_found(patched, *world.secrets)
    by_filter = await client.post(
        f"{API}/objects/contact/records/search",
        json={"filter": {"field": "id", "op": "eq", "value": number}},
        headers=other_ws.auth,
    )
    assert ok(by_filter)["data"] == []


async def test_lists_searches_and_counts_hold_only_own_records(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    own = await create(client, other_ws, "contact", {"first_name": "Bea", "email": "bea@b.example"})
    h = other_ws.auth
    for archived in ("exclude", "include", "only"):
        listed = ok(
            await client.get(
                f"{API}/objects/contact/records",
                params={"archived": archived, "include_total": "true", "limit": 500},
                headers=h,
            )
        )
        expected = [] if archived == "only" else [own["id"]]
        assert [r["id"] for r in listed["data"]] == expected
        assert listed["total"] == len(expected)
        counted = ok(
            await client.post(
                f"{API}/objects/contact/records/count", json={"archived": archived}, headers=h
            )
        )
        assert counted == {"count": len(expected)}
    for body in (
        {"q": world.email},
        {"q": world.marker},
        {"filter": {"field": "email", "op": "eq", "value": world.email}},
        {"filter": {"field": "first_name", "op": "starts", "value": world.marker}},
        {"filter": {"field": "email", "op": "not_empty"}, "archived": "include"},
    ):
        found = ok(await client.post(f"{API}/objects/contact/records/search", json=body, headers=h))
        assert all(r["id"] == own["id"] for r in found["data"]), body
        assert world.marker not in json.dumps(found)
        counted = ok(
            await client.post(f"{API}/objects/contact/records/count", json=body, headers=h)
        )
        assert counted["count"] == len(found["data"])
    by_q = ok(
        await client.get(f"{API}/objects/contact/records", params={"q": world.email}, headers=h)
    )
    assert by_q["data"] == []
    # A finds its own record by the same search, so the searches above could have matched.
    mine = ok(
        await client.post(
            f"{API}/objects/contact/records/search", json={"q": world.email}, headers=ws.auth
        )
    )
    assert [r["id"] for r in mine["data"]] == [world.contact]
    companies = ok(await client.get(f"{API}/objects/company/records", headers=h))
    assert companies["data"] == []


# --- objects, fields, pipelines -----------------------------------------------------------


async def test_custom_object_of_one_workspace_is_404_for_the_other(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    h = other_ws.auth
    calls = [
        ("GET", "/objects/vault", None),
        ("GET", f"/objects/{world.vault_id}", None),
        ("PATCH", "/objects/vault", {"label": "Mine"}),
        ("DELETE", "/objects/vault", None),
        ("DELETE", f"/objects/{world.vault_id}", None),
        ("GET", "/objects/vault/fields", None),
        ("GET", "/objects/vault/fields/secret", None),
        ("POST", "/objects/vault/fields", {"key": "extra", "label": "Extra", "type": "text"}),
        ("PATCH", "/objects/vault/fields/secret", {"label": "Mine"}),
        ("DELETE", "/objects/vault/fields/secret", None),
        ("GET", "/objects/vault/records", None),
        ("POST", "/objects/vault/records", {"fields": {"secret": "planted"}}),
        ("POST", "/objects/vault/records/search", {}),
        ("POST", "/objects/vault/records/count", {}),
        ("POST", "/objects/vault/records/bulk", {"records": [{"fields": {"secret": "x"}}]}),
        ("PUT", "/objects/vault/records/upsert", {"match": "secret", "fields": {"secret": "x"}}),
        ("GET", "/pipelines?object=vault", None),
    ]
    for method, path, body in calls:
        assert_not_found(
            await client.request(method, API + path, json=body, headers=h), *world.secrets
        )
    listed = ok(await client.get(f"{API}/objects", headers=h))
    assert "vault" not in [o["key"] for o in listed["data"]]
    assert world.vault_id not in json.dumps(listed)
    # A still has its object, its field and its record.
    vault = ok(await client.get(f"{API}/objects/vault", headers=ws.auth))
    assert [f["key"] for f in vault["fields"]][:1] == ["secret"]
    assert ok(
        await client.post(f"{API}/objects/vault/records/count", json={}, headers=ws.auth)
    ) == {"count": 1}
    # B may use the same key for an object of its own: no 409 betrays A's.
    mine = await client.post(f"{API}/objects", json={"key": "vault", "label": "Vault"}, headers=h)
    assert mine.status_code == 201
    assert mine.json()["id"] != world.vault_id
    assert ok(await client.get(f"{API}/objects/vault/records", headers=h))["data"] == []


async def test_custom_fields_stay_in_their_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    h = other_ws.auth
    for path in ("/objects/contact/fields/region", f"/objects/contact/fields/{world.field_id}"):
        assert_not_found(await client.get(API + path, headers=h))
        assert_not_found(await client.patch(API + path, json={"label": "X"}, headers=h))
        assert_not_found(await client.delete(API + path, headers=h))
    fields = ok(await client.get(f"{API}/objects/contact/fields", headers=h))["data"]
    assert "region" not in [f["key"] for f in fields]
    refused = await client.post(
        f"{API}/objects/contact/records", json={"fields": {"region": "North"}}, headers=h
    )
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["region"]
    made = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "region", "label": "Region", "type": "number"},
        headers=h,
    )
    assert made.status_code == 201
    mine = ok(await client.get(f"{API}/objects/contact/fields/region", headers=ws.auth))
    assert (mine["id"], mine["type"]) == (world.field_id, "text")


async def test_pipelines_stay_in_their_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    h = other_ws.auth
    for ref in (world.pipeline_id, world.deal_pipeline_id, world.lead_pipeline_id, "phase"):
        assert_not_found(await client.get(f"{API}/pipelines/{ref}", headers=h), world.marker)
        assert_not_found(
            await client.patch(f"{API}/pipelines/{ref}", json={"label": "Mine"}, headers=h),
            world.marker,
        )
        assert_not_found(await client.delete(f"{API}/pipelines/{ref}", headers=h), world.marker)
    listed = ok(await client.get(f"{API}/pipelines", headers=h))
    ids = [p["id"] for p in listed["data"]]
    assert world.pipeline_id not in ids
    assert world.deal_pipeline_id not in ids
    assert world.lead_pipeline_id not in ids
    assert world.marker not in json.dumps(listed)
    own_deal_pipeline = await seeded_pipeline(client, other_ws, "deal")
    assert own_deal_pipeline["id"] != world.deal_pipeline_id
    own_lead_pipeline = await seeded_pipeline(client, other_ws, "lead")
    assert own_lead_pipeline["id"] != world.lead_pipeline_id
    # A stage of A's pipeline is no stage of B's.
    refused = await client.post(
        f"{API}/objects/deal/records",
        json={"fields": {"name": "Deal", "stage": world.deal_stage_id}},
        headers=h,
    )
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["stage"]
    mine = ok(await client.get(f"{API}/pipelines/{world.pipeline_id}", headers=ws.auth))
    assert mine["label"] == f"{world.marker} phases"


# --- references across workspaces ---------------------------------------------------------


async def test_relations_and_links_cannot_reach_the_other_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    h = other_ws.auth
    refused = await client.post(
        f"{API}/objects/deal/records",
        json={"fields": {"name": "Deal", "contact": world.contact, "company": world.company}},
        headers=h,
    )
    assert refused.status_code == 422
    assert sorted(d["field"] for d in refused.json()["error"]["details"]) == [
        "company",
        "contact",
    ]
    assert world.marker not in refused.text
    for target in (ws, other_ws):
        ok(
            await client.post(
                f"{API}/objects/contact/fields",
                json={
                    "key": "companies",
                    "label": "Companies",
                    "type": "relation",
                    "options": {"object": "company", "multiple": True},
                },
                headers=target.auth,
            ),
            201,
        )
    mine = await create(client, other_ws, "contact", {"first_name": "Bea"})
    link = f"{API}/objects/contact/records/{mine['id']}/links/companies/{world.company}"
    assert_not_found(
        await client.put(link, json={"attributes": {"t": "x"}}, headers=h), world.marker
    )
    assert_not_found(await client.delete(link, headers=h), world.marker)
    theirs = f"{API}/objects/contact/records/{world.contact}/links/companies"
    assert_not_found(await client.get(theirs, headers=h), world.marker)
    back = f"{API}/objects/company/records/{world.company}/linked-from/contact/companies"
    assert_not_found(await client.get(back, headers=h), world.marker)
    assert ok(await client.get(back, headers=ws.auth))["data"] == []


async def test_unique_values_and_upserts_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    for target in (ws, other_ws):
        ok(
            await client.post(
                f"{API}/objects/company/fields",
                json={"key": "tax_id", "label": "Tax id", "type": "text", "unique": True},
                headers=target.auth,
            ),
            201,
        )
    a = await create(client, ws, "company", {"name": "A Corp", "tax_id": "T-1"})
    upserted = await client.put(
        f"{API}/objects/company/records/upsert",
        json={"match": "tax_id", "fields": {"tax_id": "T-1", "name": "B Corp"}},
        headers=other_ws.auth,
    )
    assert upserted.status_code == 201, upserted.text
    assert upserted.json()["id"] != a["id"]
    again = await client.post(
        f"{API}/objects/company/records/bulk",
        json={"records": [{"fields": {"name": "B2", "tax_id": "T-2"}}]},
        headers=other_ws.auth,
    )
    assert ok(again)["created"] == 1
    # ... nor does B's value stop A from using it.
    await create(client, ws, "company", {"name": "A2", "tax_id": "T-2"})
    still = ok(await client.get(f"{API}/objects/company/records/{a['id']}", headers=ws.auth))
    assert still["fields"]["name"] == "A Corp"


async def test_users_and_owners_do_not_cross_workspaces(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    h = other_ws.auth
    users = ok(await client.get(f"{API}/users", headers=h))["data"]
    ids = {u["id"] for u in users}
    assert world.owner_user_id not in ids
    assert world.agent_user_id not in ids
    assert world.agent_email not in json.dumps(users)
    for owner in (world.agent_user_id, world.agent_email, world.owner_user_id):
        refused = await client.post(
            f"{API}/objects/contact/records",
            json={"fields": {"first_name": "Bea"}, "owner_id": owner},
            headers=h,
        )
        assert refused.status_code == 422, owner
        assert [d["field"] for d in refused.json()["error"]["details"]] == ["owner_id"]
        by_owner = await client.post(
            f"{API}/objects/contact/records/search",
            json={"filter": {"field": "owner_id", "op": "eq", "value": owner}},
            headers=h,
        )
        assert by_owner.status_code == 422, owner
    # The same email may be a user of both workspaces.
    same = await client.post(
        f"{API}/users", json={"email": world.agent_email, "name": "B's own"}, headers=h
    )
    assert same.status_code == 201
    assert same.json()["id"] != world.agent_user_id


async def test_api_keys_cannot_be_revoked_from_the_other_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    assert_not_found(await client.delete(f"{API}/api-keys/{world.key_id}", headers=other_ws.auth))
    me = ok(await client.get(f"{API}/me", headers=ws.auth))
    assert me["workspace_id"] == str(ws.uuid)
    other_me = ok(await client.get(f"{API}/me", headers=other_ws.auth))
    assert other_me["workspace_id"] == str(other_ws.uuid)
    # A's key still works, and A itself can revoke it.
    key_works = await client.get(f"{API}/me", headers=ws.auth)
    assert key_works.status_code == 200
    assert (
        await client.delete(f"{API}/api-keys/{world.key_id}", headers=ws.auth)
    ).status_code == 204


# --- the event feed -----------------------------------------------------------------------


async def all_events(client: httpx.AsyncClient, ws: Workspace) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = ok(
            await client.get(
                f"{API}/events", params={"after": after, "limit": 1000}, headers=ws.auth
            )
        )
        found += page["data"]
        if not page["data"]:
            return found
        after = page["next_after"]


async def test_event_feeds_and_timelines_hold_only_own_events(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, world: World
) -> None:
    own = await create(client, other_ws, "contact", {"first_name": "Bea"})
    theirs = await all_events(client, other_ws)
    text = json.dumps(theirs)
    for secret in (
        *world.secrets,
        world.contact,
        world.company,
        world.vault_record,
        world.key_id,
        world.agent_user_id,
        world.pipeline_id,
        "vault",
    ):
        assert secret not in text
    assert {e["record_id"] for e in theirs} <= {None, own["id"]}
    assert own["id"] in {e["record_id"] for e in theirs}
    # A's own feed shows what B's does not, so the assertions above could fail.
    mine = json.dumps(await all_events(client, ws))
    for secret in (world.marker, world.contact, world.vault_record, world.key_id):
        assert secret in mine
    timeline = ok(
        await client.get(
            f"{API}/objects/contact/records/{own['id']}/timeline", headers=other_ws.auth
        )
    )
    assert [e["type"] for e in timeline["data"]] == ["record.created"]
    assert world.marker not in json.dumps(timeline)
