"""Hostile input through the command line: the one finding each case must give (and the complete
set of errors, so no follow-on finding hides in a run), nothing read or written outside the
package, no file changed, no temporary file left (catalogue in hostile.py).

The catalogue runs the command line in this process (pkgtools.run_cli: jakderm.cli.main, what
validate.py calls); cases of each kind also run end to end through validate.py in a process of its
own, and what only a process shows (concurrent runs) stays in processes.
"""
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import CATALOGUE, LEGITIMATE

from pkgtools import ROOT, Pkg, run_cli


def tree_state(top: Path) -> dict[str, tuple]:
    """Every entry under top (the package and what lies beside it), links not followed, FIFOs
    not opened: its kind and content."""
    state = {}
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            p = Path(folder) / name
            st = os.lstat(p)
            rel = str(p.relative_to(top))
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                try:
                    state[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest(), stat.S_IMODE(st.st_mode))
                except PermissionError:
                    state[rel] = ("file", None, stat.S_IMODE(st.st_mode))
            elif stat.S_ISDIR(st.st_mode):
                state[rel] = ("dir",)
            else:
                state[rel] = ("other", stat.S_IFMT(st.st_mode))
    return state


def _matches(finding: dict, expect) -> bool:
    return (finding["file"], finding["line"], finding["column"], finding["rule"]) == \
        (expect.file, expect.line, expect.column, expect.rule)


def _skip(case):
    if case.needs == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    if case.needs == "non-root" and os.geteuid() == 0:
        pytest.skip("root reads a file whatever its permissions")


def check_hostile(tmp_path, case, validate):
    """Apply the case to a copy of the package, run `validate` (the command line, given its
    arguments after the path) and check everything the case promises."""
    _skip(case)
    pkg = Pkg(tmp_path)
    outcome = case.apply(pkg)
    before = tree_state(tmp_path)
    formats = ["json", "github", "text"] if outcome.secret else ["json"]
    for fmt in formats:
        out = validate(pkg, "--format", fmt)
        assert tree_state(tmp_path) == before, "validate.py changed, added or removed a file"
        assert "Traceback" not in out.stdout + out.stderr and "internal-error" not in out.stdout, out.stdout[-3000:]
        assert out.returncode == outcome.exit, out.stdout[-3000:]
        if outcome.secret:
            assert outcome.secret not in out.stdout + out.stderr, "a file outside the package was read"
        if fmt != "json":
            continue
        report = json.loads(out.stdout)
        errors = report["errors"]
        located = [e for e in errors if _matches(e, outcome.expect)]
        assert len(located) == 1, json.dumps(errors, indent=1)[:3000]
        assert located[0]["message"]
        if outcome.expect.line is None:  # a file-level finding: that file has no other of that rule
            same = [e for e in errors if (e["file"], e["rule"]) == (outcome.expect.file, outcome.expect.rule)]
            assert len(same) == 1, json.dumps(same, indent=1)
        elif outcome.one_cell:
            same_cell = [e for e in errors if (e["file"], e["line"], e["column"]) ==
                         (outcome.expect.file, outcome.expect.line, outcome.expect.column)]
            assert len(same_cell) == 1, f"one cell, one finding: {same_cell}"
        # no follow-on: an exception elsewhere is not "unused" because a table went unread
        assert not [e for e in errors if e["rule"] == "rule-exception-unused"], json.dumps(errors, indent=1)[:3000]
        for other in outcome.also:
            assert any(_matches(e, other) for e in errors), (other, json.dumps(errors, indent=1)[:3000])
        complete = {(x.file, x.line, x.column, x.rule) for x in (outcome.expect, *outcome.also)}
        found = {(e["file"], e["line"], e["column"], e["rule"]) for e in errors}
        assert found == complete, f"follow-on errors: {sorted(found - complete, key=str)}"


@pytest.mark.parametrize("case", CATALOGUE, ids=[f"{c.cls}: {c.name}" for c in CATALOGUE])
def test_hostile_input_gives_its_one_finding(tmp_path, case):
    check_hostile(tmp_path, case, Pkg.cli)


# One case of each class that a process shows best, end to end through validate.py in its own
# process: a path outside the package (nothing of the secret in any format), a FIFO (a read that
# would block forever), a 100,000-deep descriptor (exit 2, no recursion crash), a value a loader mangles.
END_TO_END = ["resource path ../outside.csv", "FIFO in place of a file", "datapackage.json 100,000-deep JSON",
              "impossible date"]


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.name in END_TO_END], ids=lambda c: c.name)
def test_hostile_input_end_to_end_through_validate_py(tmp_path, case):
    check_hostile(tmp_path, case, Pkg.validate_py)


def test_the_end_to_end_cases_are_in_the_catalogue():
    assert {c.name for c in CATALOGUE} >= set(END_TO_END)


@pytest.mark.parametrize("change", LEGITIMATE, ids=[c.__name__.strip("_") for c in LEGITIMATE])
def test_what_only_looks_hostile_validates(tmp_path, change):
    pkg = Pkg(tmp_path)
    change(pkg)
    out = pkg.cli("--format", "json")
    assert out.returncode == 0, json.dumps(json.loads(out.stdout)["errors"], indent=1)[:3000]


def test_the_hostile_catalogue_covers_every_class():
    assert {c.cls for c in CATALOGUE} == {"mangled", "formula", "paths", "crash", "spreadsheet"}
    assert len(CATALOGUE) >= 40


# --- messages a contributor can act on ----------------------------------------------------------

def _errors(pkg, *args):
    out = pkg.cli("--format", "json", *args)
    return json.loads(out.stdout)


def test_percent_message_gives_the_value_the_counts_give_and_the_way_out(pkg):
    from corruptions import PBO_EASI
    pkg.set("outcomes", PBO_EASI, "percent", "12.6")
    finding = next(f for f in pkg.validate().errors if f.rule == "percent-matches-counts")
    assert "12 of 100 gives 12.000" in finding.message and "is 12.0, not 12.6" in finding.message
    assert "rule_exception" in finding.message


def test_estimand_clash_names_the_other_line(pkg):
    from corruptions import PBO_EASI
    header, rows = pkg.read("outcomes")
    twin = dict(next(r for r in rows if r["outcome_id"] == PBO_EASI), outcome_id=PBO_EASI + "/again")
    pkg.write("outcomes", header, [*rows, twin])
    finding = next(f for f in pkg.validate().errors if f.rule == "one-figure-per-estimand")
    lines = {pkg.line_of("outcomes", PBO_EASI), pkg.line_of("outcomes", PBO_EASI + "/again")}
    assert finding.line in lines
    assert f"line {(lines - {finding.line}).pop()}" in finding.message


@pytest.mark.parametrize("table,key,column,value,suggestion", [
    ("outcomes", "example-trial/placebo/easi-75/w16", "imputation", "nri", "NRI"),
    ("outcomes", "example-trial/placebo/easi-75/w16", "population", "FASS", "FAS"),
    ("outcomes", "example-trial/placebo/easi-75/w16", "arm_id", "example-trial/placebos", "example-trial/placebo"),
    ("arms", "example-trial/abrocitinib-100mg", "drug_id", "abrocitinibb", "abrocitinib"),
])
def test_unknown_value_suggests_the_closest_valid_one(pkg, table, key, column, value, suggestion):
    line = pkg.set(table, key, column, value)
    finding = next(f for f in pkg.validate().errors if (f.line, f.column) == (line, column))
    assert f"did you mean {suggestion!r}" in finding.message, finding.message


def test_quiet_prints_the_summary_first_then_errors_only(pkg):
    from corruptions import PBO_EASI
    pkg.set("outcomes", PBO_EASI, "percent", "12.6")
    pkg.set("outcomes", PBO_EASI, "rule_exception", "percent-matches-counts")  # a warning
    line = pkg.set("outcomes", PBO_EASI, "population", "everyone")
    full = pkg.cli().stdout
    assert "WARNING data/outcomes.csv" in full
    lines = pkg.cli("--quiet").stdout.splitlines()
    assert lines[0].startswith("INVALID: 1 error(s)")
    assert not [ln for ln in lines if ln.startswith("WARNING")]
    assert any(ln.startswith(f"ERROR data/outcomes.csv:{line} [population] enum") for ln in lines)


# --- bounded cost ---------------------------------------------------------------------------------

def test_findings_are_capped_per_rule_and_file_with_true_totals(pkg):
    from corruptions import PBO_EASI
    header, rows = pkg.read("outcomes")
    base = next(r for r in rows if r["outcome_id"] == PBO_EASI)
    extra = [dict(base, outcome_id=f"{PBO_EASI}/{i:05d}", subgroup=f"s{i:05d}", population="everyone")
             for i in range(2500)]
    pkg.write("outcomes", header, rows + extra)
    report = _errors(pkg, "--max-findings", "100")
    enum = [e for e in report["errors"] if e["rule"] == "enum"]
    assert len(enum) == 100
    truncated = report["summary"]["findings"]["truncated"]
    assert {"file": "data/outcomes.csv", "rule": "enum", "severity": "error", "total": 2500, "listed": 100} \
        in truncated
    assert report["summary"]["findings"]["errors"] >= 2500
    default = _errors(pkg)
    assert len([e for e in default["errors"] if e["rule"] == "enum"]) == 1000


# --- load(): strict by default ----------------------------------------------------------------------

def test_load_refuses_a_package_that_does_not_validate(pkg):
    from corruptions import PBO_EASI

    import jakderm
    line = pkg.set("outcomes", PBO_EASI, "responders", "twelve")
    with pytest.raises(ValueError) as exc:
        jakderm.load(pkg.root)
    assert f"data/outcomes.csv:{line} [responders] type" in str(exc.value)


def test_load_coerce_blanks_with_a_warning_and_never_rolls_a_date_over(pkg):
    from corruptions import PBO_EASI

    import jakderm
    line = pkg.set("outcomes", PBO_EASI, "responders", "twelve")
    date_line = pkg.set("sources", "example-2099-trial", "accessed", "2021-02-30")
    with pytest.warns(UserWarning) as caught:
        tables = jakderm.load(pkg.root, errors="coerce")
    text = str(caught[0].message)
    assert f"data/outcomes.csv:{line} [responders] 'twelve'" in text
    assert f"data/sources.csv:{date_line} [accessed] '2021-02-30'" in text
    out = tables["outcomes"].set_index("outcome_id")
    assert pd_isna(out.loc[PBO_EASI, "responders"])
    src = tables["sources"].set_index("source_id")
    assert pd_isna(src.loc["example-2099-trial", "accessed"])


def pd_isna(v) -> bool:
    import pandas as pd
    return bool(pd.isna(v))


# --- format ---------------------------------------------------------------------------------------

def _format(pkg, *args):
    return run_cli("format", str(pkg.root), *args, cwd=ROOT)


def test_format_names_the_delimiter_and_changes_nothing(tmp_path):
    from hostile import SPREADSHEET
    pkg = Pkg(tmp_path)
    SPREADSHEET[0].apply(pkg)
    before = tree_state(tmp_path)
    out = _format(pkg)
    assert out.returncode == 1 and "separated by semicolons" in out.stdout, out.stdout
    assert tree_state(tmp_path) == before


def test_format_touches_only_the_package(tmp_path):
    pkg = Pkg(tmp_path)
    outside = tmp_path / "outside.csv"
    outside.write_text("b,a\r\n2,1\r\n", encoding="utf-8")  # not canonical: format would rewrite it
    d = json.loads((pkg.root / "datapackage.json").read_text())
    next(r for r in d["resources"] if r["name"] == "arms")["path"] = "../outside.csv"
    (pkg.root / "datapackage.json").write_text(json.dumps(d))
    link = pkg.path("drugs")
    target = tmp_path / "drugs-outside.csv"
    target.write_bytes(link.read_bytes().replace(b"\n", b"\r\n"))
    link.unlink()
    link.symlink_to(target)
    before = tree_state(tmp_path)
    _format(pkg)
    after = tree_state(tmp_path)
    assert after["outside.csv"] == before["outside.csv"] and after["drugs-outside.csv"] == before["drugs-outside.csv"]
    assert after["pkg/data/drugs.csv"] == before["pkg/data/drugs.csv"]


def test_concurrent_format_runs_share_no_temporary_file(tmp_path):
    pkg = Pkg(tmp_path)
    for table in ("outcomes", "sources", "arms"):
        pkg.path(table).write_bytes(pkg.path(table).read_bytes().replace(b"\n", b"\r\n"))
    runs = [subprocess.Popen([sys.executable, "-m", "jakderm", "format", str(pkg.root)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [r.communicate(timeout=120) for r in runs]
    assert all(r.returncode == 0 for r in runs), results
    assert "Traceback" not in "".join(o + e for o, e in results)
    assert not [p for p in pkg.root.rglob("*") if p.name.endswith(".tmp")]
    assert _format(pkg, "--check").returncode == 0


def test_format_that_cannot_write_says_so_in_one_line_and_leaves_no_temp_file(tmp_path, monkeypatch, capsys):
    import errno

    from jakderm import files
    from jakderm.formatting import format_package
    pkg = Pkg(tmp_path)
    pkg.path("outcomes").write_bytes(pkg.path("outcomes").read_bytes().replace(b"\n", b"\r\n"))
    before = tree_state(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(files.os, "replace", full)
    assert format_package(pkg.root) == 1
    out = capsys.readouterr().out
    assert "data/outcomes.csv: left unchanged: cannot be written (No space left on device)" in out
    assert tree_state(tmp_path) == before


# --- build ----------------------------------------------------------------------------------------

def _releasable(pkg):
    import shutil
    for name in ("README.md", "LICENSE", "CHANGELOG.md"):  # the release archive carries them
        if not (pkg.root / name).exists():
            shutil.copy2(ROOT / name, pkg.root / name)


def _build(pkg, out, *extra):
    _releasable(pkg)
    return run_cli("build", str(pkg.root), "--out", str(out), *extra, cwd=ROOT)


@pytest.mark.parametrize("column,value,rule", [("analysed", "-5", "minimum"),
                                               ("note", '=HYPERLINK("http://x")', "formula-injection"),
                                               ("note", "x" * 40_000, "cell-too-long")])
def test_build_refuses_a_package_that_does_not_validate(tmp_path, column, value, rule):
    from corruptions import PBO_EASI
    pkg = Pkg(tmp_path)
    line = pkg.set("outcomes", PBO_EASI, column, value)
    out = _build(pkg, tmp_path / "dist")
    assert out.returncode == 1 and f"data/outcomes.csv:{line} [{column}] {rule}" in out.stderr, out.stderr
    assert not (tmp_path / "dist").exists()


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A package and a release of it, to try failing builds against."""
    tmp = tmp_path_factory.mktemp("released")
    pkg = Pkg(tmp)
    out = _build(pkg, tmp / "dist")
    assert out.returncode == 0, out.stderr
    return pkg, tmp / "dist"


def test_failed_build_leaves_the_previous_release_untouched(released, tmp_path):
    from corruptions import PBO_EASI
    pkg, dist = released
    before = tree_state(dist)
    kept = pkg.path("outcomes").read_bytes()
    pkg.set("outcomes", PBO_EASI, "analysed", "-5")
    try:
        out = _build(pkg, dist)
    finally:
        pkg.path("outcomes").write_bytes(kept)
    assert out.returncode == 1
    assert tree_state(dist) == before


def test_build_failing_midway_leaves_the_release_and_no_staging_folder(released, monkeypatch, capsys):
    import errno

    from jakderm import build
    pkg, dist = released
    before = tree_state(dist)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(build, "write_xlsx", full)
    assert build.build_package(pkg.root, dist) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device" in err
    assert tree_state(dist) == before
    fresh = dist.parent / "fresh" / "dist"
    assert build.build_package(pkg.root, fresh) == 1
    assert not fresh.exists(), "a failed build left the folder it made"


@pytest.mark.parametrize("version", ["../../evil", "/tmp/x", "1.0/../../x", "..", "a b", ""])
def test_build_checks_the_version_before_using_it_in_a_file_name(tmp_path, version):
    pkg = Pkg(tmp_path)
    d = json.loads((pkg.root / "datapackage.json").read_text())
    old = d["version"]
    d["version"] = version
    (pkg.root / "datapackage.json").write_text(json.dumps(d))
    cff = pkg.root / "CITATION.cff"  # agreeing, so that the package validates and the version is what stops it
    cff.write_text(cff.read_text().replace(f"version: {json.dumps(old)}", f"version: {json.dumps(version)}"))
    _releasable(pkg)
    before = tree_state(tmp_path)
    out = _build(pkg, tmp_path / "dist" / "x")
    assert out.returncode in (1, 2) and out.stderr.strip(), out.stderr
    assert "Traceback" not in out.stderr
    if version:
        assert "cannot be part of a file name" in out.stderr, out.stderr
    after = tree_state(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("dist")} == before


def test_build_refuses_an_out_that_is_a_file_or_holds_other_files(released, tmp_path):
    pkg, _ = released
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    out = _build(pkg, a_file)
    assert out.returncode == 1 and "is a file" in out.stderr
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "thesis.docx").write_text("mine")
    before = tree_state(tmp_path)
    out = _build(pkg, folder)
    assert out.returncode == 1 and "thesis.docx" in out.stderr and out.stderr.count("\n") == 1
    assert tree_state(tmp_path) == before
    out = _build(pkg, "/")
    assert out.returncode == 1 and "not a release" in out.stderr


def test_concurrent_builds_each_finish_and_agree(released, tmp_path):
    import hashlib as h
    pkg, _ = released
    dist = tmp_path / "dist"
    runs = [subprocess.Popen([sys.executable, "-m", "jakderm", "build", str(pkg.root), "--out", str(dist)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [r.communicate(timeout=300) for r in runs]
    assert all(r.returncode == 0 for r in runs), results
    for line in (dist / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert h.sha256((dist / name).read_bytes()).hexdigest() == digest, name
    assert sorted(p.name for p in dist.iterdir()) == sorted(
        ["SHA256SUMS", "parquet", *(f"jak-derm-data-{_version(pkg)}.{x}" for x in ("zip", "sqlite", "xlsx"))])


def _version(pkg):
    return json.loads((pkg.root / "datapackage.json").read_text())["version"]


# --- diff -----------------------------------------------------------------------------------------

def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


@pytest.fixture
def repo(tmp_path):
    from corruptions import ACT_EASI
    pkg = Pkg(tmp_path)
    _git(pkg.root, "init", "-q")
    _git(pkg.root, "add", "-A")
    _git(pkg.root, "commit", "-qm", "a")
    pkg.set("outcomes", ACT_EASI, "note", "x` <img src=x onerror=alert(1)> ``y | z")
    pkg.set("outcomes", ACT_EASI, "percent", "42")  # 42.0 -> 42: the same value, less precision
    _git(pkg.root, "commit", "-qam", "b")
    return pkg


def _diff(pkg, *args):
    return run_cli("diff", "HEAD~1", "HEAD", "--repo", str(pkg.root), *args, cwd=ROOT)


def test_diff_markdown_keeps_every_value_inert_and_marks_printed_precision(repo):
    out = _diff(repo)
    assert out.returncode == 0, out.stderr
    note = next(ln for ln in out.stdout.splitlines() if ln.lstrip().startswith("- note:"))
    assert note.strip() == "- note: *(empty)* → ```x` <img src=x onerror=alert(1)> ``y | z```"
    percent = next(ln for ln in out.stdout.splitlines() if ln.lstrip().startswith("- percent:"))
    assert "`42.0` → `42`" in percent and "printed precision changed: 1 → 0" in percent


def test_diff_output_that_cannot_be_written_is_one_line(repo, tmp_path):
    target = tmp_path / "no-such-folder" / "diff.md"
    out = _diff(repo, "--output", str(target))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "cannot write" in out.stderr, out.stderr
    assert not target.parent.exists()


def test_diff_ref_that_looks_like_an_option_is_a_ref(repo, tmp_path):
    out = run_cli("diff", "--", "--output=" + str(tmp_path / "x"), "HEAD", "--repo", str(repo.root), cwd=ROOT)
    assert out.returncode != 0 and not (tmp_path / "x").exists()


def test_unreadable_file_is_a_finding_of_that_file(pkg, monkeypatch):
    """(The catalogue's case needs a non-root user; here the refusal is simulated, so it runs
    everywhere.)"""
    import errno

    from jakderm import files
    from pkgtools import has, show
    real_open = files.os.open
    target = str(pkg.path("arms"))

    def denied(path, *args, **kwargs):
        if str(path) == target:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(files.os, "open", denied)
    report = pkg.validate()
    assert has(report, "file-unreadable", "data/arms.csv"), show(report)
    finding = next(f for f in report.errors if f.rule == "file-unreadable")
    assert "Permission denied" in finding.message
    assert report.summary["rows"]["outcomes"] > 0  # the other tables are still read and checked


def test_a_bad_cell_on_a_row_with_a_rule_exception_gives_one_error(pkg):
    """The cell is read as missing, so the excepted rule no longer fails there: that is the bad
    cell's follow-on, not an unused exception."""
    from corruptions import PBO_EASI
    pkg.set("outcomes", PBO_EASI, "percent", "12.6")
    pkg.set("outcomes", PBO_EASI, "rule_exception", "percent-matches-counts")
    line = pkg.set("outcomes", PBO_EASI, "percent", "inf")
    errors = [(f.line, f.column, f.rule) for f in pkg.validate().errors]
    assert errors == [(line, "percent", "type")], errors
