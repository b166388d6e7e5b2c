"""The catalogue of corruptions a contributor or a careless merge can make.

Each entry corrupts a copy of the package (pkgtools.Pkg, holding the synthetic example trial)
and returns where the validator must point: (file, line, column, rule). test_rules.py runs the
catalogue in process; test_harness.py runs it through `validate.py --format json`.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

OUT = "data/outcomes.csv"
PBO_EASI = "example-trial/placebo/easi-75/w16"
ACT_EASI = "example-trial/abrocitinib-100mg/easi-75/w16"
ACT_AE = "example-trial/abrocitinib-100mg/any-ae/w16"
ACT_ARM = "example-trial/abrocitinib-100mg"


@dataclass(frozen=True)
class Expect:
    file: str
    line: int | None
    column: str | None
    rule: str
    # The other errors the corruption causes, as (file, line, column, rule): with the one above,
    # the complete set (test_rules.py asserts it). Only independent facts belong here; a reported
    # cell triggering other rules on its row is a cascade, and a bug.
    also: tuple[tuple, ...] = ()

    def complete(self) -> set[tuple]:
        return {(self.file, self.line, self.column, self.rule), *self.also}


@dataclass(frozen=True)
class Corruption:
    name: str
    apply: Callable  # (pkg) -> Expect
    rule: str


# (table, row key, column, bad value, rule, column reported if not the one edited)
CELLS = [
    ("outcomes", PBO_EASI, "analysed", "12.5", "type", None),
    ("outcomes", PBO_EASI, "responders", "twelve", "type", None),
    ("outcomes", PBO_EASI, "percent", "12%", "type", None),
    ("outcomes", PBO_EASI, "locator", "", "required", None),
    ("outcomes", PBO_EASI, "population", "everyone", "enum", None),
    ("outcomes", PBO_EASI, "imputation", "nri", "enum", None),
    ("outcomes", PBO_EASI, "responders", "-1", "minimum", None),
    ("outcomes", PBO_EASI, "percent", "101", "maximum", None),
    ("outcomes", PBO_EASI, "timepoint_weeks", "0", "minimum", None),
    ("outcomes", PBO_EASI, "arm_id", "example-trial/nobody", "foreign-key", None),
    ("outcomes", PBO_EASI, "endpoint_id", "easi-76", "foreign-key", None),
    ("outcomes", PBO_EASI, "source_id", "nobody-2099", "foreign-key", None),
    ("outcomes", PBO_EASI, "arm_id", "Example Trial/placebo", "pattern", None),
    ("outcomes", PBO_EASI, "note", '=HYPERLINK("x")', "formula-injection", None),
    ("outcomes", PBO_EASI, "note", "+1 more", "formula-injection", None),
    ("outcomes", PBO_EASI, "note", "@sum", "formula-injection", None),
    ("outcomes", PBO_EASI, "responders", "101", "responders-within-analysed", None),
    ("outcomes", PBO_EASI, "analysed", "101", "analysed-within-arm", None),
    ("outcomes", PBO_EASI, "percent", "12.6", "percent-matches-counts", None),
    ("outcomes", PBO_EASI, "percent", "13", "percent-matches-counts", None),
    ("outcomes", PBO_EASI, "timepoint_weeks", "24", "timepoint-within-randomized-period", None),
    ("outcomes", PBO_EASI, "timepoint_weeks", "", "timepoint-stated", None),
    ("outcomes", PBO_EASI, "rule_exception", "whatever", "enum", None),
    ("outcomes", PBO_EASI, "rule_exception", "analysed-within-arm", "rule-exception-unused", None),
    ("adverse_events", ACT_AE, "participants_with_event", "200", "events-within-at-risk", None),
    ("adverse_events", ACT_AE, "participants_at_risk", "201", "at-risk-within-arm", None),
    ("adverse_events", ACT_AE, "percent", "66.3", "percent-matches-counts", None),
    ("adverse_events", ACT_AE, "ae_term_id", "sneezing", "foreign-key", None),
    ("adverse_events", ACT_AE, "arm_id", "example-trial/ghost", "foreign-key", None),
    ("adverse_events", ACT_AE, "period_weeks", "-4", "minimum", None),
    ("adverse_events", ACT_AE, "participants_at_risk", "1e3", "type", None),
    ("arms", ACT_ARM, "drug_id", "", "arm-drug-matches-role", None),
    ("arms", ACT_ARM, "drug_id", "abrocitinibb", "foreign-key", None),
    ("arms", ACT_ARM, "trial_id", "no-such-trial", "foreign-key", None),
    ("arms", ACT_ARM, "source_id", "ghost-2099", "foreign-key", None),
    ("arms", ACT_ARM, "dose_unit", "mcg", "enum", None),
    ("arms", ACT_ARM, "route", "inhaled", "enum", None),
    ("arms", ACT_ARM, "n_randomized", "", "randomized-arm-has-n", None),
    ("arms", ACT_ARM, "n_randomized", "-200", "minimum", None),
    ("arms", "example-trial/placebo", "drug_id", "abrocitinib", "arm-drug-matches-role", None),
    ("arms", "example-trial/placebo", "dose", "5", "arm-drug-matches-role", None),
    ("trials", "example-trial", "nct_id", "NCT123", "pattern", None),
    ("trials", "example-trial", "nct_id", "nct03349060", "pattern", None),
    ("trials", "example-trial", "eudract_id", "2018-1234-1", "pattern", None),
    ("trials", "example-trial", "design", "rct", "enum", None),
    ("trials", "example-trial", "phase", "III", "enum", None),
    ("trials", "example-trial", "indication_id", "eczema-x", "foreign-key", None),
    ("trials", "example-trial", "n_randomized", "", "design-fields", None),
    ("trials", "example-trial", "randomized_period_weeks", "", "design-fields", None),
    ("trials", "example-trial", "n_randomized", "301", "arms-sum-to-trial", None),
    ("trials", "example-trial", "n_randomized", "three hundred", "type", None),
    ("trials", "example-trial", "locator", "", "trial-figures-sourced", "source_id"),
    ("trials", "example-trial", "source_id", "ghost-2099", "foreign-key", None),
    ("sources", "example-2099-trial", "doi", "doi:10.1000/xyz", "pattern", None),
    ("sources", "example-2099-trial", "doi", "https://doi.org/10.1000/xyz", "pattern", None),
    ("sources", "example-2099-trial", "pmid", "PMID 123", "pattern", None),
    ("sources", "example-2099-trial", "pmcid", "123", "pattern", None),
    ("sources", "example-2099-trial", "source_type", "blog", "enum", None),
    ("sources", "example-2099-trial", "citation", "", "required", None),
    ("sources", "example-2099-trial", "year", "20x9", "type", None),
    ("sources", "example-2099-trial", "url", "", "source-has-identifier", "doi"),
    ("sources", "example-2099-trial", "url", "www.example.org", "pattern", None),
    ("sources", "example-2099-trial", "corrects_source_id", "example-2099-trial", "correction-not-self", None),
    ("sources", "example-2099-trial", "corrects_source_id", "nothing-1900", "foreign-key", None),
    ("sources", "example-2099-trial", "seed_reference", "47", "maximum", None),
    ("trial_sources", "example-trial", "role", "author", "enum", None),
    ("drugs", "abrocitinib", "first_approval_source_id", "", "approval-year-sourced", None),
    ("drugs", "abrocitinib", "first_approval_source_id", "ghost-2099", "foreign-key", None),
]


# Cell corruptions that break a second rule on their row, as (column, rule): a count changed
# beyond its total also leaves the printed percent disagreeing with the counts.
ALSO_ON_THE_ROW = {
    ("outcomes", "responders", "101"): [("percent", "percent-matches-counts")],
    ("adverse_events", "participants_with_event", "200"): [("percent", "percent-matches-counts")],
    ("adverse_events", "participants_at_risk", "201"): [("percent", "percent-matches-counts")],
}


def _cell(table, key, column, value, rule, reported):
    def apply(pkg):
        line = pkg.set(table, key, column, value)
        also = tuple((f"data/{table}.csv", line, c, r) for c, r in ALSO_ON_THE_ROW.get((table, column, value), []))
        return Expect(f"data/{table}.csv", line, reported or column, rule, also)
    return Corruption(f"{table}.{column}={value!r}->{rule}", apply, rule)


def _lines(pkg, table):
    return pkg.path(table).read_text(encoding="utf-8").split("\n")


def _put_lines(pkg, table, lines):
    pkg.path(table).write_text("\n".join(lines), encoding="utf-8")


def duplicate_primary_key(pkg):
    header, rows = pkg.read("outcomes")
    pkg.write("outcomes", header, [*rows, dict(next(r for r in rows if r["outcome_id"] == PBO_EASI))])
    line = pkg.line_of("outcomes", PBO_EASI) + 1
    # the twin repeats the estimand too: a second fact about the row, on another column
    return Expect(OUT, line, "outcome_id", "primary-key", ((OUT, line, "arm_id", "one-figure-per-estimand"),))


def duplicate_primary_key_appended(pkg):
    """A careless merge: a row appended again at the end of the file, far from its twin (the
    validator hashes only the rows where the file's ordered runs overlap: this must be one)."""
    header, rows = pkg.read("outcomes")
    twin = next(r for r in rows if r["outcome_id"] == PBO_EASI)
    pkg.write("outcomes", header, [*rows, dict(twin)], canonical=False)
    line = len(rows) + 2
    # appended at the end, the twin is also out of key order and repeats the estimand
    return Expect(OUT, line, "outcome_id", "primary-key", ((OUT, line, "arm_id", "one-figure-per-estimand"),
                                                           (OUT, line, "outcome_id", "row-order")))


def two_rows_one_estimand(pkg):
    pkg.add_rows("outcomes", [{
        "outcome_id": PBO_EASI + "/again", "arm_id": "example-trial/placebo", "endpoint_id": "easi-75",
        "timepoint_weeks": "16", "responders": "13", "analysed": "100", "population": "FAS", "imputation": "NRI",
        "source_id": "example-2099-trial", "locator": "Table 4"}])
    return Expect(OUT, pkg.line_of("outcomes", PBO_EASI + "/again"), "arm_id", "one-figure-per-estimand")


def two_ae_rows_one_estimand(pkg):
    pkg.add_rows("adverse_events", [{
        "adverse_event_id": ACT_AE + "/again", "arm_id": ACT_ARM, "ae_term_id": "any-ae", "period_weeks": "16",
        "participants_with_event": "131", "participants_at_risk": "199", "source_id": "example-2099-trial",
        "locator": "Table 4"}])
    return Expect("data/adverse_events.csv", pkg.line_of("adverse_events", ACT_AE + "/again"), "arm_id",
                  "one-figure-per-estimand")


def dangling_trial_source(pkg):
    pkg.add_rows("trial_sources", [{"trial_id": "example-trial", "source_id": "ghost-2099", "role": "secondary"}])
    return Expect("data/trial_sources.csv", pkg.line_of("trial_sources", "example-trial") + 1, "source_id",
                  "foreign-key")


def unlinked_source(pkg):
    pkg.add_rows("sources", [{"source_id": "other-2099-paper", "source_type": "article", "citation": "Other B. Paper.",
                              "url": "https://example.org/other"}])
    line = pkg.set("outcomes", PBO_EASI, "source_id", "other-2099-paper")
    return Expect(OUT, line, "source_id", "source-linked-to-trial")


def outcome_without_result(pkg):
    pkg.set("outcomes", PBO_EASI, "responders", "")
    return Expect(OUT, pkg.set("outcomes", PBO_EASI, "percent", ""), "responders", "outcome-has-result")


def trial_source_unlinked(pkg):
    pkg.add_rows("sources", [{"source_id": "other-2099-paper", "source_type": "article", "citation": "Other B. Paper.",
                              "url": "https://example.org/other"}])
    return Expect("data/trials.csv", pkg.set("trials", "example-trial", "source_id", "other-2099-paper"), "source_id",
                  "source-linked-to-trial")


def ae_without_result(pkg):
    pkg.set("adverse_events", ACT_AE, "participants_with_event", "")
    return Expect("data/adverse_events.csv", pkg.set("adverse_events", ACT_AE, "percent", ""),
                  "participants_with_event", "ae-has-result")


def arm_source_unlinked(pkg):
    pkg.add_rows("sources", [{"source_id": "other-2099-paper", "source_type": "article", "citation": "Other B. Paper.",
                              "url": "https://example.org/other"}])
    return Expect("data/arms.csv", pkg.set("arms", ACT_ARM, "source_id", "other-2099-paper"), "source_id",
                  "source-linked-to-trial")


def renamed_column(pkg):
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b"percent,", b"pct,", 1))
    return Expect(OUT, 1, "pct", "column-unknown", ((OUT, 1, "percent", "column-missing"),))


def dropped_column(pkg):
    header, rows = pkg.read("outcomes")
    pkg.write("outcomes", [h for h in header if h != "imputation"], rows, canonical=False)
    return Expect(OUT, 1, "imputation", "column-missing")


def duplicated_column(pkg):
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b",note\n", b",note,note\n", 1))
    return Expect(OUT, 1, "note", "column-duplicate")


def reordered_columns(pkg):
    header, rows = pkg.read("outcomes")
    header[1], header[2] = header[2], header[1]
    pkg.write("outcomes", header, rows, canonical=False)
    return Expect(OUT, 1, None, "column-order")


def missing_resource_file(pkg):
    pkg.path("ae_terms").unlink()
    return Expect("data/ae_terms.csv", None, None, "file-missing")


def missing_schema(pkg):
    (pkg.root / "schemas" / "ae_terms.json").unlink()
    return Expect("schemas/ae_terms.json", None, None, "schema-missing")


def _edit_schema(pkg, table, edit):
    path = pkg.root / "schemas" / f"{table}.json"
    schema = json.loads(path.read_text())
    edit(schema)
    path.write_text(json.dumps(schema))
    return schema


def schema_without_a_field_the_rules_read(pkg):
    _edit_schema(pkg, "arms", lambda s: s.update(fields=[f for f in s["fields"] if f["name"] != "n_enrolled"]))
    return Expect("schemas/arms.json", None, "n_enrolled", "schema-incomplete",
                  (("data/arms.csv", 1, "n_enrolled", "column-unknown"),))


def schema_with_unknown_type(pkg):
    schema = _edit_schema(pkg, "outcomes", lambda s: s["fields"][3].update(type="yearmonth"))
    return Expect("schemas/outcomes.json", None, schema["fields"][3]["name"], "schema-invalid")


def foreign_key_to_nowhere(pkg):
    schema = _edit_schema(pkg, "arms", lambda s: s["foreignKeys"][0]["reference"].update(resource="nope"))
    return Expect("schemas/arms.json", None, schema["foreignKeys"][0]["fields"][0], "schema-invalid")


def too_many_cells(pkg):
    lines = _lines(pkg, "outcomes")
    target = pkg.line_of("outcomes", PBO_EASI)
    lines[target - 1] += ",extra"
    _put_lines(pkg, "outcomes", lines)
    return Expect(OUT, target, None, "row-cells")


def too_few_cells(pkg):
    lines = _lines(pkg, "outcomes")
    target = pkg.line_of("outcomes", ACT_EASI)
    lines[target - 1] = lines[target - 1].rsplit(",", 1)[0]
    _put_lines(pkg, "outcomes", lines)
    return Expect(OUT, target, None, "row-cells")


def out_of_order(pkg):
    header, rows = pkg.read("outcomes")
    rows.reverse()
    pkg.write("outcomes", header, rows, canonical=False)
    return Expect(OUT, 3, "outcome_id", "row-order")


def byte_order_mark(pkg):
    pkg.path("outcomes").write_bytes(b"\xef\xbb\xbf" + pkg.path("outcomes").read_bytes())
    return Expect(OUT, 1, None, "bom")


def crlf(pkg):
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b"\n", b"\r\n"))
    return Expect(OUT, 1, None, "line-ends")


def not_utf8(pkg):
    line = pkg.set("outcomes", PBO_EASI, "note", "caf\u00e9")
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace("café".encode(), b"caf\xe9"))
    return Expect(OUT, line, None, "encoding")


def unterminated_quote(pkg):
    line = pkg.set("outcomes", PBO_EASI, "note", 'says "maybe')
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b'"says ""maybe"', b'"says maybe'))
    return Expect(OUT, line, None, "line-break-in-cell")


def unterminated_quote_mid_file(pkg):
    line = pkg.set("outcomes", ACT_EASI, "note", 'says "maybe')
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b'"says ""maybe"', b'"says maybe'))
    return Expect(OUT, line, None, "line-break-in-cell")


def unneeded_quotes(pkg):
    lines = _lines(pkg, "outcomes")
    target = pkg.line_of("outcomes", PBO_EASI)
    lines[target - 1] = lines[target - 1].replace("FAS", '"FAS"')
    _put_lines(pkg, "outcomes", lines)
    return Expect(OUT, target, None, "quoting")


def no_final_newline(pkg):
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().rstrip(b"\n"))
    return Expect(OUT, len(_lines(pkg, "outcomes")), None, "final-newline")


def blank_line(pkg):
    lines = _lines(pkg, "outcomes")
    lines.insert(2, "")
    _put_lines(pkg, "outcomes", lines)
    return Expect(OUT, 3, None, "blank-line")


def empty_file(pkg):
    pkg.path("outcomes").write_bytes(b"")
    return Expect(OUT, None, None, "empty-file")


def header_only(pkg):
    path = pkg.path("outcomes")
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")
    return Expect(OUT, None, None, "no-rows")


def licence_not_cc_by(pkg):
    path = pkg.root / "datapackage.json"
    d = json.loads(path.read_text())
    d["licenses"] = [{"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}]
    path.write_text(json.dumps(d))
    return Expect("datapackage.json", None, "licenses", "license")


def seed_review_not_named(pkg):
    path = pkg.root / "datapackage.json"
    d = json.loads(path.read_text())
    d["sources"] = [{"title": "somewhere"}]
    path.write_text(json.dumps(d))
    return Expect("datapackage.json", None, "sources", "seed-attribution")


def citation_version_drift(pkg):
    path = pkg.root / "CITATION.cff"
    path.write_text(path.read_text().replace('version: "', 'version: "9', 1))
    return Expect("CITATION.cff", None, "version", "citation-consistency")


def citation_invalid(pkg):
    path = pkg.root / "CITATION.cff"
    path.write_text(path.read_text().replace("cff-version: 1.2.0", "cff-version: 1.2.0\ncolour: blue"))
    return Expect("CITATION.cff", None, None, "citation-invalid")


def approval_without_indication(pkg):
    pkg.add_rows("approvals", [{"approval_id": "fda-abrocitinib-example-2099", "drug_id": "abrocitinib",
                                "agency": "fda", "decision": "approval", "date": "2099-02-28",
                                "source_id": "example-2099-trial", "locator": "Letter"}])
    return Expect("data/approvals.csv", pkg.line_of("approvals", "fda-abrocitinib-example-2099"), "indication_id",
                  "approval-names-indication")


def impossible_date(pkg):
    pkg.add_rows("approvals", [{"approval_id": "fda-abrocitinib-example-2099", "drug_id": "abrocitinib",
                                "indication_id": "atopic-dermatitis", "agency": "fda", "decision": "approval",
                                "date": "2099-02-30", "source_id": "example-2099-trial", "locator": "Letter"}])
    return Expect("data/approvals.csv", pkg.line_of("approvals", "fda-abrocitinib-example-2099"), "date", "type")


def case_report_with_phase(pkg):
    pkg.add_rows("trials", [{"trial_id": "example-case", "design": "case-report", "phase": "2", "n_enrolled": "1",
                             "indication_id": "atopic-dermatitis", "source_id": "example-2099-trial", "locator": "Text"}])
    pkg.add_rows("trial_sources", [{"trial_id": "example-case", "source_id": "example-2099-trial", "role": "primary"}])
    return Expect("data/trials.csv", pkg.line_of("trials", "example-case"), "phase", "design-fields")


def series_arms_not_summing(pkg):
    pkg.add_rows("trials", [{"trial_id": "example-series", "design": "case-series", "indication_id": "atopic-dermatitis",
                             "n_enrolled": "5", "source_id": "example-2099-trial", "locator": "Text"}])
    pkg.add_rows("trial_sources", [{"trial_id": "example-series", "source_id": "example-2099-trial", "role": "primary"}])
    pkg.add_rows("arms", [{"arm_id": "example-series/abrocitinib-100mg", "trial_id": "example-series",
                           "role": "experimental", "drug_id": "abrocitinib", "n_enrolled": "4",
                           "source_id": "example-2099-trial", "locator": "Text"}])
    return Expect("data/trials.csv", pkg.line_of("trials", "example-series"), "n_enrolled", "arms-sum-to-trial")


STRUCTURAL = {
    duplicate_primary_key: "primary-key", duplicate_primary_key_appended: "primary-key",
    two_rows_one_estimand: "one-figure-per-estimand",
    two_ae_rows_one_estimand: "one-figure-per-estimand", dangling_trial_source: "foreign-key",
    unlinked_source: "source-linked-to-trial", arm_source_unlinked: "source-linked-to-trial",
    trial_source_unlinked: "source-linked-to-trial",
    outcome_without_result: "outcome-has-result", ae_without_result: "ae-has-result",
    renamed_column: "column-unknown", dropped_column: "column-missing", duplicated_column: "column-duplicate",
    reordered_columns: "column-order", missing_resource_file: "file-missing", missing_schema: "schema-missing",
    schema_without_a_field_the_rules_read: "schema-incomplete", schema_with_unknown_type: "schema-invalid",
    foreign_key_to_nowhere: "schema-invalid",
    too_many_cells: "row-cells", too_few_cells: "row-cells", out_of_order: "row-order", byte_order_mark: "bom",
    crlf: "line-ends", not_utf8: "encoding", unterminated_quote: "line-break-in-cell",
    unterminated_quote_mid_file: "line-break-in-cell", unneeded_quotes: "quoting", no_final_newline: "final-newline",
    blank_line: "blank-line", empty_file: "empty-file", header_only: "no-rows", licence_not_cc_by: "license",
    seed_review_not_named: "seed-attribution", citation_version_drift: "citation-consistency",
    citation_invalid: "citation-invalid", approval_without_indication: "approval-names-indication",
    impossible_date: "type", case_report_with_phase: "design-fields", series_arms_not_summing: "arms-sum-to-trial",
}
CATALOGUE: list[Corruption] = [_cell(*c) for c in CELLS] + [Corruption(f.__name__, f, rule)
                                                          for f, rule in STRUCTURAL.items()]
