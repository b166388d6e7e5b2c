"""`python -m jakderm site [PATH] --out DIR`: a static site generated from the package.

Plain HTML pages, one stylesheet and one small script (the trial list's filter), no request to
any other host at view time: the site works opened from disk (file://) and on a static host.

    index.html                     what the dataset is, version, licence, how to cite, totals, coverage
    trials.html                    every trial, with a client-side filter
    trials/<trial_id>.html         design, arms, every outcome and adverse-event figure with source and locator
    drugs.html, drugs/<id>.html    targets, approvals, trials
    indications.html, indications/<id>.html
    sources.html                   every document, with DOI, PMID, URL and the copy read
    dictionary.html                every table and field (from the Table Schemas) and the vocabularies
    downloads.html, downloads/     the release files of `python -m jakderm build` and their SHA-256
    coverage.html                  the coverage report (coverage.py) and the trial list
    effects.html                   forest plots, when jakderm.effects() is available

Every value is shown as the CSV file prints it and escaped (a note holding HTML or Markdown
renders as text); links from the data are followed only when they are http(s). The site is not
built from a package that does not validate.
"""
from __future__ import annotations

import hashlib
import html
import math
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from . import coverage as cov_mod
from . import meta_analysis
from .build import BuildError, build
from .descriptor import DescriptorError
from .rows import InvalidPackage, Rows, group, index, read_rows, validated

MARKER = ".jakderm-site"  # in every folder this command wrote, so that it replaces only its own output
EMPTY_MEANS = "An empty cell means “not reported in the source read”, never zero."
NAV = [("index.html", "Home"), ("trials.html", "Trials"), ("drugs.html", "Drugs"), ("indications.html", "Indications"),
       ("sources.html", "Sources"), ("dictionary.html", "Dictionary"), ("downloads.html", "Downloads"),
       ("coverage.html", "Coverage")]
ASSETS = Path(__file__).parent / "site_assets"


class SiteError(Exception):
    pass


# ---------------------------------------------------------------- HTML helpers

def e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str) -> str | None:
    """A link from the data, only if it is a web address: never javascript:, data: or file:."""
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s\"'<>]+$", url, re.I) else None


def a(href: str, text: str, external: bool = False) -> str:
    rel = ' rel="noopener noreferrer" class="ext"' if external else ""
    return f'<a href="{e(href)}"{rel}>{text}</a>'


def cell(value: str, cls: str = "") -> str:
    """A table cell; an empty one carries the reminder of what empty means."""
    if value == "" or value is None:
        return '<td class="na" title="not reported in the source read"></td>'
    return f'<td class="{cls}">{value}</td>' if cls else f"<td>{value}</td>"


def table(header: list[str], rows: list[str], cls: str = "", attrs: str = "") -> str:
    head = "".join(f"<th scope=\"col\">{h}</th>" for h in header)
    return (f'<div class="scroll"><table class="{cls}"{attrs}><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def inline_markdown(text: str) -> str:
    """The few inline marks of our own Markdown (curation/README.md), after escaping."""
    t = e(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    t = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", t)
    return re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<em>\1</em>", t)


def markdown_blocks(text: str) -> str:
    """Paragraphs and bullet lists of our own Markdown, as HTML."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and lines[0].startswith("- "):
            items: list[str] = []
            current: list[str] = []
            for line in lines:
                if line.startswith("- ") and current:
                    items.append(" ".join(current))
                    current = []
                current.append(line[2:].strip() if line.startswith("- ") else line.strip())
            items.append(" ".join(current))
            out.append("<ul>" + "".join(f"<li>{inline_markdown(i)}</li>" for i in items) + "</ul>")
        elif block.strip():
            out.append(f"<p>{inline_markdown(' '.join(x.strip() for x in lines))}</p>")
    return "\n".join(out)


# ---------------------------------------------------------------- the site

class Site:
    def __init__(self, root: Path, rows: Rows, descriptor: dict, package, coverage: cov_mod.Coverage):
        self.root = root
        self.rows = rows
        self.d = descriptor
        self.package = package
        self.cov = coverage
        self.version = str(descriptor.get("version", ""))
        self.pages: dict[str, str] = {}
        self.trials = index(rows["trials"], "trial_id")
        self.arms = index(rows["arms"], "arm_id")
        self.arms_by_trial = group(rows["arms"], "trial_id")
        self.sources = index(rows["sources"], "source_id")
        self.drugs = index(rows["drugs"], "drug_id")
        self.indications = index(rows["indications"], "indication_id")
        self.endpoints = index(rows["endpoints"], "endpoint_id")
        self.ae_terms = index(rows["ae_terms"], "ae_term_id")
        self.ts_by_trial = group(rows["trial_sources"], "trial_id")
        self.outcomes_by_trial: dict[str, list[dict]] = {}
        for o in rows["outcomes"]:
            self.outcomes_by_trial.setdefault(self.arms[o["arm_id"]]["trial_id"], []).append(o)
        self.aes_by_trial: dict[str, list[dict]] = {}
        for x in rows["adverse_events"]:
            self.aes_by_trial.setdefault(self.arms[x["arm_id"]]["trial_id"], []).append(x)
        self.trial_cov = {tc.trial_id: tc for tc in coverage.trials}
        self.effects = None  # a DataFrame from jakderm.effects(), when that is available
        self.effects_note = ""

    # ---- layout

    def page(self, path: str, title: str, body: str, script: bool = False) -> None:
        depth = path.count("/")
        up = "../" * depth
        nav = " ".join(f'<a href="{up}{href}"{" aria-current=page" if href == path else ""}>{label}</a>'
                       for href, label in NAV + ([("effects.html", "Effects")] if self.effects is not None else []))
        licence = self.licence()
        self.pages[path] = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} · jak-derm-data {e(self.version)}</title>
<link rel="stylesheet" href="{up}style.css">
</head>
<body>
<header><nav>{nav}</nav>
<p class="empty-means">{e(EMPTY_MEANS)}</p></header>
<main>
{body}
</main>
<footer><p>jak-derm-data version {e(self.version)} · data {licence} · generated by <code>python -m jakderm site</code>
from the validated package. {e(EMPTY_MEANS)}</p></footer>
{f'<script src="{up}filter.js"></script>' if script else ""}
</body>
</html>
"""

    def licence(self) -> str:
        lic = (self.d.get("licenses") or [{}])[0]
        name = e(lic.get("title") or lic.get("name", ""))
        url = safe_url(lic.get("path", ""))
        return a(url, name, external=True) if url else name

    def up(self, depth: int) -> str:
        return "../" * depth

    # ---- links

    def trial_link(self, tid: str, depth: int, text: str | None = None) -> str:
        t = self.trials[tid]
        return a(f"{self.up(depth)}trials/{tid}.html", e(text or t.get("acronym") or tid))

    def drug_link(self, did: str, depth: int) -> str:
        if not did:
            return ""
        return a(f"{self.up(depth)}drugs/{did}.html", e(self.drugs[did]["inn"] if did in self.drugs else did))

    def indication_link(self, iid: str, depth: int) -> str:
        if not iid:
            return ""
        return a(f"{self.up(depth)}indications/{iid}.html",
                 e(self.indications[iid]["name"] if iid in self.indications else iid))

    def registry_link(self, nct: str) -> str:
        return a(f"https://clinicaltrials.gov/study/{nct}", e(nct), external=True) if nct else ""

    def source_links(self, sid: str, depth: int) -> str:
        """The source: its entry on the sources page, and the document itself (DOI, else PubMed, else URL)."""
        if not sid:
            return ""
        s = self.sources.get(sid, {})
        local = a(f"{self.up(depth)}sources.html#{sid}", f"<code>{e(sid)}</code>")
        ext = self.document_url(s)
        return local + (" " + a(ext, "↗", external=True).replace("<a ", '<a class="source-link" title="open the source" ', 1)
                        if ext else "")

    @staticmethod
    def document_url(s: dict) -> str | None:
        if s.get("doi"):
            return "https://doi.org/" + s["doi"]
        if s.get("pmid"):
            return f"https://pubmed.ncbi.nlm.nih.gov/{s['pmid']}/"
        return safe_url(s.get("url", ""))

    def exception_and_note(self, row: dict) -> str:
        parts = []
        if row.get("rule_exception"):
            parts.append(f'<span class="exception" title="this row breaks this rule as its source prints it">'
                         f'rule exception: <code>{e(row["rule_exception"])}</code></span>')
        if row.get("note"):
            parts.append(f'<span class="note">{e(row["note"])}</span>')
        return " ".join(parts)

    def note_row(self, row: dict, row_id: str, columns: int) -> str:
        """The row's rule exception and note on a line of their own below it, full width."""
        text = self.exception_and_note(row)
        return (f'<tr class="note-row" data-note-for="{e(row_id)}"><td colspan="{columns}">{text}</td></tr>'
                if text else "")

    # ---- pages

    def home(self) -> None:
        d = self.d
        cite = e(self.citation())
        listed = self.cov.listed
        status = {s: sum(1 for x in listed if x.status == s) for s in ("curated", "not curated", "excluded")}
        body = f"""<h1>{e(d.get('title', d.get('name', '')))}</h1>
<p class="lede">{e(d.get('description', ''))}</p>
<dl class="facts">
<dt>Version</dt><dd>{e(self.version)}</dd>
<dt>Licence</dt><dd>{self.licence()} (data); code MIT</dd>
<dt>Grown from</dt><dd>{self.seed()}</dd>
<dt>Format</dt><dd>a Frictionless Data Package: CSV files with a Table Schema each (<a href="dictionary.html">data dictionary</a>, <a href="downloads.html">downloads</a>)</dd>
</dl>
<h2>How to cite</h2>
<p>Cite the exact version you used, and the primary source of every figure you use (each row names
its <a href="sources.html">source</a> and where in it the figure stands):</p>
<blockquote>{cite}</blockquote>
<p>The repository's <code>CITATION.cff</code> holds the same citation; the
<a href="downloads.html">release files</a> carry their SHA-256 sums. Until a release is tagged
<code>v{e(self.version)}</code>, cite the commit you used.</p>
<h2>What it holds</h2>
{self.totals_table()}
<p>Tables: {len(self.rows['trials'])} trials, {len(self.rows['arms'])} arms, {len(self.rows['outcomes'])} outcome rows,
{len(self.rows['adverse_events'])} adverse-event rows, {len(self.rows['drugs'])} drugs,
{len(self.rows['indications'])} indications, {len(self.rows['approvals'])} approvals,
{len(self.rows['sources'])} sources.</p>
<h2>Coverage</h2>
<p>Of the {len(listed)} trials on the list the dataset aims to cover, {status['curated']} are curated,
{status['not curated']} not yet and {status['excluded']} excluded after checking:
<a href="coverage.html">the coverage report</a> lists each with its status and reason, and says how the list was
searched.</p>
{table(["indication (as listed)", "trials", "curated", "not curated", "excluded"],
       [f"<tr><td>{e(i)}</td><td class=num>{n}</td><td class=num>{c}</td><td class=num>{nc}</td><td class=num>{x}</td></tr>"
        for i, n, c, nc, x in self.cov.by_indication], "by-indication") if self.cov.by_indication else ""}
"""
        self.page("index.html", "Home", body)

    def seed(self) -> str:
        first: dict = next((x for x in self.d.get("sources", []) if x.get("title")), {})
        url = safe_url(first.get("path", ""))
        return a(url, e(first.get("title", "")), external=True) if url else e(first.get("title", ""))

    def citation(self) -> str:
        """The dataset's citation, from CITATION.cff where the repository has one."""
        cff: dict = {}
        path = self.root / "CITATION.cff"
        if path.exists():
            cff = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
        authors = ", ".join(a.get("name") or " ".join(x for x in (a.get("family-names"), a.get("given-names")) if x)
                            for a in cff.get("authors", [])) or "jak-derm-data curators"
        title = cff.get("title") or self.d.get("title", "")
        released = f" ({cff['date-released']})" if cff.get("date-released") else ""
        doi = f" https://doi.org/{cff['doi']}" if cff.get("doi") else ""
        return f"{authors}. {title}. Version {self.version}{released}. Dataset, {self.licence_name()}.{doi}"

    def licence_name(self) -> str:
        lic = (self.d.get("licenses") or [{}])[0]
        return lic.get("title") or lic.get("name", "")

    def totals_table(self) -> str:
        rows = [f"<tr><th scope=\"row\">{e(label)}</th><td>{e(value)}</td><td class=\"def\">{e(definition)}</td></tr>"
                for label, value, definition in self.cov.totals]
        return table(["", "count", "counted as"], rows, "totals")

    def trial_list(self) -> None:
        rows = []
        design_values = sorted({t["design"] for t in self.rows["trials"]})
        indication_values = sorted({t["indication_id"] for t in self.rows["trials"] if t.get("indication_id")})
        for t in self.rows["trials"]:
            tid = t["trial_id"]
            arms = self.arms_by_trial.get(tid, [])
            drugs = sorted({x["drug_id"] for x in arms if x.get("drug_id")})
            n = t.get("n_randomized") or t.get("n_enrolled") or ""
            search = " ".join([tid, t.get("acronym", ""), t.get("title", ""), t.get("nct_id", ""), t["design"],
                               t.get("indication_id", ""), *drugs,
                               *(self.drugs[x]["inn"] for x in drugs if x in self.drugs)]).lower()
            rows.append(f'<tr data-trial-id="{e(tid)}" data-search="{e(search)}" data-design="{e(t["design"])}" '
                        f'data-indication="{e(t.get("indication_id", ""))}">'
                        f'<td>{self.trial_link(tid, 0)}</td>{cell(e(t.get("title", "")))}{cell(e(t["design"]))}'
                        f'{cell(e(t.get("phase", "")))}{cell(self.indication_link(t.get("indication_id", ""), 0))}'
                        f'{cell(", ".join(self.drug_link(x, 0) for x in drugs))}{cell(self.registry_link(t.get("nct_id", "")))}'
                        f'{cell(e(n), "num")}</tr>')
        opts = lambda vs: "".join(f'<option value="{e(v)}">{e(v)}</option>' for v in vs)
        body = f"""<h1>Trials and studies</h1>
<form class="filter" id="trial-filter" role="search" onsubmit="return false">
<label>Filter <input type="search" id="filter-text" placeholder="drug, trial, NCT id, indication…" autocomplete="off"></label>
<label>Design <select id="filter-design"><option value="">any</option>{opts(design_values)}</select></label>
<label>Indication <select id="filter-indication"><option value="">any</option>{opts(indication_values)}</select></label>
<output id="filter-count" aria-live="polite">{len(rows)} of {len(rows)} trials</output>
</form>
{table(["trial", "title", "design", "phase", "indication", "drugs", "registry", "n"], rows, "trials", ' id="trial-table"')}
<p class="hint">n is n_randomized for randomized trials, n_enrolled for other designs.</p>
"""
        self.page("trials.html", "Trials", body, script=True)

    def trial_page(self, t: dict) -> None:
        tid = t["trial_id"]
        d = 1
        arms = self.arms_by_trial.get(tid, [])
        facts = [("trial_id", f"<code>{e(tid)}</code>"), ("acronym", e(t.get("acronym", ""))),
                 ("design", e(t["design"])), ("phase", e(t.get("phase", ""))),
                 ("indication", self.indication_link(t.get("indication_id", ""), d)),
                 ("population", e(t.get("population", ""))),
                 ("registry", self.registry_link(t.get("nct_id", ""))),
                 ("EudraCT", e(t.get("eudract_id", ""))),
                 ("n randomized", e(t.get("n_randomized", ""))), ("n enrolled", e(t.get("n_enrolled", ""))),
                 ("randomized period (weeks)", e(t.get("randomized_period_weeks", ""))),
                 ("primary timepoint (weeks)", e(t.get("primary_timepoint_weeks", ""))),
                 ("source of these figures", self.source_links(t.get("source_id", ""), d)
                  + (f' <span class="locator">{e(t["locator"])}</span>' if t.get("locator") else ""))]
        dl = "".join(f"<dt>{k}</dt><dd{'' if v else ' class=na'}>{v}</dd>" for k, v in facts)
        links = [f"<tr><td>{self.source_links(x['source_id'], d)}</td>{cell(e(x['role']))}"
                 f"{cell(e(self.sources.get(x['source_id'], {}).get('citation', '')))}{cell(e(x.get('note', '')), 'note')}</tr>"
                 for x in self.ts_by_trial.get(tid, [])]
        arm_rows = []
        for x in arms:
            arm_rows.append(
                f'<tr id="{e(x["arm_id"])}"><td><code>{e(x["arm_id"].split("/", 1)[-1])}</code><br>{e(x.get("label", ""))}</td>'
                f'{cell(e(x["role"]))}{cell(self.drug_link(x.get("drug_id", ""), d))}{cell(e(x.get("dose", "")), "num")}'
                f'{cell(e(x.get("dose_unit", "")))}{cell(e(x.get("frequency", "")))}{cell(e(x.get("route", "")))}'
                f'{cell(e(x.get("background_therapy", "")))}{cell(e(x.get("n_randomized", "")), "num")}'
                f'{cell(e(x.get("n_enrolled", "")), "num")}<td>{self.source_links(x.get("source_id", ""), d)}</td>'
                f'{cell(e(x.get("locator", "")))}</tr>' + self.note_row(x, x["arm_id"], 12))
        outcome_rows = []
        for o in sorted(self.outcomes_by_trial.get(tid, []),
                        key=lambda o: (o["endpoint_id"], _num(o.get("timepoint_weeks")), o.get("timepoint_text", ""),
                                       o.get("subgroup", ""), o["arm_id"])):
            ep = self.endpoints.get(o["endpoint_id"], {})
            outcome_rows.append(
                f'<tr class="figure" data-table="outcomes" data-id="{e(o["outcome_id"])}">'
                f'<td>{a("../dictionary.html#endpoint-" + o["endpoint_id"], e(ep.get("label") or o["endpoint_id"]))}</td>'
                f'<td><a href="#{e(o["arm_id"])}">{e(self.arms[o["arm_id"]].get("label") or o["arm_id"])}</a></td>'
                f'{cell(e(o.get("timepoint_weeks", "")), "num")}{cell(e(o.get("timepoint_text", "")))}'
                f'{cell(e(o.get("subgroup", "")))}{cell(e(o.get("responders", "")), "num")}'
                f'{cell(e(o.get("analysed", "")), "num")}{cell(e(o.get("percent", "")), "num")}'
                f'{cell(e(o.get("population", "")))}{cell(e(o.get("imputation", "")))}'
                f'<td>{self.source_links(o["source_id"], d)}</td>{cell(e(o.get("locator", "")))}'
                '</tr>' + self.note_row(o, o["outcome_id"], 12))
        ae_rows = []
        for x in sorted(self.aes_by_trial.get(tid, []),
                        key=lambda x: (x["ae_term_id"], _num(x.get("period_weeks")), x.get("period_text", ""),
                                       x.get("subgroup", ""), x["arm_id"])):
            term = self.ae_terms.get(x["ae_term_id"], {})
            ae_rows.append(
                f'<tr class="figure" data-table="adverse_events" data-id="{e(x["adverse_event_id"])}">'
                f'<td>{a("../dictionary.html#ae-" + x["ae_term_id"], e(term.get("label") or x["ae_term_id"]))}</td>'
                f'<td><a href="#{e(x["arm_id"])}">{e(self.arms[x["arm_id"]].get("label") or x["arm_id"])}</a></td>'
                f'{cell(e(x.get("period_weeks", "")), "num")}{cell(e(x.get("period_text", "")))}'
                f'{cell(e(x.get("subgroup", "")))}{cell(e(x.get("participants_with_event", "")), "num")}'
                f'{cell(e(x.get("participants_at_risk", "")), "num")}{cell(e(x.get("percent", "")), "num")}'
                f'<td>{self.source_links(x["source_id"], d)}</td>{cell(e(x.get("locator", "")))}'
                '</tr>' + self.note_row(x, x["adverse_event_id"], 10))
        tc = self.trial_cov.get(tid)
        gaps = ""
        if tc and (tc.gaps or tc.arm_gap_reason):
            items = [f"<li><code>{e(k.split('/', 1)[-1])}</code>: size empty — {e(v)}</li>"
                     for k, v in tc.arm_gap_reason.items()]
            for g in tc.gaps:
                what = (f"{len(g.row_ids)} {g.table.replace('_', '-')} rows" if len(g.row_ids) > 1
                        else ("the trial" if g.table in ("trials", "arms") else g.row_ids[0].split("/", 1)[-1]))
                exc = f" (rule exception <code>{e(g.rule_exception)}</code>)" if g.rule_exception else ""
                items.append(f"<li>{e(what)}: {e(', '.join(g.columns))}{exc} — {e(g.reason)}</li>")
            gaps = "<h2 id=\"still-empty\">Still empty</h2><p>Required figures not yet read, with the reason each row's note gives:</p><ul class=\"gaps\">" + "".join(items) + "</ul>"
        plots = self.forest_for_trial(tid)
        note = ""
        if t.get("rule_exception") or t.get("note"):
            note = f'<section class="trial-note"><h2>Notes</h2><p>{self.exception_and_note(t)}</p></section>'
        body = f"""<p class="crumbs"><a href="../trials.html">Trials</a> /</p>
<h1>{e(t.get('acronym') or tid)}</h1>
<p class="lede">{e(t.get('title', ''))}</p>
<dl class="facts">{dl}</dl>
{note}
<h2 id="arms">Arms</h2>
{table(["arm", "role", "drug", "dose", "unit", "frequency", "route", "background therapy", "n randomized", "n enrolled", "source", "locator"], arm_rows, "arms") if arm_rows else '<p class="na-text">No arm recorded.</p>'}
<h2 id="outcomes">Outcomes</h2>
{table(["endpoint", "arm", "week", "timepoint as printed", "subgroup", "responders", "analysed", "percent", "population", "imputation", "source", "locator"], outcome_rows, "figures") if outcome_rows else '<p class="na-text">No outcome figure recorded.</p>'}
<h2 id="adverse-events">Adverse events</h2>
{table(["event", "arm", "period (weeks)", "period as printed", "subgroup", "with event", "at risk", "percent", "source", "locator"], ae_rows, "figures") if ae_rows else '<p class="na-text">No adverse-event figure recorded.</p>'}
{plots}
{gaps}
<h2 id="sources">Sources about this trial</h2>
{table(["source", "role", "citation", "note"], links, "sources") if links else '<p class="na-text">None linked.</p>'}
"""
        self.page(f"trials/{tid}.html", t.get("acronym") or tid, body)

    def drug_pages(self) -> None:
        targets = group(self.rows["drug_targets"], "drug_id")
        approvals = group(self.rows["approvals"], "drug_id")
        trials_of: dict[str, list[str]] = {}
        for x in self.rows["arms"]:
            if x.get("drug_id"):
                trials_of.setdefault(x["drug_id"], [])
                if x["trial_id"] not in trials_of[x["drug_id"]]:
                    trials_of[x["drug_id"]].append(x["trial_id"])
        listing = []
        for dr in self.rows["drugs"]:
            did = dr["drug_id"]
            listing.append(f"<tr><td>{self.drug_link(did, 0)}</td>{cell(e(dr.get('drug_class', '')))}"
                           f"{cell(e(', '.join(x['target'] for x in targets.get(did, []))))}"
                           f"{cell(e(dr.get('first_approval_year', '')), 'num')}{cell(str(len(trials_of.get(did, []))), 'num')}</tr>")
            trows = [f"<tr><td>{e(x['target'])}</td><td>{self.source_links(x['source_id'], 1)}</td>"
                     f"{cell(e(x.get('locator', '')))}{cell(e(x.get('note', '')), 'note')}</tr>" for x in targets.get(did, [])]
            body = f"""<p class="crumbs"><a href="../drugs.html">Drugs</a> /</p>
<h1>{e(dr['inn'])}</h1>
<dl class="facts"><dt>drug_id</dt><dd><code>{e(did)}</code></dd><dt>class</dt><dd>{e(dr.get('drug_class', ''))}</dd>
<dt>first approval (year)</dt><dd{'' if dr.get('first_approval_year') else ' class=na'}>{e(dr.get('first_approval_year', ''))}
{self.source_links(dr.get('first_approval_source_id', ''), 1)} {e(dr.get('first_approval_locator', ''))}</dd></dl>
{f'<p class="note">{e(dr["note"])}</p>' if dr.get('note') else ''}
<h2>Targets</h2>
{table(["target", "source", "locator", "note"], trows, "targets") if trows else '<p class="na-text">No target recorded.</p>'}
<h2>Approvals and regulatory decisions</h2>
{self.approvals_table(approvals.get(did, []), 1, show_drug=False)}
<h2>Trials</h2>
{self.trials_table(trials_of.get(did, []), 1, drug=did)}
"""
            self.page(f"drugs/{did}.html", dr["inn"], body)
        self.page("drugs.html", "Drugs", "<h1>Drugs</h1>" + table(
            ["drug", "class", "targets", "first approval", "trials"], listing, "drugs"))

    def approvals_table(self, rows: list[dict], depth: int, show_drug: bool = True) -> str:
        if not rows:
            return '<p class="na-text">No regulatory decision recorded.</p>'
        out = []
        for x in sorted(rows, key=lambda x: (x.get("date", ""), x["approval_id"])):
            out.append(f'<tr id="{e(x["approval_id"])}">' + (cell(self.drug_link(x["drug_id"], depth)) if show_drug else "")
                       + f'{cell(e(x.get("agency", "")))}{cell(e(x.get("decision", "")))}{cell(e(x.get("date", "")))}'
                       f'{cell(self.indication_link(x.get("indication_id", ""), depth))}{cell(e(x.get("route", "")))}'
                       f'{cell(e(x.get("population", "")))}<td>{self.source_links(x["source_id"], depth)}</td>'
                       f'{cell(e(x.get("locator", "")))}{cell(e(x.get("note", "")), "note")}</tr>')
        head = (["drug"] if show_drug else []) + ["agency", "decision", "date", "indication", "route", "population",
                                                   "source", "locator", "note"]
        return table(head, out, "approvals")

    def trials_table(self, tids: list[str], depth: int, drug: str | None = None) -> str:
        if not tids:
            return '<p class="na-text">No trial recorded.</p>'
        out = []
        for tid in sorted(tids):
            t = self.trials[tid]
            arms = [x for x in self.arms_by_trial.get(tid, []) if drug is None or x.get("drug_id") == drug]
            doses = ", ".join(f"{x.get('dose', '')} {x.get('dose_unit', '')} {x.get('frequency', '')}".strip()
                              for x in arms if x.get("dose"))
            out.append(f"<tr><td>{self.trial_link(tid, depth)}</td>{cell(e(t['design']))}{cell(e(t.get('phase', '')))}"
                       f"{cell(self.indication_link(t.get('indication_id', ''), depth))}{cell(e(doses))}"
                       f"{cell(e(t.get('n_randomized') or t.get('n_enrolled') or ''), 'num')}</tr>")
        return table(["trial", "design", "phase", "indication", "doses" if drug else "arms' doses", "n"], out, "trials")

    def indication_pages(self) -> None:
        by_ind = group(self.rows["trials"], "indication_id")
        approvals = group(self.rows["approvals"], "indication_id")
        children = group([i for i in self.rows["indications"] if i.get("parent_indication_id")], "parent_indication_id")
        listing = []
        for ind in self.rows["indications"]:
            iid = ind["indication_id"]
            listing.append(f"<tr><td>{self.indication_link(iid, 0)}</td>{cell(self.indication_link(ind.get('parent_indication_id', ''), 0))}"
                           f"{cell(str(len(by_ind.get(iid, []))), 'num')}{cell(e(ind.get('note', '')), 'note')}</tr>")
            sub = ", ".join(self.indication_link(c["indication_id"], 1) for c in children.get(iid, []))
            body = f"""<p class="crumbs"><a href="../indications.html">Indications</a> /</p>
<h1>{e(ind['name'])}</h1>
<dl class="facts"><dt>indication_id</dt><dd><code>{e(iid)}</code></dd>
<dt>part of</dt><dd{'' if ind.get('parent_indication_id') else ' class=na'}>{self.indication_link(ind.get('parent_indication_id', ''), 1)}</dd>
<dt>variants</dt><dd{'' if sub else ' class=na'}>{sub}</dd></dl>
{f'<p class="note">{e(ind["note"])}</p>' if ind.get('note') else ''}
<h2>Trials</h2>
{self.trials_table([t['trial_id'] for t in by_ind.get(iid, [])], 1)}
<h2>Approvals and regulatory decisions</h2>
{self.approvals_table(approvals.get(iid, []), 1)}
"""
            self.page(f"indications/{iid}.html", ind["name"], body)
        self.page("indications.html", "Indications", "<h1>Indications</h1>" + table(
            ["indication", "part of", "trials", "note"], listing, "indications"))

    def sources_page(self) -> None:
        out = []
        for s in self.rows["sources"]:
            links = []
            if s.get("doi"):
                links.append(a("https://doi.org/" + s["doi"], "DOI " + e(s["doi"]), external=True))
            if s.get("pmid"):
                links.append(a(f"https://pubmed.ncbi.nlm.nih.gov/{s['pmid']}/", "PMID " + e(s["pmid"]), external=True))
            if s.get("pmcid"):
                links.append(a(f"https://pmc.ncbi.nlm.nih.gov/articles/{s['pmcid']}/", e(s["pmcid"]), external=True))
            if safe_url(s.get("url", "")):
                links.append(a(s["url"], "URL", external=True))
            elif s.get("url"):
                links.append(e(s["url"]))
            via = s.get("read_via", "")
            via_html = a(via, e(via), external=True) if safe_url(via) else e(via)
            corrects = (a(f"#{s['corrects_source_id']}", f"<code>{e(s['corrects_source_id'])}</code>")
                        if s.get("corrects_source_id") else "")
            out.append(f'<tr id="{e(s["source_id"])}"><td><code>{e(s["source_id"])}</code></td>{cell(e(s.get("source_type", "")))}'
                       f'{cell(e(s.get("citation", "")))}{cell(e(s.get("year", "")), "num")}{cell("<br>".join(links))}'
                       f'{cell(via_html)}{cell(e(s.get("accessed", "")))}{cell(e(s.get("license", "")))}'
                       f'{cell(corrects)}{cell(e(s.get("note", "")), "note")}</tr>')
        body = ("<h1>Sources</h1><p>Every document a figure was read from or that reports on a trial. "
                "<em>read via</em> names the copy actually read when that was not the record itself.</p>"
                + table(["source_id", "type", "citation", "year", "links", "read via", "accessed", "licence",
                         "corrects", "note"], out, "sources"))
        self.page("sources.html", "Sources", body)

    def dictionary_page(self) -> None:
        parts = ["<h1>Data dictionary</h1><p>Every table and field, from the Table Schemas (<code>schemas/*.json</code>), "
                 "and the vocabularies. " + e(EMPTY_MEANS) + "</p><ul>"]
        parts += [f'<li><a href="#table-{e(n)}">{e(n)}</a> — {e(r.descriptor.get("description", ""))}</li>'
                  for n, r in self.package.resources.items()]
        parts.append('<li><a href="#vocabulary-endpoints">endpoint vocabulary</a></li>'
                     '<li><a href="#vocabulary-ae-terms">adverse-event vocabulary</a></li></ul>')
        for name, res in self.package.resources.items():
            fks = {f: fk for fk in res.foreign_keys for f in fk["fields"]}
            rows = []
            for f in res.fields:
                c = f.constraints
                cons = []
                if c.get("required"):
                    cons.append("required")
                if f.name in res.primary_key:
                    cons.append("primary key")
                if f.name in fks:
                    fk = fks[f.name]
                    target = fk["resource"]
                    cons.append(f'→ <a href="#table-{e(target)}">{e(target)}</a>')
                for k in ("minimum", "maximum"):
                    if k in c:
                        cons.append(f"{'≥' if k == 'minimum' else '≤'} {e(c[k])}")
                if "pattern" in c:
                    cons.append(f"pattern <code>{e(c['pattern'])}</code>")
                if c.get("enum"):
                    cons.append("one of " + ", ".join(f"<code>{e(v)}</code>" for v in c["enum"]))
                rows.append(f'<tr id="field-{e(name)}-{e(f.name)}"><td><code>{e(f.name)}</code></td><td>{e(f.type)}</td>'
                            f'{cell("; ".join(cons))}{cell(e(f.description))}</tr>')
            parts.append(f'<h2 id="table-{e(name)}">{e(name)}</h2><p>{e(res.descriptor.get("description", ""))}</p>'
                         f'<p>{len(self.rows[name])} rows; file <code>{e(res.path)}</code>, schema <code>{e(res.schema_path)}</code>.</p>'
                         + table(["field", "type", "constraints", "description"], rows, "dictionary"))
        ep = [f'<tr id="endpoint-{e(x["endpoint_id"])}"><td><code>{e(x["endpoint_id"])}</code></td>{cell(e(x.get("label", "")))}'
              f'{cell(e(x.get("instrument", "")))}{cell(e(x.get("definition", "")))}</tr>' for x in self.rows["endpoints"]]
        ae = [f'<tr id="ae-{e(x["ae_term_id"])}"><td><code>{e(x["ae_term_id"])}</code></td>{cell(e(x.get("label", "")))}'
              f'{cell(e(x.get("meddra_pt", "")))}{cell(e(x.get("definition", "")))}</tr>' for x in self.rows["ae_terms"]]
        parts.append('<h2 id="vocabulary-endpoints">Endpoint vocabulary</h2>'
                     + table(["endpoint_id", "label", "instrument", "definition"], ep, "dictionary"))
        parts.append('<h2 id="vocabulary-ae-terms">Adverse-event vocabulary</h2>'
                     + table(["ae_term_id", "label", "MedDRA preferred term", "definition"], ae, "dictionary"))
        self.page("dictionary.html", "Data dictionary", "\n".join(parts))

    def downloads_page(self, files: list[tuple[str, int, str]]) -> None:
        rows = [f'<tr><td>{a("downloads/" + name, f"<code>{e(name)}</code>")}</td><td class="num">{size:,}</td>'
                f'<td><code class="sha">{e(digest)}</code></td></tr>' for name, size, digest in files]
        body = f"""<h1>Downloads</h1>
<p>The release files of version {e(self.version)}, written by <code>python -m jakderm build</code>: the Data Package as
a zip (the CSV files keep each percentage's printed precision), a SQLite database with its keys, an Excel workbook
with the data dictionary, and one Parquet file per table. Check a download with
<code>sha256sum -c SHA256SUMS</code> (<a href="downloads/SHA256SUMS">SHA256SUMS</a>).</p>
{table(["file", "bytes", "SHA-256"], rows, "downloads")}
"""
        self.page("downloads.html", "Downloads", body)

    def coverage_page(self) -> None:
        rows = []
        for x in self.cov.listed:
            r = x.row
            what = (", ".join(self.trial_link(t, 0, t) for t in x.trial_ids) if x.trial_ids
                    else (e(x.reason) or "<em>no reason recorded yet</em>"))
            if x.remarks:
                what += f' <span class="remark">({e("; ".join(x.remarks))})</span>'
            rows.append(f'<tr class="status-{x.status.replace(" ", "-")}"><td>{e(r["name"])}</td>'
                        f'{cell(self.registry_link(r["nct_id"]))}{cell(e(r["drug"]))}{cell(e(r["indication"]))}'
                        f'{cell(e(r["phase"]))}<td class="status">{e(x.status)}</td><td>{what}</td></tr>')
        beyond = ", ".join(self.trial_link(t, 0, t) for t in self.cov.beyond_list)
        body = f"""<h1>Coverage</h1>
<p>The same report as <code>docs/coverage.md</code> in the repository (<code>python -m jakderm coverage</code>); each
trial's page lists the figures it still lacks.</p>
<h2>Coverage statement</h2>
{markdown_blocks(self.cov.statement) if self.cov.statement else '<p class="na-text">No coverage statement.</p>'}
<h2>Totals</h2>
{self.totals_table()}
<h2>The trial list</h2>
{table(["indication (as listed)", "trials", "curated", "not curated", "excluded"],
       [f"<tr><td>{e(i)}</td><td class=num>{n}</td><td class=num>{c}</td><td class=num>{nc}</td><td class=num>{x}</td></tr>"
        for i, n, c, nc, x in self.cov.by_indication], "by-indication") if self.cov.by_indication else ""}
{table(["trial", "registry", "drug", "indication", "phase", "status", "trial or reason"], rows, "coverage") if rows else '<p class="na-text">No trial list in this package.</p>'}
{f'<p>Curated beyond the list: {beyond}.</p>' if beyond else ''}
"""
        self.page("coverage.html", "Coverage", body)

    # ---- forest plots (when jakderm.effects is available)

    def forest_for_trial(self, tid: str) -> str:
        if self.effects is None:
            return ""
        sub = self.effects[self.effects["trial_id"] == tid]
        if sub.empty:
            return ""
        return "<h2 id=\"effects\">Effects against the trial's control arm</h2>" + self.forest_groups(sub, per_trial=True)

    def forest_groups(self, frame, per_trial: bool) -> str:
        keys = ["endpoint_id", "timepoint_weeks", "population", "imputation", "subgroup"]
        if per_trial:
            keys = ["trial_id", *keys]
        out = []
        frame = frame.sort_values([k for k in keys if k in frame.columns], kind="stable")
        for key, grp in frame.groupby([k for k in keys if k in frame.columns], dropna=False, sort=False, observed=True):
            key = key if isinstance(key, tuple) else (key,)
            named = dict(zip([k for k in keys if k in frame.columns], key, strict=True))
            if _fmt(named.get("timepoint_weeks")):
                named["timepoint_weeks"] = "week " + _fmt(named["timepoint_weeks"])
            label = " · ".join(_fmt(v) for v in named.values() if _fmt(v))
            out.append(forest_svg(grp, label, self.drugs))
        return "\n".join(out)

    def effects_page(self) -> None:
        if self.effects is None:
            return
        body = ("<h1>Effects</h1><p>Each non-control arm against its trial's placebo or vehicle arm, on the same endpoint, "
                "timepoint, population, imputation and subgroup, from <code>jakderm.effects()</code> "
                f"({e(self.effects_note)}). Counts marked derived were computed as round(percent × analysed / 100) "
                "because the source printed no count.</p>" + self.forest_groups(self.effects, per_trial=False))
        self.page("effects.html", "Effects", body)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.inf


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if v is pd.NA:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def forest_svg(grp, label: str, drugs: dict) -> str:
    """One forest plot as inline SVG: estimate and 95% CI per comparison, log scale for ratios."""
    measure = str(grp["measure"].iloc[0]) if "measure" in grp.columns else "RR"
    ratio = measure in ("RR", "OR")
    rows = []
    for _, r in grp.iterrows():
        try:
            est, lo, hi = (float(r["estimate"]), float(r["ci_lower"]), float(r["ci_upper"]))
        except (TypeError, ValueError):  # a missing estimate (pd.NA) cannot be drawn
            continue
        if any(math.isnan(v) or math.isinf(v) for v in (est, lo, hi)) or (ratio and min(est, lo, hi) <= 0):
            continue
        drug = drugs.get(str(r.get("drug_id", "")), {}).get("inn", str(r.get("drug_id", "")))
        dose = _fmt(r.get("dose"))
        name = f"{drug} {dose} {_fmt(r.get('dose_unit'))}".strip() + f" · {r['trial_id']}"
        derived = str(r.get("counts_derived")) == "True"  # a nullable boolean: NA is not derived
        rows.append((name, est, lo, hi, f"{_fmt(r.get('ai'))}/{_fmt(r.get('n1i'))} vs {_fmt(r.get('ci'))}/{_fmt(r.get('n2i'))}",
                     derived))
    if not rows:
        return ""
    tf = math.log if ratio else float
    null = 1.0 if ratio else 0.0
    lo_all = min([tf(r[2]) for r in rows] + [tf(null)])  # the axis always shows the line of no effect
    hi_all = max([tf(r[3]) for r in rows] + [tf(null)])
    pad = (hi_all - lo_all) * 0.05 or 0.5
    lo_all, hi_all = lo_all - pad, hi_all + pad
    left, width, right, rh = 300, 300, 320, 22
    height = rh * (len(rows) + 2)

    def x(v: float) -> float:
        return left + (tf(v) - lo_all) / (hi_all - lo_all) * width

    parts = [f'<svg class="forest" role="img" viewBox="0 0 {left + width + right} {height}" width="{left + width + right}" '
             f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{e(label)}: {e(measure)} with 95% CI</title>',
             f'<line x1="{x(null):.1f}" y1="{rh * 0.5:.1f}" x2="{x(null):.1f}" y2="{height - rh * 0.8:.1f}" class="null"/>']
    for i, (name, est, lo, hi, counts, derived) in enumerate(rows):
        y = rh * (i + 1)
        parts.append(f'<text x="4" y="{y + 4}" class="label">{e(name)}</text>'
                     f'<line x1="{x(lo):.1f}" y1="{y}" x2="{x(hi):.1f}" y2="{y}" class="ci"/>'
                     f'<rect x="{x(est) - 4:.1f}" y="{y - 4}" width="8" height="8" class="est"/>'
                     f'<text x="{left + width + 8}" y="{y + 4}" class="value">{est:.2f} [{lo:.2f}, {hi:.2f}] '
                     f'{e(counts)}{" (derived)" if derived else ""}</text>')
    candidates = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64] if ratio else \
        [v / 10 for v in range(-10, 11, 2)] + [v / 100 for v in range(-10, 11, 5)]
    ticks = sorted({v for v in candidates if lo_all <= tf(v) <= hi_all} if not ratio else
                   {v for v in candidates if v > 0 and lo_all <= tf(v) <= hi_all})
    for v in ticks:
        parts.append(f'<text x="{x(v):.1f}" y="{height - 4}" class="axis" text-anchor="middle">{v:g}</text>')
    parts.append(f'<text x="{left - 8}" y="{height - 4}" class="axis" text-anchor="end">{e(measure)}</text>')
    parts.append("</svg>")
    return f'<figure class="forest"><figcaption>{e(label)} ({e(measure)}, 95% CI)</figcaption>{"".join(parts)}</figure>'


def effects_function():
    """The function the forest plots come from: jakderm.effects (a seam the tests replace)."""
    return meta_analysis.effects


# ---------------------------------------------------------------- writing

def generate(root: str | Path = ".", out: str | Path = "site") -> dict:
    """Write the site into `out` (replacing a site this command wrote there before); returns a
    summary: pages, files, bytes, seconds, whether forest plots were included and why not."""
    start = time.perf_counter()
    root = Path(root)
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise SiteError(f"{out} exists and was not written by `python -m jakderm site`: choose another --out")
    package, report = validated(root, "jakderm site")
    rows = read_rows(package)
    _, urows, ulines = cov_mod.read_universe(root)
    coverage = cov_mod.assemble(package.descriptor, rows, report, urows, ulines, cov_mod.statement(root))
    site = Site(root, rows, package.descriptor, package, coverage)
    effects_status = attach_effects(site, root)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        build(root, tmp / "downloads")
        sums = {}
        for line in (tmp / "downloads" / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
            digest, name = line.split("  ", 1)
            sums[name] = digest
        files = [(name, (tmp / "downloads" / name).stat().st_size, digest) for name, digest in sorted(sums.items())]
        files.append(("SHA256SUMS", (tmp / "downloads" / "SHA256SUMS").stat().st_size,
                      hashlib.sha256((tmp / "downloads" / "SHA256SUMS").read_bytes()).hexdigest()))
        site.home()
        site.trial_list()
        for t in rows["trials"]:
            site.trial_page(t)
        site.drug_pages()
        site.indication_pages()
        site.sources_page()
        site.dictionary_page()
        site.downloads_page(files)
        site.coverage_page()
        site.effects_page()
        for rel, text in site.pages.items():
            p = tmp / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        for asset in ("style.css", "filter.js"):
            shutil.copyfile(ASSETS / asset, tmp / asset)
        (tmp / MARKER).write_text("written by python -m jakderm site; the next run replaces this folder\n",
                                  encoding="utf-8")
        (tmp / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages serves the files as they are
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    all_files = [p for p in out.rglob("*") if p.is_file()]
    return {"pages": len(site.pages), "files": len(all_files), "bytes": sum(p.stat().st_size for p in all_files),
            "seconds": time.perf_counter() - start, "effects": effects_status}


def attach_effects(site: Site, root: Path) -> str:
    fn = effects_function()
    if fn is None:
        return "skipped: jakderm.effects is not available in this installation"
    try:
        frame = fn(root)
    except Exception as exc:  # the plots are optional; their absence must not stop the site
        return f"skipped: jakderm.effects() failed ({type(exc).__name__}: {exc})"
    need = {"trial_id", "endpoint_id", "estimate", "ci_lower", "ci_upper"}
    if frame is None or not need <= set(frame.columns):
        return "skipped: jakderm.effects() did not return the documented columns"
    if len(frame) == 0:
        return "skipped: jakderm.effects() found no comparison in the data"
    site.effects = frame
    site.effects_note = f"{len(frame)} comparisons"
    return f"included: {len(frame)} comparisons"


def build_site(path: str | Path = ".", out: str | Path = "site") -> int:
    try:
        summary = generate(path, out)
    except InvalidPackage as exc:  # its message names the command already
        print(exc, file=sys.stderr)
        return 1
    except (SiteError, cov_mod.CoverageError) as exc:
        print(f"jakderm site: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if isinstance(exc, (BuildError, DescriptorError)):
            print(f"jakderm site: {exc}", file=sys.stderr)
            return 1
        raise
    print(f"wrote {summary['pages']} pages ({summary['files']} files, {summary['bytes']:,} bytes) into {out} "
          f"in {summary['seconds']:.1f} s; forest plots {summary['effects']}")
    return 0
