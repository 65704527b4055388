"""Records moving through pipelines: a move, a record's stage history, the pipeline funnel.

Moves go through :func:`crm.core.records.service.update_record`, so they are checked and
logged like any other change: the history is read back from ``record.stage_changed``.
The funnel lives in :mod:`crm.core.pipelines.funnel` and is re-exported here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.clock import utcnow
from crm.core.errors import FieldError, NotFound, ValidationFailed
from crm.core.metadata.model import ObjectMeta, PipelineMeta, StageMeta, WorkspaceMeta
from crm.core.metadata.service import metadata_for
from crm.core.pipelines.funnel import PipelineSummary, StageTotal, stage_summary
from crm.core.records import repository as repo
from crm.core.records import service as records_service
from crm.core.records.model import Record
from crm.db.schema import events

__all__ = [
    "PipelineSummary",
    "PipelineTime",
    "StageMove",
    "StageRef",
    "StageReport",
    "StageTime",
    "StageTotal",
    "move_stage",
    "pipelines_of",
    "record_stages",
    "stage_history",
    "stage_summary",
    "time_in_stages",
]

STAGE_CHANGED = "record.stage_changed"


@dataclass(frozen=True)
class StageRef:
    """A stage as an event or a report names it."""

    id: str
    name: str


@dataclass(frozen=True)
class StageMove:
    """One ``record.stage_changed`` event; ``from_stage`` is None when the record entered."""

    event_id: uuid.UUID
    pipeline_key: str
    pipeline_id: str
    from_stage: StageRef | None
    to_stage: StageRef | None
    at: datetime
    actor_id: uuid.UUID | None


@dataclass(frozen=True)
class StageTime:
    """How long, over how many visits, a record has been in one stage."""

    stage: StageRef
    seconds: float
    entries: int
    current: bool


@dataclass(frozen=True)
class PipelineTime:
    pipeline: PipelineMeta
    stages: list[StageTime]


@dataclass(frozen=True)
class StageReport:
    """What ``GET .../stages`` shows: the moves, oldest first, and the time per stage."""

    record: Record
    history: list[StageMove]
    times: list[PipelineTime]


# --- resolving ----------------------------------------------------------------------------


def pipelines_of(meta: WorkspaceMeta, obj: ObjectMeta) -> list[PipelineMeta]:
    """The pipelines of an object, oldest first."""
    return sorted(
        (p for p in meta.pipelines.values() if p.object_type_id == obj.id), key=lambda p: p.id
    )


def _pipeline(meta: WorkspaceMeta, obj: ObjectMeta, ref: str | None) -> PipelineMeta:
    """A pipeline of ``obj`` by key or UUID; without ``ref``, its only one (else 422)."""
    found = pipelines_of(meta, obj)
    keys = ", ".join(p.key for p in found)
    if ref is None:
        if len(found) == 1:
            return found[0]
        message = (
            f"{obj.key} has no pipeline"
            if not found
            else f"{obj.key} has several pipelines; name one of: {keys}"
        )
        raise ValidationFailed.of([FieldError("pipeline", message, "required")])
    wanted = ref.strip()
    for p in found:
        if p.key == wanted or str(p.uuid) == wanted.lower():
            return p
    message = f"{obj.key} has no pipeline {ref!r}" + (f"; pipelines: {keys}" if found else "")
    raise ValidationFailed.of([FieldError("pipeline", message)])


def _stage(pipeline: PipelineMeta, ref: Any) -> StageMeta:
    """A stage by name (any case) or UUID; 422 listing the stages otherwise."""
    found = pipeline.stage(ref) if isinstance(ref, str) else None
    if found is None:
        names = ", ".join(s.name for s in pipeline.stages)
        raise ValidationFailed.of(
            [FieldError("stage", f"no stage {ref!r} in {pipeline.label}; stages: {names}")]
        )
    return found


async def _visible_record(
    conn: AsyncConnection, principal: Principal, obj: ObjectMeta, ref: str | int
) -> Record:
    found = await repo.fetch(conn, repo.scoped(principal, obj), records_service.ident(ref), obj)
    if found is None:
        raise NotFound(f"{obj.label} not found")
    return found


# --- moving -------------------------------------------------------------------------------


async def move_stage(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    pipeline: str | None,
    stage: str,
) -> Record:
    """Move a record to a stage; the normal update checks and events apply.

    ``pipeline`` (key or UUID) may be left out when the object has one pipeline; ``stage``
    is a stage name, any case, or its UUID. Moving to the current stage changes nothing.
    """
    meta, obj = await records_service.context(conn, principal, object_key, "update")
    record = await _visible_record(conn, principal, obj, ref)  # 404 before 422
    chosen = _pipeline(meta, obj, pipeline)
    target = _stage(chosen, stage)
    return await records_service.update_record(
        conn, principal, obj.key, record.id, fields={chosen.key: str(target.uuid)}
    )


# --- history and time in stages -----------------------------------------------------------


def _ref(value: Any) -> StageRef | None:
    if not isinstance(value, dict) or value.get("id") is None:
        return None
    return StageRef(str(value["id"]), str(value.get("name", "")))


async def _moves(
    conn: AsyncConnection, meta: WorkspaceMeta, record: Record, pipeline: PipelineMeta | None
) -> list[StageMove]:
    rows = await conn.execute(
        sa.select(
            events.c.id,
            events.c.uuid,
            events.c.actor_user_id,
            events.c.payload,
            events.c.created_at,
        )
        .where(
            events.c.workspace_id == meta.workspace_id,
            events.c.record_id == record.id,
            events.c.type == STAGE_CHANGED,
        )
        .order_by(events.c.id)
    )
    moves = []
    for row in rows:
        payload = row.payload or {}
        if pipeline is not None and payload.get("pipeline_id") != str(pipeline.uuid):
            continue
        actor = meta.users.get(row.actor_user_id) if row.actor_user_id is not None else None
        moves.append(
            StageMove(
                event_id=row.uuid,
                pipeline_key=str(payload.get("pipeline", "")),
                pipeline_id=str(payload.get("pipeline_id", "")),
                from_stage=_ref(payload.get("from")),
                to_stage=_ref(payload.get("to")),
                at=row.created_at,
                actor_id=actor.uuid if actor else None,
            )
        )
    return moves


def _time_in(
    pipeline: PipelineMeta, record: Record, moves: list[StageMove], now: datetime
) -> PipelineTime:
    """Sum the intervals between one pipeline's moves; the last one runs until ``now``."""
    mine = [m for m in moves if m.pipeline_id == str(pipeline.uuid)]
    current = record.data.get(pipeline.key)
    spans: list[tuple[StageRef, datetime, datetime]] = []
    for i, move in enumerate(mine):
        if move.to_stage is not None:
            end = mine[i + 1].at if i + 1 < len(mine) else now
            spans.append((move.to_stage, move.at, end))
    if not mine and isinstance(current, str):
        # Entered without an event (bulk creation): in its stage since the record exists.
        stage = pipeline.stage_by_uuid(current)
        if stage is not None:
            spans.append((StageRef(current, stage.name), record.created_at, now))
    seconds: dict[str, float] = {}
    entries: dict[str, int] = {}
    names: dict[str, str] = {}
    for ref, start, end in spans:
        seconds[ref.id] = seconds.get(ref.id, 0.0) + max((end - start).total_seconds(), 0.0)
        entries[ref.id] = entries.get(ref.id, 0) + 1
        names.setdefault(ref.id, ref.name)
    # Stages in pipeline order; stages since removed last, in the order first entered.
    order = {str(s.uuid): s.position for s in pipeline.stages}
    first = {sid: i for i, sid in enumerate(seconds)}
    times = []
    for sid in sorted(seconds, key=lambda sid: (order.get(sid, len(order)), first[sid])):
        live = pipeline.stage_by_uuid(sid)
        times.append(
            StageTime(
                stage=StageRef(sid, live.name if live else names[sid]),
                seconds=round(seconds[sid], 6),
                entries=entries[sid],
                current=sid == current,
            )
        )
    return PipelineTime(pipeline, times)


async def record_stages(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    pipeline: str | None = None,
) -> StageReport:
    """A visible record's stage moves (oldest first) and its time in each stage."""
    record = await records_service.get_record(conn, principal, object_key, ref)
    meta = await metadata_for(conn, principal)
    chosen = _pipeline(meta, record.object, pipeline) if pipeline is not None else None
    moves = await _moves(conn, meta, record, chosen)
    now = utcnow()
    wanted = [chosen] if chosen is not None else pipelines_of(meta, record.object)
    return StageReport(record, moves, [_time_in(p, record, moves, now) for p in wanted])


async def stage_history(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    pipeline: str | None = None,
) -> list[StageMove]:
    """A visible record's stage moves, oldest first, optionally of one pipeline."""
    report = await record_stages(conn, principal, object_key, ref, pipeline=pipeline)
    return report.history


async def time_in_stages(
    conn: AsyncConnection,
    principal: Principal,
    object_key: str,
    ref: str | int,
    *,
    pipeline: str | None = None,
) -> list[PipelineTime]:
    """Per pipeline of the record's object, the time it spent in each stage it has been in."""
    report = await record_stages(conn, principal, object_key, ref, pipeline=pipeline)
    return report.times
