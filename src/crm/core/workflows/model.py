"""What a workflow, a run of it and a run's step log hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

#: ``async`` runs in the worker from the event log. ``sync`` (inside the change's own
#: transaction, no waits, no outside calls) is refused until it is built.
RUNTIMES = ("async", "sync")
#: What starts a workflow on a record.
TRIGGERS = (
    "record.created",
    "record.updated",
    "stage.changed",
    "list.added",
    "list.removed",
    "tag.added",
    "date.reached",
    "manual",
)
#: A run's life: due to run a step (``pending``), sleeping until ``due_at`` (``waiting``),
#: and its ends. ``cut`` runs were triggered too many runs deep (see :data:`MAX_DEPTH`).
PENDING, WAITING = "pending", "waiting"
COMPLETED, STOPPED, FAILED, CANCELLED, CUT = "completed", "stopped", "failed", "cancelled", "cut"
LIVE = (PENDING, WAITING)
#: The consumer of the event log that starts runs (a row of ``event_consumers``).
CONSUMER = "workflows"
#: A run started by a change that a run made is one deeper than that run; a run deeper
#: than this is not run, so that workflows that trigger each other (or themselves) stop.
MAX_DEPTH = 5

#: Where a run is: the path of its next step in the workflow's steps, e.g. ``[2, "then",
#: 0]`` for the first step of the ``then`` branch of the third step.
Path = list[int | str]


def path_text(path: Path) -> str:
    """A path as the step log shows it: ``2.then.0``."""
    return ".".join(str(p) for p in path)


@dataclass(frozen=True)
class Category:
    id: int
    uuid: UUID
    number: int
    name: str


@dataclass(frozen=True)
class Workflow:
    id: int
    uuid: UUID
    number: int
    object_key: str
    name: str
    description: str
    category: Category | None
    published: bool
    runtime: str
    trigger: dict[str, Any]
    conditions: dict[str, Any] | None
    steps: list[dict[str, Any]]
    created_by: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StepLog:
    """What one step of a run did."""

    position: str
    type: str
    status: str
    detail: dict[str, Any] | None
    at: datetime


@dataclass(frozen=True)
class Run:
    id: int
    uuid: UUID
    workflow_uuid: UUID
    workflow_number: int
    workflow_name: str
    record_uuid: UUID | None
    record_number: int | None
    object_key: str
    status: str
    position: Path
    depth: int
    due_at: datetime | None
    error: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    steps: list[StepLog] | None = None
