"""Listing contacts: pages, search, filters, order, and the count badge."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.api.flownally.conftest import (
    API,
    FN,
    NOBODY,
    count,
    create_contact,
    create_tag,
    fl_error,
    get_contact,
    listed_ids,
    ok,
    tag,
    uuid_of,
)
from tests.conftest import Workspace


@pytest.fixture
async def crowd(client: httpx.AsyncClient, ws: Workspace, store_fields: None) -> dict[str, str]:
    """Four contacts, oldest first, and two tags, by name.

    - Anna Kowalska: WhatsApp +48123456789, lead, Krakow, tagged VIP
    - Bob Smith: email bob@example.com, customer, Krakow, tagged Gold
    - Carol Jones: phone field +48221234567 (no identity), an email identity
      carol@work.example, customer, Warsaw, tagged VIP and Gold
    - Dave Brown: customer, archived
    """
    h = ws.auth
    anna = await create_contact(
        client,
        h,
        {
            "name": "Anna Kowalska",
            "phone": "+48123456789",
            "customFields": {"lifecycleStage": "lead", "preferredStore": "Krakow"},
        },
    )
    bob = await create_contact(
        client,
        h,
        {
            "name": "Bob Smith",
            "customFields": {
                "email": "bob@example.com",
                "lifecycleStage": "customer",
                "preferredStore": "Krakow",
            },
        },
    )
    carol = await create_contact(
        client,
        h,
        {
            "name": "Carol Jones",
            "customFields": {
                "phone": "+48221234567",
                "lifecycleStage": "customer",
                "preferredStore": "Warsaw",
            },
        },
    )
    ok(
        await client.post(
            f"{API}/objects/contact/records/{uuid_of(carol['id'])}/identities",
            json={"channel": "email", "address": "carol@work.example"},
            headers=h,
        ),
        201,
    )
    dave = await create_contact(
        client, h, {"name": "Dave Brown", "customFields": {"lifecycleStage": "customer"}}
    )
    ok(await client.post(f"{FN}/contacts/{dave['id']}/archive", headers=h), 204)
    vip = await create_tag(client, h, "VIP")
    gold = await create_tag(client, h, "Gold")
    for contact, tag_id in [(anna, vip), (bob, gold), (carol, vip), (carol, gold)]:
        await tag(client, h, contact["id"], tag_id)
    return {
        "anna": anna["id"],
        "bob": bob["id"],
        "carol": carol["id"],
        "dave": dave["id"],
        "VIP": vip,
        "Gold": gold,
    }


async def names_of(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str], params: Any
) -> list[str]:
    """The listed contacts as the crowd's names, in the order listed."""
    by_id = {v: k for k, v in crowd.items()}
    return [by_id[i] for i in await listed_ids(client, ws.auth, params)]


# --- the page -------------------------------------------------------------------------


async def test_a_listed_contact_is_shown_as_when_read(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    page = ok(await client.get(f"{FN}/contacts", headers=ws.auth))
    assert set(page) == {"contacts", "nextPageToken"}
    assert page["nextPageToken"] is None
    for shown in page["contacts"]:
        assert await get_contact(client, ws.auth, shown["id"]) == shown


async def test_the_default_order_is_newest_first(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    assert await names_of(client, ws, crowd, None) == ["carol", "bob", "anna"]


async def test_an_empty_workspace_lists_nothing(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FN}/contacts", headers=ws.auth)
    assert ok(answer) == {"contacts": [], "nextPageToken": None}


# --- pages ----------------------------------------------------------------------------


async def walk(client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any]) -> list[list[str]]:
    """Every page of a listing, following nextPageToken; the ids of each page."""
    pages: list[list[str]] = []
    token = None
    while True:
        query = {**params, **({"pageToken": token} if token else {})}
        page = ok(await client.get(f"{FN}/contacts", params=query, headers=ws.auth))
        pages.append([c["id"] for c in page["contacts"]])
        token = page["nextPageToken"]
        if token is None:
            return pages
        assert isinstance(token, str)
        assert token
        assert len(pages) < 20


@pytest.mark.parametrize(
    ("params", "sizes"),
    [
        ({"pageSize": 3}, [3, 3, 1]),
        ({"pageSize": 1}, [1] * 7),
        ({"pageSize": 7}, [7]),
        ({"pageSize": 2, "orderBy": "name", "orderDirection": "asc"}, [2, 2, 2, 1]),
        ({"pageSize": 3, "orderBy": "updatedAt", "orderDirection": "asc"}, [3, 3, 1]),
    ],
)
async def test_page_tokens_walk_every_contact_once(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, Any], sizes: list[int]
) -> None:
    made = [
        (await create_contact(client, ws.auth, {"name": f"{first} Person"}))["id"]
        for first in ["Gina", "Adam", "Eve", "Cleo", "Fred", "Bea", "Dan"]
    ]
    pages = await walk(client, ws, params)
    assert [len(p) for p in pages] == sizes
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == 7
    # The pages together are the listing in one page.
    assert seen == await listed_ids(client, ws.auth, {**params, "pageSize": 50})
    assert set(seen) == set(made)


async def test_a_page_token_keeps_its_filters(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    params = {"pageSize": 1, "customFields": '{"lifecycleStage": "customer"}'}
    pages = await walk(client, ws, params)
    assert pages == [[crowd["carol"]], [crowd["bob"]]]


async def test_the_last_full_page_has_no_next_token(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    page = ok(await client.get(f"{FN}/contacts", params={"pageSize": 3}, headers=ws.auth))
    assert len(page["contacts"]) == 3
    assert page["nextPageToken"] is None


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJzIjoiLWNyZWF0ZWRfYXQiLCJ2IjpbXX0", "%%%", f"con_{NOBODY}", "e30"],
)
async def test_a_bad_page_token_is_422_not_500(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str], token: str
) -> None:
    answer = await client.get(f"{FN}/contacts", params={"pageToken": token}, headers=ws.auth)
    fl_error(answer, 422, "Validation failed")


async def test_a_page_token_of_another_order_is_422(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    page = ok(await client.get(f"{FN}/contacts", params={"pageSize": 1}, headers=ws.auth))
    answer = await client.get(
        f"{FN}/contacts",
        params={"pageSize": 1, "pageToken": page["nextPageToken"], "orderBy": "name"},
        headers=ws.auth,
    )
    fl_error(answer, 422, "Validation failed")


@pytest.mark.parametrize("size", ["0", "501", "-1", "ten", ""])
async def test_a_bad_page_size_is_422(client: httpx.AsyncClient, ws: Workspace, size: str) -> None:
    answer = await client.get(f"{FN}/contacts", params={"pageSize": size}, headers=ws.auth)
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == ["pageSize"]


# --- search ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("kowal", ["anna"]),
        ("KOWALSKA", ["anna"]),
        ("anna k", ["anna"]),
        ("Smith", ["bob"]),
        ("BOB@Example", ["bob"]),  # the email custom field
        ("4822123", ["carol"]),  # the phone custom field
        ("+48221", ["carol"]),
        ("48123456", ["anna"]),  # the WhatsApp identity's phone
        ("+48123456789", ["anna"]),
        ("carol@WORK", ["carol"]),  # an email identity
        ("vip", ["carol", "anna"]),  # a tag name
        ("GOL", ["carol", "bob"]),
        ("brown", []),  # archived
        ("nobody", []),
        ("%", []),
        ("_", []),
    ],
)
async def test_search_matches_names_fields_identities_and_tags(
    client: httpx.AsyncClient,
    ws: Workspace,
    crowd: dict[str, str],
    search: str,
    expected: list[str],
) -> None:
    assert await names_of(client, ws, crowd, {"search": search}) == expected


async def test_search_reaches_archived_contacts_when_asked(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    assert await names_of(client, ws, crowd, {"search": "Brown", "archived": "true"}) == ["dave"]


async def test_an_empty_search_matches_everything(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    assert await names_of(client, ws, crowd, {"search": ""}) == ["carol", "bob", "anna"]


async def test_search_follows_a_rename_and_a_new_tag(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    ok(
        await client.patch(
            f"{FN}/contacts/{crowd['bob']}", json={"name": "Robert Zielinski"}, headers=ws.auth
        )
    )
    assert await names_of(client, ws, crowd, {"search": "smith"}) == []
    assert await names_of(client, ws, crowd, {"search": "zielin"}) == ["bob"]
    late = await create_tag(client, ws.auth, "Late Payer")
    await tag(client, ws.auth, crowd["anna"], late)
    assert await names_of(client, ws, crowd, {"search": "late pay"}) == ["anna"]


# --- customFields ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"customFields": '{"lifecycleStage": "customer"}'}, ["carol", "bob"]),
        (
            {"customFields": '{"lifecycleStage": "customer", "preferredStore": "Krakow"}'},
            ["bob"],
        ),
        (
            {
                "customFields[lifecycleStage]": "customer",
                "customFields[preferredStore]": "Warsaw",
            },
            ["carol"],
        ),
        ({"customFields[preferredStore]": "Krakow"}, ["bob", "anna"]),
        (
            {
                "customFields": '{"lifecycleStage": "customer"}',
                "customFields[email]": "bob@example.com",
            },
            ["bob"],
        ),
        ({"customFields[cf_preferred_store]": "Krakow"}, ["bob", "anna"]),
        ({"customFields": '{"lifecycleStage": "churned"}'}, []),
        ({"customFields": "{}"}, ["carol", "bob", "anna"]),
        ({"customFields": '{"lifecycleStage": "customer"}', "archived": "true"}, ["dave"]),
    ],
)
async def test_custom_fields_filter_all_of_its_values(
    client: httpx.AsyncClient,
    ws: Workspace,
    crowd: dict[str, str],
    params: dict[str, str],
    expected: list[str],
) -> None:
    assert await names_of(client, ws, crowd, params) == expected


@pytest.mark.parametrize(
    ("params", "details"),
    [
        (
            {"customFields": '{"nope": "x"}'},
            [{"field": "customFields.nope", "code": "unknown", "message": "no such custom field"}],
        ),
        (
            {"customFields[nope]": "x"},
            [{"field": "customFields.nope", "code": "unknown", "message": "no such custom field"}],
        ),
        (
            {"customFields": "lifecycleStage=lead"},
            [{"field": "customFields", "code": "invalid", "message": "must be a JSON object"}],
        ),
        (
            {"customFields": '["lead"]'},
            [{"field": "customFields", "code": "invalid", "message": "must be a JSON object"}],
        ),
    ],
)
async def test_a_bad_custom_fields_filter_is_422(
    client: httpx.AsyncClient,
    ws: Workspace,
    store_fields: None,
    params: dict[str, str],
    details: list[dict[str, str]],
) -> None:
    answer = await client.get(f"{FN}/contacts", params=params, headers=ws.auth)
    fl_error(answer, 422, "Validation failed", details)


@pytest.mark.parametrize("given", ['["lead"]', "null", '"lead"'])
async def test_a_non_object_custom_fields_filter_with_a_pair_is_422(
    client: httpx.AsyncClient, ws: Workspace, store_fields: None, given: str
) -> None:
    answer = await client.get(
        f"{FN}/contacts",
        params={"customFields": given, "customFields[lifecycleStage]": "lead"},
        headers=ws.auth,
    )
    fl_error(answer, 422, "Validation failed")


# --- tagIds and channels --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([("tagIds", "VIP")], ["carol", "anna"]),
        ([("tagIds", "Gold")], ["carol", "bob"]),
        ([("tagIds", "VIP"), ("tagIds", "Gold")], ["carol", "bob", "anna"]),
        ([("tagIds", "VIP,Gold")], ["carol", "bob", "anna"]),
        ([("tagIds[]", "Gold")], ["carol", "bob"]),
    ],
)
async def test_tag_ids_match_any_of_the_tags(
    client: httpx.AsyncClient,
    ws: Workspace,
    crowd: dict[str, str],
    tags: list[tuple[str, str]],
    expected: list[str],
) -> None:
    params = [(k, ",".join(crowd[n] for n in v.split(","))) for k, v in tags]
    assert await names_of(client, ws, crowd, params) == expected


async def test_tag_ids_and_other_filters_all_apply(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    params = {"tagIds": crowd["VIP"], "customFields[lifecycleStage]": "customer"}
    assert await names_of(client, ws, crowd, params) == ["carol"]
    params = {"tagIds": crowd["Gold"], "search": "smith"}
    assert await names_of(client, ws, crowd, params) == ["bob"]


async def test_a_malformed_tag_id_in_the_filter_is_404(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    answer = await client.get(f"{FN}/contacts", params={"tagIds": "vip"}, headers=ws.auth)
    fl_error(answer, 404, "Tag not found", [])


async def test_an_unknown_tag_id_in_the_filter_is_404(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    answer = await client.get(f"{FN}/contacts", params={"tagIds": f"tag_{NOBODY}"}, headers=ws.auth)
    fl_error(answer, 404, "Tag not found", [])


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ([("channels", "whatsapp")], ["anna"]),
        ([("channels", "email")], ["carol"]),
        ([("channels", "whatsapp,email")], ["carol", "anna"]),
        ([("channels", "whatsapp"), ("channels", "email")], ["carol", "anna"]),
        ([("channels", "sms")], []),
    ],
)
async def test_channels_match_any_of_the_channels(
    client: httpx.AsyncClient,
    ws: Workspace,
    crowd: dict[str, str],
    channels: list[tuple[str, str]],
    expected: list[str],
) -> None:
    assert await names_of(client, ws, crowd, channels) == expected


async def test_an_unknown_channel_is_422(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    answer = await client.get(f"{FN}/contacts", params={"channels": "pigeon"}, headers=ws.auth)
    fl_error(answer, 422, "Validation failed")


# --- archived -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archived", "expected"),
    [
        (None, ["carol", "bob", "anna"]),
        ("false", ["carol", "bob", "anna"]),
        ("true", ["dave"]),
    ],
)
async def test_archived_picks_the_bucket(
    client: httpx.AsyncClient,
    ws: Workspace,
    crowd: dict[str, str],
    archived: str | None,
    expected: list[str],
) -> None:
    params = {} if archived is None else {"archived": archived}
    assert await names_of(client, ws, crowd, params) == expected


async def test_a_bad_archived_value_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FN}/contacts", params={"archived": "maybe"}, headers=ws.auth)
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == ["archived"]


# --- createdAfter / createdBefore -----------------------------------------------------


def shifted(stamp: str, hours: int) -> str:
    """The same instant written in another UTC offset."""
    return datetime.fromisoformat(stamp).astimezone(timezone(timedelta(hours=hours))).isoformat()


async def test_created_after_is_inclusive_and_created_before_exclusive(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    a, b, c = [await create_contact(client, ws.auth, {"name": n}) for n in ("A", "B", "C")]

    async def between(**params: str) -> list[str]:
        ids = await listed_ids(client, ws.auth, params)
        return [{a["id"]: "a", b["id"]: "b", c["id"]: "c"}[i] for i in ids]

    assert await between(createdAfter=b["createdAt"]) == ["c", "b"]
    assert await between(createdBefore=b["createdAt"]) == ["a"]
    assert await between(createdAfter=a["createdAt"], createdBefore=c["createdAt"]) == ["b", "a"]
    assert await between(createdAfter=b["createdAt"], createdBefore=b["createdAt"]) == []
    assert await between(createdAfter=c["createdAt"]) == ["c"]
    assert await between(createdBefore=a["createdAt"]) == []
    # The same instants in another offset bound the same way.
    assert await between(createdAfter=shifted(b["createdAt"], 2)) == ["c", "b"]
    assert await between(createdBefore=shifted(b["createdAt"], -5)) == ["a"]
    assert await between(createdAfter="2000-01-01T00:00:00Z") == ["c", "b", "a"]
    assert await between(createdBefore="2000-01-01T00:00:00Z") == []


@pytest.mark.parametrize("param", ["createdAfter", "createdBefore"])
@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "1714468800"])
async def test_a_bad_created_bound_is_422(
    client: httpx.AsyncClient, ws: Workspace, param: str, value: str
) -> None:
    answer = await client.get(f"{FN}/contacts", params={param: value}, headers=ws.auth)
    fl_error(answer, 422, "Validation failed")


# --- order ----------------------------------------------------------------------------


async def test_order_by_created_at(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    asc = {"orderBy": "createdAt", "orderDirection": "asc"}
    assert await names_of(client, ws, crowd, asc) == ["anna", "bob", "carol"]
    desc = {"orderBy": "createdAt", "orderDirection": "desc"}
    assert await names_of(client, ws, crowd, desc) == ["carol", "bob", "anna"]
    assert await names_of(client, ws, crowd, {"orderBy": "createdAt"}) == ["carol", "bob", "anna"]


async def test_order_by_updated_at(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    ok(
        await client.patch(
            f"{FN}/contacts/{crowd['anna']}", json={"name": "Anna K"}, headers=ws.auth
        )
    )
    desc = {"orderBy": "updatedAt", "orderDirection": "desc"}
    assert await names_of(client, ws, crowd, desc) == ["anna", "carol", "bob"]
    asc = {"orderBy": "updatedAt", "orderDirection": "asc"}
    assert await names_of(client, ws, crowd, asc) == ["bob", "carol", "anna"]


async def test_order_by_name(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    asc = {"orderBy": "name", "orderDirection": "asc"}
    assert await names_of(client, ws, crowd, asc) == ["anna", "bob", "carol"]
    desc = {"orderBy": "name", "orderDirection": "desc"}
    assert await names_of(client, ws, crowd, desc) == ["carol", "bob", "anna"]


async def test_order_by_name_sorts_by_the_whole_name(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    zed = await create_contact(client, ws.auth, {"name": "Anna Zed"})
    adams = await create_contact(client, ws.auth, {"name": "Anna Adams"})
    params = {"orderBy": "name", "orderDirection": "asc"}
    assert await listed_ids(client, ws.auth, params) == [adams["id"], zed["id"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"orderBy": "lastName"}, "orderBy"),
        ({"orderBy": "created_at"}, "orderBy"),
        ({"orderBy": "name", "orderDirection": "up"}, "orderDirection"),
        ({"orderDirection": "DESC"}, "orderDirection"),
    ],
)
async def test_a_bad_order_is_422(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, str], field: str
) -> None:
    answer = await client.get(f"{FN}/contacts", params=params, headers=ws.auth)
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == [field]


# --- what a 422 names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageToken": "garbage"}, "pageToken"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        ({"createdBefore": "yesterday"}, "createdBefore"),
        ({"search": "x" * 201}, "search"),
    ],
)
async def test_a_422_names_the_list_parameter(
    client: httpx.AsyncClient, ws: Workspace, params: dict[str, str], field: str
) -> None:
    answer = await client.get(f"{FN}/contacts", params=params, headers=ws.auth)
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == [field]


# --- count ----------------------------------------------------------------------------


async def test_count_is_of_the_bucket_alone(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    assert await count(client, ws.auth) == 3
    assert await count(client, ws.auth, {"archived": "false"}) == 3
    assert await count(client, ws.auth, {"archived": "true"}) == 1
    # No list filter narrows it.
    for params in [
        {"search": "nobody"},
        {"tagIds": crowd["VIP"]},
        {"customFields": '{"lifecycleStage": "lead"}'},
        {"channels": "sms"},
        {"createdAfter": "2999-01-01T00:00:00Z"},
    ]:
        assert await count(client, ws.auth, params) == 3
        assert await count(client, ws.auth, {**params, "archived": "true"}) == 1


async def test_count_follows_archive_and_delete(
    client: httpx.AsyncClient, ws: Workspace, crowd: dict[str, str]
) -> None:
    ok(await client.post(f"{FN}/contacts/{crowd['anna']}/archive", headers=ws.auth), 204)
    assert (await count(client, ws.auth), await count(client, ws.auth, {"archived": "true"})) == (
        2,
        2,
    )
    ok(await client.delete(f"{FN}/contacts/{crowd['dave']}", headers=ws.auth), 204)
    ok(await client.delete(f"{FN}/contacts/{crowd['bob']}", headers=ws.auth), 204)
    assert (await count(client, ws.auth), await count(client, ws.auth, {"archived": "true"})) == (
        1,
        1,
    )


async def test_count_is_per_workspace(
    client: httpx.AsyncClient, ws: Workspace, other_ws: Workspace, crowd: dict[str, str]
) -> None:
    assert await count(client, other_ws.auth) == 0
    assert await count(client, other_ws.auth, {"archived": "true"}) == 0
    assert await listed_ids(client, other_ws.auth) == []


async def test_a_bad_archived_count_is_422(client: httpx.AsyncClient, ws: Workspace) -> None:
    answer = await client.get(f"{FN}/contacts/count", params={"archived": "both"}, headers=ws.auth)
    error = fl_error(answer, 422, "Validation failed")
    assert [d["field"] for d in error["details"]] == ["archived"]
