"""The suite catches defects: the features against the compliant emulator and against each fault knob.

The knob → requirement table is the one written by hand in ``harness/emulator/faults.py``; nothing here
derives it from results. The matrix runs ``ota-conformance run`` once compliant and once per knob, and
checks:

1. the compliant emulator: every scenario PASS or NOT_APPLICABLE;
2. each knob is caught: at least one scenario tagged with a requirement the knob violates FAILs (the
   device's failure, not an error or a missing verdict), none of them ends in ERROR or INCONCLUSIVE, and no
   scenario of any other requirement FAILs or ERRORs (the failure is reported for the right requirement).
   Other scenarios may end INCONCLUSIVE: a device that never queries cannot be judged on its download;
3. no scenario passes whatever the device does: every scenario with a device requirement FAILs under at
   least one knob of its requirements.

Point 2 does not demand that *every* scenario of the requirement fails under one knob: a requirement can
have scenarios in opposite directions (PZ-27: query after a unicast Image Notify, ignore some broadcasts),
which no single minimal defect breaks together; point 3 closes that gap scenario by scenario.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.emulator.faults import FAULTS

pytestmark = pytest.mark.xdist_group("fault-matrix")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"
OK = {"PASS", "NOT_APPLICABLE"}
COLLATERAL = {"FAIL", "ERROR"}
COMPLIANT = ""

#: Knobs whose defect makes every successful update impossible, so every scenario that needs one fails
#: with them. A device that rejects every GB image (CS-07) cannot pass a download scenario; the suite must
#: still catch it in the CS-07 scenario, which point 2 checks, but its collateral failures are expected.
PERVASIVE = {"require-zigbee-subelements": "rejects every GB image, so no download scenario can pass"}


def _run(reports: Path, knob: str) -> dict[str, dict]:
    run_id = knob or "compliant"
    command = [str(CLI), "run", "--reports-dir", str(reports), "--run-id", run_id]
    command += ["--pixit", f"emulator.faults=[{knob}]"]
    proc = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900, check=False)
    statement = reports / run_id / "conformance.json"
    if not statement.exists():
        raise AssertionError(
            f"{run_id}: no statement (exit {proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return {s["scenario"]: s for s in json.loads(statement.read_text())["scenarios"]}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    reports = tmp_path_factory.mktemp("matrix")
    knobs = [COMPLIANT, *sorted(FAULTS)]
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        return dict(zip(knobs, pool.map(lambda knob: _run(reports, knob), knobs), strict=True))


def _summary(scenarios: dict[str, dict], names: set[str]) -> str:
    return json.dumps({n: (scenarios[n]["verdict"], scenarios[n]["message"][:240]) for n in sorted(names)}, indent=1)


def test_the_compliant_emulator_passes_every_applicable_scenario(matrix):
    scenarios = matrix[COMPLIANT]
    assert len(scenarios) >= 40
    bad = {name for name, s in scenarios.items() if s["verdict"] not in OK}
    assert not bad, _summary(scenarios, bad)


@pytest.mark.parametrize("knob", sorted(FAULTS))
def test_each_fault_knob_is_caught_for_its_requirements_only(matrix, knob):
    violated = set(FAULTS[knob].requirements)
    scenarios = matrix[knob]
    targeted = {name for name, s in scenarios.items() if violated & set(s["requirement_ids"])}
    assert targeted, f"no scenario is tagged with {sorted(violated)}: nothing can catch {knob!r}"
    failed = {name for name in targeted if scenarios[name]["verdict"] == "FAIL"}
    assert failed, f"{knob!r} ({sorted(violated)}) was not caught:\n{_summary(scenarios, targeted)}"
    no_verdict = {name for name in targeted if scenarios[name]["verdict"] not in OK | {"FAIL"}}
    assert not no_verdict, f"{knob!r} gave no verdict where it should be caught:\n{_summary(scenarios, no_verdict)}"
    if knob in PERVASIVE:
        return
    collateral = {name for name, s in scenarios.items() if name not in targeted and s["verdict"] in COLLATERAL}
    assert not collateral, f"{knob!r} also failed unrelated scenarios:\n{_summary(scenarios, collateral)}"


def test_no_scenario_passes_whatever_the_device_does(matrix):
    compliant = matrix[COMPLIANT]
    caught = {name for knob in FAULTS for name, s in matrix[knob].items() if s["verdict"] == "FAIL"}
    applicable = {name for name, s in compliant.items() if s["verdict"] != "NOT_APPLICABLE"}
    never_failed = applicable - caught
    assert not never_failed, f"scenarios no fault knob makes fail:\n{_summary(compliant, never_failed)}"


def test_every_device_requirement_in_the_features_has_a_knob(matrix):
    tagged = {req for s in matrix[COMPLIANT].values() for req in s["requirement_ids"]}
    covered = {req for fault in FAULTS.values() for req in fault.requirements}
    assert tagged <= covered, f"requirements in the features with no fault knob: {sorted(tagged - covered)}"
