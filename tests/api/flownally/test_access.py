"""Who may call what: bearer keys, the scope each endpoint documents, and roles (an agent
sees the contacts it owns or that are shared with it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.flownally.conftest import (
    ALL_SCOPES,
    API,
    FN,
    NOBODY,
    count,
    create_contact,
    create_field,
    create_tag,
    fl_error,
    get_contact,
    list_fields,
    listed_ids,
    ok,
    share,
    tag,
    uuid_of,
)
from tests.conftest import Workspace, bearer


@dataclass(frozen=True)
class Call:
    """One endpoint as the document gives it: its scope and its success status."""

    id: str
    method: str
    path: str
    scope: str
    status: int
    body: dict[str, Any] | None = None
    property_field: bool = False  # whether the workspace has a property field first


CALLS = [
    Call("list contacts", "GET", "/contacts", "contact:list", 200),
    Call("count contacts", "GET", "/contacts/count", "contact:list", 200),
    Call("get contact", "GET", "/contacts/{contact}", "contact:read", 200),
    Call("create contact", "POST", "/contacts", "contact:create", 201, {"name": "New One"}),
    Call(
        "create contact with phone",
        "POST",
        "/contacts",
        "contact:create",
        201,
        {"name": "New One", "phone": "+48600000001"},
    ),
    Call("update contact", "PATCH", "/contacts/{contact}", "contact:update", 200, {"name": "N"}),
    Call("delete contact", "DELETE", "/contacts/{contact}", "contact:delete", 204),
    Call("archive contact", "POST", "/contacts/{contact}/archive", "contact:update", 204),
    Call("unarchive contact", "POST", "/contacts/{archived}/unarchive", "contact:update", 204),
    Call(
        "set field value",
        "PUT",
        "/contacts/{contact}/custom-fields/cf_lifecycle_stage",
        "contact:update",
        204,
        {"value": "customer"},
    ),
    Call("add tag", "POST", "/contacts/{contact}/tags/{tag}", "contact:update", 204),
    Call("remove tag", "DELETE", "/contacts/{contact}/tags/{tag}", "contact:update", 204),
    Call("list tags", "GET", "/tags", "tag:list", 200),
    Call("create tag", "POST", "/tags", "tag:create", 201, {"name": "Fresh"}),
    Call("delete tag", "DELETE", "/tags/{tag}", "tag:delete", 204),
    Call("list contact fields", "GET", "/contacts/custom-fields", "custom_field:list", 200),
    Call("list property fields", "GET", "/properties/custom-fields", "custom_field:list", 200),
    Call(
        "create contact field",
        "POST",
        "/contacts/custom-fields",
        "custom_field:create",
        201,
        {"name": "Tier", "type": "text"},
    ),
    Call(
        "create first property field",
        "POST",
        "/properties/custom-fields",
        "custom_field:create",
        201,
        {"name": "Tier", "type": "text"},
    ),
    Call(
        "create another property field",
        "POST",
        "/properties/custom-fields",
        "custom_field:create",
        201,
        {"name": "Tier", "type": "text"},
        property_field=True,
    ),
    Call(
        "update contact field",
        "PATCH",
        "/contacts/custom-fields/cf_lifecycle_stage",
        "custom_field:update",
        200,
        {"name": "Stage"},
    ),
    Call(
        "update property field",
        "PATCH",
        "/properties/custom-fields/cf_region",
        "custom_field:update",
        200,
        {"name": "Area"},
        property_field=True,
    ),
    Call(
        "delete contact field",
        "DELETE",
        "/contacts/custom-fields/cf_lifecycle_stage",
        "custom_field:delete",
        204,
    ),
    Call(
        "delete property field",
        "DELETE",
        "/properties/custom-fields/cf_region",
        "custom_field:delete",
        204,
        property_field=True,
    ),
]


async def prepare(client: httpx.AsyncClient, ws: Workspace, call: Call) -> dict[str, str]:
    """What the call's path names: a contact, an archived contact and a tag, made by the
    owner, beside the Lifecycle stage field (and a property field when the call wants one)."""
    await create_field(client, ws.auth, "Lifecycle stage")
    if call.property_field:
        await create_field(client, ws.auth, "Region", entity="properties")
    contact = await create_contact(client, ws.auth, {"name": "Anna Kowalska"})
    archived = await create_contact(client, ws.auth, {"name": "Old Timer"})
    ok(await client.post(f"{FN}/contacts/{archived['id']}/archive", headers=ws.auth), 204)
    tag_id = await create_tag(client, ws.auth, "VIP")
    if call.id == "remove tag":
        await tag(client, ws.auth, contact["id"], tag_id)
    return {"contact": contact["id"], "archived": archived["id"], "tag": tag_id}


async def make(
    client: httpx.AsyncClient, call: Call, names: dict[str, str], headers: dict[str, str]
) -> httpx.Response:
    return await client.request(
        call.method, FN + call.path.format(**names), json=call.body, headers=headers
    )


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in CALLS])
async def test_the_documented_scope_alone_is_enough(
    client: httpx.AsyncClient, ws: Workspace, call: Call
) -> None:
    names = await prepare(client, ws, call)
    key = bearer(await ws.add_key(scopes=[call.scope]))
    answer = await make(client, call, names, key)
    assert answer.status_code == call.status, answer.text


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in CALLS])
async def test_every_scope_but_the_documented_one_is_403(
    client: httpx.AsyncClient, ws: Workspace, call: Call
) -> None:
    names = await prepare(client, ws, call)
    key = bearer(await ws.add_key(scopes=[s for s in ALL_SCOPES if s != call.scope]))
    error = fl_error(await make(client, call, names, key), 403)
    assert error["message"].startswith("This key lacks the scope ")
    assert error["details"] == []
    # Nothing changed: the owner still sees what was there.
    assert await get_contact(client, ws.auth, names["contact"])


@pytest.mark.parametrize("call", [pytest.param(c, id=c.id) for c in CALLS])
@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "An API key is required"),
        ("Bearer ak_not_a_key", "The API key is not valid"),
        ("Bearer ", "An API key is required"),
        ("Basic dXNlcjpwYXNz", "An API key is required"),
    ],
)
async def test_a_missing_or_bad_key_is_401(
    client: httpx.AsyncClient,
    ws: Workspace,
    call: Call,
    authorization: str | None,
    message: str,
) -> None:
    names = {"contact": f"con_{NOBODY}", "archived": f"con_{NOBODY}", "tag": f"tag_{NOBODY}"}
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = await make(client, call, names, headers)
    fl_error(answer, 401, message, [])
    assert answer.headers["www-authenticate"] == "Bearer"


async def test_a_bad_key_is_answered_before_a_bad_body(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.post(
        f"{FN}/contacts",
        content=b"{not json",
        headers={"Content-Type": "application/json", **bearer("ak_nope")},
    )
    fl_error(answer, 401, "The API key is not valid", [])


async def test_another_workspaces_key_sees_nothing_of_this_one(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, anna: dict[str, Any]
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    await tag(client, ws.auth, anna["id"], vip)
    theirs = other_ws.auth
    assert await listed_ids(client, theirs) == []
    assert await listed_ids(client, theirs, {"search": "anna"}) == []
    assert await count(client, theirs) == 0
    assert ok(await client.get(f"{FN}/tags", headers=theirs)) == {"tags": []}
    assert "cf_lifecycle_stage" not in [f["id"] for f in await list_fields(client, theirs)]
    fl_error(await client.get(f"{FN}/contacts/{anna['id']}", headers=theirs), 404)
    # Another workspace's tag is no tag of theirs: filtering by it is a 404, as for any unknown tag.
    answer = await client.get(f"{FN}/contacts", params={"tagIds": vip}, headers=theirs)
    fl_error(answer, 404)


# --- roles ----------------------------------------------------------------------------


@pytest.fixture
async def sam(ws: Workspace) -> dict[str, str]:
    """An agent's key."""
    return bearer(await ws.add_key(role="agent", email="sam@acme.com"))


async def test_an_agent_lists_what_it_owns_or_is_shared(
    client: httpx.AsyncClient, ws: Workspace, sam: dict[str, str]
) -> None:
    own = await create_contact(client, sam, {"name": "Sam Own"})
    shared = await create_contact(client, ws.auth, {"name": "Owner Shared"})
    hidden = await create_contact(client, ws.auth, {"name": "Owner Hidden"})
    await share(client, ws, shared["id"], "sam@acme.com")

    assert await listed_ids(client, sam) == [shared["id"], own["id"]]
    assert await count(client, sam) == 2
    assert await listed_ids(client, sam, {"search": "owner"}) == [shared["id"]]
    assert await get_contact(client, sam, shared["id"]) == shared
    fl_error(
        await client.get(f"{FN}/contacts/{hidden['id']}", headers=sam), 404, "Contact not found"
    )
    # The owner sees all three.
    assert await listed_ids(client, ws.auth) == [hidden["id"], shared["id"], own["id"]]

    # Archived contacts the agent may see are in its archived bucket alone.
    ok(await client.post(f"{FN}/contacts/{hidden['id']}/archive", headers=ws.auth), 204)
    ok(await client.post(f"{FN}/contacts/{own['id']}/archive", headers=sam), 204)
    assert await listed_ids(client, sam, {"archived": "true"}) == [own["id"]]
    assert await count(client, sam, {"archived": "true"}) == 1

    # Unsharing hides the contact again.
    answer = await client.get(f"{API}/users", headers=ws.auth)
    sam_user = next(u["id"] for u in ok(answer)["data"] if u["email"] == "sam@acme.com")
    answer = await client.delete(
        f"{API}/objects/contact/records/{uuid_of(shared['id'])}/viewers/{sam_user}",
        headers=ws.auth,
    )
    ok(answer, 204)
    assert await listed_ids(client, sam) == []
    assert await count(client, sam) == 0


async def test_an_agent_may_read_but_not_change_a_shared_contact(
    client: httpx.AsyncClient, ws: Workspace, sam: dict[str, str], anna: dict[str, Any]
) -> None:
    await share(client, ws, anna["id"], "sam@acme.com")
    vip = await create_tag(client, ws.auth, "VIP")
    cid = anna["id"]
    for answer, verb in [
        (await client.patch(f"{FN}/contacts/{cid}", json={"name": "Mine"}, headers=sam), "edit"),
        (await client.post(f"{FN}/contacts/{cid}/archive", headers=sam), "edit"),
        (
            await client.put(
                f"{FN}/contacts/{cid}/custom-fields/cf_lifecycle_stage",
                json={"value": "customer"},
                headers=sam,
            ),
            "edit",
        ),
        (await client.post(f"{FN}/contacts/{cid}/tags/{vip}", headers=sam), "edit"),
        (await client.delete(f"{FN}/contacts/{cid}", headers=sam), "delete"),
    ]:
        fl_error(answer, 403, f"Your role may not {verb} this contact", [])
    assert await get_contact(client, ws.auth, cid) == anna


async def test_an_agent_cannot_reach_a_contact_not_shared_with_it(
    client: httpx.AsyncClient, ws: Workspace, sam: dict[str, str], anna: dict[str, Any]
) -> None:
    vip = await create_tag(client, ws.auth, "VIP")
    cid = anna["id"]
    for answer in [
        await client.patch(f"{FN}/contacts/{cid}", json={"name": "Mine"}, headers=sam),
        await client.post(f"{FN}/contacts/{cid}/archive", headers=sam),
        await client.put(
            f"{FN}/contacts/{cid}/custom-fields/cf_lifecycle_stage",
            json={"value": "customer"},
            headers=sam,
        ),
        await client.post(f"{FN}/contacts/{cid}/tags/{vip}", headers=sam),
        await client.delete(f"{FN}/contacts/{cid}", headers=sam),
    ]:
        fl_error(answer, 404, "Contact not found", [])
    assert await get_contact(client, ws.auth, cid) == anna


async def test_an_agent_works_its_own_contacts(
    client: httpx.AsyncClient, ws: Workspace, sam: dict[str, str], store_fields: None
) -> None:
    made = await create_contact(
        client,
        sam,
        {
            "name": "Ola Agentka",
            "phone": "+48700100200",
            "customFields": {"lifecycleStage": "lead"},
        },
    )
    assert made["identities"][0]["metadata"] == {"phoneNumber": "+48700100200"}
    vip = await create_tag(client, sam, "Agent tag")
    cid = made["id"]
    assert (
        ok(await client.patch(f"{FN}/contacts/{cid}", json={"name": "Ola A"}, headers=sam))["name"]
        == "Ola A"
    )
    answer = await client.put(
        f"{FN}/contacts/{cid}/custom-fields/cf_lifecycle_stage",
        json={"value": "customer"},
        headers=sam,
    )
    ok(answer, 204)
    await tag(client, sam, cid, vip)
    ok(await client.post(f"{FN}/contacts/{cid}/archive", headers=sam), 204)
    ok(await client.post(f"{FN}/contacts/{cid}/unarchive", headers=sam), 204)
    shown = await get_contact(client, sam, cid)
    assert (shown["name"], shown["tagIds"], shown["customFields"]["lifecycleStage"]) == (
        "Ola A",
        [vip],
        "customer",
    )
    # The owner sees it too, and the agent may delete it.
    assert await get_contact(client, ws.auth, cid) == shown
    ok(await client.delete(f"{FN}/contacts/{cid}", headers=sam), 204)
    assert await listed_ids(client, sam) == []


async def test_an_agent_lists_and_manages_tags_and_lists_fields(
    client: httpx.AsyncClient, ws: Workspace, sam: dict[str, str]
) -> None:
    owners = await create_tag(client, ws.auth, "Owner tag")
    mine = await create_tag(client, sam, "Agent tag")
    tags = ok(await client.get(f"{FN}/tags", headers=sam))["tags"]
    assert [t["id"] for t in tags] == [mine, owners]
    ok(await client.delete(f"{FN}/tags/{mine}", headers=sam), 204)
    assert [f["id"] for f in await list_fields(client, sam)][:2] == ["cf_title", "cf_email"]
    assert await list_fields(client, sam, "properties") == []


async def test_an_admin_manages_field_definitions(client: httpx.AsyncClient, ws: Workspace) -> None:
    ada = bearer(await ws.add_key(role="admin", email="ada@acme.com"))
    made = await create_field(client, ada, "Tier")
    assert made["predefined"] is False
    region = await create_field(client, ada, "Region", entity="properties")
    answer = await client.patch(
        f"{FN}/properties/custom-fields/{region['id']}", json={"name": "Area"}, headers=ada
    )
    assert ok(answer)["name"] == "Area"
    ok(await client.delete(f"{FN}/contacts/custom-fields/cf_tier", headers=ada), 204)
