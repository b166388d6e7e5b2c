"""Typed tables in one call: `jakderm.load(path=".")` and `jakderm.analysis_table()`."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def installed_copy() -> Path:
    """Where `pip install` put the data (share/jak-derm-data under the environment's prefix)."""
    import sys
    return Path(sys.prefix) / "share" / "jak-derm-data"


def package_root(path: str | Path = ".") -> Path:
    """`path` itself, or, when `path` is the default "." and holds no datapackage.json, the copy
    of the data installed with the package."""
    p = Path(path)
    if str(path) == "." and not (p / "datapackage.json").exists() and (installed_copy() / "datapackage.json").exists():
        return installed_copy()
    return p


def load(path: str | Path = ".") -> dict[str, pd.DataFrame]:
    """Every table of the package as a typed DataFrame, keyed by table name.

    `path` is the package directory or its datapackage.json; with the default "." outside a
    clone, the data installed with `pip install` are read.

    Types come from the Table Schemas: integers as nullable Int64, numbers as Float64, dates as
    dates, enum fields as categoricals with the enum's values as categories, other text as string.
    Raises ValueError naming file, line and column if a table cannot be read.
    """
    from .csvfile import READ_INCOMPLETE, read_text_table
    from .descriptor import load_package
    from .report import Report
    from .typed import typed_frame

    report = Report()
    package = load_package(package_root(path), report)
    tables = {}
    for name, res in package.resources.items():
        text = read_text_table(package.root, res, report)
        if text is not None:
            tables[name] = typed_frame(text)
    fatal = [f for f in report.errors if f.rule in READ_INCOMPLETE]
    if fatal:
        f = fatal[0]
        raise ValueError(f"{f.file}:{f.line or ''} {f.column or ''} {f.rule}: {f.message} "
                         "(run `python validate.py` for every problem)")
    return tables


def analysis_table(path: str | Path = ".", tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Outcomes joined with their arm, trial, drug and endpoint: one row per arm, endpoint,
    timepoint (and subgroup, population, imputation), keeping the source and locator of every
    number. `percent_derived` is computed here from responders/analysed and is never a reported
    value; `percent` is as printed."""
    t = tables if tables is not None else load(package_root(path))
    arms = t["arms"].rename(columns={"source_id": "arm_source_id", "locator": "arm_locator", "note": "arm_note",
                                     "label": "arm_label", "role": "arm_role", "n_randomized": "arm_n_randomized",
                                     "n_enrolled": "arm_n_enrolled", "rule_exception": "arm_rule_exception"})
    trials = t["trials"][["trial_id", "acronym", "nct_id", "design", "phase", "indication_id",
                          "randomized_period_weeks", "primary_timepoint_weeks"]]
    drugs = t["drugs"][["drug_id", "inn", "drug_class"]]
    endpoints = t["endpoints"][["endpoint_id", "label"]].rename(columns={"label": "endpoint_label"})
    out = (t["outcomes"]
           .merge(arms, on="arm_id", how="left", validate="many_to_one")
           .merge(trials, on="trial_id", how="left", validate="many_to_one")
           .merge(drugs, on="drug_id", how="left", validate="many_to_one")
           .merge(endpoints, on="endpoint_id", how="left", validate="many_to_one"))
    out["percent_derived"] = (100 * out["responders"].astype("Float64") / out["analysed"].astype("Float64")).round(2)
    first = ["trial_id", "acronym", "nct_id", "design", "phase", "indication_id", "arm_id", "arm_label", "arm_role",
             "drug_id", "inn", "drug_class", "dose", "dose_unit", "frequency", "route", "background_therapy",
             "arm_n_randomized", "arm_n_enrolled", "endpoint_id", "endpoint_label", "timepoint_weeks",
             "timepoint_text", "subgroup", "population", "imputation", "responders", "analysed", "percent",
             "percent_derived", "source_id", "locator", "note"]
    rest = [c for c in out.columns if c not in first]
    return out[first + rest].sort_values(["trial_id", "arm_id", "endpoint_id", "timepoint_weeks"],
                                          kind="stable").reset_index(drop=True)
