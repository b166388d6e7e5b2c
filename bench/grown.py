"""Benchmark: validate.py on the real package grown to N outcome rows, with errors in a quarter of
them; time, peak memory and the findings (listed and counted).

    .venv/bin/python bench/grown.py [--sizes 100000,1000000] [--repeat 3]

The real package (data/, schemas/, datapackage.json) is copied under bench/out/ and its outcome
rows repeated until there are N (each copy with its own outcome_id and subgroup, so every copy is
a distinct estimand); then every fourth row is broken in one of eight ways, from a bad cell to a
cross-table rule: a million bad rows is what a careless merge or a hostile pull request can make,
and the cap (--max-findings, 1,000 per file and rule) must keep both the time and the memory
bounded. The real rows' rule_exception warnings are copied too (warnings on most rows). Figures,
not assertions: it never fails a build.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from run import timed  # bench/ is first on sys.path when a script here runs

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable

# (column, what the cell becomes) for every fourth row in turn: the rule each must give
BREAKS = [
    ("responders", lambda r: "twelve", "type"),
    ("population", lambda r: "everyone", "enum"),
    ("arm_id", lambda r: r["arm_id"] + "-ghost", "foreign-key"),
    ("analysed", lambda r: "-5", "minimum"),
    ("note", lambda r: "=HYPERLINK(\"http://example.org\")", "formula-injection"),
    ("note", lambda r: "tab\tinside", "control-character"),
    ("timepoint_weeks", lambda r: "99999999999999999999", "type"),
    ("percent", lambda r: "inf", "type"),
]


def grow(dest: Path, n: int, errors: bool) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("datapackage.json", "CITATION.cff"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "schemas", dest / "schemas")
    shutil.copytree(ROOT / "data", dest / "data")
    real = pd.read_csv(ROOT / "data" / "outcomes.csv", dtype=str, keep_default_na=False)
    k = np.arange(n)
    rows = real.iloc[k % len(real)].reset_index(drop=True)
    tag = pd.Series(np.char.add("copy-", np.char.zfill(k.astype(str), 7)))
    rows["outcome_id"] = rows["outcome_id"] + "/" + tag
    rows["subgroup"] = tag
    rows = rows.sort_values("outcome_id", kind="stable").reset_index(drop=True)
    if errors:
        for j, (column, bad, _) in enumerate(BREAKS):
            at = np.arange(j * 4, n, 4 * len(BREAKS))  # every fourth row, the breaks in turn
            rows.loc[at, column] = [bad(rows.loc[i]) for i in at] if column == "arm_id" else bad(None)
    rows.to_csv(dest / "data" / "outcomes.csv", index=False, lineterminator="\n")
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("| outcome rows | package | validate.py (s) | peak MB | errors (counted) | errors listed "
          "| warnings (counted) | JSON output (MB) | rules found |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n in [int(s) for s in args.sizes.split(",")]:
        for errors in (False, True):
            pkg = grow(HERE / "out" / f"grown-{n}-{'errors' if errors else 'valid'}", n, errors)
            runs = [timed([PY, str(ROOT / "validate.py"), str(pkg), "--format", "json"]) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            report = json.loads(runs[-1][2])
            totals = report["summary"]["findings"]
            rules = sorted({e["rule"] for e in report["errors"] if e["file"] == "data/outcomes.csv"})
            expected = {rule for _, _, rule in BREAKS}
            found = ("all " if expected <= set(rules) else "MISSING ") + ", ".join(rules) if errors else "-"
            print(f"| {n:,} | {'a quarter of rows broken' if errors else 'grown, valid'} | {seconds:.2f} | {peak} "
                  f"| {totals['errors']:,} | {len(report['errors']):,} | {totals['warnings']:,} "
                  f"| {len(runs[-1][2]) / 1e6:.1f} | {found} |", flush=True)


if __name__ == "__main__":
    main()
