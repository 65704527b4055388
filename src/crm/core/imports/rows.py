"""Reading an uploaded CSV file as rows, a chunk at a time, in constant memory.

Text is UTF-8 unless the import names another encoding; a byte-order mark picks UTF-8 or
UTF-16 by itself. Bytes that are not valid in the encoding do not stop the file: the rows
holding them are refused one by one. A row is numbered as a spreadsheet numbers it: the
header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import re
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

#: Longest row read (characters): a longer one ends the import, as the file is not a CSV.
MAX_ROW = 1024 * 1024
#: Undecodable bytes become lone low surrogates (U+DC00 + the byte), which no decoder
#: produces otherwise, so the rows holding them can be refused.
_UNDECODED = re.compile("[\udc00-\udcff]")
_HANDLER = "crm.undecodable"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# The reader bounds rows itself (see _Lines); the csv module's own limit would cut a long
# cell short and carry on reading from inside it.
csv.field_size_limit(sys.maxsize)


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + b) for b in bad), error.end


codecs.register_error(_HANDLER, _undecodable)


class Unreadable(Exception):
    """The file cannot be read as CSV any further (its message says why)."""


@dataclass(frozen=True)
class Row:
    """One record of the file: its cells, or why it could not be read."""

    number: int
    cells: list[str]
    error: str | None = None
    column: int | None = None

    @property
    def blank(self) -> bool:
        return self.error is None and not any(cell.strip() for cell in self.cells)


class _Lines:
    """The decoded lines waiting for the CSV reader; running dry mid-file means a row was
    longer than :data:`MAX_ROW`."""

    def __init__(self) -> None:
        self.lines: deque[str] = deque()
        self.size = 0
        self.ended = False
        #: Characters of the row being read.
        self.taken = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.lines:
            if self.ended:
                raise StopIteration
            raise Unreadable(f"A row is longer than {MAX_ROW} characters")
        line = self.lines.popleft()
        self.size -= len(line)
        self.taken += len(line)
        if self.taken > MAX_ROW:
            raise Unreadable(f"A row is longer than {MAX_ROW} characters")
        return line


class RowReader:
    """The rows of a file whose chunks ``fetch(seq)`` returns (None past the end)."""

    def __init__(self, fetch: Callable[[int], Awaitable[bytes | None]], encoding: str) -> None:
        self._fetch, self._encoding = fetch, encoding
        self._decoder: codecs.IncrementalDecoder | None = None
        self._seq = 0
        self._partial = ""
        self._lines = _Lines()
        self._reader = csv.reader(self._lines)
        self.number = 0

    async def next(self) -> Row | None:
        """The next row, or None at the end of the file."""
        await self._fill()
        self._lines.taken = 0
        try:
            cells = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            self.number += 1
            return Row(self.number, [], f"is not valid CSV: {exc}")
        self.number += 1
        for i, cell in enumerate(cells):
            if not cell.isascii() and _UNDECODED.search(cell):
                return Row(self.number, cells, f"is not valid {self._encoding} text", i)
        if self.number == 1 and cells and cells[0].startswith("\ufeff"):
            cells[0] = cells[0][1:]
        return Row(self.number, cells)

    async def _fill(self) -> None:
        """Decode chunks until a whole row of the longest kind is waiting, or the file ends."""
        while not self._lines.ended and self._lines.size + len(self._partial) <= MAX_ROW:
            data = await self._fetch(self._seq)
            self._seq += 1
            if data is None:
                text = self._decode(b"", final=True)
                self._lines.ended = True
            else:
                text = self._decode(data, final=False)
            *whole, self._partial = (self._partial + text).split("\n")
            for line in whole:
                self._lines.lines.append(line + "\n")
                self._lines.size += len(line) + 1
            if self._lines.ended and self._partial:
                self._lines.lines.append(self._partial)
                self._lines.size += len(self._partial)
                self._partial = ""
            if len(self._partial) > MAX_ROW:
                raise Unreadable(f"A row is longer than {MAX_ROW} characters")

    def _decode(self, data: bytes, *, final: bool) -> str:
        if self._decoder is None:
            encoding = self._encoding
            for bom, name in _BOMS:
                if data.startswith(bom):
                    encoding = name
                    self._encoding = name.removesuffix("-sig")
            if encoding.replace("_", "-").lower() in ("utf-8", "utf8"):
                encoding = "utf-8-sig"
            self._decoder = codecs.getincrementaldecoder(encoding)(errors=_HANDLER)
        return self._decoder.decode(data, final)
