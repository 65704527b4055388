"""Taking in records from loosely keyed input, one or thousands at a time.

Each payload is read by :mod:`crm.core.intake.payload`, checked with the same validators as
every other write, and looked up against the object's duplicate rule: a payload whose
email or phone (or the rule's other fields) another record holds updates that record,
leaves it alone, or creates a new one that names it, as the object is configured. New
records are stored with one INSERT; notes, viewers and events follow in batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import (
    Conflict,
    CRMError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from crm.core.events.service import append_many, event_row
from crm.core.identities import service as identities
from crm.core.intake.keys import find_object, matcher_for
from crm.core.intake.payload import Submission, read_notes, read_submission
from crm.core.limits import MAX_ATTACHED_PER_REQUEST
from crm.core.metadata.fieldtypes import FieldValueError
from crm.core.metadata.model import FieldMeta, ObjectMeta, UserMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.notes.service import attach_notes
from crm.core.records import repository as repo
from crm.core.records.batch import Change, apply_changes, fetch_visible
from crm.core.records.creation import NewRecord, insert_records, require_create
from crm.core.records.model import Record
from crm.core.records.rules import check_references
from crm.core.records.service import locate_record, update_record
from crm.core.records.values import apply_defaults, missing_required, parse_fields, parse_value
from crm.core.records.viewers import insert_viewers, resolve_viewers
from crm.core.tags import service as tags
from crm.core.tags.service import Tag
from crm.db.locks import hold_values

__all__ = ["MAX_BATCH", "Amended", "Outcome", "amend", "resolve_entity", "take_in", "take_in_many"]

MAX_BATCH = 10_000


@dataclass
class Outcome:
    """What became of one payload: ``created``, ``updated``, ``skipped`` or ``failed``."""

    index: int
    status: str = "failed"
    record: Record | None = None
    duplicate_of: Record | None = None
    matched: dict[str, str] = field(default_factory=dict)
    unmapped: dict[str, Any] = field(default_factory=dict)
    error: CRMError | None = None


@dataclass
class _Item:
    """One payload on its way through a batch."""

    outcome: Outcome
    submission: Submission
    values: dict[str, Any] = field(default_factory=dict)
    owner_id: int | None = None
    viewer_ids: list[int] = field(default_factory=list)
    target: int | None = None  # the existing record it duplicates
    holder: int | None = None  # the existing record that has its identities
    tags: list[Tag] = field(default_factory=list)
    merged_into: _Item | None = None  # an earlier new record of the batch it duplicates
    new: NewRecord | None = None


@dataclass(frozen=True)
class Amended:
    """A record changed from loosely keyed values: the fields given, and those kept unmapped."""

    record: Record
    fields: list[str]
    unmapped: dict[str, Any]


async def amend(
    conn: AsyncConnection, principal: Principal, ref: str, payload: Any, *, note: Any = None
) -> Amended:
    """Change a record of any object type from loosely keyed values, with an optional note.

    Keys and directives read as on intake; at least one key must match a field, unless only
    a note is given.
    """
    record = await locate_record(conn, principal, ref)
    obj = record.object
    meta = await metadata_for(conn, principal)
    if not isinstance(payload, dict):
        raise ValidationFailed.of([FieldError("fields", "must be an object of values")])
    submission, errors = read_submission(matcher_for(meta, obj), obj, payload)
    notes, problems = read_notes("note", note)
    errors += problems
    reached = submission.fields or submission.identities or submission.tags
    if not reached and not notes and not errors:
        errors.append(FieldError("fields", f"no key matches a field of {obj.key}", "no_fields"))
    viewers = []
    if submission.viewers is not None:
        try:
            viewers = resolve_viewers(meta, submission.viewers)
        except ValidationFailed as exc:
            errors += exc.field_errors
    owner = _assignee(meta, submission.assignee, errors)
    if errors:
        raise ValidationFailed.of(errors)
    labels = await _tags_named(conn, principal, submission.tags)
    await hold_values(
        conn, identities.address_groups(principal.workspace_id, submission.identities)
    )
    held = await identities.holders(conn, principal.workspace_id, submission.identities)
    taken = [pair for pair, (holder, _) in held.items() if holder != record.id]
    if taken:
        raise _identity_taken(*taken[0])
    updated = await update_record(
        conn,
        principal,
        obj.key,
        record.id,
        fields=submission.fields,
        owner=str(owner.uuid) if owner else None,
        unmapped=submission.unmapped,
    )
    await attach_notes(conn, principal, [(updated, n) for n in submission.notes + notes])
    await identities.attach_identities(
        conn, principal, [(updated, *pair) for pair in submission.identities]
    )
    await tags.tag_records(conn, principal, [(updated, tag) for tag in labels])
    shared = await insert_viewers(
        conn, principal.workspace_id, [(updated.id, u.id) for u in viewers]
    )
    await append_many(
        conn, _shared_events(principal, meta, obj, {updated.id: updated}, shared, utcnow())
    )
    return Amended(updated, list(dict.fromkeys(submission.fields)), submission.unmapped)


def _assignee(meta: WorkspaceMeta, ref: str | None, errors: list[FieldError]) -> UserMeta | None:
    """The active user ``assignee`` names; an error for ``assignee`` when there is none."""
    if ref is None:
        return None
    user = meta.user(ref)
    if user is None or not user.active:
        errors.append(FieldError("assignee", "must be an active user's id or email"))
        return None
    return user


def resolve_entity(meta: WorkspaceMeta, ref: Any) -> ObjectMeta:
    """The object type named by key, UUID, label or plural label; NotFound otherwise."""
    found = find_object(meta, ref) if isinstance(ref, str) and ref.strip() else None
    if found is None:
        raise NotFound(f"No object type {ref!r}")
    return found


async def take_in(
    conn: AsyncConnection, principal: Principal, entity: Any, payload: dict[str, Any]
) -> Outcome:
    """Take in one payload; its problems raise (ValidationFailed, Conflict, ...)."""
    (outcome,) = await take_in_many(conn, principal, entity, [payload])
    if outcome.error is not None:
        raise outcome.error
    return outcome


async def take_in_many(
    conn: AsyncConnection,
    principal: Principal,
    entity: Any,
    payloads: list[Any],
    *,
    shared: dict[str, Any] | None = None,
) -> list[Outcome]:
    """Take in many payloads in the caller's transaction, one outcome each.

    A bad payload fails alone. ``shared`` values (a batch's common source or note) apply to
    every payload that does not give its own.
    """
    meta = await metadata_for(conn, principal)
    obj = resolve_entity(meta, entity)
    principal.require_scope(obj.key, "create")
    require_create(principal, obj)
    if not 0 < len(payloads) <= MAX_BATCH:
        raise ValidationFailed.of([FieldError("batch", f"must hold 1 to {MAX_BATCH} items")])
    items = [await _read(conn, principal, meta, obj, i, p, shared) for i, p in enumerate(payloads)]
    live = [it for it in items if it.outcome.error is None]
    _check_attached(live)
    await _resolve_tags(conn, principal, live)
    await _hold(conn, principal, obj, live)
    await _match_identities(conn, principal, obj, live)
    live = [it for it in live if it.outcome.error is None]
    await _find_duplicates(conn, principal, obj, live)
    _plan_new(principal, obj, live)
    await _store_new(conn, principal, meta, obj, live)
    await _apply_to_existing(conn, principal, meta, obj, live)
    await _follow_up(conn, principal, meta, obj, live)
    return [it.outcome for it in items]


def _check_attached(items: list[_Item]) -> None:
    """ValidationFailed when the batch's records together name more tags, notes or
    identities than one request may attach (``MAX_ATTACHED_PER_REQUEST`` each)."""
    totals = {
        "tags": sum(len(it.submission.tags) for it in items),
        "notes": sum(len(it.submission.notes) + len(it.submission.batch_notes) for it in items),
        "identities": sum(len(it.submission.identities) for it in items),
    }
    over = [name for name, total in totals.items() if total > MAX_ATTACHED_PER_REQUEST]
    if over:
        raise ValidationFailed.of(
            [
                FieldError(name, f"one request may attach at most {MAX_ATTACHED_PER_REQUEST}")
                for name in over
            ]
        )


async def _read(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    index: int,
    payload: Any,
    shared: dict[str, Any] | None,
) -> _Item:
    outcome = Outcome(index)
    if not isinstance(payload, dict):
        outcome.error = ValidationFailed.of([FieldError("item", "must be an object of values")])
        return _Item(outcome, Submission())
    matcher = matcher_for(meta, obj)
    submission, errors = read_submission(matcher, obj, payload)
    if not submission.fields and not errors:
        errors.append(FieldError("fields", f"no key matches a field of {obj.key}", "no_fields"))
    for key, value in (shared or {}).items():
        _share(meta, submission, matcher.field(key), key, value)
    outcome.matched, outcome.unmapped = submission.matched, submission.unmapped
    item = _Item(outcome, submission)
    values, problems = parse_fields(meta, obj, submission.fields)
    errors += problems
    if not errors:
        errors += await check_references(conn, principal, meta, obj, values)
    owner = _assignee(meta, submission.assignee, errors)
    item.owner_id = owner.id if owner else None
    if submission.viewers is not None:
        try:
            item.viewer_ids = [u.id for u in resolve_viewers(meta, submission.viewers)]
        except ValidationFailed as exc:
            errors += exc.field_errors
    if errors:
        outcome.error = ValidationFailed.of(errors)
    item.values = {k: v for k, v in values.items() if v is not None}
    return item


def _share(
    meta: WorkspaceMeta, submission: Submission, f: FieldMeta | None, key: str, value: Any
) -> None:
    """Apply a batch-wide value: a note is added; a field value fills in where none is given,
    and one its field would refuse (a free-text source for a select) is kept unmapped."""
    if key == "note":
        if isinstance(value, str) and value.strip():
            submission.batch_notes.append({"body": value, "kind": "note", "tag": None})
        return
    if f is not None:
        try:
            parse_value(meta, f, value)
        except FieldValueError:
            f = None
    if f is None:
        submission.unmapped.setdefault(key, value)
    elif submission.fields.get(f.key) in (None, ""):
        submission.fields[f.key] = value
        submission.matched.setdefault(key, f.key)


async def _hold(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, items: list[_Item]
) -> None:
    """Hold what the items are matched on before looking it up: their addresses, their
    duplicate rule's values and their unique values. Concurrent intakes of one person then
    queue, and the later finds the record the earlier made instead of making a twin."""
    pairs = [pair for it in items for pair in it.submission.identities]
    keys = [*obj.duplicate_rule.match, *repo.unique_keys(obj)]
    await hold_values(
        conn,
        {
            **identities.address_groups(principal.workspace_id, pairs),
            **repo.field_groups(obj, keys, [it.values for it in items]),
        },
    )


def _picked(found: dict[str, Tag], names: list[str]) -> list[Tag]:
    """The tags of ``names`` among ``found``; a 422 on ``tags`` naming one that is not."""
    missing = [n for n in names if n.casefold() not in found]
    if missing:
        raise ValidationFailed.of(
            [FieldError("tags", f"no tag named {missing[0]!r}, and this key may not create tags")]
        )
    return list({found[n.casefold()].id: found[n.casefold()] for n in names}.values())


async def _tags_named(conn: AsyncConnection, principal: Principal, names: list[str]) -> list[Tag]:
    """The tags ``names`` name, created where missing if the key may."""
    return _picked(await tags.tags_named(conn, principal, names), names) if names else []


async def _resolve_tags(conn: AsyncConnection, principal: Principal, items: list[_Item]) -> None:
    """The tags items name, created where missing if the key may; an item naming a tag that
    does not exist and may not be created fails."""
    names = [name for it in items for name in it.submission.tags]
    if not names:
        return
    found = await tags.tags_named(conn, principal, names)
    for it in items:
        try:
            it.tags = _picked(found, it.submission.tags)
        except ValidationFailed as exc:
            it.outcome.error = exc


def _identity_taken(channel: str, address: str) -> Conflict:
    return Conflict(
        f"Another record has the {channel} identity {address}",
        [FieldError(channel, "belongs to another record", "duplicate").as_dict()],
    )


async def _match_identities(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, items: list[_Item]
) -> None:
    """Point each item at the record that has its identities; an item whose identities
    belong to different records, or to a record of another type, fails."""
    pairs = [pair for it in items for pair in it.submission.identities]
    if not pairs:
        return
    held = await identities.holders(conn, principal.workspace_id, pairs)
    for it in items:
        theirs = [pair for pair in it.submission.identities if pair in held]
        owners = {held[pair] for pair in theirs}
        if not owners:
            continue
        (record_id, object_type_id), *others = owners
        if others or object_type_id != obj.id or obj.duplicate_rule.policy == "create":
            it.outcome.error = _identity_taken(*theirs[-1])
        else:
            it.holder = record_id


async def _find_duplicates(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, items: list[_Item]
) -> None:
    """Point each item at the record it duplicates: the one that has its identities, an
    existing one matching the duplicate rule, or an earlier item."""
    rule = obj.duplicate_rule
    existing: dict[str, dict[Any, int]] = {}
    for key in rule.match:
        values = [it.values[key] for it in items if it.values.get(key) is not None]
        existing[key] = await repo.holders_of(conn, principal.workspace_id, obj, key, values)
    claimed: dict[tuple[str, Any], _Item | int] = {}
    for it in items:
        reach = [(f"@{c}", a) for c, a in it.submission.identities]
        if rule.policy == "create" and any(pair in claimed for pair in reach):
            channel, address = next(pair for pair in reach if pair in claimed)
            it.outcome.error = _identity_taken(channel[1:], address)
            continue
        keys = [(k, it.values[k]) for k in rule.match if it.values.get(k) is not None]
        found: list[_Item | int] = [it.holder] if it.holder is not None else []
        found += [claimed[pair] for pair in reach if pair in claimed]
        if len({x if isinstance(x, int) else id(x) for x in found}) > 1:
            channel, address = next(pair for pair in reach if pair in claimed)
            it.outcome.error = _identity_taken(channel[1:], address)
            continue  # its addresses belong to two records
        found += [existing[k][v] for k, v in keys if v in existing[k]]
        found += [claimed[pair] for pair in keys if pair in claimed]
        keys += reach
        first = found[0] if found else None
        it.target = first if isinstance(first, int) else None
        it.merged_into = first if isinstance(first, _Item) else None
        # What an item brings joins the record it lands in: a later item matching only
        # its values finds that record too, as it would if the payloads came one by one.
        lands_in: _Item | int = it if first is None or rule.policy == "create" else first
        for pair in keys:
            claimed.setdefault(pair, lands_in)


def _plan_new(principal: Principal, obj: ObjectMeta, items: list[_Item]) -> None:
    """Decide each item's fate; new records (and merges into them) get their values."""
    policy = obj.duplicate_rule.policy
    for it in items:
        out, first = it.outcome, it.merged_into
        if out.error is not None:
            continue
        if policy != "create" and (it.target is not None or (first and first.new)):
            out.status = "updated" if policy == "update" else "skipped"
            if first is not None and first.new is not None and policy == "update":
                first.new.data.update(it.values)
                first.new.unmapped = {**(first.new.unmapped or {}), **out.unmapped}
                first.new.owner_id = it.owner_id or first.new.owner_id
                first.submission.notes += it.submission.notes
                first.submission.identities += it.submission.identities
                first.tags += [t for t in it.tags if t not in first.tags]
                first.viewer_ids += it.viewer_ids
            continue
        it.merged_into = None if first is None or first.new is None else first
        data = dict(it.values)
        apply_defaults(obj, data)
        data = {k: v for k, v in data.items() if v is not None}
        missing = missing_required(obj, data)
        if missing:
            out.error = ValidationFailed.of(missing)
            continue
        out.status = "created"
        it.new = NewRecord(data, it.owner_id or principal.user_id, dict(out.unmapped))


async def _store_new(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    items: list[_Item],
) -> None:
    creating = [it for it in items if it.new is not None and it.outcome.error is None]
    stored = await insert_records(conn, principal, meta, obj, [it.new for it in creating if it.new])
    for it, result in zip(creating, stored, strict=True):
        if isinstance(result, Conflict):
            it.outcome.error, it.outcome.status = result, "failed"
        else:
            it.outcome.record = result
    for it in items:
        first = it.merged_into
        if first is None or it.target is not None:
            continue
        if it.outcome.status == "created":
            it.outcome.duplicate_of = first.outcome.record
        elif first.outcome.error is not None:
            it.outcome.error, it.outcome.status = first.outcome.error, "failed"
        else:
            it.outcome.record = first.outcome.record


async def _apply_to_existing(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    items: list[_Item],
) -> None:
    """Merge items into the existing records they duplicate (update), or name those records
    (skip, and create's ``duplicate_of``), all in batches."""
    pending = [
        (it, it.target) for it in items if it.target is not None and it.outcome.error is None
    ]
    updating = [(it, target) for it, target in pending if it.outcome.status == "updated"]
    if updating:
        changes = [Change(t, it.values, it.owner_id, it.outcome.unmapped) for it, t in updating]
        results = await apply_changes(conn, principal, meta, obj, changes)
        for (it, _), result in zip(updating, results, strict=True):
            if isinstance(result, CRMError):
                it.outcome.status, it.outcome.error = "failed", _refusal(obj, it, result)
            else:
                it.outcome.record = result
    reading = [(it, target) for it, target in pending if it.outcome.status != "updated"]
    seen = await fetch_visible(conn, principal, obj, [target for _, target in reading])
    for it, target in reading:
        found = seen.get(target)
        if it.outcome.status == "created":
            it.outcome.duplicate_of = found  # a twin of a record the caller may not see stays
        elif found is None:
            it.outcome.status, it.outcome.error = "failed", _refusal(obj, it, NotFound(""))
        else:
            it.outcome.record = found


def _refusal(obj: ObjectMeta, it: _Item, exc: CRMError) -> CRMError:
    """Not seeing or not being allowed to change the duplicate is a conflict on the field
    that matched, not a 404."""
    if not isinstance(exc, NotFound | PermissionDenied):
        return exc
    key = next((k for k in obj.duplicate_rule.match if it.values.get(k) is not None), "fields")
    if it.holder is not None:
        key = it.submission.identities[0][0]
    problem = FieldError(
        key,
        f"matches another {obj.label.lower()} that exists, which you may not change",
        "duplicate_record",
    )
    return Conflict(
        f"Another {obj.label.lower()} with these details exists, which you may not change",
        [problem.as_dict()],
    )


def _shared_events(
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    records_by_id: dict[int, Record],
    shared: list[tuple[int, int]],
    now: datetime,
) -> list[dict[str, Any]]:
    """``record.shared`` for each record intake shared with new viewers."""
    users: dict[int, list[str]] = {}
    for record_id, user_id in shared:
        users.setdefault(record_id, []).append(str(meta.users[user_id].uuid))
    return [
        event_row(
            principal,
            "record.shared",
            at=now,
            object_type_id=obj.id,
            record_id=rid,
            payload={"record": str(records_by_id[rid].uuid), "object": obj.key, "users": names},
        )
        for rid, names in users.items()
    ]


async def _follow_up(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    items: list[_Item],
) -> None:
    """Notes, viewers and duplicate events of the records just written, in batches."""
    written: list[tuple[_Item, Record]] = [
        (it, it.outcome.record)
        for it in items
        if it.outcome.record is not None
        and it.outcome.error is None
        and (it.outcome.status == "created" or (it.outcome.status == "updated" and it.target))
    ]
    notes = [(r, n) for it, r in written for n in it.submission.notes]
    batch = {(r.id, n["body"]): (r, n) for it, r in written for n in it.submission.batch_notes}
    await attach_notes(conn, principal, notes + list(batch.values()))
    shared = await insert_viewers(
        conn, principal.workspace_id, [(r.id, u) for it, r in written for u in it.viewer_ids]
    )
    await identities.attach_identities(
        conn, principal, [(r, *pair) for it, r in written for pair in it.submission.identities]
    )
    await tags.tag_records(conn, principal, [(r, t) for it, r in written for t in it.tags])
    now = utcnow()
    by_id = {r.id: r for _, r in written}
    await append_many(conn, _shared_events(principal, meta, obj, by_id, shared, now))
    await append_many(
        conn,
        [
            event_row(
                principal,
                "record.duplicate_found",
                at=now,
                object_type_id=obj.id,
                record_id=r.id,
                payload={
                    "record": str(r.uuid),
                    "object": obj.key,
                    "duplicate_of": str(it.outcome.duplicate_of.uuid),
                },
            )
            for it, r in written
            if it.outcome.duplicate_of is not None
        ],
    )
