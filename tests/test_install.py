"""pip install carries the data with the code."""
import subprocess
import sys
import zipfile

import jakderm
from jakderm import loader
from pkgtools import ROOT


def test_the_wheel_carries_the_data(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("jakderm-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    share = [n for n in names if "/data/share/jak-derm-data/" in n]
    for expected in ["datapackage.json", "data/outcomes.csv", "schemas/outcomes.json", "CITATION.cff"]:
        assert any(n.endswith("share/jak-derm-data/" + expected) for n in share), expected
    assert any(n == "jakderm/vendor/cff-schema-1.2.0.json" for n in names)
    assert any(n.endswith(".data/data/share/jak-derm-data/data/sources.csv") for n in share)


def test_load_outside_a_clone_reads_the_installed_copy(tmp_path, monkeypatch):
    import shutil
    prefix = tmp_path / "prefix"
    share = prefix / "share" / "jak-derm-data"
    share.mkdir(parents=True)
    for name in ("datapackage.json", "CITATION.cff"):
        shutil.copy2(ROOT / name, share / name)
    shutil.copytree(ROOT / "schemas", share / "schemas")
    shutil.copytree(ROOT / "data", share / "data")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.chdir(elsewhere)
    assert loader.package_root(".") == share
    tables = jakderm.load()
    assert len(tables["trials"]) == len(jakderm.load(ROOT)["trials"])
