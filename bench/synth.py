"""Synthetic packages with the real schemas, for the benchmark: N outcome rows, valid or with
seeded errors at known lines. The rows are obviously fake (sources at example.org) and never
leave bench/out/."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

# Seeded errors that the Table Schema states, so both validators must find them:
# (outcome row index, column, bad value, what frictionless calls it, what we call it)
SEEDED = [
    (10, "responders", "twelve", "type-error", "type"),
    (20, "population", "everyone", "constraint-error", "enum"),
    (30, "arm_id", "Not/A-Slug", "constraint-error", "pattern"),
    (40, "analysed", "-5", "constraint-error", "minimum"),
    (50, "locator", "", "constraint-error", "required"),
    (60, "endpoint_id", "easi-76", "foreign-key", "foreign-key"),
]
DUPLICATE_AT = 70  # row 70 repeats row 69's outcome_id: primary-key error in both tools


def _copy_metadata(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "data").mkdir(parents=True)
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    for name in ("datapackage.json", "CITATION.cff"):
        shutil.copy2(ROOT / name, dest / name)
    for table in ("endpoints", "ae_terms", "indications"):
        shutil.copy2(ROOT / "data" / f"{table}.csv", dest / "data" / f"{table}.csv")
    drugs = pd.read_csv(ROOT / "data" / "drugs.csv", dtype=str, keep_default_na=False)
    drugs[["first_approval_year", "first_approval_source_id", "first_approval_locator"]] = ""
    drugs.to_csv(dest / "data" / "drugs.csv", index=False, lineterminator="\n")


def _header(table: str) -> list[str]:
    return [f["name"] for f in json.loads((ROOT / "schemas" / f"{table}.json").read_text())["fields"]]


def _write(dest: Path, table: str, frame: pd.DataFrame) -> None:
    frame = frame.reindex(columns=_header(table)).fillna("")
    frame.to_csv(dest / "data" / f"{table}.csv", index=False, lineterminator="\n")


def build(dest: Path, n_outcomes: int, errors: bool) -> Path:
    _copy_metadata(dest)
    per_arm = 250
    n_arms = max(1, n_outcomes // per_arm)
    n_trials = max(1, n_arms // 2)
    n_arms = n_trials * 2
    tids = np.array([f"trial-{i:07d}" for i in range(n_trials)])
    _write(dest, "sources", pd.DataFrame({"source_id": ["synthetic-2099"], "source_type": ["article"],
                                          "citation": ["Synthetic. Benchmark rows. 2099."],
                                          "url": ["https://example.org/bench"]}))
    _write(dest, "trials", pd.DataFrame({"trial_id": tids, "design": "randomized", "phase": "3",
                                         "indication_id": "atopic-dermatitis", "n_randomized": "400",
                                         "randomized_period_weeks": "52", "primary_timepoint_weeks": "16",
                                         "source_id": "synthetic-2099", "locator": "Abstract"}))
    _write(dest, "trial_sources", pd.DataFrame({"trial_id": tids, "source_id": "synthetic-2099", "role": "primary"}))
    arm_ids = np.concatenate([[f"{t}/abrocitinib-100mg", f"{t}/placebo"] for t in tids])
    arms = pd.DataFrame({"arm_id": arm_ids, "trial_id": np.repeat(tids, 2),
                         "role": np.tile(["experimental", "placebo"], n_trials),
                         "drug_id": np.tile(["abrocitinib", ""], n_trials), "dose": np.tile(["100", ""], n_trials),
                         "dose_unit": np.tile(["mg", ""], n_trials), "route": "oral", "n_randomized": "200",
                         "source_id": "synthetic-2099", "locator": "Table 1"})
    _write(dest, "arms", arms)
    endpoints = np.array(["easi-50", "easi-75", "easi-90", "iga-0-1", "pp-nrs-4"])
    k = np.arange(per_arm)
    arm_idx = np.repeat(np.arange(n_arms), per_arm)[:n_outcomes]
    kk = np.tile(k, n_arms)[:n_outcomes]
    ep = endpoints[kk % 5]
    week = (kk // 5) + 1  # 1..50
    responders = (kk * 7) % 150
    analysed = np.full(len(kk), 200)
    percent = np.round(100 * responders / analysed, 1)
    wk = np.char.zfill(week.astype(str), 2)
    ids = np.char.add(np.char.add(np.char.add(np.char.add(arm_ids[arm_idx], "/"), ep), "/w"), wk)
    out = pd.DataFrame({"outcome_id": ids, "arm_id": arm_ids[arm_idx], "endpoint_id": ep, "timepoint_weeks": week,
                        "responders": responders, "analysed": analysed, "percent": percent, "population": "FAS",
                        "imputation": "NRI", "source_id": "synthetic-2099", "locator": "Table 2"})
    out = out.sort_values("outcome_id", kind="stable").reset_index(drop=True).astype(str)
    out["percent"] = [f"{float(p):.1f}" for p in out["percent"]] if len(out) < 50_000 else \
        pd.Series(np.char.mod("%.1f", out["percent"].astype(float).to_numpy()))
    if errors:
        for row, column, value, _, _ in SEEDED:
            out.loc[row, column] = value
        out.loc[DUPLICATE_AT, "outcome_id"] = out.loc[DUPLICATE_AT - 1, "outcome_id"]
    _write(dest, "outcomes", out)
    n_ae = min(n_arms, 1000)
    _write(dest, "adverse_events", pd.DataFrame({
        "adverse_event_id": [f"{a}/any-ae/w16" for a in arm_ids[:n_ae]], "arm_id": arm_ids[:n_ae],
        "ae_term_id": "any-ae", "period_weeks": "16", "participants_with_event": "100",
        "participants_at_risk": "200", "percent": "50.0", "source_id": "synthetic-2099", "locator": "Table 3"}))
    _write(dest, "approvals", pd.DataFrame({
        "approval_id": ["fda-abrocitinib-atopic-dermatitis-2099"], "drug_id": "abrocitinib",
        "indication_id": "atopic-dermatitis", "agency": "fda", "decision": "approval", "date": "2099-01-14",
        "source_id": "synthetic-2099", "locator": "Letter"}))
    _write(dest, "drug_targets", pd.DataFrame({"drug_id": ["abrocitinib"], "target": "JAK1",
                                               "source_id": "synthetic-2099", "locator": "Text"}))
    return dest


def expected_errors() -> set[tuple[int, str, str]]:
    """(file line, column, our rule) of every seeded schema-level error."""
    found = {(row + 2, column, ours) for row, column, _, _, ours in SEEDED}
    found.add((DUPLICATE_AT + 2, "outcome_id", "primary-key"))
    return found
