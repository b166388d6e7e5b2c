""".ci/min-versions.txt pins every lower bound pyproject.toml declares, and nothing else: the
two cannot drift apart. (Whether the pins install and pass the tests is CI's run on them.)"""
import re
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from pkgtools import ROOT


def declared() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = {}
    for spec in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        req = Requirement(spec)
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{spec}: one lower bound (>=) per dependency"
        out[req.name.lower()] = Version(lower[0])
    return out


def pinned() -> dict[str, Version]:
    out = {}
    for line in (ROOT / ".ci" / "min-versions.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            out[name.lower()] = Version(version)
    return out


def test_every_lower_bound_is_pinned_and_nothing_else():
    bounds, pins = declared(), pinned()
    assert set(pins) == set(bounds)
    for name, bound in bounds.items():
        pin = pins[name]
        # the bound itself, or its first release where the bound names none (setuptools 77 -> 77.0.1)
        assert pin >= bound and pin.release[:len(bound.release)] == bound.release, (name, str(bound), str(pin))


def test_ci_runs_the_suite_on_the_pins_as_the_file_says():
    """.ci/run installs the pins with the pip command the file's header gives, the package without
    dependencies, and runs the tests in that venv."""
    header = (ROOT / ".ci" / "min-versions.txt").read_text(encoding="utf-8").split("\n")
    command = next(line for line in header if "-r .ci/min-versions.txt" in line)
    options = re.search(r"pip install (.*)-r \.ci/min-versions\.txt", command).group(1).split()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    pins = next(line for line in ci if "-r .ci/min-versions.txt" in line)
    venv = re.match(r'"?(\$\w+)/bin/pip"? install', pins).group(1)
    assert all(o in pins.split() for o in options), (options, pins)
    following = ci[ci.index(pins) + 1:]
    assert any(line.startswith(f'"{venv}/bin/pip" install') and "--no-deps" in line for line in following)
    assert any(line.startswith(f'"{venv}/bin/python" -m pytest') for line in following)
