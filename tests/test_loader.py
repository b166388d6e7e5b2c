"""jakderm.load(): typed from the Table Schemas, the same rows as the CSV files."""
import csv

import pandas as pd

import jakderm
from jakderm.descriptor import load_package
from jakderm.typed import pandas_dtype
from pkgtools import ROOT


def test_load_types_every_column_from_its_schema():
    tables = jakderm.load(ROOT)
    package = load_package(ROOT)
    assert set(tables) == set(package.resources)
    for name, frame in tables.items():
        res = package.resources[name]
        with open(ROOT / res.path, encoding="utf-8", newline="") as fh:
            assert len(frame) == sum(1 for _ in csv.DictReader(fh)), name
        for f in res.fields:
            assert str(frame[f.name].dtype) == str(pandas_dtype(f)), (name, f.name)
            if f.enum:
                assert list(frame[f.name].cat.categories) == [str(v) for v in f.enum]


def test_integers_stay_integers_with_missing_values(pkg):
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "")
    t = jakderm.load(pkg.root)
    out = t["outcomes"].set_index("outcome_id")
    assert out["responders"].dtype == pd.Int64Dtype()
    assert pd.isna(out.loc["example-trial/placebo/easi-75/w16", "responders"])
    assert out.loc["example-trial/abrocitinib-100mg/easi-75/w16", "responders"] == 84
    assert out.loc["example-trial/abrocitinib-100mg/easi-75/w16", "percent"] == 42.0


def test_loaded_tables_can_be_edited_in_place():
    """The typed columns are built from Arrow's read-only buffers: a user must still be able to
    set a cell (a correction, a what-if) without a 'read-only' error."""
    tables = jakderm.load(ROOT)
    for name, frame in tables.items():
        for column in frame.columns:
            kept = frame.loc[0, column]
            frame.loc[0, column] = None
            assert pd.isna(frame.loc[0, column]), (name, column)
            frame.loc[0, column] = kept


def test_analysis_table_joins_and_keeps_the_source(pkg):
    wide = jakderm.analysis_table(pkg.root)
    row = wide.set_index("outcome_id").loc["example-trial/abrocitinib-100mg/easi-75/w16"]
    assert row["trial_id"] == "example-trial" and row["inn"] == "abrocitinib" and row["dose"] == 100
    assert row["source_id"] == "example-2099-trial" and row["locator"] == "Table 2"
    assert row["percent_derived"] == 42.0 and row["population"] == "FAS"
    assert len(wide) == len(jakderm.load(pkg.root)["outcomes"])


def test_load_says_where_a_file_is_broken(pkg):
    pkg.path("arms").write_bytes(pkg.path("arms").read_bytes() + b"x,y\n")
    try:
        jakderm.load(pkg.root)
    except ValueError as exc:
        assert "data/arms.csv" in str(exc) and "row-cells" in str(exc)
    else:
        raise AssertionError("load() must refuse a table it cannot read")
