"""The validator's shortcuts against plain reference implementations, on generated input.

The fast paths (a sorted key column skips hashing; a nearly sorted one hashes only where its
ordered runs overlap; a repetitive column is tested once per distinct value; estimand repeats are
found on integer codes) must find exactly what the obvious code finds.
"""
import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from jakderm import joins, schema_checks
from jakderm.csvfile import TextTable, encode
from jakderm.descriptor import Field, Resource
from jakderm.report import Report

KEYS = st.lists(st.sampled_from(["", "a", "a-1", "b", "b/c", "c", "é", "z", "zz"]), max_size=40)


def _table(keys: list[str]) -> TextTable:
    res = Resource("t", "data/t.csv", "schemas/t.json", [Field("id", "string", "", {})], ["id"], [], {})
    return TextTable(res, ["id"], {"id": pa.array(keys, pa.string())}, np.arange(2, 2 + len(keys)), {"id": 1})


def _repeats(keys: list[str]) -> set[int]:
    """Lines whose non-empty key stands on an earlier line: the reference."""
    seen, out = set(), set()
    for line, k in enumerate(keys, start=2):
        if k and k in seen:
            out.add(line)
        seen.add(k)
    return out


@settings(max_examples=400, deadline=None)
@given(KEYS, st.data())
def test_primary_key_finds_every_repeat_and_nothing_else(keys, data):
    # mostly sorted input, as real files are, with a few rows moved or repeated
    keys = sorted(keys) if data.draw(st.booleans()) else keys
    report = Report()
    schema_checks.check_primary_key(_table(keys), report)
    assert {f.line for f in report.findings if f.rule == "primary-key"} == _repeats(keys)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab-/=1", max_size=4), max_size=60), st.sampled_from([1, 3, 30]))
def test_per_value_agrees_with_testing_every_cell(cells, repeat):
    import pyarrow.compute as pc
    cells = cells * repeat  # repeated: tested per distinct value; distinct: cell by cell
    table = _table(cells)
    test = lambda v: pc.match_substring_regex(v, "^[a-z]+$").to_numpy(zero_copy_only=False)  # noqa: E731
    assert table.per_value("id", test).tolist() == [bool(c) and set(c) <= {"a", "b"} for c in cells]


def test_a_nearly_sorted_column_hashes_only_where_runs_overlap():
    keys = [f"k{i:04d}" for i in range(1000)]
    keys.insert(501, "k0500")  # a row pasted twice
    breaks = schema_checks._order_breaks(_table(keys), ["id"])
    assert schema_checks._may_repeat(pa.array(keys), breaks).nonzero()[0].tolist() == [500, 501]
    keys.insert(900, "k0250")  # and one far from its twin: the rows between them are candidates
    breaks = schema_checks._order_breaks(_table(keys), ["id"])
    candidates = schema_checks._may_repeat(pa.array(keys), breaks)
    assert candidates[250] and candidates[900] and candidates.sum() < 700


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from(["x", "y"]), st.sampled_from(["", "1", "12"])),
                max_size=50))
def test_repeated_keys_agrees_with_pandas_duplicated(rows):
    import pandas as pd
    columns = [pa.array([r[i] for r in rows], pa.string()) for i in range(3)]
    expected = pd.DataFrame(rows, columns=list("abc")).duplicated().tolist() if rows else []
    assert joins.repeated_keys([encode(c) for c in columns]).tolist() == expected
