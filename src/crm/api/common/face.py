"""A face as its own ASGI app: its routes, its error shapes and its own OpenAPI document.

The server mounts each face at its base path; the face serves its document at
``<base>/openapi.json`` and renders it at ``<base>/docs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount

from crm import __version__
from crm.api.common import problems
from crm.api.common.openapi import BEARER, document, serve_document
from crm.api.common.problems import ErrorShape

__all__ = ["create_face", "mount"]


def create_face(
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter],
    errors: ErrorShape,
    error_name: str,
    security: Mapping[str, dict[str, Any]] = BEARER,
) -> FastAPI:
    """A face serving ``routers`` and answering every error in ``errors``' shape; the
    server sets ``state.engine`` before it serves.

    Its document gives every error answer the shape's schema, as component ``error_name``,
    and names the ways its clients present keys (``security``, bearer keys by default).
    """
    face = FastAPI(
        title=title,
        version=__version__,
        description=description,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    problems.install(face, errors)
    for router in routers:
        face.include_router(router)
    document(
        face,
        error_name=error_name,
        error_schema=errors.schema,
        statuses=errors.statuses,
        security=security,
    )
    serve_document(face)

    @face.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        base = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(openapi_url=f"{base}/openapi.json", title=title)

    return face


def mount(app: FastAPI, base: str, face: FastAPI) -> None:
    """Serve ``face`` under ``base``, for every path below it.

    Starlette's mount matches the rest of the path with ``.*``, which stops at an encoded
    newline (``%0A``); such a path then fell through to the native API and was answered in
    the native error shape. Matching across newlines keeps it the face's.
    """
    route = Mount(base, app=face)
    route.path_regex = re.compile(route.path_regex.pattern, re.DOTALL)
    app.router.routes.append(route)
