"""The Flexie face as its own ASGI app, mounted by the server at ``/flexie/api``."""

from __future__ import annotations

from fastapi import FastAPI

from crm.api.common.face import create_face as new_face
from crm.api.flexie import cases, lists, notes, records, roles, tasks, users, workflows
from crm.api.flexie.errors import SHAPE

DESCRIPTION = """The Flexie REST API over this CRM: contacts, leads, accounts, deals, cases,
custom entities, tasks, notes, lists, users, roles and workflows, by integer ids.

Send your key in the `apikey` header, as `?apikey=`, or as `Authorization: Bearer`. Every
answer is JSON, errors included: `{"errors": [{"code", "message", "type", "field"}]}` with
400 for any bad input, 401, 403, 404 and 429.
"""

#: The key in the ``apikey`` header, as the document has it; the same key is also taken as
#: ``?apikey=`` or as a bearer token (see the description), which a document cannot offer
#: as alternatives without each one's absence reading as a key refused.
SECURITY = {"apikey": {"type": "apiKey", "in": "header", "name": "apikey"}}


def create_face() -> FastAPI:
    """The Flexie API; the server sets ``state.engine`` before it serves."""
    return new_face(
        title="Flexie REST API",
        description=DESCRIPTION,
        routers=[
            cases.router,
            lists.router,
            records.router,
            notes.router,
            tasks.router,
            users.router,
            roles.router,
            workflows.router,
        ],
        errors=SHAPE,
        error_name="FlexieError",
        security=SECURITY,
    )
