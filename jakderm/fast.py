"""The validator's fast paths, each beside the plain code it must agree with.

A million-row package is checked in seconds only because a few steps skip per-row Python: a file's
canonical form is judged from the positions of its quote characters, cells are looked at through
Arrow's offset and data buffers, keys are compared as integer codes, and the links of
trial_sources are a lookup table. Each fast function here has a `*_reference` twin written the
obvious way (the csv module, pandas, sets); tests/test_fast.py generates input (empty, unicode,
quotes, commas, repeated keys, missing values) and asserts that both give the same answer. Any
other module calls the fast version; the references exist for the tests and for a reader.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

QUOTE, COMMA, NEWLINE = 0x22, 0x2C, 0x0A
# Bytes are scanned in slices that stay in the processor's cache, with reused scratch arrays: a
# comparison over a whole file at once would write (and have the kernel zero) a file-sized array.
WINDOW = 1 << 18


# --- cells through Arrow's buffers ------------------------------------------------------------

def offsets(column: pa.Array) -> np.ndarray:
    """Where each cell of a string array starts in its data buffer (and where the last ends)."""
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    return np.frombuffer(column.buffers()[1], width)[column.offset:column.offset + len(column) + 1]


def cell_bytes(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the column's UTF-8 bytes, each cell's start in them and the end of the last)."""
    off = offsets(column).astype(np.int64)
    if len(column) == 0 or off[-1] == off[0]:
        return np.zeros(0, np.uint8), off - off[0]
    return np.frombuffer(column.buffers()[2], np.uint8)[off[0]:off[-1]], off - off[0]


def empty_cells(column: pa.Array) -> np.ndarray:
    off = offsets(column)
    return off[1:] == off[:-1]


def empty_cells_reference(column: pa.Array) -> np.ndarray:
    return np.array([c == "" for c in column.to_pylist()], bool)


def first_bytes(column: pa.Array) -> np.ndarray:
    """The first byte of each cell (0 where empty)."""
    data, rel = cell_bytes(column)
    out = np.zeros(len(column), np.uint8)
    filled = rel[1:] > rel[:-1]
    out[filled] = data[rel[:-1][filled]]
    return out


def first_bytes_reference(column: pa.Array) -> np.ndarray:
    return np.array([c.encode("utf-8")[0] if c else 0 for c in column.to_pylist()], np.uint8)


def positions(data: np.ndarray, byte: int) -> np.ndarray:
    """Where `byte` stands in `data` (np.flatnonzero(data == byte), window by window)."""
    found = []
    scratch = np.empty(min(WINDOW, len(data)), bool)
    for lo in range(0, len(data), WINDOW):
        window = data[lo:lo + WINDOW]
        hit = scratch[:len(window)]
        np.equal(window, byte, out=hit)
        if hit.any():
            found.append(np.flatnonzero(hit) + lo)
    return np.concatenate(found) if found else np.zeros(0, np.int64)


# --- canonical form ------------------------------------------------------------------------------

def canonical_line(cells: list[str]) -> str:
    """The row as the canonical form writes it (csv.writer's minimal quoting, LF)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cells)
    return buf.getvalue()


def noncanonical_rows(body: np.ndarray, columns: list[pa.Array]) -> np.ndarray | None:
    """The rows whose line of `body` (the file's bytes after the header) is not `columns`' row
    written in the canonical form; None when the lines do not pair one to one with the rows, or a
    line holds an odd number of quotes (a quote left open: the slow reader follows it to say where).

    The canonical line of a row has the same bytes as the physical one apart from quote characters
    (parsing removes only quotes), so the two are equal when they have the same length and their
    quotes stand at the same places. Both are computed for the whole file at once: the cells' byte
    lengths and the quotes inside them give every canonical quote's place; the file's own quotes
    are found by one scan. Only when the file differs are its lines found, to say which."""
    n_rows = len(columns[0]) if columns else 0
    if not n_rows:
        return np.zeros(0, np.int64) if not len(body) else None
    if any(_has_line_break(col) for col in columns):
        return None  # a quote held open across lines: the lines are not the rows
    lengths, opened, inner = _canonical_cells(columns)
    row_len = np.sum(lengths, axis=0) + len(columns) - 1
    row_start = np.zeros(n_rows, np.int64)
    np.cumsum(row_len[:-1] + 1, out=row_start[1:])
    physical = positions(body, QUOTE)
    canonical, rows = _canonical_quotes(lengths, opened, inner, row_start)
    if row_start[-1] + row_len[-1] + 1 == len(body) and len(canonical) == len(physical):
        at = np.searchsorted(physical, canonical)
        if not len(at) or ((at < len(physical)).all() and (physical[at] == canonical).all()):
            return np.zeros(0, np.int64)
    # Something differs: compare line by line.
    ends = positions(body, NEWLINE)
    if len(ends) != n_rows or (len(ends) and ends[-1] != len(body) - 1):
        return None
    starts = np.concatenate([[0], ends[:-1] + 1])
    p_rows = np.searchsorted(ends, physical)
    p_count = np.bincount(p_rows, minlength=n_rows)
    if (p_count % 2).any():
        return None
    c_count = np.bincount(rows, minlength=n_rows)
    differ = (ends - starts != row_len) | (p_count != c_count)
    # Rows alike so far: their quotes, as (row, place in the row), must be the same.
    width = int(max(row_len.max(), (ends - starts).max())) + 1
    p_key = p_rows * width + (physical - starts[p_rows])
    c_key = rows * width + (canonical - row_start[rows])
    p_key, c_key = p_key[~differ[p_rows]], np.sort(c_key[~differ[rows]])
    unequal = p_key != c_key
    differ[p_key[unequal] // width] = True
    return np.flatnonzero(differ)


def _has_line_break(column: pa.Array) -> bool:
    data, _ = cell_bytes(column)
    if not len(data) or data.min() >= 0x20:
        return False
    return len(positions(data, NEWLINE)) > 0 or len(positions(data, 0x0D)) > 0


def _canonical_cells(columns: list[pa.Array]) -> tuple[np.ndarray, np.ndarray, list]:
    """Per column and row: the cell's length as written, whether it is quoted, and the places of
    the quotes inside it ((rows, places in the cell's bytes) per column)."""
    n = len(columns[0])
    lengths = np.empty((len(columns), n), np.int64)
    opened = np.zeros((len(columns), n), bool)
    inner = []
    for j, col in enumerate(columns):
        data, rel = cell_bytes(col)
        lengths[j] = rel[1:] - rel[:-1]
        quotes, commas = positions(data, QUOTE), positions(data, COMMA)
        q_rows = np.searchsorted(rel, quotes, side="right") - 1
        opened[j, q_rows] = True
        opened[j, np.searchsorted(rel, commas, side="right") - 1] = True
        if len(columns) == 1:  # a lone empty cell is written "" (a bare empty line is no row)
            opened[j] |= lengths[j] == 0
        lengths[j] += 2 * opened[j] + np.bincount(q_rows, minlength=n)[:n]
        inner.append((q_rows, quotes - rel[q_rows]))
    return lengths, opened, inner


def _canonical_quotes(lengths, opened, inner, row_start) -> tuple[np.ndarray, np.ndarray]:
    """(the place in the body of every quote of the canonical form; the row of each)."""
    places, rows = [], []
    start = row_start.copy()
    for j in range(len(lengths)):
        quoted = np.flatnonzero(opened[j])
        q_rows, q_at = inner[j]
        # a quote inside a cell is doubled: the k-th of its cell moves k places right
        rank = np.arange(len(q_rows)) - np.searchsorted(q_rows, q_rows)
        doubled = start[q_rows] + 1 + q_at + rank
        places += [start[quoted], start[quoted] + lengths[j][quoted] - 1, doubled, doubled + 1]
        rows += [quoted, quoted, q_rows, q_rows]
        start += lengths[j] + 1
    return np.concatenate(places), np.concatenate(rows)


def noncanonical_rows_reference(body: bytes, columns: list[pa.Array]) -> np.ndarray | None:
    lines = body.decode("utf-8").split("\n")
    if lines[-1] != "" or len(lines) - 1 != (len(columns[0]) if columns else 0):
        return None
    lines.pop()
    cells = [c.to_pylist() for c in columns]
    if any(line.count('"') % 2 for line in lines) or any("\n" in v or "\r" in v for c in cells for v in c):
        return None
    return np.array([r for r, line in enumerate(lines) if canonical_line([c[r] for c in cells]) != line + "\n"],
                    np.int64)


# --- characters a cell may not hold ---------------------------------------------------------------

# C0 controls (tab included; line breaks are reported as such), DEL and the C1 controls (RE2 syntax).
CONTROL = r"[\x00-\x1f\x7f\x{80}-\x{9f}]"


def control_cells(values: pa.Array) -> np.ndarray:
    """Cells holding a control character. The bytes are looked at first (a C0 control is below
    0x20, DEL is 0x7F, a C1 control is 0xC2 then 0x80-0x9F); only a column with such bytes has its
    cells matched."""
    data, _ = cell_bytes(values)
    suspect = len(data) > 0 and data.min() < 0x20
    if len(data) and not suspect and data.max() >= 0x7F:
        lead = positions(data[:-1], 0xC2)
        suspect = len(positions(data, 0x7F)) > 0 or bool((data[lead + 1] < 0xA0).any())
    return control_cells_reference(values) if suspect else np.zeros(len(values), bool)


def control_cells_reference(values: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(values, CONTROL), False).to_numpy(zero_copy_only=False)


# --- keys ------------------------------------------------------------------------------------------

def first_of_keys(codes: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """For each row, the first row with the same combination of values (itself when none came
    before). Each column comes as (integer code per row, number of codes), e.g. Arrow's dictionary
    indices; the codes are combined in mixed radix, so no string is built per row."""
    combined, radix = None, 1
    for column, size in codes:
        size += 1
        if combined is None:
            combined, radix = column.astype(np.int64), size
        elif size == 2:
            continue  # one value on every row tells no row apart
        elif radix * size < 2 ** 62:
            combined, radix = combined * size + column, radix * size
        else:  # renumber densely before the code space overflows
            dense, uniques = pd.factorize(combined)
            combined, radix = dense.astype(np.int64) * size + column, (len(uniques) + 1) * size
    if combined is None or len(combined) == 0:
        return np.zeros(0, np.int64)
    rows = np.arange(len(combined))
    ordered = np.sort(combined)  # a vectorised sort is cheaper than hashing a million codes
    if not (ordered[1:] == ordered[:-1]).any():
        return rows  # the common case: no key repeats
    dense, uniques = pd.factorize(combined)
    first = np.full(len(uniques), -1, np.int64)
    first[dense[::-1]] = rows[::-1]  # written last, so kept: each key's first row
    return first[dense]


def first_of_keys_reference(values: list[list]) -> np.ndarray:
    """The same from the values (one list per column), with a dict."""
    first: dict = {}
    return np.array([first.setdefault(key, i) for i, key in enumerate(zip(*values, strict=True))], np.int64)


class PairTable:
    """Whether each (a, b) of integer codes is among known pairs: a lookup table when the codes
    span few enough cells, else a sorted search. Codes are >= 0; pairs with a negative code are
    never known."""

    LIMIT = 1 << 24

    def __init__(self, a: np.ndarray, b: np.ndarray, n_a: int, n_b: int):
        self.width = n_b + 1
        self.keys = np.sort(a.astype(np.int64) * self.width + b)  # repeats do no harm to the search
        cells = (n_a + 1) * self.width
        self.table = None
        if cells <= self.LIMIT:
            self.table = np.zeros(cells + 1, bool)  # the last cell answers for unknown pairs
            self.table[self.keys] = True

    def contains(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        known = (a >= 0) & (b >= 0)
        key = np.where(known, a.astype(np.int64) * self.width + b, -1)
        if self.table is not None:
            return self.table[key]  # -1 reads the last cell: False
        if not len(self.keys):
            return np.zeros(len(key), bool)
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return known & (self.keys[at] == key)


def pairs_reference(a, b, query_a, query_b) -> np.ndarray:
    known = set(zip(a.tolist(), b.tolist(), strict=True))
    asked = zip(query_a.tolist(), query_b.tolist(), strict=True)
    return np.array([x >= 0 and y >= 0 and (x, y) in known for x, y in asked], bool)
