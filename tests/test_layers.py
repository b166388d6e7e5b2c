"""The Table Schema states each field once; the Pandera layer builds on it and adds only rules."""
import json

import pandas as pd
import pytest

from jakderm import rules
from jakderm.descriptor import load_package
from jakderm.typed import pandas_dtype
from pkgtools import ROOT

PACKAGE = load_package(ROOT)


@pytest.mark.parametrize("name", sorted(PACKAGE.resources))
def test_pandera_columns_are_the_table_schema_fields(name):
    res = PACKAGE.resources[name]
    schema = rules.pandera_schema(res)
    assert list(schema.columns) == res.field_names
    for f in res.fields:
        # constraints live in the Table Schema only: the Pandera column adds no check of its own
        assert schema.columns[f.name].checks == [], f.name


def test_pandera_dtypes_accept_the_loaded_tables_and_reject_others():
    import pandera.errors
    import pandera.pandas as pa

    import jakderm
    tables = jakderm.load(ROOT)
    for name, frame in tables.items():
        res = PACKAGE.resources[name]
        columns_only = pa.DataFrameSchema({f.name: rules.pandera_schema(res).columns[f.name] for f in res.fields})
        columns_only.validate(frame)  # dtypes agree, no coercion
    outcomes = tables["outcomes"].copy()
    outcomes["responders"] = outcomes["responders"].astype("Float64")
    res = PACKAGE.resources["outcomes"]
    with pytest.raises(pandera.errors.SchemaError):
        pa.DataFrameSchema({f.name: rules.pandera_schema(res).columns[f.name] for f in res.fields}).validate(outcomes)


@pytest.mark.parametrize("name", sorted(PACKAGE.resources))
def test_pandera_reads_the_same_fields_as_its_own_frictionless_importer(name):
    from pandera.io.pandas_io import from_frictionless_schema
    res = PACKAGE.resources[name]
    theirs = from_frictionless_schema(str(ROOT / res.schema_path))
    assert list(theirs.columns) == res.field_names
    for f in res.fields:
        # pandera's importer states `required` as non-nullable; our layer leaves it to the schema layer
        assert theirs.columns[f.name].nullable == (not f.required), f.name


def test_every_rule_names_a_real_column_of_its_table():
    for r in rules.RULES:
        assert r.column in PACKAGE.resources[r.table].field_names, r


def test_exceptable_rules_are_rules_and_the_enum_is_the_same_everywhere():
    names = {r.name for r in rules.RULES}
    enums = {json.dumps(PACKAGE.resources[t].field("rule_exception").enum)
             for t in ("trials", "arms", "outcomes", "adverse_events")}
    assert len(enums) == 1
    for name in json.loads(enums.pop()):
        assert name in names, name


def test_rules_hold_on_empty_counts():
    """A count the source does not report is never a failure of a count rule."""
    res = PACKAGE.resources["outcomes"]
    frame = pd.DataFrame({f.name: pd.Series([None, None], dtype=pandas_dtype(f)) for f in res.fields})
    for extra in ("_arm_n", "_period"):
        frame[extra] = pd.array([None, None], dtype="Int64")
    frame["_design"] = ["randomized", None]
    frame["_source_linked"] = pd.array([None, None], dtype="boolean")
    frame["_percent_decimals"] = [float("nan")] * 2
    frame["_estimand_repeat"] = [False, False]
    frame["timepoint_weeks"] = pd.array([12, 12], dtype="Int64")
    frame["percent"] = pd.array([10.0, 10.0], dtype="Float64")
    for r in rules.rules_for("outcomes"):
        assert r.holds(frame).all(), r.name
