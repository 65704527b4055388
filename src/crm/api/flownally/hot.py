"""The Flownally face's hot routes (see :mod:`crm.api.common.hot`)."""

from __future__ import annotations

from crm.api.common.hot import Answer, Hit, HotRoute, bearer_key
from crm.api.common.http import json_bytes
from crm.api.flownally import render
from crm.api.flownally.contacts import CONTACT, contact_ref
from crm.core.auth.principal import Principal
from crm.core.errors import CRMError
from crm.core.identities.service import Identity, identities_of_record
from crm.core.records import point
from crm.core.records.model import Record
from crm.core.tags.service import Tag, tags_of_record
from crm.db.direct import Reader


async def _links(read: Reader, p: Principal, record: Record) -> tuple[list[Identity], list[Tag]]:
    return (
        await identities_of_record(read, p, record),
        await tags_of_record(read, p, record),
    )


async def get_contact(hit: Hit) -> Answer | None:
    """``GET /flownally/v1/contacts/{contact_id}``, as ``contacts.get_contact``."""
    try:
        ref = contact_ref(hit.params["contact_id"])
    except CRMError:
        return None
    found = await point.read_record(hit.direct, bearer_key(hit), CONTACT, ref, _links)
    if found is None or found.more is None:
        return None
    reached, labels = found.more
    shown = render.contact(found.principal, found.meta, found.record, reached, labels)
    return Answer(200, json_bytes(shown))


ROUTES = (HotRoute("GET", "/flownally/v1/contacts/{contact_id}", get_contact),)
