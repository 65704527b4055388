"""The number of live records of an object type, as the triggers of ``record_counts`` keep
it (see ``docs/adr/0011-record-counts.md``): a read of a few rows, not a count of records."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal, Reach
from crm.core.metadata.model import ObjectMeta
from crm.core.records.model import RecordQuery
from crm.db.schema import record_counts


def kept(principal: Principal, obj: ObjectMeta, query: RecordQuery) -> bool:
    """Whether the kept count answers ``query``'s total: every live, unarchived record of
    ``obj`` (no filter, search or list), and the caller may see all of them."""
    return (
        query.filter is None
        and query.q in (None, "")
        and query.member_of is None
        and query.archived == "exclude"
        and principal.reach(obj.key, "view") == Reach.ALL
    )


async def live_records(conn: AsyncConnection, workspace_id: int, obj: ObjectMeta) -> int:
    """How many live, unarchived records of ``obj`` the workspace has: the sum of its slots."""
    total = sa.select(sa.func.coalesce(sa.func.sum(record_counts.c.live), 0)).where(
        record_counts.c.workspace_id == workspace_id,
        record_counts.c.object_type_id == obj.id,
    )
    return int((await conn.execute(total)).scalar_one())
