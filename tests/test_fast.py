"""jakderm/fast.py against its plain references, on generated input.

Every fast path (quote positions for the canonical form, cells read off Arrow's buffers, control
characters found by byte, keys compared as integer codes, the links' lookup table) must give what
the obvious code gives (the csv module, Python strings, dicts and sets), and the reader must give
the same cells, lines and findings whether pyarrow or the csv module reads a file.
"""
import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jakderm import csvfile, fast, schema_checks
from jakderm.descriptor import Field, Resource
from jakderm.report import Report

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cells as a contributor's spreadsheet may write them: quotes, commas, unicode, spaces, empty.
PIECES = ["", "a", "b", ",", '"', '""', " ", "é", "日本", "x,y", '"q"', "=1", "\t", "\u0085", "\x7f", "±"]
cell = st.one_of(st.lists(st.sampled_from(PIECES), max_size=4).map("".join),
                 st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                         max_size=6))


def _strings(values) -> pa.Array:
    return pa.array(values, pa.string())


@st.composite
def quoted_lines(draw, n_cols):
    """A row's line, written canonically or with quotes in other places (all quoted, quotes
    missing, a quoted part followed by more text), as hand-edited files have them."""
    cells = draw(st.lists(cell, min_size=n_cols, max_size=n_cols))
    style = draw(st.sampled_from(["canonical", "all", "none", "mixed", "tail"]))
    if style == "canonical":
        return fast.canonical_line(cells)[:-1]
    out = []
    for c in cells:
        quote = {"all": True, "none": False}.get(style, draw(st.booleans()))
        text = '"' + c.replace('"', '""') + '"' if quote else c
        if style == "tail" and quote and draw(st.booleans()):
            text += draw(st.sampled_from(["a", "é", '"', ' ']))
        out.append(text)
    return ",".join(out)


def _parse(body: bytes, n_cols: int):
    """The rows pyarrow reads from `body` (the reader's options), or None where it cannot."""
    names = [f"c{i}" for i in range(n_cols)]
    try:
        table = pacsv.read_csv(io.BytesIO(",".join(names).encode() + b"\n" + body),
                               parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
                               convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                    strings_can_be_null=False,
                                                                    quoted_strings_can_be_null=False))
    except pa.ArrowInvalid:
        return None
    return [table.column(i).combine_chunks() for i in range(n_cols)]


@SETTINGS
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), st.lists(quoted_lines(n), max_size=6))))
def test_noncanonical_rows_agrees_with_the_csv_module(case):
    n_cols, lines = case
    body = "".join(line + "\n" for line in lines).encode("utf-8")
    columns = _parse(body, n_cols)
    if columns is None:
        return
    found = fast.noncanonical_rows(np.frombuffer(body, np.uint8), columns)
    expected = fast.noncanonical_rows_reference(body, columns)
    assert (found is None) == (expected is None)
    if found is not None:
        assert found.tolist() == expected.tolist()


def test_noncanonical_rows_sees_a_quoted_part_followed_by_text():
    # '"a,b"c' reads as 'a,bc', whose canonical line has the same length and as many quotes
    body = b'"a,b"c,x\nok,y\n'
    columns = _parse(body, 2)
    assert columns[0].to_pylist() == ["a,bc", "ok"]
    assert fast.noncanonical_rows(np.frombuffer(body, np.uint8), columns).tolist() == [0]


@SETTINGS
@given(st.lists(cell, max_size=30), st.integers(0, 3))
def test_cells_read_off_the_buffers(cells, start):
    column = _strings(["pad"] * start + cells).slice(start)  # a slice: offsets not starting at 0
    assert fast.empty_cells(column).tolist() == fast.empty_cells_reference(column).tolist()
    assert fast.first_bytes(column).tolist() == fast.first_bytes_reference(column).tolist()
    assert fast.control_cells(column).tolist() == fast.control_cells_reference(column).tolist()


@SETTINGS
@given(st.binary(max_size=3000), st.integers(0, 255))
def test_positions_in_windows(data, byte):
    raw = np.frombuffer(data, np.uint8)
    fast.WINDOW, saved = 64, fast.WINDOW  # many windows, and a byte's run across their edges
    try:
        assert fast.positions(raw, byte).tolist() == [i for i, b in enumerate(data) if b == byte]
    finally:
        fast.WINDOW = saved


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from(["x", "y"]),
                          st.sampled_from(["", "1", "12", "é"])), max_size=60))
def test_first_of_keys_agrees_with_a_dict(rows):
    columns = [[r[i] for r in rows] for i in range(3)]
    codes = []
    for values in columns:
        enc = pc.dictionary_encode(_strings(values))
        codes.append((enc.indices.to_numpy(zero_copy_only=False), len(enc.dictionary)))
    assert fast.first_of_keys(codes).tolist() == fast.first_of_keys_reference(columns).tolist()


def test_first_of_keys_renumbers_before_the_codes_overflow():
    rng = np.random.default_rng(1)
    columns = [rng.integers(0, 3, 200) for _ in range(50)]  # 3**50 combinations: more than 2**62
    columns[7][150:] = columns[7][:50]
    codes = [(c, 3) for c in columns]
    assert fast.first_of_keys(codes).tolist() == fast.first_of_keys_reference([c.tolist() for c in columns]).tolist()


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=30),
       st.lists(st.tuples(st.integers(-2, 7), st.integers(-2, 7)), max_size=30), st.booleans())
def test_pair_table_agrees_with_a_set(known, asked, small):
    a, b = (np.array([p[i] for p in known], np.int64) for i in range(2))
    qa, qb = (np.array([p[i] for p in asked], np.int64) for i in range(2))
    table = fast.PairTable(a, b, 8, 8)
    if not small:
        table.table = None  # the sorted search used when the codes span too many cells
    assert table.contains(qa, qb).tolist() == fast.pairs_reference(a, b, qa, qb).tolist()


# --- the reader: pyarrow and the csv module give the same table ------------------------------------

RES = Resource("t", "data/t.csv", "schemas/t.json",
               [Field("id", "string", "", {}), Field("n", "integer", "", {}), Field("text", "string", "", {})],
               ["id"], [], {})


@st.composite
def csv_files(draw):
    """Small files as people save them: canonical or not, now and then a broken line (a quote left
    open, a cell too many, a blank line), CRLF, a missing final newline, bytes that are not UTF-8
    (a lone continuation byte, a sequence cut short, a Latin-1 é) somewhere after the header."""
    lines = draw(st.lists(st.one_of(quoted_lines(3), st.sampled_from(['a,"open,1', "x,1,2,3", "", 'q,"1"'])),
                          max_size=8))
    text = "id,n,text\n" + "".join(line + "\n" for line in lines)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = text.rstrip("\n")
    data = text.encode("utf-8")
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(min(len("id,n,text\n"), len(data)), len(data)))
        data = data[:at] + draw(st.sampled_from([b"\x80", b"\xc3", b"\xe9", b"\xf0\x9f"])) + data[at:]
    return data


def _read(tmp_path, data: bytes, slow: bool):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "t.csv").write_bytes(data)
    report = Report()
    saved = csvfile._fast_parse
    if slow:
        csvfile._fast_parse = lambda path, n_cols: None  # as when pyarrow refuses the file
    try:
        table = csvfile.read_text_table(tmp_path, RES, report)
    finally:
        csvfile._fast_parse = saved
    cells = None if table is None else {k: v.to_pylist() for k, v in table.columns.items()}
    lines = None if table is None else table.lines.tolist()
    return cells, lines, sorted((f.line or 0, f.column or "", f.rule, f.value or "") for f in report.findings)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(csv_files())
def test_fast_and_slow_readers_agree(tmp_path, data):
    assert _read(tmp_path, data, slow=False) == _read(tmp_path, data, slow=True)


# --- keys ----------------------------------------------------------------------------------------

KEYS = st.lists(st.sampled_from(["", "a", "a-1", "b", "b/c", "c", "é", "z", "zz"]), max_size=40)


def _table(keys: list[str]) -> csvfile.TextTable:
    res = Resource("t", "data/t.csv", "schemas/t.json", [Field("id", "string", "", {})], ["id"], [], {})
    return csvfile.TextTable(res, ["id"], {"id": _strings(keys)}, np.arange(2, 2 + len(keys)), {"id": 1})


@settings(max_examples=300, deadline=None)
@given(KEYS, st.booleans())
def test_primary_key_finds_every_repeat_and_nothing_else(keys, ordered):
    keys = sorted(keys) if ordered else keys  # a sorted file skips the hashing
    report = Report()
    schema_checks.check_primary_key(_table(keys), report)
    seen, expected = {}, set()
    for line, k in enumerate(keys, start=2):
        if k and k in seen:
            expected.add((line, seen[k]))
        seen.setdefault(k, line)
    found = {(f.line, int(f.message.rsplit(" ", 1)[1])) for f in report.findings if f.rule == "primary-key"}
    assert found == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab-/=1", max_size=4), max_size=60), st.sampled_from([1, 3, 30]))
def test_per_value_agrees_with_testing_every_cell(cells, repeat):
    cells = cells * repeat  # repeated: tested per distinct value; distinct: cell by cell
    table = _table(cells)
    test = lambda v: pc.match_substring_regex(v, "^[a-z]+$").to_numpy(zero_copy_only=False)
    assert table.per_value("id", test).tolist() == [bool(c) and set(c) <= {"a", "b"} for c in cells]

