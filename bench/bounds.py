"""The worst requests the input bounds allow, timed on a fresh database.

``python -m bench.bounds [--db-url URL] [--items N]`` sends bulk intakes of ``N`` leads
(the batch bound by default) through the Leadflip face: bare, then reaching every
per-request bound at once (tag links, new tags, notes, identities), then at the per-record
tag bound. Each request holds the write lock for about as long as it takes, since a
writing request takes it at its start (SQLite) and keeps it until its commit.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from crm.api.app import create_app
from crm.core.intake.service import MAX_BATCH
from crm.core.limits import (
    MAX_ATTACHED_PER_REQUEST,
    MAX_IDENTITIES_PER_ITEM,
    MAX_NEW_TAGS,
    MAX_NOTES_PER_ITEM,
    MAX_TAGS_PER_ITEM,
)
from crm.core.workspaces.service import create_workspace
from crm.db.engine import make_engine, transaction
from crm.db.migrate import upgrade
from crm.settings import Settings


def _lead(i: int, extra: dict[str, Any]) -> dict[str, Any]:
    return {"first_name": f"Lead {i}", "email": f"lead{i}@bounds.test", **extra}


def batches(items: int) -> dict[str, list[dict[str, Any]]]:
    """The worst cases: ``items`` bare leads; ``items`` leads that together reach every
    per-request bound at once (tags, new tags, notes, identities); leads at the per-record
    tag bound up to the request's."""
    tags = [f"tag {t}" for t in range(MAX_NEW_TAGS)]
    per_record = min(MAX_TAGS_PER_ITEM, MAX_NOTES_PER_ITEM, MAX_IDENTITIES_PER_ITEM)
    share = max(1, min(MAX_ATTACHED_PER_REQUEST // items, per_record))
    attached = min(items * share, MAX_ATTACHED_PER_REQUEST)
    heavy = MAX_ATTACHED_PER_REQUEST // MAX_TAGS_PER_ITEM
    return {
        "nothing else": [_lead(i, {}) for i in range(items)],
        f"{attached} tag links ({MAX_NEW_TAGS} new), notes, identities": [
            _lead(
                i + items,
                {
                    "tags": [tags[(i + k) % MAX_NEW_TAGS] for k in range(share)],
                    "notes": [f"note {n}" for n in range(share)],
                    "telegram": [f"l{i}.{n}" for n in range(share)],
                }
                if i < MAX_ATTACHED_PER_REQUEST // share
                else {},
            )
            for i in range(items)
        ],
        f"{heavy} leads with {MAX_TAGS_PER_ITEM} tags each": [
            _lead(
                i + 2 * items,
                {"tags": [tags[(i + k) % MAX_NEW_TAGS] for k in range(MAX_TAGS_PER_ITEM)]},
            )
            for i in range(heavy)
        ],
    }


async def measure(url: str, items: int) -> None:
    engine = make_engine(url)
    async with transaction(engine, write=True) as conn:
        made = await create_workspace(conn, name="Bounds")
    app = create_app(Settings(url), engine=engine)
    headers = {"Authorization": f"Bearer {made['api_key']}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as c:
        for name, batch in batches(items).items():
            body = {"entity": "lead", "batch": batch}
            started = time.perf_counter()
            answer = await c.post("/leadflip/api/leads/bulk", json=body, headers=headers)
            took = time.perf_counter() - started
            done = answer.json()
            print(
                f"{items} leads, {name}: {answer.status_code} in {took:.1f} s "
                f"({len(done.get('created', []))} created, {len(done.get('failed', []))} failed)"
            )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bounds", description=__doc__)
    parser.add_argument("--db-url", help="default: a new SQLite file")
    parser.add_argument("--items", type=int, default=MAX_BATCH)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db_url or f"sqlite:///{Path(folder) / 'bounds.db'}"
        upgrade(url)
        asyncio.run(measure(url, args.items))


if __name__ == "__main__":
    main()
