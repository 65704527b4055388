"""Identities: the addresses a record is reached at on each messaging channel.

An identity is a channel and an address (a phone number for WhatsApp and SMS, an email
address, or the channel's own user id), with the channel's metadata. An address belongs
to at most one record per workspace and channel, so an incoming message finds its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from crm.core.events.service import append_many, event_row, record_event
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata.fieldtypes import FieldContext, FieldValueError, field_type
from crm.core.paging import after, check_limit
from crm.core.records.model import Record
from crm.core.records.rules import context, visible
from crm.core.records.service import create_record, get_record, locate_record, require_reach
from crm.core.storable import unstorable
from crm.db.direct import Prepared, Reader, param
from crm.db.locks import ADDRESSES, hold_values
from crm.db.rows import chunks, insert_new, insert_new_many
from crm.db.schema import identities, records

__all__ = [
    "CHANNELS",
    "Identity",
    "add_identity",
    "address_groups",
    "attach_identities",
    "create_with_identity",
    "find_by_identity",
    "holders",
    "identities_of",
    "list_identities",
    "normalise_address",
    "remove_identity",
]

#: Identities on a page of a record's identities, unless the caller asks for fewer.
MAX_IDENTITY_PAGE = 500

#: The channels and the metadata key that holds each one's address.
CHANNELS = {
    "whatsapp": "phoneNumber",
    "sms": "phoneNumber",
    "email": "email",
    "messenger": "userId",
    "instagram": "userId",
    "telegram": "userId",
    "webchat": "visitorId",
}
MAX_ADDRESS = 320


@dataclass(frozen=True)
class Identity:
    id: int
    uuid: Any
    record_id: int
    channel: str
    address: str
    metadata: dict[str, Any]
    created_at: datetime


def _identity(row: Any) -> Identity:
    return Identity(
        row.id, row.uuid, row.record_id, row.channel, row.address, row.metadata, row.created_at
    )


def normalise_address(channel: Any, address: Any) -> str:
    """The stored form of an address on ``channel`` (E.164 phones, lower-cased emails)."""
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise ValidationFailed.of([FieldError("channel", "must be one of " + ", ".join(CHANNELS))])
    kind = {"phoneNumber": "phone", "email": "email"}.get(CHANNELS[channel])
    try:
        if kind is not None:
            return str(field_type(kind).parse(address, FieldContext("address", {})))
    except FieldValueError as exc:
        raise ValidationFailed.of([FieldError("address", str(exc))]) from None
    if (
        not isinstance(address, str)
        or not 0 < len(address.strip()) <= MAX_ADDRESS
        or unstorable(address) is not None
    ):
        raise ValidationFailed.of(
            [FieldError("address", f"must be 1 to {MAX_ADDRESS} characters of text")]
        )
    return address.strip()


def address_groups(workspace_id: int, pairs: list[tuple[str, str]]) -> dict[Any, list[str]]:
    """The ``(channel, address)`` pairs a writer will look up and give, by lock group (see
    :mod:`crm.db.locks`): one writer at a time finds and takes an address."""
    groups: dict[Any, list[str]] = {}
    for channel, address in pairs:
        groups.setdefault((ADDRESSES, workspace_id, channel), []).append(address)
    return groups


def _check(channel: Any, address: Any, metadata: Any) -> tuple[str, dict[str, Any]]:
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise ValidationFailed.of([FieldError("metadata", "must be an object")])
    unfit = unstorable(metadata, "metadata")
    if unfit is not None:
        where, _, message = unfit.partition(": ")
        raise ValidationFailed.of([FieldError(where, message)])
    key = CHANNELS.get(channel) if isinstance(channel, str) else None
    if address is None and key is not None:
        address = metadata.get(key)
    stored = normalise_address(channel, address)
    assert key is not None
    return stored, {**metadata, key: stored}


class IdentityPage(NamedTuple):
    """One page of a record's identities, and the id of its last when more follow."""

    identities: list[Identity]
    next_cursor: str | None


async def list_identities(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    limit: int = MAX_IDENTITY_PAGE,
    cursor: str | None = None,
) -> IdentityPage:
    """A page of the identities of a record the caller can see, oldest first; ``cursor``
    is the last identity of the page before (422 if it is none of this record's)."""
    record = await get_record(conn, principal, object_key, ref)
    check_limit(limit, MAX_IDENTITY_PAGE)
    mine = (
        identities.c.workspace_id == principal.workspace_id,
        identities.c.record_id == record.id,
    )
    select = sa.select(identities).where(*mine)
    if cursor is not None:
        last = await after(conn, sa.select(identities.c.id).where(*mine), identities.c.uuid, cursor)
        select = select.where(identities.c.id > last.id)
    rows = (await conn.execute(select.order_by(identities.c.id).limit(limit + 1))).all()
    page = [_identity(r) for r in rows[:limit]]
    return IdentityPage(page, str(page[-1].uuid) if len(rows) > limit else None)


async def identities_of(
    conn: AsyncConnection, principal: Principal, shown: list[Record]
) -> dict[int, list[Identity]]:
    """The identities of each of some records the caller was shown, oldest first (they are
    part of the record: whoever sees it sees them)."""
    out: dict[int, list[Identity]] = {r.id: [] for r in shown}
    for chunk in chunks(list(out)):
        rows = await conn.execute(
            sa.select(identities)
            .where(
                identities.c.workspace_id == principal.workspace_id,
                identities.c.record_id.in_(chunk),
            )
            .order_by(identities.c.id)
        )
        for row in rows:
            out[row.record_id].append(_identity(row))
    return out


_OF_RECORD = Prepared(
    sa.select(identities)
    .where(
        identities.c.workspace_id == param(identities.c.workspace_id),
        identities.c.record_id == param(identities.c.record_id),
    )
    .order_by(identities.c.id)
)


async def identities_of_record(read: Reader, principal: Principal, shown: Record) -> list[Identity]:
    """The identities of one record the caller was shown, oldest first, through a point
    read's reader (:mod:`crm.core.records.point`)."""
    rows = await read.rows(_OF_RECORD, workspace_id=principal.workspace_id, record_id=shown.id)
    return [_identity(row) for row in rows]


async def _holder(
    conn: AsyncConnection, workspace_id: int, channel: str, address: str
) -> Identity | None:
    row = (
        await conn.execute(
            sa.select(identities).where(
                identities.c.workspace_id == workspace_id,
                identities.c.channel == channel,
                identities.c.address == address,
            )
        )
    ).first()
    return _identity(row) if row else None


def _taken(channel: str, address: str) -> Conflict:
    return Conflict(
        f"Another record has the {channel} identity {address}",
        [FieldError("address", "belongs to another record", "duplicate").as_dict()],
    )


async def holders(
    conn: AsyncConnection, workspace_id: int, pairs: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """The live record (id, object type id) holding each ``(channel, address)`` that one holds.

    Addresses still held by deleted records are let go on the way.
    """
    out: dict[tuple[str, str], tuple[int, int]] = {}
    stale: list[int] = []
    by_channel: dict[str, list[str]] = {}
    for channel, address in dict.fromkeys(pairs):
        by_channel.setdefault(channel, []).append(address)
    for channel, addresses in by_channel.items():
        for part in chunks(addresses):
            rows = await conn.execute(
                sa.select(
                    identities.c.id,
                    identities.c.address,
                    identities.c.record_id,
                    records.c.object_type_id,
                    records.c.deleted_at,
                )
                .join(records, records.c.id == identities.c.record_id)
                .where(
                    identities.c.workspace_id == workspace_id,
                    identities.c.channel == channel,
                    identities.c.address.in_(part),
                )
            )
            for row in rows:
                if row.deleted_at is not None:
                    stale.append(row.id)
                else:
                    out[(channel, row.address)] = (row.record_id, row.object_type_id)
    for ids in chunks(stale):
        await conn.execute(sa.delete(identities).where(identities.c.id.in_(ids)))
    return out


async def attach_identities(
    conn: AsyncConnection, principal: Principal, wanted: list[tuple[Record, str, str]]
) -> None:
    """Give records just written checked ``(record, channel, address)`` identities in one
    batch; an address another record took meanwhile is left with it."""
    now = utcnow()
    rows = [
        {
            "workspace_id": principal.workspace_id,
            "uuid": uuid7(),
            "record_id": record.id,
            "channel": channel,
            "address": address,
            "metadata": {CHANNELS[channel]: address},
            "created_at": now,
        }
        for record, channel, address in wanted
    ]
    by_id = {record.id: record for record, _, _ in wanted}
    added = await insert_new_many(
        conn,
        identities,
        rows,
        identities.c.uuid,
        identities.c.record_id,
        identities.c.channel,
        identities.c.address,
    )
    await append_many(
        conn,
        [
            event_row(
                principal,
                "record.identity_added",
                at=now,
                object_type_id=by_id[row.record_id].object.id,
                record_id=row.record_id,
                payload={
                    "record": str(by_id[row.record_id].uuid),
                    "object": by_id[row.record_id].object.key,
                    "identity": str(row.uuid),
                    "channel": row.channel,
                    "address": row.address,
                },
            )
            for row in added
        ],
    )


async def _editable(
    conn: AsyncConnection, principal: Principal, object_key: str, ref: str | int
) -> Record:
    _, obj = await context(conn, principal, object_key, "update")
    record = await visible(conn, principal, obj, ref, lock=True)
    require_reach(principal, record, "edit")
    return record


async def _live(conn: AsyncConnection, record_id: int) -> bool:
    found = await conn.execute(
        sa.select(records.c.id).where(records.c.id == record_id, records.c.deleted_at.is_(None))
    )
    return found.first() is not None


async def add_identity(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    channel: Any,
    address: Any = None,
    metadata: Any = None,
) -> Identity:
    """Give a record an identity; the address may come from the channel's metadata key.

    Adding an identity the record has already answers it unchanged; one that another record
    holds is a conflict. Answers 404, then 403, then 422.
    """
    try:
        checked, problem = _check(channel, address, metadata), None
    except ValidationFailed as exc:
        checked, problem = None, exc
    if checked is not None:
        await hold_values(conn, address_groups(principal.workspace_id, [(channel, checked[0])]))
    record = await _editable(conn, principal, object_key, ref)
    if checked is None:
        assert problem is not None
        raise problem
    return await _attach(conn, principal, record, channel, *checked)


async def create_with_identity(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    *,
    fields: Any,
    channel: Any,
    address: Any,
) -> tuple[Record, Identity]:
    """Create a record reached at ``address`` on ``channel``; a conflict when another record
    has that address, and nothing is created."""
    stored, metadata = _check(channel, address, None)
    await hold_values(conn, address_groups(principal.workspace_id, [(channel, stored)]))
    record = await create_record(conn, principal, object_key, fields=fields)
    return record, await _attach(conn, principal, record, channel, stored, metadata)


async def _attach(
    conn: AsyncConnection,
    principal: Principal,
    record: Record,
    channel: str,
    stored: str,
    metadata: dict[str, Any],
) -> Identity:
    """Give ``record`` a checked identity whose address the caller holds (see
    :func:`address_groups`)."""
    held = await _holder(conn, principal.workspace_id, channel, stored)
    if held is not None and held.record_id == record.id:
        return held
    if held is not None and not await _live(conn, held.record_id):
        await conn.execute(sa.delete(identities).where(identities.c.id == held.id))
        held = None  # a deleted record lets go of its addresses
    if held is not None:
        raise _taken(channel, stored)
    return await insert_identity(conn, principal, record, channel, stored, metadata)


async def insert_identity(
    conn: AsyncConnection,
    principal: Principal,
    record: Record,
    channel: str,
    address: str,
    metadata: dict[str, Any],
) -> Identity:
    """Store a checked identity no record holds yet, with its event."""
    now, identity_uuid = utcnow(), uuid7()
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": identity_uuid,
        "record_id": record.id,
        "channel": channel,
        "address": address,
        "metadata": metadata,
        "created_at": now,
    }
    if not await insert_new(conn, identities, row):  # a concurrent request was first
        held = await _holder(conn, principal.workspace_id, channel, address)
        if held is not None and held.record_id == record.id:
            return held
        raise _taken(channel, address)
    identity_id = (
        await conn.execute(sa.select(identities.c.id).where(identities.c.uuid == identity_uuid))
    ).scalar_one()
    await record_event(
        conn,
        principal,
        record,
        "record.identity_added",
        identity=str(identity_uuid),
        channel=channel,
        address=address,
    )
    return Identity(identity_id, identity_uuid, record.id, channel, address, metadata, now)


async def remove_identity(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    identity_ref: str,
) -> None:
    """Take an identity off a record the caller may edit; 404 when it has no such one."""
    record = await _editable(conn, principal, object_key, ref)
    wanted = parse_uuid(identity_ref)
    gone = None
    if wanted is not None:
        gone = (
            await conn.execute(
                sa.delete(identities)
                .where(
                    identities.c.workspace_id == principal.workspace_id,
                    identities.c.record_id == record.id,
                    identities.c.uuid == wanted,
                )
                .returning(identities.c.channel, identities.c.address)
            )
        ).first()
    if gone is None:
        raise NotFound("Identity not found")
    await record_event(
        conn,
        principal,
        record,
        "record.identity_removed",
        identity=str(wanted),
        channel=gone.channel,
        address=gone.address,
    )


async def find_by_identity(
    conn: AsyncConnection, principal: Principal, *, channel: Any, address: Any
) -> Record:
    """The record reached at ``address`` on ``channel``, if the caller may see it."""
    stored = normalise_address(channel, address)
    held = await _holder(conn, principal.workspace_id, channel, stored)
    if held is None:
        raise NotFound(f"No record has the {channel} identity {stored}")
    return await locate_record(conn, principal, held.record_id)
