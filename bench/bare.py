"""A bare ASGI application that answers with the bytes the CRM answered, and nothing more.

It is the yardstick of the HTTP benchmark: served by the same uvicorn with the same
settings as ``crm serve``, it costs what the stack (event loop, HTTP parsing, ASGI) costs
and nothing of the application's own. ``BENCH_BARE_ANSWERS`` names a JSON file of
``{"method", "path" (a regular expression), "status", "content_type", "body"}`` entries;
a request gets the first entry matching its method and path, after its body is read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any


def _answers() -> list[tuple[str, re.Pattern[str], int, list[tuple[bytes, bytes]], bytes]]:
    entries = json.loads(Path(os.environ["BENCH_BARE_ANSWERS"]).read_text())
    out = []
    for e in entries:
        body = e["body"].encode()
        headers = [
            (b"content-type", e["content_type"].encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        out.append((e["method"], re.compile(e["path"]), e["status"], headers, body))
    return out


ANSWERS = _answers()
NOT_FOUND = (404, [(b"content-type", b"text/plain"), (b"content-length", b"0")], b"")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer one request with the recorded bytes of the first matching entry."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    status, headers, body = NOT_FOUND
    for method, path, known_status, known_headers, known_body in ANSWERS:
        if method == scope["method"] and path.fullmatch(scope["path"]):
            status, headers, body = known_status, known_headers, known_body
            break
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
