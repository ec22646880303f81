"""A warm worker's run says what a cold ``ota-conformance run`` says (tests/selfcheck/warm_runs.py).

The warm runs are made as the fault matrix and the variation self-check make them: verdicts only (no evidence
files, ``verdicts_only.py``) and without the pytest plugins a run never uses (``LEAN_RUN``); the cold ones as
an operator types the command.

One worker runs a sample of knobs one after another, across both emulated devices, so each run finds the
process as the runs before it left it (after the worker's reset); each statement must equal the statement
of the same run as a cold command: every scenario's verdict, message, requirements and tags, the totals,
the overall verdict and the requirement rows. What differs between any two runs, cold or warm, is left
out: the run's name and times, and each scenario's duration and evidence (the transcript's counts depend on
wall-clock timing between steps: zigpy's own permit-joining broadcasts, the blocks a device fetched before a
scenario stopped watching).

The same worker then makes each sample knob's run as the fault matrix makes it (``knob_reads.py``): only the
scenarios that read the knob in the compliant run, the others' results taken from that run. Every scenario's
result must equal the whole run's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from knob_reads import READS_FILE, knob_results
from warm_runs import LEAN_RUN, PROJECT_ROOT, WarmRunner

#: One xdist worker runs the whole module: its fixture's runs are made once, not once per worker.
pytestmark = pytest.mark.xdist_group("warm-vs-cold")

CLI = Path(sys.executable).parent / "ota-conformance"
PROFILES = {"ppmid": "profiles/emulated-ppmid.yaml", "hcalcs": "profiles/emulated-hcalcs.yaml"}
#: Worker order matters: the HCALCS first (its registries, its GBCS keys, the clusters it registers with
#: zigpy), then a PPMID knob that power-cycles the device (restored from the class-level key registry) and
#: sends CS09 alerts through the tunnel: a leak from the first run shows in the second's verdicts.
SAMPLE = [("hcalcs", "skip-mac-check"), ("ppmid", "lose-image-on-power-cycle")]


def _args(reports: Path, role: str, knob: str, run_id: str) -> list[str]:
    return [
        *("--profile", PROFILES[role], "--reports-dir", str(reports), "--run-id", run_id),
        *("--pixit", f"emulator.faults=[{knob}]", "--transfer-plots=off"),
    ]


def _judged(statement: Path) -> dict:
    """The statement without what differs between any two runs (see the module docstring)."""
    model = json.loads(statement.read_text())
    return {
        "totals": model["totals"],
        "overall": model["overall"],
        "requirements": model["requirements"],
        "scenarios": {
            s["nodeid"]: (s["verdict"], s["message"], s["requirement_ids"], s["tags"]) for s in model["scenarios"]
        },
    }


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[dict, dict, dict, int]]:
    """(warm, cold, as the fault matrix reads it, how many scenarios the matrix's run ran) for each sample knob."""
    reports = tmp_path_factory.mktemp("warm-vs-cold")
    warm: dict[tuple[str, str], dict] = {}
    matrix: dict[tuple[str, str], dict] = {}
    ran: dict[tuple[str, str], int] = {}  # scenarios the matrix-style run of the knob ran
    with WarmRunner(1, reports, verdicts_only=True) as runner:

        def run(role: str, knob: str, run_id: str, *extra: str) -> dict:
            outcome = runner.run([*_args(reports, role, knob, run_id), *LEAN_RUN, *extra], timeout=900)
            assert not outcome.error, outcome.error + outcome.log
            return _judged(reports / run_id / "conformance.json")

        for role, knob in SAMPLE:
            warm[role, knob] = run(role, knob, f"warm-{role}-{knob}")
        for role, knob in SAMPLE:
            compliant = run(role, "", f"compliant-{role}", "-p", "knob_reads")["scenarios"]
            reads = json.loads((reports / f"compliant-{role}" / READS_FILE).read_text())
            matrix[role, knob] = knob_results(
                lambda selection, r=role, k=knob: run(r, k, f"pruned-{r}-{k}", *selection)["scenarios"],
                *(compliant, reads, role, knob),
            )
            pruned = json.loads((reports / f"pruned-{role}-{knob}" / "conformance.json").read_text())
            ran[role, knob] = len(pruned["scenarios"])
    cold: dict[tuple[str, str], dict] = {}
    for role, knob in SAMPLE:
        command = [str(CLI), "run", *_args(reports, role, knob, f"cold-{role}-{knob}")]
        subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, timeout=900, check=False)
        cold[role, knob] = _judged(reports / f"cold-{role}-{knob}" / "conformance.json")
    return {run: (warm[run], cold[run], matrix[run], ran[run]) for run in SAMPLE}


@pytest.mark.parametrize(("role", "knob"), SAMPLE)
def test_a_warm_workers_statement_equals_the_cold_commands(statements, role, knob):
    warm, cold, *_ = statements[role, knob]
    assert warm["scenarios"].keys() == cold["scenarios"].keys()
    differing = {
        n: (warm["scenarios"][n], cold["scenarios"][n])
        for n in cold["scenarios"]
        if warm["scenarios"][n] != cold["scenarios"][n]
    }
    assert not differing, json.dumps(differing, indent=1)[:4000]
    assert warm == cold


def test_a_verdicts_only_run_writes_no_evidence_files_and_a_cold_one_does(statements, tmp_path_factory):
    reports = next(p for p in tmp_path_factory.getbasetemp().glob("warm-vs-cold*"))
    role, knob = SAMPLE[0]
    assert not (reports / f"warm-{role}-{knob}" / "evidence").exists()
    assert list((reports / f"cold-{role}-{knob}" / "evidence").glob("*/capture.pcapng"))


@pytest.mark.parametrize(("role", "knob"), SAMPLE)
def test_the_matrix_run_on_the_scenarios_that_read_the_knob_gives_the_whole_runs_results(statements, role, knob):
    whole, _, matrix, ran = statements[role, knob]
    assert 0 < ran < len(whole["scenarios"]) / 2  # only the scenarios that read the knob ran
    assert matrix.keys() == whole["scenarios"].keys()
    differing = {n: (matrix[n], whole["scenarios"][n]) for n in matrix if matrix[n] != whole["scenarios"][n]}
    assert not differing, json.dumps(differing, indent=1)[:4000]
