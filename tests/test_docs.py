"""Documentation that cannot rot: the data dictionary and the README's worked examples are
regenerated or executed here and compared with what is committed.

Refresh after a data change: `python -m jakderm dictionary` and `python tests/test_docs.py --update`
(which also redraws the README's forest plot, tests/test_forest.py).
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pkgtools import require_r

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = re.compile(r"<!-- example: (?P<lang>\w+) -->\n```(?:python|r)\n(?P<code>.*?)```\n(?P<between>.*?)```text\n"
                     r"(?P<output>.*?)```", re.S)


def run_example(lang: str, code: str) -> str:
    if lang == "pandas":
        cmd = [sys.executable, "-c", code]
    else:
        cmd = ["Rscript", "-e", code]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    if "library(jakderm)" in code:  # the R package, installed from R/ as the README says
        from rpkg import r_library
        env["R_LIBS"] = r_library()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def examples() -> list[re.Match]:
    return list(EXAMPLE.finditer(README.read_text(encoding="utf-8")))


def test_data_dictionary_is_up_to_date():
    from jakderm.dictionary import OUTPUT, render
    assert (ROOT / OUTPUT).read_text(encoding="utf-8") == render(ROOT), \
        "docs/data-dictionary.md is stale: run `python -m jakderm dictionary`"


def test_readme_has_a_pandas_and_an_r_example():
    assert {m["lang"] for m in examples()} == {"pandas", "r"}


@pytest.mark.parametrize("i", range(len(examples())), ids=[f"{m['lang']}-{i}" for i, m in enumerate(examples())])
def test_readme_example_prints_what_the_readme_shows(i):
    match = examples()[i]
    lang = match["lang"]
    if lang == "r":
        require_r("run the README's R examples")
    assert run_example(lang, match["code"]) == match["output"], \
        "the README's output is stale: run `python tests/test_docs.py --update`"


if __name__ == "__main__" and "--update" in sys.argv:
    text = README.read_text(encoding="utf-8")
    for m in reversed(examples()):
        if m["lang"] == "r" and not shutil.which("Rscript"):
            continue
        start, end = m.span("output")
        text = text[:start] + run_example(m["lang"], m["code"]) + text[end:]
    README.write_text(text, encoding="utf-8")
    print("README examples refreshed")
    from test_forest import update_readme_figure
    update_readme_figure()
