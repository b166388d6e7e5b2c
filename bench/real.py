"""Benchmark on data grown from the real package: validate.py against `frictionless validate`.

    .venv/bin/python bench/real.py [--outcomes 1000000] [--repeat 3] [--frictionless-repeat 1]

Grows the package at the repository root (or --source) under bench/out/real-<N>/ by copying every
trial with all its rows -- the trial, its arms, outcomes, adverse events and trial_sources links --
until outcomes reach about N rows. Copies get ids suffixed "-g<k>" (foreign keys follow, keys stay
unique, rows are re-sorted by primary key) and keep their rule_exception cells, so the package's
warnings grow with it, as a real package of that size would carry them. The tables no trial owns
(sources, drugs, endpoints, ...) are copied as they are.

Times whole processes (imports included), median of --repeat runs for validate.py and of
--frictionless-repeat for frictionless, with peak memory (GNU time's maximum resident set), on the
grown package and on the real one (a new process each run; the first run is also shown). Prints
figures; it asserts nothing and never fails a build.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
import statistics
import sys
import time
from pathlib import Path

from run import timed  # bench/ is first on sys.path when a script here runs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
FRICTIONLESS = str(Path(PY).with_name("frictionless"))
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


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def grow(source: Path, out: Path, outcomes: int) -> tuple[Path, int, dict[str, int]]:
    """The grown package at `out`, its number of copies and its rows per table."""
    descriptor = json.loads((source / "datapackage.json").read_text(encoding="utf-8"))
    plan = copy_plan(descriptor, source)
    paths = {r["name"]: r["path"] for r in descriptor["resources"]}
    schemas = _schemas(descriptor, source)
    base = len(_read(source / paths["outcomes"])[1])
    copies = max(1, math.ceil(outcomes / base))
    stamp = out / ".grown-from"
    tag = f"{copies} copies of {source.resolve()}"
    rows_per_table: dict[str, int] = {}
    if stamp.exists() and stamp.read_text() == tag:  # grown already: reuse
        for name, path in paths.items():
            with (out / path).open("rb") as fh:
                rows_per_table[name] = sum(1 for _ in fh) - 1
        return out, copies, rows_per_table
    if out.exists():
        shutil.rmtree(out)
    (out / "data").mkdir(parents=True)
    shutil.copytree(source / "schemas", out / "schemas")
    for name in PACKAGE_FILES:
        if (source / name).exists():
            shutil.copy2(source / name, out / name)
    for name, path in paths.items():
        header, rows = _read(source / path)
        if name in plan:
            cols = [header.index(c) for c in plan[name]]
            grown_rows = list(rows)
            for k in range(1, copies):
                suffix = f"-g{k}"
                for row in rows:
                    new = list(row)
                    for c in cols:
                        if new[c]:
                            new[c] += suffix
                    grown_rows.append(new)
            pk = [header.index(c) for c in _keys(schemas[name])[0]]
            grown_rows.sort(key=lambda r: [r[i] for i in pk])  # code-point order, as validate.py wants
            rows = grown_rows
        _write(out / path, header, rows)
        rows_per_table[name] = len(rows)
    stamp.write_text(tag)
    return out, copies, rows_per_table


def runs(cmd: list[str], repeat: int) -> dict:
    results = [timed(cmd) for _ in range(max(1, repeat))]
    return {"median": statistics.median(r[0] for r in results), "first": results[0][0],
            "peak_mb": max(r[1] for r in results), "stdout": results[-1][2], "n": len(results)}


def ours_findings(stdout: str) -> tuple[int, int]:
    report = json.loads(stdout)
    return len(report["errors"]), len(report["warnings"])


def frictionless_findings(stdout: str) -> int:
    report = json.loads(stdout)
    return sum(len(task.get("errors", [])) for task in report.get("tasks", [])) + len(report.get("errors", []))


def measure(label: str, pkg: Path, rows: dict[str, int], repeat: int, fl_repeat: int) -> dict:
    ours = runs([PY, str(ROOT / "validate.py"), str(pkg), "--format", "json"], repeat)
    theirs = runs([FRICTIONLESS, "validate", "--json", str(pkg / "datapackage.json")], fl_repeat)
    errors, warnings = ours_findings(ours["stdout"])
    return {"label": label, "outcomes": rows.get("outcomes", 0), "rows": sum(rows.values()),
            "errors": errors, "warnings": warnings, "fl_errors": frictionless_findings(theirs["stdout"]),
            "ours": ours, "theirs": theirs}


def table(results: list[dict]) -> str:
    head = ("| package | outcome rows | rows (all tables) | findings: ours (errors / warnings) "
            "| findings: frictionless | validate.py (median, first) | frictionless | ratio "
            "| peak memory: ours / frictionless |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        o, t = r["ours"], r["theirs"]
        lines.append(
            f"| {r['label']} | {r['outcomes']:,} | {r['rows']:,} | {r['errors']:,} / {r['warnings']:,} "
            f"| {r['fl_errors']:,} | {o['median']:.2f} s ({o['n']} runs; first {o['first']:.2f} s) "
            f"| {t['median']:.2f} s ({t['n']} run{'s' if t['n'] > 1 else ''}) | {t['median'] / o['median']:.1f}× "
            f"| {o['peak_mb']:,} MB / {t['peak_mb']:,} MB |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=ROOT, help="the package to grow (default: the repository)")
    ap.add_argument("--outcomes", type=int, default=1_000_000, help="about this many outcome rows")
    ap.add_argument("--repeat", type=int, default=3, help="runs of validate.py per package (median)")
    ap.add_argument("--frictionless-repeat", type=int, default=1, help="runs of frictionless per package")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()

    start = time.perf_counter()
    pkg, copies, rows = grow(args.source, args.out / f"real-{args.outcomes}", args.outcomes)
    print(f"grown: {copies} copies of every trial -> {pkg} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    for name, n in sorted(rows.items()):
        print(f"  {name}: {n:,} rows", file=sys.stderr)
    real_rows = {r["name"]: len(_read(args.source / r["path"])[1]) for r in
                 json.loads((args.source / "datapackage.json").read_text(encoding="utf-8"))["resources"]}
    results = [measure("real (cold: a new process each run)", args.source, real_rows, args.repeat,
                       args.frictionless_repeat),
               measure(f"grown ×{copies}", pkg, rows, args.repeat, args.frictionless_repeat)]
    print(table(results))


if __name__ == "__main__":
    main()
