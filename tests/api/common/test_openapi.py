"""Each face's OpenAPI document tells the truth about what its server does."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import Workspace

#: Each face's document, its base and the name of its error schema.
FACES = [
    ("/openapi.json", "", "Error"),
    ("/leadflip/api/openapi.json", "/leadflip/api", "LeadflipError"),
    ("/flownally/v1/openapi.json", "/flownally/v1", "FlownallyError"),
    ("/flexie/api/openapi.json", "/flexie/api", "FlexieError"),
]
#: The error statuses every operation of each face documents (Flexie's bad input is a 400).
COMMON = {"400", "401", "403", "404", "413", "429"}
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.mark.parametrize(("url", "base", "error"), FACES)
async def test_each_path_answers_405_allowing_exactly_its_documented_methods(
    client: httpx.AsyncClient, url: str, base: str, error: str
) -> None:
    doc = (await client.get(url)).json()
    assert doc.get("servers", [{"url": "/"}]) == [{"url": base or "/"}]
    refused = 0
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in item if m in METHODS}
        for method in (m for m in METHODS if m not in item):
            # a literal path (``/contacts/import``) also fits a parameterised one, which then
            # serves the request (an unknown id) instead of refusing the method
            answer = await client.request(method, base + re.sub(r"\{[^}]+\}", "x", path))
            if answer.status_code == 405:
                refused += 1
                allowed = set(answer.headers["allow"].split(", ")) - {"HEAD", "OPTIONS"}
                assert allowed == documented, path
    assert refused > len(doc["paths"]) / 2


@pytest.mark.parametrize(("url", "base", "error"), FACES)
async def test_every_operation_lists_the_errors_it_can_answer_in_the_face_shape(
    client: httpx.AsyncClient, url: str, base: str, error: str
) -> None:
    doc = (await client.get(url)).json()
    schemes = doc["components"]["securitySchemes"]
    if base == "/flexie/api":
        assert schemes == {"apikey": {"type": "apiKey", "in": "header", "name": "apikey"}}
    else:
        assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    ref = {"$ref": f"#/components/schemas/{error}"}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert statuses >= COMMON, (path, method)
            assert ("422" in statuses) == (base != "/flexie/api"), (path, method)
            if "requestBody" in operation and base != "/flexie/api":
                assert "415" in statuses, (path, method)
            for status in statuses - {"200", "201", "202", "204"}:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == ref, (path, method, status)


async def test_an_unknown_key_gets_the_documented_401_on_each_face(
    client: httpx.AsyncClient,
) -> None:
    nope = {"Authorization": "Bearer ak_nope"}
    native = await client.get("/api/v1/objects", headers=nope)
    assert native.json()["error"]["code"] == "unauthenticated"
    leadflip = await client.get("/leadflip/api/entities", headers=nope)
    assert leadflip.status_code == 401
    assert leadflip.json()["status"] == "error"
    flownally = await client.get("/flownally/v1/contacts", headers=nope)
    assert flownally.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_the_documented_optional_attributes_may_all_be_left_out(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    flownally = (await client.get("/flownally/v1/openapi.json")).json()
    create = flownally["paths"]["/contacts"]["post"]["requestBody"]
    assert create["content"]["application/json"]["schema"]["required"] == []
    made = await client.post("/flownally/v1/contacts", json={}, headers=ws.auth)
    assert made.status_code == 201, made.text
    native = (await client.get("/openapi.json", headers=ws.auth)).json()
    records = "/api/v1/objects/contact/records"
    patch = native["paths"][records + "/{record}"]["patch"]["requestBody"]
    assert patch["content"]["application/json"]["schema"]["required"] == []
    record = await client.post(records, json={"fields": {"email": "a@b.co"}}, headers=ws.auth)
    changed = await client.patch(f"{records}/{record.json()['id']}", json={}, headers=ws.auth)
    assert changed.status_code == 200
    post = native["paths"][records]["post"]["requestBody"]
    assert post["content"]["application/json"]["schema"]["required"] == ["fields"]
    refused = await client.post(records, json={}, headers=ws.auth)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["fields"]


async def test_a_face_path_holding_a_newline_gets_the_face_error_shape(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    answer = await client.get("/flownally/v1/contacts/a%0Ab", headers=ws.auth)
    assert answer.status_code in (404, 422)
    assert answer.json()["error"]["code"] == answer.status_code


async def test_what_the_document_lets_a_change_leave_out_may_not_be_sent_as_null(
    client: httpx.AsyncClient, ws: Workspace
) -> None:
    doc = (await client.get("/openapi.json")).json()
    label = doc["components"]["schemas"]["ObjectPatch"]["properties"]["label"]
    assert label["type"] == "string"
    assert "anyOf" not in label
    refused = await client.patch("/api/v1/objects/contact", json={"label": None}, headers=ws.auth)
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["label"]
