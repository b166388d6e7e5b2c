"""From text cells to typed pandas columns, as the Table Schema says: one mapping for the loader,
the rule layer and the tests.

integer -> Int64 (nullable), number -> Float64, date -> date (pyarrow date32), string with an enum
-> category whose categories are the enum in schema order, other strings -> string. An empty cell
is missing; so is a cell the schema layer has already reported as the wrong type.
"""
from __future__ import annotations

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


def typed_series(field: Field, values: pa.Array) -> pd.Series:
    from .schema_checks import TYPE_PATTERNS
    nulls = pc.equal(values, "")
    if field.type in TYPE_PATTERNS:
        ok = pc.fill_null(pc.match_substring_regex(values, TYPE_PATTERNS[field.type]), False)
        values = pc.if_else(ok, values, pa.scalar(None, pa.string()))
        if field.type == "integer":
            return pd.Series(pd.array(pc.cast(values, pa.int64()), dtype="Int64"), name=field.name)
        if field.type == "number":
            return pd.Series(pd.array(pc.cast(values, pa.float64()), dtype="Float64"), name=field.name)
        if field.type == "date":
            parsed = pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True)
            return pd.Series(pd.arrays.ArrowExtensionArray(pc.cast(parsed, pa.date32())), name=field.name)
        return pd.Series(pd.array(pc.equal(values, "true"), dtype="boolean"), name=field.name)
    values = pc.if_else(nulls, pa.scalar(None, pa.string()), values)
    if field.enum:
        categories = [str(v) for v in field.enum]
        known = pc.fill_null(pc.is_in(values, value_set=pa.array(categories, pa.string())), False)
        values = pc.if_else(known, values, pa.scalar(None, pa.string()))
        return pd.Series(pd.Categorical(values.to_pandas(), categories=categories), name=field.name)
    return pd.Series(values.to_pandas(types_mapper=lambda t: pd.StringDtype()), name=field.name, dtype=pd.StringDtype())


def typed_frame(table) -> pd.DataFrame:
    """A TextTable as a typed DataFrame, columns in schema order (absent columns all missing)."""
    cols = {}
    n = table.n_rows
    for fld in table.resource.fields:
        values = table.columns.get(fld.name)
        if values is None:
            values = pa.array([""] * n, pa.string())
        cols[fld.name] = typed_series(fld, values).reset_index(drop=True)
    return pd.DataFrame(cols, index=pd.RangeIndex(n))
