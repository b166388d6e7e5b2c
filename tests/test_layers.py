"""The Table Schema states each field once; the Pandera layer builds on it and adds only rules."""
import contextlib
import dataclasses
import io
import json

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pytest

from jakderm import cli, joins, rules, validation
from jakderm.descriptor import load_package
from jakderm.report import Report
from jakderm.typed import pandas_dtype
from pkgtools import ROOT

PACKAGE = load_package(ROOT)


@pytest.mark.parametrize("name", sorted(PACKAGE.resources))
def test_the_rule_layer_schema_declares_what_its_rules_read_and_no_constraint(name):
    res = PACKAGE.resources[name]
    schema = rules.pandera_schema(res, joins.JOINED.get(name, {}))
    assert set(schema.columns) == {c for r in rules.rules_for(name) for c in r.reads}
    for column in schema.columns.values():
        # constraints live in the Table Schema only (the schema layer reports them once)
        assert column.checks == [] and column.nullable, column.name
    assert [c.name for c in schema.checks] == [r.key for r in rules.rules_for(name)]


def _joined_frames():
    report = Report()
    texts = validation.read_tables(PACKAGE, report)
    validation.check_schemas(texts, report)
    return joins.prepare(validation.type_tables(texts), texts)


JOINED_FRAMES = _joined_frames()


@pytest.mark.parametrize("name", sorted({r.table for r in rules.RULES}))
def test_the_joined_frames_have_the_columns_and_dtypes_the_rules_declare(name):
    # the rule checks left out: the real package has rows that break a rule, each excepted
    columns = pa.DataFrameSchema(rules.pandera_schema(PACKAGE.resources[name], joins.JOINED.get(name, {})).columns)
    columns.validate(JOINED_FRAMES[name])
    frame = JOINED_FRAMES[name].copy()
    column = next(c for c in columns.columns if frame[c].dtype != bool)
    frame[column] = True  # a column of another dtype than the one declared
    with pytest.raises(pandera.errors.SchemaError):
        columns.validate(frame)


@pytest.mark.parametrize("rule", rules.RULES, ids=[f"{r.table}:{r.key}" for r in rules.RULES])
def test_each_rule_reads_exactly_the_columns_it_declares(rule):
    """On its declared columns alone the rule runs; without any one of them it cannot. A rule
    reading a column it does not declare, or declaring one it does not read, fails here."""
    frame = JOINED_FRAMES[rule.table]
    lines = np.arange(2, len(frame) + 2)
    own = rules.only_its_columns(rule, frame)
    assert len(rule.holds(own)) == len(frame)
    if rule.detail:
        rule.detail(own.iloc[:1].to_dict("records")[0], lines)
    for column in rule.reads:
        fewer = own.drop(columns=[column])
        with pytest.raises((KeyError, AttributeError)):
            rule.holds(fewer)
            if rule.detail:
                rule.detail(fewer.iloc[:1].to_dict("records")[0], lines)


def test_a_rule_reading_an_undeclared_column_stops_the_run_naming_the_rule(monkeypatch):
    rule = next(r for r in rules.RULES if r.name == "responders-within-analysed")
    sloppy = dataclasses.replace(rule, reads=("responders",))  # reads analysed too, undeclared
    monkeypatch.setattr(rules, "RULES", [sloppy if r is rule else r for r in rules.RULES])
    with pytest.raises(rules.RuleError, match="responders-within-analysed"):
        validation.validate_package(ROOT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["validate", str(ROOT)])
    assert code != 0 and "internal-error" in out.getvalue() and "responders-within-analysed" in out.getvalue()


def test_a_misspelt_column_in_a_rule_is_an_error_naming_the_rule_never_a_pass(monkeypatch):
    rule = next(r for r in rules.RULES if r.name == "responders-within-analysed")
    typo = dataclasses.replace(rule, reads=("responders", "analysd"))
    monkeypatch.setattr(rules, "RULES", [typo if r is rule else r for r in rules.RULES])
    report = validation.validate_package(ROOT)
    assert not report.valid
    finding = next(f for f in report.errors if f.rule == "schema-incomplete")
    assert finding.column == "analysd" and "responders-within-analysed" in finding.message


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
