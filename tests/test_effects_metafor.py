"""jakderm.effects() and jakderm.pool() against R's metafor (escalc, rma) on the same rows, and
R's jakderm_effects() (R/R/effects.R) against jakderm.effects(): yi and vi to 1e-9, pooled
estimate, se and tau2 to 1e-6, for RR, OR and RD, with REML and DL.

The rows: the comparisons of the curated package (whatever it holds today), of the synthetic
trials of tests/effects_fixture.py, and hand-built groups from a seeded generator with zero cells
(none, all, or both arms without events), groups of one trial, homogeneous groups (tau2 = 0) and
heterogeneous ones. Needs `Rscript` with metafor (Debian: r-cran-metafor); without it the tests
are skipped, unless JAKDERM_REQUIRE_R=1 (as in CI), when they fail.
"""
import json
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest
from effects_fixture import add_synthetic_trials

import jakderm
from jakderm.meta_analysis import escalc
from pkgtools import ROOT, Pkg, require_r

MEASURES = ("RR", "OR", "RD")
METHODS = ("REML", "DL")
BY = ["drug_id", "dose", "endpoint_id", "timepoint_weeks"]


def hand_built_groups() -> pd.DataFrame:
    """Groups of 2x2 tables, seeded: the same on every run."""
    rng = np.random.default_rng(19)
    rows = []
    for g in range(45):
        k = 1 + g % 7
        base = rng.uniform(0.02, 0.6)
        effect = rng.uniform(0.8, 4)
        spread = [0.0, 0.3, 1.0][g % 3]  # homogeneous, moderate and wide between-trial variation
        for i in range(k):
            n1, n2 = int(rng.integers(5, 400)), int(rng.integers(5, 400))
            p2 = base
            p1 = min(0.97, base * effect * float(np.exp(rng.normal(0, spread))))
            a, c = int(rng.binomial(n1, p1)), int(rng.binomial(n2, p2))
            if g % 5 == 0 and i == 0:
                c = 0  # no event in the control arm
            if g % 11 == 0 and i == k - 1:
                a, c = 0, 0  # no event in either arm (escalc keeps it: drop00 = FALSE)
            if g % 13 == 0 and i == 0:
                a = n1  # every participant an event
            rows.append({"group": f"hand-{g:02d}", "ai": a, "n1i": n1, "ci": c, "n2i": n2})
    # Identical trials: REML's start is below zero and tau2 must stay 0.
    rows += [{"group": "hand-identical", "ai": 30, "n1i": 100, "ci": 10, "n2i": 100} for _ in range(4)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """(python, r): the effects and fits of both sides, computed on the same rows."""
    rscript = require_r("compare the effect sizes with metafor (r-cran-metafor)")
    tmp = tmp_path_factory.mktemp("metafor")
    synthetic = add_synthetic_trials(Pkg(tmp_path_factory.mktemp("synthetic"), with_example=False))
    packages = {"curated": ROOT, "synthetic": synthetic.root}
    python = {"effects": {}, "pool": {}}
    groups = []
    for name, root in packages.items():
        tables = jakderm.load(root)
        for measure in MEASURES:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # trials with two placebo arms, if the data have one
                e = jakderm.effects(measure=measure, tables=tables)
            python["effects"][(str(root), measure)] = e
            key = e[BY].astype("string").fillna("NA").agg("|".join, axis=1) if len(e) else pd.Series([], dtype=str)
            e = e.assign(group=f"{name}|" + key)
            groups.append(e[["group", "measure", "ai", "n1i", "ci", "n2i", "yi", "vi", "counts_derived"]])
    hand = hand_built_groups()
    for measure in MEASURES:
        yi, vi = escalc(measure, hand.ai, hand.n1i, hand.ci, hand.n2i)
        groups.append(hand.assign(measure=measure, yi=yi, vi=vi, counts_derived=False))
    groups = pd.concat(groups, ignore_index=True)
    for method in METHODS:
        python["pool"][method] = jakderm.pool(groups, by=["group", "measure"], method=method)
    python["groups"] = groups

    groups_csv, packages_txt, out = tmp / "groups.csv", tmp / "packages.txt", tmp / "r.json"
    groups[["group", "measure", "ai", "n1i", "ci", "n2i"]].to_csv(groups_csv, index=False)
    packages_txt.write_text("\n".join(str(p) for p in packages.values()) + "\n", encoding="utf-8")
    run = subprocess.run([rscript, str(ROOT / "tests" / "R" / "metafor_agreement.R"), str(ROOT), str(groups_csv),
                          str(packages_txt), str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"Rscript tests/R/metafor_agreement.R failed:\n{run.stdout}\n{run.stderr[-3000:]}"
    return python, json.loads(out.read_text(encoding="utf-8"))


def test_the_rows_cover_zero_cells_single_trials_and_every_measure(sides):
    python, _ = sides
    g = python["groups"]
    zero = (g.ai == 0) | (g.ci == 0) | (g.ai == g.n1i) | (g.ci == g.n2i)
    assert zero.sum() >= 10 and ((g.ai == 0) & (g.ci == 0)).any()
    sizes = g.groupby(["group", "measure"]).size()
    assert (sizes == 1).sum() >= 9 and sizes.max() >= 7
    assert set(g.measure) == set(MEASURES)
    assert (python["pool"]["REML"].tau2 == 0).any() and (python["pool"]["REML"].tau2 > 0.05).any()


def test_yi_and_vi_equal_escalc(sides):
    python, r = sides
    g = python["groups"]
    checked = 0
    for item in r["escalc"]:
        ours = g[(g.group == item["group"]) & (g.measure == item["measure"])]
        assert len(ours) == len(item["yi"]), item["group"]
        np.testing.assert_allclose(ours.yi, item["yi"], rtol=0, atol=1e-9, err_msg=f"yi {item['group']}")
        np.testing.assert_allclose(ours.vi, item["vi"], rtol=0, atol=1e-9, err_msg=f"vi {item['group']}")
        checked += len(ours)
    assert checked == len(g)


@pytest.mark.parametrize("method", METHODS)
def test_pooled_estimates_equal_rma(sides, method):
    python, r = sides
    ours = python["pool"][method].set_index(["group", "measure"])
    fits = [f for f in r["rma"] if f["method"] == method]
    assert len(fits) == len(ours)
    for fit in fits:
        row = ours.loc[(fit["group"], fit["measure"])]
        where = f"{fit['group']} {fit['measure']} {method}"
        assert row.k == fit["k"], where
        for ours_col, theirs, tol in (("b", "b", 1e-6), ("se", "se", 1e-6), ("tau2", "tau2", 1e-6),
                                      ("i2", "i2", 1e-4), ("q", "q", 1e-6), ("q_pval", "q_pval", 1e-9)):
            assert abs(row[ours_col] - fit[theirs]) <= tol, (where, ours_col, row[ours_col], fit[theirs])
        back = np.exp if fit["measure"] != "RD" else (lambda x: x)
        assert abs(row.estimate - back(fit["b"])) <= 1e-6 * max(1, abs(row.estimate)), where
        assert abs(row.ci_lower - back(fit["ci_lb"])) <= 1e-6 * max(1, abs(row.ci_lower)), where
        assert abs(row.ci_upper - back(fit["ci_ub"])) <= 1e-6 * max(1, abs(row.ci_upper)), where


def test_r_jakderm_effects_gives_the_same_rows(sides):
    python, r = sides
    assert len(r["effects"]) == 2 * len(MEASURES)
    for item in r["effects"]:
        ours = python["effects"][(item["package"], item["measure"])]
        theirs = pd.DataFrame(item["rows"]) if item["rows"] else pd.DataFrame(columns=ours.columns)
        where = f"{item['package']} {item['measure']}"
        assert list(theirs.columns) == list(ours.columns), where
        assert len(theirs) == len(ours), where
        for col in ("trial_id", "endpoint_id", "arm_id", "control_arm_id", "drug_id", "population", "imputation",
                    "subgroup", "outcome_id", "control_outcome_id", "measure", "dose_unit"):
            left = [None if pd.isna(v) else str(v) for v in ours[col]]
            right = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in theirs[col]]
            assert left == right, (where, col)
        for col in ("timepoint_weeks", "dose", "ai", "n1i", "ci", "n2i"):
            left = [None if pd.isna(v) else float(v) for v in ours[col]]
            right = [None if pd.isna(v) else float(v) for v in theirs[col]]  # pandas reads R's null as NaN
            assert left == right, (where, col)
        for col in ("counts_derived", "primary_timepoint"):
            assert list(ours[col]) == [bool(v) for v in theirs[col]], (where, col)
        for col in ("yi", "vi", "estimate", "ci_lower", "ci_upper"):
            np.testing.assert_allclose(ours[col].astype(float), theirs[col].astype(float), rtol=1e-9, atol=1e-9,
                                       err_msg=f"{where} {col}")
