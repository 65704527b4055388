"""The caller and the workspace's API keys."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native.deps import read, write
from crm.api.native.schemas import ApiKeyIn
from crm.core.auth import service as auth
from crm.core.metadata.service import metadata_for

router = APIRouter(tags=["access"])


@router.get("/me", summary="The caller: workspace, user, role and scopes")
async def me(request: Request) -> Response:
    async with read(request) as (conn, p):
        meta = await metadata_for(conn, p)
    user = meta.users[p.user_id]
    return json_response(
        {
            "workspace_id": str(p.workspace_uuid),
            "user": {"id": str(user.uuid), "email": user.email, "name": user.name},
            "role": p.role_key,
            "permissions": sorted(p.permissions),
            "scopes": sorted(p.scopes),
        }
    )


@router.post("/api-keys", status_code=201, summary="Issue an API key (shown once)")
async def create_api_key(body: ApiKeyIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        p.require_scope("apikey", "create")
        p.require_admin("apikeys")
        key = await auth.create_api_key(
            conn,
            p.workspace_id,
            user_id=p.user_id,
            role=body.role or p.role_key,
            scopes=body.scopes,
            name=body.name,
            actor=p,
        )
    return json_response(
        {
            "id": str(key["id"]),
            "api_key": key["api_key"],
            "scopes": key["scopes"],
            "role": key["role"],
            "name": key["name"],
        },
        201,
    )


@router.delete("/api-keys/{key}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        p.require_scope("apikey", "delete")
        await auth.revoke_api_key(conn, p, key)
    return Response(status_code=204)
