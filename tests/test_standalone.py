"""The repository stands alone: its own account of the data contract agrees with the Table
Schemas, and every link of its Markdown files resolves inside the repository."""
import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "docs" / "data-model.md"
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout.strip():
        return [ROOT / p for p in listed.stdout.split()]
    return sorted(p for p in ROOT.rglob("*.md") if ".venv" not in p.parts)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors (lower-case, punctuation dropped, spaces as hyphens) and explicit
    HTML anchors (`<a id="…">`)."""
    out = set(re.findall(r'<a (?:id|name)="([^"]+)"', path.read_text(encoding="utf-8")))
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text)))
    return out


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves(md):
    broken = []
    for m in LINK.finditer(md.read_text(encoding="utf-8")):
        target = m.group(1) or m.group(2)
        if re.match(r"^[a-z]+:", target):  # http(s), mailto: outside the repository
            continue
        path, _, anchor = target.partition("#")
        file = (md.parent / path).resolve() if path else md
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, f"{md.relative_to(ROOT)}: " + "; ".join(broken)


def test_no_file_points_outside_the_repository():
    """The contract is docs/data-model.md: nothing sends a reader to a file the repository lacks."""
    offenders = []
    for path in [*markdown_files(), *(ROOT / "jakderm").glob("*.py")]:
        if "DATA-MODEL.md" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"cite docs/data-model.md instead of DATA-MODEL.md in {offenders}"


def model_tables() -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in MODEL.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `(\w+)` \| .*? \| (`[^|]+`|\([^|]+\)) \|", line)
        if m:
            rows[m.group(1)] = tuple(re.findall(r"`(\w+)`", m.group(2)))
    return rows


def test_contract_names_every_table_with_its_primary_key():
    descriptor = json.loads((ROOT / "datapackage.json").read_text(encoding="utf-8"))
    schemas = {r["name"]: json.loads((ROOT / r["schema"]).read_text(encoding="utf-8")) for r in descriptor["resources"]}
    assert model_tables() == {name: tuple(s["primaryKey"]) for name, s in schemas.items()}


def test_contract_lists_the_schemas_vocabularies():
    """Every value an enum of the schemas allows for the columns the contract lists is named there."""
    text = MODEL.read_text(encoding="utf-8")
    columns = {"sources": ["source_type"], "trial_sources": ["role"], "trials": ["design", "phase"],
               "arms": ["role", "dose_unit", "frequency", "route"], "outcomes": ["population", "imputation"],
               "approvals": ["agency"]}
    missing = []
    for table, names in columns.items():
        schema = json.loads((ROOT / "schemas" / f"{table}.json").read_text(encoding="utf-8"))
        for f in schema["fields"]:
            if f["name"] in names:
                missing += [f"{table}.{f['name']}={v}" for v in f["constraints"]["enum"] if f"`{v}`" not in text]
    assert not missing, missing
