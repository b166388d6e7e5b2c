"""The rules Table Schema cannot say: across fields of a row and across tables.

Each rule is stated once here, with a stable name (reported in `rule`, accepted in a row's
`rule_exception`), the column it is reported on, and the hint a contributor reads. The rules run as
Pandera checks on frames whose columns and dtypes are built from the Table Schemas (typed.py), so
types and constraints stay stated once, in schemas/.

Every rule returns True where it holds *or does not apply* (a missing count is "not reported",
never a failure of a count rule).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .descriptor import Resource
from .typed import pandas_dtype


@dataclass(frozen=True)
class Rule:
    name: str
    table: str
    column: str
    hint: str
    holds: Callable[[pd.DataFrame], pd.Series]
    # What a contributor needs to mend one failing row (the value the counts give, the line of
    # the row it clashes with): (frame, row index, file line of each row) -> text after the hint.
    detail: Callable[[pd.DataFrame, int, object], str] | None = None
    # Other columns of the row the rule reads: where one of them holds a cell the schema layer
    # reported (read as missing), the rule's failure is that cell's follow-on, not reported.
    reads: tuple[str, ...] = ()


def _b(series) -> pd.Series:
    """A nullable boolean as a plain one, where missing (not applicable) counts as holding."""
    return pd.Series(series).astype("boolean").fillna(True).astype(bool)


def _present(s: pd.Series) -> pd.Series:
    return s.notna()


RANDOMIZED = "randomized"
NO_DRUG_ROLES = ("placebo", "vehicle")


def _percent_agrees(df: pd.DataFrame, n: str, total: str) -> pd.Series:
    # Printed precision: "8.4" allows ±0.05, "8" allows ±0.5 (docs/data-model.md, Percent).
    tolerance = 0.5 * 10.0 ** (-df["_percent_decimals"].astype(float)) + 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = 100.0 * df[n].astype("Float64") / df[total].astype("Float64")
    diff = (df["percent"] - derived).abs()
    return _b(diff <= tolerance)


def _percent_detail(n: str, total: str):
    def detail(d: pd.DataFrame, i: int, lines) -> str:
        num, den, pct = d[n].iloc[i], d[total].iloc[i], d["percent"].iloc[i]
        decimals = int(d["_percent_decimals"].iloc[i])
        if pd.isna(num) or pd.isna(den) or not den:
            return ""
        derived = 100.0 * float(num) / float(den)
        return (f": {n} {int(num)} of {int(den)} gives {derived:.{decimals + 2}f}, which printed with "
                f"{decimals} decimal(s) is {derived:.{decimals}f}, not {float(pct):.{decimals}f} (agreement within "
                f"±{0.5 * 10.0 ** -decimals:g}). If the source itself prints this percent with these counts, keep "
                f"it as printed, put percent-matches-counts in rule_exception and say so in note")
    return detail


def _estimand_detail(d: pd.DataFrame, i: int, lines) -> str:
    first = int(d["_estimand_first"].iloc[i]) if "_estimand_first" in d else -1
    return f" (the other row is line {int(lines[first])})" if 0 <= first < len(lines) else ""


RULES: list[Rule] = [
    # trials -------------------------------------------------------------------------------
    Rule("design-fields", "trials", "n_randomized",
         "a randomized trial gives n_randomized; other designs leave it empty and give n_enrolled",
         lambda d: _b((d.design == RANDOMIZED) == _present(d.n_randomized))),
    Rule("design-fields", "trials", "randomized_period_weeks",
         "a randomized trial gives the length of its randomized, controlled period; other designs leave it empty",
         lambda d: _b((d.design == RANDOMIZED) == _present(d.randomized_period_weeks))),
    Rule("design-fields", "trials", "n_enrolled",
         "a single-arm study, case series or case report gives n_enrolled (the number treated)",
         lambda d: _b((d.design == RANDOMIZED) | _present(d.n_enrolled))),
    Rule("design-fields", "trials", "phase",
         "case series and case reports have no phase: leave it empty",
         lambda d: _b(~d.design.isin(["case-series", "case-report"]) | d.phase.isna())),
    Rule("trial-figures-sourced", "trials", "source_id",
         "a trial with figures (n_randomized, n_enrolled, periods, timepoint) names the source they were read from "
         "and a locator",
         lambda d: _b(~(_present(d.n_randomized) | _present(d.n_enrolled) | _present(d.randomized_period_weeks)
                        | _present(d.primary_timepoint_weeks)) | (_present(d.source_id) & _present(d.locator)))),
    Rule("source-linked-to-trial", "trials", "source_id",
         "the trial's source must be linked to it in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    Rule("arms-sum-to-trial", "trials", "n_randomized",
         "the arms' n_randomized must add up to the trial's n_randomized (see arms.csv)",
         lambda d: _b(d._arms_complete.eq(False) | (d.design != RANDOMIZED) | d.n_randomized.isna()
                      | (d._arms_n_randomized == d.n_randomized))),
    Rule("arms-sum-to-trial", "trials", "n_enrolled",
         "the arms' n_enrolled must add up to the study's n_enrolled (see arms.csv)",
         lambda d: _b(d._arms_complete_enrolled.eq(False) | (d.design == RANDOMIZED) | d.n_enrolled.isna()
                      | (d._arms_n_enrolled == d.n_enrolled))),
    # arms ---------------------------------------------------------------------------------
    Rule("randomized-arm-has-n", "arms", "n_randomized",
         "an arm of a randomized trial gives n_randomized (from the publication or the registry)",
         lambda d: _b((d._design != RANDOMIZED) | _present(d.n_randomized))),
    Rule("design-fields", "arms", "n_enrolled",
         "an arm of a non-randomized study gives n_enrolled (the number treated) and no n_randomized",
         lambda d: _b((d._design == RANDOMIZED) | d._design.isna() | (_present(d.n_enrolled) & d.n_randomized.isna()))),
    Rule("arm-drug-matches-role", "arms", "drug_id",
         "placebo and vehicle arms have no drug_id; every other arm names its drug",
         lambda d: _b(d.role.isin(NO_DRUG_ROLES) == d.drug_id.isna())),
    Rule("arm-drug-matches-role", "arms", "dose",
         "placebo and vehicle arms have no dose",
         lambda d: _b(~d.role.isin(NO_DRUG_ROLES) | d.dose.isna())),
    Rule("source-linked-to-trial", "arms", "source_id",
         "the source must be linked to this arm's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # outcomes -----------------------------------------------------------------------------
    Rule("responders-within-analysed", "outcomes", "responders",
         "responders cannot exceed analysed", lambda d: _b(d.responders <= d.analysed)),
    Rule("analysed-within-arm", "outcomes", "analysed",
         "analysed cannot exceed the arm's n_randomized (or n_enrolled) in arms.csv",
         lambda d: _b(d.analysed <= d._arm_n)),
    Rule("percent-matches-counts", "outcomes", "percent",
         "percent must agree with 100*responders/analysed to the precision printed",
         lambda d: _percent_agrees(d, "responders", "analysed"), _percent_detail("responders", "analysed")),
    Rule("timepoint-within-randomized-period", "outcomes", "timepoint_weeks",
         "an outcome of a randomized trial lies within the trial's randomized_period_weeks",
         lambda d: _b((d._design != RANDOMIZED) | (d.timepoint_weeks <= d._period))),
    Rule("timepoint-stated", "outcomes", "timepoint_weeks",
         "give timepoint_weeks, or timepoint_text where the source gives no week",
         lambda d: _b(_present(d.timepoint_weeks) | _present(d.timepoint_text)), reads=("timepoint_text",)),
    Rule("outcome-has-result", "outcomes", "responders",
         "an outcome row gives responders or percent (or both)",
         lambda d: _b(_present(d.responders) | _present(d.percent)), reads=("percent",)),
    Rule("one-figure-per-estimand", "outcomes", "arm_id",
         "another row already gives a figure for this arm, endpoint, timepoint (weeks and text), subgroup, "
         "population and imputation: keep one, or tell them apart",
         lambda d: ~d._estimand_repeat.astype(bool), _estimand_detail),
    Rule("source-linked-to-trial", "outcomes", "source_id",
         "the source must be linked to this outcome's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # adverse events -----------------------------------------------------------------------
    Rule("events-within-at-risk", "adverse_events", "participants_with_event",
         "participants_with_event cannot exceed participants_at_risk",
         lambda d: _b(d.participants_with_event <= d.participants_at_risk)),
    Rule("at-risk-within-arm", "adverse_events", "participants_at_risk",
         "participants_at_risk cannot exceed the arm's n_randomized (or n_enrolled) in arms.csv",
         lambda d: _b(d.participants_at_risk <= d._arm_n)),
    Rule("percent-matches-counts", "adverse_events", "percent",
         "percent must agree with 100*participants_with_event/participants_at_risk to the precision printed",
         lambda d: _percent_agrees(d, "participants_with_event", "participants_at_risk"),
         _percent_detail("participants_with_event", "participants_at_risk")),
    Rule("ae-has-result", "adverse_events", "participants_with_event",
         "an adverse-event row gives participants_with_event or percent (or both)",
         lambda d: _b(_present(d.participants_with_event) | _present(d.percent)), reads=("percent",)),
    Rule("one-figure-per-estimand", "adverse_events", "arm_id",
         "another row already counts this arm, term, period (weeks and text) and subgroup: keep one",
         lambda d: ~d._estimand_repeat.astype(bool), _estimand_detail),
    Rule("source-linked-to-trial", "adverse_events", "source_id",
         "the source must be linked to this row's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # sources and approvals ----------------------------------------------------------------
    Rule("source-has-identifier", "sources", "doi",
         "every source gives a DOI, a PMID or a URL so that a reader can find it",
         lambda d: _b(_present(d.doi) | _present(d.pmid) | _present(d.url))),
    Rule("correction-not-self", "sources", "corrects_source_id",
         "a source cannot correct itself", lambda d: _b(d.corrects_source_id.isna() | (d.corrects_source_id != d.source_id))),
    Rule("approval-year-sourced", "drugs", "first_approval_source_id",
         "a first_approval_year names the source that states it (first_approval_source_id), and only then",
         lambda d: _b(_present(d.first_approval_year) == _present(d.first_approval_source_id))),
    Rule("approval-names-indication", "approvals", "indication_id",
         "an approval or extension names its indication (only class-wide safety actions leave it empty)",
         lambda d: _b(~d.decision.isin(["approval", "extension", "refusal"]) | _present(d.indication_id))),
]

# One figure per estimand (docs/data-model.md): these columns together identify what a row estimates.
# (Hashed in joins.repeated_keys: pandas' duplicated() over seven columns cost 0.3 s a million rows.)
ESTIMAND_KEYS = {
    "outcomes": ["arm_id", "endpoint_id", "timepoint_weeks", "timepoint_text", "subgroup", "population", "imputation"],
    "adverse_events": ["arm_id", "ae_term_id", "period_weeks", "period_text", "subgroup"],
}


def rules_for(table: str) -> list[Rule]:
    return [r for r in RULES if r.table == table]


def applicable(rule: Rule):
    """A rule whose columns a package's schema lacks (an older or trimmed schema) does not apply."""
    def holds(frame: pd.DataFrame) -> pd.Series:
        try:
            return rule.holds(frame)
        except (AttributeError, KeyError):
            return pd.Series(True, index=frame.index)
    return holds


def prime() -> None:
    """Pandera imports its validation backends, and those for reporting failures, on first use:
    a failing check on a one-row frame pays for them while the files are still being read."""
    import pandera.errors
    schema = pa.DataFrameSchema({"x": pa.Column("Int64", nullable=True)},
                                checks=[pa.Check(lambda d: d.x < 0, name="prime")])
    try:
        schema.validate(pd.DataFrame({"x": pd.array([1], dtype="Int64")}), lazy=True, inplace=True)
    except pandera.errors.SchemaErrors:
        pass


def pandera_schema(resource: Resource, dtypes: bool = True) -> pa.DataFrameSchema:
    """The Pandera model of a table: columns and dtypes from its Table Schema, checks from RULES.

    Columns are nullable here because `required` is a Table Schema constraint, checked (and
    reported once) by the schema layer. The validator passes dtypes=False: its frames are built
    by typed.py from the same Table Schemas (tests/test_layers.py proves the model accepts them),
    and re-checking every column's dtype on every run costs 0.09 s at a million rows.
    """
    columns = ({f.name: pa.Column(pandas_dtype(f), nullable=True, coerce=False) for f in resource.fields}
               if dtypes else {})
    # ignore_na=False: each rule says itself where a missing value holds (see _b); Pandera's own
    # allowance would test every row of the frame for all-missing once per rule.
    checks = [pa.Check(applicable(r), name=f"{r.name}:{r.column}", error=r.hint, ignore_na=False)
              for r in rules_for(resource.name)]
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=resource.name)
