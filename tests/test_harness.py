"""The validator as a contributor meets it: `validate.py --format json` on a corrupted copy.

For every corruption of the catalogue (corruptions.py): exit 1, an error at the corrupted file,
line and column, no other error (the entry's complete set), and not one byte of the package
changed. Then the other side: edits a
contributor legitimately makes must pass, and garbage input gets one clear line, never a
traceback.
"""
import json

import pytest
from conftest import tree_digest
from corruptions import ACT_EASI, CATALOGUE, PBO_EASI

from pkgtools import Pkg


def _run(pkg, *args):
    before = tree_digest(pkg.root)
    out = pkg.cli(*args)
    assert tree_digest(pkg.root) == before, "validate.py changed a file"
    assert "Traceback" not in out.stdout + out.stderr
    return out


@pytest.mark.parametrize("corruption", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_cli_gives_exactly_the_corruptions_findings(tmp_path, corruption):
    """At the corrupted file, line and column, with a message, and nothing else: no follow-on of
    a reported cell (the complete set is the catalogue entry's)."""
    pkg = Pkg(tmp_path)
    expect = corruption.apply(pkg)
    out = _run(pkg, "--format", "json")
    assert out.returncode == 1, out.stdout[-2000:]
    errors = json.loads(out.stdout)["errors"]
    located = [e for e in errors if (e["file"], e["line"], e["column"], e["rule"])
               == (expect.file, expect.line, expect.column, expect.rule)]
    assert located, json.dumps(errors, indent=1)[:3000]
    assert located[0]["message"]
    assert {(e["file"], e["line"], e["column"], e["rule"]) for e in errors} == expect.complete(), \
        json.dumps(errors, indent=1)[:3000]


def test_the_catalogue_covers_every_rule_and_constraint():
    """Forty kinds at least; every rule of rules.py and every constraint kind in schemas/ is in it."""
    import json as _json

    from jakderm import rules
    from pkgtools import ROOT
    covered = {c.rule for c in CATALOGUE}
    assert len(CATALOGUE) >= 40
    assert {r.name for r in rules.RULES} <= covered, {r.name for r in rules.RULES} - covered
    kinds = {"type", "foreign-key", "primary-key"}
    for schema in (ROOT / "schemas").glob("*.json"):
        for f in _json.loads(schema.read_text())["fields"]:
            kinds |= set(f.get("constraints", {})) - {"unique"}  # no field of ours is `unique`
    assert kinds <= covered, kinds - covered


# --- valid changes pass ---------------------------------------------------------------------

def _add_trial(pkg):  # the example trial itself: sources, trial, link, arms, outcomes, adverse events
    pass


def _add_source(pkg):
    pkg.add_rows("sources", [{"source_id": "example-2099-erratum", "source_type": "erratum",
                              "citation": "Example A. Correction to: A synthetic trial. Test J. 2099;1:3.",
                              "doi": "10.9999/example.erratum", "corrects_source_id": "example-2099-trial"}])
    pkg.add_rows("trial_sources", [{"trial_id": "example-trial", "source_id": "example-2099-erratum",
                                    "role": "correction"}])


def _add_endpoint(pkg):
    pkg.add_rows("endpoints", [{"endpoint_id": "pasi-50", "label": "PASI-50", "instrument": "PASI",
                                "definition": "At least 50% improvement from baseline in the PASI score."}])


def _edit_note(pkg):
    pkg.set("outcomes", PBO_EASI, "note", 'Read from Table 2, "NRI" footnote; commas, too.')


def _change_responders_with_percent(pkg):
    pkg.set("outcomes", PBO_EASI, "responders", "13")
    pkg.set("outcomes", PBO_EASI, "percent", "13.0")


def _add_timepoint(pkg):
    pkg.add_rows("outcomes", [{"outcome_id": "example-trial/placebo/easi-75/w8", "arm_id": "example-trial/placebo",
                               "endpoint_id": "easi-75", "timepoint_weeks": "8", "responders": "7", "analysed": "100",
                               "percent": "7", "population": "FAS", "imputation": "NRI",
                               "source_id": "example-2099-trial", "locator": "Figure 2A"}])


def _add_non_randomized_study(pkg):
    pkg.add_rows("sources", [{"source_id": "example-2099-case", "source_type": "article",
                              "citation": "Example C. A case. Test J Case Rep. 2099;2:1.", "pmid": "99999999"}])
    pkg.add_rows("trials", [{"trial_id": "example-2099-case", "design": "case-report",
                             "indication_id": "atopic-dermatitis", "n_enrolled": "1",
                             "source_id": "example-2099-case", "locator": "Case"}])
    pkg.add_rows("trial_sources", [{"trial_id": "example-2099-case", "source_id": "example-2099-case",
                                    "role": "primary"}])
    pkg.add_rows("arms", [{"arm_id": "example-2099-case/abrocitinib", "trial_id": "example-2099-case",
                           "role": "experimental", "drug_id": "abrocitinib", "route": "oral", "n_enrolled": "1",
                           "source_id": "example-2099-case", "locator": "Case"}])
    pkg.add_rows("outcomes", [{"outcome_id": "example-2099-case/abrocitinib/iga-0-1/t-6-months",
                               "arm_id": "example-2099-case/abrocitinib", "endpoint_id": "iga-0-1",
                               "timepoint_text": "6 months", "responders": "1", "analysed": "1",
                               "population": "as-treated", "imputation": "as-reported",
                               "source_id": "example-2099-case", "locator": "Case"}])


def _add_adverse_event_without_percent(pkg):
    pkg.add_rows("adverse_events", [{"adverse_event_id": "example-trial/placebo/any-ae/w16",
                                     "arm_id": "example-trial/placebo", "ae_term_id": "any-ae", "period_weeks": "16",
                                     "participants_with_event": "51", "participants_at_risk": "100",
                                     "source_id": "example-2099-trial", "locator": "Table 3"}])


def _record_a_source_inconsistency(pkg):
    pkg.set("outcomes", ACT_EASI, "percent", "42.5")
    pkg.set("outcomes", ACT_EASI, "rule_exception", "percent-matches-counts")
    pkg.set("outcomes", ACT_EASI, "note", "Table 2 prints 84 (42.5%); 84/200 is 42.0%. Recorded as printed.")


def _add_approval(pkg):
    pkg.add_rows("approvals", [{"approval_id": "fda-abrocitinib-atopic-dermatitis-2099", "drug_id": "abrocitinib",
                                "indication_id": "atopic-dermatitis", "agency": "fda", "decision": "approval",
                                "date": "2099-01-14", "route": "oral", "population": "adults",
                                "source_id": "example-2099-trial", "locator": "Letter"}])


def _add_drug_with_targets(pkg):
    pkg.add_rows("drugs", [{"drug_id": "examplecitinib", "inn": "examplecitinib", "drug_class": "tyk2-inhibitor"}])
    pkg.add_rows("drug_targets", [{"drug_id": "examplecitinib", "target": "TYK2", "source_id": "example-2099-trial",
                                   "locator": "Introduction"}])


def _empty_a_count_the_source_does_not_report(pkg):
    pkg.set("outcomes", ACT_EASI, "responders", "")  # percent stays: a percent-only row


VALID_CHANGES = [_add_trial, _add_source, _add_endpoint, _edit_note, _change_responders_with_percent, _add_timepoint,
                 _add_non_randomized_study, _add_adverse_event_without_percent, _record_a_source_inconsistency,
                 _add_approval, _add_drug_with_targets, _empty_a_count_the_source_does_not_report]


@pytest.mark.parametrize("change", VALID_CHANGES, ids=[c.__name__.strip("_") for c in VALID_CHANGES])
def test_a_legitimate_change_passes(tmp_path, change):
    pkg = Pkg(tmp_path)
    change(pkg)
    out = _run(pkg, "--format", "json")
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["errors"] == [], json.dumps(report["errors"], indent=1)[:2000]


# --- bad files: one clear line, a non-zero exit, never a traceback ----------------------------

@pytest.mark.parametrize("corruption", [c for c in CATALOGUE if c.name in {
    "byte_order_mark", "crlf", "not_utf8", "unterminated_quote", "empty_file", "header_only", "missing_schema",
    "outcomes.note='=HYPERLINK(\"x\")'->formula-injection"}], ids=lambda c: c.name)
def test_bad_file_gets_one_clear_line(tmp_path, corruption):
    pkg = Pkg(tmp_path)
    expect = corruption.apply(pkg)
    out = _run(pkg)
    assert out.returncode == 1
    where = expect.file + (f":{expect.line}" if expect.line else "")
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("ERROR " + where) and expect.rule in ln]
    assert len(lines) == 1, out.stdout[-3000:]


@pytest.mark.parametrize("text,where", [
    ('{\n  "name": "x",\n  oops\n}\n', "datapackage.json:3:3"),
    ("", "datapackage.json:1:1"),
    ("[1, 2]", "datapackage.json"),
    ('{"name": "x"}', "datapackage.json"),
])
def test_broken_descriptor_exits_2_with_its_location(tmp_path, text, where):
    pkg = Pkg(tmp_path, with_example=False)
    (pkg.root / "datapackage.json").write_text(text)
    out = _run(pkg)
    assert out.returncode == 2, out.stdout
    assert out.stdout.count("\n") <= 2 and where in out.stdout


def test_the_command_line_process_spares_what_it_can_and_a_library_user_keeps_their_own():
    """In the command line's process, hypothesis stays unimported (cli.skip_unused_imports), so
    Pandera's check backend does not import it. The validate command pauses the collector while
    pandas, Pandera and frictionless are imported. It then freezes their objects, so that no later
    collection walks them, nor the one at exit. It does that once per process and leaves the
    collector on. A process that has imported hypothesis and turned its collector off keeps both
    as they were."""
    import subprocess
    import sys

    from pkgtools import ROOT
    probe = ("import gc, io, sys, contextlib; sys.path.insert(0, {root!r}); {before}"
             "from jakderm import cli\n"
             "cli.skip_unused_imports()\n"
             "def validate():\n"
             "    with contextlib.redirect_stdout(io.StringIO()):\n"
             "        assert cli.main(['validate', {root!r}]) == 0\n"
             "    return gc.get_freeze_count()\n"
             "first = validate(); second = validate()\n"
             "print(first, second, gc.isenabled(), sys.modules.get('hypothesis') is not None)")
    fresh = subprocess.run([sys.executable, "-c", probe.format(root=str(ROOT), before="")],
                           capture_output=True, text=True, check=True)
    first, second, enabled, hypothesis = fresh.stdout.split()
    assert int(first) > 50_000 and second == first, fresh.stdout  # frozen once: the imports make far more
    assert enabled == "True" and hypothesis == "False"
    user = subprocess.run([sys.executable, "-c", probe.format(root=str(ROOT), before="import hypothesis; gc.disable(); ")],
                          capture_output=True, text=True, check=True)
    assert user.stdout.split() == ["0", "0", "False", "True"], user.stdout
