"""The package as shipped: valid for our validator and for frictionless, through every interface."""
import json
import subprocess
import sys

from pkgtools import ROOT, has, run_cli, show


def test_shipped_package_is_valid():
    from jakderm.validation import validate_package
    report = validate_package(ROOT)
    assert report.valid, show(report)
    assert report.exit_code == 0


def test_example_trial_is_a_valid_contribution(pkg):
    report = pkg.validate()
    assert report.valid, show(report)


def test_frictionless_agrees_the_package_is_valid():
    from frictionless import Package, system
    with system.use_context(trusted=True):
        report = Package(str(ROOT / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:20]


def test_frictionless_finds_what_we_find_on_a_schema_error(pkg):
    line = pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "twelve")
    ours = pkg.validate()
    assert has(ours, "type", "data/outcomes.csv", line, "responders")
    from frictionless import Package, system
    with system.use_context(trusted=True):
        theirs = Package(str(pkg.root / "datapackage.json")).validate()
    rows = theirs.flatten(["rowNumber", "fieldName", "type"])
    assert [line, "responders", "type-error"] in rows


def test_validate_py_text_summary_and_exit_zero():  # validate.py itself, in its own process: exit 0
    out = subprocess.run([sys.executable, str(ROOT / "validate.py")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Rows per table:" in out.stdout and "Trials per drug:" in out.stdout
    assert out.stdout.rstrip().endswith("warning(s).")


def test_json_report_has_the_contract_shape(pkg):
    line = pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "101")
    out = pkg.validate_py("--format", "json")  # validate.py itself, in its own process: exit 1
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert set(report) >= {"valid", "errors", "warnings", "summary"}
    assert report["valid"] is False
    assert report["summary"]["rows"]["outcomes"] >= 2
    err = next(e for e in report["errors"] if e["rule"] == "responders-within-analysed")
    assert err == {"file": "data/outcomes.csv", "line": line, "column": "responders", "value": "101",
                   "rule": "responders-within-analysed", "message": err["message"]}
    assert err["message"]


def test_json_report_on_a_valid_package(monkeypatch):
    monkeypatch.chdir(ROOT)  # the default path: the current directory
    out = run_cli("validate", "--format", "json")
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["valid"] is True and report["errors"] == []
    assert report["summary"]["rows"]["trials"] > 0


def test_github_annotations_point_at_line_and_column(pkg):
    line = pkg.set("arms", "example-trial/placebo", "n_randomized", "ten")
    out = pkg.cli("--format", "github")
    assert out.returncode == 1
    header, _ = pkg.read("arms")
    col = header.index("n_randomized") + 1
    assert f"::error file=data/arms.csv,line={line},col={col},title=type [n_randomized]::" in out.stdout


def test_missing_datapackage_exits_2_with_one_clear_line(tmp_path):  # validate.py itself: exit 2
    out = subprocess.run([sys.executable, str(ROOT / "validate.py"), str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stdout + out.stderr
    assert "datapackage.json: file not found" in out.stdout


def test_datapackage_not_json_exits_2_with_line_and_column(pkg):
    (pkg.root / "datapackage.json").write_text('{\n  "name": "x",\n  oops\n}\n')
    out = pkg.cli()
    assert out.returncode == 2
    assert "Traceback" not in out.stdout + out.stderr
    assert "datapackage.json:3:3: not valid JSON" in out.stdout
    out = pkg.cli("--format", "json")
    report = json.loads(out.stdout)
    assert out.returncode == 2 and report["valid"] is False and report["errors"][0]["file"] == "datapackage.json"


def test_missing_resource_file_is_an_error_of_that_file_and_the_rest_is_checked(pkg):
    pkg.path("ae_terms").unlink()
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "population", "everyone")
    out = pkg.cli("--format", "json")
    assert out.returncode == 1
    errors = json.loads(out.stdout)["errors"]
    assert {"file": "data/ae_terms.csv", "line": None, "column": None, "value": None, "rule": "file-missing"} \
        .items() <= next(e for e in errors if e["rule"] == "file-missing").items()
    assert any(e["rule"] == "enum" and e["column"] == "population" for e in errors)


def test_validation_changes_no_file(pkg):
    from conftest import tree_digest
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "101")
    before = tree_digest(pkg.root)
    pkg.cli("--format", "json")
    pkg.validate()
    assert tree_digest(pkg.root) == before
