"""Case replies and reply templates through the native API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from crm.core.limits import MAX_TEXT_BODY
from tests.conftest import Workspace, assert_error, bearer, detail_fields

API = "/api/v1"
CASES = f"{API}/objects/case/records"
CONTACTS = f"{API}/objects/contact/records"
TEMPLATES = f"{API}/reply-templates"
AGENT = "agent@acme.io"


# --- helpers ------------------------------------------------------------------------------


async def create(
    client: httpx.AsyncClient, auth: dict[str, str], fields: dict[str, Any], url: str = CASES
) -> dict[str, Any]:
    answer = await client.post(url, json={"fields": fields}, headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def replies_url(case: dict[str, Any] | str) -> str:
    return f"{CASES}/{case if isinstance(case, str) else case['id']}/replies"


async def reply(
    client: httpx.AsyncClient, auth: dict[str, str], case: dict[str, Any] | str, **body: Any
) -> dict[str, Any]:
    answer = await client.post(replies_url(case), json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def replies(
    client: httpx.AsyncClient, auth: dict[str, str], case: dict[str, Any] | str
) -> list[dict[str, Any]]:
    answer = await client.get(replies_url(case), headers=auth)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


async def template(
    client: httpx.AsyncClient, auth: dict[str, str], body: str, name: str = "Answer"
) -> dict[str, Any]:
    answer = await client.post(TEMPLATES, json={"name": name, "body": body}, headers=auth)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def me(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    answer = await client.get(f"{API}/me", headers=auth)
    return dict(answer.json()["user"])


async def timeline(
    client: httpx.AsyncClient, auth: dict[str, str], case: dict[str, Any], type_: str
) -> list[dict[str, Any]]:
    answer = await client.get(f"{CASES}/{case['id']}/timeline", headers=auth)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["data"] if e["type"] == type_]


@pytest.fixture
async def agent(ws: Workspace) -> dict[str, str]:
    """The key of an agent (may see, change and delete only their own records)."""
    return bearer(await ws.add_key(role="agent", email=AGENT))


# --- replies ------------------------------------------------------------------------------


async def test_reply_with_text(client: httpx.AsyncClient, ws: Workspace) -> None:
    case = await create(client, ws.auth, {"title": "Printer on fire"})
    assert await replies(client, ws.auth, case) == []
    made = await reply(client, ws.auth, case, text="We are on it.\nHold on.")
    owner = await me(client, ws.auth)
    assert uuid.UUID(made["id"])
    assert made["case_id"] == case["id"]
    assert made["body"] == "We are on it.\nHold on."
    assert made["author"] == {"id": owner["id"], "name": owner["name"], "email": owner["email"]}
    assert made["template_id"] is None
    assert await replies(client, ws.auth, case) == [made]
    (event,) = await timeline(client, ws.auth, case, "case.replied")
    assert event["record_id"] == case["id"]
    assert event["actor_id"] == owner["id"]
    assert event["data"] == {
        "record": case["id"],
        "object": "case",
        "reply": made["id"],
        "author": owner["id"],
        "template": None,
    }


async def test_replies_are_paged_oldest_first(client: httpx.AsyncClient, ws: Workspace) -> None:
    case = await create(client, ws.auth, {"title": "Slow"})
    made = [await reply(client, ws.auth, case, text=f"Reply {i}") for i in range(5)]
    assert await replies(client, ws.auth, case) == made
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(replies_url(case), params=params, headers=ws.auth)).json()
        assert set(page) == {"data", "next_cursor"}
        pages.append(page["data"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r for p in pages for r in p] == made


@pytest.mark.parametrize(
    "params", [{"cursor": "nope"}, {"cursor": "0190a1b2-0000-7000-8000-000000000000"}]
)
async def test_a_bad_reply_cursor_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any]
) -> None:
    case = await create(client, ws.auth, {"title": "Cursor"})
    answer = await client.get(replies_url(case), params=params, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["cursor"]


async def test_a_case_is_named_by_its_identifier(client: httpx.AsyncClient, ws: Workspace) -> None:
    first = await create(client, ws.auth, {"title": "First"})
    second = await create(client, ws.auth, {"title": "Second"})
    assert (first["fields"]["identifier"], second["fields"]["identifier"]) == (
        "REF-1001",
        "REF-1002",
    )
    made = await reply(client, ws.auth, "REF-1002", text="By identifier")
    assert made["case_id"] == second["id"]
    assert await replies(client, ws.auth, "REF-1002") == [made]
    assert await replies(client, ws.auth, second) == [made]
    assert await replies(client, ws.auth, "REF-1001") == []
    for ref in ("REF-1003", "ref-1002", "1002"):
        assert_error(await client.get(replies_url(ref), headers=ws.auth), 404, "not_found")
        answer = await client.post(replies_url(ref), json={"text": "x"}, headers=ws.auth)
        assert_error(answer, 404, "not_found")


async def test_a_deleted_case_takes_no_reply(client: httpx.AsyncClient, ws: Workspace) -> None:
    case = await create(client, ws.auth, {"title": "Gone"})
    assert (await client.delete(f"{CASES}/{case['id']}", headers=ws.auth)).status_code == 204
    for ref in (case["id"], case["fields"]["identifier"]):
        answer = await client.post(replies_url(ref), json={"text": "x"}, headers=ws.auth)
        assert_error(answer, 404, "not_found")
        assert_error(await client.get(replies_url(ref), headers=ws.auth), 404, "not_found")


async def test_a_record_of_another_object_has_no_replies(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada"}, CONTACTS)
    answer = await client.post(replies_url(ada), json={"text": "x"}, headers=ws.auth)
    assert_error(answer, 404, "not_found")
    assert_error(await client.get(replies_url(ada), headers=ws.auth), 404, "not_found")
    answer = await client.post(
        f"{CONTACTS}/{ada['id']}/replies", json={"text": "x"}, headers=ws.auth
    )
    assert_error(answer, 404, "not_found")


async def test_another_workspaces_case_is_404(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await create(client, other_ws.auth, {"title": "Theirs"})
    await reply(client, other_ws.auth, theirs, text="Private")
    for ref in (theirs["id"], theirs["fields"]["identifier"]):
        assert_error(await client.get(replies_url(ref), headers=ws.auth), 404, "not_found")
        answer = await client.post(replies_url(ref), json={"text": "x"}, headers=ws.auth)
        assert_error(answer, 404, "not_found")
    assert len(await replies(client, other_ws.auth, theirs)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": None, "template_id": None}, "text"),
        ({"text": "   \n "}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * (MAX_TEXT_BODY + 1)}, "text"),
        ({"text": 12}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": "Both", "template_id": 1}, "template_id"),
        ({"template_id": True}, "template_id"),
        ({"template_id": 1.5}, "template_id"),
        ({"template_id": {"id": 1}}, "template_id"),
        ({"text": "x", "cc": "boss"}, "cc"),
        ({"text": "nul \x00"}, "text"),
    ],
)
async def test_a_bad_reply_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    case = await create(client, ws.auth, {"title": "Bad input"})
    answer = await client.post(replies_url(case), json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    assert await replies(client, ws.auth, case) == []


@pytest.mark.parametrize("body", [b"{", b"", b'{"text": "x",}'])
async def test_a_malformed_reply_body_is_400(
    client: httpx.AsyncClient, ws: Workspace, body: bytes
) -> None:
    case = await create(client, ws.auth, {"title": "Malformed"})
    answer = await client.post(
        replies_url(case), content=body, headers={**ws.auth, "Content-Type": "application/json"}
    )
    assert_error(answer, 400, "malformed_request")


async def test_a_reply_of_the_longest_text_is_kept(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    case = await create(client, ws.auth, {"title": "Long"})
    text = "é" * MAX_TEXT_BODY
    assert (await reply(client, ws.auth, case, text=text))["body"] == text


async def test_an_agent_replies_on_cases_it_may_edit(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    mine = await create(client, agent, {"title": "Agent's"})
    await reply(client, agent, mine, text="Mine")
    theirs = await create(client, ws.auth, {"title": "Owner's"})
    for ref in (theirs["id"], theirs["fields"]["identifier"]):
        answer = await client.post(replies_url(ref), json={"text": "x"}, headers=agent)
        assert_error(answer, 404, "not_found")
        assert_error(await client.get(replies_url(ref), headers=agent), 404, "not_found")
    await reply(client, ws.auth, theirs, text="From the owner")
    shared = await client.post(
        f"{CASES}/{theirs['id']}/viewers", json={"users": [AGENT]}, headers=ws.auth
    )
    assert shared.status_code == 200, shared.text
    # A viewer reads the replies, but may not reply: that needs the right to edit.
    assert [r["body"] for r in await replies(client, agent, theirs)] == ["From the owner"]
    answer = await client.post(replies_url(theirs), json={"text": "x"}, headers=agent)
    assert_error(answer, 403, "permission_denied")
    assert len(await replies(client, ws.auth, theirs)) == 1


async def test_replies_need_the_case_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    case = await create(client, ws.auth, {"title": "Scoped"})
    await reply(client, ws.auth, case, text="First")
    reader = bearer(await ws.add_key(scopes=["case:read"]))
    other = bearer(await ws.add_key(scopes=["contact:read", "contact:update"]))
    assert len(await replies(client, reader, case)) == 1
    answer = await client.post(replies_url(case), json={"text": "x"}, headers=reader)
    assert_error(answer, 403, "permission_denied")
    for method in ("GET", "POST"):
        answer = await client.request(method, replies_url(case), json={"text": "x"}, headers=other)
        assert_error(answer, 403, "permission_denied")
    writer = bearer(await ws.add_key(scopes=["case:read", "case:update"]))
    await reply(client, writer, case, text="Second")
    answer = await client.post(replies_url(case), json={"text": "x"}, headers={})
    assert_error(answer, 401, "unauthenticated")


# --- replies from templates ---------------------------------------------------------------


async def test_a_reply_from_a_template_fills_in_its_merge_fields(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    ada = await create(client, ws.auth, {"first_name": "Ada", "email": "ada@example.com"}, CONTACTS)
    acme = await create(client, ws.auth, {"name": "Acme"}, f"{API}/objects/company/records")
    case = await create(
        client,
        ws.auth,
        {"title": "Wrong bill", "priority": "High", "contact": ada["id"], "company": acme["id"]},
    )
    body = (
        "Hello {{contact.first_name}} <{{ contact.email }}>,\n"
        "{{case.identifier}} ({{case.title}}, {{case.priority}}) of {{case.company}}"
        " is {{case.public_status}}.{{contact.phone}}\n-- {{user.name}}, {{user.email}}"
    )
    made = await template(client, ws.auth, body)
    owner = await me(client, ws.auth)
    expected = (
        "Hello Ada <ada@example.com>,\nREF-1001 (Wrong bill, High) of Acme is Open.\n"
        f"-- {owner['name']}, {owner['email']}"
    )
    by_number = await reply(client, ws.auth, case, template_id=made["number"])
    assert by_number["body"] == expected
    assert by_number["template_id"] == made["id"]
    by_id = await reply(client, ws.auth, case, template_id=made["id"])
    assert by_id["body"] == expected
    by_text_number = await reply(client, ws.auth, case, template_id=str(made["number"]))
    assert by_text_number["body"] == expected
    assert [r["template_id"] for r in await replies(client, ws.auth, case)] == [made["id"]] * 3
    events = await timeline(client, ws.auth, case, "case.replied")
    assert {e["data"]["template"] for e in events} == {made["id"]}


async def test_merge_fields_are_empty_without_a_value_or_a_contact(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    case = await create(client, ws.auth, {"title": "Alone"})
    made = await template(
        client, ws.auth, "Dear {{contact.first_name}}: {{case.description}}|{{case.contact}}."
    )
    assert (await reply(client, ws.auth, case, template_id=made["id"]))["body"] == "Dear : |."


async def test_merged_values_are_plain_text(client: httpx.AsyncClient, ws: Workspace) -> None:
    case = await create(
        client, ws.auth, {"title": "{{user.email}} <b>&amp;</b>", "description": "{{case.title}}"}
    )
    made = await template(client, ws.auth, "[{{case.title}}] [{{case.description}}]")
    answer = await reply(client, ws.auth, case, template_id=made["number"])
    assert answer["body"] == "[{{user.email}} <b>&amp;</b>] [{{case.title}}]"


async def test_a_contact_the_agent_may_not_see_merges_as_empty(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    hidden = await create(client, ws.auth, {"first_name": "Hidden"}, CONTACTS)
    case = await create(client, agent, {"title": "Agent's", "contact": hidden["id"]})
    made = await template(client, agent, "Hi {{contact.first_name}}!")
    assert (await reply(client, agent, case, template_id=made["id"]))["body"] == "Hi !"
    assert (await reply(client, ws.auth, case, template_id=made["id"]))["body"] == "Hi Hidden!"


async def test_a_template_that_merges_to_nothing_is_422(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    case = await create(client, ws.auth, {"title": "Empty"})
    made = await template(client, ws.auth, "{{case.description}}")
    answer = await client.post(replies_url(case), json={"template_id": 1}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["template_id"]
    assert made["number"] == 1


async def test_another_workspaces_template_is_not_found(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    theirs = await template(client, other_ws.auth, "Theirs")
    assert theirs["number"] == 1
    case = await create(client, ws.auth, {"title": "Mine"})
    for ref in (theirs["id"], theirs["number"], 2, "0190a1b2-0000-7000-8000-000000000000"):
        answer = await client.post(replies_url(case), json={"template_id": ref}, headers=ws.auth)
        assert_error(answer, 422, "validation_failed")
        assert detail_fields(answer) == ["template_id"]
    for method in ("GET", "PATCH", "DELETE"):
        answer = await client.request(
            method, f"{TEMPLATES}/{theirs['id']}", json={"name": "Mine"}, headers=ws.auth
        )
        assert_error(answer, 404, "not_found")
    assert (await client.get(TEMPLATES, headers=ws.auth)).json()["data"] == []
    assert await replies(client, ws.auth, case) == []


async def test_a_deleted_templates_replies_keep_their_text(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    case = await create(client, ws.auth, {"title": "Kept"})
    made = await template(client, ws.auth, "Thanks for {{case.identifier}}")
    answer = await reply(client, ws.auth, case, template_id=made["id"])
    assert (await client.delete(f"{TEMPLATES}/{made['id']}", headers=ws.auth)).status_code == 204
    (kept,) = await replies(client, ws.auth, case)
    assert kept == {**answer, "template_id": None}
    answer = await client.post(replies_url(case), json={"template_id": 1}, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")


async def test_replying_from_a_template_needs_its_read_scope(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    case = await create(client, ws.auth, {"title": "Scopes"})
    made = await template(client, ws.auth, "Hello")
    writer = bearer(await ws.add_key(scopes=["case:read", "case:update"]))
    answer = await client.post(replies_url(case), json={"template_id": 1}, headers=writer)
    assert_error(answer, 403, "permission_denied")
    both = bearer(await ws.add_key(scopes=["case:read", "case:update", "reply_template:read"]))
    assert (await reply(client, both, case, template_id=made["id"]))["body"] == "Hello"


# --- templates ----------------------------------------------------------------------------


async def test_create_list_get_change_and_delete_templates(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    owner = await me(client, ws.auth)
    first = await template(client, ws.auth, "Hello {{contact.first_name}}", name="  Greeting ")
    second = await template(client, ws.auth, "Bye {{ user.name }}", name="Farewell")
    assert uuid.UUID(first["id"])
    assert (first["number"], first["name"], first["body"]) == (
        1,
        "Greeting",
        "Hello {{contact.first_name}}",
    )
    assert first["created_by"] == owner["id"]
    assert first["created_at"] == first["updated_at"]
    assert second["number"] == 2
    listed = await client.get(TEMPLATES, headers=ws.auth)
    assert listed.json() == {"data": [first, second], "next_cursor": None}
    for ref in (first["id"], "1", first["id"].upper()):
        answer = await client.get(f"{TEMPLATES}/{ref}", headers=ws.auth)
        assert answer.status_code == 200, answer.text
        assert answer.json() == first

    answer = await client.patch(
        f"{TEMPLATES}/1", json={"body": "Hi {{contact.last_name}}"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert (changed["name"], changed["body"]) == ("Greeting", "Hi {{contact.last_name}}")
    assert (changed["id"], changed["number"], changed["created_at"]) == (
        first["id"],
        1,
        first["created_at"],
    )
    assert changed["updated_at"] > first["updated_at"]
    answer = await client.patch(f"{TEMPLATES}/1", json={"name": "Hi"}, headers=ws.auth)
    assert (answer.json()["name"], answer.json()["body"]) == ("Hi", "Hi {{contact.last_name}}")

    assert (await client.delete(f"{TEMPLATES}/1", headers=ws.auth)).status_code == 204
    assert_error(await client.get(f"{TEMPLATES}/1", headers=ws.auth), 404, "not_found")
    assert_error(await client.delete(f"{TEMPLATES}/1", headers=ws.auth), 404, "not_found")
    assert (await client.get(TEMPLATES, headers=ws.auth)).json()["data"] == [second]
    third = await template(client, ws.auth, "Third")
    assert third["number"] == 3

    feed = (await client.get(f"{API}/events", headers=ws.auth)).json()["data"]
    logged = [(e["type"], e["data"]["number"]) for e in feed if e["type"].startswith("reply_")]
    assert logged == [
        ("reply_template.created", 1),
        ("reply_template.created", 2),
        ("reply_template.updated", 1),
        ("reply_template.updated", 1),
        ("reply_template.deleted", 1),
        ("reply_template.created", 3),
    ]


async def test_templates_are_paged_by_number(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = [await template(client, ws.auth, f"Body {i}", name=f"T{i}") for i in range(5)]
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(TEMPLATES, params=params, headers=ws.auth)).json()
        seen += page["data"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == made
    assert [t["number"] for t in seen] == [1, 2, 3, 4, 5]


async def test_template_numbers_are_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace
) -> None:
    assert (await template(client, ws.auth, "A"))["number"] == 1
    assert (await template(client, other_ws.auth, "B"))["number"] == 1
    assert (await template(client, ws.auth, "C"))["number"] == 2


async def test_an_unknown_merge_field_is_refused_by_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    body = "Hi {{contact.nickname}}, {{case.title}} {{ deal.name }} {{user.phone}} {{}} {{case}}"
    answer = await client.post(TEMPLATES, json={"name": "Bad", "body": body}, headers=ws.auth)
    error = assert_error(answer, 422, "validation_failed")
    (detail,) = error["details"]
    assert detail["field"] == "body"
    assert detail["message"] == (
        "unknown merge fields: {{}}, {{case}}, {{contact.nickname}}, {{deal.name}}, {{user.phone}}"
    )
    made = await template(client, ws.auth, "Fine {{case.title}}")
    answer = await client.patch(
        f"{TEMPLATES}/{made['id']}", json={"body": "{{case.nope}}"}, headers=ws.auth
    )
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == ["body"]
    assert (await client.get(f"{TEMPLATES}/{made['id']}", headers=ws.auth)).json() == made


async def test_custom_fields_are_merge_fields(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.post(
        f"{API}/objects/case/fields",
        json={"key": "region", "label": "Region", "type": "text"},
        headers=ws.auth,
    )
    assert answer.status_code == 201, answer.text
    made = await template(client, ws.auth, "Region: {{case.region}}")
    case = await create(client, ws.auth, {"title": "Custom", "region": "EMEA"})
    assert (await reply(client, ws.auth, case, template_id=made["id"]))["body"] == "Region: EMEA"
    # A merge field whose field was deleted since is left empty.
    answer = await client.delete(f"{API}/objects/case/fields/region", headers=ws.auth)
    assert answer.status_code == 204, answer.text
    assert (await reply(client, ws.auth, case, template_id=made["id"]))["body"] == "Region: "


@pytest.mark.parametrize("body", [{"body": "x"}, {"name": "x"}])
async def test_a_template_needs_a_name_and_a_body(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]
) -> None:
    answer = await client.post(TEMPLATES, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == [{"name", "body"}.difference(body).pop()]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": " ", "body": "x"}, "name"),
        ({"name": "x" * 201, "body": "x"}, "name"),
        ({"name": "x", "body": " "}, "body"),
        ({"name": "x", "body": "x" * (MAX_TEXT_BODY + 1)}, "body"),
        ({"name": 5, "body": "x"}, "name"),
        ({"name": "x", "body": "x", "number": 7}, "number"),
    ],
)
async def test_a_bad_template_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any], field: str
) -> None:
    answer = await client.post(TEMPLATES, json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert field in detail_fields(answer)
    made = await template(client, ws.auth, "Fine")
    answer = await client.patch(f"{TEMPLATES}/{made['id']}", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert (await client.get(TEMPLATES, headers=ws.auth)).json()["data"] == [made]


@pytest.mark.parametrize("body", [{"name": None}, {"body": None}])
async def test_a_template_change_to_null_is_422(
    client: httpx.AsyncClient, ws: Workspace, body: dict[str, Any]
) -> None:
    made = await template(client, ws.auth, "Fine")
    answer = await client.patch(f"{TEMPLATES}/{made['id']}", json=body, headers=ws.auth)
    assert_error(answer, 422, "validation_failed")
    assert detail_fields(answer) == list(body)


@pytest.mark.parametrize("ref", ["0", "-1", "nope", "9223372036854775808", "99"])
async def test_an_unknown_template_is_404(
    client: httpx.AsyncClient, ws: Workspace, ref: str
) -> None:
    await template(client, ws.auth, "Fine")
    assert_error(await client.get(f"{TEMPLATES}/{ref}", headers=ws.auth), 404, "not_found")


async def test_agents_change_only_their_own_templates(
    client: httpx.AsyncClient, ws: Workspace, agent: dict[str, str]
) -> None:
    owners = await template(client, ws.auth, "Owner's")
    agents = await template(client, agent, "Agent's")
    listed = (await client.get(TEMPLATES, headers=agent)).json()["data"]
    assert listed == [owners, agents]
    for method in ("PATCH", "DELETE"):
        answer = await client.request(
            method, f"{TEMPLATES}/{owners['id']}", json={"name": "Mine"}, headers=agent
        )
        assert_error(answer, 403, "permission_denied")
    answer = await client.patch(f"{TEMPLATES}/{agents['id']}", json={"name": "M"}, headers=agent)
    assert answer.status_code == 200, answer.text
    answer = await client.patch(
        f"{TEMPLATES}/{agents['id']}", json={"name": "By owner"}, headers=ws.auth
    )
    assert answer.status_code == 200, answer.text
    assert (await client.delete(f"{TEMPLATES}/{agents['id']}", headers=agent)).status_code == 204
    assert (await client.get(TEMPLATES, headers=ws.auth)).json()["data"] == [owners]


async def test_the_template_scopes(client: httpx.AsyncClient, ws: Workspace) -> None:
    made = await template(client, ws.auth, "Fine")
    lister = bearer(await ws.add_key(scopes=["reply_template:list"]))
    reader = bearer(await ws.add_key(scopes=["read:crm"]))
    creator = bearer(await ws.add_key(scopes=["reply_template:create"]))
    assert (await client.get(TEMPLATES, headers=lister)).json()["data"] == [made]
    assert_error(await client.get(f"{TEMPLATES}/1", headers=lister), 403, "permission_denied")
    assert (await client.get(f"{TEMPLATES}/1", headers=reader)).json() == made
    for key in (lister, reader):
        answer = await client.post(TEMPLATES, json={"name": "x", "body": "x"}, headers=key)
        assert_error(answer, 403, "permission_denied")
        answer = await client.patch(f"{TEMPLATES}/1", json={"name": "x"}, headers=key)
        assert_error(answer, 403, "permission_denied")
        assert_error(await client.delete(f"{TEMPLATES}/1", headers=key), 403, "permission_denied")
    assert_error(await client.get(TEMPLATES, headers=creator), 403, "permission_denied")
    assert (await template(client, creator, "By creator"))["number"] == 2
    updater = bearer(await ws.add_key(scopes=["reply_template:update"]))
    deleter = bearer(await ws.add_key(scopes=["reply_template:delete"]))
    answer = await client.patch(f"{TEMPLATES}/2", json={"name": "Renamed"}, headers=updater)
    assert answer.json()["name"] == "Renamed"
    assert_error(await client.delete(f"{TEMPLATES}/2", headers=updater), 403, "permission_denied")
    answer = await client.patch(f"{TEMPLATES}/2", json={"name": "x"}, headers=deleter)
    assert_error(answer, 403, "permission_denied")
    assert (await client.delete(f"{TEMPLATES}/2", headers=deleter)).status_code == 204
    assert_error(await client.get(TEMPLATES), 401, "unauthenticated")
