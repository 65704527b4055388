"""The steps a workflow runs, each checked when the workflow is saved and run by a worker
(or, for ``sync`` workflows, inside the change's transaction).

A step is a :class:`Step` in :data:`STEPS`: it checks its spec against the workspace's
metadata and answers what it did as an :class:`Outcome` (go on, wait until a time, take a
branch, stop). Each runs through the core's checked services as the run's principal, so
what it changes leaves events like any other change. A new kind of step (sending an
email) is a class registered with :func:`register`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.core.auth.principal import Principal
from crm.core.errors import CRMError, FieldError, ValidationFailed
from crm.core.lists import service as lists
from crm.core.metadata.model import ObjectMeta, UserMeta, WorkspaceMeta
from crm.core.notes import service as notes
from crm.core.pipelines import motion
from crm.core.records import canonical
from crm.core.records import service as records
from crm.core.records.model import Record
from crm.core.records.query import compile_filter
from crm.core.records.sequences import take_numbers
from crm.core.tags import service as tags
from crm.core.workflows import calls
from crm.core.workflows.model import Path, path_text
from crm.db.schema import records as record_rows

__all__ = [
    "STEPS",
    "Acting",
    "Checking",
    "Outcome",
    "Step",
    "check_filter",
    "register",
    "render",
]

#: The most steps a workflow holds, counting those in branches.
MAX_STEPS = 50
#: The longest a wait may last.
MAX_WAIT = timedelta(days=366)
_TEMPLATE = re.compile(r"{{\s*([a-z][a-z0-9_]*)\s*}}")
_UNITS = ("days", "hours", "minutes")


@dataclass(frozen=True)
class Checking:
    """What a step's spec is checked against when its workflow is saved."""

    conn: AsyncConnection
    principal: Principal
    meta: WorkspaceMeta
    obj: ObjectMeta
    #: Steps counted so far (branches included), against :data:`MAX_STEPS`.
    counted: list[int] = field(default_factory=lambda: [0])


@dataclass(frozen=True)
class Acting:
    """What a step acts in: the run's transaction and principal, and its record."""

    conn: AsyncConnection
    principal: Principal
    meta: WorkspaceMeta
    obj: ObjectMeta
    record: Record
    #: The workflow's row and the run's (for a step that leaves work for later).
    workflow: Any
    run: Any
    position: Path
    now: datetime


@dataclass(frozen=True)
class Outcome:
    """What a step did (``detail``, for the run's log) and where the run goes next."""

    detail: dict[str, Any] | None = None
    wait_until: datetime | None = None
    branch: str | None = None
    stop: bool = False
    #: The run waits, with no time set, until what the step started wakes it.
    held: bool = False


def _bad(where: str, message: str) -> ValidationFailed:
    return ValidationFailed.of([FieldError(where, message)])


def _keys(spec: dict[str, Any], where: str, allowed: set[str], required: set[str]) -> None:
    errors = [FieldError(f"{where}.{k}", "unknown attribute", "unknown") for k in spec]
    errors = [e for e in errors if e.field.rsplit(".", 1)[1] not in allowed]
    errors += [FieldError(f"{where}.{k}", "is required", "required") for k in required - set(spec)]
    if errors:
        raise ValidationFailed.of(errors)


def check_filter(at: Checking, node: Any, where: str) -> None:
    """A filter of the record's fields; ValidationFailed naming its wrong part from
    ``where`` (``conditions.and[1].op``) rather than from ``filter``."""
    try:
        compile_filter(at.meta, at.obj, at.conn.dialect.name, node)
    except ValidationFailed as exc:
        raise ValidationFailed.of(
            [
                FieldError(where + e.field.removeprefix("filter"), e.message, e.code)
                for e in exc.field_errors
            ]
        ) from None


def template_keys(text: str) -> list[str]:
    return _TEMPLATE.findall(text)


def check_template(obj: ObjectMeta, value: Any, where: str) -> None:
    """A text whose ``{{field}}`` names fields of the record (or ``display_name``)."""
    if not isinstance(value, str):
        return
    unknown = [k for k in template_keys(value) if k not in obj.fields and k != "display_name"]
    if unknown:
        raise _bad(where, f"no field {unknown[0]!r} to fill in")


def render(value: Any, record: Record) -> Any:
    """``value`` with each ``{{field}}`` replaced by the record's value (empty if none)."""
    if not isinstance(value, str):
        return value

    def filled(match: re.Match[str]) -> str:
        key = match.group(1)
        found = record.display_name if key == "display_name" else record.data.get(key)
        return "" if found is None else str(found)

    return _TEMPLATE.sub(filled, value)


def duration(spec: Any, where: str) -> timedelta:
    """``{"days": 1, "hours": 2, "minutes": 30}`` (any of them) as a time span."""
    if not isinstance(spec, dict) or not spec or set(spec) - set(_UNITS):
        raise _bad(where, "must give days, hours and/or minutes")
    if not all(type(v) is int and v >= 0 for v in spec.values()):
        raise _bad(where, "must give whole numbers of days, hours and minutes")
    span = timedelta(**spec)
    if span > MAX_WAIT:
        raise _bad(where, f"must be at most {MAX_WAIT.days} days")
    return span


def check_offset(given: Any, where: str) -> dict[str, Any]:
    """An offset from a date: ``{"days": 3, "hours": 2, "before": true}`` (after unless
    ``before``), as stored."""
    offset = {"days": 0} if given is None else given
    if not isinstance(offset, dict):
        raise _bad(where, "must give days, hours and/or minutes")
    before = offset.get("before", False)
    if not isinstance(before, bool):
        raise _bad(f"{where}.before", "must be true or false")
    span = {k: v for k, v in offset.items() if k != "before"} or {"days": 0}
    duration(span, where)
    return {**span, "before": before}


def shift(offset: dict[str, Any]) -> timedelta:
    """How far a stored offset (see :func:`check_offset`) moves a moment."""
    given = dict(offset)
    before = given.pop("before", False)
    span = duration(given or {"days": 0}, "offset")
    return -span if before else span


def moment(value: Any) -> datetime | None:
    """The time a stored date or datetime stands for (a date at midnight UTC); None for an
    empty value."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _user(meta: WorkspaceMeta, ref: Any, where: str) -> UserMeta:
    found = meta.users_by_uuid.get(str(ref))
    if found is None or not found.active:
        raise _bad(where, f"no active user {ref!r}")
    return found


class Step:
    """One kind of step."""

    kind: ClassVar[str]
    allowed: ClassVar[set[str]] = set()
    required: ClassVar[set[str]] = set()

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        """The spec as stored; ValidationFailed naming what is wrong in it."""
        _keys(spec, where, self.allowed | {"type"}, self.required)
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        raise NotImplementedError


def _check_fields(obj: ObjectMeta, given: Any, about: ObjectMeta, where: str) -> None:
    """Values for fields of ``obj``, whose templates fill in from a record of ``about``."""
    if not isinstance(given, dict) or not given:
        raise _bad(where, "must name at least one field")
    for key, value in given.items():
        if key not in obj.fields:
            raise _bad(f"{where}.{key}", f"no field {key!r} on {obj.key}")
        check_template(about, value, f"{where}.{key}")


class SetFields(Step):
    kind = "set_fields"
    allowed = required = {"fields"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        _check_fields(at.obj, spec["fields"], at.obj, f"{where}.fields")
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        values = {k: render(v, at.record) for k, v in spec["fields"].items()}
        await records.update_record(at.conn, at.principal, at.obj.key, at.record.id, fields=values)
        return Outcome({"fields": values})


class AssignOwner(Step):
    """A given user, in turn among users (``round_robin``), or whoever of them owns the
    fewest live records of the object (``least_loaded``)."""

    kind = "assign_owner"
    allowed = {"user", "round_robin", "least_loaded"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        ways = [k for k in self.allowed if k in spec]
        if len(ways) != 1:
            raise _bad(where, "must give one of user, round_robin or least_loaded")
        (way,) = ways
        if way == "user":
            return {
                "type": self.kind,
                "user": str(_user(at.meta, spec["user"], f"{where}.user").uuid),
            }
        given = spec[way]
        if not isinstance(given, list) or not given or len(given) > 100:
            raise _bad(f"{where}.{way}", "must list 1 to 100 users")
        users = [str(_user(at.meta, u, f"{where}.{way}[{i}]").uuid) for i, u in enumerate(given)]
        return {"type": self.kind, way: users}

    async def _least_loaded(self, at: Acting, candidates: list[UserMeta]) -> UserMeta:
        counts = dict.fromkeys((u.id for u in candidates), 0)
        rows = await at.conn.execute(
            sa.select(record_rows.c.owner_id, sa.func.count())
            .where(
                record_rows.c.workspace_id == at.principal.workspace_id,
                record_rows.c.object_type_id == at.obj.id,
                record_rows.c.owner_id.in_(list(counts)),
                record_rows.c.deleted_at.is_(None),
                record_rows.c.archived_at.is_(None),
            )
            .group_by(record_rows.c.owner_id)
        )
        counts.update({owner: n for owner, n in rows})
        return min(candidates, key=lambda u: counts[u.id])

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        if "user" in spec:
            chosen = _user(at.meta, spec["user"], "user")
        else:
            way = "round_robin" if "round_robin" in spec else "least_loaded"
            candidates = [_user(at.meta, u, way) for u in spec[way]]
            if way == "least_loaded":
                chosen = await self._least_loaded(at, candidates)
            else:
                turn = hashlib.sha256(f"{at.workflow.id}:{path_text(at.position)}".encode())
                name = f"turn:{turn.hexdigest()[:24]}"
                taken = await take_numbers(at.conn, at.principal.workspace_id, name, 1)
                chosen = candidates[(taken - 1) % len(candidates)]
        await records.update_record(
            at.conn, at.principal, at.obj.key, at.record.id, fields={}, owner=str(chosen.uuid)
        )
        return Outcome({"owner": str(chosen.uuid), "name": chosen.name})


class _Tagging(Step):
    allowed = required = {"tag"}
    adds: ClassVar[bool]

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        try:
            found = await tags.get_tag(at.conn, at.principal, str(spec["tag"]))
        except CRMError:
            raise _bad(f"{where}.tag", f"no tag {spec['tag']!r}") from None
        return {"type": self.kind, "tag": str(found.uuid)}

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        change = tags.tag_record if self.adds else tags.untag_record
        await change(at.conn, at.principal, at.obj.key, at.record.id, spec["tag"])
        return Outcome({"tag": spec["tag"]})


class AddTag(_Tagging):
    kind, adds = "add_tag", True


class RemoveTag(_Tagging):
    kind, adds = "remove_tag", False


class _Listing(Step):
    allowed = required = {"list"}
    adds: ClassVar[bool]

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        try:
            found = await lists.get_list(at.conn, at.principal, spec["list"])
        except CRMError:
            found = None
        if found is None or found.object.key != at.obj.key:
            raise _bad(f"{where}.list", f"no list {spec['list']!r} of {at.obj.key} records")
        return {"type": self.kind, "list": str(found.uuid)}

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        change = lists.add_member if self.adds else lists.remove_member
        await change(at.conn, at.principal, spec["list"], str(at.record.uuid))
        return Outcome({"list": spec["list"]})


class AddToList(_Listing):
    kind, adds = "add_to_list", True


class RemoveFromList(_Listing):
    kind, adds = "remove_from_list", False


class MoveStage(Step):
    kind = "move_stage"
    allowed, required = {"stage", "pipeline"}, {"stage"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        staged = [p for p in at.meta.pipelines.values() if p.object_type_id == at.obj.id]
        pipeline = spec.get("pipeline")
        chosen = [p for p in staged if pipeline in (None, p.key, str(p.uuid))]
        if not chosen:
            raise _bad(f"{where}.pipeline", f"no pipeline {pipeline!r} for {at.obj.key}")
        stage = spec["stage"]
        found = chosen[0].stage(str(stage))
        if found is None:
            raise _bad(f"{where}.stage", f"no stage {stage!r} in {chosen[0].label}")
        return {"type": self.kind, "pipeline": chosen[0].key, "stage": str(found.uuid)}

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        await motion.move_stage(
            at.conn,
            at.principal,
            at.obj.key,
            at.record.id,
            pipeline=spec["pipeline"],
            stage=spec["stage"],
        )
        return Outcome({"stage": spec["stage"]})


class CreateTask(Step):
    """A task about the record, due a while after the step runs, owned by the record's
    owner unless the step names a user."""

    kind = "create_task"
    allowed, required = {"title", "due_in", "owner", "category", "description"}, {"title"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        if not isinstance(spec["title"], str) or not spec["title"].strip():
            raise _bad(f"{where}.title", "must be a text")
        check_template(at.obj, spec["title"], f"{where}.title")
        check_template(at.obj, spec.get("description"), f"{where}.description")
        if "due_in" in spec:
            duration(spec["due_in"], f"{where}.due_in")
        if spec.get("owner") not in (None, "record_owner"):
            spec = {**spec, "owner": str(_user(at.meta, spec["owner"], f"{where}.owner").uuid)}
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        fields: dict[str, Any] = {
            "task": render(spec["title"], at.record),
            "association_type": at.obj.key,
            "association_id": str(at.record.number),
        }
        if "due_in" in spec:
            fields["due_date"] = (at.now + duration(spec["due_in"], "due_in")).isoformat()
        for key in ("category", "description"):
            if spec.get(key) is not None:
                fields[key] = render(spec[key], at.record)
        owner = spec.get("owner")
        if owner in (None, "record_owner"):
            holder = at.meta.users.get(at.record.owner_id) if at.record.owner_id else None
            owner = str(holder.uuid) if holder else None
        made = await records.create_record(
            at.conn, at.principal, "task", fields=fields, owner=owner
        )
        return Outcome({"task": str(made.uuid)})


class CreateNote(Step):
    kind = "create_note"
    allowed, required = {"text", "kind"}, {"text"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        if not isinstance(spec["text"], str) or not spec["text"].strip():
            raise _bad(f"{where}.text", "must be a text")
        check_template(at.obj, spec["text"], f"{where}.text")
        if spec.get("kind", "note") not in notes.NOTE_KINDS:
            raise _bad(f"{where}.kind", "must be one of " + ", ".join(notes.NOTE_KINDS))
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        made = await notes.add_note(
            at.conn,
            at.principal,
            at.obj.key,
            at.record.id,
            {"body": render(spec["text"], at.record), "kind": spec.get("kind", "note")},
        )
        return Outcome({"note": str(made.uuid)})


class CreateRecord(Step):
    """A record of another (or the same) object, its text filled in from this record;
    ``relate`` names a relation field of the new record to point at this one."""

    kind = "create_record"
    allowed, required = {"object", "fields", "relate"}, {"object", "fields"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        made = at.meta.objects.get(spec["object"]) if isinstance(spec["object"], str) else None
        if made is None:
            raise _bad(f"{where}.object", f"no object type {spec['object']!r}")
        _check_fields(made, spec["fields"], at.obj, f"{where}.fields")
        if "relate" in spec:
            f = made.fields.get(spec["relate"]) if isinstance(spec["relate"], str) else None
            if f is None or f.type != "relation" or f.options.get("object") != at.obj.key:
                raise _bad(f"{where}.relate", f"must name a relation of {made.key} to {at.obj.key}")
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        values = {k: render(v, at.record) for k, v in spec["fields"].items()}
        if "relate" in spec:
            values[spec["relate"]] = str(at.record.uuid)
        made = await records.create_record(at.conn, at.principal, spec["object"], fields=values)
        return Outcome({"record": str(made.uuid), "object": spec["object"]})


class UpdateRelated(Step):
    """Set fields of the record a relation field of this record names (each of them, for
    a relation to several); nothing when it names none."""

    kind = "update_related"
    allowed = required = {"relation", "fields"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        f = at.obj.fields.get(spec["relation"]) if isinstance(spec["relation"], str) else None
        if f is None or f.type != "relation":
            raise _bad(f"{where}.relation", f"must name a relation field of {at.obj.key}")
        _check_fields(
            at.meta.object(f.options["object"]), spec["fields"], at.obj, f"{where}.fields"
        )
        return spec

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        f = at.obj.fields[spec["relation"]]
        held = at.record.data.get(f.key)
        refs = held if isinstance(held, list) else [] if held is None else [held]
        values = {k: render(v, at.record) for k, v in spec["fields"].items()}
        for ref in refs:
            await records.update_record(
                at.conn, at.principal, f.options["object"], str(ref), fields=values
            )
        return Outcome({"updated": [str(r) for r in refs]})


class Wait(Step):
    """For a while (``for``), or until a date field of the record, moved by ``offset``
    (negative to wait until before it); a moment already past does not wait."""

    kind = "wait"
    allowed = {"for", "until", "offset"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        if ("for" in spec) == ("until" in spec):
            raise _bad(where, "must wait for a while or until a date field")
        if "for" in spec:
            duration(spec["for"], f"{where}.for")
            return spec
        f = at.obj.fields.get(spec["until"])
        if f is None or f.type not in ("date", "datetime"):
            raise _bad(f"{where}.until", f"no date field {spec['until']!r} on {at.obj.key}")
        return {**spec, "offset": check_offset(spec.get("offset"), f"{where}.offset")}

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        if "for" in spec:
            return Outcome(wait_until=at.now + duration(spec["for"], "for"))
        at_moment = moment(at.record.data.get(spec["until"]))
        if at_moment is None:
            return Outcome({"skipped": f"{spec['until']} is empty"})
        due = at_moment + shift(spec["offset"])
        return Outcome(wait_until=due) if due > at.now else Outcome({"skipped": "already past"})


class Branch(Step):
    """The ``then`` steps when the record matches the filter ``if``, else the ``else``
    steps; then on after the branch."""

    kind = "branch"
    allowed, required = {"if", "then", "else"}, {"if"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        check_filter(at, spec["if"], f"{where}.if")
        out = {"type": self.kind, "if": spec["if"]}
        for arm in ("then", "else"):
            out[arm] = await check_steps(at, spec.get(arm, []), f"{where}.{arm}")
        return out

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        held = await records.record_matches(
            at.conn, at.principal, at.obj.key, at.record.id, spec["if"]
        )
        return Outcome({"matched": held}, branch="then" if held else "else")


class CallWebhook(Step):
    """Send the record, with the workflow and the run, to a webhook subscription's URL,
    signed with its secret (as its events are); the run waits until it is sent, and fails
    if it cannot be (see :mod:`crm.core.workflows.calls`)."""

    kind = "webhook"
    allowed = required = {"subscription"}

    async def check(self, at: Checking, spec: dict[str, Any], where: str) -> dict[str, Any]:
        await super().check(at, spec, where)
        ref = spec["subscription"]
        found = await calls.subscription_of(
            at.conn, at.principal.workspace_id, ref, f"{where}.subscription"
        )
        return {"type": self.kind, "subscription": found}

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        message = {
            "workflow": {"id": str(at.workflow.uuid), "name": at.workflow.name},
            "run": str(at.run.uuid),
            "step": path_text(at.position),
            "object": at.obj.key,
            "record": canonical.record(at.meta, at.record),
        }
        call = await calls.queue(
            at.conn, at.run, spec["subscription"], path_text(at.position), message
        )
        return Outcome({"call": call, "subscription": spec["subscription"]}, held=True)


class Stop(Step):
    kind = "stop"

    async def run(self, at: Acting, spec: dict[str, Any]) -> Outcome:
        return Outcome(stop=True)


#: Every kind of step, by its ``type``.
STEPS: dict[str, Step] = {}


def register(step: Step) -> None:
    """Make a kind of step available to workflows."""
    STEPS[step.kind] = step


for _step in (
    SetFields(),
    AssignOwner(),
    AddTag(),
    RemoveTag(),
    AddToList(),
    RemoveFromList(),
    MoveStage(),
    CreateTask(),
    CreateNote(),
    CreateRecord(),
    UpdateRelated(),
    Wait(),
    Branch(),
    CallWebhook(),
    Stop(),
):
    register(_step)


async def check_steps(at: Checking, given: Any, where: str) -> list[dict[str, Any]]:
    """A list of steps as stored; ValidationFailed naming the first wrong part."""
    if not isinstance(given, list):
        raise _bad(where, "must be a list of steps")
    out = []
    for i, spec in enumerate(given):
        here = f"{where}[{i}]"
        if not isinstance(spec, dict) or spec.get("type") not in STEPS:
            raise _bad(f"{here}.type", "must be one of " + ", ".join(sorted(STEPS)))
        at.counted[0] += 1
        if at.counted[0] > MAX_STEPS:
            raise _bad(here, f"a workflow holds at most {MAX_STEPS} steps")
        out.append(await STEPS[spec["type"]].check(at, spec, here))
    return out


def step_at(steps: list[dict[str, Any]], path: Path) -> dict[str, Any] | None:
    """The step a path names, or None past the end of its list."""
    found: Any = steps
    for part in path[:-1]:
        found = found[part]
    last = path[-1]
    assert isinstance(last, int)
    return found[last] if last < len(found) else None


def after(steps: list[dict[str, Any]], path: Path) -> Path | None:
    """The path of the step that follows the one at ``path`` (out of finished branches);
    None when the workflow is done."""
    here = list(path)
    while here:
        last = here[-1]
        assert isinstance(last, int)
        nxt = [*here[:-1], last + 1]
        if step_at(steps, nxt) is not None:
            return nxt
        if len(here) < 3:
            return None
        here = here[:-2]  # out of the branch, to the branch step itself
    return None


def enter(steps: list[dict[str, Any]], path: Path, arm: str) -> Path | None:
    """The path of the first step of the branch ``arm`` of the step at ``path``, or of the
    step after it when that arm has none."""
    inside: Path = [*path, arm, 0]
    return inside if step_at(steps, inside) is not None else after(steps, path)
