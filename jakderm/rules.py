"""The rules Table Schema cannot say: across fields of a row and across tables.

Each rule is stated once here, with a stable name (reported in `rule`, accepted in a row's
`rule_exception`), the column it is reported on, every column it reads, and the hint a
contributor reads. A rule reads the table's fields (typed as typed.py types them, from the Table
Schemas) and the columns joins.py adds from other tables (named with a leading '_').

Every rule returns True where it holds *or does not apply* (a missing count is "not reported",
never a failure of a count rule).

The rule layer (rule_checks.py) runs each rule as a Pandera check of `pandera_schema(table)`, on a
frame holding only the columns the rule declares: a rule reading a column it does not declare, or
a column no table has, stops the run with an error naming the rule. It never passes silently.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .descriptor import Resource
from .typed import pandas_dtype


@dataclass(frozen=True)
class Rule:
    name: str
    table: str
    column: str  # where a failure is reported
    reads: tuple[str, ...]  # every column `holds` (and `detail`) reads: fields, and joins.JOINED columns
    hint: str
    holds: Callable[[pd.DataFrame], pd.Series]
    # What a contributor needs to mend one failing row (the value the counts give, the line of
    # the row it clashes with): (the row's declared columns, file line of each row) -> text after
    # the hint. The rows shown come as dicts, made in one go: pandas' .iloc per finding is slow.
    detail: Callable[[dict, object], str] | None = None

    @property
    def key(self) -> str:
        """The rule's name and column: one rule may be checked on several columns."""
        return f"{self.name}:{self.column}"


class RuleError(RuntimeError):
    """A rule that cannot be evaluated as declared (our bug, never the data's): the run stops."""


def _b(series) -> pd.Series:
    """A nullable boolean as a plain one, where missing (not applicable) counts as holding."""
    return pd.Series(series).astype("boolean").fillna(True).astype(bool)


def _present(s: pd.Series) -> pd.Series:
    return s.notna()


RANDOMIZED = "randomized"
# The column where a row names the rule its source breaks (a warning then, not an error).
EXCEPTION_COLUMN = "rule_exception"
NO_DRUG_ROLES = ("placebo", "vehicle")


def _percent_agrees(df: pd.DataFrame, n: str, total: str) -> pd.Series:
    # Printed precision: "8.4" allows ±0.05, "8" allows ±0.5 (docs/data-model.md, Percent).
    tolerance = 0.5 * 10.0 ** (-df["_percent_decimals"].astype(float)) + 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        derived = 100.0 * df[n].astype("Float64") / df[total].astype("Float64")
    diff = (df["percent"] - derived).abs()
    return _b(diff <= tolerance)


def _percent_detail(n: str, total: str):
    def detail(row: dict, lines) -> str:
        num, den, pct, places = row[n], row[total], row["percent"], row["_percent_decimals"]
        if pd.isna(num) or pd.isna(den) or pd.isna(pct) or pd.isna(places) or not den:
            return ""
        decimals = int(places)
        derived = 100.0 * float(num) / float(den)
        return (f": {n} {int(num)} of {int(den)} gives {derived:.{decimals + 2}f}, which printed with "
                f"{decimals} decimal(s) is {derived:.{decimals}f}, not {float(pct):.{decimals}f} (agreement within "
                f"±{0.5 * 10.0 ** -decimals:g}). If the source itself prints this percent with these counts, keep "
                f"it as printed, put percent-matches-counts in rule_exception and say so in note")
    return detail


def _estimand_detail(row: dict, lines) -> str:
    first = int(row["_estimand_first"])
    return f" (the other row is line {int(lines[first])})" if 0 <= first < len(lines) else ""


FIGURES = ("n_randomized", "n_enrolled", "randomized_period_weeks", "primary_timepoint_weeks")
PERCENT_OUTCOME = ("responders", "analysed", "percent", "_percent_decimals")
PERCENT_AE = ("participants_with_event", "participants_at_risk", "percent", "_percent_decimals")

RULES: list[Rule] = [
    # trials -------------------------------------------------------------------------------
    Rule("design-fields", "trials", "n_randomized", ("design", "n_randomized"),
         "a randomized trial gives n_randomized; other designs leave it empty and give n_enrolled",
         lambda d: _b((d.design == RANDOMIZED) == _present(d.n_randomized))),
    Rule("design-fields", "trials", "randomized_period_weeks", ("design", "randomized_period_weeks"),
         "a randomized trial gives the length of its randomized, controlled period; other designs leave it empty",
         lambda d: _b((d.design == RANDOMIZED) == _present(d.randomized_period_weeks))),
    Rule("design-fields", "trials", "n_enrolled", ("design", "n_enrolled"),
         "a single-arm study, case series or case report gives n_enrolled (the number treated)",
         lambda d: _b((d.design == RANDOMIZED) | _present(d.n_enrolled))),
    Rule("design-fields", "trials", "phase", ("design", "phase"),
         "case series and case reports have no phase: leave it empty",
         lambda d: _b(~d.design.isin(["case-series", "case-report"]) | d.phase.isna())),
    Rule("trial-figures-sourced", "trials", "source_id", (*FIGURES, "source_id", "locator"),
         "a trial with figures (n_randomized, n_enrolled, periods, timepoint) names the source they were read from "
         "and a locator",
         lambda d: _b(~(_present(d.n_randomized) | _present(d.n_enrolled) | _present(d.randomized_period_weeks)
                        | _present(d.primary_timepoint_weeks)) | (_present(d.source_id) & _present(d.locator)))),
    Rule("source-linked-to-trial", "trials", "source_id", ("_source_linked",),
         "the trial's source must be linked to it in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    Rule("arms-sum-to-trial", "trials", "n_randomized",
         ("design", "n_randomized", "_arms_complete", "_arms_n_randomized"),
         "the arms' n_randomized must add up to the trial's n_randomized (see arms.csv)",
         lambda d: _b(d._arms_complete.eq(False) | (d.design != RANDOMIZED) | d.n_randomized.isna()
                      | (d._arms_n_randomized == d.n_randomized))),
    Rule("arms-sum-to-trial", "trials", "n_enrolled",
         ("design", "n_enrolled", "_arms_complete_enrolled", "_arms_n_enrolled"),
         "the arms' n_enrolled must add up to the study's n_enrolled (see arms.csv)",
         lambda d: _b(d._arms_complete_enrolled.eq(False) | (d.design == RANDOMIZED) | d.n_enrolled.isna()
                      | (d._arms_n_enrolled == d.n_enrolled))),
    # arms ---------------------------------------------------------------------------------
    Rule("randomized-arm-has-n", "arms", "n_randomized", ("_design", "n_randomized"),
         "an arm of a randomized trial gives n_randomized (from the publication or the registry)",
         lambda d: _b((d._design != RANDOMIZED) | _present(d.n_randomized))),
    Rule("design-fields", "arms", "n_enrolled", ("_design", "n_enrolled", "n_randomized"),
         "an arm of a non-randomized study gives n_enrolled (the number treated) and no n_randomized",
         lambda d: _b((d._design == RANDOMIZED) | d._design.isna() | (_present(d.n_enrolled) & d.n_randomized.isna()))),
    Rule("arm-drug-matches-role", "arms", "drug_id", ("role", "drug_id"),
         "placebo and vehicle arms have no drug_id; every other arm names its drug",
         lambda d: _b(d.role.isin(NO_DRUG_ROLES) == d.drug_id.isna())),
    Rule("arm-drug-matches-role", "arms", "dose", ("role", "dose"),
         "placebo and vehicle arms have no dose",
         lambda d: _b(~d.role.isin(NO_DRUG_ROLES) | d.dose.isna())),
    Rule("source-linked-to-trial", "arms", "source_id", ("_source_linked",),
         "the source must be linked to this arm's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # outcomes -----------------------------------------------------------------------------
    Rule("responders-within-analysed", "outcomes", "responders", ("responders", "analysed"),
         "responders cannot exceed analysed", lambda d: _b(d.responders <= d.analysed)),
    Rule("analysed-within-arm", "outcomes", "analysed", ("analysed", "_arm_n"),
         "analysed cannot exceed the arm's n_randomized (or n_enrolled) in arms.csv",
         lambda d: _b(d.analysed <= d._arm_n)),
    Rule("percent-matches-counts", "outcomes", "percent", PERCENT_OUTCOME,
         "percent must agree with 100*responders/analysed to the precision printed",
         lambda d: _percent_agrees(d, "responders", "analysed"), _percent_detail("responders", "analysed")),
    Rule("timepoint-within-randomized-period", "outcomes", "timepoint_weeks", ("_design", "timepoint_weeks", "_period"),
         "an outcome of a randomized trial lies within the trial's randomized_period_weeks",
         lambda d: _b((d._design != RANDOMIZED) | (d.timepoint_weeks <= d._period))),
    Rule("timepoint-stated", "outcomes", "timepoint_weeks", ("timepoint_weeks", "timepoint_text"),
         "give timepoint_weeks, or timepoint_text where the source gives no week",
         lambda d: _b(_present(d.timepoint_weeks) | _present(d.timepoint_text))),
    Rule("outcome-has-result", "outcomes", "responders", ("responders", "percent"),
         "an outcome row gives responders or percent (or both)",
         lambda d: _b(_present(d.responders) | _present(d.percent))),
    Rule("one-figure-per-estimand", "outcomes", "arm_id", ("_estimand_repeat", "_estimand_first"),
         "another row already gives a figure for this arm, endpoint, timepoint (weeks and text), subgroup, "
         "population and imputation: keep one, or tell them apart",
         lambda d: ~d._estimand_repeat.astype(bool), _estimand_detail),
    Rule("source-linked-to-trial", "outcomes", "source_id", ("_source_linked",),
         "the source must be linked to this outcome's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # adverse events -----------------------------------------------------------------------
    Rule("events-within-at-risk", "adverse_events", "participants_with_event",
         ("participants_with_event", "participants_at_risk"),
         "participants_with_event cannot exceed participants_at_risk",
         lambda d: _b(d.participants_with_event <= d.participants_at_risk)),
    Rule("at-risk-within-arm", "adverse_events", "participants_at_risk", ("participants_at_risk", "_arm_n"),
         "participants_at_risk cannot exceed the arm's n_randomized (or n_enrolled) in arms.csv",
         lambda d: _b(d.participants_at_risk <= d._arm_n)),
    Rule("percent-matches-counts", "adverse_events", "percent", PERCENT_AE,
         "percent must agree with 100*participants_with_event/participants_at_risk to the precision printed",
         lambda d: _percent_agrees(d, "participants_with_event", "participants_at_risk"),
         _percent_detail("participants_with_event", "participants_at_risk")),
    Rule("ae-has-result", "adverse_events", "participants_with_event", ("participants_with_event", "percent"),
         "an adverse-event row gives participants_with_event or percent (or both)",
         lambda d: _b(_present(d.participants_with_event) | _present(d.percent))),
    Rule("one-figure-per-estimand", "adverse_events", "arm_id", ("_estimand_repeat", "_estimand_first"),
         "another row already counts this arm, term, period (weeks and text) and subgroup: keep one",
         lambda d: ~d._estimand_repeat.astype(bool), _estimand_detail),
    Rule("source-linked-to-trial", "adverse_events", "source_id", ("_source_linked",),
         "the source must be linked to this row's trial in trial_sources.csv",
         lambda d: _b(d._source_linked)),
    # sources and approvals ----------------------------------------------------------------
    Rule("source-has-identifier", "sources", "doi", ("doi", "pmid", "url"),
         "every source gives a DOI, a PMID or a URL so that a reader can find it",
         lambda d: _b(_present(d.doi) | _present(d.pmid) | _present(d.url))),
    Rule("correction-not-self", "sources", "corrects_source_id", ("corrects_source_id", "source_id"),
         "a source cannot correct itself",
         lambda d: _b(d.corrects_source_id.isna() | (d.corrects_source_id != d.source_id))),
    Rule("approval-year-sourced", "drugs", "first_approval_source_id",
         ("first_approval_year", "first_approval_source_id"),
         "a first_approval_year names the source that states it (first_approval_source_id), and only then",
         lambda d: _b(_present(d.first_approval_year) == _present(d.first_approval_source_id))),
    Rule("approval-names-indication", "approvals", "indication_id", ("decision", "indication_id"),
         "an approval or extension names its indication (only class-wide safety actions leave it empty)",
         lambda d: _b(~d.decision.isin(["approval", "extension", "refusal"]) | _present(d.indication_id))),
]

# One figure per estimand (docs/data-model.md): these columns together identify what a row estimates.
ESTIMAND_KEYS = {
    "outcomes": ["arm_id", "endpoint_id", "timepoint_weeks", "timepoint_text", "subgroup", "population", "imputation"],
    "adverse_events": ["arm_id", "ae_term_id", "period_weeks", "period_text", "subgroup"],
}


def rules_for(table: str) -> list[Rule]:
    return [r for r in RULES if r.table == table]


def only_its_columns(rule: Rule, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame a rule is run on: its declared columns, and no other (no data is copied)."""
    return pd.DataFrame({c: frame[c] for c in rule.reads}, index=frame.index, copy=False)


def _declared(rule: Rule) -> Callable[[pd.DataFrame], pd.Series]:
    """The rule's check function: `holds` on the rule's own columns, so that reading an undeclared
    one is an error naming the rule, never a silent pass."""
    def check(frame: pd.DataFrame) -> pd.Series:
        try:
            return rule.holds(only_its_columns(rule, frame))
        except (AttributeError, KeyError) as exc:
            raise RuleError(f"rule {rule.key} on {rule.table} reads a column it does not declare, or the "
                            f"frame lacks one it declares ({type(exc).__name__}: {exc}); declared: {rule.reads}") from exc
    return check


def pandera_schema(resource: Resource, joined: dict[str, str]) -> pa.DataFrameSchema:
    """The rule layer's Pandera schema of a table as joins.prepare() hands it over: a column for
    each one a rule reads, with its dtype (a field's from its Table Schema, a joined one's from
    joins.JOINED), and each rule as a named check (`name:column`, the hint as its error).

    The columns are nullable and carry no checks: `required` and every other constraint are the
    Table Schema's, checked and reported once by the schema layer. (jakderm.schema(table), for
    users' own frames, is the whole model with those constraints: pandera_schemas.py.)
    """
    fields = {f.name: f for f in resource.fields}
    columns: dict[str, pa.Column] = {}
    for rule in rules_for(resource.name):
        for c in rule.reads:
            if c in fields:
                columns[c] = pa.Column(pandas_dtype(fields[c]), nullable=True, coerce=False)
            elif c in joined:
                columns[c] = pa.Column(joined[c], nullable=True, coerce=False)
            else:
                raise RuleError(f"rule {rule.key} reads {c!r}, which is neither a field of {resource.schema_path} "
                                f"nor a column joins.py adds to {resource.name}")
    # ignore_na=False: each rule says itself where a missing value holds (see _b).
    checks = [pa.Check(_declared(r), name=r.key, error=r.hint, ignore_na=False) for r in rules_for(resource.name)]
    return pa.DataFrameSchema(columns, checks=checks, strict=False, name=resource.name)
