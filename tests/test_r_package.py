"""R/ is an installable R package: `R CMD build` and `R CMD check --no-manual` pass with no error
and no warning, every export has a help page, and citation("jakderm") says what CITATION.cff
says. Needs R (Debian: r-base-core, r-cran-readr, r-cran-jsonlite, r-cran-metafor); without it the
R-running tests are skipped, unless JAKDERM_REQUIRE_R=1 (as in CI), when they fail.
"""
import json
import os
import re
import subprocess

import yaml

import jakderm
from pkgtools import ROOT, require_r

RPKG = ROOT / "R"


def require_r_cmd() -> None:
    require_r("check the R package (r-base-core)", "R")
    require_r("check the R package (r-base-core)")


def description() -> dict[str, str]:
    fields, last = {}, None
    for line in (RPKG / "DESCRIPTION").read_text(encoding="utf-8").splitlines():
        if line[:1].isspace() and last:
            fields[last] += " " + line.strip()
        else:
            last, _, value = line.partition(":")
            fields[last] = value.strip()
    return fields


def cff() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_one_version_everywhere():
    package = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    assert description()["Version"] == cff()["version"] == package["version"] == jakderm.__version__


def test_every_export_has_a_help_page():
    exports = re.findall(r"^export\((\w+)\)", (RPKG / "NAMESPACE").read_text(encoding="utf-8"), re.M)
    assert exports == ["read_jakderm", "jakderm_effects"]
    aliases = set()
    for page in (RPKG / "man").glob("*.Rd"):
        aliases |= set(re.findall(r"\\alias\{([^}]+)\}", page.read_text(encoding="utf-8")))
    assert set(exports) <= aliases
    assert "jakderm-package" in aliases


def test_citation_agrees_with_citation_cff(tmp_path):
    require_r_cmd()
    out = tmp_path / "citation.json"
    code = f"""
        meta <- list(Version = "{description()['Version']}", Encoding = "UTF-8")
        entry <- utils::readCitationFile("{RPKG / 'inst' / 'CITATION'}", meta = meta)
        header <- attr(entry, "mheader")
        jsonlite::write_json(list(title = entry$title, authors = I(vapply(entry$author, format, "")),
                                  year = entry$year, note = entry$note, header = header,
                                  text = format(entry, style = "text")),
                             "{out}", auto_unbox = TRUE)
    """
    run = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    r = json.loads(out.read_text(encoding="utf-8"))
    c = cff()
    assert r["title"] == c["title"]
    assert r["authors"] == [a.get("name") or f"{a['given-names']} {a['family-names']}" for a in c["authors"]]
    assert r["year"] == str(c["date-released"])[:4]
    assert f"version {c['version']}" in r["note"]
    assert c["license"] == "CC-BY-4.0" and "licence CC BY 4.0" in r["note"]
    assert " ".join(r["header"].split()) == " ".join(c["message"].split())


def test_r_cmd_build_and_check_pass_without_errors_or_warnings(tmp_path):
    require_r_cmd()
    build = subprocess.run(["R", "CMD", "build", str(RPKG)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = f"jakderm_{description()['Version']}.tar.gz"
    assert (tmp_path / tarball).exists()
    # Suggests (metafor) must be there: the examples and the effect sizes use it.
    check = subprocess.run(["R", "CMD", "check", "--no-manual", tarball], cwd=tmp_path, capture_output=True,
                           text=True, timeout=900, env={**os.environ, "_R_CHECK_FORCE_SUGGESTS_": "true"})
    log = check.stdout + check.stderr
    assert check.returncode == 0, log[-4000:]
    assert "Status: OK" in log, log[-4000:]  # not even a NOTE
    assert "jakderm.R" not in "".join(p.name for p in (tmp_path / "jakderm.Rcheck" / "00_pkg_src" / "jakderm").iterdir())
