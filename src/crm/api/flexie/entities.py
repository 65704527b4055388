"""Which record type each Flexie path serves, and the names of its envelopes.

Contacts, leads, accounts (the core's companies), deals and cases have paths of their own;
custom entities are the workspace's own object types, at ``/ce/{tableName}``. Permissions
name accounts as Flexie does (``account:accounts:viewown``) and companies as the core does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.core.errors import NotFound
from crm.core.metadata.model import ObjectMeta, WorkspaceMeta


@dataclass(frozen=True)
class Kind:
    """A record type as Flexie names it: the envelope of one, of a list, and its word."""

    object: str | None
    one: str
    many: str
    word: str


STANDARD = {
    "contacts": Kind("contact", "contact", "contacts", "contact"),
    "leads": Kind("lead", "lead", "leads", "lead"),
    "accounts": Kind("company", "account", "accounts", "account"),
    "deals": Kind("deal", "deal", "deals", "deal"),
    "cases": Kind("case", "case", "cases", "case"),
}
#: Custom entities: the object is the path's ``tableName``.
CUSTOM = Kind(None, "entity", "entities", "record")
#: What Flexie calls a standard object in ``/notes/{entityType}/...`` and task associations.
ENTITY_TYPES = {
    "contact": "contact",
    "lead": "lead",
    "account": "company",
    "deal": "deal",
    "case": "case",
    "task": "task",
}


def object_of(meta: WorkspaceMeta, kind: Kind, table: str | None) -> ObjectMeta:
    """The object type a request names; a custom entity's table must be a custom object."""
    if kind.object is not None:
        return meta.object(kind.object)
    found = meta.objects.get(table or "")
    if found is None or found.is_standard:
        raise NotFound(f"No custom entity {table!r}")
    return found


def entity_object(meta: WorkspaceMeta, name: str) -> ObjectMeta:
    """An object by Flexie's entity type (``contact``, ``account``) or a custom table."""
    key = ENTITY_TYPES.get(name)
    if key is not None:
        return meta.object(key)
    return object_of(meta, CUSTOM, name)


#: The parts of a permission (``bundle:entity:action``) Flexie names otherwise than the core.
_TO_CORE: tuple[dict[str, str], ...] = ({"account": "company"}, {"accounts": "companies"}, {})
_TO_FLEXIE = tuple({core: name for name, core in part.items()} for part in _TO_CORE)


def _renamed(text: str, parts: tuple[dict[str, str], ...]) -> str:
    return ":".join(names.get(p, p) for names, p in zip(parts, text.split(":"), strict=True))


def core_permission(text: Any) -> Any:
    """A permission as the core names it (``company:companies:viewown``); anything that is
    no permission as it is, for the core to refuse."""
    if not isinstance(text, str) or text.count(":") != 2:
        return text
    return _renamed(text, _TO_CORE)


def flexie_permission(text: str) -> str:
    """A permission of the core as Flexie names it (``account:accounts:viewown``)."""
    return _renamed(text, _TO_FLEXIE)
