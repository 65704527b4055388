"""The Leadflip face as its own ASGI app, mounted by the server at ``/leadflip/api``."""

from __future__ import annotations

from fastapi import FastAPI

from crm.api.common.face import create_face as new_face
from crm.api.leadflip import entities, leads
from crm.api.leadflip.errors import SHAPE


def create_face() -> FastAPI:
    """The Leadflip API; the server sets ``state.engine`` before it serves."""
    return new_face(
        title="Leadflip API",
        description="Lead intake with flexible key matching. "
        "Authenticate with `Authorization: Bearer ak_...`.",
        routers=[leads.router, entities.router],
        errors=SHAPE,
        error_name="LeadflipError",
    )
