"""The package's tables as rows of text, each cell exactly as its CSV file prints it.

The coverage report and the site show values as printed (`8.40` keeps its two decimals), so
they read text, not the typed frames of `jakderm.load()`. Both refuse a package that does not
validate: a page or report built from broken data would show what the validator rejects.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .descriptor import Package, load_package
from .report import Report
from .validation import validate_package

Rows = dict[str, list[dict[str, str]]]


class InvalidPackage(Exception):
    """The package does not validate; the message lists the first errors with file, line and column."""


def validated(root: str | Path = ".") -> tuple[Package, Report]:
    """The package at `root` and its validation report, once `validate.py` would accept it
    (warnings allowed: they are the curation backlog the report and the site show)."""

    report = validate_package(root)
    if not report.valid:
        errors = report.sorted()
        shown = [f"  {f.file}:{f.line or ''} [{f.column or ''}] {f.rule}: {f.message}"
                 for f in errors if f.severity == "error"][:10]
        more = len(report.errors) - len(shown)
        raise InvalidPackage("the package does not validate (run `python validate.py` for every problem):\n"
                             + "\n".join(shown) + (f"\n  ... and {more} more" if more > 0 else ""))
    return load_package(Path(root), Report()), report


def read_rows(package: Package) -> Rows:
    out: Rows = {}
    for name, res in package.resources.items():
        with open(package.root / res.path, encoding="utf-8", newline="") as fh:
            out[name] = list(csv.DictReader(fh))
    return out


def index(rows: list[dict[str, str]], key: str) -> dict[str, dict[str, str]]:
    return {r[key]: r for r in rows}


def group(rows: list[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.get(key, ""), []).append(r)
    return out
