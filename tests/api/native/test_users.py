"""Users through the native API: profiles, numbers, listing, changes, deletion (with and
without a transfer of records), the last owner, and what a user's role grants."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
USERS = f"{API}/users"
CONTACTS = f"{API}/objects/contact/records"
#: A well-formed UUID that names no user.
NOBODY = "01890a5d-ac96-774b-bcce-b302099a8057"


# --- helpers ------------------------------------------------------------------------------


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return None if status == 204 else answer.json()


async def add(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    return dict(ok(await client.post(USERS, json=body, headers=headers), 201))


async def user_with_key(
    client: httpx.AsyncClient, ws: Workspace, email: str, role: str = "agent"
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new user of ``role`` and a key of theirs with every scope."""
    key = bearer(await ws.add_key(role=role, email=email))
    return dict(ok(await client.get(f"{USERS}/{email}", headers=ws.auth))), key


async def listed(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    return dict(ok(await client.get(USERS, params=params, headers=headers)))


async def contact(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    made = await client.post(CONTACTS, json={"fields": {"first_name": name}}, headers=headers)
    return str(ok(made, 201)["id"])


async def owner_of(client: httpx.AsyncClient, ws: Workspace, record: str) -> str | None:
    found = ok(await client.get(f"{CONTACTS}/{record}", headers=ws.auth))
    return found["owner_id"]  # type: ignore[no-any-return]


async def events_of(client: httpx.AsyncClient, ws: Workspace, kind: str) -> list[dict[str, Any]]:
    feed = ok(await client.get(f"{API}/events", params={"limit": 1000}, headers=ws.auth))
    return [e for e in feed["data"] if e["type"] == kind]


# --- creating and reading -----------------------------------------------------------------


async def test_a_user_is_made_with_a_profile_and_found_by_id_number_or_email(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await add(
        client,
        ws.auth,
        email="Grace@Acme.com",
        username="GHopper",
        first_name=" Grace ",
        last_name="Hopper",
        position="Rear admiral",
        timezone="America/New_York",
        locale="en_US",
        password="correct horse battery",
        role="admin",
    )
    assert made == {
        "id": made["id"],
        "number": 2,
        "username": "ghopper",
        "email": "grace@acme.com",
        "name": "Grace Hopper",
        "first_name": "Grace",
        "last_name": "Hopper",
        "position": "Rear admiral",
        "timezone": "America/New_York",
        "locale": "en_US",
        "role": "admin",
        "active": True,
        "created_at": made["created_at"],
        "updated_at": made["created_at"],
    }
    for ref in (made["id"], "2", "GRACE@acme.com", " 2 "):
        answer = await client.get(f"{USERS}/{ref}", headers=ws.auth)
        assert ok(answer) == made, ref
        assert "correct horse" not in answer.text
        assert "argon2" not in answer.text
    owner = ok(await client.get(f"{USERS}/1", headers=ws.auth))
    assert (owner["email"], owner["username"], owner["role"]) == (
        "owner@example.com",
        "owner",
        "owner",
    )
    assert (owner["first_name"], owner["timezone"], owner["locale"]) == (None, None, None)
    # The new user's key works, and the user is who /me says.
    key = bearer(await ws.add_key(role="admin", email="other@acme.com"))
    assert ok(await client.get(f"{API}/me", headers=key))["role"] == "admin"


async def test_a_name_is_needed_unless_first_or_last_name_gives_one(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    assert (await add(client, ws.auth, email="a@x.io", last_name="Lovelace"))["name"] == "Lovelace"
    named = await add(client, ws.auth, email="b@x.io", name="Babbage", first_name="Charles")
    assert (named["name"], named["first_name"]) == ("Babbage", "Charles")
    answer = await client.post(USERS, json={"email": "c@x.io", "first_name": " "}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["name"]


async def test_usernames_default_to_the_emails_local_part_made_unique_in_any_case(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    assert (await add(client, ws.auth, email="ann@x.io", name="A"))["username"] == "ann"
    assert (await add(client, ws.auth, email="ann@y.io", name="A"))["username"] == "ann-2"
    assert (await add(client, ws.auth, email="z@y.io", name="A", username="Ann-3"))[
        "username"
    ] == "ann-3"
    assert (await add(client, ws.auth, email="ann@z.io", name="A"))["username"] == "ann-4"
    # A username that looks like a pattern is taken literally.
    assert (await add(client, ws.auth, email="a_n@z.io", name="A"))["username"] == "a_n"
    for taken in ("ANN", "ann-2"):
        answer = await client.post(
            USERS, json={"email": "new@x.io", "name": "N", "username": taken}, headers=ws.auth
        )
        assert_error(answer, 409, "conflict")
    # Another workspace has usernames of its own.
    assert (await add(client, other_ws.auth, email="ann@x.io", name="A"))["username"] == "ann"
    assert [u["number"] for u in (await listed(client, ws.auth))["data"]] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "a@x.io", "name": "X", "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"email": "a@x.io", "name": "X", "timezone": "utc"}, "timezone"),
        ({"email": "a@x.io", "name": "X", "locale": "english"}, "locale"),
        ({"email": "a@x.io", "name": "X", "locale": "en-US"}, "locale"),
        ({"email": "a@x.io", "name": "X", "username": "a b"}, "username"),
        ({"email": "a@x.io", "name": "X", "username": " ab"}, "username"),
        ({"email": "a@x.io", "name": "X", "username": "x" * 101}, "username"),
        ({"email": "a@x.io", "name": "X", "password": "short"}, "password"),
        ({"email": "a@x.io", "name": "X", "first_name": "x" * 101}, "first_name"),
        ({"email": "a@x.io", "name": "X", "position": "x" * 201}, "position"),
        ({"email": "a@x.io", "name": "X", "position": 5}, "position"),
        ({"email": "a@x.io", "name": "x" * 201}, "name"),
        ({"email": "a@x.io", "name": "X", "role": 5}, "role"),
    ],
)
async def test_a_bad_profile_is_422_and_makes_nobody(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(USERS, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert (await listed(client, ws.auth))["total"] == 1


async def test_listing_searches_pages_and_counts(client: httpx.AsyncClient, ws: Workspace) -> None:
    await add(client, ws.auth, email="ada@x.io", first_name="Ada", last_name="Lovelace")
    await add(client, ws.auth, email="grace@navy.mil", name="Grace Hopper", username="amazing")
    await add(client, ws.auth, email="percent@x.io", name="100% sure")
    whole = await listed(client, ws.auth)
    assert [u["email"] for u in whole["data"]] == [
        "owner@example.com",
        "ada@x.io",
        "grace@navy.mil",
        "percent@x.io",
    ]
    assert whole["total"] == 4
    for q, expected in [
        ("LOVE", ["ada@x.io"]),
        ("navy", ["grace@navy.mil"]),
        ("amaz", ["grace@navy.mil"]),
        ("%", ["percent@x.io"]),
        ("_", []),
        ("ace", ["ada@x.io", "grace@navy.mil"]),
        ("  ", ["owner@example.com", "ada@x.io", "grace@navy.mil", "percent@x.io"]),
    ]:
        found = await listed(client, ws.auth, q=q)
        assert [u["email"] for u in found["data"]] == expected, q
        assert found["total"] == len(expected), q
    page = await listed(client, ws.auth, limit=2, offset=1)
    assert [u["number"] for u in page["data"]] == [2, 3]
    assert page["total"] == 4
    assert (await listed(client, ws.auth, offset=10))["data"] == []
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"offset": -1},
        {"q": "x" * 201},
        {"q": "\x00"},
        {"limit": "a"},
    ):
        answer = await client.get(USERS, params=params, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")


async def test_unknown_users_and_other_workspaces_users_are_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await add(client, other_ws.auth, email="theirs@x.io", name="Theirs")
    refs = (NOBODY, "99", "0", "nobody@x.io", "garbage", "a%00@x.io", theirs["id"], "theirs@x.io")
    for ref in refs:
        for method, url, body in [
            ("GET", f"{USERS}/{ref}", None),
            ("PATCH", f"{USERS}/{ref}", {"name": "Taken"}),
            ("DELETE", f"{USERS}/{ref}", None),
            ("POST", f"{USERS}/{ref}/permission-check", {"permissions": ["a:b:viewown"]}),
        ]:
            answer = await client.request(method, url, json=body, headers=ws.auth)
            assert_error(answer, 404, "not_found")
            assert "theirs@x.io" not in answer.text
    assert (
        ok(await client.get(f"{USERS}/{theirs['id']}", headers=other_ws.auth))["name"] == "Theirs"
    )
    assert "theirs@x.io" not in str(await listed(client, ws.auth, q="theirs"))


# --- changing -----------------------------------------------------------------------------


async def test_a_profile_changes_and_the_change_is_an_event(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    made = await add(
        client, ws.auth, email="ada@x.io", first_name="Ada", last_name="Byron", position="Poet"
    )
    url = f"{USERS}/{made['number']}"
    changed = ok(await client.patch(url, json={"last_name": "Lovelace"}, headers=ws.auth))
    assert (changed["name"], changed["last_name"]) == ("Ada Lovelace", "Lovelace")
    changed = ok(
        await client.patch(
            url,
            json={
                "position": None,
                "timezone": "Europe/London",
                "locale": "en_GB",
                "email": "Countess@X.io",
                "username": "Countess",
                "password": "analytical engine",
            },
            headers=ws.auth,
        )
    )
    assert changed == {
        **made,
        "name": "Ada Lovelace",
        "last_name": "Lovelace",
        "position": None,
        "timezone": "Europe/London",
        "locale": "en_GB",
        "email": "countess@x.io",
        "username": "countess",
        "updated_at": changed["updated_at"],
    }
    assert changed["updated_at"] > made["updated_at"]
    # An explicit name wins over the first and last names.
    named = ok(
        await client.patch(url, json={"first_name": "Augusta", "name": "Lady A"}, headers=ws.auth)
    )
    assert (named["name"], named["first_name"]) == ("Lady A", "Augusta")
    # The same values again change nothing and log nothing.
    before = len(await events_of(client, ws, "user.updated"))
    assert ok(await client.patch(url, json={"name": "Lady A"}, headers=ws.auth)) == named
    updates = await events_of(client, ws, "user.updated")
    assert len(updates) == before == 3
    second = updates[1]
    assert second["changes"]["email"] == ["ada@x.io", "countess@x.io"]
    assert second["changes"]["position"] == ["Poet", None]
    assert "password" not in second["changes"]
    assert second["data"]["password_changed"] is True
    assert "analytical" not in str(updates)


async def test_an_email_or_username_another_user_has_is_409(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await add(client, ws.auth, email="ada@x.io", name="Ada")
    await add(client, ws.auth, email="bob@x.io", name="Bob", username="bobby")
    url = f"{USERS}/{ada['id']}"
    for body in ({"email": "BOB@x.io"}, {"username": "Bobby"}, {"email": "owner@example.com"}):
        assert_error(await client.patch(url, json=body, headers=ws.auth), 409, "conflict")
    # Its own values are no conflict.
    same = {"email": "ada@x.io", "username": "ADA"}
    assert ok(await client.patch(url, json=same, headers=ws.auth)) == ada


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"username": "two words"}, "username"),
        ({"username": None}, "username"),
        ({"password": "short"}, "password"),
        ({"password": None}, "password"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"locale": "EN_us"}, "locale"),
        ({"first_name": 5}, "first_name"),
        ({"active": "maybe"}, "active"),
        ({"active": None}, "active"),
        ({"role": None}, "role"),
        ({"role": "emperor"}, "role"),
        ({"nickname": "Ada"}, "nickname"),
    ],
)
async def test_a_bad_change_is_422_and_changes_nothing(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    made = await add(client, ws.auth, email="ada@x.io", name="Ada")
    answer = await client.patch(f"{USERS}/{made['id']}", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert ok(await client.get(f"{USERS}/{made['id']}", headers=ws.auth)) == made


async def test_a_body_that_is_not_json_is_400(client: httpx.AsyncClient, ws: Workspace) -> None:
    headers = {**ws.auth, "Content-Type": "application/json"}
    for method, url in [
        ("PATCH", f"{USERS}/1"),
        ("POST", USERS),
        ("POST", f"{USERS}/1/permission-check"),
    ]:
        answer = await client.request(method, url, content=b"{nope", headers=headers)
        assert_error(answer, 400, "malformed_request")


async def test_a_deactivated_users_keys_are_refused_until_it_is_active_again(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent, key = await user_with_key(client, ws, "agent@x.io")
    assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    url = f"{USERS}/{agent['id']}"
    assert ok(await client.patch(url, json={"active": False}, headers=ws.auth))["active"] is False
    assert_error(await client.get(f"{API}/me", headers=key), 401, "unauthenticated")
    # An inactive user cannot be given records.
    answer = await client.post(
        CONTACTS, json={"fields": {"first_name": "X"}, "owner_id": agent["id"]}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    ok(await client.patch(url, json={"active": True}, headers=ws.auth))
    assert (await client.get(f"{API}/me", headers=key)).status_code == 200


async def test_a_new_role_applies_at_once_and_caps_the_users_keys(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    admin, admin_key = await user_with_key(client, ws, "admin@x.io", role="admin")
    narrow = ok(
        await client.post(f"{API}/api-keys", json={"role": "agent"}, headers=admin_key), 201
    )
    assert ok(await client.get(f"{API}/me", headers=admin_key))["role"] == "admin"
    changed = ok(
        await client.patch(f"{USERS}/{admin['id']}", json={"role": "agent"}, headers=ws.auth)
    )
    assert changed["role"] == "agent"
    # The admin key now does what an agent may, no more; the agent key is as it was.
    me = ok(await client.get(f"{API}/me", headers=admin_key))
    assert me["role"] == "agent"
    answer = await client.post(
        f"{API}/objects", json={"key": "thing", "label": "Thing"}, headers=admin_key
    )
    assert_error(answer, 403, "permission_denied")
    assert ok(await client.get(f"{API}/me", headers=bearer(narrow["api_key"])))["role"] == "agent"
    [event] = await events_of(client, ws, "user.updated")
    assert event["changes"] == {"role": ["admin", "agent"]}
    assert event["data"]["keys_given_the_role"] == 1
    # Given back: its keys stay agents' (a key is given a role when it is issued).
    ok(await client.patch(f"{USERS}/{admin['id']}", json={"role": "admin"}, headers=ws.auth))
    assert ok(await client.get(f"{API}/me", headers=admin_key))["role"] == "agent"


# --- who may -----------------------------------------------------------------------------


async def test_managing_users_needs_the_role_and_the_scopes(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    target = await add(client, ws.auth, email="target@x.io", name="Target")
    url = f"{USERS}/{target['id']}"
    _, agent = await user_with_key(client, ws, "agent@x.io")
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    lister = bearer(await ws.add_key(scopes=["user:list"]))
    writes = [
        ("POST", USERS, {"email": "n@x.io", "name": "N"}),
        ("PATCH", url, {"name": "Changed"}),
        ("DELETE", url, None),
    ]
    for headers in (agent, reader):
        for method, path, body in writes:
            answer = await client.request(method, path, json=body, headers=headers)
            assert_error(answer, 403, "permission_denied")
    # An agent and a reader may read users; a key with user:list only may list them.
    for headers in (agent, reader):
        assert ok(await client.get(url, headers=headers))["name"] == "Target"
        assert (await listed(client, headers))["total"] == 3
    assert (await listed(client, lister))["total"] == 3
    assert_error(await client.get(url, headers=lister), 403, "permission_denied")
    # The scopes of each write alone are enough for an owner's key.
    for scope, (method, path, body) in zip(
        ("user:create", "user:update", "user:delete"), writes, strict=True
    ):
        key = bearer(await ws.add_key(scopes=[scope]))
        answer = await client.request(method, path, json=body, headers=key)
        assert answer.status_code in (200, 201, 204), answer.text
    assert (await listed(client, ws.auth))["total"] == 3  # target deleted, n@x.io added


async def test_an_admin_cannot_manage_owners_or_make_them(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    _, admin = await user_with_key(client, ws, "admin@x.io", role="admin")
    other_admin = await add(client, ws.auth, email="admin2@x.io", name="A2", role="admin")
    agent = await add(client, ws.auth, email="agent@x.io", name="Agent")
    owner_url = f"{USERS}/1"
    for method, url, body in [
        ("PATCH", owner_url, {"email": "mine@x.io"}),
        ("PATCH", owner_url, {"password": "taken over now"}),
        ("PATCH", owner_url, {"active": False}),
        ("DELETE", owner_url, None),
        ("PATCH", f"{USERS}/{agent['id']}", {"role": "owner"}),
        ("POST", USERS, {"email": "boss@x.io", "name": "Boss", "role": "owner"}),
    ]:
        answer = await client.request(method, url, json=body, headers=admin)
        assert_error(answer, 403, "permission_denied")
    owner = ok(await client.get(owner_url, headers=ws.auth))
    assert (owner["email"], owner["active"]) == ("owner@example.com", True)
    assert (await client.get(f"{API}/me", headers=ws.auth)).status_code == 200
    # Admins and agents it may manage.
    patched = await client.patch(f"{USERS}/{agent['id']}", json={"role": "admin"}, headers=admin)
    assert ok(patched)["role"] == "admin"
    ok(await client.delete(f"{USERS}/{other_admin['id']}", headers=admin), 204)


async def test_the_last_active_owner_stays_and_nobody_deletes_themselves(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    me = f"{USERS}/1"
    for method, body in [
        ("PATCH", {"role": "admin"}),
        ("PATCH", {"active": False}),
        ("DELETE", None),
    ]:
        answer = await client.request(method, me, json=body, headers=ws.auth)
        assert_error(answer, 409, "conflict")
    second, second_key = await user_with_key(client, ws, "second@x.io", role="owner")
    # With two owners, one may step down, but not deactivate or delete itself.
    assert_error(await client.delete(me, headers=ws.auth), 409, "conflict")
    assert_error(await client.patch(me, json={"active": False}, headers=ws.auth), 409, "conflict")
    deactivated = await client.patch(
        f"{USERS}/{second['id']}", json={"active": False}, headers=ws.auth
    )
    assert ok(deactivated)["active"] is False
    # An inactive owner does not count: the first is the last active one again.
    assert_error(await client.patch(me, json={"role": "admin"}, headers=ws.auth), 409, "conflict")
    ok(await client.patch(f"{USERS}/{second['id']}", json={"active": True}, headers=ws.auth))
    ok(await client.patch(me, json={"role": "admin"}, headers=second_key))
    assert ok(await client.get(me, headers=ws.auth))["role"] == "admin"
    assert_error(
        await client.delete(f"{USERS}/{second['id']}", headers=ws.auth), 403, "permission_denied"
    )


# --- deleting -----------------------------------------------------------------------------


async def test_a_deleted_users_keys_are_401_at_once_and_its_records_keep_their_owner(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent, key = await user_with_key(client, ws, "agent@x.io")
    second_key = bearer(await ws.add_key(role="agent", email="helper@x.io"))
    record = await contact(client, key, "Kept")
    assert (await client.get(f"{API}/me", headers=key)).status_code == 200
    ok(await client.delete(f"{USERS}/{agent['id']}", headers=ws.auth), 204)
    for method, url in [("GET", f"{API}/me"), ("GET", CONTACTS), ("GET", f"{CONTACTS}/{record}")]:
        assert_error(await client.request(method, url, headers=key), 401, "unauthenticated")
    assert (await client.get(f"{API}/me", headers=second_key)).status_code == 200
    assert await owner_of(client, ws, record) == agent["id"]
    for ref in (agent["id"], str(agent["number"]), agent["email"]):
        assert_error(await client.get(f"{USERS}/{ref}", headers=ws.auth), 404, "not_found")
    assert agent["email"] not in str(await listed(client, ws.auth))
    assert_error(await client.delete(f"{USERS}/{agent['id']}", headers=ws.auth), 404, "not_found")
    # Its email and username stay taken; nobody can be given its records.
    answer = await client.post(USERS, json={"email": "agent@x.io", "name": "A"}, headers=ws.auth)
    assert_error(answer, 409, "conflict")
    answer = await client.post(
        CONTACTS, json={"fields": {"first_name": "X"}, "owner_id": agent["id"]}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    [event] = await events_of(client, ws, "user.deleted")
    assert event["data"] == {"user": agent["id"], "transfer_to": None, "records_transferred": 0}
    # The next user is numbered after it.
    assert (await add(client, ws.auth, email="next@x.io", name="N"))["number"] == 4


async def test_deleting_a_user_with_transfer_to_moves_all_its_records(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    leaving, leaving_key = await user_with_key(client, ws, "leaving@x.io")
    heir, heir_key = await user_with_key(client, ws, "heir@x.io")
    mine = [await contact(client, leaving_key, f"L{i}") for i in range(3)]
    deal = await client.post(
        f"{API}/objects/deal/records", json={"fields": {"name": "Deal"}}, headers=leaving_key
    )
    ok(deal, 201)
    ok(await client.post(f"{CONTACTS}/{mine[2]}/archive", headers=leaving_key))
    others = await contact(client, ws.auth, "Owner's")
    assert [r["id"] for r in ok(await client.get(CONTACTS, headers=heir_key))["data"]] == []
    answer = await client.delete(
        f"{USERS}/{leaving['id']}", params={"transfer_to": "HEIR@x.io"}, headers=ws.auth
    )
    ok(answer, 204)
    for record in mine:
        assert await owner_of(client, ws, record) == heir["id"]
    assert (
        await owner_of(client, ws, others)
        == ok(await client.get(f"{USERS}/1", headers=ws.auth))["id"]
    )
    seen = ok(await client.get(CONTACTS, params={"archived": "include"}, headers=heir_key))
    assert sorted(r["id"] for r in seen["data"]) == sorted(mine)
    assert len(ok(await client.get(f"{API}/objects/deal/records", headers=heir_key))["data"]) == 1
    [event] = await events_of(client, ws, "user.deleted")
    assert event["data"] == {
        "user": leaving["id"],
        "transfer_to": heir["id"],
        "records_transferred": 4,
    }


async def test_a_bad_transfer_to_is_422_and_deletes_nobody(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    leaving, leaving_key = await user_with_key(client, ws, "leaving@x.io")
    record = await contact(client, leaving_key, "Mine")
    idle = await add(client, ws.auth, email="idle@x.io", name="Idle")
    ok(await client.patch(f"{USERS}/{idle['id']}", json={"active": False}, headers=ws.auth))
    theirs = await add(client, other_ws.auth, email="theirs@x.io", name="Theirs")
    for target in (NOBODY, "nobody@x.io", "99", leaving["id"], idle["id"], theirs["id"], ""):
        answer = await client.delete(
            f"{USERS}/{leaving['id']}", params={"transfer_to": target}, headers=ws.auth
        )
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == ["transfer_to"]
    assert (await client.get(f"{API}/me", headers=leaving_key)).status_code == 200
    assert await owner_of(client, ws, record) == leaving["id"]


async def test_moving_records_needs_the_right_to_edit_them(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    role = {
        "key": "people",
        "name": "People manager",
        # An agent's permissions, and managing users: not editing others' records.
        "permissions": [
            "admin:users:manage",
            "*:*:viewown",
            "*:*:create",
            "*:*:editown",
            "*:*:deleteown",
            "admin:fields:manage",
        ],
    }
    ok(await client.post(f"{API}/roles", json=role, headers=ws.auth), 201)
    _, manager = await user_with_key(client, ws, "hr@x.io", role="people")
    leaving, leaving_key = await user_with_key(client, ws, "leaving@x.io")
    heir = await add(client, ws.auth, email="heir@x.io", name="Heir")
    record = await contact(client, leaving_key, "Mine")
    answer = await client.delete(
        f"{USERS}/{leaving['id']}", params={"transfer_to": heir["id"]}, headers=manager
    )
    assert_error(answer, 403, "permission_denied")
    assert await owner_of(client, ws, record) == leaving["id"]
    # Without a transfer, the records stay where they are, and it may delete the user.
    ok(await client.delete(f"{USERS}/{leaving['id']}", headers=manager), 204)
    assert await owner_of(client, ws, record) == leaving["id"]


# --- what a role grants -------------------------------------------------------------------


async def test_permission_check_answers_per_permission(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    agent, agent_key = await user_with_key(client, ws, "agent@x.io")
    asked = [
        "lead:leads:viewown",
        "lead:leads:viewother",
        "contact:contacts:full",
        "admin:users:manage",
        "admin:fields:manage",
        "deal:deals:create",
    ]
    url = f"{USERS}/{agent['number']}/permission-check"
    answer = ok(await client.post(url, json={"permissions": asked}, headers=ws.auth))
    assert answer == {
        "permissions": {
            "lead:leads:viewown": True,
            "lead:leads:viewother": False,
            "contact:contacts:full": False,
            "admin:users:manage": False,
            "admin:fields:manage": True,
            "deal:deals:create": True,
        }
    }
    owner = ok(
        await client.post(
            f"{USERS}/1/permission-check", json={"permissions": asked}, headers=ws.auth
        )
    )
    assert all(owner["permissions"].values())
    # A user may ask about itself, not about others, unless its role manages users.
    assert ok(await client.post(url, json={"permissions": asked}, headers=agent_key)) == answer
    answer = await client.post(
        f"{USERS}/1/permission-check", json={"permissions": asked}, headers=agent_key
    )
    assert_error(answer, 403, "permission_denied")
    assert ok(await client.post(url, json={"permissions": []}, headers=ws.auth)) == {
        "permissions": {}
    }
    no_scope = bearer(await ws.add_key(scopes=["user:list"]))
    answer = await client.post(url, json={"permissions": asked}, headers=no_scope)
    assert_error(answer, 403, "permission_denied")


@pytest.mark.parametrize(
    ("permissions", "fields"),
    [
        (
            ["lead:leads:viewown", "everything", "lead:leads:fly"],
            ["permissions[1]", "permissions[2]"],
        ),
        ([5], ["permissions[0]"]),
        (["Lead:leads:viewown"], ["permissions[0]"]),
        (["lead:leads:viewown "], ["permissions[0]"]),
        ("lead:leads:viewown", ["permissions"]),
        (None, ["permissions"]),
        (["a:b:viewown"] * 101, ["permissions"]),
    ],
)
async def test_a_malformed_permission_is_422_naming_it(
    client: httpx.AsyncClient, ws: Workspace, permissions: Any, fields: list[str]
) -> None:
    answer = await client.post(
        f"{USERS}/1/permission-check", json={"permissions": permissions}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == fields


async def test_a_permission_check_needs_a_permissions_list(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    for body in ({}, {"permissions": ["a:b:viewown"], "user": "x"}):
        answer = await client.post(f"{USERS}/1/permission-check", json=body, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
