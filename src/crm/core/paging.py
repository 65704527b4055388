"""Pages of lists (a record's notes, links, identities and tags; tags; events): a checked
size, and a cursor that is the id (UUID) of the last item of the page before."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.errors import FieldError, ValidationFailed
from crm.core.ids import parse_uuid
from crm.core.storable import INT64


def check_limit(limit: int, most: int) -> None:
    """ValidationFailed unless a page of ``limit`` items is 1 to ``most``."""
    if not 1 <= limit <= most:
        raise ValidationFailed.of([FieldError("limit", f"must be 1 to {most}")])


def check_offset(offset: Any) -> None:
    """ValidationFailed unless ``offset`` is a whole number of items to skip."""
    if type(offset) is not int or not 0 <= offset <= INT64:
        raise ValidationFailed.of([FieldError("offset", "must be a whole number from 0")])


async def after(
    conn: AsyncConnection,
    keys: sa.Select[Any],
    uuid: sa.ColumnElement[Any],
    cursor: str,
    *,
    field: str = "cursor",
    message: str = "is not an item of this list",
) -> Any:
    """The row of ``keys`` (a select of the sort keys, already scoped to the list) whose
    ``uuid`` the cursor names; ValidationFailed on ``field`` with ``message`` if none."""
    wanted = parse_uuid(cursor)
    row = None if wanted is None else (await conn.execute(keys.where(uuid == wanted))).first()
    if row is None:
        raise ValidationFailed.of([FieldError(field, message)])
    return row
