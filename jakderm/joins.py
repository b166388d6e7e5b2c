"""What a row needs from other tables before its rules can be checked: an outcome's arm size and
trial design, a trial's sum over its arms. Columns added here start with '_' and never leave the
validator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _arrow(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values.astype(object), pa.string(), from_pandas=True)


def _positions(keys, table_keys) -> np.ndarray:
    """Row of `table_keys` holding each key (-1 where none), by hashing, not pandas indexing."""
    pos = pc.index_in(_arrow(keys), value_set=_arrow(table_keys))
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False)


def _take(values: pd.Series, pos: np.ndarray) -> pd.Series:
    """values[pos] with missing where pos is -1, keeping the dtype."""
    arr = values.array.take(pos, allow_fill=True)
    return pd.Series(arr)


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    return _take(table[column], _positions(keys, table[key])).set_axis(keys.index)


def _linked(trial_ids, source_ids, trial_sources: pd.DataFrame | None, n: int) -> pd.Series:
    """Whether each (trial, source) pair is in trial_sources; missing where either is unknown.
    Pairs are compared as integer codes (positions in the link table's own id lists), so no
    million-row string is built."""
    if trial_sources is None:
        return pd.Series(pd.array([pd.NA] * n, dtype="boolean"))
    link_t, link_s = _arrow(trial_sources.trial_id), _arrow(trial_sources.source_id)
    trials, sources = pc.unique(link_t), pc.unique(link_s)
    width = len(sources) + 1
    pairs = (pc.index_in(link_t, value_set=trials).to_numpy(zero_copy_only=False).astype(np.int64) * width
             + pc.index_in(link_s, value_set=sources).to_numpy(zero_copy_only=False))
    t, s = pc.fill_null(_arrow(trial_ids), ""), pc.fill_null(_arrow(source_ids), "")
    known = pc.and_(pc.not_equal(t, ""), pc.not_equal(s, "")).to_numpy(zero_copy_only=False)
    t_code = pc.fill_null(pc.index_in(t, value_set=trials), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    s_code = pc.fill_null(pc.index_in(s, value_set=sources), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    found = (t_code >= 0) & (s_code >= 0) & np.isin(t_code * width + s_code, pairs)
    return pd.Series(pd.arrays.BooleanArray(found, ~known))


def percent_decimals(text_column) -> pd.Series:
    """Decimals printed in each percent cell ('8.40' -> 2, '8' -> 0)."""
    dot = pc.find_substring(text_column, ".")
    length = pc.utf8_length(text_column)
    decimals = pc.if_else(pc.greater_equal(dot, 0), pc.subtract(pc.subtract(length, dot), 1), 0)
    return pd.Series(decimals.to_numpy(zero_copy_only=False).astype(float))


def repeated_keys(columns: list) -> np.ndarray:
    """True on each row whose combination of values appeared on an earlier row (empty counts as
    a value). Each column is hashed to integer codes and the codes combined in mixed radix, so
    no million-row string is ever built."""
    codes, radix = None, 1
    for col in columns:
        if codes is not None and not pc.any(pc.not_equal(pc.fill_null(_arrow(col), ""), "")).as_py():
            continue  # an all-empty column (no subgroup anywhere) tells no row apart
        enc = pc.dictionary_encode(pc.fill_null(_arrow(col), ""))
        enc = enc.combine_chunks() if isinstance(enc, pa.ChunkedArray) else enc
        c = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        size = len(enc.dictionary) + 1
        if codes is None:
            codes, radix = c, size
        elif radix * size < 2 ** 62:
            codes, radix = codes * size + c, radix * size
        else:  # renumber densely before the code space overflows
            codes, uniques = pd.factorize(codes)
            codes, radix = codes.astype(np.int64) * size + c, (len(uniques) + 1) * size
    if codes is None or len(codes) == 0:
        return np.zeros(0 if codes is None else len(codes), bool)
    if radix <= 8 * len(codes) and np.bincount(codes, minlength=radix).max() <= 1:
        return np.zeros(len(codes), bool)  # a small code space counted directly: no repeat
    dense, uniques = pd.factorize(codes)
    if len(uniques) == len(codes):
        return np.zeros(len(codes), bool)
    first = np.full(len(uniques), -1, np.int64)
    rows = np.arange(len(dense))
    first[dense[::-1]] = rows[::-1]
    return first[dense] != rows


def prepare(frames: dict[str, pd.DataFrame], texts: dict) -> dict[str, pd.DataFrame]:
    """Frames for the rule layer: each table with the joined columns its rules read."""
    out = dict(frames)
    trials, arms = frames.get("trials"), frames.get("arms")
    trial_sources = frames.get("trial_sources")
    if arms is None and ("outcomes" in frames or "adverse_events" in frames):
        arms = pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             (("arm_id", "string"), ("trial_id", "string"), ("source_id", "string"),
                              ("n_randomized", "Int64"), ("n_enrolled", "Int64"))})
    if trials is not None and arms is not None:
        out["trials"] = _trials_frame(trials, arms, trial_sources)
    if arms is not None:
        a = _arms_frame(arms, trials, trial_sources)
        if "arms" in frames:
            out["arms"] = a
        for name in ("outcomes", "adverse_events"):
            if name in frames:
                out[name] = _results_frame(name, frames[name], texts.get(name), a, trials, trial_sources)
    return out


def _trials_frame(trials, arms, trial_sources) -> pd.DataFrame:
    """Each trial with the sums of its arms' sizes (and whether every arm gives one)."""
    t = trials.copy()
    g = arms.groupby(arms.trial_id.astype(object), observed=True)
    size = g.size()
    key = t.trial_id.astype(object)
    t["_arms_n_randomized"] = key.map(g.n_randomized.sum(min_count=1)).astype("Int64")
    t["_arms_complete"] = key.map(g.n_randomized.count() == size).astype("boolean").fillna(False)
    t["_arms_n_enrolled"] = key.map(g.n_enrolled.sum(min_count=1)).astype("Int64")
    t["_arms_complete_enrolled"] = key.map(g.n_enrolled.count() == size).astype("boolean").fillna(False)
    t["_source_linked"] = _linked(t.trial_id, t.source_id, trial_sources, len(t)).values
    return t


def _arms_frame(arms, trials, trial_sources) -> pd.DataFrame:
    """Each arm with its trial's design and randomized period, and its size for the count rules."""
    a = arms.copy()
    missing = pd.Series(pd.NA, index=a.index)
    a["_design"] = (_lookup(a.trial_id, trials, "trial_id", "design") if trials is not None else missing).astype(object)
    a["_period"] = (_lookup(a.trial_id, trials, "trial_id", "randomized_period_weeks")
                    if trials is not None else missing).astype("Int64")
    a["_source_linked"] = _linked(a.trial_id, a.source_id, trial_sources, len(a)).values
    arm_n = a.n_randomized.where(a["_design"] == "randomized", a.n_enrolled)
    a["_arm_n"] = arm_n.fillna(a.n_randomized).fillna(a.n_enrolled).astype("Int64")
    return a


def _results_frame(name, frame, text, arms, trials, trial_sources) -> pd.DataFrame:
    """Outcomes or adverse events with their arm's size, trial design and period, whether their
    source is linked to their trial, the printed decimals of `percent`, and estimand repeats."""
    from .rules import ESTIMAND_KEYS
    d = frame.copy(deep=False)  # new columns only: the typed frame is shared, not copied
    column = (lambda c: text.columns[c] if text is not None and c in text.columns else d[c])
    pos = _positions(column("arm_id"), arms.arm_id)
    design = pd.Categorical(arms["_design"].astype(object))
    d["_design"] = pd.Categorical.from_codes(
        np.where(pos < 0, -1, design.codes[np.where(pos < 0, 0, pos)] if len(design) else -1),
        categories=design.categories)
    d["_arm_n"] = _take(arms["_arm_n"], pos).values
    if name == "outcomes":
        d["_period"] = _take(arms["_period"], pos).values
    arm_trials = pa.concat_arrays([_arrow(arms.trial_id), pa.array([None], pa.string())])
    trial_of_row = pc.take(arm_trials, pa.array(np.where(pos < 0, len(arms), pos)))
    d["_source_linked"] = _linked(trial_of_row, column("source_id"), trial_sources, len(d)).values
    has_text = text is not None
    d["_percent_decimals"] = (percent_decimals(text.columns["percent"]).values
                              if has_text and "percent" in text.columns else np.nan)
    keys = ESTIMAND_KEYS[name]
    d["_estimand_repeat"] = (repeated_keys([text.columns[k] for k in keys])
                             if has_text and all(k in text.columns for k in keys) else False)
    return d
