"""Where validate.py's time goes: one validation run, with the time spent in each step.

    .venv/bin/python bench/phases.py [PACKAGE] [--repeat 3]

PACKAGE defaults to the grown package bench/run.py builds (bench/out/real-1000000). The functions
of each step (reading, the Table Schema checks, the typing, the joins) are wrapped with a timer
and validation.validate_package runs as validate.py runs it; what the wrapped steps do not account
for (the rules, attribution, the report) is shown as the rest. Imports are timed once (a process
imports once); the steps give the fastest of --repeat runs. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

STEPS = {  # module -> (step, functions)
    "jakderm.csvfile": ("read the CSV files and check their form", ["read_text_table"]),
    "jakderm.schema_checks": ("Table Schema checks (types, constraints, keys)",
                              ["check_fields", "check_primary_key", "check_foreign_keys", "check_row_order"]),
    "jakderm.typed": ("type the tables", ["typed_frame"]),
    "jakderm.joins": ("joins for the cross-table rules", ["prepare"]),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("package", nargs="?", default=str(HERE / "out" / "real-1000000"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not (Path(args.package) / "datapackage.json").exists():
        sys.exit(f"{args.package}: no datapackage.json (bench/run.py builds bench/out/real-1000000)")

    imports: dict[str, float] = {}
    for label, name in (("import numpy, pandas, pyarrow", "pandas"), ("import Pandera", "pandera.pandas"),
                          ("import frictionless", "frictionless"), ("import jakderm", "jakderm.validation")):
        start = time.perf_counter()
        __import__(name)
        imports[label] = time.perf_counter() - start

    spent: dict[str, float] = {}
    for module_name, (step, names) in STEPS.items():
        module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
        for name in names:
            original = getattr(module, name)

            @functools.wraps(original)
            def wrapper(*a, __original=original, __step=step, **k):
                start = time.perf_counter()
                try:
                    return __original(*a, **k)
                finally:
                    spent[__step] = spent.get(__step, 0.0) + time.perf_counter() - start
            # the function is replaced wherever a jakderm module bound it by name
            for other in [m for n, m in sys.modules.items() if n.startswith("jakderm") and m is not None]:
                if getattr(other, name, None) is original:
                    setattr(other, name, wrapper)

    from jakderm import validation
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        spent.clear()
        start = time.perf_counter()
        report = validation.validate_package(args.package)
        total = time.perf_counter() - start
        for step, seconds in spent.items():
            runs.setdefault(step, []).append(seconds)
        runs.setdefault("the rest (rules, attribution, report)", []).append(total - sum(spent.values()))
        runs.setdefault("validation, all steps", []).append(total)
    print(f"{args.package}: {sum(report.summary.get('rows', {}).values()):,} rows; "
          f"{report.total('error'):,} errors, {report.total('warning'):,} warnings")
    print("| step | seconds |")
    print("| --- | ---: |")
    for label, seconds in imports.items():
        print(f"| {label} | {seconds:.2f} |")
    for label, values in runs.items():
        print(f"| {label} | {min(values):.2f} |")


if __name__ == "__main__":
    main()
