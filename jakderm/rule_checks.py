"""The rule layer: the rules of rules.py, run as the Pandera checks of rules.pandera_schema on the
frames joins.prepare() makes, and reported where a contributor mends them.

A cell the schema layer reported is missing in the typed frames, so it breaks no rule itself; a
rule failing on a row where a cell it reads was reported is that cell's follow-on, and is not
reported either: one bad cell, one finding. A row whose rule_exception names a rule it breaks gets
a warning instead of an error; an exception naming a rule the row does not break is an error.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import joins
from .csvfile import TextTable
from .descriptor import Package, Resource
from .report import Report
from .rules import EXCEPTION_COLUMN, Rule, RuleError, only_its_columns, pandera_schema, rules_for

# Tables whose rows other tables' rules read (a trial's design, an arm's size, a source link).
JOINED_TO = ("trials", "arms", "trial_sources")


def check_rules(package: Package, frames: dict[str, pd.DataFrame], texts: dict[str, TextTable],
                report: Report) -> None:
    if not _schemas_complete(package, report):
        return
    prepared = joins.prepare(frames, texts)
    declared = {r.get("name") for r in package.descriptor.get("resources", []) if isinstance(r, dict)}
    # A table others join to that was not read (a missing file, a path refused) leaves the
    # cross-table rules without their data: an exception they would use cannot be judged unused.
    partial = any(t in declared and t not in texts for t in JOINED_TO)
    for name, frame in prepared.items():
        if name not in texts:
            continue  # a missing file, reported already
        res = package.resources[name]
        # A second entry of a repeated name (reported) is not joined to the other tables: only the
        # rules reading its own fields are judged on it, and its exceptions are not.
        joined = name == res.name
        broken = failures(res, frame, joined)
        report_failures(texts[name], frame, broken, report, judge_unused=joined and not partial)


def _schemas_complete(package: Package, report: Report) -> bool:
    """Whether every field the joins and the rules read is in the package's schemas. A trimmed or
    older schema is an error naming what could not be checked, never a silent pass."""
    complete = True
    for name, res in package.resources.items():
        needed = {c: "the cross-table joins" for c in joins.READS.get(name, ())}
        for rule in rules_for(name):
            needed.update({c: f"rule {rule.name}" for c in rule.reads if not c.startswith("_")})
        for field, reader in sorted(needed.items()):
            if field not in res.field_names:
                complete = False
                report.add(res.schema_path, None, field, None, "schema-incomplete",
                           f"{reader} read(s) the field {field!r} of {name}, which this schema does not declare, so "
                           "the cross-field and cross-table rules were not checked; use the project's schemas/")
    return complete


def failures(resource: Resource, frame: pd.DataFrame, joined: bool = True) -> dict[Rule, np.ndarray]:
    """{rule: the rows that break it} for every rule of the table broken somewhere. (That the joined
    frames' dtypes are those the schema declares is a test's business: tests/test_layers.py.)"""
    rules = rules_for(resource.name)
    schema = pandera_schema(resource, joins.JOINED.get(resource.name, {}))
    checks = dict(zip(rules, schema.checks, strict=True))
    # Pandera registers its pandas backends when a schema first meets a frame (older releases do
    # it nowhere else): the checks below are run on their own, so the schema meets the frame here.
    schema.get_backend(frame)
    if not joined:
        rules = [r for r in rules if not any(c in joins.JOINED.get(resource.name, {}) for c in r.reads)]
    for rule in rules:
        missing = [c for c in rule.reads if c not in frame.columns]
        if missing:
            raise RuleError(f"rule {rule.key} reads {missing}, which the joined {resource.name} frame lacks")
    out: dict[Rule, np.ndarray] = {}
    for rule in rules:
        result = checks[rule](frame)  # the check reads only the rule's declared columns (rules._declared)
        holds = np.asarray(result.check_output, dtype=bool)
        if len(holds) != len(frame):
            raise RuleError(f"rule {rule.key} returned {len(holds)} values for {len(frame)} rows")
        if not holds.all():
            out[rule] = ~holds
    return out


def report_failures(table: TextTable, frame: pd.DataFrame, broken: dict[Rule, np.ndarray], report: Report,
                    judge_unused: bool = True) -> None:
    # Each row's rule_exception as a code into the few names used (-1: none), so a rule's
    # exceptions are one integer comparison, not a million string ones.
    if EXCEPTION_COLUMN in frame:
        codes, names = pd.factorize(frame[EXCEPTION_COLUMN])
        names = list(names)
    else:
        codes, names = np.full(len(frame), -1), []
    has_exception = codes >= 0

    def names_rule(name: str) -> np.ndarray:
        return codes == names.index(name) if name in names else np.zeros(len(frame), bool)
    path = table.resource.path
    by_name: dict[str, np.ndarray] = {}  # rule name -> rows that break it (on any of its columns)
    for rule, fails in sorted(broken.items(), key=lambda kv: kv[0].key):
        by_name[rule.name] = fails if rule.name not in by_name else (by_name[rule.name] | fails)
        for read in {rule.column, *rule.reads}:
            if read in table.bad:  # a cell the rule reads was reported: no second finding for it
                fails = fails & ~table.bad[read]
        excepted = fails & names_rule(rule.name)
        col = table.positions.get(rule.column)
        for severity, mask in (("error", fails & ~excepted), ("warning", excepted)):
            rows = np.flatnonzero(mask)
            room = report.room(path, rule.name, severity)
            values = table.columns.get(rule.column)
            shown = rows[:room]
            details = ([rule.detail(row, table.lines) for row in only_its_columns(rule, frame).iloc[shown].to_dict("records")]
                       if rule.detail else [""] * len(shown))
            for i, detail in zip(shown.tolist(), details, strict=True):
                msg = rule.hint + detail
                if severity == "warning":
                    msg += " (excepted by this row's rule_exception; its note says why)"
                report.add(path, int(table.lines[i]), rule.column, values[i].as_py() if values is not None else None,
                           rule.name, msg, severity, col)
            report.count(path, rule.name, severity, len(rows) - min(room, len(rows)))
    if judge_unused and has_exception.any():
        unused = has_exception.copy()
        for mask in table.bad.values():  # a row with a reported cell: its exception may hold once mended
            unused &= ~mask
        for name, rows in by_name.items():
            unused &= ~(rows & names_rule(name))
        rows = np.flatnonzero(unused)
        room = report.room(path, "rule-exception-unused")
        for i in rows[:room].tolist():
            rule_name = names[codes[i]]
            report.add(path, int(table.lines[i]), EXCEPTION_COLUMN, rule_name, "rule-exception-unused",
                       f"this row does not break {rule_name!r}: clear rule_exception (an unused exception would hide "
                       "a later mistake)", "error", table.positions.get(EXCEPTION_COLUMN))
        report.count(path, "rule-exception-unused", "error", len(rows) - min(room, len(rows)))
