"""Effect sizes and random-effects pooling, computed as R's metafor computes them.

`effects()` pairs every non-control arm with its trial's placebo or vehicle arm and gives the
measure (`yi`) and its sampling variance (`vi`) exactly as `metafor::escalc()` does with its
defaults; `pool()` combines them per group exactly as `metafor::rma()` does. metafor is the
reference every meta-analyst checks against, so its algorithms are followed step for step
(including the stopping rule of its Fisher scoring), not merely its estimands: the iterate it
stops at is what a reviewer will compare with. tests/test_effects_metafor.py runs metafor on the
same rows in CI.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from .loader import load, package_root

MEASURES = ("RR", "OR", "RD")
METHODS = ("REML", "DL")
CONTROL_ROLES = ("placebo", "vehicle")
# What makes two outcome rows of one trial comparable: the same estimand but for the arm.
MATCH = ["trial_id", "endpoint_id", "timepoint_weeks", "timepoint_text", "population", "imputation", "subgroup"]
COLUMNS = ["trial_id", "endpoint_id", "timepoint_weeks", "population", "imputation", "subgroup", "arm_id",
           "control_arm_id", "drug_id", "dose", "dose_unit", "ai", "n1i", "ci", "n2i", "counts_derived", "measure",
           "yi", "vi", "estimate", "ci_lower", "ci_upper",
           # Beyond the contract: whether the timepoint is the trial's primary one, and the rows each
           # figure comes from, to cite and to check them.
           "primary_timepoint", "outcome_id", "control_outcome_id"]
POOL_BY = ("drug_id", "dose", "endpoint_id", "timepoint_weeks")
POOL_COLUMNS = ["measure", "method", "k", "estimate", "ci_lower", "ci_upper", "b", "se", "tau2", "i2", "q", "q_pval",
                "counts_derived"]
Z95 = NormalDist().inv_cdf(0.975)  # R's qnorm(0.975)
# metafor's rma.uni() control defaults (threshold, maxiter, tol for its ll0 check).
THRESHOLD = 1e-5
MAXITER = 100
LL0_TOL = np.finfo(float).eps ** 0.25


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}: use one of {', '.join(MEASURES)}")
    return measure


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    return method


# --- effect sizes -------------------------------------------------------------------------------

def escalc(measure: str, ai, n1i, ci, n2i) -> tuple[np.ndarray, np.ndarray]:
    """`yi`, `vi` as `metafor::escalc(measure, ai=, n1i=, ci=, n2i=)` with its defaults
    (`add = 1/2, to = "only0", drop00 = FALSE, vtype = "LS"`): a study with a zero cell (no
    events, or all events, in either arm) gets 1/2 added to each of its four cells, whatever the
    measure, RD included."""
    check_measure(measure)
    ai, n1i, ci, n2i = (np.asarray(x, dtype=float) for x in (ai, n1i, ci, n2i))
    bi, di = n1i - ai, n2i - ci
    zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    add = np.where(zero, 0.5, 0.0)
    ai, bi, ci, di = ai + add, bi + add, ci + add, di + add
    n1i, n2i = ai + bi, ci + di
    p1i, p2i = ai / n1i, ci / n2i
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1i) - np.log(p2i)
            vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
        elif measure == "OR":
            yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
            vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
        else:
            yi = p1i - p2i
            vi = p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i
    return yi, vi


def back_transform(measure: str, x):
    """From the scale of `yi` to the measure's: exp for the log ratios, identity for RD."""
    return np.exp(x) if measure in ("RR", "OR") else x


def arm_counts(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Outcome rows with their arm, and the events they count: `responders` as printed, or
    round(percent × analysed / 100) (`derived`) when the source printed a percent but no count.
    A row without `analysed`, or without both a count and a percent, counts nothing and is left
    out. Rounding is to the nearest integer, halves to even, as R's round() does."""
    arms = tables["arms"][["arm_id", "trial_id", "role", "drug_id", "dose", "dose_unit"]]
    o = tables["outcomes"].merge(arms, on="arm_id", how="inner", validate="many_to_one")
    responders = o["responders"].astype("Float64")
    analysed = o["analysed"].astype("Float64")
    derived = responders.isna() & o["percent"].notna() & analysed.notna()
    from_percent = (o["percent"].astype("Float64") * analysed / 100).round(0)
    o["events"] = responders.where(~derived, from_percent).astype("Int64")
    o["total"] = o["analysed"].astype("Int64")
    o["derived"] = derived.astype(bool)
    return o[o["events"].notna() & o["total"].notna()].reset_index(drop=True)


def comparisons(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each non-control arm's outcome row beside its trial's placebo or vehicle row on the same
    endpoint, timepoint, population, imputation and subgroup. Where a trial has more than one
    control arm with a figure for the estimand (a withdrawal trial's two placebo arms), which one
    is "the" control is a judgement the data cannot make: those comparisons are left out, with a
    warning naming them."""
    o = arm_counts(tables)
    # An empty key cell is a value here (both rows silent on the population), not a wildcard:
    # merge() pairs a missing key with a missing key, as its documentation states, in plain
    # object columns (text, with NaN for empty).
    for col in MATCH:
        if col == "timepoint_weeks":
            o[col] = o[col].astype("Float64").astype(float)
        else:
            o[col] = o[col].astype("string").astype(object).where(o[col].notna(), np.nan)
    control = o["role"].isin(CONTROL_ROLES)
    treated, ctrl = o[~control], o[control]
    pairs = treated.merge(ctrl[[*MATCH, "arm_id", "outcome_id", "events", "total", "derived"]], on=MATCH,
                          suffixes=("", "_control"))
    counts = pairs.groupby(["outcome_id"], sort=False)["arm_id_control"].transform("size")
    ambiguous = pairs[counts > 1]
    if len(ambiguous):
        names = sorted(set(ambiguous["outcome_id"]))
        warnings.warn(f"{len(names)} outcome row(s) left out: their trial has more than one placebo or vehicle arm "
                      f"with a figure for the same estimand ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})",
                      stacklevel=3)
    pairs = pairs[counts == 1]
    return pairs.reset_index(drop=True)


def effects(path: str | Path = ".", measure: str = "RR", tables: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per comparison of a non-control arm with its trial's placebo or vehicle arm.

    The arms are compared on the same endpoint, timepoint, population, imputation and subgroup
    (an empty cell matches only an empty cell). `measure` is "RR" (risk ratio), "OR" (odds ratio)
    or "RD" (risk difference).

    Columns: `trial_id`, `endpoint_id`, `timepoint_weeks`, `population`, `imputation`,
    `subgroup`, `arm_id`, `control_arm_id`, `drug_id`, `dose`, `dose_unit`; `ai`, `n1i` (events
    and total of the arm) and `ci`, `n2i` (of the control), named as metafor's escalc() names them;
    `counts_derived`, true where a count is round(percent × analysed / 100) because the source
    printed a percent and no count; `measure`; `yi`, `vi` exactly as
    `metafor::escalc(measure, ai=, n1i=, ci=, n2i=)` computes them with its default zero-cell
    handling (1/2 added to every cell of a comparison with a zero cell); `estimate`, `ci_lower`,
    `ci_upper`: the measure and its 95% Wald interval, back-transformed for RR and OR;
    `primary_timepoint`, true where the timepoint is the trial's primary one; and, to trace every
    figure, `outcome_id` and `control_outcome_id`.

    An arm reported under several populations or imputations (NRI and OC) has a row for each:
    choose one before pooling, or an arm counts twice.

    No row is guessed. Trials without a placebo or vehicle arm (single-arm studies, trials against
    an active comparator only) give no rows; an arm whose `analysed` is empty, or that has neither
    `responders` nor `percent`, gives no row; and a comparison whose trial has two control arms
    for the same estimand gives no row (with a warning). `tables` (a `jakderm.load()` result)
    saves reading the package again.
    """
    check_measure(measure)
    if tables is None:
        tables = load(package_root(path))
    p = comparisons(tables)
    out = pd.DataFrame({
        "trial_id": p["trial_id"], "endpoint_id": p["endpoint_id"],
        "timepoint_weeks": p["timepoint_weeks"].astype("Int64"),
        "population": p["population"], "imputation": p["imputation"], "subgroup": p["subgroup"],
        "arm_id": p["arm_id"], "control_arm_id": p["arm_id_control"], "drug_id": p["drug_id"], "dose": p["dose"],
        "dose_unit": p["dose_unit"], "ai": p["events"], "n1i": p["total"], "ci": p["events_control"],
        "n2i": p["total_control"], "counts_derived": (p["derived"] | p["derived_control"]).astype(bool),
        "measure": measure})
    yi, vi = escalc(measure, out["ai"].to_numpy(float), out["n1i"].to_numpy(float), out["ci"].to_numpy(float),
                    out["n2i"].to_numpy(float))
    half = Z95 * np.sqrt(vi)
    out["yi"], out["vi"] = yi, vi
    out["estimate"] = back_transform(measure, yi)
    out["ci_lower"], out["ci_upper"] = back_transform(measure, yi - half), back_transform(measure, yi + half)
    primary = tables["trials"].set_index("trial_id")["primary_timepoint_weeks"].astype("Int64")
    out["primary_timepoint"] = (out["timepoint_weeks"] == out["trial_id"].map(primary).astype("Int64")).fillna(False)
    out["primary_timepoint"] = out["primary_timepoint"].astype(bool)
    out["outcome_id"], out["control_outcome_id"] = p["outcome_id"], p["outcome_id_control"]
    # Types as the loader gives them, so that an empty result has them too.
    for col in ("trial_id", "endpoint_id", "subgroup", "arm_id", "control_arm_id", "drug_id", "measure",
                "outcome_id", "control_outcome_id"):
        out[col] = out[col].astype("string")
    for col in ("population", "imputation", "dose_unit"):
        out[col] = out[col].astype(tables["outcomes" if col != "dose_unit" else "arms"][col].dtype)
    out["dose"] = out["dose"].astype("Float64")
    for col in ("ai", "n1i", "ci", "n2i"):
        out[col] = out[col].astype("Int64")
    # Code-point order of the text (not a vocabulary's order), so that R's jakderm_effects() agrees.
    out = out[COLUMNS].sort_values(["trial_id", "endpoint_id", "timepoint_weeks", "population", "imputation",
                                    "subgroup", "arm_id"], kind="stable", na_position="first",
                                   key=lambda s: s.astype("string") if s.dtype == "category" else s)
    return out.reset_index(drop=True)


# --- pooling ------------------------------------------------------------------------------------

def rma(yi, vi, method: str = "REML") -> dict:
    """`metafor::rma(yi, vi, method=)` for an intercept-only random-effects model, as rma.uni()
    computes it: DerSimonian-Laird in closed form; REML by Fisher scoring from the Hedges
    estimate (truncated at 0), step-halving to keep tau² >= 0, stopping when tau² changes by
    less than 1e-5, then metafor's check that tau² = 0 is not the better likelihood. One study
    (k = 1): tau² = 0, I² = 0, Q = 0 with p = 1. I² as metafor's default: 100·tau²/(vt + tau²),
    vt the typical within-study variance (k - 1)/tr(P). Estimate, se and the 95% interval are on
    the scale of `yi`."""
    check_method(method)
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    k = len(y)
    if k == 0:
        raise ValueError("rma() needs at least one study")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise ValueError("rma() needs finite yi and positive finite vi")
    ymc = y - y.mean()

    def p_matrix(w):
        # P = W - W X (X'WX)^-1 X'W, for X a column of ones.
        return np.diag(w) - np.outer(w, w) / w.sum()

    if k == 1:
        tau2 = 0.0
    elif method == "DL":
        w = 1 / v
        P = p_matrix(w)
        tau2 = max(0.0, float((ymc @ P @ ymc - (k - 1)) / np.trace(P)))
    else:
        # Hedges (HE) start: (RSS - tr(PV)) / (k - 1), with P = I - J/k.
        tau2 = max(0.0, float((ymc @ ymc - v.sum() * (k - 1) / k) / (k - 1)))
        change, iteration = THRESHOLD + 1, 0
        while change > THRESHOLD:
            iteration += 1
            old = tau2
            P = p_matrix(1 / (v + tau2))
            PP = P @ P
            adj = float((ymc @ PP @ ymc - np.trace(P)) / np.trace(PP))
            if math.isnan(adj):
                adj = 0.0
            while tau2 + adj < 0:
                adj /= 2
            tau2 = tau2 + adj
            change = abs(old - tau2)
            if iteration > MAXITER:
                raise ArithmeticError("Fisher scoring did not converge (as metafor's rma() would say)")
        if tau2 > THRESHOLD and reml_loglik(y, v, 0.0) - reml_loglik(y, v, tau2) > LL0_TOL:
            tau2 = 0.0  # metafor: "may have gotten stuck at a local maximum. Setting tau^2 = 0."
        tau2 = max(0.0, tau2)
    w = 1 / (v + tau2)
    b = float((w * y).sum() / w.sum())
    se = math.sqrt(1 / w.sum())
    if k > 1:
        w_fe = 1 / v
        P = p_matrix(w_fe)
        q = max(0.0, float(ymc @ P @ ymc))
        q_pval = chi2_sf(q, k - 1)
        vt = (k - 1) / np.trace(P)
        i2 = 100 * tau2 / (vt + tau2)
    else:
        q, q_pval, i2 = 0.0, 1.0, 0.0
    return {"k": k, "b": b, "se": se, "ci_lb": b - Z95 * se, "ci_ub": b + Z95 * se, "tau2": tau2, "i2": i2,
            "q": q, "q_pval": q_pval}


def reml_loglik(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """The restricted log-likelihood as rma.uni() writes it for its ll0 check."""
    w = 1 / (v + tau2)
    ymc = y - y.mean()
    beta = (w * ymc).sum() / w.sum()
    rss = (w * (ymc - beta) ** 2).sum()
    k = len(y)
    return float(-0.5 * (k - 1) * math.log(2 * math.pi) - 0.5 * np.log(v + tau2).sum() - 0.5 * math.log(w.sum())
                 - 0.5 * rss)


def chi2_sf(x: float, df: int) -> float:
    """P(X > x) for X ~ chi-squared with integer df, by the regularized upper incomplete gamma
    function's finite sums (exact for integer df; no SciPy needed)."""
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.exp(-half) / math.sqrt(math.pi * half)
    for i in range(1, (df + 1) // 2):
        term *= half / (i - 0.5)
        total += term
    return min(1.0, total)


def pool(effects: pd.DataFrame, by=POOL_BY, method: str = "REML") -> pd.DataFrame:
    """Random-effects pooling of `effects()` rows per group, equal to `metafor::rma(yi, vi,
    method=)` on the same rows.

    `by`: the columns that make a group (default drug, dose, endpoint, timepoint; rows of
    different measures are never pooled together). `method`: "REML" (the default, as in metafor)
    or "DL" (DerSimonian-Laird).

    Columns: the `by` columns, `measure`, `method`, `k` (comparisons pooled); `estimate`,
    `ci_lower`, `ci_upper`: the pooled measure and its 95% interval on the scale of the measure
    (back-transformed for RR and OR, as `predict(fit, transf = exp)` gives them, and as
    `effects()` gives its `estimate`); `b` and `se`: the pooled estimate and its standard error on
    the scale of `yi` (`fit$b`, `fit$se`: log RR, log OR, or RD); `tau2`, `i2` (percent), `q` and
    `q_pval` (Cochran's Q test), as metafor computes them, including for a group of one
    comparison (tau2 = 0, i2 = 0, q = 0, q_pval = 1); `counts_derived`: whether any pooled row
    has a derived count.
    """
    check_method(method)
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*by, "measure", "yi", "vi"] if c not in effects.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(missing)} not in the effects frame; group by any of: "
                         f"{', '.join(effects.columns)}")
    keys = by + ([] if "measure" in by else ["measure"])
    rows = []
    for group, frame in effects.groupby(keys, dropna=False, sort=True, observed=True):
        group = group if isinstance(group, tuple) else (group,)
        fit = rma(frame["yi"].to_numpy(float), frame["vi"].to_numpy(float), method)
        measure = frame["measure"].iloc[0]
        row = dict(zip(keys, group, strict=True))
        row.update(measure=measure, method=method, k=fit["k"], estimate=back_transform(measure, fit["b"]),
                   ci_lower=back_transform(measure, fit["ci_lb"]), ci_upper=back_transform(measure, fit["ci_ub"]),
                   b=fit["b"], se=fit["se"], tau2=fit["tau2"], i2=fit["i2"], q=fit["q"], q_pval=fit["q_pval"],
                   counts_derived=bool(frame["counts_derived"].any()) if "counts_derived" in frame else False)
        rows.append(row)
    out = pd.DataFrame(rows, columns=by + [c for c in POOL_COLUMNS if c not in by])
    for col in by:
        if col in effects.columns:
            out[col] = out[col].astype(effects[col].dtype)
    out["measure"] = out["measure"].astype("string")
    out["method"] = out["method"].astype("string")
    out["k"] = out["k"].astype("Int64")
    out["counts_derived"] = out["counts_derived"].astype(bool)
    for col in ("estimate", "ci_lower", "ci_upper", "b", "se", "tau2", "i2", "q", "q_pval"):
        out[col] = out[col].astype(float)
    return out
