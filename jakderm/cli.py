"""`python -m jakderm <command>`: validate, format, diff, build, dictionary, scaffold, coverage, site, serve,
forest."""
from __future__ import annotations

import argparse
import contextlib
import gc
import sys


def _validate(args) -> int:
    with long_lived_imports():
        from .report import RENDERERS
        from .validation import validate_package

    try:
        report = validate_package(args.path, max_findings=args.max_findings)
    except Exception as exc:  # a bug of ours must still give one clear line, never a traceback
        from .report import Report
        report = Report()
        report.add("datapackage.json", None, None, None, "internal-error",
                   f"the validator failed ({type(exc).__name__}: {exc}); please report this with the file that caused it")
    print(RENDERERS[args.format](report, quiet=args.quiet))
    return report.exit_code


def _format(args) -> int:
    from .formatting import format_package

    return format_package(args.path, check=args.check)


def _diff(args) -> int:
    from .diff import run_diff

    return run_diff(args.ref_a, args.ref_b, repo=args.repo, output=args.output)


def _build(args) -> int:
    from .build import build_package

    return build_package(args.path, out=args.out)


def _dictionary(args) -> int:
    from .dictionary import write

    return write(args.path, check=args.check)


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return n


def _scaffold(args) -> int:
    from .scaffold import run

    return run(args.nct_id, args.from_file, args.out, args.merge, path=args.path, trial_id=args.trial_id,
               read_via=args.read_via)
def _coverage(args) -> int:
    from .coverage import write

    return write(args.path, out=args.out, check=args.check, reasons=args.reasons)


def _site(args) -> int:
    from .site import build_site

    return build_site(args.path, out=args.out)


def _serve(args) -> int:
    from .serve import serve

    return serve(args.path, port=args.port, host=args.host)


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    parser = argparse.ArgumentParser(prog="python -m jakderm", description="Tools for the jak-derm-data package.")
    parser.add_argument("--version", action="version", version=f"jakderm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="validate the package, changing no file")
    v.add_argument("path", nargs="?", default=".", help="the package directory or its datapackage.json")
    v.add_argument("--format", choices=["text", "json", "github"], default="text")
    v.add_argument("--max-findings", type=_positive, default=None, metavar="N",
                   help="list at most N findings per file and rule (default 1000); every one is counted")
    v.add_argument("--quiet", action="store_true",
                   help="the summary first, then the errors only (text and github; json is always whole)")
    v.set_defaults(run=_validate)
    f = sub.add_parser("format", help="rewrite data/*.csv into the canonical CSV form (values unchanged)")
    f.add_argument("path", nargs="?", default=".")
    f.add_argument("--check", action="store_true", help="only say which files would change (exit 1 if any)")
    f.set_defaults(run=_format)
    d = sub.add_parser("diff", help="Markdown diff of the data between two git refs, table by table by primary key")
    d.add_argument("ref_a", metavar="REF_A", help="the earlier git ref (commit, branch, tag)")
    d.add_argument("ref_b", metavar="REF_B", help="the later git ref")
    d.add_argument("--repo", default=".", help="the package's directory in a git work tree (default: .)")
    d.add_argument("--output", metavar="FILE", help="write the Markdown to FILE instead of standard output")
    d.set_defaults(run=_diff)
    b = sub.add_parser("build", help="write the release files (zip, sqlite, parquet, xlsx, SHA256SUMS)")
    b.add_argument("path", nargs="?", default=".", help="the package directory or its datapackage.json")
    b.add_argument("--out", default="dist", help="the folder to write into (default: dist)")
    b.set_defaults(run=_build)
    g = sub.add_parser("dictionary", help="regenerate docs/data-dictionary.md from the schemas and vocabularies")
    g.add_argument("path", nargs="?", default=".")
    g.add_argument("--check", action="store_true", help="only say whether it is stale (exit 1 if so)")
    g.set_defaults(run=_dictionary)
    s = sub.add_parser("scaffold", help="draft a trial's rows from its ClinicalTrials.gov record (API v2)")
    s.add_argument("nct_id", metavar="NCT_ID", help="the registry id, NCT followed by 8 digits")
    s.add_argument("--from-file", metavar="RECORD.json", help="read the API v2 record from a file instead of the registry")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="DIR", help="write the drafted rows, one CSV per table, into a new folder")
    where.add_argument("--merge", action="store_true", help="add the drafted rows to the package (never changes a row)")
    s.add_argument("--path", default=".", help="the package directory (default: .)")
    s.add_argument("--trial-id", help="the trial's id (default: the record's acronym, else the NCT id)")
    s.add_argument("--read-via", default="", help="the copy of the record read, when not the registry itself (sources.read_via)")
    s.set_defaults(run=_scaffold)
    c = sub.add_parser("coverage", help="write the coverage report (default docs/coverage.md)")
    c.add_argument("path", nargs="?", default=".")
    c.add_argument("--out", metavar="FILE", help="write the report to FILE (default: docs/coverage.md in the package)")
    c.add_argument("--check", action="store_true", help="only say whether the report is stale (exit 1 if so)")
    c.add_argument("--reasons", metavar="FILE", help="first write curators' reasons (CSV trial_name,nct_id,reason"
                   "[,status]) into curation/trial-universe.csv")
    c.set_defaults(run=_coverage)
    s = sub.add_parser("site", help="generate the static site (HTML, works from disk) into OUT")
    s.add_argument("path", nargs="?", default=".")
    s.add_argument("--out", default="site", help="the folder to write into (default: site)")
    s.set_defaults(run=_site)
    w = sub.add_parser("serve", help="serve the release SQLite with Datasette (extra: pip install .[serve])")
    w.add_argument("path", nargs="?", default=".")
    w.add_argument("--port", type=int, default=8001)
    w.add_argument("--host", default="127.0.0.1", help="the address to bind (default: loopback only)")
    w.set_defaults(run=_serve)
    from .forest import add_parser as add_forest
    add_forest(sub)
    args = parser.parse_args(argv)
    return args.run(args)


def skip_unused_imports() -> None:
    """For a process that runs only these commands (validate.py, python -m jakderm). Pandera's
    check backend imports hypothesis, when it is installed (the test extra installs it), for the
    data synthesis no command does; that import is most of a cold run on the real package
    (bench/phases.py prints the run both ways). The module is marked absent, never unloaded: a
    process that has imported it keeps it, and jakderm imported as a library is untouched."""
    sys.modules.setdefault("hypothesis", None)  # type: ignore[arg-type]  # None marks a module absent


_frozen = False


@contextlib.contextmanager
def long_lived_imports():
    """Around imports whose objects live as long as the process. pandas, Pandera and frictionless
    make hundreds of thousands of them; the garbage collector would walk them again and again while
    they are made, and once more when the process ends, a large part of a cold run on the real
    package (bench/phases.py prints both ways). So the collector pauses while they are
    imported, and then they are frozen (gc.freeze: left out of every later collection, the one at
    exit included). Once per process: a later freeze would also keep whatever garbage was waiting."""
    global _frozen
    if _frozen or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        _frozen = True
        gc.enable()


def run(argv: list[str] | None = None) -> None:
    skip_unused_imports()
    try:
        code = main(argv)
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = 1
    sys.exit(code)
