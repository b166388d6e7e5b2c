"""The site in a real browser: Debian's Chromium, headless, driven by Selenium through Debian's
chromedriver, opening the generated pages from disk (file://): the site of the package with the
example trial whose notes hold HTML (conftest.hostile_site, shared with test_site.py), each page
opened once (the fixture `crawled`) and read in one script call where that is all a test needs.

Checks: every page is reachable from the home page and every internal link (and its #anchor)
resolves; no page logs a console error; each trial page shows every outcome and adverse-event
figure of that trial, as the package prints it, with its locator, a link to its source entry and
to the document itself, and its rule exception and note; the trial list's filter works; a note
holding HTML runs nothing. Screenshots of the home page and one
trial page are written to build/screenshots/ (not committed; JAKDERM_SCREENSHOTS overrides) for a
person to look at.

Skipped when Chromium or chromedriver is missing, unless JAKDERM_REQUIRE_BROWSER=1 (.ci/run sets
it, so that CI fails rather than skips).
"""
import csv
import os
import re
import shutil
import tempfile
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from jakderm import site as site_mod
from pkgtools import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("JAKDERM_SCREENSHOTS") or ROOT / "build" / "screenshots")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,1000"]


def _browser_available() -> bool:
    from importlib.util import find_spec
    return find_spec("selenium") is not None and Path(CHROMIUM).exists() and Path(DRIVER).exists()


if not _browser_available():
    if os.environ.get("JAKDERM_REQUIRE_BROWSER") == "1":
        raise RuntimeError("JAKDERM_REQUIRE_BROWSER=1 but Chromium, chromedriver or selenium is missing "
                           "(apt-get install chromium chromium-driver; pip install -e '.[test]')")
    pytest.skip("Chromium, chromedriver or selenium is not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def read(root: Path, table: str) -> list[dict]:
    with open(root / "data" / f"{table}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def site(hostile_site) -> Path:
    """The site of the package with the example trial, whose notes hold HTML (conftest.hostile_site)."""
    return hostile_site[1]


@pytest.fixture(scope="module")
def root(hostile_site) -> Path:
    """The package that site shows."""
    return hostile_site[0].root


@pytest.fixture(scope="module")
def driver():
    profile = tempfile.mkdtemp(prefix="jakderm-chromium-")
    opts = Options()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(DRIVER), options=opts)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]


def ids_in(path: Path) -> set[str]:
    import html
    return {html.unescape(m) for m in re.findall(r'\sid="([^"]*)"', path.read_text(encoding="utf-8"))}


# What a trial page shows, read in the browser in one call: each figure's row and each note's row
# by its data attributes, whether it is displayed (rendered with a size, not visibility: hidden),
# its rendered text, its number cells' text and its links' resolved addresses.
PAGE_FIGURES = """
const shown = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
                    && getComputedStyle(el).visibility !== 'hidden';
const figures = Array.from(document.querySelectorAll('tr.figure')).map(el => ({
  table: el.dataset.table, id: el.dataset.id, shown: shown(el), text: el.innerText,
  nums: Array.from(el.querySelectorAll('td.num, td.na')).map(td => td.innerText),
  links: Array.from(el.querySelectorAll('a')).map(a => a.href)}));
const notes = Array.from(document.querySelectorAll('tr[data-note-for]')).map(el => ({
  id: el.dataset.noteFor, shown: shown(el), text: el.innerText}));
return {figures: figures, notes: notes};
"""


@pytest.fixture(scope="module")
def crawled(site, driver) -> dict[str, dict]:
    """Every page reachable from the home page, opened once, breadth first: its console errors,
    the links on it (as the browser resolves them) and, on a trial page, its figures (PAGE_FIGURES)."""
    start = (site / "index.html").as_uri()
    queue, pages = deque([start]), {}
    trials = (site / "trials").as_uri() + "/"
    while queue:
        url = queue.popleft()
        driver.get(url)
        page = {"errors": console_errors(driver),
                "hrefs": driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"),
                "shown": driver.execute_script(PAGE_FIGURES) if url.startswith(trials) else None}
        pages[url] = page
        for href in page["hrefs"]:
            parts = urlsplit(href)
            target = Path(unquote(parts.path))
            if parts.scheme == "file" and target.suffix == ".html" and target.is_file():
                if (nxt := target.as_uri()) not in pages and nxt not in queue:
                    queue.append(nxt)
    return pages


def test_every_page_is_reachable_every_internal_link_resolves_and_no_console_error(site, root, crawled):
    problems = []
    ids_cache: dict[Path, set[str]] = {}
    is_file: dict[Path, bool] = {}
    for url, page in crawled.items():
        if page["errors"]:
            problems.append(f"{url}: console error(s) {page['errors']}")
        for href in page["hrefs"]:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https"):
                continue  # external: the document a figure was read from
            assert parts.scheme == "file", href
            target = Path(unquote(parts.path))
            if target not in is_file:
                is_file[target] = target.is_file()
            if not is_file[target]:
                problems.append(f"{url}: link to a missing file {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in ids_cache:
                    ids_cache[target] = ids_in(target)
                known = ids_cache[target]
                if unquote(parts.fragment) not in known:
                    problems.append(f"{url}: link to a missing anchor {href}")
    assert not problems, "\n".join(problems[:20])
    seen = set(crawled)
    every_page = {p.as_uri() for p in site.rglob("*.html")}
    assert seen == every_page, f"pages not reachable from the home page: {sorted(every_page - seen)}"
    assert len(seen) == len(read(root, "trials")) + len(read(root, "drugs")) + len(read(root, "indications")) + 8 + (
        1 if (site / "effects.html").exists() else 0)


def test_each_trial_page_shows_every_figure_with_its_source_link(site, root, crawled):
    arms = {a["arm_id"]: a["trial_id"] for a in read(root, "arms")}
    sources = {s["source_id"]: s for s in read(root, "sources")}
    figures = [("outcomes", "outcome_id", r, ("responders", "analysed", "percent")) for r in read(root, "outcomes")] + \
              [("adverse_events", "adverse_event_id", r, ("participants_with_event", "participants_at_risk", "percent"))
               for r in read(root, "adverse_events")]
    by_trial: dict[str, list] = {}
    for f in figures:
        by_trial.setdefault(arms[f[2]["arm_id"]], []).append(f)
    checked = 0
    for trial in read(root, "trials"):
        opened = crawled[(site / "trials" / f"{trial['trial_id']}.html").as_uri()]
        page = opened["shown"]
        shown = {(f["table"], f["id"]): f for f in page["figures"]}
        notes = {n["id"]: n for n in page["notes"]}
        expected = by_trial.get(trial["trial_id"], [])
        assert len(page["figures"]) == len(expected), trial["trial_id"]
        for table, key, row, numbers in expected:
            el = shown[(table, row[key])]
            assert el["shown"], row[key]
            for column in numbers:
                if row[column]:
                    assert row[column] in el["nums"], (row[key], column, row[column], el["nums"])
            assert row["locator"] in el["text"], row[key]
            links = el["links"]
            assert any(h.endswith(f"sources.html#{row['source_id']}") for h in links), row[key]
            if row["rule_exception"] or row["note"]:  # shown as such, on the line below the figure
                note = notes[row[key]]
                assert note["shown"], row[key]
                if row["rule_exception"]:
                    assert f"rule exception: {row['rule_exception']}" in note["text"], row[key]
            doc = site_mod.Site.document_url(sources[row["source_id"]])
            if doc:
                assert doc in links, (row[key], doc, links)
            checked += 1
        assert not opened["errors"], trial["trial_id"]
    assert checked == len(figures) > 0


def visible_trials(driver) -> list[str]:
    """The trial list's rows the browser displays (rendered with a size, not visibility: hidden), in order."""
    return driver.execute_script("""
        return Array.from(document.querySelectorAll('#trial-table tbody tr'))
          .filter(r => !!(r.offsetWidth || r.offsetHeight || r.getClientRects().length)
                       && getComputedStyle(r).visibility !== 'hidden')
          .map(r => r.getAttribute('data-trial-id'));""")


def test_the_trial_filter_works(site, root, driver):
    trials = read(root, "trials")
    driver.get((site / "trials.html").as_uri())
    assert len(visible_trials(driver)) == len(trials)
    box = driver.find_element(By.ID, "filter-text")
    count = driver.find_element(By.ID, "filter-count")
    some = next(t for t in trials if t["nct_id"])
    box.send_keys(some["nct_id"].lower())
    assert visible_trials(driver) == [some["trial_id"]]
    assert count.text == f"1 of {len(trials)} trials"
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; a space matches every row
    assert len(visible_trials(driver)) == len(trials)
    box.clear()
    Select(driver.find_element(By.ID, "filter-design")).select_by_value("randomized")
    Select(driver.find_element(By.ID, "filter-indication")).select_by_value("psoriasis")
    expected = [t["trial_id"] for t in trials if t["design"] == "randomized" and t["indication_id"] == "psoriasis"]
    assert visible_trials(driver) == expected and expected
    assert count.text == f"{len(expected)} of {len(trials)} trials"
    # a word matches a trial whose arms give that drug, or whose id, acronym or title names it
    drug_trials = {a["trial_id"] for a in read(root, "arms") if a["drug_id"] == "ruxolitinib"}
    named = {t["trial_id"] for t in trials
             if "ruxolitinib" in (t["trial_id"] + " " + t["acronym"] + " " + t["title"]).lower()}
    box.send_keys("Ruxolitinib")
    assert set(visible_trials(driver)) == {t for t in expected if t in drug_trials | named}
    box.send_keys(" no-such-word")
    assert visible_trials(driver) == [] and count.text == f"0 of {len(trials)} trials"
    assert not console_errors(driver)


def test_screenshots_of_the_home_page_and_a_trial_page(site, root, driver):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("trial-*.png"):  # a screenshot of the trial chosen by an earlier run
        old.unlink()
    arms = {a["arm_id"]: a["trial_id"] for a in read(root, "arms")}
    outcomes = [arms[r["arm_id"]] for r in read(root, "outcomes")]
    aes = [arms[r["arm_id"]] for r in read(root, "adverse_events")]
    # the trial with the most figures, preferring one with both outcomes and adverse events
    richest = max(sorted(set(outcomes + aes)),
                  key=lambda t: (t in outcomes and t in aes, outcomes.count(t) + aes.count(t)))
    for name, page in (("home.png", site / "index.html"), (f"trial-{richest}.png", site / "trials" / f"{richest}.html")):
        driver.get(page.as_uri())
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1300, min(max(height, 800), 4000))
        assert driver.save_screenshot(str(SHOTS / name))
        data = (SHOTS / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    driver.set_window_size(1300, 1000)


def test_a_note_holding_html_runs_nothing_in_the_browser(site, driver):
    from pkgtools import HOSTILE_NOTE, HOSTILE_TRIAL_NOTE
    driver.get((site / "trials" / "example-trial.html").as_uri())
    assert "pwned" not in driver.title
    note = driver.find_element(By.XPATH, '//tr[@data-note-for="example-trial/placebo/easi-75/w16"]')
    assert HOSTILE_NOTE in note.text
    assert HOSTILE_TRIAL_NOTE in driver.find_element(By.CSS_SELECTOR, "section.trial-note").text
    assert not driver.find_elements(By.CSS_SELECTOR, "main img, main b")
    assert not console_errors(driver)
