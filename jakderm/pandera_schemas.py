"""`jakderm.schema(table)`: a table's Pandera `DataFrameSchema`, for users who validate frames of
their own (a derived table, an edited copy, rows to contribute) in pandas.

Everything in it comes from elsewhere, stated once:
- columns, dtypes and constraints from the table's Table Schema (schemas/<table>.json), typed
  as the loader types them (typed.pandas_dtype);
- the cross-field rules from rules.RULES, each a named dataframe check.

A Table Schema constraint maps to exactly one Pandera counterpart (tests/test_pandera_schemas.py
walks both ways): `required` -> `nullable=False`; `unique` -> `Column(unique=True)`; `enum` ->
the category dtype and `Check.isin`; `minimum`/`maximum` -> `Check.ge`/`Check.le`; `pattern`
-> `Check.str_matches` on the whole value; `minLength`/`maxLength` -> `Check.str_length`; the
primary key (composite ones included) -> the schema's `unique`. A constraint without a
counterpart here is an error, never dropped.

What one frame cannot say is left out: foreign keys and the rules that read other tables (an
outcome's arm size, a trial's design, the sum of a trial's arms, whether a source is linked to
the trial). `python validate.py` checks those on the whole package.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .descriptor import Field, Resource, load_package
from .loader import package_root
from .report import Report
from .rules import ESTIMAND_KEYS, EXCEPTION_COLUMN, RULES, Rule, only_its_columns
from .typed import pandas_dtype


def _printed_decimals(frame: pd.DataFrame, table: str) -> pd.Series | None:
    """The decimals each percent shows. A float keeps no printed precision ("8.40" loads as 8.4),
    so this is the fewest decimals that give the value: never more than were printed, hence a
    tolerance never tighter than the validator's, which reads the CSV text."""
    if "percent" not in frame:
        return None
    values = frame["percent"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    decimals = np.full(len(values), 6.0)
    for d in range(5, -1, -1):  # the fewest decimals wins: count down, overwriting
        decimals[np.abs(np.round(values, d) - values) < 1e-9] = d
    return pd.Series(decimals, index=frame.index)


def _estimand_first(frame: pd.DataFrame, table: str) -> pd.Series | None:
    """For each row, the position of the first row of the frame giving its estimand (rules.ESTIMAND_KEYS)."""
    if table not in ESTIMAND_KEYS:
        return None
    codes, _ = pd.factorize(pd.MultiIndex.from_frame(frame[ESTIMAND_KEYS[table]].astype(object)))
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    return pd.Series(first[inverse], index=frame.index)


def _estimand_repeat(frame: pd.DataFrame, table: str) -> pd.Series | None:
    """Rows whose estimand (rules.ESTIMAND_KEYS) an earlier row of the frame already gives: their
    first row is another (as joins.py derives it for the validator)."""
    first = _estimand_first(frame, table)
    return None if first is None else pd.Series(first.to_numpy() != np.arange(len(frame)), index=frame.index)


# Columns a rule may read that are not fields but can be computed from the frame alone (None
# where the table has no use for them). Every other column starting with "_" is joined from
# another table (joins.JOINED), so the rules reading one are left out.
FROM_THE_FRAME: dict[str, Callable[[pd.DataFrame, str], pd.Series | None]] = {
    "_percent_decimals": _printed_decimals,
    "_estimand_repeat": _estimand_repeat,
    "_estimand_first": _estimand_first,
}


def _reads_only_the_frame(rule: Rule, fields: list[Field]) -> bool:
    """Whether the rule can be evaluated on one frame of its table: every column it declares is a
    field or computed from the frame (FROM_THE_FRAME)."""
    names = {f.name for f in fields} | set(FROM_THE_FRAME)
    return all(c in names for c in rule.reads)


def frame_rules(table: str, path: str | Path = ".") -> tuple[list[Rule], list[Rule]]:
    """The table's rules from rules.RULES, split into (checked on one frame, left to validate.py)."""
    return _split_rules(_resource(table, path))


def _split_rules(res: Resource) -> tuple[list[Rule], list[Rule]]:
    mine = [r for r in RULES if r.table == res.name]
    return ([r for r in mine if _reads_only_the_frame(r, res.fields)],
            [r for r in mine if not _reads_only_the_frame(r, res.fields)])


def _rule_check(rule: Rule, table: str, key: list[str]) -> pa.Check:
    """The rule as a dataframe check that fails cells: the rule's column and the row's key on each
    row that breaks it. Pandera then reports the row's index with {key..., column: value} (it
    leaves out a missing value, so the key is what still names the row then), and the check's
    message starts with the column. A row whose rule_exception names the rule passes: its source
    breaks the rule, and validate.py reports it as a warning."""
    def check(frame: pd.DataFrame) -> pd.DataFrame:
        work = frame.copy(deep=False)
        for column, compute in FROM_THE_FRAME.items():
            derived = compute(frame, table)
            if derived is not None:
                work[column] = derived
        holds = rule.holds(only_its_columns(rule, work)).to_numpy(dtype=bool, copy=True)
        if EXCEPTION_COLUMN in frame:
            holds |= (frame[EXCEPTION_COLUMN].astype("string") == rule.name).fillna(False).to_numpy(dtype=bool)
        out = pd.DataFrame(True, index=frame.index, columns=frame.columns)
        for column in [*key, rule.column]:
            if column in out:
                out[column] = holds
        return out

    return pa.Check(check, name=rule.name, error=f"{rule.column}: {rule.hint}", ignore_na=False)


def _typed_constant(field: Field, value):
    """A constraint's value as the column holds it (a date constraint is written as text)."""
    if field.type == "date":
        return dt.date.fromisoformat(str(value))
    if field.type == "integer":
        return int(value)
    if field.type == "number":
        return float(value)
    return value


def whole_value(pattern: str) -> str:
    r"""Table Schema's pattern matches the whole value; Pandera's str_matches only its start."""
    return rf"(?:{pattern})\Z"


def _column(field: Field) -> pa.Column:
    checks: list[pa.Check] = []
    constraints = dict(field.constraints)
    required = bool(constraints.pop("required", False))
    unique = bool(constraints.pop("unique", False))
    for name, value in constraints.items():
        if name == "enum":
            checks.append(pa.Check.isin([_typed_constant(field, v) for v in value]))
        elif name == "minimum":
            checks.append(pa.Check.ge(_typed_constant(field, value)))
        elif name == "maximum":
            checks.append(pa.Check.le(_typed_constant(field, value)))
        elif name == "pattern":
            re.compile(value)
            checks.append(pa.Check.str_matches(whole_value(value)))
        elif name == "minLength":
            checks.append(pa.Check.str_length(min_value=int(value)))
        elif name == "maxLength":
            checks.append(pa.Check.str_length(max_value=int(value)))
        else:
            raise ValueError(f"field {field.name!r}: the Table Schema constraint {name!r} has no Pandera "
                             "counterpart in jakderm.schema (add one to pandera_schemas.py)")
    return pa.Column(pandas_dtype(field), checks=checks, nullable=not required, unique=unique, coerce=False,
                     description=field.description or None)


def _resource(table: str, path: str | Path = ".") -> Resource:
    report = Report()
    package = load_package(package_root(path), report)
    if table not in package.resources:
        problems = "; ".join(f.message for f in report.errors if table in (f.message or ""))
        raise KeyError(f"no table {table!r} in the package at {package.root} (tables: "
                       f"{', '.join(sorted(package.resources))}){': ' + problems if problems else ''}")
    return package.resources[table]


def schema(table: str, path: str | Path = ".") -> pa.DataFrameSchema:
    """The Pandera `DataFrameSchema` of `table` (e.g. "outcomes"), built from its Table Schema.

    One column per field with the dtype `jakderm.load()` gives it (nullable Int64, Float64,
    dates, `category` with the enum's values as categories, `string`); `nullable` from
    `required`; checks for `enum`, `minimum`/`maximum`, `pattern` and `unique`; the primary
    key's uniqueness (composite keys included) as the schema's `unique`; and the table's
    cross-field rules that one frame can evaluate (responders <= analysed, percent agrees with
    the counts, placebo arms without a drug, one figure per estimand, ...) as dataframe checks
    named as validate.py names them. A row whose `rule_exception` names a rule passes that rule.

    Left out, because one frame cannot say them: foreign keys and the rules that read other
    tables (arm sizes, trial designs and periods, sums over arms, source links); run
    `python validate.py` for those. Percent is checked to the decimals its float shows ("8.40"
    loads as 8.4), so never more strictly than validate.py, which reads the printed text.

    Columns are not coerced: a frame holding text where the package holds numbers fails on the
    dtype rather than having values silently turned missing. Extra columns are allowed.

        s = jakderm.schema("outcomes")
        s.validate(frame, lazy=True)   # raises pandera.errors.SchemaErrors listing every failure
    """
    res = _resource(table, path)
    single, _ = _split_rules(res)
    columns = {f.name: _column(f) for f in res.fields}
    return pa.DataFrameSchema(
        columns,
        checks=[_rule_check(r, table, list(res.primary_key)) for r in single],
        unique=list(res.primary_key) or None,
        strict=False,
        name=table,
        description=f"{table}: built from {res.schema_path} and jakderm.rules",
    )
