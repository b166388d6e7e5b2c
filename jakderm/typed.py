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


def _cast_numbers(values: pa.Array, field: Field, invalid: np.ndarray | None) -> pa.Array:
    from .schema_checks import TYPE_PATTERNS
    target = pa.int64() if field.type == "integer" else pa.float64()
    empty = pc.equal(values, "")
    if invalid is not None:
        empty = pc.or_(empty, pa.array(invalid))
    cleaned = pc.if_else(empty, pa.scalar(None, pa.string()), values)
    try:
        return pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # a bad cell the caller did not mask: find it the slow way, read it as missing
        ok = pc.fill_null(pc.match_substring_regex(values, TYPE_PATTERNS[field.type]), False)
        return pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), target)


def typed_series(field: Field, values: pa.Array, invalid: np.ndarray | None = None) -> pd.Series:
    """One column, typed. `invalid` marks cells already reported as bad: read as missing."""
    if field.type in ("integer", "number"):
        nums = _cast_numbers(values, field, invalid)
        mask = pc.is_null(nums).to_numpy(zero_copy_only=False)
        data = pc.fill_null(nums, 0).to_numpy(zero_copy_only=False)
        # built from numpy buffers: pandas' own conversion from Arrow walks the values in Python
        array = (pd.arrays.IntegerArray(data.astype(np.int64), mask) if field.type == "integer"
                 else pd.arrays.FloatingArray(data.astype(np.float64), mask))
        return pd.Series(array, name=field.name)
    if field.type == "date":
        from .schema_checks import TYPE_PATTERNS
        ok = pc.fill_null(pc.match_substring_regex(values, TYPE_PATTERNS["date"]), False)
        parsed = pc.strptime(pc.if_else(ok, values, pa.scalar(None, pa.string())), format="%Y-%m-%d", unit="s",
                             error_is_null=True)
        return pd.Series(pd.arrays.ArrowExtensionArray(pc.cast(parsed, pa.date32())), name=field.name)
    if field.type == "boolean":
        return pd.Series(pd.array(pc.equal(values, "true"), dtype="boolean"), name=field.name)
    if field.enum:
        categories = [str(v) for v in field.enum]
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        # a code per distinct text: its position in the enum, or -1 (missing) for '' and unknown values
        lookup = np.array([categories.index(v) if v in categories else -1
                           for v in encoded.dictionary.to_pylist()] or [-1], dtype=np.int64)
        codes = lookup[encoded.indices.to_numpy(zero_copy_only=False)] if len(values) else np.zeros(0, np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories), name=field.name)
    empty = pc.equal(values, "")
    if pc.any(empty).as_py():  # only then a copy with nulls; an id column is wrapped as it is
        values = pc.if_else(empty, pa.scalar(None, pa.string()), values)
    return pd.Series(pd.array(values, dtype=pd.StringDtype()), name=field.name)


def typed_frame(table, use_bad: bool = True) -> pd.DataFrame:
    """A TextTable as a typed DataFrame, columns in schema order (absent columns all missing).
    Cells the schema layer reported (table.bad) are read as missing, unless use_bad is False
    (while the schema layer may still be running)."""
    cols = {}
    n = table.n_rows
    for fld in table.resource.fields:
        values = table.columns.get(fld.name)
        if values is None:
            values = pa.array([""] * n, pa.string())
        invalid = table.bad.get(fld.name) if use_bad else None
        cols[fld.name] = typed_series(fld, values, invalid).reset_index(drop=True)
    return pd.DataFrame(cols, index=pd.RangeIndex(n))
