"""Reading one loosely keyed intake payload into field values and intake directives.

Besides field values, a payload may carry ``assignee`` (the owner), ``viewers`` (users the
record is shared with), ``note``/``notes`` and ``status:<pipeline>`` (a stage by name or
id). Where no field has the key, a channel's name (``whatsapp``, ``telegram``, ...) gives
the record an identity on it, ``tags`` names its tags, and ``name``/``full name`` fills
first and last name. Keys that match no field are kept, not dropped: they travel with the
record as its unmapped values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm.core.errors import FieldError, ValidationFailed
from crm.core.identities.service import CHANNELS, normalise_address
from crm.core.intake.keys import KeyMatcher, normalise
from crm.core.limits import MAX_IDENTITIES_PER_ITEM, MAX_NOTES_PER_ITEM, MAX_TAGS_PER_ITEM
from crm.core.metadata.model import ObjectMeta
from crm.core.notes.service import check_note
from crm.core.storable import unstorable
from crm.core.tags.service import check_name

#: Keys that name the object type, read before the payload (``lead_object`` is the old name).
ENTITY_KEYS = frozenset({"entity", "leadobject"})
STATUS_PREFIX = "status"
#: Channels named as keys; ``email`` is left to the email field.
CHANNEL_KEYS = {normalise(c): c for c in CHANNELS if c != "email"}
FULL_NAME_KEYS = frozenset({"name", "fullname"})


@dataclass
class Submission:
    """One payload, read: what goes into fields and what intake does besides."""

    fields: dict[str, Any] = field(default_factory=dict)
    matched: dict[str, str] = field(default_factory=dict)
    unmapped: dict[str, Any] = field(default_factory=dict)
    assignee: str | None = None
    viewers: Any = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    #: A batch's shared note: added once to each record the batch writes, however many of
    #: its items meet in that record.
    batch_notes: list[dict[str, Any]] = field(default_factory=list)
    #: ``(channel, address)`` identities, addresses in their stored form.
    identities: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def read_notes(key: str, value: Any) -> tuple[list[dict[str, Any]], list[FieldError]]:
    """Notes given as text or ``{"text", "tag"}``, one or a list, checked."""
    unfit = unstorable(value, key)
    if unfit is not None:
        where, _, message = unfit.partition(": ")
        return [], [FieldError(where, message)]
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_NOTES_PER_ITEM:
        return [], [FieldError(key, f"at most {MAX_NOTES_PER_ITEM} notes")]
    out: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]" if isinstance(value, list) else key
        if item is None or item == "":
            continue
        if isinstance(item, dict) and not set(item) - {"text", "tag"}:
            spec = {"body": item.get("text"), "tag": item.get("tag")}
        elif isinstance(item, str):
            spec = {"body": item}
        else:
            errors.append(FieldError(where, 'must be text or {"text", "tag"}'))
            continue
        try:
            out.append(check_note(spec))
        except ValidationFailed as exc:
            for d in exc.details:
                attr = "text" if d["field"] == "body" else d["field"]
                errors.append(
                    FieldError(f"{where}.{attr}" if isinstance(item, dict) else where, d["message"])
                )
    return out, errors


def _stage(
    matcher: KeyMatcher, obj: ObjectMeta, key: str, name: str, value: Any
) -> tuple[str | None, Any, FieldError | None]:
    """``status:<pipeline>``: the pipeline's stage field and the stage, or what is wrong."""
    pipeline = matcher.pipeline(name)
    if pipeline is None:
        return None, None, FieldError(key, f"no pipeline {name!r} on {obj.key}")
    if value is None or value == "":
        return pipeline.key, None, None
    stage = pipeline.stage(value) if isinstance(value, str) else None
    if stage is None:
        names = ", ".join(s.name for s in pipeline.stages)
        return (
            None,
            None,
            FieldError(key, f"no stage {value!r} in {pipeline.label}; stages: {names}"),
        )
    return pipeline.key, stage.name, None


def read_submission(
    matcher: KeyMatcher, obj: ObjectMeta, payload: dict[str, Any]
) -> tuple[Submission, list[FieldError]]:
    """Sort a payload's keys into field values, directives and unmapped values."""
    out = Submission()
    unfit = unstorable(payload, "payload")
    if unfit is not None:
        where, _, message = unfit.partition(": ")
        return out, [FieldError(where.removeprefix("payload.") or "payload", message)]
    errors: list[FieldError] = []
    for key, value in payload.items():
        name = normalise(key)
        if name in ENTITY_KEYS:
            continue
        if name == "assignee":
            if value is not None and not isinstance(value, str):
                errors.append(FieldError(key, "must be a user id or email"))
            else:
                out.assignee = value or None
        elif name == "viewers":
            out.viewers = value
        elif name in ("note", "notes"):
            notes, problems = read_notes(key, value)
            out.notes += notes
            errors += problems
        elif ":" in key and normalise(key.split(":", 1)[0]) == STATUS_PREFIX:
            field_key, stage, wrong = _stage(matcher, obj, key, key.split(":", 1)[1], value)
            if wrong is not None:
                errors.append(wrong)
            elif field_key is not None:
                out.fields[field_key] = stage
                out.matched[key] = field_key
        else:
            f = matcher.field(key)
            if f is None:
                if not _directive(obj, out, key, name, value, errors):
                    out.unmapped[key] = value
            elif f.key not in out.fields or out.fields[f.key] in (None, ""):
                out.fields[f.key] = value
                out.matched[key] = f.key
    return out, errors


def _listed(value: Any) -> list[Any]:
    """One value or a list; text may list several separated by commas or semicolons."""
    items = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out += [part.strip() for part in item.replace(";", ",").split(",") if part.strip()]
        elif item is not None:
            out.append(item)
    return out


def _directive(
    obj: ObjectMeta, out: Submission, key: str, name: str, value: Any, errors: list[FieldError]
) -> bool:
    """Read ``key`` as a channel, ``tags`` or a full name; whether it was one of them."""
    if name in CHANNEL_KEYS:
        channel = CHANNEL_KEYS[name]
        listed = _listed(value)
        if len(out.identities) + len(listed) > MAX_IDENTITIES_PER_ITEM:
            errors.append(FieldError(key, f"at most {MAX_IDENTITIES_PER_ITEM} addresses a record"))
            return True
        for address in listed:
            try:
                out.identities.append((channel, normalise_address(channel, address)))
            except ValidationFailed as exc:
                errors += [FieldError(key, e.message) for e in exc.field_errors]
        return True
    if name == "tags":
        listed = _listed(value)
        if len(listed) > MAX_TAGS_PER_ITEM:
            errors.append(FieldError(key, f"at most {MAX_TAGS_PER_ITEM} tags a record"))
            return True
        for tag in listed:
            try:
                out.tags.append(check_name(tag))
            except ValidationFailed:
                errors.append(FieldError(key, "each tag must be 1 to 100 characters of text"))
        return True
    if name in FULL_NAME_KEYS and {"first_name", "last_name"} <= obj.fields.keys():
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(key, "must be text"))
            return True
        first, _, last = " ".join((value or "").split()).rpartition(" ")
        for field_key, part in (
            ("first_name", first or last),
            ("last_name", last if first else ""),
        ):
            if part and out.fields.get(field_key) in (None, ""):
                out.fields[field_key] = part
                out.matched.setdefault(key, field_key)
        return True
    return False


def understood(matcher: KeyMatcher, obj: ObjectMeta, key: str) -> bool:
    """Whether intake reads ``key`` into a field or a directive rather than keeping it aside."""
    name = normalise(key)
    if matcher.field(key) is not None or name in CHANNEL_KEYS or name == "tags":
        return True
    if name in ("assignee", "viewers", "note", "notes"):
        return True
    if ":" in key and normalise(key.split(":", 1)[0]) == STATUS_PREFIX:
        return True
    return name in FULL_NAME_KEYS and {"first_name", "last_name"} <= obj.fields.keys()
