"""The Flownally face as its own ASGI app, mounted by the server at ``/flownally/v1``."""

from __future__ import annotations

from fastapi import FastAPI

from crm.api.flownally import contacts, custom_fields, imports, tags
from crm.api.flownally.errors import install


def create_face() -> FastAPI:
    """The Flownally API; the server sets ``state.engine`` before it serves."""
    face = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install(face)
    face.include_router(custom_fields.router)
    face.include_router(imports.router)
    face.include_router(contacts.router)
    face.include_router(tags.router)
    return face
