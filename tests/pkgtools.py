"""Test helpers: a throw-away copy of the package to edit cell by cell, and an example trial.

The example trial is synthetic and lives only in tests: it gives every rule a complete,
consistent set of rows to corrupt, whatever the state of the curated data.
"""
from __future__ import annotations

import atexit
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = ["datapackage.json", "CITATION.cff", "schemas", "data"]

EXAMPLE = {
    "sources": [{"source_id": "example-2099-trial", "source_type": "article", "citation": "Example A. A synthetic trial for tests. Test J. 2099;1:1-2.",
                 "year": "2099", "url": "https://example.org/trial"}],
    "trials": [{"trial_id": "example-trial", "acronym": "EXAMPLE", "design": "randomized", "phase": "3",
                "indication_id": "atopic-dermatitis", "n_randomized": "300", "randomized_period_weeks": "16",
                "primary_timepoint_weeks": "16", "source_id": "example-2099-trial", "locator": "Abstract"}],
    "trial_sources": [{"trial_id": "example-trial", "source_id": "example-2099-trial", "role": "primary"}],
    "arms": [
        {"arm_id": "example-trial/abrocitinib-100mg", "trial_id": "example-trial", "role": "experimental",
         "drug_id": "abrocitinib", "dose": "100", "dose_unit": "mg", "frequency": "QD", "route": "oral",
         "background_therapy": "none", "n_randomized": "200", "source_id": "example-2099-trial", "locator": "Table 1"},
        {"arm_id": "example-trial/placebo", "trial_id": "example-trial", "role": "placebo", "route": "oral",
         "background_therapy": "none", "n_randomized": "100", "source_id": "example-2099-trial", "locator": "Table 1"},
    ],
    "outcomes": [
        {"outcome_id": "example-trial/abrocitinib-100mg/easi-75/w16", "arm_id": "example-trial/abrocitinib-100mg",
         "endpoint_id": "easi-75", "timepoint_weeks": "16", "responders": "84", "analysed": "200", "percent": "42.0",
         "population": "FAS", "imputation": "NRI", "source_id": "example-2099-trial", "locator": "Table 2"},
        {"outcome_id": "example-trial/placebo/easi-75/w16", "arm_id": "example-trial/placebo",
         "endpoint_id": "easi-75", "timepoint_weeks": "16", "responders": "12", "analysed": "100", "percent": "12",
         "population": "FAS", "imputation": "NRI", "source_id": "example-2099-trial", "locator": "Table 2"},
    ],
    "adverse_events": [
        {"adverse_event_id": "example-trial/abrocitinib-100mg/any-ae/w16", "arm_id": "example-trial/abrocitinib-100mg",
         "ae_term_id": "any-ae", "period_weeks": "16", "participants_with_event": "130", "participants_at_risk": "199",
         "percent": "65.3", "source_id": "example-2099-trial", "locator": "Table 3"},
    ],
}


@cache
def _template(with_example: bool) -> Path:
    """The package copied (and the example trial added) once per test process; each Pkg is a copy
    of it. Removed at exit."""
    tmp = Path(tempfile.mkdtemp(prefix="jakderm-pkg-template-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    return Pkg._fresh(tmp, with_example).root


class Pkg:
    """A copy of the package in a temporary folder."""

    def __init__(self, tmp: Path, with_example: bool = True):
        self.root = tmp / "pkg"
        shutil.copytree(_template(with_example), self.root, symlinks=True)

    @classmethod
    def _fresh(cls, tmp: Path, with_example: bool) -> Pkg:
        """The copy made from the repository itself (the template the others are copied from)."""
        pkg = cls.__new__(cls)
        pkg.root = tmp / "pkg"
        pkg.root.mkdir()
        for name in PACKAGE_FILES:
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, pkg.root / name)
            else:
                shutil.copy2(src, pkg.root / name)
        if with_example:
            for table, rows in EXAMPLE.items():
                pkg.add_rows(table, rows)
        return pkg

    def path(self, table: str) -> Path:
        return self.root / "data" / f"{table}.csv"

    def read(self, table: str) -> tuple[list[str], list[dict]]:
        with open(self.path(table), encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return list(reader.fieldnames or []), list(reader)

    def write(self, table: str, header: list[str], rows: list[dict], canonical: bool = True) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for r in rows:
            writer.writerow([r.get(h, "") for h in header])
        text = out.getvalue()
        if canonical:
            from jakderm.descriptor import load_package
            from jakderm.formatting import canonical_text
            text = canonical_text(text, load_package(self.root).resources[table])
        self.path(table).write_text(text, encoding="utf-8", newline="")

    def add_rows(self, table: str, rows: list[dict]) -> None:
        header, existing = self.read(table)
        self.write(table, header, existing + [dict(r) for r in rows])

    def key_column(self, table: str) -> str:
        header, _ = self.read(table)
        return header[0]

    def set(self, table: str, key: str, column: str, value: str) -> int:
        """Set one cell of the row whose first column is `key`; return that row's file line."""
        header, rows = self.read(table)
        for r in rows:
            if r[header[0]] == key:
                r[column] = value
                break
        else:
            raise KeyError(key)
        self.write(table, header, rows)
        return self.line_of(table, key)

    def line_of(self, table: str, key: str) -> int:
        header, rows = self.read(table)
        for i, r in enumerate(rows):
            if r[header[0]] == key:
                return i + 2
        raise KeyError(key)

    def validate(self):
        from jakderm.validation import validate_package
        return validate_package(self.root)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`validate.py PKG ARGS` run in this process (jakderm.cli.main): what it prints and returns."""
        return run_cli("validate", str(self.root), *args)

    def validate_py(self, *args: str) -> subprocess.CompletedProcess:
        """`validate.py PKG ARGS` in a process of its own: the entry point itself, its exit code."""
        return subprocess.run([sys.executable, str(ROOT / "validate.py"), str(self.root), *args],
                              capture_output=True, text=True, timeout=120)


def run_cli(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: int = 300) -> subprocess.CompletedProcess:
    """`python -m jakderm ARGV` in this process: jakderm.cli.main(ARGV), its standard output and
    error captured, its return value (or the code it exits with, as argparse does) as returncode,
    in `cwd` and with the environment variables `env` set, if given.
    An exception escapes and fails the test, as a traceback would fail a check of the output; a
    run longer than `timeout` seconds is stopped (SIGALRM) rather than left hanging the suite."""
    import contextlib
    import signal

    from jakderm.cli import main

    def stop(signum, frame):
        raise TimeoutError(f"python -m jakderm {' '.join(argv)} took more than {timeout} s")
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                contextlib.chdir(cwd or Path.cwd()):
            try:
                code = main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(["python", "-m", "jakderm", *argv], code, out.getvalue(), err.getvalue())


def full_pkg(tmp: Path) -> Pkg:
    """A copy of the package with what a release and the coverage report also read."""
    pkg = Pkg(tmp)
    for name in ("README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, pkg.root / name)
    shutil.copytree(ROOT / "curation", pkg.root / "curation")
    return pkg


# Text from the data that a page must show as text and never run (the shared site, conftest.hostile_site).
HOSTILE_NOTE = ('<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script> '
                '<img src=x onerror="document.title=\'pwned\'"> **bold** [link](javascript:alert(1)) </td></tr>')
HOSTILE_TRIAL_NOTE = "<script>document.title='pwned'</script> **not bold** <b>not bold</b>"


def has(report, rule: str, file: str | None = None, line: int | None = None, column: str | None = None,
        severity: str = "error") -> bool:
    return any(f.rule == rule and f.severity == severity
               and (file is None or f.file == file)
               and (line is None or f.line == line)
               and (column is None or f.column == column) for f in report.findings)


def show(report) -> str:
    return "\n".join(f"{f.severity} {f.file}:{f.line} [{f.column}] {f.rule}: {f.message}" for f in report.findings)


def require_r(purpose: str, program: str = "Rscript") -> str:
    """The path of an R program, or a skip saying why; a failure instead where CI asks for R
    (JAKDERM_REQUIRE_R=1), so that a missing install never passes as skipped tests."""
    import pytest
    path = shutil.which(program)
    if path is None:
        if os.environ.get("JAKDERM_REQUIRE_R") == "1":
            pytest.fail(f"JAKDERM_REQUIRE_R=1 but {program} is not on PATH")
        pytest.skip(f"{program} not found: install R to {purpose} (set JAKDERM_REQUIRE_R=1 to make this a failure)")
    return path
