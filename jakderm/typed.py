"""From text cells to typed pandas columns, as the Table Schema says: one mapping for the loader,
the rule layer and the tests.

integer -> Int64 (nullable), number -> Float64, date -> date (pyarrow date32), string with an enum
-> category whose categories are the enum in schema order, other strings -> string. An empty cell
is missing; so is a cell the schema layer has already reported as the wrong type.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .descriptor import Field

DATE = pd.ArrowDtype(pa.date32())


def pandas_dtype(field: Field):
    if field.type == "integer":
        return pd.Int64Dtype()
    if field.type == "number":
        return pd.Float64Dtype()
    if field.type == "date":
        return DATE
    if field.type == "boolean":
        return pd.BooleanDtype()
    if field.enum:
        return pd.CategoricalDtype([str(v) for v in field.enum], ordered=False)
    return pd.StringDtype()


def _cast_numbers(table, field: Field, invalid: np.ndarray | None) -> pa.Array:
    """Numbers, shared with the schema layer; malformed cells and those in `invalid` are missing."""
    cast, _ = table.numbers(field.name, field.type == "integer")
    if invalid is not None and invalid.any():
        cast = pc.if_else(pa.array(invalid), pa.scalar(None, cast.type), cast)
    return cast


def typed_column(table, field: Field, invalid: np.ndarray | None = None) -> pd.Series:
    """One column of a TextTable, typed. `invalid` marks cells already reported as bad: read as missing."""
    column = _typed_column(table, field, invalid)
    if invalid is not None and invalid.any() and field.type not in ("integer", "number"):
        column = column.mask(invalid)
    return column


def _typed_column(table, field: Field, invalid: np.ndarray | None = None) -> pd.Series:
    values = table.columns[field.name]
    if field.type in ("integer", "number"):
        nums = _cast_numbers(table, field, invalid)
        mask = pc.is_null(nums).to_numpy(zero_copy_only=False)
        data = pc.fill_null(nums, 0).to_numpy(zero_copy_only=False)
        # built from numpy buffers: pandas' own conversion from Arrow walks the values in Python.
        # astype copies: Arrow's buffers are read-only, and a user may set a cell of a loaded table.
        array = (pd.arrays.IntegerArray(data.astype(np.int64), mask) if field.type == "integer"
                 else pd.arrays.FloatingArray(data.astype(np.float64), mask))
        return pd.Series(array, name=field.name, copy=False)
    if field.type == "date":
        from .schema_checks import TYPE_PATTERNS
        ok = pc.fill_null(pc.match_substring_regex(values, TYPE_PATTERNS["date"]), False)
        parsed = pc.strptime(pc.if_else(ok, values, pa.scalar(None, values.type)), format="%Y-%m-%d", unit="s",
                             error_is_null=True)
        dates = pc.cast(parsed, pa.date32())
        # strptime rolls a day that does not exist over (2021-02-30 -> 2021-03-02): such a date
        # does not print back as written, and is missing, never another day
        same = pc.fill_null(pc.equal(pc.strftime(dates, format="%Y-%m-%d"), values), False)
        dates = pc.if_else(same, dates, pa.scalar(None, pa.date32()))
        return pd.Series(pd.arrays.ArrowExtensionArray(dates), name=field.name, copy=False)
    if field.type == "boolean":
        return pd.Series(pd.array(pc.equal(values, "true"), dtype="boolean"), name=field.name, copy=False)
    if field.enum:
        categories = [str(v) for v in field.enum]
        encoded = table.encoded(field.name)  # shared with the schema layer's enum check
        # a code per distinct text: its position in the enum, or -1 (missing) for '' and unknown values
        lookup = np.array([categories.index(v) if v in categories else -1
                           for v in encoded.dictionary.to_pylist()] or [-1], dtype=np.int64)
        codes = lookup[encoded.indices] if len(values) else np.zeros(0, np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories), name=field.name, copy=False)
    empty = table.empty(field.name)
    if empty.all():  # a column no row fills (no subgroup anywhere, say)
        values = pa.nulls(len(values), values.type)
    elif empty.any():  # only then a copy with nulls; an id column is wrapped as it is
        values = pc.if_else(pa.array(empty), pa.scalar(None, values.type), values)
    return pd.Series(pd.array(values, dtype=pd.StringDtype()), name=field.name, copy=False)


def typed_frame(table) -> pd.DataFrame:
    """A TextTable as a typed DataFrame, columns in schema order (absent columns all missing).
    Cells the schema layer reported (table.bad) are read as missing."""
    n = table.n_rows
    cols = {}
    for fld in table.resource.fields:
        if fld.name in table.columns:
            cols[fld.name] = typed_column(table, fld, table.bad.get(fld.name))
        else:
            cols[fld.name] = pd.Series(pd.array([None] * n, dtype=pandas_dtype(fld)), name=fld.name, copy=False)
    return pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)
