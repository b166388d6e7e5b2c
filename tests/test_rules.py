"""What a catalogue entry cannot say (in process): warnings, messages, and what must stay allowed.

The catalogue of corruptions (corruptions.py) runs through the command line, each entry with its
complete set of errors, in test_harness.py.
"""
from corruptions import OUT, PBO_EASI

from pkgtools import has, show


def test_duplicate_primary_key_names_the_first_line(pkg):
    header, rows = pkg.read("outcomes")
    dup = dict(next(r for r in rows if r["outcome_id"] == PBO_EASI))
    pkg.write("outcomes", header, [*rows, dup])
    first = pkg.line_of("outcomes", PBO_EASI)
    finding = next(f for f in pkg.validate().findings if f.rule == "primary-key")
    assert f"line {first}" in finding.message


def test_another_imputation_of_the_same_estimand_is_allowed(pkg):
    pkg.add_rows("outcomes", [{
        "outcome_id": PBO_EASI + "/oc", "arm_id": "example-trial/placebo", "endpoint_id": "easi-75",
        "timepoint_weeks": "16", "responders": "11", "analysed": "90", "population": "FAS", "imputation": "OC",
        "source_id": "example-2099-trial", "locator": "Table 4"}])
    assert pkg.validate().valid


def test_a_case_report_gives_n_enrolled(pkg):
    pkg.add_rows("trials", [{"trial_id": "example-case", "design": "case-report", "indication_id": "atopic-dermatitis"}])
    assert has(pkg.validate(), "design-fields", "data/trials.csv", pkg.line_of("trials", "example-case"), "n_enrolled")


def test_one_bad_cell_gives_one_error_not_a_cascade(pkg):
    line = pkg.set("outcomes", PBO_EASI, "analysed", "-5")
    report = pkg.validate()
    assert [(f.line, f.column, f.rule) for f in report.errors] == [(line, "analysed", "minimum")], show(report)


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


