"""Field categories through the native API: each object type's named, ordered groups of
fields, which a field's ``group`` names."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm.core.auth.service import create_role
from crm.db.engine import transaction
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
#: A well-formed id that names no category (fixed, so every collection names the same tests).
NO_CATEGORY = "0190f6d2-5b1e-7c3a-9d4e-2f1a3b4c5d6e"


def url(obj: str = "contact", category: str | None = None) -> str:
    base = f"{API}/objects/{obj}/field-categories"
    return base if category is None else f"{base}/{category}"


def shown(categories: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(c["key"], c["label"], c["position"]) for c in categories]


async def listed(client: httpx.AsyncClient, ws: Workspace, obj: str = "contact") -> list[Any]:
    answer = await client.get(url(obj), headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def of_object(client: httpx.AsyncClient, ws: Workspace, obj: str = "contact") -> list[Any]:
    answer = await client.get(f"{API}/objects/{obj}", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["categories"])


async def make(
    client: httpx.AsyncClient, ws: Workspace, key: str, obj: str = "contact", **extra: Any
) -> dict[str, Any]:
    body = {"key": key, "label": key.replace("_", " ").capitalize(), **extra}
    answer = await client.post(url(obj), json=body, headers=ws.auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def event_types(client: httpx.AsyncClient, ws: Workspace) -> list[str]:
    answer = await client.get(f"{API}/events", params={"limit": 1000}, headers=ws.auth)
    assert answer.status_code == 200, answer.text
    return [e["type"] for e in answer.json()["data"]]


async def no_fields_role_key(ws: Workspace) -> dict[str, str]:
    """A key whose role edits every record but may not manage fields or objects."""
    async with transaction(ws.engine, write=True) as conn:
        await create_role(conn, ws.id, key="editor", name="Editor", permissions=["*:*:full"])
    return bearer(await ws.add_key(role="editor", email="ed@acme.test"))


# --- seeded and default categories ------------------------------------------------------


async def test_standard_objects_come_with_labelled_categories(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    person = [
        ("general", "General", 1),
        ("contact", "Contact details", 2),
        ("address", "Address", 3),
    ]
    expected = {
        "contact": person,
        "company": [
            ("general", "General", 1),
            ("financial", "Financial", 2),
            ("billing", "Billing", 3),
        ],
        "lead": [*person, ("pipeline", "Pipeline", 4)],
        "deal": [("general", "General", 1), ("pipeline", "Pipeline", 2)],
        "case": [("general", "General", 1)],
        "task": [("general", "General", 1)],
    }
    answer = await client.get(f"{API}/objects", headers=ws.auth)
    assert answer.status_code == 200, answer.text
    objects = answer.json()["data"]
    assert {o["key"]: shown(o["categories"]) for o in objects} == expected
    for o in objects:
        assert {f["group"] for f in o["fields"]} == {c["key"] for c in o["categories"]}
        assert await listed(client, ws, o["key"]) == o["categories"]


async def test_a_custom_object_starts_with_general(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await client.post(
        f"{API}/objects",
        json={
            "key": "property",
            "label": "Property",
            "fields": [{"key": "rooms", "label": "Rooms", "type": "number", "group": "layout"}],
        },
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    assert shown(made.json()["categories"]) == [("general", "General", 1), ("layout", "Layout", 2)]
    assert [c["id"] for c in made.json()["categories"]] == [
        c["id"] for c in await listed(client, ws, "property")
    ]


# --- create, read, change, delete -------------------------------------------------------


async def test_create_then_read_by_key_and_id(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await make(client, ws, "social", label="  Social profiles ")
    assert made["key"] == "social"
    assert made["label"] == "Social profiles"
    assert made["position"] == 4
    # The next request sees it: the change moved the metadata version on.
    assert (await of_object(client, ws))[-1] == made
    assert (await listed(client, ws))[-1] == made
    for ref in ("social", made["id"]):
        answer = await client.get(url(category=ref), headers=ws.auth)
        assert answer.status_code == 200, answer.text
        assert answer.json() == made
    assert "field_category.created" in await event_types(client, ws)


async def test_position_orders_the_list(client: httpx.AsyncClient, ws: Workspace) -> None:
    await make(client, ws, "first", position=0)
    await make(client, ws, "tied", position=2)
    keys = [c["key"] for c in await listed(client, ws)]
    assert keys == ["first", "general", "contact", "tied", "address"]


async def test_relabel_and_move(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.patch(
        url(category="address"), json={"label": "Postal address", "position": 0}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert shown([answer.json()]) == [("address", "Postal address", 0)]
    assert shown(await of_object(client, ws))[0] == ("address", "Postal address", 0)
    same = await client.patch(url(category="address"), json={}, headers=ws.auth)
    assert same.status_code == 200, same.text
    assert same.json() == answer.json()
    assert "field_category.updated" in await event_types(client, ws)


async def test_delete_an_unused_category(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await make(client, ws, "social")
    gone = await client.delete(url(category=made["id"]), headers=ws.auth)
    assert gone.status_code == 204, gone.text
    assert "social" not in [c["key"] for c in await of_object(client, ws)]
    assert_error(await client.get(url(category="social"), headers=ws.auth), 404, "not_found")
    assert "field_category.deleted" in await event_types(client, ws)


async def test_a_category_fields_are_in_is_not_deleted(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    error = assert_error(
        await client.delete(url(category="address"), headers=ws.auth), 409, "conflict"
    )
    assert "5 fields" in error["message"]
    assert [d["field"] for d in error["details"]] == ["address", "city", "state", "zip", "country"]
    for key in ("address", "city", "state", "zip", "country"):
        moved = await client.patch(
            f"{API}/objects/contact/fields/{key}", json={"group": "general"}, headers=ws.auth
        )
        assert moved.status_code == 200, moved.text
    gone = await client.delete(url(category="address"), headers=ws.auth)
    assert gone.status_code == 204, gone.text


async def test_general_is_never_deleted(client: httpx.AsyncClient, ws: Workspace) -> None:
    await client.post(f"{API}/objects", json={"key": "bare", "label": "Bare"}, headers=ws.auth)
    error = assert_error(
        await client.delete(url("bare", "general"), headers=ws.auth), 409, "conflict"
    )
    assert "general" in error["message"]
    assert shown(await listed(client, ws, "bare")) == [("general", "General", 1)]


# --- fields name categories ----------------------------------------------------------------


async def test_a_new_fields_group_becomes_a_category(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "twitter", "label": "Twitter", "type": "text", "group": "social_media"},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    assert made.json()["group"] == "social_media"
    assert shown(await of_object(client, ws))[-1] == ("social_media", "Social media", 4)
    # A group that has a category reuses it.
    again = await client.post(
        f"{API}/objects/contact/fields",
        json={"key": "mastodon", "label": "Mastodon", "type": "text", "group": "social_media"},
        headers=ws.auth,
    )
    assert again.status_code == 201, again.text
    assert len(await listed(client, ws)) == 4
    types = await event_types(client, ws)
    assert types.count("field_category.created") == 1
    assert types[-3:] == ["field_category.created", "field.created", "field.created"]


async def test_regrouping_a_field_makes_its_category(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    """Any group clients always sent keeps working: it is the category's key as given."""
    answer = await client.patch(
        f"{API}/objects/company/fields/industry", json={"group": " Market  Data "}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["group"] == "Market  Data"
    assert shown(await of_object(client, ws, "company"))[-1] == ("Market  Data", "Market Data", 4)
    found = await client.get(url("company", "Market  Data"), headers=ws.auth)
    assert found.status_code == 200, found.text


async def test_a_refused_field_change_leaves_no_category(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for name in ("Ada", "Bob"):
        made = await client.post(
            f"{API}/objects/contact/records",
            json={"fields": {"first_name": name, "title": "Dr"}},
            headers=ws.auth,
        )
        assert made.status_code == 201, made.text
    answer = await client.patch(
        f"{API}/objects/contact/fields/title",
        json={"group": "honours", "unique": True},
        headers=ws.auth,
    )
    assert_error(answer, 409, "conflict")
    assert [c["key"] for c in await of_object(client, ws)] == ["general", "contact", "address"]


async def test_a_pipeline_brings_its_stage_fields_category(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    await client.post(
        f"{API}/objects", json={"key": "project", "label": "Project"}, headers=ws.auth
    )
    made = await client.post(
        f"{API}/pipelines",
        json={"key": "phase", "label": "Phases", "object": "project", "stages": [{"name": "Plan"}]},
        headers=ws.auth,
    )
    assert made.status_code == 201, made.text
    assert shown(await listed(client, ws, "project")) == [
        ("general", "General", 1),
        ("pipeline", "Pipeline", 2),
    ]


# --- refusals ----------------------------------------------------------------------------


async def test_a_taken_key_is_409(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(url(), json={"key": "address", "label": "Again"}, headers=ws.auth)
    assert_error(answer, 409, "conflict")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Bad Key", "label": "X"}, "key"),
        ({"key": "1st", "label": "X"}, "key"),
        ({"key": "id", "label": "X"}, "key"),
        ({"key": "x" * 64, "label": "X"}, "key"),
        ({"key": 5, "label": "X"}, "key"),
        ({"label": "X"}, "key"),
        ({"key": "social"}, "label"),
        ({"key": "social", "label": "  "}, "label"),
        ({"key": "social", "label": "x" * 201}, "label"),
        ({"key": "social", "label": ["X"]}, "label"),
        ({"key": "social", "label": "X", "position": "first"}, "position"),
        ({"key": "social", "label": "X", "position": None}, "position"),
        ({"key": "social", "label": "X", "position": 2**31}, "position"),
        ({"key": "social", "label": "X", "colour": "red"}, "colour"),
    ],
)
async def test_bad_category_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(url(), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert len(await listed(client, ws)) == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "postal"}, "key"),
        ({"label": ""}, "label"),
        ({"label": None}, "label"),
        ({"position": "second"}, "position"),
        ({"position": 1.5}, "position"),
    ],
)
async def test_bad_change_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.patch(url(category="address"), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert shown(await listed(client, ws))[2] == ("address", "Address", 3)


@pytest.mark.parametrize("method", ["post", "patch"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, ws: Workspace, method: str) -> None:
    target = url() if method == "post" else url(category="address")
    answer = await client.request(
        method.upper(),
        target,
        content=b'{"key": "social",',
        headers={**ws.auth, "Content-Type": "application/json"},
    )
    assert_error(answer, 400, "malformed_request")


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", url("nope")),
        ("POST", url("nope")),
        ("GET", url("nope", "general")),
        ("PATCH", url("nope", "general")),
        ("DELETE", url("nope", "general")),
        ("GET", url(category="nope")),
        ("GET", url(category=NO_CATEGORY)),
        ("PATCH", url(category="nope")),
        ("DELETE", url(category="nope")),
    ],
)
async def test_unknown_object_or_category_is_404(
    client: httpx.AsyncClient, ws: Workspace, method: str, target: str
) -> None:
    body = {"key": "social", "label": "Social"} if method == "POST" else {"label": "X"}
    answer = await client.request(
        method, target, json=None if method in ("GET", "DELETE") else body, headers=ws.auth
    )
    assert_error(answer, 404, "not_found")


async def test_another_workspaces_categories_are_not_seen(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await make(client, other_ws, "social")
    await client.post(
        f"{API}/objects", json={"key": "secret", "label": "Secret"}, headers=other_ws.auth
    )
    for method, target in (
        ("GET", url(category=theirs["id"])),
        ("PATCH", url(category=theirs["id"])),
        ("DELETE", url(category=theirs["id"])),
        ("GET", url(category="social")),
        ("GET", url("secret")),
        ("POST", url("secret")),
    ):
        body = {"key": "mine", "label": "Mine"} if method == "POST" else {"label": "Mine"}
        answer = await client.request(
            method, target, json=None if method in ("GET", "DELETE") else body, headers=ws.auth
        )
        assert_error(answer, 404, "not_found")
    # The same key is free in each workspace, and theirs is left as it was.
    assert (await make(client, ws, "social"))["id"] != theirs["id"]
    assert (await listed(client, other_ws))[-1] == theirs


async def test_a_key_without_the_field_scopes_only_reads(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    assert (await client.get(url(), headers=reader)).status_code == 200
    assert (await client.get(url(category="address"), headers=reader)).status_code == 200
    for answer in (
        await client.post(url(), json={"key": "social", "label": "Social"}, headers=reader),
        await client.patch(url(category="address"), json={"label": "Post"}, headers=reader),
        await client.delete(url(category="address"), headers=reader),
    ):
        error = assert_error(answer, 403, "permission_denied")
        assert "custom_field:" in error["message"]
    writer = bearer(await ws.add_key(scopes=["object:read", "custom_field:create"]))
    made = await client.post(url(), json={"key": "social", "label": "Social"}, headers=writer)
    assert made.status_code == 201, made.text
    no_list = bearer(await ws.add_key(scopes=["custom_field:create"]))
    assert_error(await client.get(url(), headers=no_list), 403, "permission_denied")


async def test_managing_categories_takes_the_right_to_manage_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    editor = await no_fields_role_key(ws)
    assert (await client.get(url(), headers=editor)).status_code == 200
    for answer in (
        await client.post(url(), json={"key": "social", "label": "Social"}, headers=editor),
        await client.patch(url(category="address"), json={"label": "Post"}, headers=editor),
        await client.delete(url(category="address"), headers=editor),
    ):
        assert_error(answer, 403, "permission_denied")
    # 404 before 403: a category that does not exist is not found, whoever asks.
    missing = await client.patch(url(category="nope"), json={"label": "X"}, headers=editor)
    assert_error(missing, 404, "not_found")
    assert shown(await listed(client, ws))[2] == ("address", "Address", 3)
    # Agents manage fields, and so categories.
    agent = bearer(await ws.add_key(role="agent", email="al@acme.test"))
    made = await client.post(url(), json={"key": "social", "label": "Social"}, headers=agent)
    assert made.status_code == 201, made.text
    gone = await client.delete(url(category="social"), headers=agent)
    assert gone.status_code == 204, gone.text
