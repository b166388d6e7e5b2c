"""R and pandas read the same package the same way: read_jakderm() (R/jakderm.R) against jakderm.load().

Needs `Rscript` with readr and jsonlite. Without it the tests are skipped, unless JAKDERM_REQUIRE_R=1
(as in CI), when they fail.
"""
import json
import math
import subprocess

import pandas as pd
import pytest

import jakderm
from pkgtools import ROOT, require_r

# pandas dtype (as str) -> R class, for the types the Table Schemas use.
R_CLASS = {"Int64": "integer", "Float64": "numeric", "date32[day][pyarrow]": "Date", "category": "factor",
           "string": "character", "boolean": "logical"}


@pytest.fixture(scope="module")
def r_tables(tmp_path_factory):
    rscript = require_r("compare the R reader with pandas (readr, jsonlite)")
    out = tmp_path_factory.mktemp("r") / "tables.json"
    run = subprocess.run([rscript, str(ROOT / "tests" / "R" / "dump.R"), str(ROOT), str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"Rscript tests/R/dump.R failed:\n{run.stdout}\n{run.stderr}"
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pandas_tables():
    return jakderm.load(ROOT)


def as_text(series: pd.Series) -> list:
    """Cell values as dump.R writes them: text, None for missing (numbers compared as floats later)."""
    if str(series.dtype) == "boolean":
        return [None if pd.isna(v) else ("true" if v else "false") for v in series]
    if str(series.dtype).startswith("date32"):
        return [None if pd.isna(v) else v.isoformat() for v in series]
    return [None if pd.isna(v) else str(v) for v in series]


def test_same_tables_rows_and_columns(r_tables, pandas_tables):
    assert list(r_tables) == list(pandas_tables)
    for name, frame in pandas_tables.items():
        r = r_tables[name]
        assert r["nrow"] == len(frame), name
        assert [c["name"] for c in r["columns"]] == list(frame.columns), name


def test_same_types(r_tables, pandas_tables):
    for name, frame in pandas_tables.items():
        for col in r_tables[name]["columns"]:
            series = frame[col["name"]]
            where = f"{name}.{col['name']}"
            assert col["class"] == R_CLASS.get(str(series.dtype)), (where, str(series.dtype), col["class"])
            if col["class"] == "factor":
                assert col["levels"] == [str(c) for c in series.cat.categories], where


def test_same_values_cell_by_cell(r_tables, pandas_tables):
    differences = []
    for name, frame in pandas_tables.items():
        for col in r_tables[name]["columns"]:
            series = frame[col["name"]]
            numeric = str(series.dtype) in ("Int64", "Float64")
            for row, (r_value, py_value) in enumerate(zip(col["values"], as_text(series), strict=True)):
                if r_value is None or py_value is None:
                    same = r_value is py_value
                elif numeric:
                    same = math.isclose(float(r_value), float(py_value), rel_tol=1e-12)
                else:
                    same = r_value == py_value
                if not same:
                    differences.append(f"{name} row {row + 1} {col['name']}: R {r_value!r}, pandas {py_value!r}")
    assert not differences, f"{len(differences)} cells differ:\n" + "\n".join(differences[:20])
