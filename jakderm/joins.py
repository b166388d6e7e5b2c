"""What a row needs from other tables before its rules can be checked: an outcome's arm size and
trial design, a trial's sum over its arms. Columns added here start with '_' and never leave the
validator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import fast
from .csvfile import Encoded, encode
from .rules import ESTIMAND_KEYS

# The columns prepare() adds to each table, with their dtypes: the rule layer's Pandera schema
# (rules.pandera_schema) declares them beside the fields, so a rule can only read what is made here.
_RESULTS = {"_design": "category", "_arm_n": "Int64", "_source_linked": "boolean", "_percent_decimals": "float64",
            "_estimand_first": "int64", "_estimand_repeat": "bool"}
# The fields prepare() reads from each table (besides the ESTIMAND_KEYS of the results tables).
READS = {
    "trials": ("trial_id", "design", "randomized_period_weeks", "source_id"),
    "arms": ("arm_id", "trial_id", "source_id", "n_randomized", "n_enrolled"),
    "trial_sources": ("trial_id", "source_id"),
    "outcomes": ("arm_id", "source_id", "percent", *ESTIMAND_KEYS["outcomes"]),
    "adverse_events": ("arm_id", "source_id", "percent", *ESTIMAND_KEYS["adverse_events"]),
}
JOINED: dict[str, dict[str, str]] = {
    "trials": {"_arms_n_randomized": "Int64", "_arms_complete": "boolean", "_arms_n_enrolled": "Int64",
               "_arms_complete_enrolled": "boolean", "_source_linked": "boolean"},
    "arms": {"_design": "object", "_period": "Int64", "_source_linked": "boolean", "_arm_n": "Int64"},
    "outcomes": {**_RESULTS, "_period": "Int64"},
    "adverse_events": _RESULTS,
}


def _arrow(values) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if hasattr(values.array, "__arrow_array__"):  # a string column holds its Arrow array: no copy
        return pc.cast(pa.array(values.array), pa.string())
    return pa.array(values.astype(object), pa.string(), from_pandas=True)


def _positions(keys, table_keys, skip_nulls: bool = False) -> np.ndarray:
    """First row of `table_keys` holding each key (-1 where none), by hashing, not pandas indexing."""
    pos = pc.index_in(_arrow(keys), value_set=_arrow(table_keys), skip_nulls=skip_nulls)
    return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False)


def _take(values: pd.Series, pos: np.ndarray) -> pd.Series:
    """values[pos] with missing where pos is -1, keeping the dtype."""
    arr = values.array.take(pos, allow_fill=True)
    return pd.Series(arr)


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    return _take(table[column], _positions(keys, table[key])).set_axis(keys.index)


class Links:
    """trial_sources as integer pairs (positions in its own lists of trial and source ids), so a
    million rows are looked up without building a string per row. A code of -1 is an id not in
    trial_sources, -2 an empty or unknown one (the link is then missing, not false)."""

    def __init__(self, trial_sources: pd.DataFrame | None):
        self.present = trial_sources is not None
        if trial_sources is None:
            return
        link_t, link_s = _arrow(trial_sources.trial_id), _arrow(trial_sources.source_id)
        self.trials, self.sources = pc.unique(link_t), pc.unique(link_s)
        self.pairs = fast.PairTable(self.trial_codes(link_t), self.source_codes(link_s),
                                    len(self.trials), len(self.sources))

    def trial_codes(self, ids) -> np.ndarray:
        return self._codes(ids, self.trials)

    def source_codes(self, ids) -> np.ndarray:
        return self._codes(ids, self.sources)

    @staticmethod
    def _codes(ids, value_set) -> np.ndarray:
        ids = pc.fill_null(_arrow(ids), "")
        codes = pc.fill_null(pc.index_in(ids, value_set=value_set), -1).to_numpy(zero_copy_only=False)
        return np.where(pc.equal(ids, "").to_numpy(zero_copy_only=False), -2, codes).astype(np.int64)

    def linked(self, t_code: np.ndarray, s_code: np.ndarray) -> pd.Series:
        if not self.present:
            return pd.Series(pd.array([pd.NA] * len(t_code), dtype="boolean"))
        known = (t_code > -2) & (s_code > -2)
        return pd.Series(pd.arrays.BooleanArray(self.pairs.contains(t_code, s_code), ~known))


def percent_decimals(text_column) -> pd.Series:
    """Decimals printed in each percent cell ('8.40' -> 2, '8' -> 0)."""
    dot = pc.find_substring(text_column, ".")
    length = pc.utf8_length(text_column)
    decimals = pc.if_else(pc.greater_equal(dot, 0), pc.subtract(pc.subtract(length, dot), 1), 0)
    return pd.Series(decimals.to_numpy(zero_copy_only=False).astype(float))


def prepare(frames: dict[str, pd.DataFrame], texts: dict) -> dict[str, pd.DataFrame]:
    """Frames for the rule layer: each table with the joined columns its rules read."""
    out = dict(frames)
    trials, arms = frames.get("trials"), frames.get("arms")
    trial_sources = frames.get("trial_sources")
    if arms is None:  # arms.csv missing (reported already): the rules that read arms find none
        arms = pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             (("arm_id", "string"), ("trial_id", "string"), ("source_id", "string"),
                              ("n_randomized", "Int64"), ("n_enrolled", "Int64"))})
    links = Links(trial_sources)
    if trials is not None and arms is not None:
        out["trials"] = _trials_frame(trials, arms, links)
    if arms is not None:
        a = _arms_frame(arms, trials, links)
        if "arms" in frames:
            out["arms"] = a
        for name in ("outcomes", "adverse_events"):
            if name in frames:
                out[name] = _results_frame(name, frames[name], texts.get(name), a, links)
    return out


def _trials_frame(trials, arms, links: Links) -> pd.DataFrame:
    """Each trial with the sums of its arms' sizes (and whether every arm gives one). Arms are
    grouped by the row of their trial (integer codes), not by the text of its id."""
    t = trials.copy()
    ids = _arrow(trials.trial_id)
    own = _positions(ids, ids, skip_nulls=True)  # a repeated trial_id shares its first row's arms
    group = _positions(arms.trial_id, ids, skip_nulls=True)
    has_id, row = own >= 0, np.maximum(own, 0)
    linked = group >= 0
    size = np.bincount(group[linked], minlength=len(t))[row]
    # An arm whose trial_id is missing (reported) could belong to any trial: no sum can be judged.
    orphans = bool(arms.trial_id.isna().any())
    for column, total, complete in (("n_randomized", "_arms_n_randomized", "_arms_complete"),
                                    ("n_enrolled", "_arms_n_enrolled", "_arms_complete_enrolled")):
        values = arms[column][linked]
        sums = values.groupby(group[linked]).sum(min_count=1)
        given = np.bincount(group[linked], weights=values.notna().to_numpy(), minlength=len(t))[row]
        t[total] = sums.reindex(np.where(has_id, own, -1)).astype("Int64").array
        t[complete] = pd.array(has_id & (size > 0) & (given == size) & (not orphans), dtype="boolean")
    t["_source_linked"] = links.linked(links.trial_codes(t.trial_id), links.source_codes(t.source_id)).values
    return t


def _arms_frame(arms, trials, links: Links) -> pd.DataFrame:
    """Each arm with its trial's design and randomized period, and its size for the count rules."""
    a = arms.copy()
    missing = pd.Series(pd.NA, index=a.index)
    a["_design"] = (_lookup(a.trial_id, trials, "trial_id", "design") if trials is not None else missing).astype(object)
    a["_period"] = (_lookup(a.trial_id, trials, "trial_id", "randomized_period_weeks")
                    if trials is not None else missing).astype("Int64")
    a["_source_linked"] = links.linked(links.trial_codes(a.trial_id), links.source_codes(a.source_id)).values
    arm_n = a.n_randomized.where(a["_design"] == "randomized", a.n_enrolled)
    a["_arm_n"] = arm_n.fillna(a.n_randomized).fillna(a.n_enrolled).astype("Int64")
    return a


def _results_frame(name, frame, text, arms, links: Links) -> pd.DataFrame:
    """Outcomes or adverse events with their arm's size, trial design and period, whether their
    source is linked to their trial, the printed decimals of `percent`, and estimand repeats.
    Looked up through each key column's distinct values (text.encoded), not row by row."""
    d = frame.copy(deep=False)  # new columns only: the typed frame is shared, not copied

    def encoded(column: str) -> Encoded:
        if text is not None and column in text.columns:
            return text.encoded(column)
        return encode(pc.fill_null(_arrow(d[column]), ""))

    def per_row(column: str, per_value: np.ndarray) -> np.ndarray:
        return per_value[encoded(column).indices]

    arm_ids = encoded("arm_id")
    pos = per_row("arm_id", _positions(arm_ids.dictionary, arms.arm_id))
    design = pd.Categorical(arms["_design"].astype(object))
    d["_design"] = pd.Categorical.from_codes(
        np.where(pos < 0, -1, design.codes[np.where(pos < 0, 0, pos)] if len(design) else -1),
        categories=design.categories)
    d["_arm_n"] = _take(arms["_arm_n"], pos).values
    if name == "outcomes":
        d["_period"] = _take(arms["_period"], pos).values
    if links.present:
        arm_trial = np.append(links.trial_codes(arms.trial_id), -2)  # -2: the row's arm is unknown
        source = per_row("source_id", links.source_codes(encoded("source_id").dictionary))
        d["_source_linked"] = links.linked(arm_trial[np.where(pos < 0, len(arms), pos)], source).values
    else:
        d["_source_linked"] = links.linked(np.full(len(d), -2), np.full(len(d), -2)).values
    has_text = text is not None
    d["_percent_decimals"] = (percent_decimals(text.columns["percent"]).values
                              if has_text and "percent" in text.columns else np.nan)
    keys = ESTIMAND_KEYS[name]
    if has_text and all(k in text.columns for k in keys):
        first = fast.first_of_keys([(e.indices, len(e.dictionary)) for e in (text.encoded(k) for k in keys)])
        d["_estimand_first"] = first
        d["_estimand_repeat"] = first != np.arange(len(first))
    else:  # a key column missing from the file (reported already): no row repeats another
        d["_estimand_first"] = np.arange(len(d))
        d["_estimand_repeat"] = False
    return d
