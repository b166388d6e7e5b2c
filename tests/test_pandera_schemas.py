"""jakderm.schema(table): the Pandera schema a pandas user validates a frame of their own with.

The schemas are built from schemas/*.json and rules.RULES; these tests read the JSON themselves
and hold the Pandera objects to it, field by field and constraint by constraint, both ways.
"""
import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pytest

import jakderm
from jakderm import rules
from jakderm.descriptor import Field
from jakderm.pandera_schemas import FROM_THE_FRAME, frame_rules, whole_value
from jakderm.typed import pandas_dtype
from pkgtools import ROOT

DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
TABLE_SCHEMAS = {r["name"]: json.loads((ROOT / r["schema"]).read_text(encoding="utf-8"))
                 for r in DESCRIPTOR["resources"]}
TABLES = sorted(TABLE_SCHEMAS)


@pytest.fixture(scope="module")
def loaded():
    return jakderm.load(ROOT)


def typed(table: str, rows: list[dict]) -> pd.DataFrame:
    """A user's own frame: the given cells, every other column empty, typed as the package is."""
    return as_typed(pd.DataFrame(rows), jakderm.schema(table, ROOT))


def as_typed(frame: pd.DataFrame, schema) -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame({name: (frame[name].astype(col.dtype.type) if name in frame
                                else pd.Series(pd.array([None] * n, dtype=col.dtype.type)))
                         for name, col in schema.columns.items()})


RULES_BY_ERROR = {f"{r.column}: {r.hint}": r for r in rules.RULES}


def failures(exc) -> set[tuple]:
    """(check, column, row) of every failure, checks by name. A built-in check is shown with its
    arguments ("isin([...])"); a rule by its message, which starts with its column, and its
    failure case is {key columns..., rule column: value} (Pandera leaves out a missing value)."""
    out = set()
    for case in exc.failure_cases.itertuples():
        rule = RULES_BY_ERROR.get(case.check)
        if rule is not None:
            key = TABLE_SCHEMAS[rule.table]["primaryKey"]
            assert set(case.failure_case) <= {*key, rule.column} and set(key) <= set(case.failure_case), case
            out.add((rule.name, rule.column, int(case.index)))
        else:
            check = re.sub(r"\(.*", "", str(case.check), flags=re.S)
            out.add((check, case.column, None if pd.isna(case.index) else int(case.index)))
    return out


# -- the real package ------------------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_every_table_of_the_package_passes_its_schema(table, loaded):
    schema = jakderm.schema(table, ROOT)
    assert isinstance(schema, pa.DataFrameSchema) and schema.name == table
    schema.validate(loaded[table], lazy=True)


def test_schema_is_exposed_lazily_and_pandera_is_not_imported_by_jakderm_alone():
    code = ("import sys, jakderm; before = 'pandera' in sys.modules; s = jakderm.schema('arms');"
            "print(before, type(s).__name__, 'schema' in jakderm.__all__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "DataFrameSchema", "True"]


def test_an_unknown_table_is_named_with_the_tables_there_are():
    with pytest.raises(KeyError, match=r"no table 'outcome'.*outcomes"):
        jakderm.schema("outcome", ROOT)


# -- every Table Schema constraint has its Pandera counterpart, and nothing else is there ------

def frozen(statistics: dict) -> tuple:
    """Check statistics as a comparable value (0 == 0.0, as the JSON's integers are the checks' floats)."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in statistics.items()))


def expected_column_checks(field: dict) -> set[tuple]:
    """What the JSON says a field's Pandera checks must be: (check name, statistics)."""
    f = Field(field["name"], field.get("type", "string"), "", field.get("constraints", {}))
    out = set()
    for name, value in field.get("constraints", {}).items():
        if name == "enum":
            out.add(("isin", frozen({"allowed_values": value})))
        elif name == "minimum":
            out.add(("greater_than_or_equal_to", frozen({"min_value": value})))
        elif name == "maximum":
            out.add(("less_than_or_equal_to", frozen({"max_value": value})))
        elif name == "pattern":
            out.add(("str_matches", frozen({"pattern": rf"(?:{value})\Z"})))
        elif name in ("required", "unique"):
            continue  # nullable and unique, not checks
        else:
            pytest.fail(f"{f.name}: constraint {name!r} has no expected counterpart in this test")
    return out


def actual_column_checks(column: pa.Column) -> set[tuple]:
    return {(c.name, frozen(c.statistics)) for c in column.checks}


@pytest.mark.parametrize("table", TABLES)
def test_every_constraint_has_its_pandera_counterpart_and_vice_versa(table):
    ts = TABLE_SCHEMAS[table]
    schema = jakderm.schema(table, ROOT)
    fields = {f["name"]: f for f in ts["fields"]}
    assert list(schema.columns) == list(fields), "one column per field, in schema order"
    for name, field in fields.items():
        col = schema.columns[name]
        constraints = field.get("constraints", {})
        f = Field(name, field.get("type", "string"), "", constraints)
        assert str(col.dtype) == str(pa.Column(pandas_dtype(f)).dtype), name
        assert col.nullable == (not constraints.get("required", False)), name
        assert col.unique == bool(constraints.get("unique", False)), name
        assert not col.coerce, name
        assert actual_column_checks(col) == expected_column_checks(field), name
        if "enum" in constraints:
            assert list(col.dtype.type.categories) == [str(v) for v in constraints["enum"]], name
    pk = ts.get("primaryKey", [])
    assert list(schema.unique or []) == ([pk] if isinstance(pk, str) else list(pk))
    # the dataframe-level checks are this table's rules, by name, and nothing else
    single, left_out = frame_rules(table, ROOT)
    mine = [r for r in rules.RULES if r.table == table]
    assert [c.name for c in schema.checks] == [r.name for r in single]
    assert [c.error for c in schema.checks] == [f"{r.column}: {r.hint}" for r in single]
    assert sorted(map(id, single + left_out)) == sorted(map(id, mine))


def test_the_rules_left_out_are_exactly_those_that_read_other_tables(loaded):
    """Run each rule on the loaded table (plus what one frame can compute): those that then miss
    a column (one joins.py adds from another table) are the ones the schema leaves out."""
    for table in TABLES:
        frame = loaded[table].copy()
        for column, compute in FROM_THE_FRAME.items():
            derived = compute(frame, table)
            if derived is not None:
                frame[column] = derived
        single, left_out = frame_rules(table, ROOT)
        for r in single:
            r.holds(frame)  # runs
        for r in left_out:
            with pytest.raises((AttributeError, KeyError), match=r"'_[a-z_]+'"):
                r.holds(frame)
    names = {t: {c.name for c in jakderm.schema(t, ROOT).checks} for t in ("outcomes", "arms", "adverse_events")}
    assert {"responders-within-analysed", "percent-matches-counts", "one-figure-per-estimand"} <= names["outcomes"]
    assert "analysed-within-arm" not in names["outcomes"]  # needs the arm's size from arms.csv
    assert "arm-drug-matches-role" in names["arms"]
    assert {"events-within-at-risk", "percent-matches-counts"} <= names["adverse_events"]


# -- a user's own frame ------------------------------------------------------------------------

OUTCOME = {"outcome_id": "t1/drug/easi-75/w16", "arm_id": "t1/drug", "endpoint_id": "easi-75",
           "timepoint_weeks": 16, "responders": 30, "analysed": 100, "percent": 30.0,
           "source_id": "s1", "locator": "Table 2"}


def test_a_clean_frame_of_ones_own_passes():
    rows = [OUTCOME, {**OUTCOME, "outcome_id": "t1/placebo/easi-75/w16", "arm_id": "t1/placebo",
                      "responders": 1, "analysed": 3, "percent": 33.3}]
    jakderm.schema("outcomes", ROOT).validate(typed("outcomes", rows), lazy=True)


@pytest.mark.parametrize("cells, check, column", [
    ({"outcome_id": "t1/Drug/easi-75/w16"}, "str_matches", "outcome_id"),
    ({"outcome_id": "t1/drug/easi-75/w16\n"}, "str_matches", "outcome_id"),  # the whole value must match
    ({"analysed": -1, "responders": None}, "greater_than_or_equal_to", "analysed"),
    ({"percent": 100.5, "responders": None}, "less_than_or_equal_to", "percent"),
    ({"locator": None}, "not_nullable", "locator"),
    ({"responders": 120, "percent": None}, "responders-within-analysed",
     "responders"),
    ({"percent": 31.0}, "percent-matches-counts", "percent"),
    ({"responders": 1, "analysed": 3, "percent": 33.4}, "percent-matches-counts",
     "percent"),  # 33.33..., printed with one decimal: 33.3
    ({"responders": None, "percent": None}, "outcome-has-result",
     "responders"),
])
def test_a_bad_value_fails_naming_check_column_and_row(cells, check, column):
    rows = [OUTCOME, {**OUTCOME, "outcome_id": "t1/placebo/easi-75/w16", "arm_id": "t1/placebo", **cells}]
    frame = typed("outcomes", rows)
    with pytest.raises(pandera.errors.SchemaError) as exc:
        jakderm.schema("outcomes", ROOT).validate(frame)
    assert column in str(exc.value)  # the first failure, with its row among the failure cases
    assert list(exc.value.failure_cases["index"]) == [1]
    if isinstance(exc.value.failure_cases["failure_case"].iloc[0], dict):  # a rule: the row's key names it
        assert exc.value.failure_cases["failure_case"].iloc[0]["outcome_id"] == "t1/placebo/easi-75/w16"
    with pytest.raises(pandera.errors.SchemaErrors) as lazy:
        jakderm.schema("outcomes", ROOT).validate(frame, lazy=True)
    assert failures(lazy.value) == {(check, column, 1)}, "one bad cell, one failure"


def test_lazy_validation_reports_every_failure_with_its_column_and_row():
    rows = [{**OUTCOME, "outcome_id": "BAD", "arm_id": "t1/other", "responders": 50, "analysed": 40, "percent": None},
            OUTCOME,
            {**OUTCOME, "outcome_id": "t1/placebo/easi-75/w16", "arm_id": "t1/placebo", "percent": 120.0}]
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        jakderm.schema("outcomes", ROOT).validate(typed("outcomes", rows), lazy=True)
    assert failures(exc.value) == {
        ("str_matches", "outcome_id", 0),
        ("responders-within-analysed", "responders", 0),
        ("less_than_or_equal_to", "percent", 2),
        ("percent-matches-counts", "percent", 2),
    }


def test_a_row_whose_rule_exception_names_the_rule_passes_that_rule_only():
    bad = {**OUTCOME, "responders": 120, "percent": None}
    schema = jakderm.schema("outcomes", ROOT)
    schema.validate(typed("outcomes", [{**bad, "rule_exception": "responders-within-analysed"}]))
    with pytest.raises(pandera.errors.SchemaError):
        schema.validate(typed("outcomes", [{**bad, "rule_exception": "percent-matches-counts"}]))


def test_one_figure_per_estimand_within_the_frame():
    rows = [OUTCOME, {**OUTCOME, "outcome_id": "t1/drug/easi-75/w16-again"}]
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        jakderm.schema("outcomes", ROOT).validate(typed("outcomes", rows), lazy=True)
    assert failures(exc.value) == {("one-figure-per-estimand", "arm_id", 1)}
    rows[1]["population"] = "PP"  # another estimand
    jakderm.schema("outcomes", ROOT).validate(typed("outcomes", rows))


def test_placebo_arm_with_a_drug_fails_on_drug_id():
    arm = {"arm_id": "t1/placebo", "trial_id": "t1", "role": "placebo", "source_id": "s1", "locator": "Table 1"}
    schema = jakderm.schema("arms", ROOT)
    schema.validate(typed("arms", [arm]))
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        schema.validate(typed("arms", [arm, {**arm, "arm_id": "t1/placebo-2", "drug_id": "baricitinib"}]), lazy=True)
    assert failures(exc.value) == {("arm-drug-matches-role", "drug_id", 1)}


def test_enum_value_outside_the_vocabulary_fails_on_dtype_and_values():
    arm = {"arm_id": "t1/a", "trial_id": "t1", "role": "experimental", "drug_id": "x", "source_id": "s1",
           "locator": "Table 1"}
    frame = typed("arms", [arm, {**arm, "arm_id": "t1/b"}])
    role = jakderm.schema("arms", ROOT).columns["role"].dtype.type
    frame["role"] = pd.Categorical(["experimental", "sham"], categories=[*role.categories, "sham"])
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        jakderm.schema("arms", ROOT).validate(frame, lazy=True)
    found = failures(exc.value)
    assert ("isin", "role", 1) in found
    assert ("dtype", "role", None) in found or any(c == "dtype" and col == "role" for c, col, _ in found)


def test_a_frame_with_text_where_numbers_belong_fails_rather_than_being_coerced():
    frame = typed("outcomes", [OUTCOME])
    frame["analysed"] = frame["analysed"].astype("string")
    with pytest.raises(pandera.errors.SchemaError, match="analysed"):
        jakderm.schema("outcomes", ROOT).validate(frame)


def test_primary_keys_composite_ones_included_are_unique():
    rows = [OUTCOME, {**OUTCOME, "population": "PP"}]  # same outcome_id twice
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        jakderm.schema("outcomes", ROOT).validate(typed("outcomes", rows), lazy=True)
    assert {(c, col, row) for c, col, row in failures(exc.value)} == {
        ("multiple_fields_uniqueness", "outcome_id", 0), ("multiple_fields_uniqueness", "outcome_id", 1)}
    link = {"trial_id": "t1", "source_id": "s1", "role": "primary"}
    schema = jakderm.schema("trial_sources", ROOT)
    assert schema.unique == ["trial_id", "source_id"]
    schema.validate(typed("trial_sources", [link, {**link, "source_id": "s2"}, {**link, "trial_id": "t2"}]))
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        schema.validate(typed("trial_sources", [link, {**link, "role": "secondary"}]), lazy=True)
    assert {row for _, _, row in failures(exc.value)} == {0, 1}


# -- constraints the package does not use yet, from a schema of one's own ----------------------

def package_with(tmp_path, table: str, field_name: str, constraints: dict, type_: str | None = None):
    shutil.copy(ROOT / "datapackage.json", tmp_path / "datapackage.json")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    path = tmp_path / "schemas" / f"{table}.json"
    ts = json.loads(path.read_text(encoding="utf-8"))
    for f in ts["fields"]:
        if f["name"] == field_name:
            f["constraints"] = {**f.get("constraints", {}), **constraints}
            if type_:
                f["type"] = type_
    path.write_text(json.dumps(ts), encoding="utf-8")
    return tmp_path


def test_unique_min_max_length_and_unanchored_patterns(tmp_path):
    root = package_with(tmp_path, "sources", "license", {"unique": True, "minLength": 3, "maxLength": 10,
                                                       "pattern": "[A-Z][a-z]+"})
    schema = jakderm.schema("sources", root)
    col = schema.columns["license"]
    assert col.unique and {c.name for c in col.checks} == {"str_length", "str_matches"}
    src = {"source_id": "s1", "url": "https://example.org", "license": "Abc"}
    good = [src, {**src, "source_id": "s2", "license": "Abcdefghij"}]
    sources = jakderm.load(ROOT)["sources"]
    for row in good:  # fill the required columns from a real row
        for name in sources.columns:
            if name not in row and not schema.columns[name].nullable:
                row[name] = sources[name].iloc[0]
    frame = as_typed(pd.DataFrame(good), schema)
    schema.validate(frame)
    for license, check in [("Ab", "str_length"), ("Abcdefghijk", "str_length"), ("Abc1", "str_matches"),
                         ("xAbc", "str_matches")]:
        bad = frame.copy()
        bad.loc[1, "license"] = license
        with pytest.raises(pandera.errors.SchemaErrors) as exc:
            schema.validate(bad, lazy=True)
        assert (check, "license", 1) in failures(exc.value), license
    dup = frame.copy()
    dup.loc[1, "license"] = "Abc"
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        schema.validate(dup, lazy=True)
    assert {(c, col) for c, col, _ in failures(exc.value)} == {("field_uniqueness", "license")}


def test_date_bounds_are_dates(tmp_path):
    date_field = next(f["name"] for t in TABLE_SCHEMAS.values() for f in t["fields"] if f["type"] == "date")
    table = next(n for n, t in TABLE_SCHEMAS.items() if any(f["name"] == date_field for f in t["fields"]))
    root = package_with(tmp_path, table, date_field, {"minimum": "2000-01-01", "maximum": "2030-12-31"})
    col = jakderm.schema(table, root).columns[date_field]
    assert {json.dumps(c.statistics, default=str) for c in col.checks} >= {
        '{"min_value": "2000-01-01"}', '{"max_value": "2030-12-31"}'}
    frame = jakderm.load(ROOT)[table]
    jakderm.schema(table, root).validate(frame)


def test_a_constraint_without_a_counterpart_is_an_error_not_dropped(tmp_path):
    root = package_with(tmp_path, "arms", "dose", {"exclusiveMinimum": 0})
    with pytest.raises(ValueError, match=r"'dose'.*'exclusiveMinimum'"):
        jakderm.schema("arms", root)


def test_printed_decimals_are_the_fewest_that_give_the_value():
    from jakderm.pandera_schemas import _printed_decimals
    frame = pd.DataFrame({"percent": pd.array([8.4, 8.0, 33.33, 12.125, None, 0.05], dtype="Float64")})
    assert list(_printed_decimals(frame, "outcomes")) == [1, 0, 2, 3, 6, 2]
    assert _printed_decimals(pd.DataFrame({"x": [1]}), "arms") is None


def test_whole_value_pattern():
    assert re.match(whole_value("[a-z]+"), "abc") and not re.match(whole_value("[a-z]+"), "abc1")
    assert not re.match(whole_value("^[a-z]+$"), "abc\n")
