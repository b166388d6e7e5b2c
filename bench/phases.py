"""Where validate.py's time goes: each phase of one validation, run one after another.

    .venv/bin/python bench/phases.py [PACKAGE] [--repeat 3]

PACKAGE defaults to the 1M-row synthetic package that bench/run.py builds (bench/out/1000000-valid).
validate.py overlaps these phases in two threads (validation.py); here they run in sequence so
that each can be timed. Imports are timed once (a process imports once); the other phases give
the fastest of --repeat runs. Figures, not assertions.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("package", nargs="?", default=str(HERE / "out" / "1000000-valid"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not (Path(args.package) / "datapackage.json").exists():
        sys.exit(f"{args.package}: no datapackage.json (bench/run.py builds bench/out/1000000-valid)")

    once: dict[str, float] = {}

    def timed(label: str, action):
        start = time.perf_counter()
        result = action()
        once[label] = time.perf_counter() - start
        return result

    from jakderm.cli import skip_unused_imports
    skip_unused_imports()  # as validate.py does
    timed("import pyarrow, numpy and the schema layer", lambda: __import__("jakderm.validation"))
    from jakderm import validation
    timed("import pandas", lambda: __import__("pandas"))
    timed("import Pandera", lambda: __import__("pandera.pandas"))
    timed("import frictionless", lambda: __import__("frictionless"))
    from jakderm import joins, rules
    from jakderm.descriptor import load_package
    from jakderm.report import Report
    from jakderm.typed import typed_frame

    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        report = Report()
        t = time.perf_counter()

        def lap(label: str) -> None:
            nonlocal t
            now = time.perf_counter()
            runs.setdefault(label, []).append(now - t)
            t = now

        package = load_package(Path(args.package), report)
        validation._check_descriptor_with_frictionless(package.descriptor, report)
        lap("descriptor and schemas (frictionless' metadata check included)")
        texts = validation.read_all(package, report)
        lap("read the CSV files (pyarrow) and check their form")
        validation.check_all(texts, report)
        lap("Table Schema checks (types, constraints, keys)")
        frames = {name: typed_frame(t_, use_bad=False) for name, t_ in texts.items()}
        lap("type the tables for the rule layer")
        prepared = joins.prepare(frames, texts)
        lap("joins for the cross-table rules")
        validation.run_rules(package, prepared, texts, report)
        lap("rules (rules.py: each rule's function, one mask per rule)")
        del texts, frames, prepared

    rows = sum(t.n_rows for t in validation.read_all(load_package(Path(args.package)), Report()).values())
    print(f"{args.package}: {rows:,} rows in all")
    print("| phase | seconds |")
    print("| --- | ---: |")
    for label, seconds in once.items():
        print(f"| {label} | {seconds:.3f} |")
    for label, seconds in runs.items():
        print(f"| {label} | {min(seconds):.3f} |")
    print(f"| all, one after another | {sum(once.values()) + sum(min(s) for s in runs.values()):.3f} |")


if __name__ == "__main__":
    main()
