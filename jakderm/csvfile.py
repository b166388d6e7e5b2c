"""Reading a resource's CSV file as text, and checking its canonical form.

Every cell is read as a string first, so that a bad value can be reported at its line and column
instead of stopping a typed reader. pyarrow parses clean files fast; when it cannot (a row with
too many cells, a stray quote), Python's csv module reads the file again to say where.

Canonical form (DATA-MODEL.md): UTF-8 without BOM, LF line ends, a header row, one physical line
per row (no line break inside a cell), minimal quoting, a final newline, rows in primary-key
order. Line numbers count as a spreadsheet does: the header is line 1.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from .descriptor import Resource
from .report import Report


# Findings after which a table was read incompletely or not at all: load() and build() refuse
# to hand out such a table rather than silently miss rows or columns.
READ_INCOMPLETE = {"file-missing", "file-unreadable", "encoding", "empty-file", "schema-missing", "schema-invalid",
                   "row-cells", "line-break-in-cell", "blank-line", "column-missing", "column-duplicate"}


@dataclass
class TextTable:
    """A table as text: every cell a str ('' = empty), with the file line of each row."""

    resource: Resource
    header: list[str]
    columns: dict[str, pa.Array]  # schema field name -> string array (only fields present in the header)
    lines: np.ndarray  # file line of each row
    positions: dict[str, int] = field(default_factory=dict)  # field name -> 1-based column position
    # Cells the schema layer reported (field name -> row mask): the rule layer reads them as
    # missing, so one bad cell gives one error, not a cascade of follow-on rule failures.
    bad: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.lines)


def canonical_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_text_table(root: Path, resource: Resource, report: Report) -> TextTable | None:
    path = root / resource.path
    shown = resource.path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        report.add(shown, None, None, None, "file-missing",
                   f"the file of resource {resource.name!r} is missing (datapackage.json names it)")
        return None
    except OSError as exc:
        report.add(shown, None, None, None, "file-unreadable", f"cannot be read: {exc.strerror}")
        return None
    if not data or data.isspace():
        report.add(shown, 1 if data else None, None, None, "empty-file",
                   "the file is empty: it needs at least the header row " + ",".join(resource.field_names))
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        report.add(shown, 1, None, None, "bom",
                   "the file starts with a byte-order mark; save as UTF-8 without BOM (python -m jakderm format fixes it)")
        data = data[3:]
    # Checks on bytes: a million rows are scanned in C, and decoded only if the fast reader fails.
    if b"\r" in data:
        first = data.index(b"\r")
        n_cr = data.count(b"\r")
        report.add(shown, data.count(b"\n", 0, first) + 1, None, None, "line-ends",
                   f"Windows (CRLF) or old Mac (CR) line ends on {n_cr} line(s); use LF only "
                   "(python -m jakderm format fixes it)")
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        report.add(shown, data.count(b"\n") + 1, None, None, "final-newline",
                   "the last line has no line end (python -m jakderm format fixes it)")
        data += b"\n"
    header_end = data.index(b"\n")
    try:
        header = next(csv.reader([data[:header_end].decode("utf-8")]))
    except UnicodeDecodeError as exc:
        report.add(shown, 1, None, None, "encoding", f"bytes that are not UTF-8 in the header ({exc.reason})")
        return None
    positions = _check_header(resource, header, shown, report)
    physical_rows = data.count(b"\n", header_end + 1)
    has_quotes = b'"' in data
    # The fast reader is trusted only on text it cannot misread: no blank line (it would read
    # one as a row of empty cells) and an even number of quotes on every line (an odd number
    # is a quote left open, which the slow reader follows across lines to say where).
    quoted_lines = _quoted_lines(data, header_end + 1) if has_quotes else []
    suspicious = b"\n\n" in data or any(line.count(b'"') % 2 for _, line in quoted_lines)
    if not suspicious:
        del data  # the fast reader reads the file itself: don't hold a second copy meanwhile
        table = _fast_parse(path, len(header), physical_rows)
        if table is None:
            data = _normalised_bytes(path)
    else:
        table = None
    if table is not None:
        lines = np.arange(2, 2 + table.num_rows, dtype=np.int64)
        # One contiguous array per column, letting each column's chunks go as soon as it is
        # combined: the peak stays near one copy of the file, not two.
        chunked = [table.column(i) for i in range(len(header))]
        del table
        raw_cols = []
        for i in range(len(header)):
            raw_cols.append(chunked[i].combine_chunks() if len(chunked[i]) else pa.array([], pa.string()))
            chunked[i] = None
        for line_no, line in quoted_lines:
            _check_line_quoting(line.decode("utf-8"), line_no, shown, report)
    else:
        try:
            body = data[header_end + 1:].decode("utf-8")
        except UnicodeDecodeError as exc:
            offset = header_end + 1 + exc.start
            report.add(shown, _line_of_offset(data, offset), None, repr(data[offset:offset + 4]), "encoding",
                       f"bytes that are not UTF-8 ({exc.reason}); save the file as UTF-8")
            return None
        raw_cols, lines = _slow_parse(body, len(header), shown, report)
    columns = {name: raw_cols[pos - 1] for name, pos in positions.items()}
    if physical_rows == 0:
        report.add(shown, None, None, None, "no-rows",
                   "the file holds only its header: every table of the package has rows (a truncated file?)")
    return TextTable(resource, header, columns, lines, positions)


def _normalised_bytes(path: Path) -> bytes:
    """The file again, as the slow reader wants it (no BOM, LF line ends, a final newline)."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data if data.endswith(b"\n") else data + b"\n"


def _quoted_lines(data: bytes, start: int) -> list[tuple[int, bytes]]:
    """(file line, bytes) of each line after the header holding a quote character."""
    out = []
    for offset, line in enumerate(data[start:].split(b"\n")):
        if b'"' in line:
            out.append((offset + 2, line))
    return out


def _check_line_quoting(line: str, line_no: int, shown: str, report: Report) -> None:
    cells = next(csv.reader([line]))
    if canonical_line(cells) != line + "\n":
        report.add(shown, line_no, None, line[:80], "quoting",
                   "quotes only where a cell holds a comma or a quote, doubled inside "
                   "(python -m jakderm format fixes it)")


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
    if not missing and present != [n for n in expected if n in present]:
        report.add(shown, 1, None, ",".join(header), "column-order",
                   f"columns must be in the order of {resource.schema_path}: {','.join(expected)} "
                   "(python -m jakderm format fixes it)")
    return positions


def _closest(name: str, options: list[str]) -> str | None:
    import difflib
    found = difflib.get_close_matches(name, options, n=1, cutoff=0.75)
    return found[0] if found else None


def _fast_parse(path: Path, n_cols: int, physical_rows: int) -> pa.Table | None:
    names = [f"c{i}" for i in range(n_cols)]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=names, use_threads=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    # A stray quote can merge lines into one cell and still parse: compare with the line count.
    if table.num_rows != physical_rows:
        return None
    return table


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
        if '"' in raw and canonical_line(cells) != raw + "\n":
            report.add(shown, start, None, raw[:80], "quoting",
                       "quotes only where a cell holds a comma or a quote, doubled inside "
                       "(python -m jakderm format fixes it)")
        rows.append(cells)
        lines.append(start)
    cols = [pa.array([r[i] for r in rows], pa.string()) for i in range(n_cols)]
    return cols, np.asarray(lines, dtype=np.int64)
