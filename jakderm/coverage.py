"""`python -m jakderm coverage [--out FILE] [--check] [--reasons FILE]`: what the package holds
and what it still lacks, as docs/coverage.md.

The report is computed from the package (which must validate) and from the list of trials the
dataset aims to cover, `curation/trial-universe.csv` (see curation/README.md). It opens with the
coverage statement of curation/README.md and the totals; then the list, each trial with its
status; then every trial of the package with its arms and sizes, the endpoints and adverse-event
terms that have figures, and every required figure still empty with the reason its row gives.

`--reasons FILE` writes curators' not-curated reasons (`trial_name,nct_id,reason[,status]`) into
the list and regenerates the report in the same run. The site (site.py) renders the same
computed `Coverage`, so the report and the home page cannot disagree.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .rows import InvalidPackage, Rows, group, index, read_rows, validated

OUTPUT = Path("docs") / "coverage.md"
UNIVERSE = Path("curation") / "trial-universe.csv"
UNIVERSE_SCHEMA = Path("curation") / "trial-universe.schema.json"
STATEMENT = Path("curation") / "README.md"
STATEMENT_HEADING = "## Coverage statement"
RANDOMIZED = "randomized"

# The figures a row of each kind must give before it is complete (docs/data-model.md and issue 16):
# an empty one is listed with the reason its row's note gives.
REQUIRED = {
    ("trials", True): ["n_randomized", "randomized_period_weeks", "primary_timepoint_weeks"],
    ("trials", False): ["n_enrolled"],
    ("arms", True): ["n_randomized"],
    ("arms", False): ["n_enrolled"],
    ("outcomes", None): ["analysed", "population", "imputation"],
    ("adverse_events", None): ["participants_with_event", "participants_at_risk"],
}


class CoverageError(Exception):
    """Bad input to the coverage command: the message names file, line and column."""


@dataclass
class Gap:
    """Required cells left empty in one or more rows of one table, for one stated reason."""
    table: str
    columns: tuple[str, ...]
    row_ids: list[str]
    rule_exception: str
    reason: str


@dataclass
class TrialCoverage:
    trial: dict
    arms: list[dict]
    outcomes: list[dict]
    adverse_events: list[dict]
    all_arm_sizes: bool
    primary_figure_every_arm: bool
    ae_counts_every_arm: bool
    endpoints: list[tuple[str, str, int, int, int]]  # endpoint, timepoint, arms with a figure, rows, rows with % and N
    ae_terms: list[tuple[str, str, int, int]]  # term, period, arms, rows with both counts
    arm_gap_reason: dict[str, str]  # arm_id -> reason its size is empty
    gaps: list[Gap]
    listed_as: list[str] = field(default_factory=list)  # names of the list's rows matched to it

    @property
    def trial_id(self) -> str:
        return self.trial["trial_id"]

    @property
    def randomized(self) -> bool:
        return self.trial["design"] == RANDOMIZED


@dataclass
class ListEntry:
    row: dict
    line: int
    status: str  # "curated", "not curated", "excluded"
    trial_ids: list[str]
    reason: str
    remarks: list[str]


@dataclass
class Coverage:
    title: str
    version: str
    statement: str
    totals: list[tuple[str, str, str]]  # label, value, definition
    listed: list[ListEntry]
    trials: list[TrialCoverage]
    beyond_list: list[str]
    warnings: dict[str, int]
    n_warnings: int
    by_indication: list[tuple[str, int, int, int, int]] = field(default_factory=list)  # listed, curated, not, excluded


# ---------------------------------------------------------------- reasons from notes

_SENTENCE = re.compile(r"(?<=[.;])\s+")
_ABSENCE = re.compile(r"\b(not|no|empty|missing|unavailable|cannot|could not|only)\b", re.I)


def reason_from_note(note: str, columns: tuple[str, ...], limit: int = 260) -> str:
    """The part of a row's note that says why `columns` are empty: the sentences naming one of
    them, else those stating an absence, else the first sentence."""
    note = " ".join((note or "").split())
    if not note:
        return ""
    sentences = [s for s in _SENTENCE.split(note) if s]
    picked = [s for s in sentences if any(c in s for c in columns)] or \
             [s for s in sentences if _ABSENCE.search(s)] or sentences[:1]
    seen: list[str] = []
    for s in picked:
        if s not in seen:
            seen.append(s)
    text = ""
    for part in (p.rstrip(";,") for p in seen):
        text += ("" if not text else " " if text.endswith(".") else "; ") + part
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------- the trial list

def slug(text: str) -> str:
    text = re.sub(r"\([^)]*\)", " ", text or "").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def read_universe(root: Path) -> tuple[list[str], list[dict], list[int]]:
    """The list's header, rows and file lines, checked against its schema (CoverageError names
    file, line and column of every problem)."""
    path = root / UNIVERSE
    if not path.exists():
        return [], [], []
    schema = json.loads((root / UNIVERSE_SCHEMA).read_text(encoding="utf-8"))
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    problems = check_universe(header, rows, schema, str(UNIVERSE))
    if problems:
        raise CoverageError("\n".join(problems))
    return header, rows, [i + 2 for i in range(len(rows))]


def check_universe(header: list[str], rows: list[dict], schema: dict, shown: str) -> list[str]:
    fields = schema["fields"]
    names = [f["name"] for f in fields]
    problems = []
    missing = [n for n in names if n not in header]
    unknown = [h for h in header if h not in names]
    if missing or unknown:
        problems.append(f"{shown}:1: header: expected the columns {', '.join(names)}"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else ""))
        return problems
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        line = i + 2
        if None in row:
            problems.append(f"{shown}:{line}: more cells than the header has columns")
            continue
        for f in fields:
            value, c = row.get(f["name"]) or "", f.get("constraints", {})
            where = f"{shown}:{line} [{f['name']}]"
            if not value:
                if c.get("required"):
                    problems.append(f"{where}: required, but empty")
                continue
            if "enum" in c and value not in c["enum"]:
                problems.append(f"{where}: {value!r} is not one of {', '.join(c['enum'])}")
            if "pattern" in c and not re.fullmatch(c["pattern"], value):
                problems.append(f"{where}: {value!r} does not match the pattern {c['pattern']}")
        key = row["name"]
        if key in seen:
            problems.append(f"{shown}:{line} [name]: {key!r} is listed already on line {seen[key]}")
        seen.setdefault(key, line)
        if row["status"] == "exclude" and not row["reason"]:
            problems.append(f"{shown}:{line} [reason]: an excluded trial says why (not randomized, duplicate, ...)")
    return problems


def match_list(rows: list[dict], lines: list[int], trials: list[dict]) -> list[ListEntry]:
    """Each listed trial with the trial(s) of trials.csv it is: by its trial_id column, else by
    nct_id (a registry record split into parts in trials.csv gives several, narrowed by name
    where the name picks one), else by its name as a slug against trial_id and acronym."""
    by_id = index(trials, "trial_id")
    by_nct = group([t for t in trials if t.get("nct_id")], "nct_id")
    by_slug: dict[str, list[dict]] = {}
    for t in trials:
        for s in {t["trial_id"], slug(t.get("acronym", ""))} - {""}:
            by_slug.setdefault(s, []).append(t)
    entries = []
    for row, line in zip(rows, lines, strict=True):
        remarks: list[str] = []
        found: list[dict] = []
        named = by_slug.get(slug(row["name"]), [])
        if row.get("trial_id"):
            if row["trial_id"] in by_id:
                found = [by_id[row["trial_id"]]]
            else:
                remarks.append(f"trial_id {row['trial_id']} is not in trials.csv")
        if not found and row["nct_id"]:
            found = by_nct.get(row["nct_id"], [])
            if len(found) > 1 and len([t for t in found if t in named]) == 1:
                found = [t for t in found if t in named]
        if not found and len(named) == 1:
            found = named
        for t in found:
            if row["nct_id"] and t.get("nct_id") and t["nct_id"] != row["nct_id"]:
                remarks.append(f"registry id differs: list {row['nct_id']}, trials.csv {t['nct_id']}")
        ids = [t["trial_id"] for t in found]
        if ids:
            if row["status"] == "exclude":
                remarks.append("listed as excluded, yet in trials.csv")
            entries.append(ListEntry(row, line, "curated", ids, "", remarks))
        else:
            entries.append(ListEntry(row, line, "excluded" if row["status"] == "exclude" else "not curated",
                                     [], row["reason"], remarks))
    counts: dict[str, list[ListEntry]] = {}
    for e in entries:
        for tid in e.trial_ids:
            counts.setdefault(tid, []).append(e)
    for tid, es in counts.items():
        if len(es) > 1:
            for e in es:
                e.remarks.append(f"{tid} is matched by {len(es)} rows of the list")
    return entries


# ---------------------------------------------------------------- per trial

def _filled(row: dict, column: str) -> bool:
    return bool(row.get(column))


def _has_result(outcome: dict) -> bool:
    return _filled(outcome, "percent") or _filled(outcome, "responders")


def _timepoint(row: dict, weeks: str, text: str) -> str:
    return f"w{row[weeks]}" if row.get(weeks) else (row.get(text) or "timepoint not stated")


def _gaps(table: str, rows: list[dict], key: str, required: list[str]) -> list[Gap]:
    grouped: dict[tuple, Gap] = {}
    for r in rows:
        empty = tuple(c for c in required if not _filled(r, c))
        if not empty:
            continue
        reason = reason_from_note(r.get("note", ""), empty) or "no reason given in the row's note"
        k = (empty, r.get("rule_exception", ""), reason)
        if k not in grouped:
            grouped[k] = Gap(table, empty, [], r.get("rule_exception", ""), reason)
        grouped[k].row_ids.append(r[key])
    return list(grouped.values())


def trial_coverage(trial: dict, arms: list[dict], outcomes: list[dict], aes: list[dict]) -> TrialCoverage:
    randomized = trial["design"] == RANDOMIZED
    size = REQUIRED[("arms", randomized)][0]
    arm_ids = [a["arm_id"] for a in arms]
    all_sizes = bool(arms) and all(_filled(a, size) for a in arms)

    figure = [o for o in outcomes if _has_result(o) and not o.get("subgroup")]
    primary = trial.get("primary_timepoint_weeks", "")
    per_endpoint: dict[str, set[str]] = {}
    for o in figure:
        if primary and o.get("timepoint_weeks") and float(o["timepoint_weeks"]) == float(primary):
            per_endpoint.setdefault(o["endpoint_id"], set()).add(o["arm_id"])
    primary_every_arm = bool(arms) and any(s >= set(arm_ids) for s in per_endpoint.values())

    counted = {a["arm_id"] for a in aes if _filled(a, "participants_with_event") and _filled(a, "participants_at_risk")}
    ae_every_arm = bool(arms) and set(arm_ids) <= counted

    endpoints: dict[tuple[str, str], list[dict]] = {}
    for o in outcomes:
        endpoints.setdefault((o["endpoint_id"], _timepoint(o, "timepoint_weeks", "timepoint_text")), []).append(o)
    ep = [(e, t, len({o["arm_id"] for o in rs if _has_result(o)}),
           len(rs), sum(1 for o in rs if _filled(o, "percent") and _filled(o, "analysed")))
          for (e, t), rs in sorted(endpoints.items(), key=lambda kv: (kv[0][0], _week_key(kv[0][1])))]
    terms: dict[tuple[str, str], list[dict]] = {}
    for a in aes:
        terms.setdefault((a["ae_term_id"], _timepoint(a, "period_weeks", "period_text")), []).append(a)
    at = [(t, p, len({a["arm_id"] for a in rs}),
           sum(1 for a in rs if _filled(a, "participants_with_event") and _filled(a, "participants_at_risk")))
          for (t, p), rs in sorted(terms.items(), key=lambda kv: (kv[0][0], _week_key(kv[0][1])))]

    arm_reason = {a["arm_id"]: (reason_from_note(a.get("note", ""), (size,)) or "no reason given in the row's note")
                  for a in arms if not _filled(a, size)}
    gaps = _gaps("trials", [trial], "trial_id", REQUIRED[("trials", randomized)])
    if not arms:
        gaps.append(Gap("arms", ("arm rows",), [trial["trial_id"]], trial.get("rule_exception", ""),
                        reason_from_note(trial.get("note", ""), ("arm",)) or "no reason given in the trial's note"))
    gaps += _gaps("outcomes", outcomes, "outcome_id", REQUIRED[("outcomes", None)])
    gaps += _gaps("adverse_events", aes, "adverse_event_id", REQUIRED[("adverse_events", None)])
    return TrialCoverage(trial, arms, outcomes, aes, all_sizes, primary_every_arm, ae_every_arm, ep, at,
                         arm_reason, gaps)


def _week_key(label: str) -> tuple:
    return (0, float(label[1:]), "") if re.fullmatch(r"w[0-9.]+", label) else (1, 0.0, label)


# ---------------------------------------------------------------- the whole report

def statement(root: Path) -> str:
    path = root / STATEMENT
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find(STATEMENT_HEADING)
    if start < 0:
        return ""
    body = text[start + len(STATEMENT_HEADING):]
    end = re.search(r"^## ", body, re.M)
    body = body[: end.start()] if end else body
    # its first paragraph speaks to the maintainers of the README, not to the report's reader
    paragraphs = [p for p in body.strip().split("\n\n") if p.strip()]
    return "\n\n".join(p for p in paragraphs if not p.startswith("`docs/coverage.md` opens")).strip()


def compute(root: str | Path = ".", universe: tuple[list[dict], list[int]] | None = None) -> Coverage:
    root = Path(root)
    package, report = validated(root, "jakderm coverage")
    rows = read_rows(package)
    if universe is None:
        _, urows, ulines = read_universe(root)
    else:
        urows, ulines = universe
    return assemble(package.descriptor, rows, report, urows, ulines, statement(root))


def assemble(descriptor: dict, rows: Rows, report, urows: list[dict], ulines: list[int], stmt: str) -> Coverage:
    arms_by_trial = group(rows["arms"], "trial_id")
    arm_trial = {a["arm_id"]: a["trial_id"] for a in rows["arms"]}
    out_by_trial: dict[str, list[dict]] = {}
    for o in rows["outcomes"]:
        out_by_trial.setdefault(arm_trial.get(o["arm_id"], ""), []).append(o)
    ae_by_trial: dict[str, list[dict]] = {}
    for a in rows["adverse_events"]:
        ae_by_trial.setdefault(arm_trial.get(a["arm_id"], ""), []).append(a)
    trials = [trial_coverage(t, arms_by_trial.get(t["trial_id"], []), out_by_trial.get(t["trial_id"], []),
                             ae_by_trial.get(t["trial_id"], [])) for t in rows["trials"]]
    listed = match_list(urows, ulines, rows["trials"])
    by_trial = {tc.trial_id: tc for tc in trials}
    for e in listed:
        for tid in e.trial_ids:
            by_trial[tid].listed_as.append(e.row["name"])
    beyond = [tc.trial_id for tc in trials if not tc.listed_as]

    rand = [tc for tc in trials if tc.randomized]
    arms = rows["arms"]
    design = {t["trial_id"]: t["design"] for t in rows["trials"]}
    sized = sum(1 for a in arms if _filled(a, "n_randomized" if design.get(a["trial_id"]) == RANDOMIZED else "n_enrolled"))
    outcomes, aes = rows["outcomes"], rows["adverse_events"]
    warnings: dict[str, int] = {}
    for f in report.warnings:
        warnings[f.rule] = warnings.get(f.rule, 0) + 1
    status = {s: sum(1 for e in listed if e.status == s) for s in ("curated", "not curated", "excluded")}
    no_reason = sum(1 for e in listed if e.status == "not curated" and not e.reason)
    n = len(rand)
    totals = [
        ("Trials and studies", f"{len(trials)} ({n} randomized, {len(trials) - n} other designs)",
         "rows of trials.csv"),
        ("Randomized trials with every arm's size", f"{sum(tc.all_arm_sizes for tc in rand)} of {n}",
         "every arm has n_randomized"),
        ("Randomized trials with a primary-endpoint figure per arm",
         f"{sum(tc.primary_figure_every_arm for tc in rand)} of {n}",
         "one endpoint has a percent or responders for every arm at the trial's primary timepoint (whole arm)"),
        ("Randomized trials with adverse-event counts", f"{sum(tc.ae_counts_every_arm for tc in rand)} of {n}",
         "every arm has at least one adverse-event row with both counts"),
        ("Arms with their size", f"{sized} of {len(arms)}", "n_randomized (randomized trials) or n_enrolled"),
        ("Outcome rows with percent and analysed",
         f"{sum(1 for o in outcomes if _filled(o, 'percent') and _filled(o, 'analysed'))} of {len(outcomes)}",
         "percent as printed and the number analysed"),
        ("Adverse-event rows with both counts",
         f"{sum(1 for a in aes if _filled(a, 'participants_with_event') and _filled(a, 'participants_at_risk'))} "
         f"of {len(aes)}", "participants with the event and at risk"),
        ("Validator warnings (the curation backlog)",
         f"{len(report.warnings)}" + (" (" + ", ".join(f"{r}: {c}" for r, c in sorted(warnings.items())) + ")"
                                      if warnings else ""),
         "rows whose rule_exception lets them break a rule, as python validate.py lists them"),
    ]
    if urows:
        totals.append(("Trials of the list", f"{len(listed)}: {status['curated']} curated, {status['not curated']} "
                       f"not curated ({no_reason} without a reason yet), {status['excluded']} excluded",
                       f"rows of {UNIVERSE.as_posix()}"))
    per: dict[str, list[ListEntry]] = {}
    for e in listed:
        per.setdefault(e.row["indication"].split(" (")[0].strip(), []).append(e)
    def count(es: list[ListEntry], status: str) -> int:
        return sum(1 for x in es if x.status == status)

    by_indication = [(ind, len(es), count(es, "curated"), count(es, "not curated"), count(es, "excluded"))
                     for ind, es in sorted(per.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return Coverage(descriptor.get("title", descriptor.get("name", "")), str(descriptor.get("version", "")), stmt,
                    totals, listed, trials, beyond, warnings, len(report.warnings), by_indication)


# ---------------------------------------------------------------- Markdown

def _md(text: str) -> str:
    """A cell's text inside a Markdown table: no table break, no markup taken from the data."""
    text = " ".join(str(text).split())
    text = re.sub(r"([\\`*\[\]<>|#])", r"\\\1", text)
    # an underscore inside a word (n_randomized) is no emphasis in CommonMark: escape the others only
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", text)


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _arm_label(a: dict) -> str:
    if a.get("drug_id"):
        dose = f" {a['dose']} {a.get('dose_unit', '')}".rstrip() if a.get("dose") else ""
        return f"{a['drug_id']}{dose} {a.get('frequency', '')}".strip()
    return a.get("role", "")


def render_markdown(cov: Coverage) -> str:
    out = [f"# Coverage of {cov.title}", "",
           f"Version {cov.version}. Generated by `python -m jakderm coverage` from `data/` and "
           f"`{UNIVERSE.as_posix()}`; do not edit by hand. An empty cell means *not reported in the "
           "source read*, never zero.", ""]
    if cov.statement:
        out += ["## Coverage statement", "", cov.statement, ""]
    out += ["## Totals", "", "| | count | counted as |", "| --- | --- | --- |"]
    out += [f"| {_md(label)} | {_md(value)} | {_md(definition)} |" for label, value, definition in cov.totals]
    out.append("")
    if cov.listed:
        out += ["## The trial list", "",
                f"Each trial of `{UNIVERSE.as_posix()}`: *curated* (in `data/trials.csv`), *not curated* with the "
                "reason the curators gave, or *excluded* after checking.", "",
                "| indication (as listed) | trials | curated | not curated | excluded |", "| --- | --- | --- | --- | --- |"]
        out += [f"| {_md(ind)} | {n} | {c} | {nc} | {x} |" for ind, n, c, nc, x in cov.by_indication]
        out += ["",
                "| trial | NCT | drug | indication | phase | status | trial_id or reason |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for e in cov.listed:
            r = e.row
            what = (", ".join(f"[`{t}`](#{t})" for t in e.trial_ids) if e.trial_ids
                    else (_md(e.reason) or "*no reason recorded yet*"))
            if e.remarks:
                what += " — " + _md("; ".join(e.remarks))
            out.append(f"| {_md(r['name'])} | {_md(r['nct_id'])} | {_md(r['drug'])} | {_md(r['indication'])} | "
                       f"{_md(r['phase'])} | {e.status} | {what} |")
        out.append("")
        if cov.beyond_list:
            out += ["Curated beyond the list (seed studies and trials the list does not name): "
                    + ", ".join(f"[`{t}`](#{t})" for t in cov.beyond_list) + ".", ""]
    out += ["## Trials", "",
            "Per trial: its arms and their sizes; the endpoints and adverse-event terms with figures (arms with a "
            "figure, rows, rows with percent and analysed or with both counts); every required figure still empty, "
            "with the rule its row is excused from and the reason its note gives.", ""]
    for tc in cov.trials:
        t = tc.trial
        name = t.get("acronym") or t["trial_id"]
        facts = [t["design"], f"phase {t['phase']}" if t.get("phase") else "", t.get("indication_id", ""),
                 t.get("nct_id", "")]
        size = "n_randomized" if tc.randomized else "n_enrolled"
        if t.get(size):
            facts.append(f"{size} {t[size]}")
        if t.get("primary_timepoint_weeks"):
            facts.append(f"primary timepoint week {t['primary_timepoint_weeks']}")
        out += [f"### {_md(name)} <a id=\"{t['trial_id']}\"></a>", "",
                f"`{t['trial_id']}`: " + ", ".join(_md(f) for f in facts if f) + ".", ""]
        if tc.arms:
            out += [f"| arm | role | treatment | {size} | why the size is empty |", "| --- | --- | --- | --- | --- |"]
            for a in tc.arms:
                short = a["arm_id"].split("/", 1)[-1]
                out.append(f"| `{short}` | {a['role']} | {_md(_arm_label(a))} | {a.get(size, '')} | "
                           f"{_md(tc.arm_gap_reason.get(a['arm_id'], ''))} |")
            out.append("")
        if tc.endpoints:
            out.append("Endpoints with figures: " + "; ".join(
                f"`{e}` {tp} ({arms}/{len(tc.arms)} arms, {rows} rows, {full} with % and N)"
                for e, tp, arms, rows, full in tc.endpoints) + ".")
        else:
            out.append("Endpoints with figures: none.")
        if tc.ae_terms:
            out.append("")
            out.append("Adverse-event terms with figures: " + "; ".join(
                f"`{term}` {p} ({arms} arms, {both} with both counts)" for term, p, arms, both in tc.ae_terms) + ".")
        else:
            out += ["", "Adverse-event terms with figures: none."]
        if tc.gaps:
            out += ["", "Still empty:"]
            for g in tc.gaps:
                rows = (f"{len(g.row_ids)} {g.table.replace('_', '-')} rows" if len(g.row_ids) > 1
                        else ("the trial" if g.table in ("trials", "arms") else f"`{g.row_ids[0].split('/', 1)[-1]}`"))
                exc = f" (rule_exception `{g.rule_exception}`)" if g.rule_exception else ""
                out.append(f"- {rows}: {', '.join(g.columns)}{exc} — {_md(g.reason)}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------- writing

def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def read_reasons(path: Path) -> list[tuple[int, dict]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CoverageError(f"{path}: cannot be read ({exc})") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("trial_name", "reason") if c not in header]
    if missing:
        raise CoverageError(f"{path}:1: header: needs the columns trial_name, nct_id, reason "
                            f"(optionally status); missing {', '.join(missing)}")
    reader.fieldnames = header
    return [(i + 2, {k: (v or "").strip() for k, v in r.items() if k}) for i, r in enumerate(reader)]


def merge_reasons(header: list[str], rows: list[dict], reasons: list[tuple[int, dict]], shown: str) -> list[dict]:
    """The list with the curators' reasons written in; CoverageError (every unmatched or bad row,
    with its line) if any row cannot be placed."""
    rows = [dict(r) for r in rows]
    by_nct = group([r for r in rows if r["nct_id"]], "nct_id")
    by_name = {" ".join(r["name"].lower().split()): r for r in rows}
    by_slug: dict[str, list[dict]] = {}
    for r in rows:
        by_slug.setdefault(slug(r["name"]), []).append(r)
    problems = []
    for line, rr in reasons:
        name, nct = rr.get("trial_name", ""), rr.get("nct_id", "")
        target = None
        if nct and len(by_nct.get(nct, [])) == 1:
            target = by_nct[nct][0]
        if target is None:
            target = by_name.get(" ".join(name.lower().split()))
        if target is None and len(by_slug.get(slug(name), [])) == 1:
            target = by_slug[slug(name)][0]
        if target is None:
            problems.append(f"{shown}:{line} [trial_name]: {name!r}{f' ({nct})' if nct else ''} matches no trial of "
                            f"{UNIVERSE.as_posix()}; add the trial to the list first")
            continue
        status = rr.get("status", "")
        if status and status not in ("include", "exclude"):
            problems.append(f"{shown}:{line} [status]: {status!r} is not one of include, exclude")
            continue
        if not rr.get("reason"):
            problems.append(f"{shown}:{line} [reason]: empty")
            continue
        target["reason"] = rr["reason"]
        if status:
            target["status"] = status
    if problems:
        raise CoverageError("\n".join(problems))
    return rows


def universe_text(header: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write(root: str | Path = ".", out: str | Path | None = None, check: bool = False,
          reasons: str | Path | None = None) -> int:
    root = Path(root)
    target = Path(out) if out else root / OUTPUT
    try:
        header, urows, ulines = read_universe(root)
        new_universe = None
        if reasons:
            if check:
                raise CoverageError("--reasons writes the list: it cannot be combined with --check")
            if not header:
                raise CoverageError(f"{UNIVERSE.as_posix()}: not found; the reasons have no list to go into")
            urows = merge_reasons(header, urows, read_reasons(Path(reasons)), str(reasons))
            problems = check_universe(header, urows, json.loads((root / UNIVERSE_SCHEMA).read_text("utf-8")),
                                      str(UNIVERSE))
            if problems:
                raise CoverageError("\n".join(problems))
            new_universe = universe_text(header, urows)
        text = render_markdown(compute(root, (urows, ulines)))
    except InvalidPackage as exc:  # its message names the command already
        print(exc, file=sys.stderr)
        return 1
    except CoverageError as exc:
        print(f"jakderm coverage: {exc}", file=sys.stderr)
        return 1
    shown = target.relative_to(root).as_posix() if target.is_relative_to(root) else str(target)
    current = target.read_text(encoding="utf-8") if target.exists() else None
    if check:
        if current == text:
            print(f"{shown} is up to date")
            return 0
        print(f"{shown} is stale: run `python -m jakderm coverage`", file=sys.stderr)
        return 1
    if new_universe is not None and reasons:
        _atomic_write(root / UNIVERSE, new_universe)
        print(f"wrote {len(read_reasons(Path(reasons)))} reason(s) into {UNIVERSE.as_posix()}")
    if current != text:
        _atomic_write(target, text)
        print(f"wrote {shown}")
    else:
        print(f"{shown} is up to date")
    return 0
