"""Receiving an uploaded file as it streams in: from a multipart form's file field, or as
the whole body of a ``text/csv`` request. Nothing is kept in memory beyond the piece at
hand; each piece goes straight to the core's upload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from crm.api.common.http import UPLOAD_SLACK, MalformedBody, UnsupportedMedia, media_type
from crm.core.errors import PayloadTooLarge
from crm.core.imports.storage import Upload

#: Bodies taken whole as the file.
RAW_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "application/octet-stream"})
#: Largest value of a form field beside the file, and how many such fields are read.
MAX_FIELD = 64 * 1024
MAX_FIELDS = 8


@dataclass
class Received:
    """What came with the file: its name and the form's other fields."""

    found: bool = False
    filename: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


class _Parts:
    """Collects what the multipart parser finds; file data waits in ``pending``."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.received = Received()
        self.pending: list[bytes] = []
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_part,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers, self._name, self._is_file = {}, None, False
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._is_file = self._name == self.file_field and not self.received.found
        if self._is_file:
            self.received.found = True
            self.received.filename = filename.decode("utf-8", "replace") if filename else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.pending.append(data[start:end])
        elif len(self._value) + end - start > MAX_FIELD:
            raise MalformedBody(f"The form field {self._name!r} is longer than {MAX_FIELD} bytes")
        else:
            self._value += data[start:end]

    def _end(self) -> None:
        if not self._is_file and self._name:
            if len(self.received.fields) >= MAX_FIELDS:
                raise MalformedBody(f"The form has more than {MAX_FIELDS} fields besides the file")
            self.received.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive_upload(request: Request, upload: Upload, *, file_field: str = "file") -> Received:
    """Stream the request's file into ``upload`` and close it; the form's other fields.

    ``Received.found`` is false when a form holds no ``file_field``.
    """
    media = media_type(request)
    if media in RAW_TYPES:
        async for piece in request.stream():
            await upload.write(piece)
        await upload.close()
        return Received(found=True)
    if media != "multipart/form-data":
        raise UnsupportedMedia(
            f"Send the file as multipart/form-data or text/csv; {media or 'no content type'} "
            "is not read"
        )
    _, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedBody("The multipart body names no boundary")
    parts = _Parts(file_field)
    parser = MultipartParser(boundary, parts.callbacks())
    size = 0
    try:
        async for piece in request.stream():
            size += len(piece)
            if size > upload.limit + UPLOAD_SLACK:
                raise PayloadTooLarge(f"The upload exceeds the limit of {upload.limit} bytes")
            parser.write(piece)
            for data in parts.pending:
                await upload.write(data)
            parts.pending.clear()
        parser.finalize()
    except MultipartParseError:
        raise MalformedBody("The multipart body is malformed") from None
    await upload.close()
    return parts.received
