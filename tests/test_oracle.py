"""frictionless, the Data Package standard's reference implementation, as the oracle of the Table
Schema layer: on every corruption of the catalogue, each error frictionless reports (file, row,
field) is reported by our validator too, at the same place; and where the catalogue plants a
Table Schema error, frictionless finds it where the catalogue says.

frictionless cannot state the cross-field and cross-table rules (rules.py), so the reverse does not
hold for them: those findings are ours alone.
"""
import frictionless
import pytest
from corruptions import CATALOGUE

from pkgtools import Pkg

# Our rule names for what frictionless calls a constraint or type error.
TABLE_SCHEMA_RULES = {"type", "required", "enum", "minimum", "maximum", "pattern", "unique", "primary-key",
                      "foreign-key"}


def frictionless_errors(root, table: str | None = None) -> set[tuple[str, int | None, str | None]]:
    """frictionless' errors in the whole package, or in one table (its foreign keys resolved against
    the package)."""
    if table is None:
        report = frictionless.validate(str(root / "datapackage.json"))
    else:
        report = frictionless.Package(str(root / "datapackage.json")).get_resource(table).validate()
    found = set()
    for task in report.tasks:
        path = task.place if task.place.startswith("data/") else f"data/{task.name}.csv"
        for error in task.errors:
            e = error.to_dict()
            found.add((path, e.get("rowNumber"), e.get("fieldName")))
    return found


def ours(report) -> set[tuple[str, int | None, str | None]]:
    return {(f.file, f.line, f.column) for f in report.errors}


@pytest.mark.parametrize("corruption", [c for c in CATALOGUE if c.rule in TABLE_SCHEMA_RULES],
                         ids=lambda c: c.name)
def test_we_report_what_frictionless_reports(tmp_path, corruption):
    pkg = Pkg(tmp_path)
    expect = corruption.apply(pkg)
    theirs = frictionless_errors(pkg.root, expect.file.removeprefix("data/").removesuffix(".csv"))
    assert theirs, f"frictionless finds nothing in {corruption.name}: the catalogue entry is not a Table Schema error"
    # frictionless names the row and field it found; a primary- or foreign-key error it reports on the row
    # (fieldName empty for some composite checks): compare on what it names
    ours_ = ours(pkg.validate())
    missing = [t for t in theirs if not any(o[0] == t[0] and o[1] == t[1] and (t[2] is None or o[2] == t[2])
                                            for o in ours_)]
    assert not missing, f"frictionless reports {missing}, validate.py does not (ours: {sorted(ours_, key=str)})"
    assert any(t[0] == expect.file and t[1] == expect.line for t in theirs), \
        f"frictionless does not find the planted error at {expect.file}:{expect.line} ({sorted(theirs, key=str)})"


def test_the_real_package_passes_both():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    assert frictionless_errors(root) == set()
