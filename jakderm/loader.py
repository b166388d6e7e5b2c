"""Typed tables in one call: `jakderm.load(path=".")` and `jakderm.analysis_table()`."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def installed_copy() -> Path | None:
    """The Data Package that travels inside the jakderm package, found with importlib.resources.

    `jakderm/package/` is a folder of relative symlinks to the repository's own files; a wheel
    (and an sdist) holds copies of their targets, so this is the installed data whether pip put
    the package in a venv, under --user or --prefix. In a clone or an editable install the links
    lead back to the repository: its root, where the links point, is returned, so that the package
    read is the repository's and no link leads out of the folder being validated. None when the
    package carries no data (a build from a checkout without symlinks)."""
    from importlib.resources import files

    carried = files("jakderm") / "package" / "datapackage.json"
    if not isinstance(carried, Path) or not carried.is_file():
        return None
    return carried.resolve().parent


def package_root(path: str | Path = ".") -> Path:
    """`path` itself; or, for the default "." when the current directory holds no
    datapackage.json, the copy of the data installed with the package (installed_copy())."""
    p = Path(path)
    if p == Path(".") and not (p / "datapackage.json").exists():
        return installed_copy() or p
    return p


ERRORS = ("raise", "coerce")


def load(path: str | Path = ".", errors: str = "raise") -> dict[str, pd.DataFrame]:
    """Every table of the package as a typed DataFrame, keyed by table name.

    `path` is the package directory or its datapackage.json; with the default "." in a directory
    that holds no datapackage.json, the data installed with the package are read (package_root()).

    Types come from the Table Schemas: integers as nullable Int64, numbers as Float64, dates as
    dates, enum fields as categoricals with the enum's values as categories, other text as string.

    The package is validated first (docs/data-model.md): with errors="raise" (the default) a package
    that does not validate raises jakderm.validation.InvalidPackage (a ValueError) naming file,
    line and column of its first errors. With errors="coerce" the tables that can be read are
    returned, every cell that does not fit its field is missing, and a warning lists what was
    blanked or left out: no value changes silently.
    """
    import warnings

    from .validation import InvalidPackage, validate_and_read

    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {ERRORS}, not {errors!r}")
    report, package, texts = validate_and_read(package_root(path))
    if package is None:  # datapackage.json itself is unusable
        raise InvalidPackage(report, "jakderm.load()")
    if not report.valid and errors == "raise":
        raise InvalidPackage(report, "jakderm.load()")
    tables = {name: _typed(text) for name, text in texts.items()}
    if errors == "coerce" and not report.valid:
        blanked = _blanked(texts, tables, report)
        left_out = sorted({f.file for f in report.errors if f.rule in _LEFT_OUT})
        lines = [f"{file}:{line} [{column}] {value!r} ({rule})" for file, line, column, value, rule in blanked[:20]]
        message = (f"jakderm.load(errors='coerce'): the package does not validate ({report.total('error')} "
                   f"error(s)); {len(blanked)} cell(s) that do not fit their field were read as missing")
        if lines:
            message += ":\n  " + "\n  ".join(lines) + (f"\n  … and {len(blanked) - 20} more" if len(blanked) > 20 else "")
        if left_out:
            message += "\nrows or tables that could not be read in full: " + ", ".join(left_out)
        message += "\n(run `python validate.py` for every problem)"
        warnings.warn(message, UserWarning, stacklevel=2)
    return tables


# Findings after which rows or columns of a file are missing from what load() returns.
_LEFT_OUT = {"file-missing", "file-unreadable", "encoding", "empty-file", "schema-missing", "schema-invalid",
             "row-cells", "line-break-in-cell", "blank-line", "column-missing", "column-duplicate", "delimiter",
             "descriptor"}


def _typed(text) -> pd.DataFrame:
    from .typed import typed_frame
    return typed_frame(text)  # cells the validator reported (text.bad) are missing


def _blanked(texts: dict, tables: dict, report) -> list[tuple]:
    """(file, line, column, value, rule) of every non-empty cell that is missing in the typed
    table; the rule is the validator's finding at that cell."""
    rules = {(f.file, f.line, f.column): f.rule for f in report.errors}
    out = []
    for name, text in texts.items():
        frame = tables[name]
        for column, raw in text.columns.items():
            lost = ~text.empty(column) & frame[column].isna().to_numpy(bool)
            for i in lost.nonzero()[0]:
                where = (text.resource.path, int(text.lines[i]), column)
                out.append((*where, raw[int(i)].as_py(), rules.get(where, "does not fit its field")))
    return out


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
