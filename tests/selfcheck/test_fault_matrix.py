"""The suite catches defects: the features against the compliant emulator and against each fault knob.

The knob → requirement tables are the ones written by hand in ``harness/emulator/faults.py`` (PPMID) and
``harness/emulator/hcalcs_faults.py`` (HCALCS); nothing here derives them from results. For each emulated
device the matrix runs ``ota-conformance run`` with its profile once compliant and once per knob, and
checks:

1. the compliant emulator: every scenario PASS or NOT_APPLICABLE;
2. each knob is caught: at least one scenario FAILs *for* a requirement the knob violates (the statement's
   step-level attribution, ``failed_requirements``: what the failing step checks and the scenario tags, else
   the step's own requirement), none of the scenarios about those requirements ends in ERROR or
   INCONCLUSIVE, and no FAIL is attributed only to other requirements and no other scenario ERRORs (the
   failure is reported for the right requirement). Other scenarios may end INCONCLUSIVE: a device that never
   queries cannot be judged on its download;
3. no scenario passes whatever the device does: every scenario with a device requirement FAILs under at
   least one knob of its requirements.

Point 2 does not demand that *every* scenario of the requirement fails under one knob: a requirement can
have scenarios in opposite directions (PZ-27: query after a unicast Image Notify, ignore some broadcasts),
which no single minimal defect breaks together; point 3 closes that gap scenario by scenario.

A knob's run runs only the scenarios that read the knob in the compliant run (``knob_reads.py``); every other
scenario runs the same with the knob on, so its verdict is the compliant run's. ``test_warm_runs.py`` checks
that against whole runs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from knob_reads import READS_FILE, knob_results  # which knobs each compliant scenario read
from warm_runs import LEAN_RUN, WarmRunner  # ota-conformance run in long-lived workers (tests/selfcheck/warm_runs.py)

from harness.emulator.faults import FAULTS
from harness.emulator.hcalcs_faults import HCALCS_FAULTS
from harness.emulator.knobs import Fault

pytestmark = pytest.mark.xdist_group("fault-matrix")

OK = {"PASS", "NOT_APPLICABLE"}
COLLATERAL = {"FAIL", "ERROR"}
COMPLIANT = ""


@dataclass(frozen=True)
class Role:
    """One emulated device: its profile, its knob catalogue, and which scenarios its matrix must account for."""

    profile: str
    faults: Mapping[str, Fault]
    #: Knobs whose defect makes every successful update impossible, so every scenario that needs one fails
    #: with them; the suite must still catch them for their own requirements (point 2), but their collateral
    #: failures are expected.
    pervasive: Mapping[str, str]
    #: Requirement-ID prefixes of the scenarios points 3 and 4 judge for this device. The HCALCS also runs the
    #: common scenarios (features/common); their OTA-client defects are proven by the PPMID matrix, whose
    #: OTA client the HCALCS shares, so its own matrix judges the HCALCS (HG) scenarios.
    scope: tuple[str, ...]


ROLES: dict[str, Role] = {
    "ppmid": Role(
        "profiles/emulated-ppmid.yaml",
        FAULTS,
        {"require-zigbee-subelements": "rejects every GB image, so no download scenario can pass"},
        ("",),
    ),
    "hcalcs": Role(
        "profiles/emulated-hcalcs.yaml",
        HCALCS_FAULTS,
        {"self-activate": "activates every image on download, so no CS06 finds it held"},
        ("HG-",),
    ),
}
KNOBS = [(role, knob) for role, spec in ROLES.items() for knob in sorted(spec.faults)]


Scenarios = dict[str, dict]


def _run(runner: WarmRunner, reports: Path, role: str, knob: str, selection: list[str]) -> Scenarios:
    run_id = f"{role}-{knob or 'compliant'}"
    args = ["--profile", ROLES[role].profile, "--reports-dir", str(reports), "--run-id", run_id]
    args += ["--pixit", f"emulator.faults=[{knob}]", "--transfer-plots=off", *LEAN_RUN]  # plots judge nothing
    args += selection
    outcome = runner.run(args, timeout=900)
    statement = reports / run_id / "conformance.json"
    if not statement.exists():
        raise AssertionError(f"{run_id}: no statement (exit {outcome.exit_code}):\n{outcome.error}{outcome.log}")
    return {s["scenario"]: s for s in json.loads(statement.read_text())["scenarios"]}


def matrix_runs(runner: WarmRunner, reports: Path, workers: int) -> dict[tuple[str, str], Scenarios]:
    """Each device's compliant run (recording which knobs each scenario read), then each knob's run on the
    scenarios that read it, the others' results taken from the compliant run (module docstring)."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        recorded = pool.map(lambda role: _run(runner, reports, role, COMPLIANT, ["-p", "knob_reads"]), ROLES)
        compliant = dict(zip(ROLES, recorded, strict=True))
        reads = {role: json.loads((reports / f"{role}-compliant" / READS_FILE).read_text()) for role in ROLES}

        def knob_run(role: str, knob: str) -> Scenarios:
            return knob_results(
                lambda selection: _run(runner, reports, role, knob, selection), compliant[role], reads[role], role, knob
            )

        knobs = dict(zip(KNOBS, pool.map(lambda run: knob_run(*run), KNOBS), strict=True))
    return {**{(role, COMPLIANT): scenarios for role, scenarios in compliant.items()}, **knobs}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Scenarios]:
    reports = tmp_path_factory.mktemp("matrix")
    workers = max(1, os.cpu_count() or 1)
    with WarmRunner(workers, reports, verdicts_only=True) as runner:
        return matrix_runs(runner, reports, workers)


def _summary(scenarios: dict[str, dict], names: set[str]) -> str:
    return json.dumps(
        {
            n: (scenarios[n]["verdict"], sorted(_failed_for(scenarios[n])), scenarios[n]["message"][:240])
            for n in sorted(names)
        },
        indent=1,
    )


def _failed_for(scenario: dict) -> set[str]:
    """The requirements a FAILed scenario is attributed to (every tag when the statement has no attribution)."""
    if scenario["verdict"] != "FAIL":
        return set()
    return set(scenario.get("failed_requirements") or scenario["requirement_ids"])


def _in_scope(role: str, scenario: dict) -> bool:
    return any(req.startswith(ROLES[role].scope) for req in scenario["requirement_ids"])


@pytest.mark.parametrize("role", list(ROLES))
def test_the_compliant_emulator_passes_every_applicable_scenario(matrix, role):
    scenarios = matrix[role, COMPLIANT]
    assert sum(s["verdict"] == "PASS" for s in scenarios.values()) >= 30
    bad = {name for name, s in scenarios.items() if s["verdict"] not in OK}
    assert not bad, _summary(scenarios, bad)


@pytest.mark.parametrize(("role", "knob"), KNOBS)
def test_each_fault_knob_is_caught_for_its_requirements_only(matrix, role, knob):
    violated = set(ROLES[role].faults[knob].requirements)
    scenarios = matrix[role, knob]
    targeted = {name for name, s in scenarios.items() if violated & (set(s["requirement_ids"]) | _failed_for(s))}
    assert targeted, f"no scenario is tagged with {sorted(violated)}: nothing can catch {knob!r}"
    failed = {name for name in targeted if violated & _failed_for(scenarios[name])}
    assert failed, f"{knob!r} ({sorted(violated)}) was not caught:\n{_summary(scenarios, targeted)}"
    no_verdict = {name for name in targeted if scenarios[name]["verdict"] not in OK | {"FAIL"}}
    assert not no_verdict, f"{knob!r} gave no verdict where it should be caught:\n{_summary(scenarios, no_verdict)}"
    if knob in ROLES[role].pervasive:
        return
    collateral = {
        name
        for name, s in scenarios.items()
        if (s["verdict"] == "FAIL" and not violated & _failed_for(s))
        or (name not in targeted and s["verdict"] in COLLATERAL)
    }
    assert not collateral, f"{knob!r} also failed unrelated requirements:\n{_summary(scenarios, collateral)}"


@pytest.mark.parametrize("role", list(ROLES))
def test_no_scenario_passes_whatever_the_device_does(matrix, role):
    compliant = matrix[role, COMPLIANT]
    caught = {name for r, knob in KNOBS if r == role for name, s in matrix[r, knob].items() if s["verdict"] == "FAIL"}
    applicable = {name for name, s in compliant.items() if s["verdict"] != "NOT_APPLICABLE" and _in_scope(role, s)}
    never_failed = applicable - caught
    assert not never_failed, f"scenarios no fault knob makes fail:\n{_summary(compliant, never_failed)}"


@pytest.mark.parametrize("role", list(ROLES))
def test_every_device_requirement_in_the_features_has_a_knob(matrix, role):
    tagged = {
        req
        for s in matrix[role, COMPLIANT].values()
        if s["verdict"] != "NOT_APPLICABLE" and _in_scope(role, s)
        for req in s["requirement_ids"]
    }
    covered = {req for fault in ROLES[role].faults.values() for req in fault.requirements}
    assert tagged <= covered, f"requirements in the features with no fault knob: {sorted(tagged - covered)}"
