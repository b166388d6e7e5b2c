import hashlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def tree_digest(root: Path) -> dict[str, str]:
    files = [root / "datapackage.json", root / "CITATION.cff", *sorted((root / "data").glob("*")),
             *sorted((root / "schemas").glob("*"))]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def repository_data_untouched():
    """No test, and nothing a test runs, may change the repository's own package files."""
    before = tree_digest(ROOT)
    yield
    assert tree_digest(ROOT) == before, "a test changed files under data/, schemas/ or the descriptors"


@pytest.fixture
def pkg(tmp_path):
    from pkgtools import Pkg
    return Pkg(tmp_path)


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory):
    """(pkg, site): one site for the site and the browser tests, generated once by `python -m jakderm
    site` from a copy of the package with the example trial, whose outcome note, trial note, source
    citation and source URL hold HTML and Markdown that every page must show as text."""
    from pkgtools import HOSTILE_NOTE, HOSTILE_TRIAL_NOTE, full_pkg, run_cli
    tmp = tmp_path_factory.mktemp("hostile-site")
    pkg = full_pkg(tmp)
    pkg.set("outcomes", "example-trial/placebo/easi-75/w16", "note", HOSTILE_NOTE)
    pkg.set("trials", "example-trial", "note", HOSTILE_TRIAL_NOTE)
    pkg.set("sources", "example-2099-trial", "url", 'https://example.org/x"onmouseover="alert(1)')
    pkg.set("sources", "example-2099-trial", "citation", "Example <b>A</b> & co. Test J. 2099;1:1-2.")
    out = tmp / "site"
    result = run_cli("site", str(pkg.root), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return pkg, out


@pytest.fixture(scope="session")
def release(tmp_path_factory) -> Path:
    """The release files of the repository's package, built once by `python -m jakderm build` in a
    process of its own (test_build.py builds a second time, in process, to compare)."""
    import subprocess
    out = tmp_path_factory.mktemp("release") / "dist"
    done = subprocess.run([sys.executable, "-m", "jakderm", "build", str(ROOT), "--out", str(out)],
                          capture_output=True, text=True, cwd=out.parent, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    return out
