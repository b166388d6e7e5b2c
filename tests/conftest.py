import hashlib
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
