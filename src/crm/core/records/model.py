"""What the records service answers with; faces render these in their own shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm.core.metadata.model import ObjectMeta


@dataclass(frozen=True)
class Record:
    """One record as stored: ``data`` holds field values in their stored form."""

    id: int
    uuid: uuid.UUID
    object: ObjectMeta
    owner_id: int | None
    data: dict[str, Any]
    display_name: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    deleted_at: datetime | None
    unmapped: dict[str, Any] = field(default_factory=dict)
    #: Its number among its object type's in its workspace (see :class:`Numbered`).
    number: int | None = None


class Numbered(int):
    """A reference to a record by its number among its object type's (``records.number``),
    where a plain integer names the record's id."""


@dataclass(frozen=True)
class Page:
    records: list[Record]
    next_cursor: str | None = None
    total: int | None = None


@dataclass(frozen=True)
class BulkItem:
    """The outcome of one item of a bulk write: a record or the reason it was refused."""

    index: int
    record: Record | None = None
    created: bool = True
    error: Exception | None = None


@dataclass
class RecordQuery:
    """A listing request: filter, sort, page and search, as the caller gave them."""

    filter: Any = None
    sort: list[dict[str, Any]] = field(default_factory=list)
    limit: int = 50
    cursor: str | None = None
    offset: int | None = None
    q: str | None = None
    archived: str = "exclude"
    with_total: bool = False
    #: ``q`` also matches the names of the records' tags and their identities' addresses.
    q_links: bool = False
    #: Only the members of this static list (its internal id; see :mod:`crm.core.lists`).
    member_of: int | None = None
