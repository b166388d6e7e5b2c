"""Pooled EASI-75 and IGA 0/1 by drug and dose, jakderm.pool() beside metafor::rma() on the same rows.

    python tests/metafor_side_by_side.py [PATH] [--measure RR] [--method REML] [--timepoint primary|WEEKS]

For a closing note or a review after the data change: prints one line per endpoint, drug and dose
with k, the pooled estimate, its 95% interval, tau2 and I2 from both sides, and the largest
difference. Needs Rscript with metafor (tests/R/metafor_agreement.R does the R side).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    import numpy as np

    import jakderm

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=str(ROOT))
    parser.add_argument("--measure", default="RR")
    parser.add_argument("--method", default="REML")
    parser.add_argument("--timepoint", default="primary")
    parser.add_argument("--endpoints", default="easi-75,iga-0-1")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = jakderm.effects(args.path, measure=args.measure)
    e = e[e.endpoint_id.isin(args.endpoints.split(",")) & e.subgroup.isna()]
    e = e[e.primary_timepoint] if args.timepoint == "primary" else e[e.timepoint_weeks == int(args.timepoint)]
    print(f"{len(e)} comparisons ({args.measure}, {args.endpoints}, timepoint {args.timepoint}) in {args.path}")
    if e.empty:
        return 0
    by = ["endpoint_id", "drug_id", "dose", "dose_unit"]
    pooled = jakderm.pool(e, by=by, method=args.method)
    # Group numbers in pool()'s order (it groups with sort=True, as groupby numbers them).
    key = e.groupby(by, dropna=False, sort=True, observed=True).ngroup().map("g{}".format)
    with tempfile.TemporaryDirectory() as tmp:
        groups, packages, out = Path(tmp) / "g.csv", Path(tmp) / "p.txt", Path(tmp) / "r.json"
        e.assign(group=key)[["group", "measure", "ai", "n1i", "ci", "n2i"]].to_csv(groups, index=False)
        packages.write_text("", encoding="utf-8")
        subprocess.run(["Rscript", str(ROOT / "tests" / "R" / "metafor_agreement.R"), str(ROOT), str(groups),
                        str(packages), str(out)], check=True)
        fits = {f["group"]: f for f in json.loads(out.read_text(encoding="utf-8"))["rma"] if f["method"] == args.method}
    back = np.exp if args.measure != "RD" else (lambda x: x)
    print(f"{'endpoint':9} {'drug':13} {'dose':>8} {'k':>2}  {'jakderm.pool':^32}  {'metafor::rma':^32}  max |diff|")
    worst = 0.0
    for i, r in enumerate(pooled.itertuples()):
        fit = fits[f"g{i}"]
        assert fit["k"] == r.k
        ours = (r.estimate, r.ci_lower, r.ci_upper, r.tau2, r.i2)
        theirs = (back(fit["b"]), back(fit["ci_lb"]), back(fit["ci_ub"]), fit["tau2"], fit["i2"])
        diff = max(abs(r.b - fit["b"]), abs(r.se - fit["se"]), abs(r.tau2 - fit["tau2"]))
        worst = max(worst, diff)
        fmt = "{:.3f} [{:.3f}, {:.3f}] t2 {:.3f} I2 {:4.1f}"
        dose = "" if r.dose != r.dose else f"{r.dose:g} {r.dose_unit}"
        print(f"{r.endpoint_id:9} {r.drug_id:13} {dose:>8} {r.k:>2}  {fmt.format(*ours):32}  {fmt.format(*theirs):32}  "
              f"{diff:.1e}")
    print(f"largest difference in b, se or tau2: {worst:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
