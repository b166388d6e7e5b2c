"""One validation run, read top to bottom. It only reads.

    read_package      datapackage.json and the Table Schemas it names, against the Data Package standard
    read_tables       each CSV file as text, and its file form (encoding, line ends, header, quoting)
    check_schemas     every cell, key and row order against its Table Schema
    type_tables       typed pandas frames; a cell the schema layer reported is read as missing
    check_rules       the cross-field and cross-table rules (rules.py), as Pandera checks
    check_attribution the licence, the seed review, CITATION.cff
    summarize         rows per table, trials per drug, indication and design

Each step adds what it finds to one Report; a step never undoes another's work.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from frictionless import Package as FrictionlessPackage

from . import attribution, schema_checks
from .csvfile import TextTable, read_text_table
from .descriptor import DescriptorError, Package, load_package
from .report import Report
from .rule_checks import check_rules
from .typed import typed_frame


def validate_package(root: str | Path = ".", max_findings: int | None = None) -> Report:
    """Validate the package at root; findings are listed up to max_findings per file and rule
    (Report's default) and counted beyond."""
    return validate_and_read(root, max_findings)[0]


def validate_and_read(root: str | Path = ".", max_findings: int | None = None):
    """(report, package, texts): the validation run, and the tables as read, for the loader, which
    hands out exactly what the validator saw. package and texts are None when datapackage.json
    itself is unusable."""
    report = Report() if max_findings is None else Report(max_findings=max_findings)
    package = read_package(Path(root), report)
    if package is None:
        return report, None, None
    texts = read_tables(package, report)
    check_schemas(texts, report)
    frames = type_tables(texts)
    check_rules(package, frames, texts, report)
    check_attribution(package, report)
    report.summary = summarize(frames, texts)
    return report, package, texts


def read_package(root: Path, report: Report) -> Package | None:
    """The descriptor and its schemas; None (a fatal finding, exit 2) when datapackage.json is unusable."""
    try:
        package = load_package(root, report)
    except DescriptorError as exc:
        report.fatal = True
        report.add("datapackage.json", None, None, None, "descriptor", str(exc))
        return None
    check_data_package_standard(package.descriptor, report)
    return package


def read_tables(package: Package, report: Report) -> dict[str, TextTable]:
    texts: dict[str, TextTable] = {}
    for name, res in package.resources.items():
        table = read_text_table(package.root, res, report)
        if table is not None:
            texts[name] = table
    return texts


def check_schemas(texts: dict[str, TextTable], report: Report) -> None:
    """Every table against its Table Schema; the cells reported are marked in each table's `bad`."""
    for table in texts.values():
        schema_checks.check_fields(table, report)
        schema_checks.check_primary_key(table, report)
        schema_checks.check_foreign_keys(table, texts, report)
        schema_checks.check_row_order(table, report)


def type_tables(texts: dict[str, TextTable]) -> dict[str, pd.DataFrame]:
    return {name: typed_frame(table) for name, table in texts.items()}


def check_attribution(package: Package, report: Report) -> None:
    attribution.check_package_metadata(package.descriptor, report)
    attribution.check_citation(package.root, package.descriptor, report)


def summarize(frames: dict[str, pd.DataFrame], texts: dict[str, TextTable]) -> dict:
    summary: dict = {"rows": {name: t.n_rows for name, t in texts.items()}}
    trials, arms = frames.get("trials"), frames.get("arms")
    if trials is not None and arms is not None:
        pairs = arms[["trial_id", "drug_id"]].dropna().astype(object).drop_duplicates()
        summary["trials_per_drug"] = {k: int(v) for k, v in pairs.drug_id.value_counts().sort_index().items()}
        ind = trials.indication_id.astype(object).dropna().value_counts().sort_index()
        summary["trials_per_indication"] = {k: int(v) for k, v in ind.items()}
        des = trials.design.astype(object).dropna().value_counts().sort_index()
        summary["trials_per_design"] = {k: int(v) for k, v in des.items()}
    return summary


def check_data_package_standard(descriptor: dict, report: Report) -> None:
    """The descriptor against the Data Package standard, via frictionless (its reference tool).
    An entry our own reading reported already (resources[3] has no name) is not reported twice."""
    try:
        errors = FrictionlessPackage.metadata_validate(descriptor)
    except Exception as exc:  # frictionless raises on some malformed descriptors
        report.add("datapackage.json", None, None, None, "descriptor", f"not a valid Data Package: {exc}")
        return
    ours = {m.group(1) for f in report.findings if f.file == "datapackage.json"
            for m in re.finditer(r"resources\[(\d+)\]", f.message)}
    paths = {f.value for f in report.findings if f.file == "datapackage.json" and f.column in ("path", "schema")
             and f.value}
    for err in errors:
        if any(re.search(rf"resources/{i}\b", err.message) for i in ours) or any(p in err.message for p in paths):
            continue
        if "names of the resources are not unique" in err.message and any(
                f.file == "datapackage.json" and f.column == "name" for f in report.findings):
            continue  # each repeated name is reported already, with its entries
        report.add("datapackage.json", None, None, None, "descriptor", f"not a valid Data Package: {err.message}")


class InvalidPackage(ValueError):
    """The package does not validate: raised by the tools that hand its data on (load, build, the
    site, the coverage report, serve)."""

    def __init__(self, report: Report, what: str, shown: int = 5):
        self.report = report
        errors = [f for f in report.sorted() if f.severity == "error"]
        lines = [f"{f.file}:{f.line if f.line is not None else ''} [{f.column or ''}] {f.rule}: {f.message}"
                 for f in errors[:shown]]
        more = report.total("error") - len(lines)
        super().__init__(f"{what}: the package does not validate ({report.total('error')} error(s)):\n  "
                         + "\n  ".join(lines) + (f"\n  … and {more} more" if more > 0 else "")
                         + "\n(run `python validate.py` for every problem)")


def require_valid(root: str | Path, what: str):
    """(package, texts) of a package that validates (warnings allowed); InvalidPackage otherwise.
    Every tool that publishes the data (build, a site) goes through here, so none can publish what
    the validator rejects."""
    report, package, texts = validate_and_read(root)
    if not report.valid:
        raise InvalidPackage(report, what)
    return package, texts
