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
