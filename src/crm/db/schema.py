"""The tables. Every row belongs to a workspace and every index leads with ``workspace_id``.

Records of every object type share one table: the field values live in ``data`` (JSONB on
PostgreSQL, JSON text on SQLite) beside real columns for what every record has. See
``docs/adr/0001-record-storage.md`` for the decision and its measurements.
"""

from __future__ import annotations

import sqlalchemy as sa

from crm.db.types import BigId, JSONDoc, UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> sa.Column[int]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def _workspace() -> sa.Column[int]:
    return sa.Column(
        "workspace_id", BigId, sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created() -> sa.Column[object]:
    return sa.Column("created_at", UTCDateTime, nullable=False)


workspaces = sa.Table(
    "workspaces",
    metadata,
    _id(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("subdomain", sa.String(63), nullable=False, unique=True),
    sa.Column("metadata_version", sa.Integer, nullable=False, server_default="1"),
    # Bumped by triggers (migration 0011) whenever a key, role or user changes what its
    # requests may do; cached principals are trusted only at the version they were read at.
    sa.Column("auth_version", sa.Integer, nullable=False, server_default="1"),
    _created(),
)

roles = sa.Table(
    "roles",
    metadata,
    _id(),
    _workspace(),
    sa.Column("key", sa.String(64), nullable=False),
    #: The role's number in its workspace (1, 2, ...), for faces that name roles by integers.
    sa.Column("number", sa.BigInteger),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.String(1000)),
    sa.Column("permissions", JSONDoc, nullable=False),
    sa.Column("is_system", sa.Boolean, nullable=False, server_default=sa.false()),
    _created(),
    #: When its name, description or permissions last changed (migration 0026 set the
    #: older roles' to their creation).
    sa.Column("updated_at", UTCDateTime),
    sa.UniqueConstraint("workspace_id", "key"),
    sa.Index("ix_roles_number", "workspace_id", "number", unique=True),
)

users = sa.Table(
    "users",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    #: The user's number in its workspace (1, 2, ...), for faces that name users by integers.
    sa.Column("number", sa.BigInteger),
    sa.Column("email", sa.String(320), nullable=False),
    #: Lower-cased, so unique in any case.
    sa.Column("username", sa.String(100)),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("first_name", sa.String(100)),
    sa.Column("last_name", sa.String(100)),
    sa.Column("position", sa.String(200)),
    sa.Column("timezone", sa.String(64)),
    sa.Column("locale", sa.String(16)),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("role_id", BigId, sa.ForeignKey("roles.id"), nullable=False),
    # A deleted user is inactive too, for good.
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    _created(),
    #: When its profile, role, password or state last changed (migration 0026 set the
    #: older users' to their creation).
    sa.Column("updated_at", UTCDateTime),
    sa.Column("deleted_at", UTCDateTime),
    sa.UniqueConstraint("workspace_id", "email"),
    sa.Index("ix_users_number", "workspace_id", "number", unique=True),
    sa.Index("ix_users_username", "workspace_id", "username", unique=True),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("scopes", JSONDoc, nullable=False),
    sa.Column("role_id", BigId, sa.ForeignKey("roles.id"), nullable=False),
    sa.Column("user_id", BigId, sa.ForeignKey("users.id"), nullable=False),
    _created(),
    sa.Column("last_used_at", UTCDateTime),
    sa.Column("revoked_at", UTCDateTime),
)

object_types = sa.Table(
    "object_types",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("plural_label", sa.String(200), nullable=False),
    sa.Column("is_standard", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("display_fields", JSONDoc, nullable=False),
    sa.Column("duplicates", JSONDoc),
    _created(),
    sa.UniqueConstraint("workspace_id", "key"),
)

fields = sa.Table(
    "fields",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column(
        "object_type_id",
        BigId,
        sa.ForeignKey("object_types.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("group", sa.String(100), nullable=False, server_default="general"),
    sa.Column("required", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("unique", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("searchable", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("indexed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("is_standard", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("default", JSONDoc),
    sa.Column("options", JSONDoc, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_by", BigId),
    _created(),
    sa.UniqueConstraint("workspace_id", "object_type_id", "key"),
)

field_categories = sa.Table(
    "field_categories",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column(
        "object_type_id",
        BigId,
        sa.ForeignKey("object_types.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # What a field's ``group`` names: any 1 to 100 characters, as groups always took.
    sa.Column("key", sa.String(100), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    _created(),
    sa.UniqueConstraint("object_type_id", "key"),
    sa.Index(None, "workspace_id"),
)

pipelines = sa.Table(
    "pipelines",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column(
        "object_type_id",
        BigId,
        sa.ForeignKey("object_types.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    _created(),
    sa.UniqueConstraint("workspace_id", "object_type_id", "key"),
)

stages = sa.Table(
    "stages",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column(
        "pipeline_id", BigId, sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("probability", sa.Integer, nullable=False, server_default="0"),
    sa.Column("color", sa.String(16)),
    sa.Column("system_key", sa.String(64)),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index(None, "workspace_id", "pipeline_id", "position"),
)

records = sa.Table(
    "records",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False),
    sa.Column("object_type_id", BigId, nullable=False),
    #: The record's number among its object type's in its workspace (1, 2, ...): the id the
    #: faces that name records by integers show, telling nothing of other workspaces.
    sa.Column("number", sa.BigInteger),
    sa.Column("owner_id", BigId),
    sa.Column("data", JSONDoc, nullable=False),
    sa.Column("display_name", sa.String(500), nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("unmapped", JSONDoc),
    sa.Column("created_by", BigId),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("archived_at", UTCDateTime),
    sa.Column("deleted_at", UTCDateTime),
    sa.Index("ix_records_uuid", "workspace_id", "uuid", unique=True),
    sa.Index("ix_records_number", "workspace_id", "object_type_id", "number", unique=True),
    sa.Index(
        "ix_records_live_number",
        "workspace_id",
        "object_type_id",
        "number",
        sqlite_where=sa.text("deleted_at IS NULL AND archived_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND archived_at IS NULL"),
    ),
    sa.Index(
        "ix_records_listing",
        "workspace_id",
        "object_type_id",
        "id",
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
    sa.Index(
        "ix_records_created",
        "workspace_id",
        "object_type_id",
        "created_at",
        "id",
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
    sa.Index(
        "ix_records_updated",
        "workspace_id",
        "object_type_id",
        "updated_at",
        "id",
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
    sa.Index(
        "ix_records_owner",
        "workspace_id",
        "object_type_id",
        "owner_id",
        "id",
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    ),
)

record_links = sa.Table(
    "record_links",
    metadata,
    _id(),
    _workspace(),
    sa.Column("field_id", BigId, sa.ForeignKey("fields.id", ondelete="CASCADE"), nullable=False),
    sa.Column("from_id", BigId, nullable=False),
    sa.Column("to_id", BigId, nullable=False),
    sa.Column("attributes", JSONDoc, nullable=False),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_record_links_from", "workspace_id", "field_id", "from_id", "to_id", unique=True),
    sa.Index("ix_record_links_to", "workspace_id", "field_id", "to_id"),
)

record_viewers = sa.Table(
    "record_viewers",
    metadata,
    _workspace(),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("user_id", BigId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("workspace_id", "record_id", "user_id"),
    sa.Index("ix_record_viewers_user", "workspace_id", "user_id", "record_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    # Case-folding can lengthen a name ("ß" folds to "ss"), up to three times.
    sa.Column("name_key", sa.String(300), nullable=False),
    sa.Column("created_by", BigId),
    _created(),
    sa.UniqueConstraint("workspace_id", "name_key"),
)

record_tags = sa.Table(
    "record_tags",
    metadata,
    _workspace(),
    sa.Column("tag_id", BigId, sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
    sa.Column("record_id", BigId, nullable=False),
    _created(),
    sa.PrimaryKeyConstraint("workspace_id", "tag_id", "record_id"),
    sa.Index("ix_record_tags_record", "workspace_id", "record_id"),
)

identities = sa.Table(
    "identities",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("metadata", JSONDoc, nullable=False),
    _created(),
    sa.UniqueConstraint("workspace_id", "channel", "address"),
    sa.Index("ix_identities_record", "workspace_id", "record_id"),
)

#: The next record number of each object type (``records.number``). On PostgreSQL numbers
#: are taken in transactions of their own (``crm.core.records.sequences``), so the table has
#: no foreign keys: checking one against an object type or workspace that the writer's
#: transaction has just made would wait for that transaction, which waits for its numbers.
record_numbers = sa.Table(
    "record_numbers",
    metadata,
    sa.Column("workspace_id", BigId, nullable=False),
    sa.Column("object_type_id", BigId, primary_key=True),
    sa.Column("next_number", sa.BigInteger, nullable=False),
)

#: How many live records (neither deleted nor archived) each object type has, as deltas
#: over a few slots summed on read. Triggers on ``records`` keep it (migration 0021): on
#: PostgreSQL a connection adds to the slot of its backend (``pg_backend_pid() % 16``), so
#: creates on connections of different slots do not wait for each other's commits on one
#: row; SQLite uses slot 0.
#: No foreign keys, as for record numbers: ``records.object_type_id`` has none either.
record_counts = sa.Table(
    "record_counts",
    metadata,
    sa.Column("workspace_id", BigId, primary_key=True),
    sa.Column("object_type_id", BigId, primary_key=True),
    sa.Column("slot", sa.SmallInteger, primary_key=True),
    sa.Column("live", sa.BigInteger, nullable=False),
)

#: The next number of each kind of numbered thing that is no record (``"list"``,
#: ``"note"``) per workspace: ``lists.number``, ``notes.number``. Taken like record numbers,
#: hence no foreign key either.
workspace_numbers = sa.Table(
    "workspace_numbers",
    metadata,
    sa.Column("workspace_id", BigId, primary_key=True),
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("next_number", sa.BigInteger, nullable=False),
)

sequences = sa.Table(
    "sequences",
    metadata,
    _workspace(),
    sa.Column("field_id", BigId, sa.ForeignKey("fields.id", ondelete="CASCADE"), nullable=False),
    sa.Column("next_value", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("workspace_id", "field_id"),
)

events = sa.Table(
    "events",
    metadata,
    _id(),
    _workspace(),
    # What a workspace is shown of an event: ``id`` counts every workspace's events.
    sa.Column("uuid", sa.Uuid, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("object_type_id", BigId),
    sa.Column("record_id", BigId),
    sa.Column("actor_user_id", BigId),
    sa.Column("actor_key_id", BigId),
    sa.Column("changes", JSONDoc),
    sa.Column("payload", JSONDoc),
    _created(),
    #: On PostgreSQL, the transaction that wrote the event (set by the database, migration
    #: 0022): the log is read in commit-safe order by it (``crm.core.events.stream``).
    #: Null on SQLite, whose one writer commits in the order of ``id``.
    sa.Column("tx", sa.BigInteger),
    sa.Index("ix_events_feed", "workspace_id", "id"),
    sa.Index("ix_events_record", "workspace_id", "record_id", "id"),
    sa.Index("ix_events_uuid", "workspace_id", "uuid", unique=True),
)

notes = sa.Table(
    "notes",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("author_id", BigId),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("tag", sa.String(64)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime),
    #: The note's number in its workspace (1, 2, ...), for the faces that name notes by
    #: integers.
    sa.Column("number", sa.BigInteger),
    sa.Index("ix_notes_record", "workspace_id", "record_id", "occurred_at"),
    sa.Index("ix_notes_number", "workspace_id", "number", unique=True),
)

#: Static lists: records of one object type picked by hand ("VIP customers").
lists = sa.Table(
    "lists",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    #: The list's number in its workspace (1, 2, ...).
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column(
        "object_type_id",
        BigId,
        sa.ForeignKey("object_types.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(200), nullable=False),
    # The name case-folded, unique per object type (up to three times as long, as tags').
    sa.Column("name_key", sa.String(600), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("created_by", BigId),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "number"),
    sa.UniqueConstraint("workspace_id", "object_type_id", "name_key"),
)

list_members = sa.Table(
    "list_members",
    metadata,
    _workspace(),
    sa.Column("list_id", BigId, sa.ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
    sa.Column("record_id", BigId, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Column("added_by", BigId),
    sa.PrimaryKeyConstraint("list_id", "record_id"),
    # Leads with the record: the foreign key's cascade looks members up by record alone.
    sa.Index("ix_list_members_record", "record_id", "workspace_id"),
)

#: Reusable texts for case replies, numbered per workspace (1, 2, ...), with merge fields.
reply_templates = sa.Table(
    "reply_templates",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_by", BigId),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("workspace_id", "number"),
)

#: Replies on a case record (the standard ``case`` object), oldest first.
case_replies = sa.Table(
    "case_replies",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("record_id", BigId, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("author_id", BigId, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("template_id", BigId, sa.ForeignKey("reply_templates.id", ondelete="SET NULL")),
    _created(),
    sa.Index("ix_case_replies_record", "workspace_id", "record_id", "created_at"),
    # What the cascade from ``records`` looks replies up by, for each record it deletes.
    sa.Index("ix_case_replies_record_id", "record_id"),
)

#: The reminders the worker raised: one per task and moment it was due (``remind_at``).
task_reminders = sa.Table(
    "task_reminders",
    metadata,
    _workspace(),
    sa.Column("record_id", BigId, sa.ForeignKey("records.id", ondelete="CASCADE"), nullable=False),
    sa.Column("remind_at", UTCDateTime, nullable=False),
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("record_id", "remind_at"),
)

imports = sa.Table(
    "imports",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("object_type_id", BigId, nullable=False),
    sa.Column("created_by", BigId, nullable=False),
    # The key's scopes when the import was started: the worker acts within them.
    sa.Column("key_id", BigId),
    sa.Column("scopes", JSONDoc, nullable=False),
    sa.Column("options", JSONDoc, nullable=False),
    sa.Column("filename", sa.String(255)),
    sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
    # uploading -> pending -> processing -> completed | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure", sa.Text),
    sa.Column("total_rows", sa.BigInteger),
    # The checkpoint: records after the header that are done (written or refused).
    sa.Column("rows_done", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("skipped_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("failed_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("errors_kept", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    _created(),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_imports_listing", "workspace_id", "id"),
    sa.Index("ix_imports_status", "status", "id"),
)

import_chunks = sa.Table(
    "import_chunks",
    metadata,
    sa.Column("import_id", BigId, sa.ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("import_id", "seq"),
)

import_errors = sa.Table(
    "import_errors",
    metadata,
    _id(),
    sa.Column("import_id", BigId, sa.ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    sa.Column("row", sa.BigInteger, nullable=False),
    sa.Column("column", sa.String(255)),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("ix_import_errors_import", "import_id", "id"),
)

#: Webhook subscriptions (``crm.core.webhooks``): where a workspace's events are sent,
#: which of them, with what secret, and how far delivery has come in the event log.
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("url", sa.String(2048), nullable=False),
    # The event types and object keys wanted; null for all.
    sa.Column("event_types", JSONDoc),
    sa.Column("object_types", JSONDoc),
    # The manager's switch; ``status`` is ``active``, or ``failing`` once retries ran out.
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("failure", sa.Text),
    sa.Column("failed_at", UTCDateTime),
    # The delivery cursor: the position in the event log (``crm.core.events.stream``)
    # after which events are still to be delivered.
    sa.Column("cursor_tx", sa.BigInteger, nullable=False),
    sa.Column("cursor_id", sa.BigInteger, nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    # The secret before the last rotation, still signing until ``previous_until``.
    sa.Column("previous_secret", sa.String(100)),
    sa.Column("previous_until", UTCDateTime),
    # Failed attempts at the event after the cursor, and when the next one is due.
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", UTCDateTime),
    # When a worker last let go of it: the least recently served go first.
    sa.Column("served_at", UTCDateTime),
    sa.Column("created_by", BigId),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_webhook_subscriptions_listing", "workspace_id", "id"),
    sa.Index("ix_webhook_subscriptions_due", "status", "next_attempt_at"),
)

#: Each attempt to deliver an event to a subscription; the latest are kept
#: (``crm.core.webhooks.deliveries.KEPT``).
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    _id(),
    sa.Column(
        "subscription_id",
        BigId,
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column("event_uuid", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    # ``delivered`` or ``failed``
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("response_status", sa.Integer),
    # The start of the answer's body, or why there was no answer.
    sa.Column("response_excerpt", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    _created(),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
)

#: Token buckets of the rate limits when several server processes share them (ADR 0006):
#: one row per API key (``key:`` and the key's digest) or client address (``auth:`` and
#: the address). They belong to no workspace: a request is limited before its key is
#: resolved. Unlogged on PostgreSQL, as losing them in a crash only refills them.
rate_buckets = sa.Table(
    "rate_buckets",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("tokens", sa.Float, nullable=False),
    sa.Column("stamp", sa.Float, nullable=False),
    sa.Column("taken", sa.Boolean, nullable=False),
)

#: Where each consumer of the event log has read to (a ``crm.core.events.stream``
#: position). A worker reads for a consumer holding its row locked: one at a time.
event_consumers = sa.Table(
    "event_consumers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.String(64), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

#: The categories a workspace sorts its workflows into (numbered, as Flexie names them).
workflow_categories = sa.Table(
    "workflow_categories",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    _created(),
    sa.Index("ix_workflow_categories_uuid", "workspace_id", "uuid", unique=True),
    sa.Index("ix_workflow_categories_number", "workspace_id", "number", unique=True),
)

#: Automations: on a trigger about a record of ``object_type_id``, when ``conditions`` (the
#: filter language) hold, run ``steps``. ``trigger``, ``conditions`` and ``steps`` are
#: checked against the metadata when saved (``crm.core.workflows.definitions``).
workflows = sa.Table(
    "workflows",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column(
        "object_type_id",
        BigId,
        sa.ForeignKey("object_types.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("category_id", BigId, sa.ForeignKey("workflow_categories.id", ondelete="SET NULL")),
    sa.Column("published", sa.Boolean, nullable=False),
    #: When it was last published: it reacts to what happens from then on.
    sa.Column("published_at", UTCDateTime),
    sa.Column("runtime", sa.String(8), nullable=False),
    sa.Column("trigger", JSONDoc, nullable=False),
    sa.Column("conditions", JSONDoc),
    sa.Column("steps", JSONDoc, nullable=False),
    sa.Column("created_by", BigId),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("deleted_at", UTCDateTime),
    sa.Index("ix_workflows_uuid", "workspace_id", "uuid", unique=True),
    sa.Index("ix_workflows_number", "workspace_id", "number", unique=True),
    sa.Index("ix_workflows_object", "workspace_id", "object_type_id", "published"),
)

#: One run of a workflow on a record: where it is (``position``, the path of its next
#: step), when it is next due, and which worker holds it. Every step commits together with
#: the run's move past it, so a run resumes after a crash without repeating a step.
workflow_runs = sa.Table(
    "workflow_runs",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False),
    sa.Column(
        "workflow_id", BigId, sa.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("position", JSONDoc, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("event_uuid", sa.Uuid),
    sa.Column("due_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("error", sa.Text),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Index("ix_workflow_runs_uuid", "workspace_id", "uuid", unique=True),
    sa.Index("ix_workflow_runs_record", "workspace_id", "record_id", "id"),
    sa.Index("ix_workflow_runs_workflow", "workspace_id", "workflow_id", "id"),
    sa.Index(
        "ix_workflow_runs_due",
        "due_at",
        sqlite_where=sa.text("status IN ('pending', 'waiting')"),
        postgresql_where=sa.text("status IN ('pending', 'waiting')"),
    ),
)

#: What each step of a run did, in order.
workflow_run_steps = sa.Table(
    "workflow_run_steps",
    metadata,
    _id(),
    _workspace(),
    sa.Column(
        "run_id", BigId, sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("position", sa.String(200), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detail", JSONDoc),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Index("ix_workflow_run_steps_run", "run_id", "id"),
)

#: The moments of date triggers that have started a workflow on a record, so that each
#: starts it once (``crm.core.workflows.dates``).
workflow_date_fires = sa.Table(
    "workflow_date_fires",
    metadata,
    sa.Column(
        "workflow_id", BigId, sa.ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("record_id", BigId, nullable=False),
    sa.Column("moment", UTCDateTime, nullable=False),
    _workspace(),
    sa.PrimaryKeyConstraint("workflow_id", "record_id", "moment"),
)

#: The calls of workflows' ``webhook`` steps: a message to a webhook subscription's URL,
#: signed with its secret, that a worker sends (no transaction open meanwhile) while its
#: run waits; sent, the run goes on; failed past its retries, the run fails.
workflow_calls = sa.Table(
    "workflow_calls",
    metadata,
    _id(),
    _workspace(),
    sa.Column("uuid", sa.Uuid, nullable=False, unique=True),
    sa.Column(
        "run_id", BigId, sa.ForeignKey("workflow_runs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column(
        "subscription_id",
        BigId,
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("position", sa.String(200), nullable=False),
    sa.Column("body", JSONDoc, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_until", UTCDateTime),
    sa.Column("error", sa.Text),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(
        "ix_workflow_calls_due",
        "next_attempt_at",
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    ),
)
