"""Which index a listing reads its rows through, chosen per query by a bounded count.

A condition with an index of its own (on SQLite: ``q`` through the trigram table, a range
through the field's index, ``contains``/``starts``/``ends`` through the values trigram
table) can be read two ways: through that index, then sorted, which
costs as many rows as match; or by walking the listing's order and testing each row,
which stops after a page when many rows match but reads the whole workspace when few do.
SQLite cannot tell which from statistics (it keeps none of a range's size or of a
fragment's frequency), so the core counts the condition's rows through its index, up to
:data:`BOUND`: a count that reaches it walks, a smaller one goes through the index. Both
plans return the same rows in the same order. PostgreSQL plans ``q`` and ranges itself
(see ``docs/adr/0009-search-plans.md`` for why a count does not help it there), but not
substring filters: its trigram index on the records' JSON text has no statistics of how
often a field holds a fragment. Those are counted among the newest :data:`SAMPLE` rows
instead of through the index, which would read all of a common fragment's matches first.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.metadata.model import ObjectMeta
from crm.core.records import query as rq
from crm.core.records import repository as repo
from crm.db.engine import OFFLOAD
from crm.db.schema import records

#: Rows a condition may match and still be read through its index. At this many matches a
#: walk newest first reads about ``50 * workspace size / BOUND`` rows for a page of 50.
BOUND = 1500
#: The workspace size at which :data:`BOUND` was measured.
SCALE = 1_000_000
#: Rows newest first in which a sampled probe counts its matches: reaching
#: ``BOUND / SCALE`` of them walks.
SAMPLE = 5000


async def bounded_count(
    conn: AsyncConnection,
    where: sa.ColumnElement[bool],
    bound: int,
    source: sa.FromClause = records,
) -> int:
    """How many rows of ``source`` match ``where``, counting no further than ``bound``."""
    matched = sa.select(sa.literal(1)).select_from(source).where(where).limit(bound).subquery()
    found = await conn.execute(
        sa.select(sa.func.count()).select_from(matched), execution_options=OFFLOAD
    )
    return int(found.scalar_one())


async def sampled_count(
    conn: AsyncConnection, scope: sa.ColumnElement[bool], where: sa.ColumnElement[bool], rows: int
) -> int:
    """How many of the newest ``rows`` records in ``scope`` match ``where``, a condition
    written over ``records.data`` alone (it is tested on the sample, named ``records``)."""
    newest = (
        sa.select(records.c.data)
        .where(scope)
        .order_by(records.c.id.desc())
        .limit(rows)
        .subquery("records")
    )
    found = await conn.execute(
        sa.select(sa.func.count()).select_from(newest).where(where), execution_options=OFFLOAD
    )
    return int(found.scalar_one())


async def _common(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, probe: rq.Probe
) -> bool:
    """Whether ``probe`` matches too many rows to be read through its index."""
    scope = repo.scoped(principal, obj)
    if probe.sampled:
        bound = math.ceil(SAMPLE * BOUND / SCALE)
        return await sampled_count(conn, scope, probe.through_index, SAMPLE) >= bound
    found = await bounded_count(conn, sa.and_(scope, probe.through_index), BOUND, probe.source)
    return found >= BOUND


async def choose(
    conn: AsyncConnection,
    principal: Principal,
    obj: ObjectMeta,
    keys: list[rq.SortKey],
    probes: list[rq.Probe],
) -> tuple[rq.Plan, str | None]:
    """The plan for a listing in the order of ``keys`` whose conditions offer ``probes``,
    and with :attr:`~rq.Plan.INDEX` the probe read through its index (None: each through
    its own). The probes are counted in turn: the first under the bound is read through
    its index; if none is, the listing walks."""
    if not probes:
        return rq.Plan.PLANNER, None
    if not rq.walkable(keys):
        return rq.Plan.INDEX, None
    for probe in probes:
        if probe.ordered and keys[0].target.name == probe.name:
            return rq.Plan.INDEX, probe.name
        if not await _common(conn, principal, obj, probe):
            return rq.Plan.INDEX, probe.name
    return rq.Plan.WALK, None
