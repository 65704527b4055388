"""Pipelines and their stages."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from crm.api.common.http import json_response
from crm.api.native import render
from crm.api.native.deps import read, write
from crm.api.native.render_motion import pipeline_summary
from crm.api.native.schemas import PipelineIn, PipelinePatch
from crm.core.pipelines import motion
from crm.core.pipelines import service as pipelines

router = APIRouter(tags=["pipelines"])


@router.get("/pipelines", summary="List pipelines")
async def list_pipelines(request: Request, object: str | None = None) -> Response:
    async with read(request) as (conn, p):
        meta, found = await pipelines.list_pipelines(conn, p, object_key=object)
    return json_response({"data": [render.pipeline(meta, x) for x in found]})


@router.post("/pipelines", status_code=201, summary="Create a pipeline on an object")
async def create_pipeline(body: PipelineIn, request: Request) -> Response:
    async with write(request) as (conn, p):
        meta, created = await pipelines.create_pipeline(conn, p, body.given())
    return json_response(render.pipeline(meta, created), 201)


@router.get("/pipelines/{pipeline}", summary="Get a pipeline")
async def get_pipeline(pipeline: str, request: Request) -> Response:
    async with read(request) as (conn, p):
        meta, found = await pipelines.get_pipeline(conn, p, pipeline)
    return json_response(render.pipeline(meta, found))


@router.patch("/pipelines/{pipeline}", summary="Relabel a pipeline or replace its stages")
async def update_pipeline(pipeline: str, body: PipelinePatch, request: Request) -> Response:
    async with write(request) as (conn, p):
        meta, updated = await pipelines.update_pipeline(conn, p, pipeline, body.given())
    return json_response(render.pipeline(meta, updated))


@router.delete("/pipelines/{pipeline}", status_code=204, summary="Delete a pipeline")
async def delete_pipeline(pipeline: str, request: Request) -> Response:
    async with write(request) as (conn, p):
        await pipelines.delete_pipeline(conn, p, pipeline)
    return Response(status_code=204)


@router.get("/pipelines/{pipeline}/summary", summary="Records and amounts in each stage")
async def summarize_pipeline(
    pipeline: str, request: Request, amount: str | None = None
) -> Response:
    async with read(request) as (conn, p):
        summary = await motion.stage_summary(conn, p, pipeline, amount=amount)
    return json_response(pipeline_summary(summary))
