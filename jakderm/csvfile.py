"""Reading a resource's CSV file as text, and checking its canonical form.

Every cell is read as a string first, so that a bad value can be reported at its line and column
instead of stopping a typed reader. pyarrow parses clean files fast; when it cannot (a row with
too many cells, a stray quote), Python's csv module reads the file again to say where.

Canonical form (docs/data-model.md): UTF-8 without BOM, LF line ends, a header row, one physical line
per row (no line break inside a cell), minimal quoting, a final newline, rows in primary-key
order. Line numbers count as a spreadsheet does: the header is line 1.
"""
from __future__ import annotations

import csv
import io
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import fast
from .descriptor import Resource
from .files import Unreadable, describe, open_regular
from .report import Report

# Python's csv module refuses a field over 131,072 characters, which would end the reading of a
# file at a long (but valid) cell; the limit a cell must keep is a spreadsheet's, checked as a
# finding (schema_checks.MAX_CELL).
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


# The type of every cell as read. (large_string would spare pandas a cast of the offsets of its
# string columns, but doubles the offsets of every column: measured, no faster.)
TEXT = pa.string()

# Findings after which a table was read incompletely or not at all: load() and build() refuse
# to hand out such a table rather than silently miss rows or columns.
READ_INCOMPLETE = {"file-missing", "file-unreadable", "encoding", "empty-file", "schema-missing", "schema-invalid",
                   "row-cells", "line-break-in-cell", "blank-line", "column-missing", "column-duplicate", "delimiter"}


@dataclass
class TextTable:
    """A table as text: every cell a str ('' = empty), with the file line of each row."""

    resource: Resource
    header: list[str]
    columns: dict[str, pa.Array]  # schema field name -> string array (only fields present in the header)
    lines: np.ndarray  # file line of each row
    positions: dict[str, int] = field(default_factory=dict)  # field name -> 1-based column position
    # Cells already reported (field name -> row mask), by the header check or the schema layer:
    # the rule layer reads them as missing, so one bad cell gives one error, not a cascade.
    bad: dict[str, np.ndarray] = field(default_factory=dict)
    # Views of a column computed once and shared by the schema layer, the typing and the joins.
    _views: dict = field(default_factory=dict, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def view(self, key, build):
        """The value `build()` makes, computed once per key and table (other modules add views too)."""
        if key not in self._views:
            self._views[key] = build()
        return self._views[key]

    def empty(self, name: str) -> np.ndarray:
        """Which cells of the column are empty."""
        return self.view(("empty", name), lambda: fast.empty_cells(self.columns[name]))

    def encoded(self, name: str) -> Encoded:
        """The column as its distinct texts and, for each row, the position of its text."""
        return self.view(("encoded", name), lambda: encode(self.columns[name]))

    def repetitive(self, name: str) -> bool:
        """Whether the column repeats its values (a key such as arm_id), judged on its first rows."""
        def judge():
            head = self.columns[name].slice(0, 10_000)
            return len(pc.unique(head)) * 2 <= len(head)
        return self.view(("repetitive", name), judge)

    def per_value(self, name: str, test) -> np.ndarray:
        """test (a pyarrow string array -> numpy bool array) for every row: run once per distinct
        text when the column repeats its values, else on the cells themselves."""
        if not self.repetitive(name):
            return test(self.columns[name])
        enc = self.encoded(name)
        return test(enc.dictionary)[enc.indices]

    def numbers(self, name: str, integer: bool) -> tuple[pa.Array, np.ndarray | None]:
        """The column cast to int64 or float64, null where empty or malformed, and the mask of
        malformed cells (None when every cell is a number or empty: one cast, no regex)."""
        def cast():
            values = self.columns[name]
            target = pa.int64() if integer else pa.float64()
            empty = pa.array(self.empty(name))
            try:
                return pc.cast(pc.if_else(empty, pa.scalar(None, values.type), values), target), None
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                ok = pc.fill_null(pc.match_substring_regex(values, NUMBER_PATTERNS[integer]), False)
                if integer:
                    ok = pa.array(_within_int64(values, ok.to_numpy(zero_copy_only=False)))
                malformed = pc.and_(pc.invert(ok), pc.invert(empty)).to_numpy(zero_copy_only=False)
                return pc.cast(pc.if_else(ok, values, pa.scalar(None, values.type)), target), malformed
        return self.view(("numbers", name, integer), cast)


def _within_int64(values: pa.Array, shaped: np.ndarray) -> np.ndarray:
    """`shaped` (cells written as integers) without those beyond a 64-bit integer, which no
    typed reader (pandas, R, SQLite, Parquet) holds: they would be rounded or wrapped silently."""
    ok = shaped.copy()
    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(shaped & (lengths > 18)):
        try:
            n = int(values[int(i)].as_py())
        except ValueError:  # more digits than Python converts: far out of range
            ok[i] = False
            continue
        ok[i] = -(1 << 63) <= n < (1 << 63)
    return ok


# The lexical forms of Table Schema integer and number (RE2 syntax, as pyarrow uses).
NUMBER_PATTERNS = {True: r"^[+-]?[0-9]+$", False: r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"}


@dataclass(frozen=True)
class Encoded:
    dictionary: pa.Array  # the distinct texts
    indices: np.ndarray  # int32, read-only: for each row, the position of its text in `dictionary`


def encode(values: pa.Array) -> Encoded:
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return Encoded(enc.dictionary, enc.indices.to_numpy(zero_copy_only=False))  # Arrow's int32, not copied


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _map(path: Path):
    """The file's bytes, memory-mapped: scanned in place, never copied into fresh memory (which
    costs more than the scan at a hundred megabytes). An empty file is b''."""
    fd = open_regular(path)  # a FIFO or a directory is refused here, never waited on
    try:
        if os.fstat(fd).st_size == 0:
            return b""
        return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


def read_text_table(root: Path, resource: Resource, report: Report) -> TextTable | None:
    path = root / resource.path
    shown = resource.path
    try:
        data = _map(path)
    except FileNotFoundError:
        report.add(shown, None, None, None, "file-missing",
                   f"the file of resource {resource.name!r} is missing (datapackage.json names it)")
        return None
    except (Unreadable, OSError, ValueError) as exc:
        report.add(shown, None, None, None, "file-unreadable",
                   f"the file of resource {resource.name!r} cannot be read: it {describe(exc)}"
                   if isinstance(exc, Unreadable) else f"cannot be read: {describe(exc)}")
        return None
    if not data or (data[:1024].isspace() and data[:].isspace()):
        report.add(shown, 1 if data else None, None, None, "empty-file",
                   "the file is empty: it needs at least the header row " + ",".join(resource.field_names))
        return None
    # Checks on bytes: a million rows are scanned in C, and decoded only if the fast reader fails.
    # The rare files these checks repair for the reading are copied (data[:] is bytes).
    if data[:3] == b"\xef\xbb\xbf":
        report.add(shown, 1, None, None, "bom",
                   "the file starts with a byte-order mark; save as UTF-8 without BOM (python -m jakderm format fixes it)")
        data = data[3:]
    if data.find(b"\r") != -1:
        data = data[:]
        first = data.index(b"\r")
        n_cr = data.count(b"\r")
        report.add(shown, data.count(b"\n", 0, first) + 1, None, None, "line-ends",
                   f"Windows (CRLF) or old Mac (CR) line ends on {n_cr} line(s); use LF only "
                   "(python -m jakderm format fixes it)")
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data[-1:] != b"\n":
        data = data[:]
        report.add(shown, data.count(b"\n") + 1, None, None, "final-newline",
                   "the last line has no line end (python -m jakderm format fixes it)")
        data += b"\n"
    header_end = data.find(b"\n")
    try:
        header = next(csv.reader([data[:header_end].decode("utf-8")]))
    except UnicodeDecodeError as exc:
        report.add(shown, 1, None, None, "encoding", f"bytes that are not UTF-8 in the header ({exc.reason})")
        return None
    delimiter = wrong_delimiter(header, resource.field_names)
    if delimiter:
        report.add(shown, 1, None, None, "delimiter", delimiter_message(delimiter))
        return None
    positions = _check_header(resource, header, shown, report)
    if len(set(header)) < len(header):  # which of the repeated columns holds the field is anyone's guess
        return None
    # The fast reader's rows are kept when, written in the canonical form, they give the file's
    # lines back one for one (fast.noncanonical_rows says which do not); else the slow reader
    # reads the file again to say where a quote was left open or a row has too many cells.
    raw_cols = _fast_parse(path, len(header))
    body = np.frombuffer(data, np.uint8)[header_end + 1:]
    loose = fast.noncanonical_rows(body, raw_cols) if raw_cols is not None else None
    if raw_cols is not None and loose is not None:
        lines = np.arange(2, 2 + len(raw_cols[0]), dtype=np.int64)
        physical_rows = len(lines)
        if len(loose):
            _report_quoting(body, loose, shown, report)
        del body, data
    else:
        del body
        data = data[:]  # bytes, no longer the mapped file
        physical_rows = data.count(b"\n", header_end + 1)
        try:
            text = data[header_end + 1:].decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = header_end + 1 + exc.start
            report.add(shown, _line_of_offset(data, offset), None, repr(data[offset:offset + 4]), "encoding",
                       f"bytes that are not UTF-8 ({exc.reason}); save the file as UTF-8")
            return None
        raw_cols, lines = _slow_parse(text, len(header), shown, report)
    columns = {name: raw_cols[pos - 1] for name, pos in positions.items()}
    if len(lines) == 0 and physical_rows == 0:
        report.add(shown, None, None, None, "no-rows",
                   "the file holds only its header: every table of the package has rows (a truncated file?)")
    # A column the header lacks (reported once, as column-missing) counts as reported on every row.
    absent = {name: np.ones(len(lines), bool) for name in resource.field_names if name not in columns}
    return TextTable(resource, header, columns, lines, positions, bad=absent)


QUOTING = ("quotes only where a cell holds a comma or a quote, doubled inside "
           "(python -m jakderm format fixes it)")


def _report_quoting(body: np.ndarray, rows: np.ndarray, shown: str, report: Report) -> None:
    room = report.room(shown, "quoting")
    if room:
        ends = fast.positions(body, fast.NEWLINE)
        starts = np.concatenate([[0], ends[:-1] + 1])
        for r in rows[:room]:
            line = body[starts[r]:ends[r]].tobytes().decode("utf-8", "replace")
            report.add(shown, int(r) + 2, None, line[:80], "quoting", QUOTING)
    report.count(shown, "quoting", "error", len(rows) - min(room, len(rows)))


def _check_header(resource: Resource, header: list[str], shown: str, report: Report) -> dict[str, int]:
    expected = resource.field_names
    positions: dict[str, int] = {}
    seen: set[str] = set()
    for i, name in enumerate(header, start=1):
        if name in seen:
            report.add(shown, 1, name, name, "column-duplicate",
                       f"column {name!r} appears twice in the header (again at position {i})", col=i)
            continue
        seen.add(name)
        if name in expected:
            positions[name] = i
        else:
            hint = f"; did you mean {_closest(name, expected)!r}?" if _closest(name, expected) else ""
            report.add(shown, 1, name, name, "column-unknown",
                       f"column {name!r} is not a field of {resource.schema_path}{hint}", col=i)
    missing = [n for n in expected if n not in seen]
    for name in missing:
        report.add(shown, 1, name, None, "column-missing",
                   f"the header lacks column {name!r}, a field of {resource.schema_path}")
    present = [n for n in header if n in expected]
    if not missing and len(seen) == len(header) and present != [n for n in expected if n in present]:
        report.add(shown, 1, None, ",".join(header), "column-order",
                   f"columns must be in the order of {resource.schema_path}: {','.join(expected)} "
                   "(python -m jakderm format fixes it)")
    return positions


DELIMITERS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}


def wrong_delimiter(header: list[str], expected: list[str]) -> str | None:
    """The delimiter a spreadsheet saved the file with, when it is not a comma: a header that is
    one cell holding the expected column names joined by ';' (a European locale's "CSV") or a tab."""
    if len(header) != 1 or not header[0]:
        return None
    for delimiter in DELIMITERS:
        names = header[0].split(delimiter)
        if len(names) > 1 and len(set(names) & set(expected)) >= min(2, len(expected)):
            return delimiter
    return None


def delimiter_message(delimiter: str) -> str:
    return (f"the file is separated by {DELIMITERS[delimiter]}, not commas (a spreadsheet's export in another "
            "locale or format?): save it as CSV with commas as separators (in LibreOffice: Save As, Text CSV, "
            "field delimiter ','); the file was not read further")


def _closest(name: str, options: list[str]) -> str | None:
    import difflib
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return found[0] if found else None


def _fast_parse(path: Path, n_cols: int) -> list[pa.Array] | None:
    """Every column as one string array, or None where the slow reader must look."""
    names = [f"c{i}" for i in range(n_cols)]
    try:
        table = pacsv.read_csv(
            pa.memory_map(str(path)),  # blocks parsed in place, not read into fresh buffers
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            # UTF-8 is checked below, column by column, and only where a byte is not ASCII
            convert_options=pacsv.ConvertOptions(column_types={n: TEXT for n in names}, check_utf8=False,
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows == 0:
        return [pa.chunked_array([], TEXT).combine_chunks() for _ in names]
    # One contiguous array per column, letting each column's chunks go as soon as it is
    # combined: the peak stays near one copy of the file, not two.
    chunked = [table.column(i) for i in range(n_cols)]
    del table
    columns = []
    for i in range(n_cols):
        columns.append(chunked[i].combine_chunks())
        chunked[i] = None
    # Bytes that are not UTF-8: the slow reader says where. Our data are nearly all ASCII, which
    # one pass over a column's bytes shows; Arrow's UTF-8 check of every cell is the rest.
    for col in columns:
        data, _ = fast.cell_bytes(col)
        if len(data) and data.max() >= 0x80:
            try:
                col.validate(full=True)
            except pa.ArrowInvalid:
                return None
    # A blank line comes back as a row of empty cells.
    blank = fast.empty_cells(columns[0])
    for col in columns[1:]:
        if not blank.any():
            break
        blank &= fast.empty_cells(col)
    return None if blank.any() else columns


def _slow_parse(body: str, n_cols: int, shown: str, report: Report) -> tuple[list[pa.Array], np.ndarray]:
    """Read row by row to locate what the fast reader could not parse."""
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(body, newline=""))
    raw_lines = body.split("\n")
    prev_end = 1
    for cells in reader:
        start, end = prev_end + 1, reader.line_num + 1
        prev_end = end
        if end > start or any("\n" in c for c in cells):
            report.add(shown, start, None, None, "line-break-in-cell",
                       f"a quoted cell opened on line {start} runs on to line {max(end, start + 1)}: an unterminated "
                       "quote or a line break inside a cell (rows after it are swallowed); close the quote or "
                       "remove the line break")
            continue
        if not cells:
            report.add(shown, start, None, None, "blank-line", "an empty line; remove it")
            continue
        if len(cells) != n_cols:
            report.add(shown, start, None, None, "row-cells",
                       f"this row has {len(cells)} cells but the header has {n_cols}: a missing or extra comma, "
                       "or an unquoted comma inside a cell")
            continue
        raw = raw_lines[start - 2]
        if '"' in raw and fast.canonical_line(cells) != raw + "\n":
            report.add(shown, start, None, raw[:80], "quoting", QUOTING)
        rows.append(cells)
        lines.append(start)
    cols = [pa.array([r[i] for r in rows], TEXT) for i in range(n_cols)]
    return cols, np.asarray(lines, dtype=np.int64)
