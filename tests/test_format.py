"""`python -m jakderm format`: the canonical form, with every value round-tripped."""
import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jakderm.descriptor import Field, Resource
from jakderm.formatting import canonical_text
from pkgtools import ROOT, run_cli

RES = Resource(
    name="t", path="data/t.csv", schema_path="schemas/t.json",
    fields=[Field("id", "string", "", {}), Field("n", "integer", "", {}), Field("text", "string", "", {})],
    primary_key=["id"], foreign_keys=[], descriptor={},
)
# Any text a cell may hold in the canonical form: no line breaks, anything else goes.
cell = st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12)
special = st.sampled_from(["", "0", "007", "1,5", 'say "hi"', '"', ",", "é", "日本", "=1+1", " lead", "trail ", "\t"])
cells = st.one_of(cell, special)


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _messy(header, rows, quote_all: bool, crlf: bool, bom: bool) -> str:
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
                   lineterminator="\r\n" if crlf else "\n")
    w.writerow(header)
    w.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.text(alphabet="abc-/09", min_size=1, max_size=6), cells, cells),
                     max_size=12, unique_by=lambda r: r[0]),
       quote_all=st.booleans(), crlf=st.booleans(), bom=st.booleans(), reorder=st.booleans())
def test_format_round_trips_every_value_and_is_idempotent(rows, quote_all, crlf, bom, reorder):
    header = ["id", "n", "text"]
    rows = [list(r) for r in rows]
    if reorder:  # columns out of schema order are put back in order, values follow their column
        header = ["text", "id", "n"]
        rows = [[r[2], r[0], r[1]] for r in rows]
    text = _messy(header, rows, quote_all, crlf, bom)
    once = canonical_text(text, RES)
    parsed = _parse(once)
    assert parsed[0] == ["id", "n", "text"]
    by_id_before = {r[header.index("id")]: {h: r[i] for i, h in enumerate(header)} for r in rows}
    by_id_after = {r[0]: dict(zip(parsed[0], r, strict=True)) for r in parsed[1:]}
    assert by_id_after == by_id_before
    assert [r[0] for r in parsed[1:]] == sorted(by_id_before)  # primary-key order, by code point
    assert canonical_text(once, RES) == once
    assert not once.startswith("\ufeff") and "\r\n" not in once.replace('"\r\n"', "")


def test_numeric_keys_sort_numerically():
    res = Resource("t", "data/t.csv", "s", [Field("k", "integer", "", {}), Field("v", "string", "", {})], ["k"], [], {})
    out = canonical_text("k,v\n10,a\n9,b\n100,c\n", res)
    assert out == "k,v\n9,b\n10,a\n100,c\n"


def test_format_refuses_a_file_it_cannot_read_unambiguously(tmp_path):
    from pkgtools import Pkg
    pkg = Pkg(tmp_path)
    bad = pkg.path("outcomes")
    bad.write_bytes(bad.read_bytes() + b"only,three,cells\n")
    before = bad.read_bytes()
    out = run_cli("format", str(pkg.root), cwd=ROOT)
    assert out.returncode == 1 and "left unchanged" in out.stdout
    assert bad.read_bytes() == before


def test_format_fixes_what_validate_reports_and_nothing_else(tmp_path):
    from pkgtools import Pkg, show
    pkg = Pkg(tmp_path)
    header, rows = pkg.read("outcomes")
    values = sorted(tuple(sorted(r.items())) for r in rows)
    messy = _messy(header, list(reversed([[r[h] for h in header] for r in rows])), True, True, True)
    pkg.path("outcomes").write_text(messy, encoding="utf-8", newline="")
    assert not pkg.validate().valid
    out = run_cli("format", str(pkg.root), cwd=ROOT)
    assert out.returncode == 0, out.stdout
    report = pkg.validate()
    assert report.valid, show(report)
    assert sorted(tuple(sorted(r.items())) for r in pkg.read("outcomes")[1]) == values
    check = run_cli("format", "--check", str(pkg.root), cwd=ROOT)
    assert check.returncode == 0 and "canonical" in check.stdout


def test_shipped_files_are_canonical():
    out = run_cli("format", "--check", str(ROOT), cwd=ROOT)
    assert out.returncode == 0, out.stdout
