"""`python -m jakderm build`: the release files, built twice from the repository into temporary
folders (in a process of its own, conftest.release, and in this one), must be byte-identical,
hashed in SHA256SUMS, and hold every table with its types."""
from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pkgtools import run_cli

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTOR = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
VERSION = DESCRIPTOR["version"]
STEM = f"jak-derm-data-{VERSION}"
RESOURCES = {r["name"]: r for r in DESCRIPTOR["resources"]}
SCHEMAS = {name: json.loads((ROOT / r["schema"]).read_text(encoding="utf-8")) for name, r in RESOURCES.items()}


def csv_rows(name: str) -> int:
    with (ROOT / RESOURCES[name]["path"]).open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f)) - 1


def build(out: Path) -> subprocess.CompletedProcess:
    done = run_cli("build", str(ROOT), "--out", str(out), cwd=out.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dist(release) -> Path:
    return release  # built by `python -m jakderm build` in its own process (conftest.release)


def test_build_is_reproducible_and_hashed(dist, tmp_path):
    again = tmp_path / "dist"
    build(again)
    first, second = files_under(dist), files_under(again)
    assert sorted(first) == sorted(second)
    for path in first:
        assert first[path] == second[path], f"{path} differs between two builds"

    expected = {f"{STEM}.zip", f"{STEM}.sqlite", f"{STEM}.xlsx", "SHA256SUMS",
                *(f"parquet/{name}.parquet" for name in RESOURCES)}
    assert set(first) == expected
    lines = first["SHA256SUMS"].decode("utf-8").splitlines()
    listed = [line.split("  ", 1)[1] for line in lines]
    assert listed == sorted(listed) == sorted(expected - {"SHA256SUMS"})
    for line in lines:
        digest, path = line.split("  ", 1)
        assert digest == hashlib.sha256(first[path]).hexdigest(), path


def test_zip_holds_the_package_with_fixed_dates(dist):
    with zipfile.ZipFile(dist / f"{STEM}.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        expected = {"datapackage.json", "README.md", "LICENSE", "CITATION.cff", "CHANGELOG.md",
                    *(r["path"] for r in RESOURCES.values()), *(r["schema"] for r in RESOURCES.values())}
        assert set(names) == expected
        for name in names:
            assert zf.read(name) == (ROOT / name).read_bytes(), name


def test_sqlite_tables_types_keys(dist):
    con = sqlite3.connect(dist / f"{STEM}.sqlite")
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == set(RESOURCES)
        sql_type = {"integer": "INTEGER", "number": "REAL", "date": "TEXT", "string": "TEXT", "boolean": "INTEGER"}
        for name, schema in SCHEMAS.items():
            assert con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == csv_rows(name), name
            info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
            assert [(c[1], c[2]) for c in info] == [(f["name"], sql_type[f["type"]]) for f in schema["fields"]]
            pk = schema.get("primaryKey", [])
            pk = [pk] if isinstance(pk, str) else pk
            assert [c[1] for c in sorted((c for c in info if c[5]), key=lambda c: c[5])] == pk, name
            fks = {(r[2], r[3], r[4]) for r in con.execute(f'PRAGMA foreign_key_list("{name}")')}
            assert fks == {(fk["reference"]["resource"], f, rf) for fk in schema.get("foreignKeys", [])
                           for f, rf in zip(fk["fields"], fk["reference"]["fields"], strict=True)}, name
            # rows in primary-key order: the CSV files are in that order already
            ids = [r[0] for r in con.execute(f'SELECT "{pk[0]}" FROM "{name}" ORDER BY rowid')]
            with (ROOT / RESOURCES[name]["path"]).open(encoding="utf-8", newline="") as f:
                assert ids == [r[pk[0]] for r in csv.DictReader(f)], name
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        # dates are ISO text, numbers typed
        dates = con.execute('SELECT DISTINCT typeof("date") FROM approvals').fetchall()
        assert dates in ([], [("text",)])
    finally:
        con.close()


def test_parquet_types_and_rows(dist):
    arrow_type = {"integer": pa.int64(), "number": pa.float64(), "date": pa.date32(), "string": pa.string()}
    for name, schema in SCHEMAS.items():
        table = pq.read_table(dist / "parquet" / f"{name}.parquet")
        assert table.num_rows == csv_rows(name), name
        assert table.schema.names == [f["name"] for f in schema["fields"]]
        for fld in schema["fields"]:
            got = table.schema.field(fld["name"]).type
            enum = fld.get("constraints", {}).get("enum")
            if enum:
                assert got == pa.dictionary(pa.int32(), pa.string()), (name, fld["name"])
                # the dictionary is the whole vocabulary, in schema order, used or not
                assert table.column(fld["name"]).chunk(0).dictionary.to_pylist() == [str(v) for v in enum]
            else:
                assert got == arrow_type[fld["type"]], (name, fld["name"], got)
        meta = pq.ParquetFile(dist / "parquet" / f"{name}.parquet").metadata
        assert meta.row_group(0).column(0).compression == "SNAPPY"


def test_xlsx_sheets_and_rows(dist):
    import openpyxl

    path = dist / f"{STEM}.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["dictionary", *RESOURCES]
    for name in RESOURCES:
        ws = wb[name]
        assert ws.max_row == csv_rows(name) + 1, name
        assert [c.value for c in ws[1]] == [f["name"] for f in SCHEMAS[name]["fields"]]
        assert all(c.font.b for c in ws[1])
        assert ws.freeze_panes == "A2"
    dictionary = wb["dictionary"]
    assert [c.value for c in dictionary[1]][:4] == ["table", "field", "type", "required"]
    assert dictionary.max_row == 1 + sum(len(s["fields"]) for s in SCHEMAS.values())
    assert wb.properties.created == wb.properties.modified
    with zipfile.ZipFile(path) as zf:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
