"""Workflows and their categories: made, changed and deleted by those who manage workflows;
read by keys with the ``workflow`` scope; and their runs, listed per workflow or record,
started by hand and cancelled. Who does not manage workflows sees only the runs on the
records they can see.

A workflow's trigger, conditions (the filter language) and steps are checked against the
workspace's metadata when saved (:mod:`crm.core.workflows.definitions`). Runs are made by
the trigger consumer (:mod:`crm.core.workflows.triggers`) or by hand here, and advanced by
the runner (:mod:`crm.core.workflows.runner`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.conditions import Column, matching, order, search
from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from crm.core.events import append_event
from crm.core.events.stream import head
from crm.core.ids import parse_uuid, uuid7
from crm.core.metadata.model import WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.paging import check_limit, check_offset
from crm.core.records import service as records
from crm.core.records.model import RecordQuery
from crm.core.records.repository import scoped
from crm.core.records.rules import numbered_ident
from crm.core.records.sequences import take_numbers
from crm.core.workflows.definitions import check_definition
from crm.core.workflows.model import (
    CANCELLED,
    CONSUMER,
    LIVE,
    MAX_DEPTH,
    PENDING,
    Category,
    Run,
    StepLog,
    Workflow,
)
from crm.db.rows import insert_new
from crm.db.schema import (
    event_consumers,
    workflow_categories,
    workflow_run_steps,
    workflow_runs,
    workflows,
)
from crm.db.schema import (
    records as record_rows,
)

__all__ = [
    "MAX_RUN_PAGE",
    "MAX_STARTS",
    "MAX_WORKFLOW_PAGE",
    "RUN_PAGE",
    "WORKFLOW_PAGE",
    "RunPage",
    "cancel_run",
    "create_category",
    "create_workflow",
    "delete_category",
    "delete_workflow",
    "find_workflows",
    "get_run",
    "get_workflow",
    "list_categories",
    "runs_of",
    "start_runs",
    "update_category",
    "update_workflow",
]

WORKFLOW_PAGE = 30
MAX_WORKFLOW_PAGE = 500
RUN_PAGE = 50
MAX_RUN_PAGE = 500
#: The most records one start by hand runs a workflow on.
MAX_STARTS = 10_000
MAX_CATEGORY = 100
#: What a list of workflows filters and sorts on.
COLUMNS = {
    "number": Column(workflows.c.number, "whole"),
    "name": Column(workflows.c.name, "text"),
    # no description is kept as "", which a filter finds as empty
    "description": Column(sa.func.nullif(workflows.c.description, ""), "text"),
    "runtime": Column(workflows.c.runtime, "text"),
    "published": Column(workflows.c.published, "flag"),
    "category": Column(workflow_categories.c.number, "whole"),
    "created_at": Column(workflows.c.created_at, "moment"),
    "updated_at": Column(workflows.c.updated_at, "moment"),
}
_JOINED = workflows.outerjoin(
    workflow_categories, workflow_categories.c.id == workflows.c.category_id
)
_SELECT = sa.select(
    workflows,
    workflow_categories.c.uuid.label("category_uuid"),
    workflow_categories.c.number.label("category_number"),
    workflow_categories.c.name.label("category_name"),
).select_from(_JOINED)


class WorkflowPage(NamedTuple):
    workflows: list[Workflow]
    total: int


class RunPage(NamedTuple):
    runs: list[Run]
    total: int


def _category(row: Any) -> Category:
    return Category(row.id, row.uuid, row.number, row.name)


def _workflow(meta: WorkspaceMeta, row: Any) -> Workflow:
    category = None
    if row.category_id is not None:
        category = Category(
            row.category_id, row.category_uuid, row.category_number, row.category_name
        )
    return Workflow(
        id=row.id,
        uuid=row.uuid,
        number=row.number,
        object_key=meta.objects_by_id[row.object_type_id].key,
        name=row.name,
        description=row.description,
        category=category,
        published=row.published,
        runtime=row.runtime,
        trigger=row.trigger,
        conditions=row.conditions,
        steps=row.steps,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _live(principal: Principal) -> sa.ColumnElement[bool]:
    return sa.and_(
        workflows.c.workspace_id == principal.workspace_id, workflows.c.deleted_at.is_(None)
    )


# Categories.


def _category_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_CATEGORY:
        raise ValidationFailed.of([FieldError("name", f"must be 1 to {MAX_CATEGORY} characters")])
    return name.strip()


async def _category_row(conn: AsyncConnection, principal: Principal, ref: Any) -> Any:
    row = (
        await conn.execute(
            sa.select(workflow_categories).where(
                workflow_categories.c.workspace_id == principal.workspace_id,
                numbered_ident(workflow_categories, ref, "Category"),
            )
        )
    ).first()
    if row is None:
        raise NotFound("Workflow category not found")
    return row


async def _category_of(conn: AsyncConnection, principal: Principal, given: Any) -> int | None:
    """The id of the category a workflow names (by UUID or number), or None for none."""
    if given is None:
        return None
    try:
        return int((await _category_row(conn, principal, given)).id)
    except NotFound:
        raise ValidationFailed.of([FieldError("category", f"no category {given!r}")]) from None


async def _unique_category(
    conn: AsyncConnection, principal: Principal, name: str, holder: int = 0
) -> None:
    taken = await conn.execute(
        sa.select(workflow_categories.c.id).where(
            workflow_categories.c.workspace_id == principal.workspace_id,
            sa.func.lower(workflow_categories.c.name) == name.lower(),
            workflow_categories.c.id != holder,
        )
    )
    if taken.first() is not None:
        raise Conflict(f"A workflow category named {name!r} exists already")


async def list_categories(conn: AsyncConnection, principal: Principal) -> list[Category]:
    """The workspace's workflow categories, in the order they were made."""
    principal.require_scope("workflow", "list")
    rows = await conn.execute(
        sa.select(workflow_categories)
        .where(workflow_categories.c.workspace_id == principal.workspace_id)
        .order_by(workflow_categories.c.number)
    )
    return [_category(r) for r in rows]


async def create_category(conn: AsyncConnection, principal: Principal, *, name: Any) -> Category:
    principal.require_scope("workflow", "create")
    principal.require_admin("workflows")
    checked = _category_name(name)
    await _unique_category(conn, principal, checked)
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "number": await take_numbers(conn, principal.workspace_id, "workflow_category", 1),
        "name": checked,
        "created_at": utcnow(),
    }
    made = await conn.execute(
        sa.insert(workflow_categories).values(**row).returning(*workflow_categories.c)
    )
    return _category(made.one())


async def update_category(
    conn: AsyncConnection, principal: Principal, ref: Any, *, name: Any
) -> Category:
    principal.require_scope("workflow", "update")
    principal.require_admin("workflows")
    row = await _category_row(conn, principal, ref)
    checked = _category_name(name)
    await _unique_category(conn, principal, checked, row.id)
    changed = await conn.execute(
        sa.update(workflow_categories)
        .where(workflow_categories.c.id == row.id)
        .values(name=checked)
        .returning(*workflow_categories.c)
    )
    return _category(changed.one())


async def delete_category(conn: AsyncConnection, principal: Principal, ref: Any) -> None:
    """Delete a category; its workflows keep going without one."""
    principal.require_scope("workflow", "delete")
    principal.require_admin("workflows")
    row = await _category_row(conn, principal, ref)
    await conn.execute(
        sa.update(workflows).where(workflows.c.category_id == row.id).values(category_id=None)
    )
    await conn.execute(sa.delete(workflow_categories).where(workflow_categories.c.id == row.id))


# Workflows.


async def _row(conn: AsyncConnection, principal: Principal, ref: Any, *, lock: bool = False) -> Any:
    select = _SELECT.where(_live(principal), numbered_ident(workflows, ref, "Workflow"))
    if lock:
        select = select.with_for_update(of=workflows)
    row = (await conn.execute(select)).first()
    if row is None:
        raise NotFound("Workflow not found")
    return row


async def _values(
    conn: AsyncConnection,
    principal: Principal,
    meta: WorkspaceMeta,
    spec: dict[str, Any],
    current: Workflow | None,
) -> dict[str, Any]:
    """The columns of a workflow ``spec`` makes (or changes ``current`` into)."""
    unknown = set(spec) - {
        "object",
        "name",
        "description",
        "category",
        "published",
        "runtime",
        "trigger",
        "conditions",
        "steps",
    }
    if unknown:
        raise ValidationFailed.of(
            [FieldError(k, "unknown attribute", "unknown") for k in sorted(unknown)]
        )
    if current is not None and "object" in spec and spec["object"] != current.object_key:
        raise ValidationFailed.of([FieldError("object", "cannot change")])
    out: dict[str, Any] = {}
    if "name" in spec or current is None:
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            raise ValidationFailed.of([FieldError("name", "must be 1 to 200 characters")])
        out["name"] = name.strip()
    if "description" in spec:
        description = spec["description"] or ""
        if not isinstance(description, str) or len(description) > 5000:
            raise ValidationFailed.of([FieldError("description", "must be text of at most 5000")])
        out["description"] = description
    if "published" in spec:
        if not isinstance(spec["published"], bool):
            raise ValidationFailed.of([FieldError("published", "must be true or false")])
        out["published"] = spec["published"]
        if spec["published"] and (current is None or not current.published):
            out["published_at"] = utcnow()
    if "category" in spec:
        out["category_id"] = await _category_of(conn, principal, spec["category"])
    merged = {
        "object": current.object_key if current else spec.get("object"),
        "runtime": current.runtime if current else "async",
        "trigger": current.trigger if current else None,
        "conditions": current.conditions if current else None,
        "steps": current.steps if current else [],
    }
    merged.update({k: spec[k] for k in ("runtime", "trigger", "conditions", "steps") if k in spec})
    checked = await check_definition(conn, principal, meta, merged)
    out.update(checked)
    return out


async def follow_events(conn: AsyncConnection) -> None:
    """Make sure the consumer that starts runs reads the log: from its head when it is
    first needed, so that it misses nothing that happens after the first workflow is made
    (no workflow reacts to what happened before it was published)."""
    await insert_new(
        conn,
        event_consumers,
        {"name": CONSUMER, "position": (await head(conn)).text(), "updated_at": utcnow()},
    )


async def create_workflow(
    conn: AsyncConnection, principal: Principal, spec: dict[str, Any]
) -> Workflow:
    """A new workflow (unpublished unless ``published``), acting as its maker."""
    principal.require_scope("workflow", "create")
    principal.require_admin("workflows")
    meta = await metadata_for(conn, principal)
    values = await _values(conn, principal, meta, spec, None)
    await follow_events(conn)
    now = utcnow()
    row = {
        "workspace_id": principal.workspace_id,
        "uuid": uuid7(),
        "number": await take_numbers(conn, principal.workspace_id, "workflow", 1),
        "published": False,
        "description": "",
        "created_by": principal.user_id,
        "created_at": now,
        "updated_at": now,
        **values,
    }
    made = (await conn.execute(sa.insert(workflows).values(**row).returning(workflows.c.id))).one()
    found = _workflow(meta, (await conn.execute(_SELECT.where(workflows.c.id == made.id))).one())
    await _log(conn, principal, "workflow.created", found)
    return found


async def _log(conn: AsyncConnection, principal: Principal, type_: str, wf: Workflow) -> None:
    await append_event(
        conn,
        principal.workspace_id,
        type_,
        actor=principal,
        payload={"workflow": str(wf.uuid), "number": wf.number, "name": wf.name},
    )


async def get_workflow(conn: AsyncConnection, principal: Principal, ref: Any) -> Workflow:
    """A workflow of the workspace by UUID or number."""
    principal.require_scope("workflow", "read")
    meta = await metadata_for(conn, principal)
    return _workflow(meta, await _row(conn, principal, ref))


async def find_workflows(
    conn: AsyncConnection,
    principal: Principal,
    *,
    object: str | None = None,
    q: Any = None,
    conditions: Any = (),
    sort: Any = "number",
    direction: Any = "asc",
    limit: int = WORKFLOW_PAGE,
    offset: Any = 0,
) -> WorkflowPage:
    """A page of the workspace's workflows (of one object type, with ``object``) and how
    many match; ``q`` finds a part of the name or description, ``conditions`` and
    ``sort`` name the keys of :data:`COLUMNS`."""
    principal.require_scope("workflow", "list")
    check_limit(limit, MAX_WORKFLOW_PAGE)
    check_offset(offset)
    meta = await metadata_for(conn, principal)
    where = [_live(principal), *matching(COLUMNS, conditions)]
    if object is not None:
        obj = meta.objects.get(object)
        if obj is None:
            raise ValidationFailed.of([FieldError("object", "must be the key of an object type")])
        where.append(workflows.c.object_type_id == obj.id)
    found = search(q, (workflows.c.name, workflows.c.description))
    if found is not None:
        where.append(found)
    ordered = order(COLUMNS, sort, direction, workflows.c.number, workflows.c.id)
    rows = await conn.execute(_SELECT.where(*where).order_by(*ordered).limit(limit).offset(offset))
    page = [_workflow(meta, r) for r in rows]
    total = await conn.execute(sa.select(sa.func.count()).select_from(_JOINED).where(*where))
    return WorkflowPage(page, int(total.scalar_one()))


async def update_workflow(
    conn: AsyncConnection, principal: Principal, ref: Any, spec: dict[str, Any]
) -> Workflow:
    """Change what ``spec`` names; runs already going keep the steps they started with
    only where the steps still exist (a run past the end of changed steps completes)."""
    principal.require_scope("workflow", "update")
    principal.require_admin("workflows")
    meta = await metadata_for(conn, principal)
    current = _workflow(meta, await _row(conn, principal, ref, lock=True))
    values = await _values(conn, principal, meta, spec, current)
    await conn.execute(
        sa.update(workflows)
        .where(workflows.c.id == current.id)
        .values(**values, updated_at=utcnow())
    )
    found = _workflow(meta, (await conn.execute(_SELECT.where(workflows.c.id == current.id))).one())
    await _log(conn, principal, "workflow.updated", found)
    return found


async def delete_workflow(conn: AsyncConnection, principal: Principal, ref: Any) -> None:
    """Delete a workflow: it triggers no more and its live runs are cancelled; the runs stay
    readable on their records."""
    principal.require_scope("workflow", "delete")
    principal.require_admin("workflows")
    meta = await metadata_for(conn, principal)
    current = _workflow(meta, await _row(conn, principal, ref, lock=True))
    now = utcnow()
    await conn.execute(
        sa.update(workflows).where(workflows.c.id == current.id).values(deleted_at=now)
    )
    await conn.execute(
        sa.update(workflow_runs)
        .where(workflow_runs.c.workflow_id == current.id, workflow_runs.c.status.in_(LIVE))
        .values(status=CANCELLED, due_at=None, updated_at=now, finished_at=now)
    )
    await _log(conn, principal, "workflow.deleted", current)


# Runs.

_RUNS = sa.select(
    workflow_runs,
    workflows.c.uuid.label("workflow_uuid"),
    workflows.c.number.label("workflow_number"),
    workflows.c.name.label("workflow_name"),
    workflows.c.object_type_id,
    record_rows.c.uuid.label("record_uuid"),
    record_rows.c.number.label("record_number"),
).select_from(
    workflow_runs.join(workflows, workflows.c.id == workflow_runs.c.workflow_id).outerjoin(
        record_rows, record_rows.c.id == workflow_runs.c.record_id
    )
)


def run_of(meta: WorkspaceMeta, row: Any, steps: list[StepLog] | None = None) -> Run:
    obj = meta.objects_by_id.get(row.object_type_id)
    return Run(
        id=row.id,
        uuid=row.uuid,
        workflow_uuid=row.workflow_uuid,
        workflow_number=row.workflow_number,
        workflow_name=row.workflow_name,
        record_uuid=row.record_uuid,
        record_number=row.record_number,
        object_key=obj.key if obj else "",
        status=row.status,
        position=row.position,
        depth=row.depth,
        due_at=row.due_at,
        error=row.error,
        started_at=row.started_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        steps=steps,
    )


async def runs_of(
    conn: AsyncConnection,
    principal: Principal,
    *,
    workflow: Any = None,
    object_key: str | None = None,
    record: Any = None,
    limit: int = RUN_PAGE,
    offset: Any = 0,
) -> RunPage:
    """Runs newest first: of a workflow, and/or on a record the caller can see; of a
    workflow, only those on records the caller can see unless the caller manages workflows."""
    principal.require_scope("workflow", "list")
    check_limit(limit, MAX_RUN_PAGE)
    check_offset(offset)
    meta = await metadata_for(conn, principal)
    where = [workflow_runs.c.workspace_id == principal.workspace_id]
    wf = None if workflow is None else await _any_row(conn, principal, workflow)
    if wf is not None:
        where.append(workflow_runs.c.workflow_id == wf.id)
    if record is not None:
        assert object_key is not None
        found = await records.get_record(conn, principal, object_key, record)
        where.append(workflow_runs.c.record_id == found.id)
    elif not principal.manages("workflows"):
        if wf is None:
            raise PermissionDenied("Your role may not manage workflows")
        seen = scoped(principal, meta.objects_by_id[wf.object_type_id])
        where.append(workflow_runs.c.record_id.in_(sa.select(record_rows.c.id).where(seen)))
    rows = await conn.execute(
        _RUNS.where(*where).order_by(workflow_runs.c.id.desc()).limit(limit).offset(offset)
    )
    page = [run_of(meta, r) for r in rows]
    total = await conn.execute(sa.select(sa.func.count()).select_from(workflow_runs).where(*where))
    return RunPage(page, int(total.scalar_one()))


async def _any_row(conn: AsyncConnection, principal: Principal, ref: Any) -> Any:
    """A workflow by UUID or number, deleted or not (its runs stay readable)."""
    row = (
        await conn.execute(
            sa.select(workflows.c.id, workflows.c.object_type_id).where(
                workflows.c.workspace_id == principal.workspace_id,
                numbered_ident(workflows, ref, "Workflow"),
            )
        )
    ).first()
    if row is None:
        raise NotFound("Workflow not found")
    return row


async def _run_row(conn: AsyncConnection, principal: Principal, ref: Any) -> Any:
    parsed = parse_uuid(str(ref))
    if parsed is None:
        raise NotFound("Workflow run not found")
    row = (
        await conn.execute(
            _RUNS.where(
                workflow_runs.c.workspace_id == principal.workspace_id,
                workflow_runs.c.uuid == parsed,
            )
        )
    ).first()
    if row is None:
        raise NotFound("Workflow run not found")
    return row


async def get_run(conn: AsyncConnection, principal: Principal, ref: Any) -> Run:
    """A run by UUID, with what each of its steps did; on a record the caller can see
    unless the caller manages workflows."""
    principal.require_scope("workflow", "read")
    meta = await metadata_for(conn, principal)
    row = await _run_row(conn, principal, ref)
    if not principal.manages("workflows"):
        obj = meta.objects_by_id[row.object_type_id]
        try:
            await records.get_record(conn, principal, obj.key, row.record_id)
        except NotFound:
            raise NotFound("Workflow run not found") from None
    logged = await conn.execute(
        sa.select(workflow_run_steps)
        .where(workflow_run_steps.c.run_id == row.id)
        .order_by(workflow_run_steps.c.id)
    )
    steps = [StepLog(s.position, s.type, s.status, s.detail, s.at) for s in logged]
    return run_of(meta, row, steps)


async def cancel_run(conn: AsyncConnection, principal: Principal, ref: Any) -> Run:
    """Cancel a run that has not ended; Conflict for one that has."""
    principal.require_scope("workflow", "update")
    principal.require_admin("workflows")
    row = await _run_row(conn, principal, ref)
    now = utcnow()
    changed = await conn.execute(
        sa.update(workflow_runs)
        .where(workflow_runs.c.id == row.id, workflow_runs.c.status.in_(LIVE))
        .values(status=CANCELLED, due_at=None, updated_at=now, finished_at=now)
    )
    if changed.rowcount == 0:
        raise Conflict(f"The run has ended ({row.status})")
    return await get_run(conn, principal, ref)


async def start_runs(
    conn: AsyncConnection,
    principal: Principal,
    workflow: Any,
    *,
    record: Any = None,
    filter: Any = None,
) -> list[Run]:
    """Start a published workflow by hand on one record, or on every record of a filter
    (at most :data:`MAX_STARTS`); the runs are due at once."""
    principal.require_scope("workflow", "update")
    principal.require_admin("workflows")
    meta = await metadata_for(conn, principal)
    wf = _workflow(meta, await _row(conn, principal, workflow))
    if not wf.published:
        raise Conflict("The workflow is not published")
    if (record is None) == (filter is None):
        raise ValidationFailed.of([FieldError("record", "give a record or a filter")])
    if record is not None:
        try:
            ids = [(await records.get_record(conn, principal, wf.object_key, record)).id]
        except NotFound:
            raise ValidationFailed.of(
                [FieldError("record", f"no {wf.object_key} {record!r} to run on")]
            ) from None
    else:
        ids, cursor = [], None
        while len(ids) < MAX_STARTS:
            query = RecordQuery(filter=filter, limit=records.MAX_PAGE, cursor=cursor)
            page = await records.find_records(conn, principal, wf.object_key, query)
            ids += [r.id for r in page.records]
            cursor = page.next_cursor
            if cursor is None:
                break
        ids = ids[:MAX_STARTS]
    depth = 1 if principal.via is None else principal.via.depth + 1
    made = await add_runs(conn, principal.workspace_id, wf.id, ids, depth=depth, event=None)
    rows = await conn.execute(
        _RUNS.where(workflow_runs.c.id.in_(made)).order_by(workflow_runs.c.id)
    )
    return [run_of(meta, r) for r in rows]


async def add_runs(
    conn: AsyncConnection,
    workspace_id: int,
    workflow_id: int,
    record_ids: list[int],
    *,
    depth: int,
    event: Any,
) -> list[int]:
    """New runs of a workflow on records, due now (or cut when too deep); their ids."""
    if not record_ids:
        return []
    now = utcnow()
    cut = depth > MAX_DEPTH
    rows = [
        {
            "workspace_id": workspace_id,
            "uuid": uuid7(),
            "workflow_id": workflow_id,
            "record_id": record_id,
            "status": "cut" if cut else PENDING,
            "position": [0],
            "depth": depth,
            "event_uuid": event,
            "due_at": None if cut else now,
            "error": f"started {depth} runs deep (at most {MAX_DEPTH})" if cut else None,
            "started_at": now,
            "updated_at": now,
            "finished_at": now if cut else None,
        }
        for record_id in record_ids
    ]
    made = await conn.execute(sa.insert(workflow_runs).returning(workflow_runs.c.id), rows)
    return [r.id for r in made]
