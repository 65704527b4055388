"""Users made and deleted at once: numbers and usernames stay unique, and a workspace keeps
an active owner."""

from __future__ import annotations

import httpx

from tests.api.concurrency.conftest import API, at_once, statuses
from tests.conftest import Workspace, bearer

USERS = f"{API}/users"
MADE = 20


async def test_users_made_at_once_get_distinct_numbers_and_usernames(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    answers = await at_once(
        MADE,
        lambda i: client.post(USERS, json={"email": f"sam@{i}.io", "name": "Sam"}, headers=auth),
    )
    assert statuses(answers) == {201: MADE}
    made = [a.json() for a in answers]
    assert sorted(u["number"] for u in made) == list(range(2, MADE + 2))
    assert sorted(u["username"] for u in made) == sorted(
        ["sam"] + [f"sam-{n}" for n in range(2, MADE + 1)]
    )
    listed = (await client.get(USERS, headers=auth)).json()
    assert listed["total"] == MADE + 1


async def test_two_owners_deleting_each_other_at_once_leave_one(
    client: httpx.AsyncClient, ws: Workspace, auth: dict[str, str]
) -> None:
    second = bearer(await ws.add_key(role="owner", email="second@x.io"))
    assert (await client.get(f"{API}/me", headers=second)).status_code == 200
    first_id = (await client.get(f"{API}/me", headers=auth)).json()["user"]["id"]
    second_id = (await client.get(f"{API}/me", headers=second)).json()["user"]["id"]
    calls = [(auth, second_id), (second, first_id)]
    answers = await at_once(
        2, lambda i: client.delete(f"{USERS}/{calls[i][1]}", headers=calls[i][0])
    )
    assert statuses(answers)[204] == 1, [a.text for a in answers]
    assert set(statuses(answers)) <= {204, 401, 409}
    winner = calls[[a.status_code for a in answers].index(204)][0]
    listed = (await client.get(USERS, headers=winner)).json()["data"]
    assert [u["active"] for u in listed if u["role"] == "owner"] == [True]
