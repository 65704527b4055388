"""Case replies: the answers written on a case, oldest first, each with its author.

A case is a record of the standard ``case`` object, named by UUID, integer id, record
number (:class:`~crm.core.records.model.Numbered`) or its ``identifier`` field
(:class:`Identifier`, ``REF-1042``); a record of any other object is not found. Replying
needs the right to edit the case, and appends ``case.replied`` to its timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.cases.templates import CASE, Template, get_template, merge
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.events.service import record_event
from crm.core.ids import uuid7
from crm.core.limits import MAX_TEXT_BODY
from crm.core.metadata.model import ObjectMeta, UserMeta
from crm.core.metadata.service import metadata_for
from crm.core.paging import after, check_limit
from crm.core.records import repository as repo
from crm.core.records.model import Record
from crm.core.records.rules import context, require_reach, visible
from crm.core.storable import INT64
from crm.db.schema import case_replies, reply_templates

__all__ = [
    "MAX_REPLY_PAGE",
    "REPLY_PAGE",
    "Identifier",
    "Reply",
    "ReplyPage",
    "add_reply",
    "find_case_by_identifier",
    "list_replies",
]

#: The case field that names a case to its customers (``REF-1042``).
IDENTIFIER = "identifier"
#: Replies on a page unless the caller asks for fewer or more.
REPLY_PAGE = 100
MAX_REPLY_PAGE = 500


class Identifier(str):
    """A reference to a case by its ``identifier`` field, where other text names a record
    by UUID or integer id."""


@dataclass(frozen=True)
class Reply:
    id: int
    uuid: Any
    case: Record
    author: UserMeta | None
    body: str
    #: The UUID of the template it was made from, while that template exists.
    template: Any
    created_at: datetime


async def _identified(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, identifier: str
) -> int:
    """The id of the live case whose identifier is ``identifier``, found through the unique
    field's index; NotFound if none."""
    value = identifier.strip()
    holders = await repo.holders_of(conn, principal.workspace_id, obj, IDENTIFIER, [value])
    if value not in holders:
        raise NotFound(f"{obj.label} not found")
    return holders[value]


async def _case(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, ref: Any, *, lock: bool = False
) -> Record:
    if isinstance(ref, Identifier):
        ref = await _identified(conn, principal, obj, ref)
    return await visible(conn, principal, obj, ref, lock=lock)


async def find_case_by_identifier(
    conn: AsyncConnection, principal: Principal, identifier: str
) -> Record:
    """The case the caller can see whose identifier is ``identifier``; NotFound otherwise."""
    _, obj = await context(conn, principal, CASE, "read")
    return await _case(conn, principal, obj, Identifier(identifier))


async def _body(
    conn: AsyncConnection, principal: Principal, case: Record, text: Any, template: Any
) -> tuple[str, Template | None]:
    """A reply's text and the template it is made from (None for text): exactly one of
    ``text`` and ``template`` (a template's UUID or number) is given."""
    if text is None and template is None:
        raise ValidationFailed.of([FieldError("text", "is required unless template_id is given")])
    if text is not None and template is not None:
        raise ValidationFailed.of([FieldError("template_id", "cannot be given with text")])
    if text is not None:
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_BODY:
            raise ValidationFailed.of(
                [FieldError("text", f"must be 1 to {MAX_TEXT_BODY} characters")]
            )
        return text, None
    try:
        used = await get_template(conn, principal, template, lock=True)
    except NotFound:
        raise ValidationFailed.of([FieldError("template_id", "no such reply template")]) from None
    merged = await merge(conn, principal, used, case)
    if not merged.strip() or len(merged) > MAX_TEXT_BODY:
        raise ValidationFailed.of(
            [
                FieldError(
                    "template_id", f"merges to a reply that is not 1 to {MAX_TEXT_BODY} characters"
                )
            ]
        )
    return merged, used


async def add_reply(
    conn: AsyncConnection,
    principal: Principal,
    case_ref: Any,
    *,
    text: Any = None,
    template: Any = None,
) -> Reply:
    """Reply on a case the caller may edit, with ``text`` or from ``template`` (its merge
    fields filled in); the case's row is locked, so a case being deleted takes no reply."""
    _, obj = await context(conn, principal, CASE, "update")
    case = await _case(conn, principal, obj, case_ref, lock=True)
    require_reach(principal, case, "edit")
    body, used = await _body(conn, principal, case, text, template)
    now = utcnow()
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "record_id": case.id,
        "author_id": principal.user_id,
        "body": body,
        "template_id": used.id if used else None,
        "created_at": now,
    }
    made = await conn.execute(sa.insert(case_replies).values(**row).returning(case_replies.c.id))
    reply_id = made.scalar_one()
    author = (await metadata_for(conn, principal)).users.get(principal.user_id)
    await record_event(
        conn,
        principal,
        case,
        "case.replied",
        reply=str(row["uuid"]),
        author=str(author.uuid) if author else None,
        template=str(used.uuid) if used else None,
    )
    return Reply(reply_id, row["uuid"], case, author, body, used.uuid if used else None, now)


class ReplyPage(NamedTuple):
    """One page of a case's replies, the cursor of the next (None on the last), and how
    many replies the case has."""

    replies: list[Reply]
    next_cursor: str | None
    total: int


async def list_replies(
    conn: AsyncConnection,
    principal: Principal,
    case_ref: Any,
    *,
    limit: int = REPLY_PAGE,
    cursor: str | None = None,
    offset: int | None = None,
) -> ReplyPage:
    """A page of the replies on a case the caller can see, oldest first; ``cursor`` is the
    last reply of the page before, or ``offset`` skips that many replies."""
    _, obj = await context(conn, principal, CASE, "read")
    case = await _case(conn, principal, obj, case_ref)
    check_limit(limit, MAX_REPLY_PAGE)
    if cursor is not None and offset is not None:
        raise ValidationFailed.of([FieldError("offset", "cannot be combined with cursor")])
    if offset is not None and (
        isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= INT64
    ):
        raise ValidationFailed.of([FieldError("offset", f"must be 0 to {INT64}")])
    live = (
        case_replies.c.workspace_id == principal.workspace_id,
        case_replies.c.record_id == case.id,
    )
    select = (
        sa.select(case_replies, reply_templates.c.uuid.label("template_uuid"))
        .outerjoin(reply_templates, reply_templates.c.id == case_replies.c.template_id)
        .where(*live)
    )
    if cursor is not None:
        keys = sa.select(case_replies.c.created_at, case_replies.c.id).where(*live)
        last = await after(conn, keys, case_replies.c.uuid, cursor)
        select = select.where(
            (case_replies.c.created_at > last.created_at)
            | ((case_replies.c.created_at == last.created_at) & (case_replies.c.id > last.id))
        )
    ordered = select.order_by(case_replies.c.created_at, case_replies.c.id)
    rows = (await conn.execute(ordered.offset(offset).limit(limit + 1))).all()
    users = (await metadata_for(conn, principal)).users
    page = [
        Reply(
            r.id,
            r.uuid,
            case,
            users.get(r.author_id) if r.author_id is not None else None,
            r.body,
            r.template_uuid,
            r.created_at,
        )
        for r in rows[:limit]
    ]
    total = await conn.execute(sa.select(sa.func.count()).select_from(case_replies).where(*live))
    return ReplyPage(
        page, str(page[-1].uuid) if len(rows) > limit else None, int(total.scalar_one())
    )
