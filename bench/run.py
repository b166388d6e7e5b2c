"""Benchmark: validate.py against `frictionless validate` on the same files.

    .venv/bin/python bench/run.py [--rows 1000000] [--repeat 3]

Builds under bench/out/ (bench/grow.py) the real package grown to about --rows rows in all, by
copying every trial with all its rows, and the grown package with every fourth outcome and
adverse-event row broken. On each, and on the real package itself, it runs both tools as whole
processes (imports included; a new process each run, so the real package is measured cold),
alternating them --repeat times, and prints one Markdown table: the median time of each, their
ratio, the findings of each and the peak memory of each (GNU time's maximum resident set size).
Figures, not assertions: it never fails a build, and they vary with the machine's load.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import grow  # bench/ is first on sys.path when a script here runs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
FRICTIONLESS = str(Path(PY).with_name("frictionless"))


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """(seconds, peak resident memory in MB, stdout) of one run of `cmd`, via GNU time."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = out.stderr.strip().splitlines()
    peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return seconds, peak_kb // 1024, out.stdout


def ours_findings(stdout: str) -> str:
    totals = json.loads(stdout)["summary"]["findings"]
    return f"{totals['errors']:,} / {totals['warnings']:,}"


def frictionless_findings(stdout: str) -> str:
    report = json.loads(stdout)
    errors = sum(len(task.get("errors", [])) for task in report.get("tasks", [])) + len(report.get("errors", []))
    return f"{errors:,}"


def measure(label: str, pkg: Path, repeat: int) -> dict:
    ours_cmd = [PY, str(ROOT / "validate.py"), str(pkg), "--format", "json"]
    theirs_cmd = [FRICTIONLESS, "validate", "--json", str(pkg / "datapackage.json")]
    ours, theirs = [], []
    for _ in range(repeat):  # alternated, so that both meet the same load
        ours.append(timed(ours_cmd))
        theirs.append(timed(theirs_cmd))
    return {"label": label, "rows": sum(grow.rows_per_table(pkg).values()),
            "ours": statistics.median(r[0] for r in ours), "theirs": statistics.median(r[0] for r in theirs),
            "ours_mb": max(r[1] for r in ours), "theirs_mb": max(r[1] for r in theirs),
            "ours_found": ours_findings(ours[-1][2]), "theirs_found": frictionless_findings(theirs[-1][2])}


def table(results: list[dict], repeat: int) -> str:
    lines = [f"| package | rows | findings: validate.py (errors / warnings) | findings: frictionless (errors) "
             f"| validate.py (median of {repeat}) | frictionless (median of {repeat}) | ratio "
             "| peak memory: validate.py / frictionless |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['label']} | {r['rows']:,} | {r['ours_found']} | {r['theirs_found']} | {r['ours']:.2f} s "
                     f"| {r['theirs']:.2f} s | {r['theirs'] / r['ours']:.1f}× "
                     f"| {r['ours_mb']:,} MB / {r['theirs_mb']:,} MB |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="about this many rows in all tables together")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tool per package (median)")
    ap.add_argument("--source", type=Path, default=ROOT, help="the package to grow (default: the repository's)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    start = time.perf_counter()
    grown = args.out / f"real-{args.rows}"
    copies = grow.grow(args.source, grown, args.rows)
    broken = grow.break_rows(grown, args.out / f"real-{args.rows}-errors")
    print(f"built: {copies} copies of every trial; {sum(broken.values()):,} rows broken "
          f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    results = [measure("real (cold)", args.source, args.repeat),
               measure(f"real grown ×{copies}", grown, args.repeat),
               measure(f"grown ×{copies}, every 4th outcome and adverse-event row broken",
                       args.out / f"real-{args.rows}-errors", args.repeat)]
    print(table(results, args.repeat))


if __name__ == "__main__":
    main()
