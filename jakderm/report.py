"""Findings of a validation run, and the three ways of printing them (text, json, github)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Finding:
    """One problem, located as a contributor looks for it: file, spreadsheet line, column."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    rule: str
    message: str
    severity: str = "error"  # or "warning"
    col: int | None = None  # 1-based position of the column in the file, for GitHub annotations

    def as_json(self) -> dict:
        d = asdict(self)
        d.pop("severity")
        d.pop("col")
        return d


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    fatal: bool = False  # datapackage.json itself unusable: exit 2

    def add(self, *args, **kwargs) -> None:
        self.findings.append(Finding(*args, **kwargs))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.fatal and not self.errors

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return 2
        return 1 if self.errors else 0

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (f.severity != "error", f.file, f.line or 0, f.column or "", f.rule))


def _where(f: Finding) -> str:
    where = f.file
    if f.line is not None:
        where += f":{f.line}"
    if f.column:
        where += f" [{f.column}]"
    return where


def render_text(report: Report) -> str:
    out = []
    for f in report.sorted():
        value = "" if f.value is None else f" (value: {f.value!r})"
        out.append(f"{f.severity.upper()} {_where(f)} {f.rule}: {f.message}{value}")
    if report.valid:
        out.append(render_summary(report.summary))
        out.append(f"VALID: {len(report.warnings)} warning(s).")
    else:
        n = len(report.errors)
        out.append(f"INVALID: {n} error(s), {len(report.warnings)} warning(s).")
    return "\n".join(out)


def render_summary(summary: dict) -> str:
    lines = []
    rows = summary.get("rows", {})
    if rows:
        lines.append("Rows per table:")
        width = max(len(t) for t in rows)
        lines += [f"  {t.ljust(width)}  {n:>7}" for t, n in rows.items()]
    for key, title in (("trials_per_drug", "Trials per drug:"), ("trials_per_indication", "Trials per indication:"),
                       ("trials_per_design", "Trials per design:")):
        counts = summary.get(key) or {}
        if counts:
            lines.append(title)
            width = max(len(k) for k in counts)
            lines += [f"  {k.ljust(width)}  {n:>4}" for k, n in counts.items()]
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return json.dumps({
        "valid": report.valid,
        "errors": [f.as_json() for f in report.sorted() if f.severity == "error"],
        "warnings": [f.as_json() for f in report.sorted() if f.severity == "warning"],
        "summary": report.summary,
    }, indent=2, ensure_ascii=False)


def _escape(text: str, prop: bool = False) -> str:
    # GitHub workflow-command escaping; properties also escape ':' and ','.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(report: Report) -> str:
    out = []
    for f in report.sorted():
        props = [f"file={_escape(f.file, True)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.col is not None:
            props.append(f"col={f.col}")
        if f.column:
            props.append(f"title={_escape(f.rule + ' [' + f.column + ']', True)}")
        else:
            props.append(f"title={_escape(f.rule, True)}")
        value = "" if f.value is None else f" (value: {f.value!r})"
        out.append(f"::{f.severity} {','.join(props)}::{_escape(f.message + value)}")
    out.append(("VALID" if report.valid else "INVALID") + f": {len(report.errors)} error(s), {len(report.warnings)} warning(s).")
    return "\n".join(out)


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
