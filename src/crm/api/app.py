"""The ASGI application: the native API at ``/api/v1``, health, OpenAPI and docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from crm import __version__
from crm.api import flexie, flownally, leadflip
from crm.api.common import problems
from crm.api.common.face import mount
from crm.api.common.hot import HotRoutes
from crm.api.common.http import JsonByDefault, bearer, json_response, unit
from crm.api.common.limits import BodyLimit
from crm.api.common.openapi import complete, document
from crm.api.common.throttle import Throttle
from crm.api.flexie import errors as flexie_errors
from crm.api.flexie import hot as flexie_hot
from crm.api.flownally import errors as flownally_errors
from crm.api.flownally import hot as flownally_hot
from crm.api.leadflip import errors as leadflip_errors
from crm.api.leadflip import hot as leadflip_hot
from crm.api.native import (
    access,
    cases,
    events,
    identities,
    imports,
    intake,
    links,
    lists,
    notes,
    objects,
    pipelines,
    records,
    roles,
    tags,
    tasks,
    users,
    viewers,
    webhooks,
    workflows,
)
from crm.api.native import hot as native_hot
from crm.api.native.errors import ERROR_SCHEMA, SHAPE
from crm.api.native.workspace_openapi import for_workspace
from crm.core.metadata.service import metadata_for
from crm.db.direct import Direct
from crm.db.engine import make_engine
from crm.settings import Settings
from crm.worker.inline import inline_worker

DESCRIPTION = """A self-hostable, API-first CRM.

Authenticate with `Authorization: Bearer ak_...`. Errors answer
`{"error": {"code", "message", "details"}}` with 400, 401, 403, 404, 409, 413, 422 or 429.
"""


def create_app(settings: Settings, engine: AsyncEngine | None = None) -> Any:
    """Build the whole server for ``settings``.

    Without ``engine`` the server opens its own when it starts and closes it when it stops.
    """

    faces = {
        "/leadflip/api": (leadflip.create_face(), leadflip_errors.SHAPE.render_status),
        "/flownally/v1": (flownally.create_face(), flownally_errors.SHAPE.render_status),
        "/flexie/api": (flexie.create_face(), flexie_errors.SHAPE.render_status),
    }

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine is not None:
            yield
            return
        app.state.engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
        app.state.direct = Direct(app.state.engine)
        throttle.share(app.state.engine)
        for face, _ in faces.values():
            face.state.engine = app.state.engine
        async with inline_worker(app.state.engine, settings):
            try:
                yield
            finally:
                await app.state.direct.close()
                await app.state.engine.dispose()

    app = FastAPI(
        title="CRM",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine, app.state.settings = engine, settings
    app.state.direct = Direct(engine) if engine is not None else None
    for path, (face, _) in faces.items():
        face.state.engine, face.state.settings = engine, settings
        mount(app, path, face)
    problems.install(app, SHAPE)
    for module in (
        objects,
        records,
        intake,
        imports,
        links,
        viewers,
        tags,
        lists,
        identities,
        notes,
        cases,
        tasks,
        pipelines,
        events,
        access,
        users,
        roles,
        webhooks,
        workflows,
    ):
        app.include_router(module.router, prefix="/api/v1")
    document(app, error_name="Error", error_schema=ERROR_SCHEMA)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        key = bearer(request)
        if key is None:
            return json_response(app.openapi())
        async with unit(request, key, write=False) as (conn, principal):
            meta = await metadata_for(conn, principal)
        doc = for_workspace(app.openapi(), meta)
        return json_response(complete(doc, error_name="Error", error_schema=ERROR_SCHEMA))

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="CRM API")

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        try:
            async with request.app.state.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # the database is unreachable, whatever the driver says
            return json_response({"status": "unavailable"}, 503)
        return json_response({"status": "ok"})

    def render_error(path: str, status: int, message: str) -> bytes:
        for prefix, (_, render) in faces.items():
            if path.startswith(prefix + "/"):
                return render(status, message)
        return SHAPE.render_status(status, message)

    hot = (
        (*native_hot.ROUTES, *flownally_hot.ROUTES, *leadflip_hot.ROUTES, *flexie_hot.ROUTES)
        if settings.hot_paths
        else ()
    )
    throttle = Throttle(
        BodyLimit(
            JsonByDefault(HotRoutes(app, hot, lambda: app.state.direct)),
            settings.max_body_bytes,
            upload_limit=settings.max_import_bytes,
        ),
        settings,
        render_error,
    )
    if engine is not None:
        throttle.share(engine)
    return throttle


def create_from_env() -> Any:
    """The app for ``uvicorn --factory``: settings from ``CRM_*`` environment variables."""
    return create_app(Settings.from_env())
