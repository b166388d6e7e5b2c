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


MAX_FINDINGS = 1000  # findings listed per file and rule (and severity); the rest are counted


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    fatal: bool = False  # datapackage.json itself unusable: exit 2
    # A million bad rows must not become a million findings held in memory and printed: each
    # (file, rule, severity) lists its first max_findings and counts every one in `totals`.
    max_findings: int = MAX_FINDINGS
    totals: dict = field(default_factory=dict)  # (file, rule, severity) -> every finding, listed or not

    def add(self, file, line, column, value, rule, message, severity="error", col=None) -> None:
        key = (file, rule, severity)
        n = self.totals.get(key, 0) + 1
        self.totals[key] = n
        if n <= max(1, self.max_findings):
            self.findings.append(Finding(file, line, column, value, rule, message, severity, col))

    def room(self, file: str, rule: str, severity: str = "error") -> int:
        """How many more findings of this file and rule would be listed."""
        return max(0, max(1, self.max_findings) - self.totals.get((file, rule, severity), 0))

    def count(self, file: str, rule: str, severity: str, n: int) -> None:
        """Count n findings that are not listed (beyond the cap), without building them."""
        if n > 0:
            self.totals[(file, rule, severity)] = self.totals.get((file, rule, severity), 0) + n

    def total(self, severity: str) -> int:
        return sum(n for (_, _, sev), n in self.totals.items() if sev == severity)

    def truncated(self) -> list[dict]:
        """Each (file, rule, severity) with more findings than are listed."""
        listed: dict = {}
        for f in self.findings:
            listed[(f.file, f.rule, f.severity)] = listed.get((f.file, f.rule, f.severity), 0) + 1
        return [{"file": file, "rule": rule, "severity": sev, "total": n, "listed": listed.get((file, rule, sev), 0)}
                for (file, rule, sev), n in sorted(self.totals.items()) if n > listed.get((file, rule, sev), 0)]

    def findings_summary(self) -> dict:
        return {"errors": self.total("error"), "warnings": self.total("warning"),
                "max_findings": self.max_findings, "truncated": self.truncated()}

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def valid(self) -> bool:
        return not self.fatal and not self.total("error")

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return 2
        return 1 if self.total("error") else 0

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: (f.severity != "error", f.file, f.line or 0, f.column or "", f.rule))


def _where(f: Finding) -> str:
    where = f.file
    if f.line is not None:
        where += f":{f.line}"
    if f.column:
        where += f" [{f.column}]"
    return where


def _value(f: Finding) -> str:
    if f.value is None:
        return ""
    shown = f.value if len(f.value) <= 200 else f.value[:200] + f"… ({len(f.value):,} characters)"
    return f" (value: {shown!r})"


def _verdict(report: Report) -> str:
    if report.valid:
        return f"VALID: {report.total('warning')} warning(s)."
    return f"INVALID: {report.total('error')} error(s), {report.total('warning')} warning(s)."


def _truncation_lines(report: Report) -> list[str]:
    return [f"  {t['severity']}s of rule {t['rule']} in {t['file']}: {t['listed']:,} listed of {t['total']:,} "
            f"(python validate.py --max-findings N lists more)" for t in report.truncated()]


def render_text(report: Report, quiet: bool = False) -> str:
    """Every finding, then the summary; with quiet, the summary first and then the errors only."""
    shown = [f for f in report.sorted() if not quiet or f.severity == "error"]
    lines = [f"{f.severity.upper()} {_where(f)} {f.rule}: {f.message}{_value(f)}" for f in shown]
    tail = []
    truncated = _truncation_lines(report)
    if truncated:
        tail.append("Not every finding is listed:")
        tail += truncated
    if report.valid:
        tail.append(render_summary(report.summary))
    tail.append(_verdict(report))
    tail = [t for t in tail if t]
    return "\n".join(tail[::-1][:1] + tail[:-1] + lines if quiet else lines + tail)


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


def render_json(report: Report, quiet: bool = False) -> str:
    """The JSON interface of docs/data-model.md, whatever `quiet` says (a program reads it whole);
    summary.findings adds the true totals when a rule's findings were capped."""
    return json.dumps({
        "valid": report.valid,
        "errors": [f.as_json() for f in report.sorted() if f.severity == "error"],
        "warnings": [f.as_json() for f in report.sorted() if f.severity == "warning"],
        "summary": {**report.summary, "findings": report.findings_summary()},
    }, indent=2, ensure_ascii=False)


def _escape(text: str, prop: bool = False) -> str:
    # GitHub workflow-command escaping; properties also escape ':' and ','.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def render_github(report: Report, quiet: bool = False) -> str:
    out = []
    for f in report.sorted():
        if quiet and f.severity != "error":
            continue
        props = [f"file={_escape(f.file, True)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
        if f.col is not None:
            props.append(f"col={f.col}")
        if f.column:
            props.append(f"title={_escape(f.rule + ' [' + f.column + ']', True)}")
        else:
            props.append(f"title={_escape(f.rule, True)}")
        out.append(f"::{f.severity} {','.join(props)}::{_escape(f.message + _value(f))}")
    verdict = ("VALID" if report.valid else "INVALID") + \
        f": {report.total('error')} error(s), {report.total('warning')} warning(s)."
    tail = [verdict] + (["Not every finding is listed:", *_truncation_lines(report)] if report.truncated() else [])
    return "\n".join(tail + out if quiet else out + tail)


RENDERERS = {"text": render_text, "json": render_json, "github": render_github}
