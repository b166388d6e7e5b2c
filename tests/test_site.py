"""`python -m jakderm site`: pages from the validated package, every text escaped, nothing fetched
from another host, refusal on invalid data; the Pages workflow; Datasette's metadata.
The real-browser checks are in test_browser.py; both read the site conftest.hostile_site generates."""
import hashlib
import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import yaml

from jakderm import site as site_mod
from jakderm.rows import read_rows, validated
from jakderm.serve import QUERIES, metadata
from pkgtools import ROOT, full_pkg, run_cli


def build(root, out):
    return run_cli("site", str(root), "--out", str(out))


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(path):
    p = Tags()
    p.feed(path.read_text(encoding="utf-8"))
    return p.tags


def test_every_page_says_what_an_empty_cell_means_and_uses_only_local_files(hostile_site):
    _, out = hostile_site
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "An empty cell means “not reported in the source read”" in text, page
        for tag, attrs in tags(page):
            for attr in ("src", "href"):
                value = attrs.get(attr) or ""
                if tag in ("script", "link", "img", "iframe", "source") and value:
                    assert not re.match(r"^[a-z]+:", value), (page, tag, value)  # nothing fetched at view time
        scripts = [a for t, a in tags(page) if t == "script"]
        assert len(scripts) <= 1 and all(a.get("src", "").endswith("filter.js") for a in scripts)
    assert {p.name for p in out.iterdir() if p.suffix in (".css", ".js")} == {"style.css", "filter.js"}
    assert (out / "style.css").stat().st_size < 8000 and (out / "filter.js").stat().st_size < 4000


def test_text_from_the_data_is_escaped(hostile_site):
    _, out = hostile_site
    page = (out / "trials" / "example-trial.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt; **bold**" in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "<img" not in page and "<script>document" not in page
    for page in (out / "trials" / "example-trial.html", out / "sources.html"):
        for _, attrs in tags(page):
            assert "onmouseover" not in attrs and "onerror" not in attrs, page
    sources = (out / "sources.html").read_text(encoding="utf-8")
    assert "Example &lt;b&gt;A&lt;/b&gt; &amp; co." in sources
    # a URL that would break out of its attribute is shown as text, not linked
    assert "https://example.org/x&quot;onmouseover=&quot;alert(1)" in sources
    assert 'href="https://example.org/x' not in sources


def test_the_trial_page_holds_every_figure_with_source_and_locator(hostile_site):
    pkg, out = hostile_site
    page = (out / "trials" / "example-trial.html").read_text(encoding="utf-8")
    for table, key in (("outcomes", "outcome_id"), ("adverse_events", "adverse_event_id")):
        _, rows = pkg.read(table)
        for r in [r for r in rows if r["arm_id"].startswith("example-trial/")]:
            row = re.search(rf'<tr class="figure" data-table="{table}" data-id="{re.escape(r[key])}">(.*?)</tr>',
                            page, re.S)
            assert row, r[key]
            assert f'href="../sources.html#{r["source_id"]}"' in row.group(1)
            assert f"<td>{r['locator']}</td>" in row.group(1)
    assert '<td class="num">42.0</td>' in page  # the percent as printed, with its decimal


def test_downloads_are_the_release_files_with_their_checksums(hostile_site):
    _, out = hostile_site
    sums = (out / "downloads" / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    page = (out / "downloads.html").read_text(encoding="utf-8")
    assert len(sums) >= 4
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256((out / "downloads" / name).read_bytes()).hexdigest() == digest
        assert digest in page and f'href="downloads/{name}"' in page


def test_home_has_version_licence_citation_totals_and_coverage(hostile_site):
    _, out = hostile_site
    home = (out / "index.html").read_text(encoding="utf-8")
    for expected in ("Version", "0.1.0", "Creative Commons Attribution 4.0", "How to cite",
                     "Randomized trials with every arm&#x27;s size", 'href="coverage.html"'):
        assert expected in home, expected
    coverage = (out / "coverage.html").read_text(encoding="utf-8")
    assert "Coverage statement" in coverage and "<strong>What was searched.</strong>" in coverage


def test_the_site_refuses_a_package_that_does_not_validate(tmp_path):
    pkg = full_pkg(tmp_path)
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "responders", "500")
    out = tmp_path / "site"
    result = build(pkg.root, out)
    assert result.returncode == 1
    assert "does not validate" in result.stderr and "data/outcomes.csv" in result.stderr
    assert result.stderr.startswith("jakderm site: the package does not validate ("), result.stderr
    assert not out.exists() and not list(tmp_path.glob(".site*"))


def test_the_site_replaces_only_its_own_output(tmp_path, hostile_site):
    pkg, written = hostile_site  # a site the command wrote (into a fresh folder)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    result = build(pkg.root, foreign)
    assert result.returncode == 1 and "not written by" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    out = tmp_path / "site"
    shutil.copytree(written, out)
    (out / "stale.html").write_text("old", encoding="utf-8")
    assert build(pkg.root, out).returncode == 0
    assert not (out / "stale.html").exists() and (out / "index.html").exists()


def fake_effects(root="."):
    return pd.DataFrame([{"trial_id": "example-trial", "endpoint_id": "easi-75", "timepoint_weeks": 16,
                          "population": "FAS", "imputation": "NRI", "subgroup": pd.NA,
                          "arm_id": "example-trial/abrocitinib-100mg", "control_arm_id": "example-trial/placebo",
                          "drug_id": "abrocitinib", "dose": 100.0, "dose_unit": "mg", "ai": 84, "n1i": 200, "ci": 12,
                          "n2i": 100, "counts_derived": False, "measure": "RR", "yi": 1.2528, "vi": 0.0661,
                          "estimate": 3.5, "ci_lower": 2.0, "ci_upper": 6.1}])


def test_forest_plots_when_effects_exist_and_a_clean_skip_otherwise(tmp_path, hostile_site, monkeypatch):
    pkg, _ = hostile_site
    monkeypatch.setattr(site_mod, "effects_function", lambda: None)
    plain = tmp_path / "plain"
    assert site_mod.generate(pkg.root, plain)["effects"].startswith("skipped")
    assert not (plain / "effects.html").exists()
    assert "<svg" not in (plain / "trials" / "example-trial.html").read_text(encoding="utf-8")
    monkeypatch.setattr(site_mod, "effects_function", lambda: fake_effects)
    summary = site_mod.generate(pkg.root, tmp_path / "with")
    assert summary["effects"] == "included: 1 comparisons"
    page = (tmp_path / "with" / "trials" / "example-trial.html").read_text(encoding="utf-8")
    assert '<svg class="forest"' in page and "3.50 [2.00, 6.10] 84/200 vs 12/100" in page
    assert "easi-75 · week 16 · FAS · NRI" in (tmp_path / "with" / "effects.html").read_text(encoding="utf-8")
    monkeypatch.setattr(site_mod, "effects_function", lambda: None)
    assert site_mod.generate(pkg.root, tmp_path / "without")["effects"].startswith("skipped")


def test_the_pages_workflow_builds_and_publishes_on_a_release_tag():
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "site.yml").read_text(encoding="utf-8"))
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
    assert on["push"]["tags"] == ["v*"]
    assert wf["permissions"]["pages"] == "write" and wf["permissions"]["id-token"] == "write"
    runs = " ".join(s.get("run", "") for s in wf["jobs"]["build"]["steps"])
    assert "validate.py" in runs and "jakderm site --out _site" in runs
    uses = [s.get("uses", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)


def test_datasette_metadata_comes_from_the_table_schemas():
    package, _ = validated(ROOT, "test")
    meta = metadata(package, read_rows(package))
    tables = meta["databases"]["jakderm"]["tables"]
    assert set(tables) == set(package.resources)
    for name, res in package.resources.items():
        assert tables[name]["description"] == res.descriptor["description"]
        for f in res.fields:
            assert tables[name]["columns"][f.name].startswith(f.description)
            if f.enum:
                assert "One of: " + ", ".join(f.enum) in tables[name]["columns"][f.name]
    assert "easi-75 = EASI-75" in tables["outcomes"]["columns"]["endpoint_id"]
    assert "any-ae = " in tables["adverse_events"]["columns"]["ae_term_id"]
    assert meta["license"] == "Creative Commons Attribution 4.0" and meta["license_url"].startswith("https://")
    assert "primary_endpoint_figures_by_drug" in meta["databases"]["jakderm"]["queries"]


def test_canned_queries_run_on_the_release_database(release):
    import sqlite3

    db = next(release.glob("*.sqlite"))
    con = sqlite3.connect(db)
    for name, q in QUERIES.items():
        params = {"trial_id": "breeze-ad1"} if ":trial_id" in q["sql"] else {}
        rows = con.execute(q["sql"], params).fetchall()
        assert isinstance(rows, list), name
    n = con.execute(QUERIES["primary_endpoint_figures_by_drug"]["sql"]).fetchall()
    wide = __import__("jakderm").analysis_table(ROOT)
    expected = wide[(wide.timepoint_weeks == wide.primary_timepoint_weeks) & wide.subgroup.isna()]
    assert len(n) == len(expected)


def test_ci_installs_debians_chromium_and_requires_the_browser_test():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get install -y -qq --no-install-recommends chromium chromium-driver" in script
    assert "export JAKDERM_REQUIRE_BROWSER=1" in script
    assert script.index("JAKDERM_REQUIRE_BROWSER") < script.index(".venv/bin/python -m pytest")
