"""The in-memory picture of one workspace's metadata, loaded once per version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from crm.core.errors import NotFound
from crm.core.metadata.fieldtypes import FieldContext, FieldType, field_type


@dataclass(frozen=True)
class FieldMeta:
    id: int
    uuid: uuid.UUID
    object_type_id: int
    key: str
    label: str
    type: str
    group: str
    required: bool
    unique: bool
    searchable: bool
    indexed: bool
    is_standard: bool
    default: Any
    options: dict[str, Any]
    position: int
    created_at: datetime | None = None
    created_by: int | None = None

    @property
    def kind(self) -> FieldType:
        return field_type(self.type)

    @property
    def holds_links(self) -> bool:
        """A many-to-many relation: its values are links with attributes, not in ``data``."""
        return self.type == "relation" and bool(self.options.get("multiple"))

    @property
    def context(self) -> FieldContext:
        return FieldContext(self.key, self.options)


@dataclass(frozen=True)
class StageMeta:
    id: int
    uuid: uuid.UUID
    name: str
    kind: str
    probability: int
    color: str | None
    system_key: str | None
    position: int


@dataclass(frozen=True)
class PipelineMeta:
    id: int
    uuid: uuid.UUID
    object_type_id: int
    key: str
    label: str
    stages: tuple[StageMeta, ...]

    @cached_property
    def _by_uuid(self) -> dict[str, StageMeta]:
        return {str(s.uuid): s for s in self.stages}

    @cached_property
    def _by_name(self) -> dict[str, StageMeta]:
        return {s.name.casefold(): s for s in reversed(self.stages)}

    def stage(self, ref: str) -> StageMeta | None:
        """A stage by UUID or by name (case-insensitive)."""
        wanted = ref.strip().casefold()
        return self._by_uuid.get(wanted) or self._by_name.get(wanted)

    def stage_by_uuid(self, value: str) -> StageMeta | None:
        return self._by_uuid.get(value)


#: The category every object type has, and a field's group unless it names another.
GENERAL = "general"


@dataclass(frozen=True)
class CategoryMeta:
    """A named group of an object's fields, which the fields' ``group`` names by key."""

    id: int
    uuid: uuid.UUID
    key: str
    label: str
    position: int


#: Field types that identify a person or company on intake, matched by default.
DUPLICATE_KEY_TYPES = ("email", "phone")
DUPLICATE_POLICIES = ("create", "update", "skip")


@dataclass(frozen=True)
class DuplicateRule:
    """What intake does with a record whose ``match`` field values another record holds.

    ``update`` merges the new values into the existing record, ``skip`` leaves it as it is,
    ``create`` stores a new record anyway and reports the one it duplicates.
    """

    policy: str
    match: tuple[str, ...]


@dataclass(frozen=True)
class ObjectMeta:
    id: int
    uuid: uuid.UUID
    key: str
    label: str
    plural_label: str
    is_standard: bool
    display_fields: tuple[str, ...]
    fields: dict[str, FieldMeta]
    duplicates: DuplicateRule | None = None
    #: In the order clients see them: by position, then as created.
    categories: tuple[CategoryMeta, ...] = ()

    @property
    def duplicate_rule(self) -> DuplicateRule:
        """The configured rule, or by default: update on a matching email or phone field."""
        if self.duplicates is not None:
            match = tuple(k for k in self.duplicates.match if k in self.fields)
            return DuplicateRule(self.duplicates.policy, match)
        keys = tuple(f.key for f in self.ordered_fields if f.type in DUPLICATE_KEY_TYPES)
        return DuplicateRule("update", keys)

    def field(self, key: str) -> FieldMeta:
        try:
            return self.fields[key]
        except KeyError:
            raise NotFound(f"Object {self.key!r} has no field {key!r}") from None

    def category(self, ref: str) -> CategoryMeta:
        """A category by key or UUID; NotFound otherwise."""
        found = next((c for c in self.categories if ref in (c.key, str(c.uuid))), None)
        if found is None:
            raise NotFound(f"Object {self.key!r} has no field category {ref!r}")
        return found

    @cached_property
    def ordered_fields(self) -> tuple[FieldMeta, ...]:
        """The fields in the order clients see them (the metadata is immutable: sorted once)."""
        return tuple(sorted(self.fields.values(), key=lambda f: (f.position, f.id)))

    @cached_property
    def value_fields(self) -> tuple[FieldMeta, ...]:
        """The fields whose values are kept in a record's ``data`` (not links), in order."""
        return tuple(f for f in self.ordered_fields if not f.holds_links)


@dataclass(frozen=True)
class UserMeta:
    id: int
    uuid: uuid.UUID
    email: str
    name: str
    role_id: int
    active: bool
    #: Its number in its workspace, by which faces with integer ids name it.
    number: int | None = None


@dataclass
class WorkspaceMeta:
    """Objects, fields, pipelines and users of one workspace at one metadata version."""

    workspace_id: int
    version: int
    objects: dict[str, ObjectMeta]
    pipelines: dict[int, PipelineMeta]
    users: dict[int, UserMeta]
    objects_by_id: dict[int, ObjectMeta] = field(init=False)
    users_by_uuid: dict[str, UserMeta] = field(init=False)
    users_by_email: dict[str, UserMeta] = field(init=False)
    users_by_number: dict[int, UserMeta] = field(init=False)
    pipelines_by_uuid: dict[str, PipelineMeta] = field(init=False)

    def __post_init__(self) -> None:
        self.objects_by_id = {o.id: o for o in self.objects.values()}
        self.users_by_uuid = {str(u.uuid): u for u in self.users.values()}
        self.users_by_email = {u.email: u for u in self.users.values()}
        self.users_by_number = {u.number: u for u in self.users.values() if u.number is not None}
        self.pipelines_by_uuid = {str(p.uuid): p for p in self.pipelines.values()}

    def object(self, key: str) -> ObjectMeta:
        """The object type keyed ``key`` (or named by its UUID); NotFound otherwise."""
        found = self.objects.get(key)
        if found is None:
            found = next((o for o in self.objects.values() if str(o.uuid) == key), None)
        if found is None:
            raise NotFound(f"Object type {key!r} not found")
        return found

    def pipeline_of(self, f: FieldMeta) -> PipelineMeta:
        found = self.pipelines_by_uuid.get(f.options.get("pipeline_id", ""))
        if found is None:
            raise NotFound(f"Pipeline of field {f.key!r} not found")
        return found

    def user(self, ref: str) -> UserMeta | None:
        """A user by UUID or email."""
        return self.users_by_uuid.get(ref.strip().lower()) or self.users_by_email.get(
            ref.strip().lower()
        )
