"""docs/nightly.md shows the same workflow as docs/nightly-workflow.example.yml, and that workflow runs only
the README's commands and fails on the run's exit code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_doc_embeds_the_example_workflow_verbatim():
    (block,) = re.findall(r"```yaml\n(.*?)```", (DOCS / "nightly.md").read_text(), flags=re.S)
    assert block == (DOCS / "nightly-workflow.example.yml").read_text()


def test_the_workflow_runs_the_readme_commands_keeps_history_and_fails_on_the_run_exit_code():
    steps = yaml.safe_load((DOCS / "nightly-workflow.example.yml").read_text())["jobs"]["conformance"]["steps"]
    commands = [line.strip() for s in steps for line in s.get("run", "").splitlines()]
    assert "make test" in commands and "make report" in commands
    run = next(c for c in commands if c.startswith(".venv/bin/ota-conformance run --reports-dir reports"))
    run_dir = "reports/" + run.split("--run-id ")[1].strip('"')
    # make report writes beside the run, and the run's signature is checked after it, on the same directory
    assert f'.venv/bin/ota-conformance verify "{run_dir}" --quiet' in commands
    assert commands.index("make report") < next(i for i, c in enumerate(commands) if "ota-conformance verify" in c)
    assert any(c.startswith("make variation SEEDS=") for c in commands)  # docs/variation.md
    uses = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert uses["actions/cache/save"]["with"]["path"] == "reports/allure-history.jsonl"
    assert uses["actions/cache/save"]["if"] == "always()"
    assert "!reports/.allure-cli/" in uses["actions/upload-artifact"]["with"]["path"]
    verdict = steps[-1]["run"]
    for code in (1, 2, 3):
        assert f"{code}) echo" in verdict and f"exit {code} ;;" in verdict
