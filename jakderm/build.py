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
the zip keep it. A cell that its schema's type cannot hold stops the build (no value is dropped
silently): run `python validate.py` first.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import os
import sqlite3
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .csvfile import READ_INCOMPLETE, read_text_table
from .descriptor import DescriptorError, Field, Package, Resource, load_package
from .formatting import sort_key_fn
from .report import Report
from .typed import typed_frame

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

def read_tables(package: Package) -> dict[str, pd.DataFrame]:
    """Every table typed from its schema (typed.typed_frame), rows in primary-key order.

    Raises BuildError if a file cannot be read in full or a cell does not fit its type or enum
    (typed_frame would read it as missing: a release must not lose a value quietly)."""
    report = Report()
    tables: dict[str, pd.DataFrame] = {}
    problems: list[str] = []
    for name, res in package.resources.items():
        text = read_text_table(package.root, res, report)
        if text is None:
            continue
        frame = typed_frame(text)
        for fld in res.fields:
            raw = text.columns.get(fld.name)
            if raw is None:
                continue
            given = [c != "" for c in raw.to_pylist()]
            lost = [i for i, (g, v) in enumerate(zip(given, frame[fld.name])) if g and _missing(v)]
            if lost:
                i = lost[0]
                problems.append(f"{res.path}:{int(text.lines[i])}: column {fld.name}: {raw[i].as_py()!r} is not a "
                                f"valid {fld.type}{' of the enum' if fld.enum else ''} ({len(lost)} cell(s))")
        header = res.field_names
        cells = {n: (text.columns[n].to_pylist() if n in text.columns else [""] * text.n_rows) for n in header}
        key = sort_key_fn(res, header)
        order = sorted(range(text.n_rows), key=lambda i: key([cells[n][i] for n in header]))
        tables[name] = frame.iloc[order].reset_index(drop=True)
    problems = [f"{f.file}:{f.line or ''} {f.rule}: {f.message}" for f in report.sorted() if f.rule in READ_INCOMPLETE] + problems
    if problems:
        raise BuildError("the package cannot be built as it is (run `python validate.py`):\n  " + "\n  ".join(problems))
    return tables


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _python_values(series: pd.Series, fld: Field) -> list:
    out = []
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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
    missing = sorted(f for f in files if not (package.root / f).is_file())
    if missing:
        raise BuildError("missing file(s) for the release archive: " + ", ".join(missing))
    return sorted(files)


def write_zip(package: Package, path: Path) -> None:
    _atomic_write(path, _zip_bytes([(f, (package.root / f).read_bytes()) for f in package_files(package)]))


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
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
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
            for row in zip(*cols):
                # dates are stored as ISO text
                con.execute(sql, [v.isoformat() if isinstance(v, dt.date) else v for v in row])
        con.execute("COMMIT")
        broken = con.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        con.close()
    if broken:
        tmp.unlink(missing_ok=True)
        shown = ", ".join(f"{t} rowid {r} -> {p}" for t, r, p, _ in broken[:5])
        raise BuildError(f"{len(broken)} foreign key(s) do not resolve ({shown}); run `python validate.py`")
    os.replace(tmp, path)


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
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.writer.excel import ExcelWriter

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
        fill(wb.create_sheet(name[:31]), res.field_names, zip(*cols))

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

def build(path: str | Path = ".", out: str | Path = "dist") -> list[Path]:
    """Build every release file into `out`; returns their paths (SHA256SUMS last)."""
    package = load_package(Path(path), Report())
    version = package.descriptor.get("version")
    if not isinstance(version, str) or not version:
        raise BuildError("datapackage.json has no \"version\"")
    tables = read_tables(package)
    out = Path(out)
    (out / "parquet").mkdir(parents=True, exist_ok=True)
    stem = f"{NAME}-{version}"
    written = [out / f"{stem}.zip", out / f"{stem}.sqlite", out / f"{stem}.xlsx"]
    write_zip(package, written[0])
    write_sqlite(package, tables, written[1])
    write_xlsx(package, tables, written[2])
    for name, res in package.resources.items():
        p = out / "parquet" / f"{name}.parquet"
        write_parquet(res, tables[name], p)
        written.append(p)
    sums = out / "SHA256SUMS"
    _atomic_write(sums, sha256sums(out, written).encode("utf-8"))
    return written + [sums]


def build_package(path: str | Path = ".", out: str | Path = "dist") -> int:
    try:
        files = build(path, out)
    except DescriptorError as exc:
        print(f"datapackage.json: {exc}", file=sys.stderr)
        return 2
    except BuildError as exc:
        print(f"jakderm build: {exc}", file=sys.stderr)
        return 1
    out = Path(out)
    for f in files:
        print(f"wrote {f.relative_to(out).as_posix()} ({f.stat().st_size} bytes)")
    stale = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                   if p.is_file() and p not in files)
    if stale:
        print(f"note: {out} also holds files this build did not write (not in SHA256SUMS): {', '.join(stale)}")
    return 0
