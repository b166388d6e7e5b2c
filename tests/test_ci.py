"""README's two commands are what CI and the GitHub workflow run."""
import re

import yaml

from pkgtools import ROOT


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.strip() for line in block.strip().splitlines()]


def test_readme_starts_with_two_commands():
    setup, tests = readme_commands()
    assert "validate.py" in setup and "pip install" in setup
    assert "pytest" in tests


def test_ci_runs_the_readme_commands():
    script = (ROOT / ".ci" / "run").read_text()
    for command in readme_commands():
        assert command in script.splitlines(), command


def test_github_workflow_is_valid_yaml_running_the_same_commands():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "validate.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["validate"]["steps"]]
    for command in readme_commands():
        assert any(command in run for run in runs), command
    assert any("--format github" in run for run in runs)
    assert any("jakderm diff" in run and "GITHUB_STEP_SUMMARY" in run for run in runs)
    assert any("tests/R/run.R" in run for run in runs)
