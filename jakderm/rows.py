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
from .validation import InvalidPackage, validate_package

Rows = dict[str, list[dict[str, str]]]


def validated(root: str | Path, what: str) -> tuple[Package, Report]:
    """The package at `root` and its validation report, once `validate.py` would accept it
    (warnings allowed: they are the curation backlog the report and the site show); otherwise
    InvalidPackage (the loader's and the build's), naming `what` and the first ten errors."""
    report = validate_package(root)
    if not report.valid:
        raise InvalidPackage(report, what, shown=10)
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
