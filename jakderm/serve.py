"""`python -m jakderm serve [PATH] [--port N]`: SQL over the release, with Datasette.

Datasette (an optional extra: `pip install "jakderm[serve]"`) is a maintained tool made for
publishing SQLite data read-only, with a JSON API and canned queries; writing our own server
would give less. The database is the release SQLite of `python -m jakderm build`, written into a
temporary folder (removed when the server stops) and opened immutable. Its metadata comes from
the Table Schemas and the vocabulary tables: table and column descriptions, each enum's values,
the endpoint and adverse-event vocabularies, licence and source, plus a few canned queries.
"""
from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from .build import build
from .rows import InvalidPackage, read_rows, validated

DATABASE = "jakderm"  # the name in URLs: /jakderm/trials.json
LABEL_COLUMNS = {"drugs": "inn", "indications": "name", "endpoints": "label", "ae_terms": "label",
                 "sources": "citation"}

QUERIES = {
    "primary_endpoint_figures_by_drug": {
        "title": "Primary-timepoint figures by drug",
        "description": "Every outcome figure at its trial's primary timepoint, by drug and dose (placebo and vehicle "
                       "arms by role), with population, imputation, source and locator. An empty cell means not "
                       "reported in the source read.",
        "sql": """select coalesce(d.inn, a.role) as drug, a.dose, a.dose_unit, a.frequency, t.trial_id, t.indication_id,
  o.endpoint_id, o.timepoint_weeks, o.responders, o.analysed, o.percent, o.population, o.imputation,
  o.source_id, o.locator
from outcomes o join arms a on a.arm_id = o.arm_id join trials t on t.trial_id = a.trial_id
left join drugs d on d.drug_id = a.drug_id
where o.timepoint_weeks = t.primary_timepoint_weeks and coalesce(o.subgroup, '') = ''
order by drug, o.endpoint_id, a.dose, t.trial_id""",
    },
    "trials_by_indication": {
        "title": "Trials by indication and design",
        "sql": """select t.indication_id, i.name, t.design, count(*) as trials, sum(t.n_randomized) as randomized,
  sum(t.n_enrolled) as enrolled
from trials t left join indications i on i.indication_id = t.indication_id
group by t.indication_id, t.design order by t.indication_id, t.design""",
    },
    "adverse_events_by_drug": {
        "title": "Adverse events by drug and term",
        "description": "Rows with both counts only; the period is as the source states it.",
        "sql": """select coalesce(d.inn, a.role) as drug, a.dose, a.dose_unit, t.trial_id, e.ae_term_id, e.period_weeks,
  e.period_text, e.participants_with_event, e.participants_at_risk, e.percent, e.source_id, e.locator
from adverse_events e join arms a on a.arm_id = e.arm_id join trials t on t.trial_id = a.trial_id
left join drugs d on d.drug_id = a.drug_id
where e.participants_with_event is not null and e.participants_at_risk is not null
order by e.ae_term_id, drug, t.trial_id""",
    },
    "sources_of_a_trial": {
        "title": "Sources of a trial",
        "sql": """select ts.role, s.source_id, s.source_type, s.citation, s.doi, s.pmid, s.url, s.read_via
from trial_sources ts join sources s on s.source_id = ts.source_id
where ts.trial_id = :trial_id order by ts.role, s.source_id""",
    },
    "arms_without_size": {
        "title": "Curation backlog: arms of randomized trials without n_randomized",
        "sql": """select a.trial_id, a.arm_id, a.rule_exception, a.note from arms a join trials t on t.trial_id = a.trial_id
where t.design = 'randomized' and a.n_randomized is null order by a.trial_id, a.arm_id""",
    },
}


def metadata(package, rows) -> dict:
    """Datasette metadata from the descriptor, the Table Schemas and the vocabulary tables."""
    d = package.descriptor
    lic = (d.get("licenses") or [{}])[0]
    seed: dict = next((s for s in d.get("sources", []) if s.get("path")), {})
    vocab = {
        "endpoint_id": "Vocabulary: " + "; ".join(f"{r['endpoint_id']} = {r['label']}" for r in rows["endpoints"]),
        "ae_term_id": "Vocabulary: " + "; ".join(f"{r['ae_term_id']} = {r['label']}" for r in rows["ae_terms"]),
    }
    tables = {}
    for name, res in package.resources.items():
        columns = {}
        for f in res.fields:
            text = f.description or ""
            if f.enum:
                text += (" " if text else "") + "One of: " + ", ".join(str(v) for v in f.enum) + "."
            if f.name in vocab and name not in ("endpoints", "ae_terms"):
                text += (" " if text else "") + vocab[f.name]
            columns[f.name] = text
        entry = {"description": res.descriptor.get("description", ""), "columns": columns}
        if name in LABEL_COLUMNS:
            entry["label_column"] = LABEL_COLUMNS[name]
        tables[name] = entry
    return {
        "title": d.get("title", d.get("name", "")) + f" (version {d.get('version', '')})",
        "description": d.get("description", "") + " An empty cell means not reported in the source read, never zero.",
        "license": lic.get("title") or lic.get("name", ""),
        "license_url": lic.get("path", ""),
        "source": seed.get("title", "data/sources.csv"),
        "source_url": seed.get("path", ""),
        "databases": {DATABASE: {"tables": tables, "queries": QUERIES}},
    }


def prepare(root: str | Path, folder: Path) -> tuple[Path, Path]:
    """The release SQLite and its metadata.json, written into `folder`."""

    package, _ = validated(root, "jakderm serve")
    rows = read_rows(package)
    files = build(root, folder / "release")
    sqlite = next(p for p in files if p.suffix == ".sqlite")
    db = folder / f"{DATABASE}.sqlite"
    shutil.copyfile(sqlite, db)
    meta = folder / "metadata.json"
    meta.write_text(json.dumps(metadata(package, rows), indent=2, ensure_ascii=False), encoding="utf-8")
    return db, meta


class _Stopped(Exception):
    pass


def _stop(signum, frame):
    raise _Stopped()


def serve(path: str | Path = ".", port: int = 8001, host: str = "127.0.0.1") -> int:
    try:
        from datasette import cli as datasette_cli
    except ImportError:
        print('jakderm serve: Datasette is not installed; it is an optional extra: pip install "jakderm[serve]" '
              '(or pip install -e ".[serve]" in a clone)', file=sys.stderr)
        return 1
    # uvicorn stops gracefully on SIGTERM, then raises the signal again: ending with an exception
    # rather than the default action lets the temporary folder be removed, at any stage.
    signal.signal(signal.SIGTERM, _stop)
    folder = Path(tempfile.mkdtemp(prefix="jakderm-serve-"))
    try:
        try:
            db, meta = prepare(path, folder)
        except _Stopped:
            return 0
        except InvalidPackage as exc:  # its message names the command already
            print(exc, file=sys.stderr)
            return 1
        print(f"serving {db.name} at http://{host}:{port}/{DATABASE} (Ctrl-C stops)", flush=True)
        try:
            datasette_cli.cli.main(["serve", "-i", str(db), "-m", str(meta), "-h", host, "-p", str(port),
                                    "--setting", "sql_time_limit_ms", "3000"], standalone_mode=False)
        except (KeyboardInterrupt, _Stopped):
            pass
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
