"""One version everywhere: datapackage.json, CITATION.cff, jakderm.__version__, the changelog."""
import json
import re

import yaml

import jakderm
from pkgtools import ROOT


def test_versions_agree():
    package = json.loads((ROOT / "datapackage.json").read_text())["version"]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"]
    changelog = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M).group(1)
    assert package == str(citation) == jakderm.__version__ == changelog
    assert re.fullmatch(r"\d+\.\d+\.\d+", package)


def test_changelog_has_keep_a_changelog_form():
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text and "keepachangelog.com" in text
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", text, re.M)
    assert released, "every release heading carries its date"
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(), )
    assert str(citation["date-released"]) == released[0][1]


def test_version_flag():
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "jakderm", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"jakderm {jakderm.__version__}"
