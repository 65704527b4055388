"""The Leadflip face as its own ASGI app, mounted by the server at ``/leadflip/api``."""

from __future__ import annotations

from fastapi import FastAPI

from crm.api.leadflip import entities, leads
from crm.api.leadflip.errors import install


def create_face() -> FastAPI:
    """The Leadflip API; the server sets ``state.engine`` before it serves."""
    face = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    install(face)
    face.include_router(leads.router)
    face.include_router(entities.router)
    return face
