"""Where validate.py's time goes: one validation run, with the time spent in each step.

    .venv/bin/python bench/phases.py [PACKAGE] [--repeat 3]

PACKAGE defaults to the grown package bench/run.py builds (bench/out/real-1000000). The functions
of each step (reading, the Table Schema checks, the typing, the joins) are wrapped with a timer
and validation.validate_package runs as validate.py runs it; what the wrapped steps do not account
for (the rules, attribution, the report) is shown as the rest. Imports are timed once (a process
imports once); the steps give the fastest of --repeat runs. Figures, not assertions.

A second table shows what the command line's process entry (jakderm/cli.py) spares a process,
each measured both ways in new processes (median of --repeat): the garbage collector paused
while pandas, Pandera and frictionless are imported, and their objects frozen so that the
collection at exit leaves them alone (cli.long_lived_imports); hypothesis left unimported by
Pandera's first check (cli.skip_unused_imports).
"""
from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
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
    print()
    print("| in a new process | as Python does it | as validate.py does it |")
    print("| --- | ---: | ---: |")
    for label, plain, ours in process_costs(args.package, args.repeat):
        print(f"| {label} | {plain:.2f} s | {ours:.2f} s |")


# One validation in a new process, printing how long its imports took and then the moment it is
# done; `{settle}` is what the process entry does about the imports, `{skip}` about hypothesis.
PROBE = """\
import sys, time
start = time.perf_counter()
sys.path.insert(0, {root!r})
{skip}
from jakderm import cli
{settle}
    from jakderm.validation import validate_package
imported = time.perf_counter() - start
validate_package({package!r})
print(imported, time.perf_counter() - start - imported, time.time(), flush=True)
"""


def process_costs(package: str, repeat: int) -> list[tuple[str, float, float]]:
    """(what, seconds as a plain Python process spends on it, seconds as validate.py does). Each
    comparison changes one thing: the collector (import, exit), or hypothesis (validation)."""
    ways = {
        "plain": {"skip": "sys.modules['hypothesis'] = None", "settle": "if True:"},
        "ours": {"skip": "sys.modules['hypothesis'] = None", "settle": "with cli.long_lived_imports():"},
        "hypothesis": {"skip": "", "settle": "with cli.long_lived_imports():"},
    }
    runs: dict[str, list[tuple[float, float, float]]] = {way: [] for way in ways}
    for _ in range(repeat):
        for way, code in ways.items():
            probe = PROBE.format(root=str(HERE.parent), package=package, **code)
            proc = subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
            took, validating, done = (float(x) for x in proc.stdout.readline().split())  # type: ignore[union-attr]
            proc.wait()
            runs[way].append((took, validating, time.time() - done))
    imported, validated, ended = ({way: statistics.median(r[i] for r in runs[way]) for way in ways} for i in range(3))
    return [("import the validator (collector running / paused, then frozen)", imported["plain"], imported["ours"]),
            ("validate (Pandera's first check imports hypothesis / finds it marked absent)",
             validated["hypothesis"], validated["ours"]),
            ("end the process after a validation (every object walked / the frozen left alone)",
             ended["plain"], ended["ours"])]


if __name__ == "__main__":
    main()
