"""One validation run: descriptor, files, Table Schema layer, rule layer, attribution, summary.
It only reads.

The files are read and checked against their Table Schemas (pyarrow, which releases the GIL) in a
worker thread while the main thread imports pandas, Pandera and frictionless and checks the
descriptor: on two cores the imports cost no wall time.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import schema_checks
from .csvfile import TextTable, read_text_table
from .descriptor import DescriptorError, load_package
from .report import Report

EXCEPTION_COLUMN = "rule_exception"


def read_all(package, report: Report) -> dict[str, TextTable]:
    texts: dict[str, TextTable] = {}
    for name, res in package.resources.items():
        table = read_text_table(package.root, res, report)
        if table is not None:
            texts[name] = table
    return texts


def check_all(texts: dict[str, TextTable], report: Report) -> None:
    """Every table against its Table Schema."""
    for table in texts.values():
        schema_checks.check_fields(table, report)
        schema_checks.check_primary_key(table, report)
        schema_checks.check_foreign_keys(table, texts, report)
        schema_checks.check_row_order(table, report)


def validate_package(root: str | Path = ".", max_findings: int | None = None) -> Report:
    """Validate the package at root; findings are listed up to max_findings per file and rule
    (Report's default) and counted beyond."""
    return validate_and_read(root, max_findings)[0]


def validate_and_read(root: str | Path = ".", max_findings: int | None = None):
    """(report, package, texts): the validation run, and the tables as read, for the loader,
    which hands out exactly what the validator saw. package and texts are None when
    datapackage.json itself is unusable.

    Two threads share the work; pyarrow releases the GIL, so on two cores they overlap:

    worker: read the files ──────────────► check them against the Table Schemas ─────►
    main:   import pandas, Pandera, frictionless; check the descriptor ► type the tables ► join ─►
    then the rules. Cells the schema layer reported are then read as missing (and the joins
    redone if they sit in a table others join to), so a bad cell gives one error, not a cascade.
    """
    report = Report() if max_findings is None else Report(max_findings=max_findings)
    root = Path(root)
    try:
        package = load_package(root, report)
    except DescriptorError as exc:
        report.fatal = True
        report.add("datapackage.json", None, None, None, "descriptor", str(exc))
        return report, None, None
    with ThreadPoolExecutor(max_workers=1) as pool:
        read = pool.submit(read_all, package, report)
        # pandas first: the worker's checks need it (pyarrow imports it on first use), its read does not
        from . import joins, rules
        from .typed import typed_frame
        _check_descriptor_with_frictionless(package.descriptor, report)
        from . import attribution
        attribution.check_package_metadata(package.descriptor, report)
        attribution.check_citation(package.root, package.descriptor, report)
        texts = read.result()
        checked = pool.submit(check_all, texts, report)
        frames = {name: typed_frame(t, use_bad=False) for name, t in texts.items()}
        prepared = _prepare(joins, frames, texts, report)
        checked.result()
    bad = {name for name, t in texts.items() if t.bad}
    for name in bad:
        _read_as_missing(texts[name].bad, frames[name], prepared[name] if prepared else None)
    if prepared and bad & {"trials", "arms", "trial_sources"}:  # values other tables' rules read
        prepared = _prepare(joins, frames, texts, report)
    if prepared:
        run_rules(package, prepared, texts, report)
    report.summary = summarize(frames, texts)
    return report, package, texts


class InvalidPackage(ValueError):
    """The package does not validate: raised by the tools that hand its data on (load, build)."""

    def __init__(self, report: Report, what: str, shown: int = 5):
        self.report = report
        errors = report.sorted()
        errors = [f for f in errors if f.severity == "error"]
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


def _prepare(joins, frames, texts, report: Report) -> dict | None:
    try:
        return joins.prepare(frames, texts)
    except (AttributeError, KeyError) as exc:  # a schema without a field the joins read
        field = str(exc).split("'")[-2] if "'" in str(exc) else str(exc)
        report.add("datapackage.json", None, None, field, "schema-incomplete",
                   f"a table's schema lacks the field {field!r} that the cross-table rules read, so those rules "
                   "were not checked; use the project's schemas/")
        return None


def _read_as_missing(masks: dict, frame, prepared) -> None:
    """Cells the schema layer reported become missing in the typed frame and in its prepared
    copy (which shares its columns)."""
    from .typed import with_missing
    for column, mask in masks.items():
        if column in frame and mask.any():
            frame[column] = with_missing(frame[column], mask)
            if prepared is not None:
                prepared[column] = frame[column]


def _check_descriptor_with_frictionless(descriptor: dict, report: Report) -> None:
    """The descriptor against the Data Package standard, via frictionless (its reference tool)."""
    from frictionless import Package

    try:
        errors = Package.metadata_validate(descriptor, basepath=None)  # type: ignore[call-arg]
    except TypeError:
        errors = Package.metadata_validate(descriptor)
    except Exception as exc:  # frictionless raises on some malformed descriptors
        report.add("datapackage.json", None, None, None, "descriptor", f"not a valid Data Package: {exc}")
        return
    import re
    # An entry our own reading reported already (resources[3] has no name) is not reported twice.
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


def run_rules(package, prepared: dict, texts: dict[str, TextTable], report: Report) -> None:
    """The rules of rules.py on the frames joins.prepare() made.

    Each rule's own function is called on the frame (the same callable its Pandera check runs,
    rules.pandera_schema): Pandera's failure cases hold a row per failing cell and column, which
    at a million failing rows is many gigabytes; a boolean mask per rule is a megabyte."""
    declared = {r.get("name") for r in package.descriptor.get("resources", []) if isinstance(r, dict)}
    # A table others join to that was not read (a missing file, a path refused) leaves the
    # cross-table rules without their data: an exception they would use cannot be judged unused.
    partial = any(t in declared and t not in texts for t in ("trials", "arms", "trial_sources"))
    for name, frame in prepared.items():
        if name not in texts:
            continue  # a missing file, reported already
        res = package.resources[name]
        failures = _failures(res.name, frame)  # {(rule, column): mask of failing rows}
        # a second entry of a repeated name is not joined to the other tables: the same holds
        _report_failures(texts[name], frame, failures, report, judge_unused=not partial and name == res.name)


def _failures(table: str, frame) -> dict[tuple[str, str], np.ndarray]:
    from . import rules
    out: dict[tuple[str, str], np.ndarray] = {}
    for rule in rules.rules_for(table):
        holds = np.asarray(rules.applicable(rule)(frame), dtype=bool)
        if len(holds) != len(frame) or holds.all():
            continue
        key = (rule.name, rule.column)
        out[key] = ~holds if key not in out else (out[key] | ~holds)
    return out


def _report_failures(table: TextTable, frame, failures, report: Report, judge_unused: bool = True) -> None:
    from . import rules
    by_key = {(r.name, r.column): r for r in rules.rules_for(table.resource.name)}
    if EXCEPTION_COLUMN in frame:
        exceptions = frame[EXCEPTION_COLUMN].astype(object)
        has_exception = exceptions.notna().to_numpy(bool)
    else:
        exceptions, has_exception = None, np.zeros(len(frame), bool)
    path = table.resource.path
    broken: dict[str, np.ndarray] = {}  # rule name -> rows that break it
    for (name, column), fails in sorted(failures.items()):
        rule = by_key[(name, column)]
        broken[name] = fails if name not in broken else (broken[name] | fails)
        for read in (column, *rule.reads):
            reported = table.bad.get(read)
            if reported is not None:  # a cell the rule reads was reported: no second error for it
                fails = fails & ~reported
        excepted = fails & has_exception & (exceptions == name).to_numpy(bool) if exceptions is not None \
            else np.zeros(len(fails), bool)
        col = table.positions.get(column)
        for severity, mask in (("error", fails & ~excepted), ("warning", excepted)):
            rows = np.flatnonzero(mask)
            room = report.room(path, name, severity)
            for i in rows[:room]:
                i = int(i)
                value = table.columns[column][i].as_py() if column in table.columns else None
                msg = rule.hint + (rule.detail(frame, i, table.lines) if rule.detail else "")
                if severity == "warning":
                    msg += " (excepted by this row's rule_exception; its note says why)"
                report.add(path, int(table.lines[i]), column, value, name, msg, severity, col)
            report.count(path, name, severity, len(rows) - min(room, len(rows)))
    if judge_unused and exceptions is not None and has_exception.any():
        unused = has_exception.copy()
        for mask in table.bad.values():  # a row with a reported cell: its exception may hold once mended
            unused &= ~mask
        for name, rows in broken.items():
            unused &= ~(rows & (exceptions == name).to_numpy(bool))
        rows = np.flatnonzero(unused)
        room = report.room(path, "rule-exception-unused")
        for i in rows[:room]:
            rule = exceptions.iloc[int(i)]
            report.add(path, int(table.lines[i]), EXCEPTION_COLUMN, rule, "rule-exception-unused",
                       f"this row does not break {rule!r}: clear rule_exception (an unused exception would hide a "
                       "later mistake)", "error", table.positions.get(EXCEPTION_COLUMN))
        report.count(path, "rule-exception-unused", "error", len(rows) - min(room, len(rows)))


def summarize(frames: dict, texts: dict[str, TextTable]) -> dict:
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
