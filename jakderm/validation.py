"""One validation run: descriptor, files, Table Schema layer, rule layer, attribution, summary.
It only reads.

The files are read and checked against their Table Schemas (pyarrow, which releases the GIL) in a
worker thread while the main thread imports pandas, Pandera and frictionless and checks the
descriptor: on two cores the imports cost no wall time.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def validate_package(root: str | Path = ".") -> Report:
    """Two threads share the work; pyarrow releases the GIL, so on two cores they overlap:

    worker: read the files ──────────────► check them against the Table Schemas ─────►
    main:   import pandas, Pandera, frictionless; check the descriptor ► type the tables ► join ─►
    then the rules. Cells the schema layer reported are then read as missing (and the joins
    redone if they sit in a table others join to), so a bad cell gives one error, not a cascade.
    """
    report = Report()
    root = Path(root)
    try:
        package = load_package(root, report)
    except DescriptorError as exc:
        report.fatal = True
        report.add("datapackage.json", None, None, None, "descriptor", str(exc))
        return report
    with ThreadPoolExecutor(max_workers=1) as pool:
        read = pool.submit(read_all, package, report)
        # pandas first: the worker's checks need it (pyarrow imports it on first use), its read does not
        from . import joins, rules
        from .typed import typed_frame
        _check_descriptor_with_frictionless(package.descriptor, report)
        from . import attribution
        attribution.check_package_metadata(package.descriptor, report)
        attribution.check_citation(package.root, package.descriptor, report)
        rules.prime()
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
    return report


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
    for err in errors:
        report.add("datapackage.json", None, None, None, "descriptor", f"not a valid Data Package: {err.message}")


def run_rules(package, prepared: dict, texts: dict[str, TextTable], report: Report) -> None:
    """The rules of rules.py on the frames joins.prepare() made."""
    from . import rules
    for name, frame in prepared.items():
        if name not in texts:
            continue  # a missing file, reported already
        res = package.resources[name]
        schema = rules.pandera_schema(res, dtypes=False)
        if not schema.checks:
            continue
        failures = _failures(schema, frame)  # {(rule, column): set(row index)}
        _report_failures(texts[name], frame, failures, report)


def _failures(schema, frame) -> dict[tuple[str, str], set[int]]:
    """Rows each rule fails on, from Pandera's failure cases: {(rule, column): {row index}}."""
    import pandas as pd
    import pandera.errors

    from . import rules

    try:
        schema.validate(frame, lazy=True, inplace=True)  # checks only: no copy of a million rows
        return {}
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    table_rules = rules.rules_for(schema.name)
    out: dict[tuple[str, str], set[int]] = {}
    for context, check, number, index in zip(cases["schema_context"], cases["check"].astype(str),
                                             cases["check_number"], cases["index"]):
        if index is None or pd.isna(index):
            continue
        if context == "DataFrameSchema" and number is not None and not pd.isna(number) \
                and int(number) < len(table_rules):
            rule = table_rules[int(number)]
            key = (rule.name, rule.column)
        else:
            continue  # dtype checks: the schema layer has reported the cell already
        out.setdefault(key, set()).add(int(index))
    return out


def _report_failures(table: TextTable, frame, failures, report: Report) -> None:
    import pandas as pd

    from . import rules
    hints = {(r.name, r.column): r.hint for r in rules.rules_for(table.resource.name)}
    exceptions = frame[EXCEPTION_COLUMN] if EXCEPTION_COLUMN in frame else None
    broken: dict[int, set[str]] = {}
    path = table.resource.path
    for (rule, column), rows in sorted(failures.items()):
        col = table.positions.get(column)
        for i in sorted(rows):
            broken.setdefault(i, set()).add(rule)
            excepted = exceptions is not None and not pd.isna(exceptions.iloc[i]) and exceptions.iloc[i] == rule
            value = table.columns[column][i].as_py() if column in table.columns else None
            msg = hints.get((rule, column), rule)
            if excepted:
                msg += " (excepted by this row's rule_exception; its note says why)"
            report.add(path, int(table.lines[i]), column, value, rule, msg,
                       "warning" if excepted else "error", col)
    if exceptions is not None:
        for i, rule in exceptions.dropna().items():
            if rule not in broken.get(i, set()):
                report.add(path, int(table.lines[i]), EXCEPTION_COLUMN, rule, "rule-exception-unused",
                           f"this row does not break {rule!r}: clear rule_exception (an unused exception would hide a "
                           "later mistake)", "error", table.positions.get(EXCEPTION_COLUMN))


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
