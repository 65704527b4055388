"""Reading an uploaded CSV file as rows, a chunk at a time: decoding across chunk
boundaries, byte-order marks, bad bytes and bad CSV refused row by row, and rows too long
to be CSV ending the file."""

from __future__ import annotations

import codecs

import pytest

from crm.core.imports.rows import MAX_ROW, Row, RowReader, Unreadable


class Chunks:
    """A stored file cut into chunks of ``size`` bytes, as the storage hands them out."""

    def __init__(self, data: bytes, size: int) -> None:
        self.parts = [data[i : i + size] for i in range(0, len(data), size)]
        self.asked: list[int] = []

    async def __call__(self, seq: int) -> bytes | None:
        self.asked.append(seq)
        return self.parts[seq] if seq < len(self.parts) else None


async def read_into(reader: RowReader, read: list[Row]) -> None:
    """Read every row into ``read``, as far as the reader gets."""
    while (row := await reader.next()) is not None:
        read.append(row)


async def read_all(data: bytes, size: int = 1024 * 1024, encoding: str = "utf-8") -> list[Row]:
    out: list[Row] = []
    await read_into(RowReader(Chunks(data, size), encoding), out)
    return out


async def read_too_long(data: bytes, size: int) -> list[Row]:
    """Read UTF-8 ``data`` in chunks of ``size`` until a row proves too long to be CSV; the
    rows read before."""
    read: list[Row] = []
    with pytest.raises(Unreadable, match=f"A row is longer than {MAX_ROW} characters"):
        await read_into(RowReader(Chunks(data, size), "utf-8"), read)
    return read


def cells(rows: list[Row]) -> list[list[str]]:
    return [row.cells for row in rows]


SIZES = [1, 2, 3, 5, 7, 64, 1024 * 1024]


# --- plain reading ------------------------------------------------------------------------


async def test_rows_are_numbered_from_the_header_as_row_one() -> None:
    rows = await read_all(b"Email,Name\na@example.com,Ada\nb@example.com,Bob\n")
    assert [(r.number, r.cells, r.error, r.column) for r in rows] == [
        (1, ["Email", "Name"], None, None),
        (2, ["a@example.com", "Ada"], None, None),
        (3, ["b@example.com", "Bob"], None, None),
    ]


async def test_the_last_line_needs_no_line_break() -> None:
    assert cells(await read_all(b"a,b\r\nc,d")) == [["a", "b"], ["c", "d"]]


async def test_an_empty_file_has_no_rows_and_stays_ended() -> None:
    chunks = Chunks(b"", 4)
    reader = RowReader(chunks, "utf-8")
    assert await reader.next() is None
    assert await reader.next() is None
    assert reader.number == 0
    # Past the end, the storage is not asked again.
    assert chunks.asked == [0]


async def test_chunks_are_asked_for_in_order_once_each() -> None:
    data = b"Email\n" + b"".join(b"p%d@example.com\n" % i for i in range(200))
    chunks = Chunks(data, 100)
    reader = RowReader(chunks, "utf-8")
    count = 0
    while await reader.next() is not None:
        count += 1
    assert count == 201
    assert chunks.asked == list(range(len(chunks.parts) + 1))


@pytest.mark.parametrize("size", SIZES)
async def test_chunk_boundaries_anywhere_read_the_same(size: int) -> None:
    text = (
        "Name,Note,City\r\n"
        'Zoë,"Łódź 😀, ""quoted""\r\nsecond line\nthird",Kraków\r\n'
        "Ünal,,İstanbul\n"
        '"",plain,"中文"\n'
    )
    rows = await read_all(text.encode(), size)
    assert cells(rows) == [
        ["Name", "Note", "City"],
        ["Zoë", 'Łódź 😀, "quoted"\r\nsecond line\nthird', "Kraków"],
        ["Ünal", "", "İstanbul"],
        ["", "plain", "中文"],
    ]
    assert [r.number for r in rows] == [1, 2, 3, 4]
    assert all(r.error is None for r in rows)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
async def test_a_multibyte_character_split_between_chunks_is_whole(size: int) -> None:
    # "😀" is 4 bytes in UTF-8: every chunk size here cuts some character.
    rows = await read_all("😀,ñ\n€,😀😀\n".encode(), size)
    assert cells(rows) == [["😀", "ñ"], ["€", "😀😀"]]
    assert all(r.error is None for r in rows)


async def test_a_quoted_cell_keeps_commas_quotes_and_line_breaks_and_counts_as_one_row() -> None:
    data = b'a,b\n"1\n2\n3","x,""y"""\nlast,row\n'
    rows = await read_all(data, 3)
    assert cells(rows) == [["a", "b"], ["1\n2\n3", 'x,"y"'], ["last", "row"]]
    assert [r.number for r in rows] == [1, 2, 3]


# --- blank rows ---------------------------------------------------------------------------


async def test_blank_lines_are_rows_that_are_blank() -> None:
    rows = await read_all(b"a,b\n\n , \n,\nx,\n\t\n")
    assert [(r.number, r.blank) for r in rows] == [
        (1, False),
        (2, True),
        (3, True),
        (4, True),
        (5, False),
        (6, True),
    ]


def test_a_row_is_blank_only_when_every_cell_is_empty_and_it_was_read() -> None:
    assert Row(2, []).blank
    assert Row(2, ["", "  ", "\t"]).blank
    assert not Row(2, ["", "x"]).blank
    assert not Row(2, [], "is not valid CSV: x").blank
    assert not Row(2, ["", ""], "is not valid utf-8 text", 1).blank


# --- byte-order marks and encodings -------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 1024])
async def test_a_utf8_bom_is_dropped(size: int) -> None:
    rows = await read_all(codecs.BOM_UTF8 + "Email,Näme\nä,b\n".encode(), size)
    assert cells(rows) == [["Email", "Näme"], ["ä", "b"]]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("size", [2, 3, 5, 1024])
async def test_a_utf16_bom_reads_the_file_as_utf16(codec: str, size: int) -> None:
    bom = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
    text = 'Email,Name\r\nz@example.com,"Zoë 😀\nŁ"\n'
    # Whatever encoding the import names, the mark wins.
    for named in ("utf-8", "latin-1"):
        rows = await read_all(bom + text.encode(codec), size, named)
        assert cells(rows) == [["Email", "Name"], ["z@example.com", "Zoë 😀\nŁ"]]
        assert all(r.error is None for r in rows)


async def test_a_bom_the_named_encoding_leaves_is_dropped_from_the_header() -> None:
    data = codecs.BOM_UTF16_LE + "Email,x\nfe\ufeff,y\n".encode("utf-16-le")
    rows = await read_all(data, 1, "utf-16-le")
    # Only the header's: a ZERO WIDTH NO-BREAK SPACE in a cell is text.
    assert cells(rows) == [["Email", "x"], ["fe\ufeff", "y"]]


@pytest.mark.parametrize("name", ["utf-8", "UTF-8", "utf8", "utf_8"])
async def test_utf8_however_named_drops_the_bom(name: str) -> None:
    rows = await read_all(codecs.BOM_UTF8 + b"Email\nx\n", 1024, name)
    assert cells(rows) == [["Email"], ["x"]]


async def test_latin1_reads_every_byte() -> None:
    rows = await read_all("Name,City\nZoë,Besançon\n\xff,\xa0\n".encode("latin-1"), 3, "latin-1")
    assert cells(rows) == [["Name", "City"], ["Zoë", "Besançon"], ["ÿ", "\xa0"]]
    assert all(r.error is None for r in rows)


async def test_without_a_bom_utf16_must_be_named() -> None:
    rows = await read_all("Name\nZoë\n".encode("utf-16-le"), 4, "utf-16-le")
    assert cells(rows) == [["Name"], ["Zoë"]]


# --- bad bytes and bad CSV ----------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 1024])
async def test_bytes_not_in_the_encoding_refuse_their_row_at_their_cell(size: int) -> None:
    data = b"a,b,c\nok,\xc3\xa9,fine\nbad,x,y\xff\xfez\n\xe9t\xe9,b,c\nafter,1,2\n"
    rows = await read_all(data, size)
    assert [(r.number, r.error, r.column) for r in rows] == [
        (1, None, None),
        (2, None, None),
        (3, "is not valid utf-8 text", 2),
        (4, "is not valid utf-8 text", 0),
        (5, None, None),
    ]
    assert rows[1].cells == ["ok", "é", "fine"]
    assert rows[4].cells == ["after", "1", "2"]


async def test_a_truncated_utf8_character_at_the_end_refuses_the_last_row() -> None:
    rows = await read_all(b"a\nb\n\xf0\x9f\x98", 2)
    assert [(r.number, r.error) for r in rows] == [
        (1, None),
        (2, None),
        (3, "is not valid utf-8 text"),
    ]


async def test_the_message_names_the_encoding_of_the_import() -> None:
    rows = await read_all(b"a\n\xff\n", 1024, "ascii")
    assert rows[1].error == "is not valid ascii text"


async def test_bad_csv_refuses_its_row_and_reading_goes_on() -> None:
    rows = await read_all(b"a,b\nx,y\rz\nc,d\n", 2)
    assert [r.number for r in rows] == [1, 2, 3]
    bad = rows[1]
    assert bad.error is not None
    assert bad.error.startswith("is not valid CSV: ")
    assert (bad.cells, bad.column, bad.blank) == ([], None, False)
    assert rows[2].cells == ["c", "d"]


async def test_an_unclosed_quote_runs_to_the_end_of_the_file() -> None:
    rows = await read_all(b'a,b\n"x,y\nz\n', 3)
    assert cells(rows) == [["a", "b"], ["x,y\nz\n"]]


# --- rows too long to be CSV --------------------------------------------------------------


async def test_a_row_just_within_the_limit_is_read() -> None:
    long = b"x" * (MAX_ROW - 1)
    rows = await read_all(b"a\n" + long + b"\nb\n")
    assert [len(r.cells[0]) for r in rows] == [1, MAX_ROW - 1, 1]
    assert all(r.error is None for r in rows)


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
async def test_a_line_far_longer_than_the_limit_is_unreadable(size: int) -> None:
    read = await read_too_long(b"a\n" + b"x" * (3 * MAX_ROW) + b"\nb\n", size)
    assert cells(read) in ([], [["a"]])


async def test_a_file_without_line_breaks_is_unreadable() -> None:
    reader = RowReader(Chunks(bytes(range(32, 127)) * (3 * MAX_ROW // 95), 1024 * 1024), "utf-8")
    with pytest.raises(Unreadable):
        await reader.next()


@pytest.mark.parametrize("size", [64 * 1024, 1024 * 1024])
async def test_a_quoted_cell_longer_than_the_limit_is_unreadable(size: int) -> None:
    cell = b'"' + b"line, of a long note\n" * (MAX_ROW // 20) + b'"'
    read = await read_too_long(b"Name,Note\nAda," + cell + b"\nBob,short\n", size)
    assert cells(read) in ([], [["Name", "Note"]])


@pytest.mark.parametrize(
    "tail",
    [b"a", b"\x00\xdcx\x00\n\x00"],
    ids=["odd-byte", "lone-surrogate"],
)
async def test_utf16_that_does_not_decode_refuses_its_row(tail: bytes) -> None:
    data = codecs.BOM_UTF16_LE + "a\nb\n".encode("utf-16-le") + tail
    rows = await read_all(data, 1024)
    assert cells(rows)[:2] == [["a"], ["b"]]
    assert [r.error for r in rows[2:]] == ["is not valid utf-16 text"]
