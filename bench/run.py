"""Benchmark: validate.py against `frictionless validate` and the pyarrow floor.

    .venv/bin/python bench/run.py [--sizes 10000,100000,1000000] [--repeat 3]

Builds synthetic packages with the real schemas (bench/synth.py) under bench/out/, valid and
with seeded errors, and prints one table: median wall time of each tool (whole process, imports
included), validate.py's peak memory, and whether both tools found every seeded error. Also times
the real package, cold. Figures, not assertions: it never fails a build.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import synth  # noqa: E402

PY = sys.executable
FRICTIONLESS = str(Path(PY).with_name("frictionless"))
FLOOR = """
import sys, pyarrow as pa, pyarrow.csv as c
from pathlib import Path
for p in sorted(Path(sys.argv[1], "data").glob("*.csv")):
    names = open(p, encoding="utf-8").readline().rstrip("\\n").split(",")
    c.read_csv(p, convert_options=c.ConvertOptions(column_types={n: pa.string() for n in names}))
"""


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in MB, stdout) of one run, via GNU time."""
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = out.stderr.strip().splitlines()
    peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return seconds, peak_kb // 1024, out.stdout


def median_run(cmd: list[str], repeat: int) -> tuple[float, int, str]:
    runs = [timed(cmd) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def ours_found(stdout: str) -> set[tuple[int, str, str]]:
    report = json.loads(stdout)
    return {(e["line"], e["column"], e["rule"]) for e in report["errors"] if e["file"] == "data/outcomes.csv"}


def frictionless_found(stdout: str) -> set[int]:
    """Lines of outcomes.csv with an error (frictionless names no field for key errors)."""
    report = json.loads(stdout)
    return {err.get("rowNumber") for task in report.get("tasks", []) if task.get("name") == "outcomes"
            for err in task.get("errors", [])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frictionless-repeat", type=int, default=1,
                    help="runs of frictionless per package (it takes ~40 s at 1M rows)")
    args = ap.parse_args()
    rows = []
    expected = synth.expected_errors()
    for n in [int(s) for s in args.sizes.split(",")]:
        for errors in (False, True):
            pkg = synth.build(HERE / "out" / f"{n}-{'errors' if errors else 'valid'}", n, errors)
            ours_t, ours_mb, ours_out = median_run([PY, str(ROOT / "validate.py"), str(pkg), "--format", "json"],
                                                   args.repeat)
            fl_t, fl_mb, fl_out = median_run([FRICTIONLESS, "validate", "--json", str(pkg / "datapackage.json")],
                                             args.frictionless_repeat)
            floor_t, _, _ = median_run([PY, "-c", FLOOR, str(pkg)], args.repeat)
            if errors:
                ours_ok = expected <= ours_found(ours_out)
                theirs_ok = {line for line, _, _ in expected} <= frictionless_found(fl_out)
                agree = f"{'yes' if ours_ok else 'NO'} / {'yes' if theirs_ok else 'NO'}"
            else:
                agree = f"{'valid' if json.loads(ours_out)['valid'] else 'INVALID'} / " \
                        f"{'valid' if json.loads(fl_out).get('valid') else 'INVALID'}"
            rows.append((f"{n:,}", "seeded errors" if errors else "valid", ours_t, ours_mb, fl_t, floor_t, agree))
            print(f"  measured {n:,} {'errors' if errors else 'valid'}", file=sys.stderr)
    real_t, real_mb, _ = median_run([PY, str(ROOT / "validate.py"), str(ROOT)], args.repeat)

    print("| outcome rows | package | validate.py (s) | peak MB | frictionless (s) | pyarrow floor (s) "
          "| speed-up vs frictionless | x floor | all seeded errors found (ours / frictionless) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n, kind, ours_t, ours_mb, fl_t, floor_t, agree in rows:
        print(f"| {n} | {kind} | {ours_t:.2f} | {ours_mb} | {fl_t:.2f} | {floor_t:.2f} | {fl_t / ours_t:.1f}x "
              f"| {ours_t / floor_t:.1f} | {agree} |")
    print(f"\nReal package, cold (imports included): {real_t:.2f} s, peak {real_mb} MB "
          f"(median of {args.repeat}).")


if __name__ == "__main__":
    main()
