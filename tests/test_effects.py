"""jakderm.effects() and jakderm.pool() on synthetic trials with known answers (tests/effects_fixture.py),
and on whatever the curated data hold. The agreement with R's metafor itself is
tests/test_effects_metafor.py; the reference values quoted here were printed by metafor 3.8-1."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from effects_fixture import EXPECTED_ROWS, TRIALS, add_synthetic_trials, synthetic_ids, trial

import jakderm
from jakderm.meta_analysis import COLUMNS, POOL_COLUMNS, chi2_sf, escalc, rma
from pkgtools import ROOT, Pkg

Z = 1.959963984540054  # qnorm(0.975)
CONTRACT = ["trial_id", "endpoint_id", "timepoint_weeks", "population", "imputation", "subgroup", "arm_id",
            "control_arm_id", "drug_id", "dose", "dose_unit", "ai", "n1i", "ci", "n2i", "counts_derived", "measure",
            "yi", "vi", "estimate", "ci_lower", "ci_upper"]


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return add_synthetic_trials(Pkg(tmp_path_factory.mktemp("effects"), with_example=False))


@pytest.fixture(scope="module")
def tables(synthetic):
    return jakderm.load(synthetic.root)


def ours(tables, measure="RR"):
    return synthetic_ids(jakderm.effects(measure=measure, tables=tables))


def test_columns_are_the_contract_in_order(tables):
    e = ours(tables)
    assert list(e.columns[:len(CONTRACT)]) == CONTRACT
    assert list(e.columns) == COLUMNS


def test_one_row_per_comparison_with_counts_as_printed_or_derived(tables):
    e = ours(tables)
    got = {(r.trial_id, r.arm_id.split("/")[1], r.endpoint_id): (r.ai, r.n1i, r.ci, r.n2i, r.counts_derived)
           for r in e.itertuples()}
    assert got == EXPECTED_ROWS
    assert len(e) == len(EXPECTED_ROWS)


def test_the_control_is_the_trials_placebo_or_vehicle_arm(tables):
    e = ours(tables)
    assert set(e.control_arm_id) == {"synthetic-a/placebo", "synthetic-b/placebo", "synthetic-c/placebo",
                                     "synthetic-d/vehicle", "synthetic-i/placebo"}
    assert (e.control_arm_id.str.split("/").str[0] == e.trial_id).all()
    row = e[e.arm_id == "synthetic-d/ruxolitinib-1-5pct"].iloc[0]
    assert (row.drug_id, row.dose, row.dose_unit) == ("ruxolitinib", 1.5, "%")
    assert row.outcome_id == "synthetic-d/ruxolitinib-1-5pct/easi-75/w16"
    assert row.control_outcome_id == "synthetic-d/vehicle/easi-75/w16"
    assert e.primary_timepoint.all()  # every synthetic trial's primary timepoint is week 16


def test_no_row_without_a_control_without_figures_or_across_populations(tables):
    e = ours(tables)
    assert not set(e.trial_id) & {"synthetic-e", "synthetic-f"}  # active comparator only; analysed missing
    assert e[(e.arm_id == "synthetic-a/abrocitinib-200mg") & (e.endpoint_id == "iga-0-1")].empty  # ITT vs FAS
    assert set(e.population.dropna().astype(str)) == {"FAS"}
    assert e.subgroup.isna().all()  # empty in every synthetic row, and empty it stays


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_yi_vi_and_interval_by_hand(tables, measure):
    e = ours(tables, measure).set_index(["arm_id", "endpoint_id"])
    a, n1, c, n2 = 40, 100, 10, 100  # synthetic-a, 100 mg, EASI-75: no zero cell
    b, d = n1 - a, n2 - c
    yi, vi = {"RR": (math.log((a / n1) / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2),
              "OR": (math.log((a * d) / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d),
              "RD": (a / n1 - c / n2, (a / n1) * (b / n1) / n1 + (c / n2) * (d / n2) / n2)}[measure]
    row = e.loc[("synthetic-a/abrocitinib-100mg", "easi-75")]
    assert row.yi == pytest.approx(yi, abs=1e-12) and row.vi == pytest.approx(vi, abs=1e-12)
    back = math.exp if measure != "RD" else (lambda x: x)
    assert row.estimate == pytest.approx(back(yi), rel=1e-12)
    assert row.ci_lower == pytest.approx(back(yi - Z * math.sqrt(vi)), rel=1e-12)
    assert row.ci_upper == pytest.approx(back(yi + Z * math.sqrt(vi)), rel=1e-12)
    assert row.measure == measure


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_a_zero_cell_adds_one_half_to_every_cell_as_escalc_does(tables, measure):
    # synthetic-b EASI-75: 12/50 against 0/50 becomes 12.5/51 against 0.5/51, whatever the measure
    # (metafor 3.8 corrects RD too: escalc("RD", ai=12, n1i=50, ci=0, n2i=50) gives 0.2353, not 0.24).
    row = ours(tables, measure).set_index(["arm_id", "endpoint_id"]).loc[("synthetic-b/abrocitinib-100mg", "easi-75")]
    assert (row.ai, row.ci) == (12, 0)  # the counts stay as printed
    a, b, c, d = 12.5, 38.5, 0.5, 50.5
    yi, vi = {"RR": (math.log((a / 51) / (c / 51)), 1 / a - 1 / 51 + 1 / c - 1 / 51),
              "OR": (math.log((a * d) / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d),
              "RD": (a / 51 - c / 51, (a / 51) * (b / 51) / 51 + (c / 51) * (d / 51) / 51)}[measure]
    assert row.yi == pytest.approx(yi, abs=1e-12) and row.vi == pytest.approx(vi, abs=1e-12)


def test_all_events_is_a_zero_cell_too():
    yi, vi = escalc("RR", [20], [20], [5], [20])  # bi = 0
    assert yi[0] == pytest.approx(math.log((20.5 / 21) / (5.5 / 21)), abs=1e-12)
    assert vi[0] == pytest.approx(1 / 20.5 - 1 / 21 + 1 / 5.5 - 1 / 21, abs=1e-12)


def test_pool_equals_metafor_reference_values(tables):
    e = ours(tables)
    reml = jakderm.pool(e).set_index(["drug_id", "dose", "endpoint_id"])
    dl = jakderm.pool(e, method="DL").set_index(["drug_id", "dose", "endpoint_id"])
    # rma(yi, vi, data = escalc("RR", ai=c(40,12,30), n1i=c(100,50,80), ci=c(10,0,9), n2i=c(100,50,40)))
    three = reml.loc[("abrocitinib", 100.0, "easi-75")]
    assert three.k == 3
    assert three.b == pytest.approx(1.165297543443253, abs=1e-9)
    assert three.se == pytest.approx(0.482787843749201, abs=1e-9)
    assert three.tau2 == pytest.approx(0.409210347538938, abs=1e-9)
    assert three.i2 == pytest.approx(67.50428968190964, abs=1e-7)
    assert three.q == pytest.approx(6.069307970185259, abs=1e-9)
    assert three.q_pval == pytest.approx(0.04809130030385, abs=1e-9)
    assert three.estimate == pytest.approx(math.exp(three.b), rel=1e-12)
    assert three.ci_lower == pytest.approx(math.exp(three.b - Z * three.se), rel=1e-12)
    # ... with method = "DL"
    three = dl.loc[("abrocitinib", 100.0, "easi-75")]
    assert three.b == pytest.approx(1.16278054307534, abs=1e-9)
    assert three.se == pytest.approx(0.479127444786995, abs=1e-9)
    assert three.tau2 == pytest.approx(0.400803802599695, abs=1e-9)
    assert three.i2 == pytest.approx(67.04731396355633, abs=1e-7)


def test_a_group_of_one_trial_is_that_trial_as_metafor_gives_it(tables):
    e = ours(tables)
    one = jakderm.pool(e).set_index(["drug_id", "dose", "endpoint_id"]).loc[("ruxolitinib", 1.5, "easi-75")]
    row = e[e.drug_id == "ruxolitinib"].iloc[0]
    assert (one.k, one.tau2, one.i2, one.q, one.q_pval) == (1, 0.0, 0.0, 0.0, 1.0)
    assert one.b == row.yi and one.se == pytest.approx(math.sqrt(row.vi), rel=1e-15)
    assert (one.estimate, one.ci_lower, one.ci_upper) == pytest.approx((row.estimate, row.ci_lower, row.ci_upper),
                                                                       rel=1e-12)


def test_pool_columns_groups_and_derived_flag(tables):
    e = ours(tables)
    p = jakderm.pool(e)
    assert list(p.columns) == ["drug_id", "dose", "endpoint_id", "timepoint_weeks", *POOL_COLUMNS]
    assert len(p) == 5 and p.k.sum() == len(e)
    assert p.set_index(["drug_id", "dose", "endpoint_id"]).loc[("abrocitinib", 100.0, "iga-0-1"), "counts_derived"]
    by_drug = jakderm.pool(e, by="drug_id")
    assert dict(zip(by_drug.drug_id, by_drug.k, strict=True)) == {"abrocitinib": 6, "baricitinib": 1, "ruxolitinib": 1}
    # Rows of two measures are never pooled together.
    both = jakderm.pool(pd.concat([e, ours(tables, "OR")]), by=["drug_id"])
    assert sorted(zip(both.drug_id, both.measure, both.k, strict=True)) == [("abrocitinib", "OR", 6), ("abrocitinib", "RR", 6),
                                                               ("baricitinib", "OR", 1), ("baricitinib", "RR", 1),
                                                               ("ruxolitinib", "OR", 1), ("ruxolitinib", "RR", 1)]


def test_reml_stays_at_zero_for_homogeneous_trials():
    yi, vi = escalc("OR", [30, 31, 29, 30], [100] * 4, [10, 10, 11, 10], [100] * 4)
    fit = rma(yi, vi, "REML")
    assert fit["tau2"] == 0.0 and fit["i2"] == 0.0
    w = 1 / vi
    assert fit["b"] == pytest.approx((w * yi).sum() / w.sum(), abs=1e-14)
    assert fit["se"] == pytest.approx(math.sqrt(1 / w.sum()), abs=1e-14)


def test_chi_squared_tail():
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, abs=1e-12)
    assert chi2_sf(5.991464547107979, 2) == pytest.approx(0.05, abs=1e-12)
    assert chi2_sf(11.070497693516351, 5) == pytest.approx(0.05, abs=1e-12)
    assert chi2_sf(0.0, 3) == 1.0


def test_bad_requests_name_the_valid_choices(tables):
    with pytest.raises(ValueError, match="unknown measure 'HR': use one of RR, OR, RD"):
        jakderm.effects(measure="HR", tables=tables)
    e = ours(tables)
    with pytest.raises(ValueError, match="unknown method 'PM': use one of REML, DL"):
        jakderm.pool(e, method="PM")
    with pytest.raises(ValueError, match=r"column.s. drug not in the effects frame"):
        jakderm.pool(e, by=("drug", "dose"))


def test_two_control_arms_for_one_estimand_give_no_row_and_a_warning(tmp_path):
    extra = trial("synthetic-g", [{"name": "tofacitinib-5mg", "role": "experimental", "drug": "tofacitinib",
                                   "dose": "5", "n": 60},
                                  {"name": "placebo-a", "role": "placebo", "n": 30},
                                  {"name": "placebo-b", "role": "placebo", "n": 30}],
                  [("tofacitinib-5mg", "easi-75", 16, 20, 60, "33.3", "FAS", "NRI"),
                   ("placebo-a", "easi-75", 16, 3, 30, "10.0", "FAS", "NRI"),
                   ("placebo-b", "easi-75", 16, 4, 30, "13.3", "FAS", "NRI")])
    pkg = add_synthetic_trials(Pkg(tmp_path, with_example=False), [*TRIALS, extra])
    with pytest.warns(UserWarning, match="synthetic-g/tofacitinib-5mg/easi-75/w16"):
        e = synthetic_ids(jakderm.effects(pkg.root))
    assert "synthetic-g" not in set(e.trial_id)
    assert len(e) == len(EXPECTED_ROWS)


def test_no_comparison_gives_empty_frames_with_the_columns(tables):
    e = ours(tables).iloc[0:0]
    p = jakderm.pool(e)
    assert p.empty and list(p.columns) == ["drug_id", "dose", "endpoint_id", "timepoint_weeks", *POOL_COLUMNS]


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_on_the_curated_data_every_row_traces_to_its_outcome_rows(measure):
    t = jakderm.load(ROOT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = jakderm.effects(measure=measure, tables=t)
    outcomes = t["outcomes"].set_index("outcome_id")
    arms = t["arms"].set_index("arm_id")
    for r in e.itertuples():
        arm, control = outcomes.loc[r.outcome_id], outcomes.loc[r.control_outcome_id]
        assert arms.loc[r.control_arm_id, "role"] in ("placebo", "vehicle")
        assert arms.loc[r.arm_id, "trial_id"] == arms.loc[r.control_arm_id, "trial_id"] == r.trial_id
        assert (r.n1i, r.n2i) == (arm.analysed, control.analysed)
        for events, row in ((r.ai, arm), (r.ci, control)):
            expected = row.responders if not pd.isna(row.responders) else round(row.percent * row.analysed / 100)
            assert events == expected
        assert r.counts_derived == (pd.isna(arm.responders) or pd.isna(control.responders))
    assert np.isfinite(e.yi).all() and (e.vi > 0).all()
    p = jakderm.pool(e)
    assert p.k.sum() == len(e)



def test_an_empty_population_matches_only_an_empty_population(tables):
    e = ours(tables)
    mine = e[e.trial_id == "synthetic-i"]
    assert list(mine.endpoint_id) == ["iga-0-1"]  # EASI-75: empty against ITT, not comparable
    row = mine.iloc[0]
    assert pd.isna(row.population) and pd.isna(row.imputation) and pd.isna(row.subgroup)
