"""A pipeline's funnel: how many records (and how much) sit in each stage.

One GROUP BY over the records the caller sees, so counts never include another user's
records that the role hides. Re-exported by :mod:`crm.core.pipelines.motion`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.errors import FieldError, ValidationFailed
from crm.core.metadata.model import FieldMeta, ObjectMeta, PipelineMeta, StageMeta
from crm.core.pipelines.service import get_pipeline
from crm.core.records import query as rq
from crm.core.records import repository as repo
from crm.db import jsonsql
from crm.db.schema import records

AMOUNT_TYPES = ("number", "currency")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class StageTotal:
    """The live, unarchived records a caller sees in one stage (``stage`` None: no stage)."""

    stage: StageMeta | None
    count: int
    amount: int | float | None = None
    weighted_amount: int | float | None = None


@dataclass(frozen=True)
class PipelineSummary:
    """A pipeline's funnel: every stage in order, with counts and (optionally) amounts."""

    pipeline: PipelineMeta
    object: ObjectMeta
    amount_field: FieldMeta | None
    stages: list[StageTotal]
    no_stage: StageTotal
    total: StageTotal


def _amount_field(obj: ObjectMeta, key: str | None) -> FieldMeta | None:
    """The field to sum: ``key`` (a number or currency field) or the first currency field."""
    if key is None:
        return next((f for f in obj.ordered_fields if f.type == "currency"), None)
    f = obj.fields.get(key)
    if f is None or f.type not in AMOUNT_TYPES:
        raise ValidationFailed.of(
            [FieldError("amount", f"must name a number or currency field of {obj.key}")]
        )
    return f


def _amount_expr(dialect: str, key: str) -> sa.ColumnElement[Any]:
    if dialect == "postgresql":
        stored = jsonsql.value_expr(dialect, key)
        return sa.case(
            (
                sa.func.jsonb_typeof(stored) == "number",
                sa.cast(jsonsql.text_expr(dialect, key), sa.Numeric),
            )
        )
    return jsonsql.value_expr(dialect, key)


def _exact(value: Any, f: FieldMeta) -> Decimal:
    """A sum as a Decimal; currency in whole cents (stored amounts are cents, so exact)."""
    if value is None:
        return Decimal(0)
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(CENT, rounding=ROUND_HALF_UP) if f.type == "currency" else exact


def _plain(value: Decimal) -> int | float:
    """A sum as JSON shows it: integral values as integers."""
    return int(value) if value == value.to_integral_value() else float(value)


async def stage_summary(
    conn: AsyncConnection,
    principal: Principal,
    pipeline_ref: str,
    *,
    amount: str | None = None,
    filter: Any = None,
) -> PipelineSummary:
    """Counts (and sums of an amount field) of the records the caller sees, per stage.

    Every stage is listed in order, empty ones included; records without a stage are
    counted apart. Archived and deleted records are left out. ``filter`` narrows the records
    like a search filter does.
    """
    meta, pipeline = await get_pipeline(conn, principal, pipeline_ref)
    obj = meta.objects_by_id[pipeline.object_type_id]
    principal.require_scope(obj.key, "list")
    amount_field = _amount_field(obj, amount)
    dialect = conn.dialect.name
    stage_col = jsonsql.value_expr(dialect, pipeline.key)
    columns: list[sa.ColumnElement[Any]] = [
        stage_col.label("stage"),
        sa.func.count().label("n"),
    ]
    if amount_field is not None:
        columns.append(sa.func.sum(_amount_expr(dialect, amount_field.key)).label("amount"))
    where = [repo.scoped(principal, obj), records.c.archived_at.is_(None)]
    compiled = rq.compile_filter(meta, obj, dialect, filter)
    if compiled is not None:
        where.append(compiled)
    rows = await conn.execute(sa.select(*columns).where(*where).group_by(stage_col))
    counts: dict[str | None, int] = {}
    sums: dict[str | None, Decimal] = {}
    known = {str(s.uuid) for s in pipeline.stages}
    for row in rows:
        sid = row.stage if isinstance(row.stage, str) and row.stage in known else None
        counts[sid] = counts.get(sid, 0) + int(row.n)
        if amount_field is not None:
            sums[sid] = sums.get(sid, Decimal(0)) + _exact(row.amount, amount_field)
    return _summary(pipeline, obj, amount_field, counts, sums)


def _summary(
    pipeline: PipelineMeta,
    obj: ObjectMeta,
    f: FieldMeta | None,
    counts: dict[str | None, int],
    sums: dict[str | None, Decimal],
) -> PipelineSummary:
    total = sum(counts.values())
    if f is None:
        stages = [StageTotal(s, counts.get(str(s.uuid), 0)) for s in pipeline.stages]
        no_stage = StageTotal(None, counts.get(None, 0))
        return PipelineSummary(pipeline, obj, None, stages, no_stage, StageTotal(None, total))
    summed = [sums.get(str(s.uuid), Decimal(0)) for s in pipeline.stages]
    # Each stage's weighted amount is rounded as shown, so that the total adds them up.
    weighted = [
        _exact(a * s.probability / 100, f) for a, s in zip(summed, pipeline.stages, strict=True)
    ]
    stages = [
        StageTotal(s, counts.get(str(s.uuid), 0), _plain(a), _plain(w))
        for s, a, w in zip(pipeline.stages, summed, weighted, strict=True)
    ]
    no_stage_sum = sums.get(None, Decimal(0))
    all_sum = sum(summed, no_stage_sum)
    all_weighted = sum(weighted, Decimal(0))
    return PipelineSummary(
        pipeline,
        obj,
        f,
        stages,
        StageTotal(None, counts.get(None, 0), _plain(no_stage_sum)),
        StageTotal(None, total, _plain(all_sum), _plain(all_weighted)),
    )
