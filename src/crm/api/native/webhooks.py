"""Webhook subscriptions: where the workspace's events are sent, their secrets, their
delivery logs, and replays."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import Page, paging, read, write
from crm.api.native.schemas import ReplayIn, WebhookIn, WebhookPatch
from crm.core.errors import FieldError, ValidationFailed
from crm.core.events.stream import settle
from crm.core.webhooks import subscriptions as webhooks
from crm.core.webhooks.safety import Refused, Target, check, outbound

router = APIRouter(tags=["webhooks"])
ONE = "/webhooks/{webhook}"
#: Seconds a new subscription waits for the transactions running when it was asked for;
#: events of one still running after that may be sent to it too.
SETTLE = 5.0


async def _target(request: Request, action: str, url: Any) -> Target:
    """``url`` checked against what webhooks may call, once the caller is known to be
    allowed to ``action`` webhooks (no transaction is open while the host resolves)."""
    async with read(request) as (_, p):
        webhooks.may_manage(p, action)
    if not isinstance(url, str):
        raise ValidationFailed.of([FieldError("url", "must be an http or https URL")])
    try:
        return await check(url, outbound(request.app.state.settings))
    except Refused as exc:
        raise ValidationFailed.of([FieldError("url", str(exc), "refused")]) from None


@router.post(
    "/webhooks",
    status_code=201,
    summary="Subscribe a URL to the workspace's events (the answer holds its secret, once)",
)
async def create_webhook(body: WebhookIn, request: Request) -> Response:
    target = await _target(request, "create", body.url)
    # What committed before the request is then readable, and behind the new cursor.
    await settle(request.app.state.engine, within=SETTLE)
    async with write(request) as (conn, p):
        made = await webhooks.create_subscription(
            conn, p, url=target, events=body.events, objects=body.objects
        )
    return json_response(render.webhook(made), 201)


@router.get("/webhooks", summary="The workspace's webhook subscriptions, oldest first")
async def list_webhooks(request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await webhooks.list_subscriptions(conn, p)
    return json_response({"data": [render.webhook(s) for s in found]})


@router.get(ONE, summary="A webhook subscription")
async def get_webhook(webhook: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        found = await webhooks.get_subscription(conn, p, webhook)
    return json_response(render.webhook(found))


@router.patch(ONE, summary="Change a webhook's URL, events or objects, or turn it off or on")
async def update_webhook(webhook: str, body: WebhookPatch, request: Request) -> Response:
    given = body.given()
    for name in ("events", "objects", "active"):
        if name in given and given[name] is None:
            raise ValidationFailed.of([FieldError(name, "must not be null")])
    if "url" in given:
        given["url"] = await _target(request, "update", given["url"])
    async with write(request) as (conn, p):
        changed = await webhooks.update_subscription(conn, p, webhook, **given)
    return json_response(render.webhook(changed))


@router.delete(ONE, status_code=204, summary="Delete a webhook subscription and its log")
async def delete_webhook(webhook: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await webhooks.delete_subscription(conn, p, webhook)
    return Response(status_code=204)


@router.post(
    f"{ONE}/rotate",
    summary="A new signing secret (in the answer, once); the old one signs beside it for a while",
)
async def rotate_webhook_secret(
    webhook: str,
    request: Request,
    grace_seconds: int = Query(
        int(webhooks.GRACE.total_seconds()),
        ge=0,
        le=int(webhooks.MAX_GRACE.total_seconds()),
        description="how long the old secret goes on signing beside the new one",
    ),
) -> Response:
    async with write(request) as (conn, p):
        rotated = await webhooks.rotate_secret(
            conn, p, webhook, grace=timedelta(seconds=grace_seconds)
        )
    return json_response(render.webhook(rotated))


@router.get(f"{ONE}/deliveries", summary="The webhook's delivery attempts, newest first")
async def webhook_deliveries(
    webhook: str,
    request: Request,
    page: Page = Depends(paging(webhooks.LOG_PAGE, webhooks.MAX_LOG_PAGE)),
) -> Response:
    async with read(request) as (conn, p):
        found = await webhooks.delivery_log(conn, p, webhook, **page.asked())
    return json_response(
        {"data": [render.delivery(a) for a in found.attempts], "next_cursor": found.next_cursor}
    )


@router.post(f"{ONE}/replay", summary="Send again every event from one on, in order")
async def replay_webhook(webhook: str, body: ReplayIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        replayed = await webhooks.replay(conn, p, webhook, body.event_id)
    return json_response(render.webhook(replayed))
