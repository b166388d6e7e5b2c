"""`python -m jakderm diff REF_A REF_B`: what a change does to the data, table by table, in Markdown.

For a pull request's reviewer, and for the changelog of a release. Each package is read as git
holds it at the ref (`git show REF:path`), written byte for byte into a temporary folder and read
there by the package's own reader (descriptor.load_package, csvfile.read_text_table), so the diff
sees exactly what the validator sees. Rows are matched on the table's primary key; cells are
compared as the CSV text holds them, so a change of printed precision (`8.4` → `8.40`) is a
change, as it is for the data (docs/data-model.md: the printed precision of `percent` is data).

Resources and keys come from REF_B's datapackage.json and schemas; a table that exists only at
REF_A is read with REF_A's. A primary key present at REF_A and absent at REF_B is listed in its own
warning section: identifiers are stable once published.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .csvfile import read_text_table
from .descriptor import DescriptorError, Resource, load_package
from .files import atomic_write, describe
from .formatting import sort_key_fn
from .report import Report

# Reading problems that change which rows or cells are compared; canonical-form findings
# (quoting, line ends, BOM, order) change no value and are left to the validator.
READ_PROBLEMS = {"file-missing", "file-unreadable", "encoding", "empty-file", "schema-missing", "schema-invalid",
                 "row-cells", "line-break-in-cell", "blank-line", "column-missing", "column-unknown",
                 "column-duplicate", "descriptor", "delimiter"}


class GitError(Exception):
    pass


# ---------------------------------------------------------------- reading a package at a ref

def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True)


def resolve_ref(repo: Path, ref: str) -> str:
    # --end-of-options: a ref such as "--output=x" is a name to look up, never an option
    done = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if done.returncode != 0:
        raise GitError(f"{ref!r} is not a commit in {repo}")
    return done.stdout.decode().strip()


def _show(repo: Path, commit: str, path: str) -> bytes | None:
    """The bytes of a file at a commit; `./` makes the path relative to --repo (a package may
    live in a sub-folder of its git work tree). None if git has no such file there."""
    done = _git(repo, "show", f"{commit}:./{path}")
    return done.stdout if done.returncode == 0 else None


def _safe(path: object) -> str | None:
    if not isinstance(path, str) or not path:
        return None
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts:
        return None
    return str(p)


@dataclass
class Snapshot:
    """The package as git holds it at one commit."""

    ref: str
    commit: str
    descriptor: dict
    resources: dict[str, Resource]
    rows: dict[str, dict[tuple, dict[str, str]]]  # table -> primary key -> field -> cell text
    headers: dict[str, list[str]]
    problems: list[str] = field(default_factory=list)


def read_snapshot(repo: Path, ref: str, tmp: Path) -> Snapshot:
    commit = resolve_ref(repo, ref)
    root = tmp / commit
    root.mkdir(parents=True, exist_ok=True)
    raw = _show(repo, commit, "datapackage.json")
    if raw is None:
        raise GitError(f"datapackage.json does not exist at {ref}")
    (root / "datapackage.json").write_bytes(raw)
    try:
        descriptor = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GitError(f"datapackage.json at {ref} is not valid JSON: {exc}") from None
    for res in descriptor.get("resources", []) if isinstance(descriptor, dict) else []:
        if not isinstance(res, dict):
            continue
        for rel in (_safe(res.get("schema")), _safe(res.get("path"))):
            if rel is None:
                continue
            data = _show(repo, commit, rel)
            if data is not None:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(data)
    report = Report()
    try:
        package = load_package(root, report)
    except DescriptorError as exc:
        raise GitError(f"at {ref}: {exc}") from None
    rows: dict[str, dict[tuple, dict[str, str]]] = {}
    headers: dict[str, list[str]] = {}
    for name, res in package.resources.items():
        text = read_text_table(root, res, report)
        if text is None:
            continue
        present = [n for n in res.field_names if n in text.columns]
        cols = {n: text.columns[n].to_pylist() for n in present}
        table: dict[tuple, dict[str, str]] = {}
        for i in range(text.n_rows):
            row = {n: cols[n][i] for n in present}
            key = tuple(row.get(k, "") for k in res.primary_key)
            if key in table:
                report.add(res.path, int(text.lines[i]), None, _show_key(res, key), "primary-key-duplicate",
                           "the primary key appears twice; only its first row is compared")
                continue
            table[key] = row
        rows[name] = table
        headers[name] = present
    problems = [f"{_code(f.file)}{':' + str(f.line) if f.line else ''} ({f.rule}): {_text(f.message)}"
                for f in report.sorted() if f.rule in READ_PROBLEMS | {"primary-key-duplicate"}]
    return Snapshot(ref, commit, descriptor, package.resources, rows, headers, problems)


# ---------------------------------------------------------------- comparing

@dataclass
class TableDiff:
    name: str
    resource: Resource  # at B, or at A for a removed table
    status: str = "same"  # same | added | removed | changed
    added: list[tuple] = field(default_factory=list)
    removed: list[tuple] = field(default_factory=list)
    changed: list[tuple[tuple, list[tuple[str, str, str]]]] = field(default_factory=list)
    schema: list[str] = field(default_factory=list)
    renamed: dict[tuple, tuple] = field(default_factory=dict)  # removed key -> added key with the same cells
    uncompared: str | None = None

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.added), len(self.removed), len(self.changed)


def _ordered(res: Resource, keys) -> list[tuple]:
    """Keys in the package's canonical row order (formatting.sort_key_fn: numbers numerically)."""
    fn = sort_key_fn(res, list(res.primary_key))
    return sorted(keys, key=lambda k: fn(list(k)))


def schema_changes(a: Resource, b: Resource) -> list[str]:
    out = []
    fa = {f.name: f for f in a.fields}
    fb = {f.name: f for f in b.fields}
    for f in b.fields:
        if f.name not in fa:
            out.append(f"field added: {_code(f.name)} ({_text(f.type)}{', required' if f.required else ''})")
        elif fa[f.name].type != f.type:
            out.append(f"type changed: {_code(f.name)}: {_text(fa[f.name].type)} → {_text(f.type)}")
    for f in a.fields:
        if f.name not in fb:
            out.append(f"field removed: {_code(f.name)} ({_text(f.type)})")
    for name in [n for n in fb if n in fa]:
        ca, cb = fa[name].constraints, fb[name].constraints
        if ca != cb:
            keys = sorted(set(ca) | set(cb))
            parts = [f"{_text(k)}: {_code(_json(ca.get(k)))} → {_code(_json(cb.get(k)))}" for k in keys
                     if ca.get(k) != cb.get(k)]
            out.append(f"constraints changed: {_code(name)}: " + "; ".join(parts))
    if a.primary_key != b.primary_key:
        out.append(f"primary key changed: ({_text(', '.join(a.primary_key))}) → ({_text(', '.join(b.primary_key))})")
    fka = {_fk(fk) for fk in a.foreign_keys}
    fkb = {_fk(fk) for fk in b.foreign_keys}
    out += [f"foreign key added: {_text(s)}" for s in sorted(fkb - fka)]
    out += [f"foreign key removed: {_text(s)}" for s in sorted(fka - fkb)]
    if a.path != b.path:
        out.append(f"file moved: {_code(a.path)} → {_code(b.path)}")
    return out


def _json(v) -> str:
    return "(none)" if v is None else json.dumps(v, ensure_ascii=False)


def _fk(fk: dict) -> str:
    return f"({', '.join(fk['fields'])}) → {fk['resource']}({', '.join(fk['ref_fields'])})"


def diff_table(name: str, a: Snapshot, b: Snapshot) -> TableDiff:
    ra, rb = a.resources.get(name), b.resources.get(name)
    if rb is None:
        assert ra is not None, f"{name} is in neither snapshot"
        d = TableDiff(name, ra, "removed")
        d.removed = _ordered(ra, a.rows.get(name, {}))
        return d
    d = TableDiff(name, rb)
    new = b.rows.get(name, {})
    if ra is None:
        d.status = "added"
        d.added = _ordered(rb, new)
        return d
    d.schema = schema_changes(ra, rb)
    old = a.rows.get(name, {})
    if ra.primary_key != rb.primary_key:
        if not all(k in a.headers.get(name, []) for k in rb.primary_key):
            d.uncompared = ("the primary key changed and REF_A's file lacks a column of the new key: "
                            "rows are not compared")
            d.status = "changed"
            return d
        # Re-key REF_A's rows on REF_B's key, so that rows are matched as they are published now.
        old = {tuple(r.get(k, "") for k in rb.primary_key): r for r in old.values()}
    common = [n for n in b.headers.get(name, []) if n in set(a.headers.get(name, []))]
    d.added = _ordered(rb, [k for k in new if k not in old])
    d.removed = _ordered(rb, [k for k in old if k not in new])
    for key in _ordered(rb, [k for k in new if k in old]):
        cells = [(c, old[key].get(c, ""), new[key].get(c, "")) for c in common
                 if old[key].get(c, "") != new[key].get(c, "")]
        if cells:
            d.changed.append((key, cells))
    # A removed key whose row reappears, every other cell equal, under an added key: a rename.
    nonkey = [c for c in common if c not in rb.primary_key]
    by_cells: dict[tuple, list[tuple]] = {}
    for k in d.added:
        by_cells.setdefault(tuple(new[k].get(c, "") for c in nonkey), []).append(k)
    for k in d.removed:
        match = by_cells.get(tuple(old[k].get(c, "") for c in nonkey))
        if match and nonkey:
            d.renamed[k] = match[0]
    if d.added or d.removed or d.changed or d.schema:
        d.status = "changed"
    return d


# ---------------------------------------------------------------- Markdown

def _code(value: str, table: bool = False) -> str:
    """A value as a Markdown code span, inert whatever it holds: the fence is longer than any run
    of backticks inside (so a value cannot close it and let `<img onerror=…>` render as HTML),
    line breaks and other control characters are shown as visible escapes (a line break would end
    the list item), and in a table '|' is escaped (it would split the row)."""
    if value == "":
        return "*(empty)*"
    value = _visible(value)
    if table:
        value = value.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or (value.startswith(" ") and value.endswith(" ")) else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def _visible(text: str) -> str:
    """Line breaks, tabs and other control characters as escapes a reader can see (\\n, \\t, \\x00)."""
    return re.sub(r"[\x00-\x1f\x7f\x80-\x9f\u2028\u2029]",
                  lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(m.group(), f"\\x{ord(m.group()):02x}"
                                                                     if ord(m.group()) < 256 else f"\\u{ord(m.group()):04x}"),
                  text)


def _text(value: object) -> str:
    """Plain text (a file name, a message, a version) inert in Markdown: every character Markdown
    or HTML gives a meaning is backslash-escaped, control characters made visible."""
    return re.sub(r"([\\`*_\[\]<>|~&])", r"\\\1", _visible(str(value)))


def _precision_note(old: str, new: str) -> str:
    """' (same value; printed precision 1 → 0 decimals)' when two numbers differ only in how
    they are printed (60.0 → 60): printed precision is data here (docs/data-model.md, percent)."""
    pattern = r"[+-]?[0-9]+(\.[0-9]*)?"
    if not (re.fullmatch(pattern, old) and re.fullmatch(pattern, new)) or float(old) != float(new):
        return ""
    da = len(old.split(".")[1]) if "." in old else 0
    db = len(new.split(".")[1]) if "." in new else 0
    return f" **(same value; printed precision changed: {da} → {db} decimal(s))**" if da != db else \
        " (same value, written differently)"


def _show_key(res: Resource, key: tuple) -> str:
    if len(key) == 1:
        return key[0]
    return ", ".join(f"{k}={v}" for k, v in zip(res.primary_key, key, strict=True))


def _provenance(res: Resource, row: dict[str, str]) -> str:
    """Where the row's figures come from. In `sources` and `trial_sources` the source is part of
    the key, already shown."""
    parts = []
    if "source_id" in row and "source_id" not in res.primary_key:
        parts.append(f"source {_code(row['source_id'])}")
    if "locator" in row:
        parts.append(f"locator {_code(row['locator'])}")
    return " — " + ", ".join(parts) if parts else ""


def _label(s: Snapshot) -> str:
    """`v0.1.0` (1a2b3c4d5e), or the short commit alone when the ref is a commit id."""
    if s.commit.startswith(s.ref.lower()):
        return f"`{s.commit[:10]}`"
    return f"{_code(s.ref)} ({s.commit[:10]})"


def render(a: Snapshot, b: Snapshot, diffs: list[TableDiff]) -> str:
    out: list[str] = []
    va, vb = _text(a.descriptor.get("version", "?")), _text(b.descriptor.get("version", "?"))
    out.append(f"# Data diff: {_label(a)} → {_label(b)}")
    out.append("")
    out.append(f"Package version: {va} → {vb}" + (" (unchanged)" if va == vb else ""))
    out.append("")
    total_removed = sum(len(d.removed) for d in diffs)
    out.append("| table | rows added | rows removed | rows changed | schema changes |")
    out.append("| --- | ---: | ---: | ---: | ---: |")
    for d in diffs:
        label = _code(d.name, table=True) + {"added": " (new table)", "removed": " (table removed)"}.get(d.status, "")
        n_add, n_rem, n_chg = d.counts
        out.append(f"| {label} | {n_add} | {n_rem} | {n_chg} | {len(d.schema)} |")
    out.append("")

    if total_removed:
        out.append("## ⚠️ Removed identifiers (breaking: ids are stable once published)")
        out.append("")
        out.append(f"{total_removed} primary key(s) present at {_label(a)} are absent at {_label(b)}. Users' code, "
                   "joins and citations name these ids: keep them, or make the removal a breaking release "
                   "(version bump and a CHANGELOG line).")
        out.append("")
        for d in diffs:
            if not d.removed:
                continue
            what = "table removed" if d.status == "removed" else f"key ({_text(', '.join(d.resource.primary_key))})"
            out.append(f"- {_code(d.name)} ({what}):")
            for k in d.removed:
                hint = f" — renamed? the same row is added as {_code(_show_key(d.resource, d.renamed[k]))}" \
                    if k in d.renamed else ""
                out.append(f"  - **{_code(_show_key(d.resource, k))}**{hint}")
        out.append("")
    else:
        out.append("No identifier was removed.")
        out.append("")

    schema = [d for d in diffs if d.schema or d.status in ("added", "removed")]
    if schema:
        out.append("## Schema changes")
        out.append("")
        for d in schema:
            if d.status == "added":
                out.append(f"- {_code(d.name)}: new table, key ({_text(', '.join(d.resource.primary_key))}), "
                           f"{len(d.resource.fields)} fields")
            elif d.status == "removed":
                out.append(f"- {_code(d.name)}: table removed")
            else:
                out.append(f"- {_code(d.name)}:")
                out += [f"  - {line}" for line in d.schema]
        out.append("")

    problems = [(s, p) for s in (a, b) for p in s.problems]
    if problems:
        out.append("## Files that could not be read in full")
        out.append("")
        out.append("Rows in these files may be missing from the comparison; `python validate.py` says more.")
        out.append("")
        out += [f"- at {_label(s)}: {p}" for s, p in problems]
        out.append("")

    for d in diffs:
        if d.status == "same" and not d.schema:
            continue
        n_add, n_rem, n_chg = d.counts
        out.append(f"## {_code(d.name)}: {n_add} added, {n_rem} removed, {n_chg} changed")
        out.append("")
        if d.uncompared:
            out.append(f"*{_text(d.uncompared)}.*")
            out.append("")
        new_rows = b.rows.get(d.name, {})
        if d.added:
            out.append(f"### Added ({n_add})")
            out.append("")
            for k in d.added:
                row = new_rows[k]
                out.append(f"- {_code(_show_key(d.resource, k))}{_provenance(d.resource, row)}")
                for c, v in row.items():
                    if v != "" and c not in d.resource.primary_key and c not in ("source_id", "locator"):
                        out.append(f"  - {_text(c)}: {_code(v)}")
            out.append("")
        if d.removed:
            out.append(f"### Removed ({n_rem}) — see the warning above")
            out.append("")
            out += [f"- {_code(_show_key(d.resource, k))}" for k in d.removed]
            out.append("")
        if d.changed:
            out.append(f"### Changed ({n_chg})")
            out.append("")
            for k, cells in d.changed:
                out.append(f"- {_code(_show_key(d.resource, k))}{_provenance(d.resource, new_rows[k])}")
                out += [f"  - {_text(c)}: {_code(old)} → {_code(new)}{_precision_note(old, new)}"
                        for c, old, new in cells]
            out.append("")
    if all(d.status == "same" and not d.schema for d in diffs):
        out.append("No data or schema change.")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def diff_refs(repo: str | Path, ref_a: str, ref_b: str) -> str:
    """The Markdown diff of the package between two git refs."""
    repo = Path(repo)
    with tempfile.TemporaryDirectory(prefix="jakderm-diff-") as tmp:
        a = read_snapshot(repo, ref_a, Path(tmp) / "a")
        b = read_snapshot(repo, ref_b, Path(tmp) / "b")
    names = list(b.resources) + [n for n in a.resources if n not in b.resources]
    return render(a, b, [diff_table(n, a, b) for n in names])


def run_diff(ref_a: str, ref_b: str, repo: str | Path = ".", output: str | None = None) -> int:
    try:
        text = diff_refs(repo, ref_a, ref_b)
    except GitError as exc:
        print(f"jakderm diff: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the temporary folder: disk full, no /tmp
        print(f"jakderm diff: cannot read the package at the refs: {describe(exc)}", file=sys.stderr)
        return 2
    if output:
        try:
            atomic_write(Path(output), text.encode("utf-8"))
        except OSError as exc:
            print(f"jakderm diff: cannot write {output}: {describe(exc)}; nothing was written", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0
