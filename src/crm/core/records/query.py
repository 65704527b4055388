"""The filter language, sorting and keyset cursors, compiled to SQL for either database.

A filter is a condition ``{"field": "city", "op": "eq", "value": "Austin"}`` or a group
``{"and": [...]}`` / ``{"or": [...]}``. Missing values are the smallest: they sort first
ascending and last descending, on both databases, and the expression indexes are built
to match so that sorted pages are index scans.
"""

from __future__ import annotations

import base64
import binascii
import enum
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from crm.core.errors import FieldError, ValidationFailed
from crm.core.ids import parse_integer, parse_uuid
from crm.core.limits import MAX_FILTER_TEXT
from crm.core.metadata.fieldtypes import DateTime, FieldContext, FieldValueError
from crm.core.metadata.model import FieldMeta, ObjectMeta, WorkspaceMeta
from crm.core.records.values import parse_value
from crm.db import jsonsql, trigram
from crm.db.schema import identities, list_members, lists, record_tags, records, tags

OPS = (
    "eq",
    "neq",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "contains",
    "starts",
    "ends",
    "empty",
    "not_empty",
)
_ORDERED = {"lt", "lte", "gt", "gte"}
_TEXT_OPS = {"contains", "starts", "ends"}
SYSTEM_SORTS = ("created_at", "updated_at", "archived_at", "owner_id", "id", "number")
MAX_CONDITIONS = 100
MAX_DEPTH = 8
MAX_IN = 1000


def _tagged(values: list[str]) -> tuple[Any, sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What ``tags`` filters on: the record's tags, matched by tag UUID."""
    link = record_tags.join(tags, tags.c.id == record_tags.c.tag_id)
    key = sa.and_(
        record_tags.c.workspace_id == records.c.workspace_id,
        record_tags.c.record_id == records.c.id,
    )
    ids = [u for u in (parse_uuid(v) for v in values) if u is not None]
    return link, key, tags.c.uuid.in_(ids)


def _reached(values: list[str]) -> tuple[Any, sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What ``channels`` filters on: the channels of the record's identities."""
    key = sa.and_(
        identities.c.workspace_id == records.c.workspace_id,
        identities.c.record_id == records.c.id,
    )
    return identities, key, identities.c.channel.in_(values)


def _listed(values: list[str]) -> tuple[Any, sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What ``lists`` filters on: the static lists the record is a member of, matched by list
    UUID or number."""
    link = list_members.join(lists, lists.c.id == list_members.c.list_id)
    key = sa.and_(
        list_members.c.workspace_id == records.c.workspace_id,
        list_members.c.record_id == records.c.id,
    )
    ids = [u for u in (parse_uuid(v) for v in values) if u is not None]
    numbers = [n for n in (parse_integer(v) for v in values) if n is not None]
    return link, key, sa.or_(lists.c.uuid.in_(ids), lists.c.number.in_(numbers))


#: Filterable sets a record is a member of, beside its fields.
MEMBERSHIPS = {"tags": _tagged, "channels": _reached, "lists": _listed}


def in_list(list_id: int) -> sa.ColumnElement[bool]:
    """Records that are members of the static list of id ``list_id``."""
    return records.c.id.in_(
        sa.select(list_members.c.record_id).where(list_members.c.list_id == list_id)
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Plan(enum.Enum):
    """How a listing finds its rows when one of its conditions has an index of its own."""

    #: As written: the database chooses.
    PLANNER = "planner"
    #: In the listing's order, testing each row, the condition's index left unused: best
    #: when many rows match, as the walk stops after a page.
    WALK = "walk"
    #: Through the condition's index, then sorted: best when few rows match.
    INDEX = "index"


@dataclass(frozen=True)
class Probe:
    """A condition of a listing that an index can find the rows of: ``name`` is the field
    (or ``q``) it reads, ``through_index`` the condition written to be read through that
    index, which a bounded count counts to choose the plan."""

    name: str
    through_index: sa.ColumnElement[bool]
    #: What to count from: ``records``, or joined to the index it is read through (SQLite's
    #: trigram table streams its matches through a join, but lists them all for an ``IN``).
    source: sa.FromClause = records
    #: Whether the index also reads the rows in the order of ``name``, so that a listing
    #: sorted by it is best read through the index whatever the count (a field's own index).
    ordered: bool = True
    #: Whether to count among the newest rows instead, ``through_index`` then written over
    #: ``records.data`` alone: PostgreSQL's trigram index reads every match of a common
    #: fragment before it can count one.
    sampled: bool = False


@dataclass(frozen=True)
class Target:
    """What a condition or sort key reads: a field's JSON value or a system column."""

    name: str
    field: FieldMeta | None
    column: sa.ColumnElement[Any] | None = None

    @property
    def nullable(self) -> bool:
        """Whether a record may lack this value. A record's number is a nullable column
        that every record has (numbered when created, and by migration 0014 before): its
        order must match the index's, which PostgreSQL cannot read NULLS FIRST."""
        column = self.column
        always = self.name == "number" or (isinstance(column, sa.Column) and not column.nullable)
        return not always

    def expr(self, dialect: str) -> sa.ColumnElement[Any]:
        if self.column is not None:
            return self.column
        assert self.field is not None
        return jsonsql.value_expr(dialect, self.field.key)


def resolve_target(obj: ObjectMeta, name: Any, where: str) -> Target:
    if not isinstance(name, str):
        raise ValidationFailed.of([FieldError(where, "must name a field")])
    if name in obj.fields:
        return Target(name, obj.fields[name])
    system = {
        "created_at": records.c.created_at,
        "updated_at": records.c.updated_at,
        "archived_at": records.c.archived_at,
        "owner_id": records.c.owner_id,
        "id": records.c.id,
        "number": records.c.number,
    }
    if name in system:
        return Target(name, None, system[name])
    raise ValidationFailed.of(
        [FieldError(where, f"{obj.key} has no field {name!r}", "unknown_field")]
    )


class _Compiler:
    def __init__(
        self,
        meta: WorkspaceMeta,
        obj: ObjectMeta,
        dialect: str,
        plan: Plan = Plan.PLANNER,
        through: str | None = None,
    ) -> None:
        self.meta, self.obj, self.dialect, self.plan = meta, obj, dialect, plan
        self.through = through
        self.count = 0
        #: Conditions ANDed at the top: only these can choose how the rows are found.
        self.top: dict[str, list[sa.ColumnElement[bool]]] = {}
        #: Substring conditions ANDed at the top that SQLite's values trigram table can find.
        self.substrings: list[Probe] = []

    def node(self, node: Any, where: str, depth: int, top: bool = True) -> sa.ColumnElement[bool]:
        if depth > MAX_DEPTH:
            raise ValidationFailed.of([FieldError(where, f"nests deeper than {MAX_DEPTH}")])
        if not isinstance(node, dict):
            raise ValidationFailed.of([FieldError(where, "must be an object")])
        groups = [k for k in ("and", "or") if k in node]
        if groups:
            if len(node) != 1:
                raise ValidationFailed.of([FieldError(where, "a group has only and/or")])
            key = groups[0]
            items = node[key]
            if not isinstance(items, list) or not items:
                raise ValidationFailed.of(
                    [FieldError(f"{where}.{key}", "must be a non-empty list")]
                )
            parts = [
                self.node(item, f"{where}.{key}[{i}]", depth + 1, top and key == "and")
                for i, item in enumerate(items)
            ]
            return sa.and_(*parts) if key == "and" else sa.or_(*parts)
        return self.condition(node, where, top)

    def condition(self, node: dict[str, Any], where: str, top: bool) -> sa.ColumnElement[bool]:
        self.count += 1
        if self.count > MAX_CONDITIONS:
            raise ValidationFailed.of([FieldError(where, f"more than {MAX_CONDITIONS} conditions")])
        unknown = set(node) - {"field", "op", "value"}
        if unknown:
            raise ValidationFailed.of([FieldError(where, f"unknown keys: {sorted(unknown)}")])
        op = node.get("op", "eq")
        if op not in OPS:
            raise ValidationFailed.of(
                [FieldError(f"{where}.op", "must be one of " + ", ".join(OPS))]
            )
        name = node.get("field")
        if isinstance(name, str) and name in MEMBERSHIPS and name not in self.obj.fields:
            return self._membership(name, op, node.get("value"), f"{where}.value")
        target = resolve_target(self.obj, name, f"{where}.field")
        expr = target.expr(self.dialect)
        if op == "empty":
            return expr.is_(None)
        if op == "not_empty":
            return expr.is_not(None)
        if "value" not in node:
            raise ValidationFailed.of([FieldError(f"{where}.value", "is required for " + op)])
        value = node["value"]
        try:
            if top and self._ranged(target, op):
                assert target.field is not None
                self.top.setdefault(target.field.key, []).append(
                    self._compare(target, expr, op, value)
                )
                if not self._indexed(target.field.key):
                    expr = jsonsql.unindexed(self.dialect, expr)
            return self._compare(target, expr, op, value, top)
        except FieldValueError as exc:
            raise ValidationFailed.of([FieldError(f"{where}.value", str(exc))]) from None

    def _ranged(self, target: Target, op: str) -> bool:
        """Whether a condition is a range on a field's own index that SQLite, which keeps no
        statistics of a range's size, must be told whether to use."""
        f = target.field
        return (
            self.dialect == "sqlite"
            and op in _ORDERED
            and f is not None
            and f.indexed
            and f.kind.storage in ("text", "number")
        )

    def _indexed(self, name: str) -> bool:
        """Whether the probed condition ``name`` may be read through its index: not when
        walking, nor when the rows are read through another condition's index."""
        if self.plan is Plan.WALK:
            return False
        return self.plan is Plan.PLANNER or self.through in (None, name)

    def probes(self) -> list[Probe]:
        return [Probe(key, sa.and_(*parts)) for key, parts in self.top.items()] + self.substrings

    def _substring(self, key: str, op: str, fragment: str, top: bool) -> sa.ColumnElement[bool]:
        """``contains``, ``starts`` or ``ends`` ``fragment`` on field ``key``: ANDed at the
        top, a probe that the values trigram index can find (the ``ILIKE`` as recheck), read
        through that index when the plan says so; elsewhere the ``ILIKE`` alone."""
        escaped = _escape_like(fragment)
        pattern = {"contains": f"%{escaped}%", "starts": f"{escaped}%", "ends": f"%{escaped}"}
        exact = jsonsql.text_expr(self.dialect, key).ilike(pattern[op], escape="\\")
        if not top or not trigram.indexable(fragment):
            return exact
        name = f"{key}~{len(self.substrings)}"
        if self.dialect == "postgresql":
            if not trigram.in_json_text(fragment):
                return exact
            indexed = sa.and_(exact, trigram.values_like(f"%{escaped}%"))
            self.substrings.append(Probe(name, exact, ordered=False, sampled=True))
        else:
            found = trigram.records_values_fts.join(
                records, records.c.id == trigram.records_values_fts.c.rowid
            )
            lines = {
                "contains": fragment,
                "starts": trigram.value_start(key, fragment),
                "ends": trigram.value_end(fragment),
            }
            matches = trigram.fts_match(lines[op], trigram.VALUES_FTS)
            self.substrings.append(Probe(name, sa.and_(matches, exact), found, ordered=False))
            ids = trigram.fts_ids(lines[op], trigram.VALUES_FTS)
            indexed = sa.and_(records.c.id.in_(ids), exact)
        return indexed if self.plan is Plan.INDEX and self._indexed(name) else exact

    def _membership(self, name: str, op: str, value: Any, where: str) -> sa.ColumnElement[bool]:
        """``tags`` (tag ids), ``channels`` (identity channels) and ``lists`` (list ids or
        numbers): any of, or none/some."""
        if op in ("empty", "not_empty"):
            link, key, _ = MEMBERSHIPS[name]([])
            held = sa.exists(sa.select(sa.literal(1)).select_from(link).where(key))
            return ~held if op == "empty" else held
        if op not in ("eq", "in"):
            raise ValidationFailed.of([FieldError(where, f"{name} takes in, eq, empty, not_empty")])
        values = value if op == "in" else [value]
        if (
            not isinstance(values, list)
            or not 0 < len(values) <= MAX_IN
            or not all(isinstance(v, str) for v in values)
        ):
            raise ValidationFailed.of([FieldError(where, f"must be 1 to {MAX_IN} ids or names")])
        link, key, wanted = MEMBERSHIPS[name](values)
        return sa.exists(sa.select(sa.literal(1)).select_from(link).where(key, wanted))

    def _operand(self, target: Target, value: Any) -> Any:
        """A filter value in the form the target stores, ready to bind."""
        if target.field is not None:
            stored = parse_value(self.meta, target.field, value)
            if stored is None:
                raise FieldValueError("must not be empty; use the empty operator")
            return jsonsql.bind_value(self.dialect, stored)
        if target.name == "owner_id":
            user = self.meta.user(value) if isinstance(value, str) else None
            if user is None:
                raise FieldValueError("must be a user's id or email")
            return user.id
        if target.name in ("id", "number"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise FieldValueError(f"must be an integer record {target.name}")
            return value
        DateTime().parse(value, FieldContext(target.name, {}))  # refuses what is no datetime
        # Compare to the microsecond: the stored form of a datetime field keeps only seconds,
        # and a record's own timestamp given back must bound it exactly.
        stamp = datetime.fromisoformat(value.strip().replace("z", "Z"))
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)

    def _compare(
        self, target: Target, expr: sa.ColumnElement[Any], op: str, value: Any, top: bool = False
    ) -> sa.ColumnElement[bool]:
        f = target.field
        is_list = f is not None and f.kind.storage == "list"
        if op in _TEXT_OPS:
            if not isinstance(value, str) or not 0 < len(value) <= MAX_FILTER_TEXT:
                raise FieldValueError(f"{op} takes a string of 1 to {MAX_FILTER_TEXT} characters")
            if is_list and f is not None and op == "contains":
                stored = parse_value(self.meta, f, [value])
                return jsonsql.list_contains(self.dialect, f.key, stored[0])
            if f is None or not f.kind.textual:
                raise FieldValueError(f"{op} applies to text fields only")
            return self._substring(f.key, op, value, top)
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_IN:
                raise FieldValueError(f"in takes a list of 1 to {MAX_IN} values")
            if is_list and f is not None:
                items = parse_value(self.meta, f, value)
                return sa.or_(*(jsonsql.list_contains(self.dialect, f.key, i) for i in items))
            return expr.in_([self._operand(target, v) for v in value])
        if is_list:
            raise FieldValueError(f"{op} does not apply to a multi-select; use contains or in")
        if op in _ORDERED and f is not None and f.kind.storage == "bool":
            raise FieldValueError(f"{op} does not apply to true/false fields")
        operand = self._operand(target, value)
        if op == "eq":
            equal: sa.ColumnElement[bool] = expr == operand
            return equal
        if op == "neq":
            return sa.or_(expr != operand, expr.is_(None))
        ordered: dict[str, sa.ColumnElement[bool]] = {
            "lt": expr < operand,
            "lte": expr <= operand,
            "gt": expr > operand,
            "gte": expr >= operand,
        }
        return ordered[op]


def compile_filter(
    meta: WorkspaceMeta, obj: ObjectMeta, dialect: str, node: Any
) -> sa.ColumnElement[bool] | None:
    """SQL for a filter document; ValidationFailed naming the bad part otherwise."""
    return compile_listing(meta, obj, dialect, node)[0]


def compile_listing(
    meta: WorkspaceMeta,
    obj: ObjectMeta,
    dialect: str,
    node: Any,
    plan: Plan = Plan.PLANNER,
    through: str | None = None,
) -> tuple[sa.ColumnElement[bool] | None, list[Probe]]:
    """SQL for a filter document written for ``plan`` (with :attr:`Plan.INDEX`, read
    through the index of the probe named ``through``, or of each probe if None), and the
    conditions that could choose the plan; ValidationFailed naming the bad part otherwise."""
    if node is None:
        return None, []
    compiler = _Compiler(meta, obj, dialect, plan, through)
    return compiler.node(node, "filter", 0), compiler.probes()


@dataclass(frozen=True)
class SortKey:
    target: Target
    descending: bool


def parse_sort(obj: ObjectMeta, spec: Any) -> list[SortKey]:
    """Sort keys from ``[{"field": ..., "direction": "asc"|"desc"}]``; newest first if empty."""
    if spec in (None, []):
        return [SortKey(Target("id", None, records.c.id), True)]
    if not isinstance(spec, list) or len(spec) > 5:
        raise ValidationFailed.of([FieldError("sort", "must be a list of at most 5 sort keys")])
    keys = []
    for i, item in enumerate(spec):
        if not isinstance(item, dict) or set(item) - {"field", "direction"}:
            raise ValidationFailed.of([FieldError(f"sort[{i}]", "must be {field, direction}")])
        direction = item.get("direction", "asc")
        if direction not in ("asc", "desc"):
            raise ValidationFailed.of([FieldError(f"sort[{i}].direction", "must be asc or desc")])
        target = resolve_target(obj, item.get("field"), f"sort[{i}].field")
        if target.field is not None and target.field.kind.storage == "list":
            raise ValidationFailed.of([FieldError(f"sort[{i}].field", "a list does not sort")])
        keys.append(SortKey(target, direction == "desc"))
    if keys[-1].target.name != "id":
        keys.append(SortKey(Target("id", None, records.c.id), keys[0].descending))
    return keys


def sort_param(text: str | None) -> list[dict[str, str]]:
    """``city,-created_at`` as sort keys."""
    if not text:
        return []
    return [
        {"field": part.lstrip("-"), "direction": "desc" if part.startswith("-") else "asc"}
        for part in (p.strip() for p in text.split(","))
        if part
    ]


def order_by(keys: list[SortKey], dialect: str) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms. A NOT NULL column gets no NULLS clause: PostgreSQL would then not
    scan its index backwards (an index is ASC NULLS LAST; DESC NULLS LAST is not its
    reverse), and the order is the same without one."""
    out: list[sa.ColumnElement[Any]] = []
    for key in keys:
        expr = key.target.expr(dialect)
        if not key.target.nullable:
            out.append(expr.desc() if key.descending else expr.asc())
        else:
            out.append(expr.desc().nulls_last() if key.descending else expr.asc().nulls_first())
    return out


def _after(key: SortKey, expr: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    if value is None:
        return sa.false() if key.descending else expr.is_not(None)
    before: sa.ColumnElement[bool] = expr < value
    if key.descending:
        return sa.or_(before, expr.is_(None)) if key.target.nullable else before
    beyond: sa.ColumnElement[bool] = expr > value
    return beyond


def _range_start(
    key: SortKey, expr: sa.ColumnElement[Any], value: Any
) -> sa.ColumnElement[bool] | None:
    """A bound on the leading sort key alone, implied by the cursor, that lets both
    databases start their index scan at the cursor instead of filtering every earlier row."""
    if value is None:
        return expr.is_(None) if key.descending else None
    at_most: sa.ColumnElement[bool] = expr <= value
    if key.descending:
        return sa.or_(at_most, expr.is_(None)) if key.target.nullable else at_most
    at_least: sa.ColumnElement[bool] = expr >= value
    return at_least


def _equal(expr: sa.ColumnElement[Any], value: Any) -> sa.ColumnElement[bool]:
    return expr.is_(None) if value is None else expr == value


def keyset(keys: list[SortKey], values: list[Any], dialect: str) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in the order of ``keys``."""
    bound = [_bind_cursor_value(k, v, dialect) for k, v in zip(keys, values, strict=True)]
    clauses = []
    for i, key in enumerate(keys):
        prior = [_equal(keys[j].target.expr(dialect), bound[j]) for j in range(i)]
        clauses.append(sa.and_(*prior, _after(key, key.target.expr(dialect), bound[i])))
    start = _range_start(keys[0], keys[0].target.expr(dialect), bound[0])
    return sa.or_(*clauses) if start is None else sa.and_(start, sa.or_(*clauses))


def _bind_cursor_value(key: SortKey, value: Any, dialect: str) -> Any:
    if value is None:
        return None
    if key.target.field is not None:
        return jsonsql.bind_value(dialect, value)
    if key.target.name in ("created_at", "updated_at", "archived_at"):
        return datetime.fromisoformat(value)
    return value


def _signature(keys: list[SortKey]) -> str:
    return ",".join(("-" if k.descending else "") + k.target.name for k in keys)


def encode_cursor(keys: list[SortKey], values: list[Any]) -> str:
    """An opaque cursor for the row whose sort values are ``values``."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = orjson.dumps({"s": _signature(keys), "v": plain})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_value_ok(key: SortKey, value: Any) -> bool:
    """Whether a sort value read from a cursor is one this sort key could have written."""
    if value is None:
        return True
    if key.target.field is None and key.target.name in ("created_at", "updated_at", "archived_at"):
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    if isinstance(value, bool):
        return key.target.field is not None
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if key.target.field is None:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and "\x00" not in value


def decode_cursor(keys: list[SortKey], cursor: str) -> list[Any]:
    """The sort values inside a cursor made by :func:`encode_cursor` for the same sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = orjson.loads(raw)
        values = doc["v"]
        if doc["s"] != _signature(keys) or not isinstance(values, list) or len(values) != len(keys):
            raise ValueError
        if not all(_cursor_value_ok(k, v) for k, v in zip(keys, values, strict=True)):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise ValidationFailed.of(
            [FieldError("cursor", "is not a cursor of this listing")]
        ) from None
    return values


def sort_columns(keys: list[SortKey], dialect: str) -> list[sa.ColumnElement[Any]]:
    """The sort keys as selected columns, read back to build the next cursor."""
    return [k.target.expr(dialect).label(f"_sort{i}") for i, k in enumerate(keys)]


@dataclass(frozen=True)
class Search:
    """``q``: a case-insensitive substring of the records' search text or, with ``links``,
    of their tag names and identity addresses."""

    q: str
    links: bool
    workspace_id: int
    dialect: str
    pattern: str = field(init=False)
    fragment: str = field(init=False)

    def __post_init__(self) -> None:
        fragment = self.q.strip().lower()
        object.__setattr__(self, "fragment", fragment)
        object.__setattr__(self, "pattern", f"%{_escape_like(fragment)}%")

    def clause(self, plan: Plan) -> sa.ColumnElement[bool]:
        """The condition written for ``plan``: the same rows in every form."""
        found: sa.ColumnElement[bool] = records.c.search_text.like(self.pattern, escape="\\")
        if self.links:
            found = sa.or_(found, self._linked())
        indexed = plan is Plan.INDEX and trigram.indexable(self.fragment)
        if indexed and (self.dialect == "sqlite" or self.links):
            return sa.and_(records.c.id.in_(self._indexed_ids()), found)
        return found

    def probe(self) -> Probe | None:
        """SQLite's choice between its trigram table and the walk. PostgreSQL chooses well
        itself: a bounded count there reads as many rows from the heap as the trigram index's
        own plan does (its matches are rechecked), which measured slower, not faster."""
        if self.dialect != "sqlite" or not trigram.indexable(self.fragment):
            return None
        if self.links:
            return Probe("q", self.clause(Plan.INDEX))
        found = trigram.records_fts.join(records, records.c.id == trigram.records_fts.c.rowid)
        return Probe("q", sa.and_(trigram.fts_match(self.fragment), self.clause(Plan.WALK)), found)

    def _indexed_ids(self) -> sa.CompoundSelect[tuple[int]] | sa.Select[tuple[int]]:
        """The ids that may match, read through the trigram index (and, with links, the tags'
        and identities' own tables): a superset the condition itself narrows."""
        if self.dialect == "sqlite":
            ids: sa.Select[tuple[int]] = trigram.fts_ids(self.fragment)
        else:
            text = records.alias("searched")
            ids = sa.select(text.c.id).where(
                text.c.workspace_id == self.workspace_id,
                text.c.search_text.like(self.pattern, escape="\\"),
            )
        if not self.links:
            return ids
        tag_link, _, _ = _tagged([])
        tagged = (
            sa.select(record_tags.c.record_id)
            .select_from(tag_link)
            .where(
                record_tags.c.workspace_id == self.workspace_id,
                tags.c.name_key.like(self.pattern, escape="\\"),
            )
        )
        reached = sa.select(identities.c.record_id).where(
            identities.c.workspace_id == self.workspace_id,
            sa.func.lower(identities.c.address).like(self.pattern, escape="\\"),
        )
        return sa.union(ids, tagged, reached)

    def _linked(self) -> sa.ColumnElement[bool]:
        """Whether a tag name or identity address of the record holds the fragment."""
        tag_link, tag_key, _ = _tagged([])
        tagged = sa.exists(
            sa.select(sa.literal(1))
            .select_from(tag_link)
            .where(tag_key, tags.c.name_key.like(self.pattern, escape="\\"))
        )
        _, identity_key, _ = _reached([])
        reached = sa.exists(
            sa.select(sa.literal(1))
            .select_from(identities)
            .where(
                identity_key,
                sa.func.lower(identities.c.address).like(self.pattern, escape="\\"),
            )
        )
        return sa.or_(tagged, reached)


def walkable(keys: list[SortKey]) -> bool:
    """Whether an index reads the rows in the order of ``keys``, so that a walk in that
    order stops after a page: newest first, or one indexed field or column and the id."""
    lead = keys[0]
    if len(keys) > 2 or keys[-1].descending != lead.descending:
        return False
    if lead.target.field is not None:
        return lead.target.field.indexed and lead.target.field.kind.storage != "list"
    return lead.target.name != "archived_at"
