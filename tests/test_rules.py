"""Every rule fails on a corrupted copy, at the exact file, line and column.

Each case corrupts one cell (or one file) of a copy of the package holding the synthetic example
trial (pkgtools.EXAMPLE) and asserts the finding's rule and location.
"""
import json

import pytest

from pkgtools import has, show

OUT = "data/outcomes.csv"
ARMS = "data/arms.csv"
AES = "data/adverse_events.csv"
TRIALS = "data/trials.csv"
PBO_EASI = "example-trial/placebo/easi-75/w16"
ACT_EASI = "example-trial/abrocitinib-100mg/easi-75/w16"
ACT_AE = "example-trial/abrocitinib-100mg/any-ae/w16"
ACT_ARM = "example-trial/abrocitinib-100mg"

# (table, row key, column, bad value, rule, reported column or None = same column)
CELL_CASES = [
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
    ("outcomes", PBO_EASI, "note", "=HYPERLINK(\"x\")", "formula-injection", None),
    ("outcomes", PBO_EASI, "responders", "101", "responders-within-analysed", None),
    ("outcomes", PBO_EASI, "analysed", "101", "analysed-within-arm", None),
    ("outcomes", PBO_EASI, "percent", "12.6", "percent-matches-counts", None),
    ("outcomes", PBO_EASI, "percent", "13", "percent-matches-counts", None),
    ("outcomes", PBO_EASI, "timepoint_weeks", "24", "timepoint-within-randomized-period", None),
    ("adverse_events", ACT_AE, "participants_with_event", "200", "events-within-at-risk", None),
    ("adverse_events", ACT_AE, "participants_at_risk", "201", "at-risk-within-arm", None),
    ("adverse_events", ACT_AE, "percent", "66.3", "percent-matches-counts", None),
    ("adverse_events", ACT_AE, "ae_term_id", "sneezing", "foreign-key", None),
    ("adverse_events", ACT_AE, "period_weeks", "-4", "minimum", None),
    ("arms", ACT_ARM, "drug_id", "", "arm-drug-matches-role", None),
    ("arms", ACT_ARM, "drug_id", "abrocitinibb", "foreign-key", None),
    ("arms", ACT_ARM, "trial_id", "no-such-trial", "foreign-key", None),
    ("arms", ACT_ARM, "dose_unit", "mcg", "enum", None),
    ("arms", ACT_ARM, "n_randomized", "", "randomized-arm-has-n", None),
    ("arms", "example-trial/placebo", "drug_id", "abrocitinib", "arm-drug-matches-role", None),
    ("arms", "example-trial/placebo", "dose", "5", "arm-drug-matches-role", None),
    ("trials", "example-trial", "nct_id", "NCT123", "pattern", None),
    ("trials", "example-trial", "eudract_id", "2018-1234-1", "pattern", None),
    ("trials", "example-trial", "design", "rct", "enum", None),
    ("trials", "example-trial", "phase", "III", "enum", None),
    ("trials", "example-trial", "indication_id", "eczema-x", "foreign-key", None),
    ("trials", "example-trial", "n_randomized", "", "design-fields", None),
    ("trials", "example-trial", "randomized_period_weeks", "", "design-fields", None),
    ("trials", "example-trial", "n_randomized", "301", "arms-sum-to-trial", None),
    ("sources", "example-2099-trial", "doi", "doi:10.1000/xyz", "pattern", None),
    ("sources", "example-2099-trial", "pmid", "PMID 123", "pattern", None),
    ("sources", "example-2099-trial", "pmcid", "123", "pattern", None),
    ("sources", "example-2099-trial", "source_type", "blog", "enum", None),
    ("sources", "example-2099-trial", "citation", "", "required", None),
    ("sources", "example-2099-trial", "url", "", "source-has-identifier", "doi"),
    ("sources", "example-2099-trial", "corrects_source_id", "example-2099-trial", "correction-not-self", None),
    ("sources", "example-2099-trial", "corrects_source_id", "nothing-1900", "foreign-key", None),
    ("sources", "example-2099-trial", "seed_reference", "47", "maximum", None),
    ("trial_sources", "example-trial", "role", "author", "enum", None),
]


@pytest.mark.parametrize("table,key,column,value,rule,reported", CELL_CASES,
                         ids=[f"{c[0]}.{c[2]}={c[3]!r}->{c[4]}" for c in CELL_CASES])
def test_cell_corruption_is_located(pkg, table, key, column, value, rule, reported):
    line = pkg.set(table, key, column, value)
    report = pkg.validate()
    assert has(report, rule, f"data/{table}.csv", line, reported or column), show(report)
    assert not report.valid


def test_trial_sources_dangling_source(pkg):
    pkg.add_rows("trial_sources", [{"trial_id": "example-trial", "source_id": "ghost-2099", "role": "secondary"}])
    report = pkg.validate()
    assert has(report, "foreign-key", "data/trial_sources.csv", pkg.line_of("trial_sources", "example-trial") + 1,
               "source_id"), show(report)


def test_duplicate_primary_key_names_the_first_line(pkg):
    header, rows = pkg.read("outcomes")
    dup = dict(next(r for r in rows if r["outcome_id"] == PBO_EASI))
    pkg.write("outcomes", header, rows + [dup])
    first = pkg.line_of("outcomes", PBO_EASI)
    report = pkg.validate()
    finding = next(f for f in report.findings if f.rule == "primary-key")
    assert (finding.file, finding.line, finding.column) == (OUT, first + 1, "outcome_id")
    assert f"line {first}" in finding.message


def test_two_rows_for_one_estimand(pkg):
    pkg.add_rows("outcomes", [{
        "outcome_id": PBO_EASI + "/again", "arm_id": "example-trial/placebo", "endpoint_id": "easi-75",
        "timepoint_weeks": "16", "responders": "13", "analysed": "100", "population": "FAS", "imputation": "NRI",
        "source_id": "example-2099-trial", "locator": "Table 4"}])
    report = pkg.validate()
    assert has(report, "one-figure-per-estimand", OUT, pkg.line_of("outcomes", PBO_EASI + "/again"), "arm_id"), \
        show(report)


def test_another_imputation_of_the_same_estimand_is_allowed(pkg):
    pkg.add_rows("outcomes", [{
        "outcome_id": PBO_EASI + "/oc", "arm_id": "example-trial/placebo", "endpoint_id": "easi-75",
        "timepoint_weeks": "16", "responders": "11", "analysed": "90", "population": "FAS", "imputation": "OC",
        "source_id": "example-2099-trial", "locator": "Table 4"}])
    assert pkg.validate().valid


def test_source_must_be_linked_to_the_trial(pkg):
    pkg.add_rows("sources", [{"source_id": "other-2099-paper", "source_type": "article", "citation": "Other B. Paper.",
                              "url": "https://example.org/other"}])
    line = pkg.set("outcomes", PBO_EASI, "source_id", "other-2099-paper")
    report = pkg.validate()
    assert has(report, "source-linked-to-trial", OUT, line, "source_id"), show(report)


def test_outcome_needs_a_timepoint(pkg):
    line = pkg.set("outcomes", PBO_EASI, "timepoint_weeks", "")
    assert has(pkg.validate(), "timepoint-stated", OUT, line, "timepoint_weeks")


def test_outcome_needs_a_result(pkg):
    pkg.set("outcomes", PBO_EASI, "responders", "")
    line = pkg.set("outcomes", PBO_EASI, "percent", "")
    assert has(pkg.validate(), "outcome-has-result", OUT, line, "responders")


def test_case_report_has_no_phase_and_gives_n_enrolled(pkg):
    pkg.add_rows("trials", [{"trial_id": "example-case", "design": "case-report", "phase": "2",
                             "indication_id": "atopic-dermatitis"}])
    line = pkg.line_of("trials", "example-case")
    report = pkg.validate()
    assert has(report, "design-fields", TRIALS, line, "phase"), show(report)
    assert has(report, "design-fields", TRIALS, line, "n_enrolled"), show(report)


def test_non_randomized_arms_sum_to_n_enrolled(pkg):
    pkg.add_rows("trials", [{"trial_id": "example-series", "design": "case-series", "indication_id": "atopic-dermatitis",
                             "n_enrolled": "5"}])
    pkg.add_rows("trial_sources", [{"trial_id": "example-series", "source_id": "example-2099-trial", "role": "primary"}])
    pkg.add_rows("arms", [{"arm_id": "example-series/abrocitinib-100mg", "trial_id": "example-series",
                           "role": "experimental", "drug_id": "abrocitinib", "n_enrolled": "4",
                           "source_id": "example-2099-trial", "locator": "Text"}])
    report = pkg.validate()
    assert has(report, "arms-sum-to-trial", TRIALS, pkg.line_of("trials", "example-series"), "n_enrolled"), show(report)


def test_approval_needs_indication_and_a_real_date(pkg):
    pkg.add_rows("drugs", [{"drug_id": "abrocitinib", "inn": "Abrocitinib", "drug_class": "jak-inhibitor"}]) \
        if not any(r["drug_id"] == "abrocitinib" for r in pkg.read("drugs")[1]) else None
    pkg.add_rows("approvals", [{"approval_id": "fda-abrocitinib-example-2099", "drug_id": "abrocitinib",
                                "agency": "fda", "decision": "approval", "date": "2099-02-30",
                                "source_id": "example-2099-trial", "locator": "Letter"}])
    line = pkg.line_of("approvals", "fda-abrocitinib-example-2099")
    report = pkg.validate()
    assert has(report, "approval-names-indication", "data/approvals.csv", line, "indication_id"), show(report)
    assert has(report, "type", "data/approvals.csv", line, "date"), show(report)


# --- rule_exception -------------------------------------------------------------------------

def test_rule_exception_turns_that_rule_into_a_warning(pkg):
    pkg.set("outcomes", PBO_EASI, "percent", "12.6")
    line = pkg.set("outcomes", PBO_EASI, "rule_exception", "percent-matches-counts")
    report = pkg.validate()
    assert report.valid, show(report)
    assert has(report, "percent-matches-counts", OUT, line, "percent", severity="warning")


def test_rule_exception_naming_another_rule_leaves_the_error(pkg):
    pkg.set("outcomes", PBO_EASI, "percent", "12.6")
    line = pkg.set("outcomes", PBO_EASI, "rule_exception", "analysed-within-arm")
    report = pkg.validate()
    assert has(report, "percent-matches-counts", OUT, line, "percent"), show(report)
    assert has(report, "rule-exception-unused", OUT, line, "rule_exception"), show(report)


def test_rule_exception_must_name_a_known_rule(pkg):
    line = pkg.set("arms", ACT_ARM, "rule_exception", "whatever")
    assert has(pkg.validate(), "enum", ARMS, line, "rule_exception")


# --- header and file form ---------------------------------------------------------------

def _edit_text(pkg, table, fn):
    path = pkg.path(table)
    path.write_bytes(fn(path.read_bytes()))


@pytest.mark.parametrize("edit,rule,line,column", [
    (lambda b: b.replace(b"percent,", b"pct,", 1), "column-unknown", 1, "pct"),
    (lambda b: b.replace(b"percent,", b"pct,", 1), "column-missing", 1, "percent"),
    (lambda b: b.replace(b",note", b",note,note", 1), "column-duplicate", 1, "note"),
], ids=["renamed-unknown", "renamed-missing", "duplicated"])
def test_header_problems(pkg, edit, rule, line, column):
    _edit_text(pkg, "adverse_events", lambda b: b if b"pct" else b)
    # header of outcomes holds both percent and note
    _edit_text(pkg, "outcomes", edit)
    assert has(pkg.validate(), rule, OUT, line, column), show(pkg.validate())


def test_dropped_column(pkg):
    header, rows = pkg.read("outcomes")
    pkg.write("outcomes", [h for h in header if h != "imputation"], rows, canonical=False)
    assert has(pkg.validate(), "column-missing", OUT, 1, "imputation")


def test_reordered_columns(pkg):
    header, rows = pkg.read("outcomes")
    header[1], header[2] = header[2], header[1]
    pkg.write("outcomes", header, rows, canonical=False)
    report = pkg.validate()
    assert has(report, "column-order", OUT, 1, None), show(report)
    assert not has(report, "foreign-key"), "columns are matched by name, not position"


def _lines(pkg, table):
    return pkg.path(table).read_text(encoding="utf-8").split("\n")


def test_byte_order_mark(pkg):
    _edit_text(pkg, "outcomes", lambda b: b"\xef\xbb\xbf" + b)
    assert has(pkg.validate(), "bom", OUT, 1, None)


def test_crlf_line_ends(pkg):
    _edit_text(pkg, "outcomes", lambda b: b.replace(b"\n", b"\r\n"))
    report = pkg.validate()
    assert has(report, "line-ends", OUT, 1, None), show(report)
    assert not has(report, "type"), "values are still read correctly"


def test_bytes_that_are_not_utf8(pkg):
    line = pkg.set("outcomes", PBO_EASI, "note", "caf\u00e9")
    _edit_text(pkg, "outcomes", lambda b: b.replace("café".encode(), "café".encode("latin-1")))
    assert has(pkg.validate(), "encoding", OUT, line, None)


def test_unterminated_quote_swallowing_rows(pkg):
    line = pkg.set("outcomes", PBO_EASI, "note", 'says "maybe')
    _edit_text(pkg, "outcomes", lambda b: b.replace(b'"says ""maybe"', b'"says maybe'))
    report = pkg.validate()
    assert has(report, "line-break-in-cell", OUT, line, None), show(report)


def test_row_with_too_many_and_too_few_cells(pkg):
    lines = _lines(pkg, "outcomes")
    target = pkg.line_of("outcomes", PBO_EASI)
    short = pkg.line_of("outcomes", ACT_EASI)
    lines[target - 1] += ",extra"
    lines[short - 1] = lines[short - 1].rsplit(",", 1)[0]
    pkg.path("outcomes").write_text("\n".join(lines), encoding="utf-8")
    report = pkg.validate()
    assert has(report, "row-cells", OUT, target, None), show(report)
    assert has(report, "row-cells", OUT, short, None), show(report)


def test_unneeded_quotes(pkg):
    lines = _lines(pkg, "outcomes")
    target = pkg.line_of("outcomes", PBO_EASI)
    lines[target - 1] = lines[target - 1].replace("FAS", '"FAS"')
    pkg.path("outcomes").write_text("\n".join(lines), encoding="utf-8")
    report = pkg.validate()
    assert has(report, "quoting", OUT, target, None), show(report)
    assert not has(report, "enum"), "the value is still read as FAS"


def test_missing_final_newline(pkg):
    _edit_text(pkg, "outcomes", lambda b: b.rstrip(b"\n"))
    report = pkg.validate()
    n = len(_lines(pkg, "outcomes"))
    assert has(report, "final-newline", OUT, n, None), show(report)


def test_blank_line(pkg):
    lines = _lines(pkg, "outcomes")
    lines.insert(2, "")
    pkg.path("outcomes").write_text("\n".join(lines), encoding="utf-8")
    assert has(pkg.validate(), "blank-line", OUT, 3, None)


def test_empty_file(pkg):
    pkg.path("outcomes").write_bytes(b"")
    assert has(pkg.validate(), "empty-file", OUT, None, None)


def test_rows_out_of_primary_key_order(pkg):
    header, rows = pkg.read("outcomes")
    rows.reverse()
    pkg.write("outcomes", header, rows, canonical=False)
    report = pkg.validate()
    assert has(report, "row-order", OUT, 3, "outcome_id"), show(report)


# --- attribution ------------------------------------------------------------------------

def test_package_licence_must_be_cc_by(pkg):
    path = pkg.root / "datapackage.json"
    d = json.loads(path.read_text())
    d["licenses"] = [{"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/"}]
    path.write_text(json.dumps(d))
    assert has(pkg.validate(), "license", "datapackage.json", None, "licenses")


def test_package_sources_must_name_the_seed_review(pkg):
    path = pkg.root / "datapackage.json"
    d = json.loads(path.read_text())
    d["sources"] = [{"title": "somewhere"}]
    path.write_text(json.dumps(d))
    assert has(pkg.validate(), "seed-attribution", "datapackage.json", None, "sources")


def test_citation_must_match_the_package_version(pkg):
    path = pkg.root / "CITATION.cff"
    path.write_text(path.read_text().replace('version: "', 'version: "9', 1))
    assert has(pkg.validate(), "citation-consistency", "CITATION.cff", None, "version")


def test_citation_must_be_valid_cff(pkg):
    path = pkg.root / "CITATION.cff"
    path.write_text(path.read_text().replace("cff-version: 1.2.0", "cff-version: 1.2.0\ncolour: blue"))
    assert has(pkg.validate(), "citation-invalid", "CITATION.cff")


def test_citation_missing(pkg):
    (pkg.root / "CITATION.cff").unlink()
    assert has(pkg.validate(), "citation-missing", "CITATION.cff")


def test_schema_file_missing_is_reported_not_raised(pkg):
    (pkg.root / "schemas" / "ae_terms.json").unlink()
    report = pkg.validate()
    assert has(report, "schema-missing", "schemas/ae_terms.json"), show(report)
    assert report.exit_code == 1
