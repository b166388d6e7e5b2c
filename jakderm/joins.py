"""What a row needs from other tables before its rules can be checked: an outcome's arm size and
trial design, a trial's sum over its arms. Columns added here start with '_' and never leave the
validator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    mapping = table.drop_duplicates(key).set_index(key)[column]
    return keys.map(mapping)


def _linked(trial_ids: pd.Series, source_ids: pd.Series, trial_sources: pd.DataFrame | None) -> pd.Series:
    if trial_sources is None:
        return pd.Series(pd.NA, index=trial_ids.index, dtype="boolean")
    pairs = set(zip(trial_sources.trial_id.astype(object), trial_sources.source_id.astype(object)))
    known = trial_ids.notna() & source_ids.notna()
    out = pd.Series([(t, s) in pairs for t, s in zip(trial_ids.astype(object), source_ids.astype(object))],
                    index=trial_ids.index, dtype="boolean")
    return out.where(known, pd.NA)


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
    if trials is not None and arms is not None:
        t = trials.copy()
        g = arms.groupby(arms.trial_id.astype(object), observed=True)
        t["_arms_n_randomized"] = t.trial_id.astype(object).map(g.n_randomized.sum(min_count=1))
        t["_arms_complete"] = t.trial_id.astype(object).map(g.n_randomized.apply(lambda s: s.notna().all()))
        t["_arms_n_enrolled"] = t.trial_id.astype(object).map(g.n_enrolled.sum(min_count=1))
        t["_arms_complete_enrolled"] = t.trial_id.astype(object).map(g.n_enrolled.apply(lambda s: s.notna().all()))
        for c in ("_arms_complete", "_arms_complete_enrolled"):
            t[c] = t[c].astype("boolean").fillna(False)
        for c in ("_arms_n_randomized", "_arms_n_enrolled"):
            t[c] = t[c].astype("Int64")
        out["trials"] = t
    if arms is not None:
        a = arms.copy()
        design = _lookup(a.trial_id, trials, "trial_id", "design") if trials is not None else pd.Series(pd.NA, index=a.index)
        a["_design"] = design.astype(object)
        a["_source_linked"] = _linked(a.trial_id, a.source_id, trial_sources)
        a["_arm_n"] = a.n_randomized.where(a["_design"] == "randomized", a.n_enrolled)
        a["_arm_n"] = a["_arm_n"].fillna(a.n_randomized).fillna(a.n_enrolled)
        out["arms"] = a
        period = (_lookup(a.trial_id, trials, "trial_id", "randomized_period_weeks")
                  if trials is not None else pd.Series(pd.NA, index=a.index))
        arm_info = pd.DataFrame({"trial_id": a.trial_id.astype(object).values, "_design": a["_design"].values,
                                 "_arm_n": a["_arm_n"].values, "_period": period.values},
                                index=a.arm_id.astype(object).values)
        arm_info = arm_info[~arm_info.index.duplicated()]
        for name in ("outcomes", "adverse_events"):
            df = frames.get(name)
            if df is None:
                continue
            d = df.copy()
            keys = d.arm_id.astype(object)
            d["_trial_id"] = keys.map(arm_info.trial_id)
            d["_design"] = keys.map(arm_info._design)
            d["_arm_n"] = keys.map(arm_info._arm_n).astype("Int64")
            if name == "outcomes":
                d["_period"] = keys.map(arm_info._period).astype("Int64")
            d["_source_linked"] = _linked(d["_trial_id"], d.source_id, trial_sources)
            text = texts.get(name)
            if text is not None and "percent" in text.columns:
                d["_percent_decimals"] = percent_decimals(text.columns["percent"]).values
            else:
                d["_percent_decimals"] = np.nan
            out[name] = d
    return out
