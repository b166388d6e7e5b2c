"""The benchmark's packages, built from the real one: grown to about N rows, and the grown one with
errors in many rows.

grow() copies every trial with all its rows -- the trial, its arms, outcomes, adverse events and
trial_sources links -- until the package holds about N rows in all. Copies get ids suffixed "-g<k>"
(foreign keys follow, keys stay unique, rows are re-sorted by primary key) and keep their
rule_exception cells, so the package's warnings grow with it, as a real package of that size would
carry them. The tables no trial owns (sources, drugs, endpoints, ...) are copied as they are.

break_rows() then breaks every fourth outcome and adverse-event row of a grown package, in turn in
one of several ways, from a bad cell to a cross-table rule: what a careless merge or a hostile pull
request can make. The rows never leave bench/out/.
"""
from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

ROOT_TABLE = "trials"  # a copy is a trial with everything that hangs off it
PACKAGE_FILES = ["datapackage.json", "CITATION.cff", "LICENSE", "README.md"]


def _schemas(descriptor: dict, root: Path) -> dict[str, dict]:
    return {r["name"]: json.loads((root / r["schema"]).read_text(encoding="utf-8")) for r in descriptor["resources"]}


def _keys(schema: dict) -> tuple[list[str], list[tuple[list[str], str]]]:
    pk = schema.get("primaryKey", [])
    pk = [pk] if isinstance(pk, str) else list(pk)
    fks = []
    for fk in schema.get("foreignKeys", []):
        fields = fk["fields"] if isinstance(fk["fields"], list) else [fk["fields"]]
        fks.append((fields, fk["reference"].get("resource", "")))
    return pk, fks


def copy_plan(descriptor: dict, root: Path) -> dict[str, list[str]]:
    """{table: columns whose ids a copy suffixes} for the trials table and every table whose
    foreign keys lead to it; a key column pointing to a table that is not copied keeps its id."""
    schemas = _schemas(descriptor, root)
    grown = {ROOT_TABLE}
    changed = True
    while changed:
        changed = False
        for name, schema in schemas.items():
            if name not in grown and any(ref in grown for _, ref in _keys(schema)[1]):
                grown.add(name)
                changed = True
    plan = {}
    for name in grown:
        pk, fks = _keys(schemas[name])
        to_grown = {f for fields, ref in fks if ref in grown and ref != name for f in fields}
        to_fixed = {f for fields, ref in fks if ref not in grown for f in fields}
        plan[name] = sorted(to_grown | {k for k in pk if k not in to_fixed})
    return plan


def read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def write(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _copy_metadata(source: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "data").mkdir(parents=True)
    shutil.copytree(source / "schemas", out / "schemas")
    for name in PACKAGE_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, out / name)


def rows_per_table(pkg: Path) -> dict[str, int]:
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    out = {}
    for r in descriptor["resources"]:
        with (pkg / r["path"]).open("rb") as fh:
            out[r["name"]] = sum(1 for _ in fh) - 1
    return out


def grow(source: Path, out: Path, rows: int) -> int:
    """The package at `source` grown at `out` to about `rows` rows in all; returns the number of
    copies of every trial. A package grown alike before is reused."""
    descriptor = json.loads((source / "datapackage.json").read_text(encoding="utf-8"))
    plan = copy_plan(descriptor, source)
    paths = {r["name"]: r["path"] for r in descriptor["resources"]}
    tables = {name: read(source / path) for name, path in paths.items()}
    per_copy = sum(len(tables[name][1]) for name in plan)
    fixed = sum(len(rows_) for name, (_, rows_) in tables.items() if name not in plan)
    copies = max(1, math.ceil((rows - fixed) / max(1, per_copy)))
    stamp = out / ".grown-from"
    tag = f"{copies} copies of {source.resolve()}"
    if stamp.exists() and stamp.read_text() == tag:
        return copies
    _copy_metadata(source, out)
    schemas = _schemas(descriptor, source)
    for name, path in paths.items():
        header, body = tables[name]
        if name in plan:
            cols = [header.index(c) for c in plan[name]]
            grown = list(body)
            for k in range(1, copies):
                suffix = f"-g{k}"
                for row in body:
                    new = list(row)
                    for c in cols:
                        if new[c]:
                            new[c] += suffix
                    grown.append(new)
            pk = [header.index(c) for c in _keys(schemas[name])[0]]
            grown.sort(key=lambda r: [r[i] for i in pk])  # code-point order, as the canonical form wants
            body = grown
        write(out / path, header, body)
    stamp.write_text(tag)
    return copies


# (column, what the cell becomes) for every fourth row in turn
BREAKS = [
    ("responders", lambda v: "twelve"),  # type
    ("population", lambda v: "everyone"),  # enum
    ("arm_id", lambda v: v + "-ghost"),  # foreign key
    ("analysed", lambda v: "-5"),  # minimum
    ("note", lambda v: '=HYPERLINK("http://example.org")'),  # formula injection
    ("note", lambda v: "tab\tinside"),  # control character
    ("timepoint_weeks", lambda v: "99999999999999999999"),  # an integer beyond 64 bits
    ("percent", lambda v: "inf"),  # no number a source prints
    ("participants_at_risk", lambda v: "100000"),  # more than the arm holds: a cross-table rule
]


def break_rows(grown: Path, out: Path) -> dict[str, int]:
    """A copy of the grown package at `out` with every fourth row of outcomes and adverse events
    broken; returns how many rows of each table were broken."""
    if (out / ".broken-from").exists() and (out / ".broken-from").read_text() == (grown / ".grown-from").read_text():
        return json.loads((out / ".broken").read_text())
    _copy_metadata(grown, out)
    for f in (grown / "data").glob("*.csv"):
        shutil.copy2(f, out / "data" / f.name)
    broken = {}
    for table in ("outcomes", "adverse_events"):
        header, rows = read(grown / "data" / f"{table}.csv")
        usable = [(header.index(c), bad) for c, bad in BREAKS if c in header]
        n = 0
        for i in range(0, len(rows), 4):
            column, bad = usable[(i // 4) % len(usable)]
            rows[i][column] = bad(rows[i][column])
            n += 1
        write(out / "data" / f"{table}.csv", header, rows)
        broken[table] = n
    (out / ".broken").write_text(json.dumps(broken))
    (out / ".broken-from").write_text((grown / ".grown-from").read_text())
    return broken
