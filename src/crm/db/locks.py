"""Locks on values that writers check before they write (PostgreSQL advisory locks).

A writer that checks "does any record hold this email?" and then writes must not interleave
with another doing the same, or both see nothing and both write. SQLite serialises writers
(every writing transaction begins IMMEDIATE), so there this module does nothing. On
PostgreSQL a writer holds, until its transaction ends, a lock per value it is about to check,
under a shared lock on the value's group (a field, a channel). A writer with more than
:data:`FEW` values of one group (a bulk intake) takes the group's lock exclusively instead,
which keeps the number of locks one transaction holds small whatever its size.

Groups are ranked (:data:`ADDRESSES`, :data:`FIELD_VALUES`, :data:`LIST_NAMES`). A
transaction takes its locks in one order: by rank, then group locks before value locks, then
by key, and all of them before any row lock; one that holds values in several calls makes
them in rank order.
Two writers then never wait on each other in a cycle.

Before all of these comes the workspace's metadata lock: shared by writers that use the
metadata (:func:`pin_metadata`), exclusive for a change of it (:func:`hold_metadata`),
always the first lock taken.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.db.writers import GroupLost

__all__ = [
    "ADDRESSES",
    "FEW",
    "FIELD_VALUES",
    "LIST_NAMES",
    "hold_counter",
    "hold_metadata",
    "hold_values",
    "is_busy",
    "is_transient",
    "lock_key",
    "pin_metadata",
]

#: SQLSTATEs of a transaction the server aborted only because of others: a deadlock victim
#: and a serialisation failure. Run again, it can succeed.
TRANSIENT = frozenset({"40P01", "40001"})

#: Values of one group a writer locks one by one; past this it locks the whole group.
FEW = 64
#: The rank of identity addresses' groups, ``(ADDRESSES, workspace_id, channel)``.
ADDRESSES = 0
#: The rank of field values' groups, ``(FIELD_VALUES, field_id)``.
FIELD_VALUES = 1
#: The rank of static lists' names, ``(LIST_NAMES, workspace_id, object_type_id)``.
LIST_NAMES = 2

_LOCK = sa.text(
    "SELECT CASE WHEN exclusive THEN pg_advisory_xact_lock(k) "
    "ELSE pg_advisory_xact_lock_shared(k) END "
    "FROM unnest(:keys, :modes) AS t(k, exclusive)"
).bindparams(
    sa.bindparam("keys", type_=ARRAY(sa.BigInteger)),
    sa.bindparam("modes", type_=ARRAY(sa.Boolean)),
)

_EXCLUSIVE = sa.text("SELECT pg_advisory_xact_lock(:k)")


def lock_key(*parts: Any) -> int:
    """A signed 64-bit lock key for ``parts`` (a collision only makes two writers queue)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def hold_values(
    conn: AsyncConnection, groups: Mapping[tuple[Any, ...], Iterable[Any]]
) -> None:
    """Lock, until the transaction ends, each group's values that a writer will check.

    ``groups`` maps a group, a tuple led by its rank (``(FIELD_VALUES, 42)``), to the values
    of that group the writer is about to look up and write; ``None`` values are skipped.
    """
    if conn.dialect.name != "postgresql":
        return
    order: dict[int, tuple[int, int, bool]] = {}  # key -> (rank, level, exclusive)
    for group, values in groups.items():
        distinct = {v for v in values if v is not None}
        if not distinct:
            continue
        rank, whole = group[0], lock_key(*group)
        if len(distinct) > FEW:
            order[whole] = (rank, 0, True)
            continue
        order.setdefault(whole, (rank, 0, False))
        order.update((lock_key(*group, v), (rank, 1, True)) for v in distinct)
    if not order:
        return
    keys = sorted(order, key=lambda k: (*order[k][:2], k))
    await conn.execute(_LOCK, {"keys": keys, "modes": [order[k][2] for k in keys]})


async def pin_metadata(conn: AsyncConnection, workspace_id: int) -> int:
    """Lock the workspace's metadata shared until the transaction ends, for a writer that
    relies on it, and read its version under the lock: one round trip (the function of
    migration 0010). Take it before any other lock."""
    found = await conn.execute(
        sa.text("SELECT crm_pin_metadata(:workspace, :k)"),
        {"workspace": workspace_id, "k": lock_key("metadata", workspace_id)},
    )
    return int(found.scalar_one())


async def hold_metadata(conn: AsyncConnection, workspace_id: int) -> None:
    """Lock the workspace's metadata exclusively until the transaction ends, for a change
    to it; writers that pinned it finish first, and later ones wait. Take it first."""
    await conn.execute(_EXCLUSIVE, {"k": lock_key("metadata", workspace_id)})


async def hold_counter(conn: AsyncConnection, *name: Any) -> None:
    """Lock the counter ``name`` exclusively until the transaction ends, for a writer that
    reads the largest number given so far and writes the next (PostgreSQL; SQLite's writers
    take turns anyway). Take it last, as the sequences."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_EXCLUSIVE, {"k": lock_key("counter", *name)})


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` aborted a transaction that can simply run again (see TRANSIENT), or
    lost a SQLite writer's work with its group's transaction."""
    if isinstance(exc, GroupLost):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in TRANSIENT


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite giving up on its write lock after the busy timeout: the
    database is busy with another writer, not broken."""
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ == "OperationalError" and "database is locked" in str(orig)
