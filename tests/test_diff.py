"""`python -m jakderm diff`: a throw-away git repository holding a copy of the package, one commit
with the shipped data and one with a few known edits; the Markdown must show exactly those."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pkgtools

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.org",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.org"}
NEW_SOURCE = {"source_id": "example-2099-new-source", "source_type": "article",
              "citation": "Example B. A synthetic source for the diff test. Test J. 2099;2:3-4.",
              "year": "2099", "url": "https://example.org/new-source"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=GIT_ENV).stdout


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([[r.get(h, "") for h in header] for r in rows])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def decimals(text: str) -> int:
    return len(text.partition(".")[2])


@pytest.fixture
def repo(tmp_path):
    """A git repository with the shipped package (commit A) and three edits (commit B)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ["datapackage.json", "CITATION.cff", "schemas", "data"]:
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, repo / name)
    git(repo, "init", "-q")
    a = commit(repo, "shipped package")

    data = repo / "data"
    # 1. one outcome: one more responder, the percent recomputed at the printed precision
    header, outcomes = read_csv(data / "outcomes.csv")
    # (the one with the most counts given: n, N and percent if some row has all three)
    row = max((r for r in outcomes if r["responders"] and r["analysed"]), key=lambda r: (bool(r["percent"]),
                                                                                      int(r["analysed"])))
    old = {k: row[k] for k in ("outcome_id", "responders", "percent", "source_id", "locator")}
    n, total = int(row["responders"]), int(row["analysed"])
    new_responders = n - 1 if n > 0 else n + 1
    new_percent = f"{100 * new_responders / total:.{decimals(row['percent']) if row['percent'] else 1}f}"
    assert new_percent != row["percent"]
    row["responders"], row["percent"] = str(new_responders), new_percent
    write_csv(data / "outcomes.csv", header, outcomes)
    # 2. one new source
    header, sources = read_csv(data / "sources.csv")
    sources = sorted([*sources, NEW_SOURCE], key=lambda r: r["source_id"])
    write_csv(data / "sources.csv", header, sources)
    # 3. one arm removed (one that no outcome or adverse event names, so nothing else changes)
    used = {r["arm_id"] for t in ("outcomes", "adverse_events") for r in read_csv(data / f"{t}.csv")[1]}
    header, arms = read_csv(data / "arms.csv")
    removed_arm = next(r["arm_id"] for r in arms if r["arm_id"] not in used)
    write_csv(data / "arms.csv", header, [r for r in arms if r["arm_id"] != removed_arm])
    b = commit(repo, "edits")
    return {"path": repo, "a": a, "b": b, "outcome": old, "new_responders": str(new_responders),
            "new_percent": new_percent, "removed_arm": removed_arm}


def summary(md: str) -> dict[str, tuple[int, int, int, int]]:
    rows = {}
    for line in md.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = tuple(int(c) for c in cells[1:])
    return rows


def section(md: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((j for j in range(start + 1, len(lines))
                if lines[j].startswith("#") and len(lines[j].split(" ")[0]) <= len(level)), len(lines))
    return "\n".join(lines[start:end])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return pkgtools.run_cli(*args, cwd=cwd)


def test_diff_shows_exactly_the_edits(repo, tmp_path):
    out = tmp_path / "diff.md"
    done = run_cli("diff", repo["a"], repo["b"], "--repo", str(repo["path"]), "--output", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    md = out.read_text(encoding="utf-8")

    counts = summary(md)
    assert counts.pop("sources") == (1, 0, 0, 0)
    assert counts.pop("arms") == (0, 1, 0, 0)
    assert counts.pop("outcomes") == (0, 0, 1, 0)
    assert counts and all(c == (0, 0, 0, 0) for c in counts.values()), counts
    assert "## Schema changes" not in md

    # the changed cells, old -> new, under the row's id with its source and locator
    o = repo["outcome"]
    changed = section(md, "## `outcomes`")
    old_percent = f"`{o['percent']}`" if o["percent"] else "*(empty)*"
    assert (f"- `{o['outcome_id']}` — source `{o['source_id']}`, locator `{o['locator']}`\n"
            f"  - responders: `{o['responders']}` → `{repo['new_responders']}`\n"
            f"  - percent: {old_percent} → `{repo['new_percent']}`") in changed
    assert changed.count("\n- ") == 1 and "→" in changed

    # the added row, with its values
    added = section(md, "## `sources`")
    assert "### Added (1)" in added
    assert f"- `{NEW_SOURCE['source_id']}`" in added
    assert f"  - citation: `{NEW_SOURCE['citation']}`" in added
    assert f"  - url: `{NEW_SOURCE['url']}`" in added
    assert "Removed" not in added and "Changed" not in added

    # the removed id, flagged as breaking
    warning = section(md, "## ⚠️ Removed identifiers (breaking: ids are stable once published)")
    assert f"**`{repo['removed_arm']}`**" in warning
    assert "`arms`" in warning
    assert warning.count("**`") == 1
    assert f"- `{repo['removed_arm']}`" in section(md, "## `arms`")


def test_diff_to_stdout_and_no_change(repo, tmp_path):
    done = run_cli("diff", repo["a"], repo["a"], "--repo", str(repo["path"]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "No identifier was removed." in done.stdout
    assert "No data or schema change." in done.stdout
    assert all(c == (0, 0, 0, 0) for c in summary(done.stdout).values())


def test_diff_reports_schema_changes_and_renames(repo):
    from jakderm.diff import diff_refs

    path = repo["path"]
    schema_file = path / "schemas" / "drugs.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    for fld in schema["fields"]:
        if fld["name"] == "first_approval_year":
            fld["type"] = "number"
    schema["fields"].insert(2, {"name": "atc_code", "type": "string", "description": "ATC code."})
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "note"]
    schema_file.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    # rename one endpoint id: the old id is removed, the same row comes back under a new id
    header, endpoints = read_csv(path / "data" / "endpoints.csv")
    old_id = endpoints[0]["endpoint_id"]
    endpoints[0]["endpoint_id"] = old_id + "-renamed"
    write_csv(path / "data" / "endpoints.csv", header, endpoints)
    c = commit(path, "schema change and a rename")

    md = diff_refs(path, repo["b"], c)
    schema_md = section(md, "## Schema changes")
    assert "- `drugs`:" in schema_md
    assert "field added: `atc_code` (string)" in schema_md
    assert "field removed: `note` (string)" in schema_md
    assert "type changed: `first_approval_year`: integer → number" in schema_md
    assert summary(md)["drugs"][3] == 3
    warning = section(md, "## ⚠️ Removed identifiers")
    assert f"**`{old_id}`** — renamed? the same row is added as `{old_id}-renamed`" in warning


def test_diff_unknown_ref_exits_2(repo, tmp_path):
    done = run_cli("diff", repo["a"], "no-such-ref", "--repo", str(repo["path"]), cwd=tmp_path)
    assert done.returncode == 2
    assert "no-such-ref" in done.stderr
