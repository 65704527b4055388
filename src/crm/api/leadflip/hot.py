"""The Leadflip face's hot routes (see :mod:`crm.api.common.hot`)."""

from __future__ import annotations

from crm.api.common.hot import Answer, Hit, HotRoute, bearer_key
from crm.api.common.http import json_bytes
from crm.api.leadflip.leads import RECENT_EVENTS
from crm.api.leadflip.render import event, lead
from crm.core.auth.principal import Principal
from crm.core.events.service import Event
from crm.core.records import point
from crm.core.records.history import recent_events_read
from crm.core.records.model import Record
from crm.db.direct import Reader


async def _recent(read: Reader, p: Principal, record: Record) -> list[Event]:
    return await recent_events_read(read, p, record, limit=RECENT_EVENTS)


async def get_lead(hit: Hit) -> Answer | None:
    """``GET /leadflip/api/leads/{lead_id}``, as ``leads.get_lead``."""
    found = await point.locate_record(hit.direct, bearer_key(hit), hit.params["lead_id"], _recent)
    if found is None or found.more is None:
        return None
    shown = {**lead(found.meta, found.record), "events": [event(e) for e in found.more]}
    return Answer(200, json_bytes(shown))


ROUTES = (HotRoute("GET", "/leadflip/api/leads/{lead_id}", get_lead),)
