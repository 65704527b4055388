"""Request bodies of the native API. Unknown attributes are refused (422)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from crm.api.common.openapi import words
from crm.core.auth.principal import PERMISSION, SCOPE
from crm.core.limits import MAX_TEXT_BODY
from crm.core.storable import require_storable
from crm.db.jsonsql import KEY

#: Facets of labels and names, as the core checks them.
LABEL = words(200)
USERNAME: dict[str, Any] = {"minLength": 1, "maxLength": 100, "pattern": r"^\S+$"}


def present(extra: dict[str, Any] | None = None) -> Callable[[dict[str, Any]], None]:
    """A field's ``json_schema_extra``: it may be left out but not sent as null, which the
    core refuses there; ``extra`` adds facets."""

    def edit(schema: dict[str, Any]) -> None:
        kinds = [k for k in schema.pop("anyOf", []) if k.get("type") != "null"]
        if len(kinds) == 1:
            schema.update(kinds[0])
        elif kinds:
            schema["anyOf"] = kinds
        schema.update(extra or {})

    return edit


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        require_storable(data)  # a 422 naming the field, not pydantic's "body"
        return data

    def given(self) -> dict[str, Any]:
        """Only the attributes the client sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


class DuplicatesIn(Body):
    """What intake does when a record's match fields equal another record's."""

    policy: Literal["create", "update", "skip"] = "update"
    match: list[str] | None = Field(None, examples=[["email", "phone"]])


class ObjectIn(Body):
    key: str = Field(examples=["property"], json_schema_extra={"pattern": KEY.pattern})
    label: str = Field(examples=["Property"], json_schema_extra=LABEL)
    plural_label: str | None = Field(None, json_schema_extra=present(LABEL))
    display_fields: list[str] = []
    fields: list[dict[str, Any]] = []
    duplicates: DuplicatesIn | None = None


class ObjectPatch(Body):
    label: str | None = Field(None, json_schema_extra=present(LABEL))
    plural_label: str | None = Field(None, json_schema_extra=present(LABEL))
    display_fields: list[str] | None = Field(None, json_schema_extra=present())
    duplicates: DuplicatesIn | None = None


class FieldIn(Body):
    key: str = Field(examples=["region"], json_schema_extra={"pattern": KEY.pattern})
    label: str = Field(examples=["Region"])
    type: str = Field(examples=["text"])
    group: str | None = None
    required: bool = False
    unique: bool = False
    searchable: bool | None = None
    indexed: bool = False
    default: Any = None
    options: dict[str, Any] = {}
    position: int | None = None


class FieldPatch(Body):
    key: str | None = None
    label: str | None = None
    type: str | None = None
    group: str | None = None
    required: bool | None = None
    unique: bool | None = None
    searchable: bool | None = None
    indexed: bool | None = None
    default: Any = None
    options: dict[str, Any] | None = None
    position: int | None = None


#: Facets of a position, as the core checks it.
POSITION = {"minimum": -(2**31) + 1, "maximum": 2**31 - 1}


class CategoryIn(Body):
    key: str = Field(examples=["social"], json_schema_extra={"pattern": KEY.pattern})
    label: str = Field(examples=["Social profiles"], json_schema_extra=LABEL)
    position: int | None = Field(None, json_schema_extra=present(POSITION))


class CategoryPatch(Body):
    label: str | None = Field(None, json_schema_extra=present(LABEL))
    position: int | None = Field(None, json_schema_extra=present(POSITION))


class StageIn(Body):
    id: str | None = None
    name: str = Field(json_schema_extra=LABEL)
    kind: Literal["open", "won", "lost"] = "open"
    probability: int | None = Field(None, json_schema_extra=present({"minimum": 0, "maximum": 100}))
    color: str | None = None
    system_key: str | None = None


class PipelineIn(Body):
    key: str = Field(examples=["stage"])
    label: str = Field(examples=["Sales"], json_schema_extra=LABEL)
    object: str = Field(examples=["lead"])
    stages: list[StageIn] = Field(json_schema_extra={"minItems": 1})


class PipelinePatch(Body):
    label: str | None = Field(None, json_schema_extra=present(LABEL))
    stages: list[StageIn] | None = Field(None, json_schema_extra=present({"minItems": 1}))


class StageMoveIn(Body):
    stage: str = Field(examples=["Won"])
    #: A pipeline key or id; needed only when the object has several pipelines.
    pipeline: str | None = Field(None, examples=["stage"])


class RecordIn(Body):
    fields: dict[str, Any] = Field(examples=[{"first_name": "Ada", "email": "ada@example.com"}])
    owner_id: str | None = None


class RecordPatch(Body):
    fields: dict[str, Any] = {}
    owner_id: str | None = None


class UpsertIn(Body):
    match: str = Field(examples=["email"])
    fields: dict[str, Any]
    owner_id: str | None = None


class BulkIn(Body):
    #: Items are checked one by one, so one that is not even an object fails alone.
    records: list[Any]


class SearchIn(Body):
    filter: dict[str, Any] | None = None
    sort: list[dict[str, Any]] = []
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = None
    offset: int | None = Field(None, ge=0)
    q: str | None = None
    archived: Literal["exclude", "include", "only"] = "exclude"
    include_total: bool = False


class CountIn(Body):
    filter: dict[str, Any] | None = None
    q: str | None = None
    archived: Literal["exclude", "include", "only"] = "exclude"


class IntakeBatchIn(Body):
    items: list[dict[str, Any]] = Field(
        examples=[[{"Full Name": "Ada Lovelace", "E-mail": "ada@example.com"}]]
    )
    #: Values every item gets unless it gives its own (a source, a note).
    shared: dict[str, Any] = {}


class TagIn(Body):
    name: str = Field(examples=["VIP"], json_schema_extra=words(100))


class ListIn(Body):
    name: str = Field(examples=["VIP customers"], json_schema_extra=LABEL)
    #: The key of the object type whose records the list holds.
    object: str = Field(examples=["contact"])
    description: str | None = Field(None, json_schema_extra={"maxLength": 5000})


class ListPatch(Body):
    name: str | None = Field(None, json_schema_extra=present(LABEL))
    #: null clears it.
    description: str | None = Field(None, json_schema_extra={"maxLength": 5000})


class IdentityIn(Body):
    channel: Literal["whatsapp", "sms", "email", "messenger", "instagram", "telegram", "webchat"]
    #: Optional when the channel's metadata key holds it (``phoneNumber``, ``email``, ...).
    address: str | None = Field(None, examples=["+48123456789"])
    metadata: dict[str, Any] = {}


class ViewersIn(Body):
    users: list[str] = Field(examples=[["sam@acme.com"]])


class NoteIn(Body):
    body: str
    kind: str = "note"
    tag: str | None = None
    occurred_at: str | None = None


class NotePatch(Body):
    body: str | None = None
    kind: str | None = None
    tag: str | None = None
    occurred_at: str | None = None


class ApiKeyIn(Body):
    name: str = "API key"
    scopes: list[str] = Field(
        ["read:crm", "write:crm"],
        json_schema_extra={"minItems": 1, "items": {"type": "string", "pattern": SCOPE.pattern}},
    )
    role: str | None = None


#: A list of permission strings; the core names each unfit item (``permissions[2]``).
PERMISSIONS: dict[str, Any] = {
    "maxItems": 100,
    "items": {"type": "string", "pattern": PERMISSION.pattern},
}
PASSWORD: dict[str, Any] = {"minLength": 8, "maxLength": 200}


class UserIn(Body):
    email: str = Field(examples=["grace@acme.com"])
    #: Optional when ``first_name`` or ``last_name`` is given: the user is called by them.
    name: str | None = Field(None, json_schema_extra=LABEL)
    #: The email's local part unless given (made unique with ``-2``, ``-3``, ...).
    username: str | None = Field(None, json_schema_extra=USERNAME)
    first_name: str | None = Field(None, examples=["Grace"])
    last_name: str | None = Field(None, examples=["Hopper"])
    position: str | None = None
    timezone: str | None = Field(None, examples=["Europe/Warsaw"])
    locale: str | None = Field(None, examples=["en_US"])
    role: str = "agent"
    password: str | None = Field(None, json_schema_extra=PASSWORD)


class UserPatch(Body):
    """What to change; ``null`` clears ``first_name``, ``last_name``, ``position``,
    ``timezone`` and ``locale``."""

    email: str | None = Field(None, json_schema_extra=present())
    name: str | None = Field(None, json_schema_extra=present(LABEL))
    username: str | None = Field(None, json_schema_extra=present(USERNAME))
    first_name: str | None = None
    last_name: str | None = None
    position: str | None = None
    timezone: str | None = None
    locale: str | None = None
    role: str | None = Field(None, json_schema_extra=present())
    active: bool | None = Field(None, json_schema_extra=present())
    password: str | None = Field(None, json_schema_extra=present(PASSWORD))


class PermissionCheckIn(Body):
    permissions: list[Any] = Field(
        examples=[["lead:leads:viewown", "admin:users:manage"]], json_schema_extra=PERMISSIONS
    )


class RoleIn(Body):
    key: str = Field(examples=["sales_lead"], json_schema_extra={"pattern": KEY.pattern})
    name: str = Field(examples=["Sales lead"], json_schema_extra=LABEL)
    description: str | None = Field(None, max_length=1000)
    permissions: list[Any] = Field(
        examples=[["*:*:viewother", "*:*:editown", "lead:leads:full"]],
        json_schema_extra=PERMISSIONS,
    )


class RolePatch(Body):
    name: str | None = Field(None, json_schema_extra=present(LABEL))
    description: str | None = Field(None, max_length=1000)
    permissions: list[Any] | None = Field(None, json_schema_extra=present(PERMISSIONS))


class LinkIn(Body):
    attributes: dict[str, Any] = Field({}, examples=[{"title": "CTO"}])


class ReplyIn(Body):
    """Exactly one of ``text`` and ``template_id``."""

    text: str | None = Field(
        None, examples=["We are on it."], json_schema_extra=words(MAX_TEXT_BODY)
    )
    #: A reply template's id, or its number in the workspace (checked by the core, which
    #: names ``template_id`` in its 422 for anything else).
    template_id: Any = Field(
        None,
        examples=[3],
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    )


class ReplyTemplateIn(Body):
    name: str = Field(examples=["Received"], json_schema_extra=words(200))
    body: str = Field(
        examples=["Hello {{contact.first_name}}, we received {{case.identifier}}. {{user.name}}"],
        json_schema_extra=words(MAX_TEXT_BODY),
    )


class ReplyTemplatePatch(Body):
    name: str | None = Field(None, json_schema_extra=present(words(200)))
    body: str | None = Field(None, json_schema_extra=present(words(MAX_TEXT_BODY)))


#: A URL a webhook is sent to (the core checks what it may call, and names ``url`` in a 422).
WEBHOOK_URL: dict[str, Any] = {"minLength": 1, "maxLength": 2048}
#: Event types wanted, or ``["*"]`` for all.
EVENT_TYPES: dict[str, Any] = {
    "minItems": 1,
    "maxItems": 100,
    "items": {"type": "string", "pattern": r"^(\*|[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)$"},
}
#: Keys of the object types wanted, or ``["*"]`` for all.
OBJECT_KEYS: dict[str, Any] = {"minItems": 1, "maxItems": 100, "items": {"type": "string"}}


class WebhookIn(Body):
    url: str = Field(examples=["https://hooks.example.com/crm"], json_schema_extra=WEBHOOK_URL)
    events: list[str] = Field(
        ["*"], examples=[["record.created", "record.updated"]], json_schema_extra=EVENT_TYPES
    )
    #: Only the events about records (or other things) of these object types.
    objects: list[str] = Field(["*"], examples=[["contact", "deal"]], json_schema_extra=OBJECT_KEYS)


class WebhookPatch(Body):
    """What to change; ``active: true`` also resumes a failing subscription."""

    url: str | None = Field(None, json_schema_extra=present(WEBHOOK_URL))
    events: list[str] | None = Field(None, json_schema_extra=present(EVENT_TYPES))
    objects: list[str] | None = Field(None, json_schema_extra=present(OBJECT_KEYS))
    active: bool | None = Field(None, json_schema_extra=present())


class ReplayIn(Body):
    #: The id of an event of the workspace: it and every event after it are sent again.
    event_id: str = Field(examples=["01890a5d-ac96-774b-bcce-b302099a8057"])


#: A workflow category named by its id or its number, or null for none (checked by the
#: core, which names ``category`` in its 422 for anything else).
CATEGORY_REF: dict[str, Any] = {
    "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}],
    "description": "a workflow category's id or number, or null for none",
}
#: A workflow's steps; the core names a wrong one (``steps[2].due_in``).
STEPS: dict[str, Any] = {"maxItems": 50, "items": {"type": "object"}}


class WorkflowIn(Body):
    """A workflow: its trigger, conditions and steps are checked against the workspace
    (see docs/workflows.md)."""

    #: The key of the object type whose records it runs on.
    object: str = Field(examples=["lead"])
    name: str = Field(examples=["New lead"], json_schema_extra=LABEL)
    description: str | None = Field(None, json_schema_extra={"maxLength": 5000})
    category: Any = Field(None, json_schema_extra=CATEGORY_REF)
    published: StrictBool = False
    runtime: Literal["async", "sync"] = "async"
    trigger: dict[str, Any] = Field(examples=[{"type": "record.created"}])
    #: A filter the record must match, in the language of record lists.
    conditions: dict[str, Any] | None = Field(
        None, examples=[{"field": "source", "op": "eq", "value": "Website"}]
    )
    steps: list[Any] = Field(
        [],
        examples=[[{"type": "create_task", "title": "Call {{first_name}}", "due_in": {"days": 1}}]],
        json_schema_extra=STEPS,
    )


class WorkflowPatch(Body):
    """What to change; ``null`` clears ``description``, ``category`` and ``conditions``.
    ``object`` cannot change."""

    object: str | None = Field(None, json_schema_extra=present())
    name: str | None = Field(None, json_schema_extra=present(LABEL))
    description: str | None = Field(None, json_schema_extra={"maxLength": 5000})
    category: Any = Field(None, json_schema_extra=CATEGORY_REF)
    published: StrictBool | None = Field(None, json_schema_extra=present())
    runtime: Literal["async", "sync"] | None = Field(None, json_schema_extra=present())
    trigger: dict[str, Any] | None = Field(None, json_schema_extra=present())
    conditions: dict[str, Any] | None = None
    steps: list[Any] | None = Field(None, json_schema_extra=present(STEPS))


class WorkflowCategoryIn(Body):
    name: str = Field(examples=["Onboarding"], json_schema_extra=words(100))


class WorkflowRunsIn(Body):
    """Exactly one of ``record`` and ``filter``."""

    #: A record of the workflow's object type, by id (checked by the core, which names
    #: ``record`` in its 422 for anything else).
    record: Any = Field(
        None,
        json_schema_extra={"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
    )
    #: Every record the filter finds (at most 10,000), in the language of record lists.
    filter: dict[str, Any] | None = Field(
        None, examples=[{"field": "city", "op": "eq", "value": "Oslo"}]
    )
