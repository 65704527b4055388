"""SQL over the records' JSON ``data`` column, written once for each database.

Field keys are spliced into SQL as literals (never bound) so that expressions match the
expression indexes exactly; they are checked against ``KEY`` first, which admits only
snake_case identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from crm.db.schema import records

KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def _key(key: str) -> str:
    if not KEY.match(key):
        raise ValueError(f"not a field key: {key!r}")
    return key


def value_expr(dialect: str, key: str) -> sa.ColumnElement[Any]:
    """The stored value of field ``key``, comparable with :func:`bind_value`."""
    if dialect == "postgresql":
        return sa.literal_column(f"(records.data -> '{_key(key)}')", JSONB)
    return sa.literal_column(f"json_extract(records.data, '$.{_key(key)}')")


def unindexed(dialect: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """SQLite: ``expr`` written so that no index can serve a comparison with it (a unary
    ``+``), which keeps the planner walking the listing's own order instead."""
    assert dialect == "sqlite"
    return sa.literal_column(f"+{expr}")


def json_expr(dialect: str, key: str) -> sa.ColumnElement[Any]:
    """The stored value of field ``key``, read back as its Python value."""
    if dialect == "postgresql":
        return sa.literal_column(f"(records.data -> '{_key(key)}')", JSONB)
    return sa.literal_column(f"(records.data -> '$.{_key(key)}')", sa.JSON)


def text_expr(dialect: str, key: str) -> sa.ColumnElement[str]:
    """The stored value of field ``key`` as text, for substring matching."""
    if dialect == "postgresql":
        return sa.literal_column(f"(records.data ->> '{_key(key)}')", sa.Text)
    return sa.literal_column(f"json_extract(records.data, '$.{_key(key)}')", sa.Text)


def bind_value(dialect: str, value: Any) -> sa.ColumnElement[Any]:
    """A stored-form value as the right side of a comparison with :func:`value_expr`."""
    if dialect == "postgresql":
        return sa.cast(sa.bindparam(None, orjson.dumps(value).decode(), sa.Text), JSONB)
    if isinstance(value, bool):
        return sa.literal(int(value))
    return sa.literal(value)


def in_values(dialect: str, key: str, values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Whether field ``key`` holds one of ``values`` (stored forms), bound as one parameter.

    One parameter for the whole list keeps compiling cheap for long lists (intake looks up
    thousands of emails at once).
    """
    if dialect == "postgresql":
        texts = [orjson.dumps(v).decode() for v in values]
        return value_expr(dialect, key) == sa.any_(
            sa.cast(sa.bindparam("in_values", texts, type_=ARRAY(sa.Text)), ARRAY(JSONB))
        )
    plain = [int(v) if isinstance(v, bool) else v for v in values]
    return value_expr(dialect, key).in_(sa.bindparam("in_values", plain, expanding=True))


def list_contains(dialect: str, key: str, item: str) -> sa.ColumnElement[bool]:
    """Whether the list stored in field ``key`` holds ``item``."""
    if dialect == "postgresql":
        holds: sa.ColumnElement[bool] = value_expr(dialect, key).op("@>")(
            bind_value(dialect, [item])
        )
        return holds
    each = sa.func.json_each(records.c.data, sa.literal_column(f"'$.{_key(key)}'")).table_valued(
        "value"
    )
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == item))


def set_value(dialect: str, key: str, param: str) -> sa.ColumnElement[Any]:
    """``data`` with field ``key`` set to the JSON text bound as ``param``."""
    # A real bindparam, not ":param" spliced into a literal column, which would not bind.
    bound = sa.bindparam(param, type_=sa.Text)
    if dialect == "postgresql":
        return sa.func.jsonb_set(
            records.c.data,
            sa.literal_column(f"'{{{_key(key)}}}'"),
            sa.cast(bound, JSONB),
            type_=JSONB,
        )
    return sa.func.json_set(
        records.c.data, sa.literal_column(f"'$.{_key(key)}'"), sa.func.json(bound)
    )


def remove_key(dialect: str, key: str) -> sa.ColumnElement[Any]:
    """``data`` without field ``key``."""
    if dialect == "postgresql":
        return sa.literal_column(f"(records.data - '{_key(key)}')", JSONB)
    return sa.literal_column(f"json_remove(records.data, '$.{_key(key)}')")


def rename_key(dialect: str, old: str, new: str) -> sa.ColumnElement[Any]:
    """``data`` with the value of ``old`` moved to ``new``."""
    o, n = _key(old), _key(new)
    if dialect == "postgresql":
        return sa.literal_column(
            f"((records.data - '{o}') || jsonb_build_object('{n}', records.data -> '{o}'))", JSONB
        )
    return sa.literal_column(
        f"json_set(json_remove(records.data, '$.{o}'), '$.{n}', json(records.data -> '$.{o}'))"
    )


def has_key(dialect: str, key: str) -> sa.ColumnElement[bool]:
    """Whether field ``key`` holds a value."""
    return value_expr(dialect, key).is_not(None)


def index_name(key: str) -> str:
    return f"rx_{_key(key)}"


def create_index_sql(dialect: str, key: str) -> list[str]:
    """DDL for the shared filter/sort index of field ``key`` (all objects, all workspaces).

    On PostgreSQL the field's values also get expression statistics: the planner ignores
    the statistics of a partial index's expression, and without any it guesses that each
    value matches hundreds of rows, scanning the table for a list of a few hundred emails
    that the index answers in milliseconds (see docs/adr/0002-intake.md).
    """
    expr = str(value_expr(dialect, key)).replace("records.data", "data")
    nulls = " NULLS FIRST" if dialect == "postgresql" else ""
    ddl = [
        f"CREATE INDEX IF NOT EXISTS {index_name(key)} ON records "
        f"(workspace_id, object_type_id, ({expr}){nulls}, id) WHERE deleted_at IS NULL"
    ]
    if dialect == "postgresql":
        ddl.append(f"CREATE STATISTICS IF NOT EXISTS {stats_name(key)} ON ({expr}) FROM records")
    return ddl


def index_names_sql(dialect: str) -> str:
    """A query for the names of the indexes on ``records`` and, on PostgreSQL, of the
    expression statistics too: what ``create_index_sql`` would create if missing."""
    if dialect == "postgresql":
        return (
            "SELECT indexname FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = 'records'"
            " UNION ALL SELECT stxname FROM pg_statistic_ext"
            " WHERE stxnamespace = current_schema()::regnamespace"
        )
    return "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"


def stats_name(key: str) -> str:
    """The PostgreSQL expression statistics of field ``key``'s values."""
    return "rs_" + index_name(key).removeprefix("rx_")
