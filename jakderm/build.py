"""`python -m jakderm build [PATH] [--out dist]`: the release files of one version, reproducibly.

Written into OUT (default `dist/`), for version V of datapackage.json:

- `jak-derm-data-V.zip`: the Data Package as it is (datapackage.json, the schemas and data files
  it names, README.md, LICENSE, CITATION.cff, CHANGELOG.md), byte for byte, datapackage.json at
  the root of the archive as the Frictionless zip convention wants;
- `jak-derm-data-V.sqlite`: one table per resource, columns typed from the Table Schema (integer
  -> INTEGER, number -> REAL, boolean -> INTEGER 0/1, date and string -> TEXT, dates as ISO
  8601), NOT NULL for required fields, PRIMARY KEY and FOREIGN KEY clauses, rows in primary-key
  order;
- `parquet/<table>.parquet`: int64, float64, date32, bool, string; an enum field is
  dictionary<int32, string> whose dictionary is the full enum in schema order, so pandas reads a
  categorical and R arrow a factor with the whole vocabulary, as `jakderm.load()` and
  `read_jakderm()` give it (unused levels included); field descriptions are kept as field metadata;
- `jak-derm-data-V.xlsx`: a first sheet `dictionary` (every field: type, required, key,
  constraints, description), then one sheet per table, bold header row, frozen pane;
- `SHA256SUMS`: `sha256sum` format, sorted by path, one line per file above.

Same input, same bytes (with the same versions of Python's sqlite3, pyarrow and openpyxl): no
timestamp and no random id in any file. Zip entries are sorted and dated 1980-01-01 00:00:00,
the xlsx's document properties carry a constant date and its own zip entries the same fixed date.

The typed files cannot hold a number's printed precision (`8.40` is 8.4 there); the CSV files in
the zip keep it. A package that does not validate is not built (no value is dropped, rolled over
or cut silently): the build runs the validator first and stops at its errors.

Nothing outside the package is read (its paths are checked by descriptor.load_package, the extra
files here) and nothing outside OUT is written or listed: OUT must be a new or empty folder or a
previous release (only release files in it), and the version string must be a plain file-name
part. The files are written into a staging folder inside OUT and moved into place only when all
are written, SHA256SUMS last: a build that fails leaves the previous release as it was, and two
builds at once each use their own staging folder.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from .csvfile import TextTable
from .descriptor import DescriptorError, Field, Package, Resource
from .files import atomic_write, describe, fsync_dir, inside, read_bytes
from .formatting import sort_key_fn
from .typed import typed_frame
from .validation import InvalidPackage, require_valid

NAME = "jak-derm-data"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold
DOC_TIME = dt.datetime(*ZIP_TIME)  # the xlsx's created/modified properties
EXTRA_FILES = ["README.md", "LICENSE", "CITATION.cff", "CHANGELOG.md"]
PARQUET_COMPRESSION = "snappy"  # read by every Parquet reader (pandas, R arrow, DuckDB, Spark, polars)
SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "date": "TEXT"}
ARROW_TYPES = {"integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(), "date": pa.date32()}


class BuildError(Exception):
    pass


# ---------------------------------------------------------------- reading

def read_tables(package: Package, texts: dict[str, TextTable]) -> dict[str, pd.DataFrame]:
    """Every table typed from its schema (typed.typed_frame), rows in primary-key order.

    The package has validated (require_valid); still, a cell that typing would read as missing
    stops the build rather than leave the release without it."""
    tables: dict[str, pd.DataFrame] = {}
    problems: list[str] = []
    for name, res in package.resources.items():
        text = texts.get(name)
        if text is None:
            problems.append(f"{res.path}: not read")
            continue
        frame = typed_frame(text)
        for fld in res.fields:
            raw = text.columns.get(fld.name)
            if raw is None:
                continue
            lost = (~text.empty(fld.name)) & frame[fld.name].isna().to_numpy(bool)
            if lost.any():
                i = int(lost.nonzero()[0][0])
                problems.append(f"{res.path}:{int(text.lines[i])}: column {fld.name}: {raw[i].as_py()!r} is not a "
                                f"valid {fld.type}{' of the enum' if fld.enum else ''} ({int(lost.sum())} cell(s))")
        header = res.field_names
        cells = {n: (text.columns[n].to_pylist() if n in text.columns else [""] * text.n_rows) for n in header}
        key = sort_key_fn(res, header)
        order = sorted(range(text.n_rows), key=lambda i: key([cells[n][i] for n in header]))
        tables[name] = frame.iloc[order].reset_index(drop=True)
    if problems:
        raise BuildError("the package cannot be built as it is (run `python validate.py`):\n  " + "\n  ".join(problems))
    return tables


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _python_values(series: pd.Series, fld: Field) -> list:
    out: list[object] = []
    for v in series.astype(object):
        if _missing(v):
            out.append(None)
        elif fld.type == "integer":
            out.append(int(v))
        elif fld.type == "number":
            out.append(float(v))
        elif fld.type == "boolean":
            out.append(bool(v))
        elif fld.type == "date":
            out.append(v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v)))
        else:
            out.append(str(v))
    return out


# ---------------------------------------------------------------- writers

def _atomic_write(path: Path, data: bytes) -> None:
    atomic_write(path, data, 0o644)


def _zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the building machine
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def package_files(package: Package) -> list[str]:
    files = {"datapackage.json", *EXTRA_FILES}
    for res in package.resources.values():
        files.update([res.path, res.schema_path])
    outside = sorted(f"{f} ({why})" for f in files if (why := inside(package.root, f)))
    if outside:
        raise BuildError("file(s) of the release archive outside the package: " + ", ".join(outside))
    missing = sorted(f for f in files if not (package.root / f).is_file())
    if missing:
        raise BuildError("missing file(s) for the release archive: " + ", ".join(missing))
    return sorted(files)


def write_zip(package: Package, path: Path) -> None:
    _atomic_write(path, _zip_bytes([(f, read_bytes(package.root / f)) for f in package_files(package)]))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_table_sql(res: Resource) -> str:
    lines = []
    for fld in res.fields:
        not_null = " NOT NULL" if fld.required or fld.name in res.primary_key else ""
        lines.append(f"  {_q(fld.name)} {SQL_TYPES.get(fld.type, 'TEXT')}{not_null}")
    if res.primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(_q(k) for k in res.primary_key)})")
    for fk in res.foreign_keys:
        lines.append(f"  FOREIGN KEY ({', '.join(_q(k) for k in fk['fields'])}) REFERENCES "
                     f"{_q(fk['resource'])} ({', '.join(_q(k) for k in fk['ref_fields'])})")
    return f"CREATE TABLE {_q(res.name)} (\n" + ",\n".join(lines) + "\n)"


def write_sqlite(package: Package, tables: dict[str, pd.DataFrame], path: Path) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        _fill_sqlite(package, tables, tmp)
        os.chmod(tmp, 0o644)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fill_sqlite(package: Package, tables: dict[str, pd.DataFrame], tmp: Path) -> None:
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = OFF")  # a fresh file, written once: no journal file beside it
        con.execute("BEGIN")
        for name, res in package.resources.items():
            con.execute(create_table_sql(res))
            frame = tables[name]
            cols = [_python_values(frame[f.name], f) for f in res.fields]
            sql = (f"INSERT INTO {_q(name)} ({', '.join(_q(f.name) for f in res.fields)}) "
                   f"VALUES ({', '.join('?' for _ in res.fields)})")
            for row in zip(*cols, strict=True):
                # dates are stored as ISO text
                con.execute(sql, [v.isoformat() if isinstance(v, dt.date) else v for v in row])
        con.execute("COMMIT")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    if broken:
        shown = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, _ in broken[:5])
        raise BuildError(f"{len(broken)} foreign key(s) do not resolve ({shown}); run `python validate.py`")


def arrow_table(res: Resource, frame: pd.DataFrame) -> pa.Table:
    arrays, fields = [], []
    for fld in res.fields:
        values = _python_values(frame[fld.name], fld)
        if fld.enum and fld.type == "string":
            enum = [str(v) for v in fld.enum]
            index = {v: i for i, v in enumerate(enum)}
            array = pa.DictionaryArray.from_arrays(pa.array([None if v is None else index[v] for v in values],
                                                            pa.int32()), pa.array(enum, pa.string()))
        else:
            array = pa.array(values, ARROW_TYPES.get(fld.type, pa.string()))
        arrays.append(array)
        fields.append(pa.field(fld.name, array.type, nullable=True,
                               metadata={"description": fld.description} if fld.description else None))
    meta = {"table": res.name, "primary_key": json.dumps(res.primary_key)}
    if res.descriptor.get("description"):
        meta["description"] = res.descriptor["description"]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=meta))


def write_parquet(res: Resource, frame: pd.DataFrame, path: Path) -> None:
    buf = pa.BufferOutputStream()
    # Every option that shapes the bytes is set here, not left to the library's defaults. Parquet
    # holds no write time; column statistics (min, max, null count) are values of the data only.
    pq.write_table(arrow_table(res, frame), buf, compression=PARQUET_COMPRESSION, version="2.6",
                   use_dictionary=True, write_statistics=True, data_page_version="1.0",
                   store_schema=True, write_page_index=False)
    _atomic_write(path, buf.getvalue().to_pybytes())


def dictionary_rows(package: Package) -> list[list]:
    rows = []
    for res in package.resources.values():
        refs = {f: fk for fk in res.foreign_keys for f in fk["fields"]}
        for fld in res.fields:
            c = fld.constraints
            key = []
            if fld.name in res.primary_key:
                key.append("primary key")
            if fld.name in refs:
                fk = refs[fld.name]
                key.append(f"references {fk['resource']}.{fk['ref_fields'][fk['fields'].index(fld.name)]}")
            other = {k: v for k, v in c.items() if k not in ("required", "enum", "minimum", "maximum", "pattern")}
            rows.append([res.name, fld.name, fld.type, "yes" if fld.required else "no", "; ".join(key) or None,
                         ", ".join(str(v) for v in c["enum"]) if c.get("enum") else None,
                         c.get("minimum"), c.get("maximum"), c.get("pattern"),
                         json.dumps(other, ensure_ascii=False) if other else None, fld.description or None])
    return rows


DICTIONARY_HEADER = ["table", "field", "type", "required", "key", "enum", "minimum", "maximum", "pattern",
                     "other constraints", "description"]


def write_xlsx(package: Package, tables: dict[str, pd.DataFrame], path: Path) -> None:
    bold = Font(bold=True)
    wb = Workbook()

    def fill(ws, header: list[str], rows) -> None:
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        widths = [len(h) for h in header]
        for r, row in enumerate(rows, start=2):
            for c, v in enumerate(row, start=1):
                if v is None:
                    continue
                cell = ws.cell(row=r, column=c, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # a text starting with '=' stays text, never a formula
                widths[c - 1] = max(widths[c - 1], len(str(v)))
        for c, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(c)].width = min(max(w, 6), 60) + 2
        ws.freeze_panes = "A2"

    ws = wb.active
    ws.title = "dictionary"
    fill(ws, DICTIONARY_HEADER, dictionary_rows(package))
    for name, res in package.resources.items():
        frame = tables[name]
        cols = [_python_values(frame[f.name], f) for f in res.fields]
        fill(wb.create_sheet(name[:31]), res.field_names, zip(*cols, strict=True))

    props = wb.properties
    props.creator = NAME
    props.lastModifiedBy = None
    props.title = f"{package.descriptor.get('title', NAME)} ({package.descriptor.get('version', '')})"
    props.created = DOC_TIME
    props.modified = DOC_TIME
    # openpyxl's Workbook.save() stamps `modified` with the current time; its ExcelWriter does
    # not, and writes into our archive, which we then re-date entry by entry.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]  # openpyxl's order, kept
    _atomic_write(path, _zip_bytes(entries))


def sha256sums(out: Path, files: list[Path]) -> str:
    lines = []
    for rel in sorted(p.relative_to(out).as_posix() for p in files):
        lines.append(f"{hashlib.sha256((out / rel).read_bytes()).hexdigest()}  {rel}\n")
    return "".join(lines)


# ---------------------------------------------------------------- command

VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}")
RELEASE_FILE = re.compile(re.escape(NAME) + r"-" + VERSION.pattern + r"\.(zip|sqlite|xlsx)")
STAGING = ".jakderm-build-"


def check_version(version: object) -> str:
    """The version as a file-name part: letters, digits, '.', '+', '_', '-', no '..'."""
    if not isinstance(version, str) or not version:
        raise BuildError("datapackage.json has no \"version\"")
    if not VERSION.fullmatch(version) or ".." in version:
        raise BuildError(f"datapackage.json's version {version!r} cannot be part of a file name: use letters, "
                         "digits, '.', '+', '_' and '-' only (such as 0.2.0)")
    return version


def release_entries(out: Path) -> tuple[list[str], list[str]]:
    """(release files, anything else) in OUT, looked at without following a link or leaving OUT."""
    ours: list[str] = []
    other: list[str] = []
    with os.scandir(out) as it:
        for entry in it:
            if entry.name == "SHA256SUMS" and entry.is_file(follow_symlinks=False):
                ours.append(entry.name)
            elif RELEASE_FILE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                ours.append(entry.name)
            elif entry.name == "parquet" and entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as sub:
                    for e in sub:
                        (ours if e.name.endswith(".parquet") and e.is_file(follow_symlinks=False)
                         else other).append(f"parquet/{e.name}")
            elif entry.name.startswith(STAGING):
                continue  # another build's staging folder, at work now
            else:
                other.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    return sorted(ours), sorted(other)


def check_out(out: Path) -> None:
    """OUT is a new folder, an empty one, or a previous release; never a file, a link, or a
    folder holding anything else (a build writes and lists there)."""
    if out.is_symlink():
        raise BuildError(f"--out {out} is a symbolic link: give the folder itself")
    if not out.exists():
        return
    if not out.is_dir():
        raise BuildError(f"--out {out} is a file, not a folder")
    _, other = release_entries(out)
    if other:
        shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
        raise BuildError(f"--out {out} holds files that are not a release ({shown}): give a new or empty folder, "
                         "or a previous release's")


def build(path: str | Path = ".", out: str | Path = "dist") -> list[Path]:
    """Build every release file into `out`; returns their paths (SHA256SUMS last)."""
    out = Path(out)
    check_out(out)
    package, texts = require_valid(Path(path), "jakderm build")
    version = check_version(package.descriptor.get("version"))
    tables = read_tables(package, texts)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    check_out(out)  # again: it may have been created or filled meanwhile
    stage = Path(tempfile.mkdtemp(prefix=STAGING, dir=out))
    done = False
    try:
        (stage / "parquet").mkdir()
        stem = f"{NAME}-{version}"
        names = [f"{stem}.zip", f"{stem}.sqlite", f"{stem}.xlsx"]
        write_zip(package, stage / names[0])
        write_sqlite(package, tables, stage / names[1])
        write_xlsx(package, tables, stage / names[2])
        for name, res in package.resources.items():
            write_parquet(res, tables[name], stage / "parquet" / f"{name}.parquet")
            names.append(f"parquet/{name}.parquet")
        _atomic_write(stage / "SHA256SUMS", sha256sums(stage, [stage / n for n in names]).encode("utf-8"))
        names.append("SHA256SUMS")
        # Every file is complete: now move them in, SHA256SUMS last (it names the others).
        (out / "parquet").mkdir(exist_ok=True)
        if (out / "parquet").is_symlink():
            raise BuildError(f"{out / 'parquet'} is a symbolic link")
        for n in names:
            os.replace(stage / n, out / n)
        fsync_dir(out / "parquet")
        fsync_dir(out)
        done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if created and not done:  # a failed build leaves no folder it made (rmdir: only if empty)
            for folder in (out / "parquet", out):
                try:
                    folder.rmdir()
                except OSError:
                    pass
    return [out / n for n in names]


def build_package(path: str | Path = ".", out: str | Path = "dist") -> int:
    try:
        files = build(path, out)
    except DescriptorError as exc:
        print(f"datapackage.json: {exc}", file=sys.stderr)
        return 2
    except InvalidPackage as exc:
        if exc.report.fatal:
            print(f"datapackage.json: {exc.report.errors[0].message}", file=sys.stderr)
            return 2
        print(str(exc), file=sys.stderr)
        return 1
    except BuildError as exc:
        print(f"jakderm build: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"jakderm build: cannot write the release into {out}: {describe(exc)}{where}; nothing was changed "
              "there", file=sys.stderr)
        return 1
    out = Path(out)
    for f in files:
        print(f"wrote {f.relative_to(out).as_posix()} ({f.stat().st_size} bytes)")
    written = {f.relative_to(out).as_posix() for f in files}
    stale = [n for n in release_entries(out)[0] if n not in written]
    if stale:
        print(f"note: {out} also holds files this build did not write (not in SHA256SUMS): {', '.join(stale)}")
    return 0
