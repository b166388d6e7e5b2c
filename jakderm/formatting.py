"""`python -m jakderm format`: rewrite each resource file into the canonical CSV form.

Only the bytes around values change (BOM, line ends, quoting, column and row order); every cell
is written back exactly as read. A file that cannot be parsed unambiguously is left untouched
and reported, so the command never loses a value. Only the resources datapackage.json names and
whose paths stay inside the package are touched (descriptor.load_package), and each is replaced
atomically (files.atomic_write): a reader or a second run never sees half a file.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from .csvfile import delimiter_message, wrong_delimiter
from .descriptor import DescriptorError, Resource, load_package
from .files import Unreadable, atomic_write, describe, read_bytes
from .report import Report


def sort_key_fn(resource: Resource, header: list[str]):
    pk_pos = [header.index(k) for k in resource.primary_key if k in header]
    types = [resource.field(k).type for k in resource.primary_key if k in header]

    def key(row: list[str]):
        out = []
        for pos, type_ in zip(pk_pos, types, strict=True):
            cell = row[pos]
            if type_ in ("integer", "number"):
                try:
                    out.append((0, float(cell), ""))
                except ValueError:
                    out.append((1, 0.0, cell))
            else:
                out.append((0, 0.0, cell))
        return out
    return key


def canonical_text(text: str, resource: Resource) -> str:
    """The canonical form of one CSV text. Raises ValueError when it cannot be rewritten safely."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    rows = [r for r in rows if r]  # blank lines hold no value
    if not rows:
        raise ValueError("empty file")
    header, body = rows[0], rows[1:]
    delimiter = wrong_delimiter(header, resource.field_names)
    if delimiter:
        raise ValueError(delimiter_message(delimiter).replace("; the file was not read further", ""))
    for i, r in enumerate(body, start=2):
        if len(r) != len(header):
            raise ValueError(f"row {i} has {len(r)} cells but the header has {len(header)}")
    for r in body:
        for cell in r:
            if "\n" in cell or "\r" in cell:
                raise ValueError("a cell holds a line break; the canonical form has one line per row")
    if len(set(header)) != len(header):
        raise ValueError("duplicate column names in the header")
    expected = resource.field_names
    if set(header) == set(expected):
        order = [header.index(n) for n in expected]
        header = expected
        body = [[r[i] for i in order] for r in body]
    body.sort(key=sort_key_fn(resource, header))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


def format_package(path: str | Path = ".", check: bool = False) -> int:
    root = Path(path)
    try:
        package = load_package(root, Report())
    except DescriptorError as exc:
        print(f"datapackage.json: {exc}")
        return 2
    changed, failed = [], []
    done: set[str] = set()
    for res in package.resources.values():
        file = package.root / res.path
        if res.path in done or not file.exists():
            continue
        done.add(res.path)
        try:
            raw = read_bytes(file)
        except (Unreadable, OSError) as exc:
            failed.append(f"{res.path}: left unchanged: cannot be read ({describe(exc)})")
            continue
        try:
            text = raw.decode("utf-8")
            new = canonical_text(text, res)
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            failed.append(f"{res.path}: left unchanged: {exc}")
            continue
        if new.encode("utf-8") != raw:
            if not check:
                try:
                    atomic_write(Path(os.path.realpath(file)), new.encode("utf-8"), file.stat().st_mode & 0o7777)
                except OSError as exc:
                    failed.append(f"{res.path}: left unchanged: cannot be written ({describe(exc)})")
                    continue
            changed.append(res.path)
    for line in failed:
        print(line)
    verb = "would reformat" if check else "reformatted"
    for p in changed:
        print(f"{verb} {p}")
    if not changed and not failed:
        print("all files are in canonical form")
    return 1 if failed or (check and changed) else 0
