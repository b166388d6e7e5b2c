"""Attribution: the package's licence, the seed review in its sources, and CITATION.cff agreeing
with datapackage.json and valid against the Citation File Format 1.2.0 schema."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from .report import Report

DATA_LICENSE = "CC-BY-4.0"
SEED_REVIEW = "Al Abadie"
CFF_SCHEMA = Path(__file__).parent / "vendor" / "cff-schema-1.2.0.json"


def check_package_metadata(descriptor: dict, report: Report) -> None:
    names = [lic.get("name") for lic in descriptor.get("licenses", []) if isinstance(lic, dict)]
    if DATA_LICENSE not in names:
        report.add("datapackage.json", None, "licenses", ",".join(map(str, names)) or None, "license",
                   f"the package's licenses must include {DATA_LICENSE} (the data licence)")
    sources = descriptor.get("sources", [])
    if not any(SEED_REVIEW in str(s.get("title", "")) for s in sources if isinstance(s, dict)):
        report.add("datapackage.json", None, "sources", None, "seed-attribution",
                   f"the package's sources must name the seed review ({SEED_REVIEW} et al. 2022, CC BY 4.0)")
    for key in ("name", "title", "version", "description"):
        if not descriptor.get(key):
            report.add("datapackage.json", None, key, None, "descriptor", f"datapackage.json needs a {key!r}")


def _load_cff(path: Path):
    class NoDates(yaml.SafeLoader):
        """YAML 1.2 reading: a date stays the string CFF expects."""

    NoDates.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return yaml.load(path.read_text(encoding="utf-8"), Loader=NoDates)


def check_citation(root: Path, descriptor: dict, report: Report) -> None:
    path = root / "CITATION.cff"
    if not path.exists():
        report.add("CITATION.cff", None, None, None, "citation-missing",
                   "CITATION.cff is missing: it is how users and Zenodo cite the dataset")
        return
    try:
        cff = _load_cff(path)
    except Exception as exc:  # any YAML error is a finding, never a traceback
        mark = getattr(exc, "problem_mark", None)
        report.add("CITATION.cff", mark.line + 1 if mark else None, None, None, "citation-invalid",
                   f"not valid YAML: {getattr(exc, 'problem', exc)}")
        return

    schema = json.loads(CFF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for err in sorted(validator.iter_errors(cff), key=lambda e: list(e.path)):
        where = "/".join(map(str, err.path)) or None
        report.add("CITATION.cff", None, where, None, "citation-invalid",
                   f"not valid Citation File Format 1.2.0: {err.message[:200]}")
    if not isinstance(cff, dict):
        return
    for cff_key, dp_key in (("title", "title"), ("version", "version")):
        if str(cff.get(cff_key)) != str(descriptor.get(dp_key)):
            report.add("CITATION.cff", None, cff_key, str(cff.get(cff_key)), "citation-consistency",
                       f"{cff_key} must equal datapackage.json's {dp_key} ({descriptor.get(dp_key)!r})")
    if cff.get("license") != DATA_LICENSE:
        report.add("CITATION.cff", None, "license", str(cff.get("license")), "citation-consistency",
                   f"license must be {DATA_LICENSE}, the data licence")
