"""The Flownally face as its own ASGI app, mounted by the server at ``/flownally/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from crm.api.common.face import create_face as new_face
from crm.api.flownally import contacts, custom_fields, imports, tags
from crm.api.flownally.errors import SHAPE


def create_face() -> FastAPI:
    """The Flownally API; the server sets ``state.engine`` before it serves."""
    return new_face(
        title="Flownally Contacts API",
        description="Contacts with channel identities, tags, custom fields and CSV imports. "
        "Authenticate with `Authorization: Bearer ak_...`.",
        routers=[custom_fields.router, imports.router, contacts.router, tags.router],
        errors=SHAPE,
        error_name="FlownallyError",
    )
