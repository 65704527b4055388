"""How the native API shows records in motion: stage moves, time in stages, the funnel."""

from __future__ import annotations

from typing import Any

from crm.core.metadata.model import FieldMeta, PipelineMeta
from crm.core.pipelines.motion import (
    PipelineSummary,
    PipelineTime,
    StageMove,
    StageRef,
    StageReport,
    StageTotal,
)


def _stage(ref: StageRef | None) -> dict[str, str] | None:
    return {"id": ref.id, "name": ref.name} if ref else None


def _pipeline(p: PipelineMeta) -> dict[str, Any]:
    return {"id": str(p.uuid), "key": p.key, "label": p.label}


def stage_move(m: StageMove) -> dict[str, Any]:
    return {
        "event_id": str(m.event_id),
        "pipeline": {"id": m.pipeline_id, "key": m.pipeline_key},
        "from": _stage(m.from_stage),
        "to": _stage(m.to_stage),
        "at": m.at,
        "actor_id": str(m.actor_id) if m.actor_id else None,
    }


def pipeline_time(t: PipelineTime) -> dict[str, Any]:
    return {
        "pipeline": _pipeline(t.pipeline),
        "stages": [
            {
                "stage": _stage(s.stage),
                "seconds": s.seconds,
                "entries": s.entries,
                "current": s.current,
            }
            for s in t.stages
        ],
    }


def stage_report(r: StageReport) -> dict[str, Any]:
    return {
        "record_id": str(r.record.uuid),
        "object": r.record.object.key,
        "history": [stage_move(m) for m in r.history],
        "time_in_stages": [pipeline_time(t) for t in r.times],
    }


def _amounts(t: StageTotal, f: FieldMeta | None, *, weighted: bool) -> dict[str, Any]:
    if f is None:
        return {}
    out: dict[str, Any] = {"amount": t.amount}
    if weighted:
        out["weighted_amount"] = t.weighted_amount
    return out


def _amount_field(f: FieldMeta | None) -> dict[str, Any] | None:
    if f is None:
        return None
    # A currency field without options.currency is in USD, the field type's default.
    currency = f.options.get("currency", "USD") if f.type == "currency" else None
    return {"key": f.key, "type": f.type, "currency": currency}


def pipeline_summary(s: PipelineSummary) -> dict[str, Any]:
    f = s.amount_field
    return {
        "pipeline": {**_pipeline(s.pipeline), "object": s.object.key},
        "amount_field": _amount_field(f),
        "stages": [
            {
                "id": str(t.stage.uuid),
                "name": t.stage.name,
                "kind": t.stage.kind,
                "probability": t.stage.probability,
                "count": t.count,
                **_amounts(t, f, weighted=True),
            }
            for t in s.stages
            if t.stage is not None
        ],
        "no_stage": {"count": s.no_stage.count, **_amounts(s.no_stage, f, weighted=False)},
        "total": {"count": s.total.count, **_amounts(s.total, f, weighted=True)},
    }
