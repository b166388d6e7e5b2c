"""The catalogue of hostile input: what an attacker or a careless contributor can put in a pull
request, and the one finding the validator must give for it.

Like corruptions.py, each entry edits a copy of the package (pkgtools.Pkg, in tmp/pkg) and returns
where the validator must point: (file, line, column, rule), plus findings that must still be
reported in the same run (`also`: a hostile file must not hide the rest, or an independent fact
the same edit breaks). The two are the complete set of errors the run gives: anything more is a
follow-on finding, and a bug. Text that must never appear in the output is `secret` (what a file
outside the package holds). test_hostile.py runs the
catalogue through `validate.py --format json` and checks that no file, inside or outside the
package, changed and no temporary file remains.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from corruptions import ACT_AE, ACT_ARM, ACT_EASI, OUT, PBO_EASI, Expect

SECRET = "ghp_SECRET0123456789abcdefTOKEN"  # what a credentials file outside the package holds


@dataclass(frozen=True)
class Outcome:
    expect: Expect
    exit: int = 1
    also: tuple[Expect, ...] = ()  # the other errors of the same run: with `expect`, all of them
    secret: str | None = None  # text that must appear nowhere in the output
    one_cell: bool = True  # no other finding at the same line and column


@dataclass(frozen=True)
class Hostile:
    name: str
    cls: str  # the class of hostile input (issue 22's list)
    apply: Callable  # (pkg) -> Outcome
    needs: str = ""  # "fifo", "non-root": skipped where the system cannot make the case


def _set(pkg, table, key, column, value) -> Expect:
    return Expect(f"data/{table}.csv", pkg.set(table, key, column, value), column, "")


def _cell(cls, table, key, column, value, rule, name=None):
    def apply(pkg):
        e = _set(pkg, table, key, column, value)
        return Outcome(Expect(e.file, e.line, column, rule))
    return Hostile(name or f"{table}.{column}={value[:40]!r}", cls, apply)


def _outside(pkg, name="outside.csv") -> Path:
    """A file outside the package (next to it), holding a secret on its first line."""
    p = pkg.root.parent / name
    p.write_text(f"{SECRET},x\n1,2\n", encoding="utf-8")
    return p


def _descriptor(pkg) -> dict:
    return json.loads((pkg.root / "datapackage.json").read_text(encoding="utf-8"))


def _put_descriptor(pkg, d) -> None:
    (pkg.root / "datapackage.json").write_text(json.dumps(d, indent=2) + "\n", encoding="utf-8")


def _resource(d, name) -> dict:
    return next(r for r in d["resources"] if r["name"] == name)


def _another_error(pkg) -> Expect:
    """A plain error elsewhere, which a hostile file must not hide."""
    return Expect("data/arms.csv", pkg.set("arms", ACT_ARM, "route", "inhaled"), "route", "enum")


def _outcome_error(pkg) -> Expect:
    return Expect(OUT, pkg.set("outcomes", PBO_EASI, "population", "everyone"), "population", "enum")


# --- 1. values a loader or a build could only mangle --------------------------------------------

MANGLED = [
    _cell("mangled", "sources", "example-2099-trial", "accessed", "2021-02-30", "type", "impossible date"),
    _cell("mangled", "sources", "example-2099-trial", "accessed", "2021-13-01", "type", "month 13"),
    _cell("mangled", "outcomes", PBO_EASI, "percent", "inf", "type", "infinite percent"),
    _cell("mangled", "outcomes", PBO_EASI, "percent", "NaN", "type", "NaN percent"),
    _cell("mangled", "outcomes", PBO_EASI, "percent", "1e999", "type", "percent beyond float64"),
    _cell("mangled", "outcomes", PBO_EASI, "responders", "99999999999999999999", "type", "integer beyond int64"),
    _cell("mangled", "outcomes", PBO_EASI, "responders", "9" * 5000, "type", "5000-digit integer"),
    _cell("mangled", "outcomes", PBO_EASI, "note", "before\x00after", "control-character", "NUL in a note"),
    _cell("mangled", "outcomes", PBO_EASI, "note", "red \x1b[31mtext", "control-character", "ESC in a note"),
    _cell("mangled", "outcomes", PBO_EASI, "note", "a\ttab inside", "control-character", "tab in a note"),
    _cell("mangled", "outcomes", PBO_EASI, "locator", "Table\x852", "control-character", "C1 control in a locator"),
    _cell("mangled", "outcomes", PBO_EASI, "note", "x" * 40_000, "cell-too-long", "40,000-character note"),
]


def _huge_cell(pkg):
    """A 200 KB note with commas and quotes: one finding at that cell, every other still found."""
    e = _set(pkg, "outcomes", PBO_EASI, "note", ('He said "a, b, c", then ' * 9000)[:200_000])
    other = _another_error(pkg)
    return Outcome(Expect(OUT, e.line, "note", "cell-too-long"), also=(other,))


MANGLED.append(Hostile("200 KB cell with commas and quotes", "mangled", _huge_cell))

# --- 2. formula injection (the OWASP list) -------------------------------------------------------

def _carriage_return(pkg):
    """A formula after a carriage return inside a quoted cell: the CR never reaches a cell (it is a
    line break to every reader), so the row is reported as broken across lines; the file's CR line
    end is a fact of its own."""
    line = pkg.set("outcomes", PBO_EASI, "note", "XCRX=1+1")
    f = pkg.path("outcomes")
    f.write_bytes(f.read_bytes().replace(b"XCRX=1+1", b'"\r=1+1"'))
    return Outcome(Expect(OUT, line, None, "line-break-in-cell"), also=(Expect(OUT, line, None, "line-ends"),),
                   one_cell=False)


FORMULAS = [
    Hostile("formula after a carriage return", "formula", _carriage_return),
    _cell("formula", "outcomes", PBO_EASI, "note", "\t=cmd|' /C calc'!A0", "formula-injection", "formula after a tab"),
    _cell("formula", "outcomes", PBO_EASI, "note", "   =1+1", "formula-injection", "formula after spaces"),
    _cell("formula", "outcomes", PBO_EASI, "note", "\tplain text", "formula-injection", "leading tab"),
    _cell("formula", "outcomes", PBO_EASI, "note", "-2+3+cmd|' /C calc'!A0", "formula-injection", "leading minus"),
    _cell("formula", "outcomes", PBO_EASI, "locator", "@SUM(A1:A9)", "formula-injection", "leading @"),
    _cell("formula", "outcomes", PBO_EASI, "analysed", "-5", "minimum", "negative number is no formula"),
]

# --- 3. paths outside the package ----------------------------------------------------------------


def _path(value_of):
    def apply(pkg):
        outside = _outside(pkg)
        d = _descriptor(pkg)
        _resource(d, "arms")["path"] = value_of(pkg, outside)
        _put_descriptor(pkg, d)
        return Outcome(Expect("datapackage.json", None, "path", "descriptor"), also=(_outcome_error(pkg),),
                       secret=SECRET)
    return apply


def _symlink_out(pkg):
    outside = _outside(pkg)
    pkg.path("arms").unlink()
    pkg.path("arms").symlink_to(outside)
    return Outcome(Expect("datapackage.json", None, "path", "descriptor"), secret=SECRET)


def _symlinked_folder(pkg):
    outside = pkg.root.parent / "elsewhere"
    outside.mkdir()
    (outside / "arms.csv").write_text(f"{SECRET}\n", encoding="utf-8")
    d = _descriptor(pkg)
    _resource(d, "arms")["path"] = "linked/arms.csv"
    _put_descriptor(pkg, d)
    (pkg.root / "linked").symlink_to(outside)
    return Outcome(Expect("datapackage.json", None, "path", "descriptor"), secret=SECRET)


def _schema_outside(pkg):
    outside = pkg.root.parent / "schema.json"
    outside.write_text(json.dumps({"fields": [{"name": SECRET}]}), encoding="utf-8")
    d = _descriptor(pkg)
    _resource(d, "arms")["schema"] = "../schema.json"
    _put_descriptor(pkg, d)
    return Outcome(Expect("datapackage.json", None, "schema", "descriptor"), secret=SECRET)


PATHS = [
    Hostile("resource path ../outside.csv", "paths", _path(lambda pkg, o: "../outside.csv")),
    Hostile("resource path absolute", "paths", _path(lambda pkg, o: str(o))),
    Hostile("resource path data/../../outside.csv", "paths", _path(lambda pkg, o: "data/../../outside.csv")),
    Hostile("resource path a URL", "paths", _path(lambda pkg, o: "https://example.org/arms.csv")),
    Hostile("resource path with backslashes", "paths", _path(lambda pkg, o: "..\\outside.csv")),
    Hostile("resource file a symlink leaving the package", "paths", _symlink_out),
    Hostile("resource folder a symlink leaving the package", "paths", _symlinked_folder),
    Hostile("schema path ../schema.json", "paths", _schema_outside),
]

# --- 4. problems that used to crash: each a finding, the rest still checked -----------------------


def _schema_edit(edit, column=None):
    def apply(pkg):
        path = pkg.root / "schemas" / "outcomes.json"
        schema = json.loads(path.read_text(encoding="utf-8"))
        text = edit(schema)
        path.write_text(text if isinstance(text, str) else json.dumps(schema), encoding="utf-8")
        return Outcome(Expect("schemas/outcomes.json", None, column, "schema-invalid"), also=(_another_error(pkg),))
    return apply


def _field(schema, name):
    return next(f for f in schema["fields"] if f["name"] == name)


def _bad_regex(s):
    _field(s, "outcome_id")["constraints"]["pattern"] = "([a-z"


def _fields_a_string(s):
    s["fields"] = "outcome_id,arm_id"


def _key_naming_nothing(s):
    s["primaryKey"] = ["no_such_field"]


def _minimum_a_string(s):
    _field(s, "responders")["constraints"]["minimum"] = "0"


def _constraints_a_list(s):
    _field(s, "responders")["constraints"] = ["minimum", 0]


def _enum_a_string(s):
    _field(s, "population")["constraints"]["enum"] = "ITT FAS"


def _foreign_key_without_reference(s):
    s["foreignKeys"][0].pop("reference")


def _field_not_an_object(s):
    s["fields"][1] = "arm_id"


def _deep_schema(s):
    return "[" * 100_000 + "]" * 100_000


def _fifo(pkg):
    pkg.path("arms").unlink()
    os.mkfifo(pkg.path("arms"))
    return Outcome(Expect("data/arms.csv", None, None, "file-unreadable"), also=(_outcome_error(pkg),))


def _directory(pkg):
    pkg.path("arms").unlink()
    pkg.path("arms").mkdir()
    return Outcome(Expect("data/arms.csv", None, None, "file-unreadable"), also=(_outcome_error(pkg),))


def _unreadable(pkg):
    pkg.path("arms").chmod(0)
    return Outcome(Expect("data/arms.csv", None, None, "file-unreadable"))


def _duplicate_name(pkg):
    """A second resource named outcomes, over another file: an error, and both entries checked."""
    d = _descriptor(pkg)
    twin = dict(_resource(d, "outcomes"), path="data/outcomes-2.csv")
    d["resources"].append(twin)
    _put_descriptor(pkg, d)
    text = pkg.path("outcomes").read_text(encoding="utf-8").replace(",FAS,", ",everyone,", 1)
    (pkg.root / "data" / "outcomes-2.csv").write_text(text, encoding="utf-8")
    line = next(i for i, ln in enumerate(text.split("\n"), start=1) if ",everyone," in ln)
    return Outcome(Expect("datapackage.json", None, "name", "descriptor"),
                   also=(Expect("data/outcomes-2.csv", line, "population", "enum"),))


def _resource_not_an_object(pkg):
    d = _descriptor(pkg)
    d["resources"].append("data/x.csv")
    _put_descriptor(pkg, d)
    return Outcome(Expect("datapackage.json", None, None, "descriptor"), also=(_another_error(pkg),))


def _deep_descriptor(pkg):
    (pkg.root / "datapackage.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    return Outcome(Expect("datapackage.json", None, None, "descriptor"), exit=2)


CRASHES = [
    Hostile("schema pattern not a regular expression", "crash", _schema_edit(_bad_regex, "outcome_id")),
    Hostile("schema fields a string", "crash", _schema_edit(_fields_a_string)),
    Hostile("schema primaryKey naming nothing", "crash", _schema_edit(_key_naming_nothing, "no_such_field")),
    Hostile("schema minimum a string", "crash", _schema_edit(_minimum_a_string, "responders")),
    Hostile("schema constraints a list", "crash", _schema_edit(_constraints_a_list, "responders")),
    Hostile("schema enum a string", "crash", _schema_edit(_enum_a_string, "population")),
    Hostile("schema foreign key without reference", "crash", _schema_edit(_foreign_key_without_reference)),
    Hostile("schema field not an object", "crash", _schema_edit(_field_not_an_object)),
    Hostile("schema 100,000-deep JSON", "crash", _schema_edit(_deep_schema)),
    Hostile("datapackage.json 100,000-deep JSON", "crash", _deep_descriptor),
    Hostile("FIFO in place of a file", "crash", _fifo, "fifo"),
    Hostile("directory in place of a file", "crash", _directory),
    Hostile("unreadable file", "crash", _unreadable, "non-root"),
    Hostile("resource name listed twice", "crash", _duplicate_name),
    Hostile("resource entry not an object", "crash", _resource_not_an_object),
]

# --- 5. what a spreadsheet does to a file ---------------------------------------------------------


def _delimited(delimiter):
    def apply(pkg):
        text = pkg.path("outcomes").read_text(encoding="utf-8")
        import csv
        import io
        rows = list(csv.reader(io.StringIO(text)))
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
        pkg.path("outcomes").write_text(out.getvalue(), encoding="utf-8")
        return Outcome(Expect(OUT, 1, None, "delimiter"))
    return apply


SPREADSHEET = [
    Hostile("semicolon-delimited file", "spreadsheet", _delimited(";")),
    Hostile("tab-delimited file", "spreadsheet", _delimited("\t")),
]

CATALOGUE: list[Hostile] = MANGLED + FORMULAS + PATHS + CRASHES + SPREADSHEET

# Input that looks hostile and is legitimate: it must validate.


def _long_note_within_limit(pkg):
    pkg.set("outcomes", PBO_EASI, "note", ('Quoted "x", with commas, ' * 2000)[:32_767])


def _negative_number_in_text(pkg):
    pkg.set("outcomes", PBO_EASI, "note", "-0.5")


def _html_in_a_note(pkg):
    pkg.set("outcomes", PBO_EASI, "note", "see <b>Table 2</b> `and` | pipes")


def _symlink_inside(pkg):
    real = pkg.root / "data" / "arms-real.csv"
    pkg.path("arms").rename(real)
    pkg.path("arms").symlink_to("arms-real.csv")


LEGITIMATE = [_long_note_within_limit, _negative_number_in_text, _html_in_a_note, _symlink_inside]

__all__ = ["ACT_AE", "ACT_EASI", "CATALOGUE", "LEGITIMATE", "SECRET", "Hostile", "Outcome"]
