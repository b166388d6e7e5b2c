"""`python -m jakderm coverage`: docs/coverage.md is current, counts what the data hold, lists every
empty required figure with its reason, and shows each trial of the list with its status."""
import csv
import hashlib
import shutil

import pytest

from jakderm import coverage
from pkgtools import ROOT, Pkg, run_cli

UNIVERSE_HEADER = ["name", "nct_id", "trial_id", "drug", "route", "indication", "phase", "primary_publication",
                   "doi_or_pmid", "status", "reason", "note"]


def run(*args, cwd=ROOT):
    return run_cli("coverage", *args, cwd=cwd)


def write_universe(root, rows):
    (root / "curation").mkdir(exist_ok=True)
    shutil.copy2(ROOT / "curation" / "trial-universe.schema.json", root / "curation")
    shutil.copy2(ROOT / "curation" / "README.md", root / "curation")
    with open(root / "curation" / "trial-universe.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=UNIVERSE_HEADER, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({"drug": "abrocitinib", "indication": "atopic dermatitis", "status": "include", **r})


def digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def small(tmp_path):
    """The package with the example trial, one arm size missing for a stated reason, and a list of
    four trials: one matched by NCT id, one by name, one not curated with a reason, one excluded."""
    pkg = Pkg(tmp_path)
    pkg.set("trials", "example-trial", "nct_id", "NCT09999999")
    pkg.set("arms", "example-trial/placebo", "n_randomized", "")
    pkg.set("arms", "example-trial/placebo", "rule_exception", "randomized-arm-has-n")
    pkg.set("arms", "example-trial/placebo", "note", "Placebo n_randomized empty: Table 1 was not readable. Other text.")
    write_universe(pkg.root, [
        {"name": "Example study (X-1)", "nct_id": "NCT09999999"},
        {"name": "BREEZE-AD1", "drug": "baricitinib"},
        {"name": "Future trial", "nct_id": "NCT01234567", "reason": "no readable source: abstract only, no arm figures"},
        {"name": "Not randomized after all", "status": "exclude", "reason": "single-arm, open-label"},
    ])
    return pkg


def test_the_committed_report_is_current():
    out = run("--check")
    assert out.returncode == 0, out.stderr + "\nrun `python -m jakderm coverage` and commit docs/coverage.md"


def test_readme_links_the_report_where_it_says_what_the_release_covers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What it covers today", 1)[1].split("\n## ", 1)[0]
    assert "(docs/coverage.md)" in section


def test_totals_per_trial_figures_and_reasons(small):
    cov = coverage.compute(small.root)
    example = next(tc for tc in cov.trials if tc.trial_id == "example-trial")
    assert not example.all_arm_sizes
    assert example.primary_figure_every_arm  # easi-75 at week 16 on both arms
    assert not example.ae_counts_every_arm  # only the abrocitinib arm has an adverse-event row
    assert example.endpoints == [("easi-75", "w16", 2, 2, 2)]
    assert example.ae_terms == [("any-ae", "w16", 1, 1)]
    assert example.arm_gap_reason == {"example-trial/placebo": "Placebo n_randomized empty: Table 1 was not readable."}
    text = coverage.render_markdown(cov)
    part = text.split('<a id="example-trial"></a>', 1)[1].split("\n### ", 1)[0]
    assert "| `placebo` | placebo | placebo |  | Placebo n_randomized empty: Table 1 was not readable. |" in part
    assert "`easi-75` w16 (2/2 arms, 2 rows, 2 with % and N)" in part
    assert "`any-ae` w16 (1 arms, 1 with both counts)" in part
    totals = dict((label, value) for label, value, _ in cov.totals)
    n_rand = sum(1 for tc in cov.trials if tc.randomized)
    assert totals["Randomized trials with every arm's size"] == \
        f"{sum(tc.all_arm_sizes for tc in cov.trials if tc.randomized)} of {n_rand}"
    assert totals["Trials of the list"] == "4: 2 curated, 1 not curated (0 without a reason yet), 1 excluded"
    assert totals["Validator warnings (the curation backlog)"].startswith(str(cov.n_warnings))


def test_the_list_shows_each_trial_with_its_status_and_reason(small):
    cov = coverage.compute(small.root)
    status = {e.row["name"]: (e.status, e.trial_ids, e.reason) for e in cov.listed}
    assert status["Example study (X-1)"] == ("curated", ["example-trial"], "")
    assert status["BREEZE-AD1"] == ("curated", ["breeze-ad1"], "")
    assert status["Future trial"] == ("not curated", [], "no readable source: abstract only, no arm figures")
    assert status["Not randomized after all"] == ("excluded", [], "single-arm, open-label")
    assert cov.by_indication == [("atopic dermatitis", 4, 2, 1, 1)]
    text = coverage.render_markdown(cov)
    assert "| Future trial | NCT01234567 | abrocitinib | atopic dermatitis |  | not curated | no readable source" in text
    assert "## Coverage statement" in text and "**What was searched.**" in text
    assert text.index("## Coverage statement") < text.index("## Totals") < text.index("## The trial list")
    assert "breeze-ad2" in cov.beyond_list and "example-trial" not in cov.beyond_list


def test_a_required_figure_empty_without_a_note_says_so(small):
    small.set("outcomes", "example-trial/placebo/easi-75/w16", "analysed", "")
    small.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "")
    text = coverage.render_markdown(coverage.compute(small.root))
    assert "- `placebo/easi-75/w16`: analysed — no reason given in the row's note" in text


def test_text_from_the_data_cannot_break_the_markdown(small):
    small.set("arms", "example-trial/placebo", "note", "n_randomized empty | <script>alert(1)</script> [x](javascript:y)")
    text = coverage.render_markdown(coverage.compute(small.root))
    row = next(line for line in text.splitlines() if line.startswith("| `placebo` | placebo"))
    assert row.count(" | ") == 4  # five cells: the pipe in the note is escaped
    assert "<script>" not in text and "\\<script\\>" in text and "\\[x\\]" in text


def test_command_writes_the_report_then_check_passes(small):
    out = run(str(small.root))
    assert out.returncode == 0, out.stderr
    assert (small.root / "docs" / "coverage.md").read_text(encoding="utf-8").startswith("# Coverage of ")
    assert run(str(small.root), "--check").returncode == 0


def test_check_fails_on_a_stale_report_and_changes_nothing(small):
    assert run(str(small.root)).returncode == 0
    small.set("arms", "example-trial/placebo", "note", "n_randomized empty: another reason")
    before = digests(small.root)
    out = run(str(small.root), "--check")
    assert out.returncode == 1 and "stale" in out.stderr
    assert digests(small.root) == before


def test_out_writes_elsewhere(small, tmp_path):
    target = tmp_path / "elsewhere" / "report.md"
    assert run(str(small.root), "--out", str(target)).returncode == 0
    assert target.read_text(encoding="utf-8") == coverage.render_markdown(coverage.compute(small.root))
    assert not (small.root / "docs" / "coverage.md").exists()


def test_reasons_from_curators_go_into_the_list_and_the_report(small, tmp_path):
    reasons = tmp_path / "reasons.csv"
    reasons.write_text("trial_name,nct_id,reason\n"
                       "Future trial,NCT01234567,\"only a press release, no per-arm figures\"\n"
                       "not the listed name,NCT01234567,duplicate line by NCT id wins\n"
                       "breeze-ad1,,curated already\n", encoding="utf-8")
    out = run(str(small.root), "--reasons", str(reasons))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(open(small.root / "curation" / "trial-universe.csv", encoding="utf-8")))
    by_name = {r["name"]: r for r in rows}
    assert by_name["Future trial"]["reason"] == "duplicate line by NCT id wins"
    assert by_name["BREEZE-AD1"]["reason"] == "curated already"
    assert [r["name"] for r in rows] == ["Example study (X-1)", "BREEZE-AD1", "Future trial", "Not randomized after all"]
    report = (small.root / "docs" / "coverage.md").read_text(encoding="utf-8")
    assert "| not curated | duplicate line by NCT id wins |" in report
    assert run(str(small.root), "--check").returncode == 0


def test_reasons_can_exclude_a_trial(small, tmp_path):
    reasons = tmp_path / "reasons.csv"
    reasons.write_text("trial_name,nct_id,reason,status\nFuture trial,,duplicate of NCT09999999,exclude\n",
                       encoding="utf-8")
    assert run(str(small.root), "--reasons", str(reasons)).returncode == 0
    cov = coverage.compute(small.root)
    assert {e.row["name"]: e.status for e in cov.listed}["Future trial"] == "excluded"


@pytest.mark.parametrize("body,where", [
    ("trial_name,nct_id,reason\nNo such trial,NCT07777777,x\n", "reasons.csv:2 [trial_name]"),
    ("trial_name,nct_id,reason,status\nFuture trial,,x,maybe\n", "reasons.csv:2 [status]"),
    ("trial_name,nct_id,reason\nFuture trial,,\n", "reasons.csv:2 [reason]"),
    ("name,reason\nFuture trial,x\n", "reasons.csv:1: header"),
])
def test_bad_reasons_name_file_line_and_column_and_change_nothing(small, tmp_path, body, where):
    reasons = tmp_path / "reasons.csv"
    reasons.write_text(body, encoding="utf-8")
    before = digests(small.root)
    out = run(str(small.root), "--reasons", str(reasons))
    assert out.returncode == 1
    assert where in out.stderr, out.stderr
    assert digests(small.root) == before


@pytest.mark.parametrize("row,where", [
    ({"name": "A", "nct_id": "NCT123"}, "trial-universe.csv:6 [nct_id]"),
    ({"name": "A", "status": "maybe"}, "trial-universe.csv:6 [status]"),
    ({"name": "A", "status": "exclude"}, "trial-universe.csv:6 [reason]"),
    ({"name": "BREEZE-AD1"}, "trial-universe.csv:6 [name]"),
])
def test_a_bad_list_row_is_named_and_nothing_is_written(small, row, where):
    with open(small.root / "curation" / "trial-universe.csv", "a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=UNIVERSE_HEADER, lineterminator="\n").writerow(
            {"drug": "x", "indication": "y", "status": "include", **row})
    before = digests(small.root)
    out = run(str(small.root))
    assert out.returncode == 1 and where in out.stderr, out.stderr
    assert digests(small.root) == before


def test_an_invalid_package_gives_no_report(small):
    small.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "500")
    before = digests(small.root)
    out = run(str(small.root))
    assert out.returncode == 1
    assert "does not validate" in out.stderr and "data/outcomes.csv" in out.stderr
    assert out.stderr.startswith("jakderm coverage: the package does not validate ("), out.stderr
    assert digests(small.root) == before


def test_reason_from_note_picks_the_sentence_about_the_column():
    note = "Randomized 2:1. n_randomized empty: CONSORT not readable. Dose from Table 1."
    assert coverage.reason_from_note(note, ("n_randomized",)) == "n_randomized empty: CONSORT not readable."
    assert coverage.reason_from_note("Figures from the abstract. Safety N not stated.", ("participants_at_risk",)) \
        == "Safety N not stated."
    assert coverage.reason_from_note("", ("analysed",)) == ""
    assert coverage.reason_from_note("x " * 400, ("analysed",)).endswith("…")
