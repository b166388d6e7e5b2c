"""Synthetic trials for the effect-size tests: every case the comparison logic must get right,
in a package that validates, whatever the curated data hold.

All ids start with `synthetic-`, so tests select their own rows from a copy that also holds the
curated data. `python tests/effects_fixture.py OUT` writes such a package to OUT (for trying the
forest command by hand).
"""
from __future__ import annotations

import sys
from pathlib import Path

from pkgtools import Pkg

SOURCE = "synthetic-2099-effects"


def trial(trial_id: str, arms: list[dict], outcomes: list[tuple], design: str = "randomized",
          indication: str = "atopic-dermatitis") -> dict[str, list[dict]]:
    """Rows of one trial. `arms`: dicts with `name`, `role` and, for a drug arm, `drug`, `dose`,
    `unit`, `route`; `n` its size. `outcomes`: (arm name, endpoint, weeks, responders, analysed,
    percent, population, imputation), "" for an empty cell."""
    randomized = design == "randomized"
    n_total = sum(a["n"] for a in arms)
    rows: dict[str, list[dict]] = {
        "trials": [{"trial_id": trial_id, "acronym": trial_id.upper(), "design": design,
                    "phase": "3" if randomized else "", "indication_id": indication,
                    "n_randomized": str(n_total) if randomized else "", "n_enrolled": "" if randomized else str(n_total),
                    "randomized_period_weeks": "16" if randomized else "", "primary_timepoint_weeks": "16",
                    "source_id": SOURCE, "locator": "Abstract"}],
        "trial_sources": [{"trial_id": trial_id, "source_id": SOURCE, "role": "primary"}],
        "arms": [], "outcomes": []}
    for a in arms:
        drug = a["role"] not in ("placebo", "vehicle")
        rows["arms"].append({
            "arm_id": f"{trial_id}/{a['name']}", "trial_id": trial_id, "label": a["name"], "role": a["role"],
            "drug_id": a.get("drug", "") if drug else "", "dose": a.get("dose", "") if drug else "",
            "dose_unit": a.get("unit", "mg") if drug else "", "frequency": "QD" if drug else "",
            "route": a.get("route", "oral"), "background_therapy": "none",
            "n_randomized": str(a["n"]) if randomized else "", "n_enrolled": "" if randomized else str(a["n"]),
            "source_id": SOURCE, "locator": "Table 1"})
    for arm, endpoint, weeks, responders, analysed, percent, population, imputation in outcomes:
        rows["outcomes"].append({
            "outcome_id": f"{trial_id}/{arm}/{endpoint}/w{weeks}{'-' + population.lower() if population not in ('FAS', '') else ''}",
            "arm_id": f"{trial_id}/{arm}", "endpoint_id": endpoint, "timepoint_weeks": str(weeks),
            "responders": str(responders), "analysed": str(analysed), "percent": str(percent),
            "population": population, "imputation": imputation, "source_id": SOURCE, "locator": "Table 2"})
    return rows


ABRO = {"drug": "abrocitinib", "role": "experimental"}
TRIALS = [
    # Two doses against one placebo; IGA 0/1 of the 100 mg arm printed as a percent only
    # (30.0% of 98: 29.4, so 29 responders, derived).
    trial("synthetic-a", [dict(ABRO, name="abrocitinib-100mg", dose="100", n=100),
                          dict(ABRO, name="abrocitinib-200mg", dose="200", n=100),
                          {"name": "placebo", "role": "placebo", "n": 100}],
          [("abrocitinib-100mg", "easi-75", 16, 40, 100, "40.0", "FAS", "NRI"),
           ("abrocitinib-200mg", "easi-75", 16, 60, 100, "60.0", "FAS", "NRI"),
           ("placebo", "easi-75", 16, 10, 100, "10.0", "FAS", "NRI"),
           ("abrocitinib-100mg", "iga-0-1", 16, "", 98, "30.0", "FAS", "NRI"),
           ("placebo", "iga-0-1", 16, 8, 99, "8.1", "FAS", "NRI"),
           # A different population on one side only: not comparable.
           ("abrocitinib-200mg", "iga-0-1", 16, 50, 100, "50.0", "ITT", "NRI")]),
    # A zero cell: no placebo responder.
    trial("synthetic-b", [dict(ABRO, name="abrocitinib-100mg", dose="100", n=50),
                          {"name": "placebo", "role": "placebo", "n": 50}],
          [("abrocitinib-100mg", "easi-75", 16, 12, 50, "24.0", "FAS", "NRI"),
           ("placebo", "easi-75", 16, 0, 50, "0.0", "FAS", "NRI"),
           ("abrocitinib-100mg", "iga-0-1", 16, 9, 50, "18.0", "FAS", "NRI"),
           ("placebo", "iga-0-1", 16, 3, 50, "6.0", "FAS", "NRI")]),
    # A third 100 mg trial, so that REML has heterogeneity to estimate.
    trial("synthetic-c", [dict(ABRO, name="abrocitinib-100mg", dose="100", n=80),
                          {"name": "placebo", "role": "placebo", "n": 40}],
          [("abrocitinib-100mg", "easi-75", 16, 30, 80, "37.5", "FAS", "NRI"),
           ("placebo", "easi-75", 16, 9, 40, "22.5", "FAS", "NRI")]),
    # A vehicle-controlled topical trial: a group of one trial.
    trial("synthetic-d", [{"name": "ruxolitinib-1-5pct", "role": "experimental", "drug": "ruxolitinib", "dose": "1.5",
                           "unit": "%", "route": "topical", "n": 60},
                          {"name": "vehicle", "role": "vehicle", "route": "topical", "n": 30}],
          [("ruxolitinib-1-5pct", "easi-75", 16, 31, 60, "51.7", "FAS", "NRI"),
           ("vehicle", "easi-75", 16, 5, 30, "16.7", "FAS", "NRI")]),
    # No placebo or vehicle arm: no rows.
    trial("synthetic-e", [dict(ABRO, name="abrocitinib-200mg", dose="200", n=40),
                          {"name": "dupilumab-300mg", "role": "active-comparator", "drug": "dupilumab", "dose": "300",
                           "route": "subcutaneous", "n": 40}],
          [("abrocitinib-200mg", "easi-75", 16, 25, 40, "62.5", "FAS", "NRI"),
           ("dupilumab-300mg", "easi-75", 16, 20, 40, "50.0", "FAS", "NRI")]),
    # The drug arm's analysed count is not printed: no row (the percent alone is not a count).
    trial("synthetic-f", [dict(ABRO, name="abrocitinib-200mg", dose="200", n=40),
                          {"name": "placebo", "role": "placebo", "n": 40}],
          [("abrocitinib-200mg", "easi-75", 16, "", "", "55.0", "FAS", "NRI"),
           ("placebo", "easi-75", 16, 4, 40, "10.0", "FAS", "NRI")]),
    # Population and imputation not stated: an empty cell matches only an empty cell.
    trial("synthetic-i", [{"name": "baricitinib-4mg", "role": "experimental", "drug": "baricitinib", "dose": "4",
                           "n": 100}, {"name": "placebo", "role": "placebo", "n": 100}],
          [("baricitinib-4mg", "iga-0-1", 16, 17, 100, "17.0", "", ""),
           ("placebo", "iga-0-1", 16, 5, 100, "5.0", "", ""),
           ("baricitinib-4mg", "easi-75", 16, 25, 100, "25.0", "", ""),
           ("placebo", "easi-75", 16, 9, 100, "9.0", "ITT", "")]),
]
# The comparisons the trials above give, and no other.
EXPECTED_ROWS = {  # (trial, arm, endpoint): (ai, n1i, ci, n2i, counts_derived)
    ("synthetic-a", "abrocitinib-100mg", "easi-75"): (40, 100, 10, 100, False),
    ("synthetic-a", "abrocitinib-200mg", "easi-75"): (60, 100, 10, 100, False),
    ("synthetic-a", "abrocitinib-100mg", "iga-0-1"): (29, 98, 8, 99, True),
    ("synthetic-b", "abrocitinib-100mg", "easi-75"): (12, 50, 0, 50, False),
    ("synthetic-b", "abrocitinib-100mg", "iga-0-1"): (9, 50, 3, 50, False),
    ("synthetic-c", "abrocitinib-100mg", "easi-75"): (30, 80, 9, 40, False),
    ("synthetic-d", "ruxolitinib-1-5pct", "easi-75"): (31, 60, 5, 30, False),
    ("synthetic-i", "baricitinib-4mg", "iga-0-1"): (17, 100, 5, 100, False),
}


def add_synthetic_trials(pkg: Pkg, trials=TRIALS) -> Pkg:
    pkg.add_rows("sources", [{"source_id": SOURCE, "source_type": "article", "year": "2099",
                              "citation": "Synthetic A. Trials for the effect-size tests. Test J. 2099;1:1-9.",
                              "url": "https://example.org/effects"}])
    for table in ("trials", "trial_sources", "arms", "outcomes"):
        pkg.add_rows(table, [row for t in trials for row in t[table]])
    # A loader may refuse a package that does not validate: the fixtures must be valid data.
    report = pkg.validate()
    assert report.valid, [f"{f.file}:{f.line} {f.column} {f.rule}: {f.message}" for f in report.errors][:5]
    return pkg


def without_curated_outcomes(pkg: Pkg) -> Pkg:
    """The package with no curated outcome rows: for commands that read every comparison of a
    package (the forest plot), so that what they draw is the synthetic trials' alone."""
    header, _ = pkg.read("outcomes")
    pkg.write("outcomes", header, [])
    return pkg


def synthetic_ids(frame, column: str = "trial_id"):
    return frame[frame[column].astype(str).str.startswith("synthetic-")].reset_index(drop=True)


if __name__ == "__main__":
    import shutil
    import tempfile
    out = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        pkg = add_synthetic_trials(Pkg(Path(tmp), with_example=False))
        shutil.copytree(pkg.root, out)
    print(f"package with synthetic trials written to {out}")
