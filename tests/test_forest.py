"""`python -m jakderm forest`: the plot of the synthetic trials, its errors, and the README figure.

The README's figure is regenerated here from the data and compared with what is committed; after
a data change refresh it (and the README's examples) with `python tests/test_docs.py --update`.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from effects_fixture import add_synthetic_trials, without_curated_outcomes

from pkgtools import ROOT, Pkg, run_cli

pytest.importorskip("matplotlib")
README = ROOT / "README.md"
FIGURE_BLOCK = re.compile(r"<!-- forest -->\n```sh\n(?P<command>[^\n]*)\n```\n(?P<body>.*?)<!-- /forest -->", re.S)


def forest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_cli("forest", *args, cwd=cwd)


def forest_process(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m jakderm forest` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "jakderm", "forest", *args], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return add_synthetic_trials(without_curated_outcomes(Pkg(tmp_path_factory.mktemp("forest"), with_example=False)))


def svg_description(svg: str) -> str:
    match = re.search(r"<dc:description>(.*?)</dc:description>", svg, re.S)
    assert match, "the SVG carries no description"
    return match.group(1)


def texts(svg: str) -> list[str]:
    return re.findall(r"<text [^>]*>(.*?)</text>", svg, re.S)


def test_a_row_per_comparison_grouped_by_drug_and_dose_with_pooled_rows(synthetic, tmp_path):
    out = tmp_path / "easi.svg"
    run = forest(str(synthetic.root), "--endpoint", "easi-75", "--timepoint", "16", "--out", str(out))
    assert run.returncode == 0, run.stderr
    svg = out.read_text(encoding="utf-8")
    shown = texts(svg)
    # Groups in drug and dose order, each with its trials and a pooled row.
    groups = [t for t in shown if t in ("abrocitinib 100 mg", "abrocitinib 200 mg", "ruxolitinib 1.5 %")]
    assert groups == ["abrocitinib 100 mg", "abrocitinib 200 mg", "ruxolitinib 1.5 %"]
    assert shown.count("SYNTHETIC-A") == 2 and "SYNTHETIC-E" not in shown and "SYNTHETIC-F" not in shown
    for counts in ("40/100", "10/100", "12/50", "0/50", "30/80", "9/40", "31/60", "5/30"):
        assert counts in shown
    assert "4.00 [2.12, 7.55]" in shown  # 40/100 against 10/100
    assert "Pooled (REML, k = 3, I² = 68%)" in shown and shown.count("Pooled (REML, k = 1)") == 2
    assert "3.21 [1.24, 8.26]" in shown  # metafor: exp(1.1653) [exp(1.1653 -/+ 1.96 * 0.4828)]
    assert svg.count("<path d=\"M") > 0 and "RR [95% CI]" in shown
    footer = next(t for t in shown if t.startswith("jak-derm-data, jakderm"))
    import jakderm
    assert f"jakderm {jakderm.__version__}" in footer and "derived count would be marked *" in footer
    description = svg_description(svg)
    assert "synthetic-b/abrocitinib-100mg vs synthetic-b/placebo, week 16: 12/50 vs 0/50" in description


def test_derived_counts_are_marked_on_their_side(synthetic, tmp_path):
    out = tmp_path / "iga.svg"
    assert forest(str(synthetic.root), "--endpoint", "iga-0-1", "--timepoint", "16", "--measure", "OR",
                  "--out", str(out)).returncode == 0
    shown = texts(out.read_text(encoding="utf-8"))
    assert "29*/98" in shown and "8/99" in shown  # the arm printed a percent only; the placebo a count
    assert any("* counts derived as round(percent × analysed / 100)" in t for t in shown)
    assert "OR [95% CI]" in shown


def test_primary_timepoint_and_risk_difference(synthetic, tmp_path):
    out = tmp_path / "rd.png"
    run = forest(str(synthetic.root), "--endpoint", "easi-75", "--timepoint", "primary", "--measure", "RD",
                 "--method", "DL", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_svg_is_the_same_file_every_time(synthetic, tmp_path):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for run, out in ((forest, a), (forest_process, b)):  # in this process, then in a fresh one
        assert run(str(synthetic.root), "--endpoint", "easi-75", "--timepoint", "16", "--out", str(out)).returncode == 0
    assert a.read_bytes().replace(b"a.svg", b"") == b.read_bytes().replace(b"b.svg", b"")
    assert b"<dc:date>" not in a.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "easi-7", "--timepoint", "16"], "unknown endpoint 'easi-7': the endpoints are clinical-response"),
    (["--endpoint", "easi-75", "--timepoint", "16", "--measure", "HR"], "unknown measure 'HR': use one of RR, OR, RD"),
    (["--endpoint", "easi-75", "--timepoint", "16", "--method", "PM"], "unknown method 'PM': use one of REML, DL"),
    (["--endpoint", "easi-75", "--timepoint", "12"], "'easi-75' has no comparable arms at week 12; it has at week(s) 16"),
    (["--endpoint", "pasi-75", "--timepoint", "12"], "'pasi-75' has no comparable arms"),
    (["--endpoint", "easi-75", "--timepoint", "sixteen"], "--timepoint 'sixteen': give the weeks"),
    (["--endpoint", "easi-75", "--timepoint", "16", "--population", "ITT"],
     "with population 'ITT'; there are: FAS"),
])
def test_bad_requests_say_what_is_valid_and_write_nothing(synthetic, tmp_path, args, message):
    out = tmp_path / "plots"
    out.mkdir()
    (out / "old.svg").write_text("previous figure", encoding="utf-8")
    before = sorted(p.name for p in out.iterdir())
    run = forest(str(synthetic.root), *args, "--out", str(out / "old.svg"))
    assert run.returncode == 1
    assert message in run.stderr, run.stderr
    assert sorted(p.name for p in out.iterdir()) == before  # no temporary file left
    assert (out / "old.svg").read_text(encoding="utf-8") == "previous figure"


def test_pasi_message_lists_the_endpoints_that_have_comparisons(synthetic, tmp_path):
    run = forest(str(synthetic.root), "--endpoint", "pasi-75", "--timepoint", "12", "--out", str(tmp_path / "x.svg"))
    assert "endpoints with comparable arms: easi-75 (week 16: " in run.stderr and "iga-0-1 (week 16: " in run.stderr


@pytest.mark.parametrize("out, message", [("plot.pdf", "must end in .svg or .png"),
                                          ("missing/plot.svg", "does not exist")])
def test_bad_output_names(synthetic, tmp_path, out, message):
    run = forest(str(synthetic.root), "--endpoint", "easi-75", "--timepoint", "16", "--out", str(tmp_path / out))
    assert run.returncode == 1 and message in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_arm_with_two_imputations_must_be_chosen(tmp_path):
    from effects_fixture import TRIALS, trial
    extra = trial("synthetic-h", [{"name": "upadacitinib-15mg", "role": "experimental", "drug": "upadacitinib",
                                   "dose": "15", "n": 100}, {"name": "placebo", "role": "placebo", "n": 100}],
                  [("upadacitinib-15mg", "easi-75", 16, 60, 100, "60.0", "FAS", "NRI"),
                   ("placebo", "easi-75", 16, 15, 100, "15.0", "FAS", "NRI"),
                   ("upadacitinib-15mg", "easi-75", 16, 58, 90, "64.4", "FAS", "OC"),
                   ("placebo", "easi-75", 16, 14, 80, "17.5", "FAS", "OC")])
    for row in extra["outcomes"]:
        if row["imputation"] == "OC":
            row["outcome_id"] += "-oc"
    pkg = add_synthetic_trials(without_curated_outcomes(Pkg(tmp_path, with_example=False)), [*TRIALS, extra])
    run = forest(str(pkg.root), "--endpoint", "easi-75", "--timepoint", "16", "--out", str(tmp_path / "x.svg"))
    assert run.returncode == 1 and "'synthetic-h/upadacitinib-15mg' has 2 rows" in run.stderr
    assert "choose one with --population and --imputation" in run.stderr
    run = forest(str(pkg.root), "--endpoint", "easi-75", "--timepoint", "16", "--imputation", "NRI",
                 "--out", str(tmp_path / "x.svg"))
    assert run.returncode == 0, run.stderr
    assert "60/100" in texts((tmp_path / "x.svg").read_text(encoding="utf-8"))


# --- the README figure -----------------------------------------------------------------------------

def readme_block() -> re.Match:
    match = FIGURE_BLOCK.search(README.read_text(encoding="utf-8"))
    assert match, "README.md has no <!-- forest --> block"
    return match


def figure_command(command: str) -> tuple[list[str], Path]:
    """The forest arguments of the README's command, and the figure it writes."""
    words = shlex.split(command)
    assert words[:4] == ["python", "-m", "jakderm", "forest"], command
    args = words[4:]
    return args, ROOT / args[args.index("--out") + 1]


def render(command: str, out: Path) -> tuple[str, subprocess.CompletedProcess]:
    """What the README block should say below the command, having run it with its figure in `out`."""
    args, committed = figure_command(command)
    args[args.index("--out") + 1] = str(out)
    run = forest(*args)
    if run.returncode == 0:
        rel = committed.relative_to(ROOT).as_posix()
        return f"\n![Forest plot made by the command above]({rel})\n\n", run
    return "\nOn the data of this version the command answers:\n\n```text\n" + run.stderr + "```\n\n", run


def test_readme_figure_shows_the_data(tmp_path):
    match = readme_block()
    _, committed = figure_command(match["command"])
    fresh = tmp_path / committed.name
    body, run = render(match["command"], fresh)
    stale = "the README's figure is stale: run `python tests/test_docs.py --update`"
    assert match["body"] == body, stale
    if run.returncode != 0:
        assert not committed.exists(), f"{committed} is committed but the data no longer give it: {stale}"
        return
    assert committed.exists(), stale
    old, new = committed.read_text(encoding="utf-8"), fresh.read_text(encoding="utf-8")
    # The rows plotted, whatever matplotlib draws them with; the whole file when it is the same matplotlib.
    assert svg_description(old) == svg_description(new), stale
    creator = re.compile(r"Matplotlib v[^,<]*")
    if creator.search(old)[0] == creator.search(new)[0]:
        assert old == new, stale


def update_readme_figure() -> None:
    text = README.read_text(encoding="utf-8")
    match = FIGURE_BLOCK.search(text)
    _, committed = figure_command(match["command"])
    body, run = render(match["command"], committed)
    if run.returncode != 0 and committed.exists():
        committed.unlink()
    start, end = match.span("body")
    README.write_text(text[:start] + body + text[end:], encoding="utf-8")
    print(f"README figure refreshed: {committed.relative_to(ROOT) if run.returncode == 0 else run.stderr.strip()}")


if __name__ == "__main__" and "--update" in sys.argv:
    update_readme_figure()
