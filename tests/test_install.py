"""The data travel inside the jakderm package and jakderm.load() finds them however pip installed it.

One wheel is built per session from a copy of the sources (a build writes build/ and *.egg-info
into its source folder, never into the repository), then installed, offline and without
dependencies, into a venv, under --user, under --prefix, and as an editable install of a clone;
in each, a fresh interpreter in an empty folder loads the package and must find every row the
repository holds, read from the installed copy and not from the repository.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import jakderm
from jakderm import loader
from jakderm.validation import InvalidPackage
from pkgtools import ROOT

CARRIED = ROOT / "jakderm" / "package"

# What a fresh interpreter reports: where jakderm was imported from, which package load() read,
# and the rows of every table.
PROBE = """
import json, jakderm
from jakderm import loader
tables = jakderm.load()
print(json.dumps({"module": jakderm.__file__, "root": str(loader.package_root()),
                  "rows": {name: len(frame) for name, frame in tables.items()}}))
"""


def sources(dest: Path) -> Path:
    """What a build reads: pyproject.toml, README.md, LICENSE, jakderm/ (its package/ links kept
    as links) and the files those links lead to, at the same relative places."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "jakderm", dest / "jakderm", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for link in CARRIED.iterdir():
        assert link.is_symlink(), f"{link}: jakderm/package/ holds only links to the repository's files"
        target = (CARRIED / os.readlink(link)).resolve()
        copy = dest / target.relative_to(ROOT)
        if target.is_dir():
            shutil.copytree(target, copy)
        else:
            shutil.copy2(target, copy)
    return dest


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> str:
    out = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def pip(*args) -> list:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--no-cache-dir", *args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    return {**env, "PIP_NO_INDEX": "1", **extra}


def dependency_dirs() -> list[str]:
    """The site folders this test's interpreter takes pandas, pyarrow, setuptools… from."""
    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dirs if Path(d).is_dir()]


def venv(where: Path, system_site: bool = False) -> Path:
    """A venv without pip (pip is run from outside with --python) that sees this interpreter's
    dependencies through a .pth file: its folders are appended to sys.path, after the venv's own
    site-packages, and the .pth files in them (an editable jakderm's among them) are not run."""
    run([sys.executable, "-m", "venv", "--without-pip", *(["--system-site-packages"] if system_site else []), where])
    python = where / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip())
    (purelib / "zz_test_dependencies.pth").write_text("\n".join(dependency_dirs()) + "\n")
    return python


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The wheel built from the sources, and the sdist built from the same sources."""
    tmp = tmp_path_factory.mktemp("build")
    src = sources(tmp / "src")
    run(pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", tmp / "wheel", src))
    run([sys.executable, "-c", f"import setuptools.build_meta as b; b.build_sdist({str(tmp / 'sdist')!r})"], cwd=src)
    return next((tmp / "wheel").glob("jakderm-*.whl")), next((tmp / "sdist").glob("jakderm-*.tar.gz"))


def repository_rows() -> dict[str, int]:
    return {name: len(frame) for name, frame in jakderm.load(ROOT).items()}


def carried_files() -> dict[str, bytes]:
    """The repository's files the package carries, by their path in the wheel."""
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    names = ["datapackage.json", "CITATION.cff", "LICENSE",
             *(r["path"] for r in descriptor["resources"]), *(r["schema"] for r in descriptor["resources"])]
    return {f"jakderm/package/{n}": (ROOT / n).read_bytes() for n in names}


def digest(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_the_wheel_carries_the_data_package_and_py_typed(built):
    wheel, _ = built
    with zipfile.ZipFile(wheel) as z:
        inside = {n: z.read(n) for n in z.namelist()}
    carried = carried_files()
    assert digest({n: inside.get(n, b"") for n in carried}) == digest(carried)
    assert {n for n in inside if n.startswith("jakderm/package/")} == set(carried)  # the copies, nothing else
    assert "jakderm/py.typed" in inside and "jakderm/vendor/cff-schema-1.2.0.json" in inside
    assert not [n for n in inside if ".data/" in n], "nothing outside the jakderm package (no data-files)"


def test_the_sdist_holds_copies_and_builds_the_same_wheel(built, tmp_path):
    wheel, sdist = built
    with tarfile.open(sdist) as t:
        t.extractall(tmp_path, filter="data")
        members = {m.name.split("/", 1)[1]: m for m in t.getmembers() if "/" in m.name}
    carried = carried_files()
    assert all(members[n].isfile() for n in carried), "the sdist holds files, not links, under jakderm/package/"
    unpacked = next(p for p in tmp_path.iterdir() if p.is_dir())
    run(pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", tmp_path / "out", unpacked))
    again = next((tmp_path / "out").glob("jakderm-*.whl"))
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(again) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        assert {n: a.read(n) for n in carried} == {n: b.read(n) for n in carried}


@pytest.fixture(scope="session")
def installs(built, tmp_path_factory):
    """Each install, the folder jakderm must be imported from, and the probe's answer (the four
    run at once: each is a subprocess)."""
    wheel, _ = built
    tmp = tmp_path_factory.mktemp("installs")
    empty = tmp / "empty"
    empty.mkdir()

    def plain_venv():
        python = venv(tmp / "venv")
        run(pip("--python", python, "install", "--no-deps", "--no-index", "-q", wheel), env=clean_env())
        return tmp / "venv", [python], clean_env()

    def user():
        # user site-packages are off in a venv of its own: --system-site-packages turns them on
        python = venv(tmp / "user-venv", system_site=True)
        env = clean_env(PYTHONUSERBASE=str(tmp / "userbase"))
        run(pip("--python", python, "install", "--user", "--no-deps", "--no-index", "-q", wheel), env=env)
        return tmp / "userbase", [python], env

    def prefix():
        run(pip("install", "--prefix", tmp / "prefix", "--no-deps", "--no-index", "-q", wheel), env=clean_env())
        purelib = sysconfig.get_path("purelib", vars={"base": str(tmp / "prefix"), "platbase": str(tmp / "prefix")})
        return tmp / "prefix", [sys.executable], clean_env(PYTHONPATH=purelib)

    def editable():
        clone = sources(tmp / "clone")
        python = venv(tmp / "editable-venv")
        run(pip("--python", python, "install", "--no-deps", "--no-index", "--no-build-isolation", "-q", "-e", clone),
            env=clean_env())
        return clone, [python], clean_env()

    def probe(make):
        where, python, env = make()
        return where, json.loads(run([*python, "-c", PROBE], cwd=empty, env=env)), python, env

    kinds = {"venv": plain_venv, "user": user, "prefix": prefix, "editable": editable}
    with ThreadPoolExecutor(len(kinds)) as pool:
        futures = {kind: pool.submit(probe, make) for kind, make in kinds.items()}
        return {kind: f.result() for kind, f in futures.items()}


@pytest.mark.parametrize("kind", ["venv", "user", "prefix", "editable"])
def test_load_from_an_empty_folder_reads_the_installed_copy(installs, kind):
    where, answer, _, _ = installs[kind]
    where = where.resolve()
    assert Path(answer["module"]).resolve().is_relative_to(where), answer["module"]
    root = Path(answer["root"])
    assert root.is_relative_to(where), answer["root"]
    if kind == "editable":  # the clone's own files, through jakderm/package's links
        assert root == where
    else:
        assert root.parts[-2:] == ("jakderm", "package") and not (root / "data").is_symlink()
    assert answer["rows"] == repository_rows()


def test_version_from_python_m_and_the_console_script(installs):
    where, _, (python,), env = installs["venv"]
    expected = f"jakderm {jakderm.__version__}"
    assert run([python, "-m", "jakderm", "--version"], env=env).strip() == expected
    assert run([where / "bin" / "jakderm", "--version"], env=env).strip() == expected


# In process: which package load() reads.

def test_the_source_tree_carries_links_to_the_repository():
    assert loader.installed_copy() == ROOT
    for link in CARRIED.iterdir():
        assert link.is_symlink() and not Path(os.readlink(link)).is_absolute()
        assert (CARRIED / os.readlink(link)).resolve() == ROOT / link.name


def test_the_current_folder_wins_over_the_installed_copy(pkg, monkeypatch):
    monkeypatch.chdir(pkg.root)
    assert loader.package_root() == Path(".")
    assert len(jakderm.load()["trials"]) == len(jakderm.load(ROOT)["trials"]) + 1  # pkg adds an example trial


def test_an_empty_folder_reads_the_installed_copy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert loader.package_root() == loader.package_root(".") == ROOT
    assert len(jakderm.load()["outcomes"]) == len(jakderm.load(ROOT)["outcomes"])


def test_an_explicit_path_wins_even_when_it_holds_no_package(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    assert loader.package_root("sub") == Path("sub")
    with pytest.raises(InvalidPackage, match=r"datapackage\.json"):
        jakderm.load("sub")


def test_no_carried_data_means_no_fallback(tmp_path, monkeypatch):
    """A build from a checkout whose links became plain files carries no data: load() then says
    the current folder holds no package rather than reading something else."""
    fake = tmp_path / "jakderm"
    (fake / "package").mkdir(parents=True)
    monkeypatch.setattr("importlib.resources.files", lambda name: fake)
    monkeypatch.chdir(tmp_path)
    assert loader.installed_copy() is None
    assert loader.package_root() == Path(".")
