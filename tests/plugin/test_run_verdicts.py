"""End to end through pytest: each verdict a step can produce lands as the mapping table says, in pytest's
outcome, in junit.xml, in Allure's status and labels, and in conformance.json."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

FEATURE = """\
Feature: Verdict plumbing

  @req:PZ-13 @pics:OTA.C
  Scenario: a compliant device passes
    Given a device
    Then the device behaves

  @req:PZ-14 @pics:OTA.C @assumption
  Scenario: a device that misbehaves fails
    Given a device
    Then the device misbehaves

  @req:PZ-11 @pics:OTA.C
  Scenario: a device that never got the stimulus gives no verdict
    Given a device
    Then the stimulus never reached the device

  @req:PZ-12 @pics:OTA.C
  Scenario: a lab fault is an error
    Given a device
    Then the radio disappears

  @req:PZ-20 @pics:OTA.C
  Scenario: an async step cannot pass silently
    Given a device
    Then an async step asserts false

  @req:HG-08 @pics:GB.HCALCS.CS06
  Scenario: a scenario whose PICS item is false is not applicable
    Given a device
    Then the device behaves

  @req:PZ-24 @req:PZ-13 @req:PZ-26 @pics:OTA.C
  Scenario: a failing step blames only what it checks
    Given a device
    Then the device behaves
    And the new version is reported wrongly
    And the identity is checked afterwards

  @req:PZ-23 @pics:OTA.C
  Scenario: a failing step whose requirement is not tagged blames its own
    Given a device
    Then the CS08 answer is missing
"""

STEPS = """\
import pytest
from pytest_bdd import given, scenarios, then

from harness.bdd.checks import checks
from harness.verdicts import DeviceFailure, Inconclusive, LabError

pytest_plugins = ["harness.pytest_plugin"]


@given("a device")
def _():
    pass


@then("the device behaves")
@checks("PZ-13")
def _():
    pass


@then("the new version is reported wrongly")
@checks("PZ-24", "PZ-22")
def _():
    raise DeviceFailure("expected CurrentFileVersion 0x0200, observed 0x0100", requirements=["PZ-24"])


@then("the identity is checked afterwards")
@checks("PZ-26")
def _():
    pass


@then("the CS08 answer is missing")
@checks("PZ-28", "PZ-29")
def _():
    raise DeviceFailure("expected a CS08 response, observed none")


@then("the device misbehaves")
def _():
    assert 1 == 2, "expected CurrentFileVersion 0x0200, observed 0x0100"


@then("the stimulus never reached the device")
def _():
    raise Inconclusive("the device never received the Image Notify")


@then("the radio disappears")
def _():
    raise LabError("the coordinator stopped answering")


@then("an async step asserts false")
async def _():
    assert False
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("verdicts")
    (work / "features").mkdir()
    (work / "features" / "plumbing.feature").write_text(FEATURE)
    (work / "conftest.py").write_text(STEPS)
    (work / "test_bind.py").write_text('from pytest_bdd import scenarios\n\nscenarios("features")\n')
    run_dir = work / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--rootdir={work}",
            f"--junitxml={run_dir / 'junit.xml'}",
            f"--alluredir={run_dir / 'allure'}",
            f"--run-dir={run_dir}",
            str(work / "test_bind.py"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, run_dir


def _by_scenario(run_dir: Path) -> dict[str, dict]:
    model = json.loads((run_dir / "conformance.json").read_text())
    return {s["scenario"]: s for s in model["scenarios"]}


EXPECTED = {
    "a compliant device passes": ("PASS", None, "passed"),
    "a device that misbehaves fails": ("FAIL", "failure", "failed"),
    "a device that never got the stimulus gives no verdict": ("INCONCLUSIVE", "error", "broken"),
    "a lab fault is an error": ("ERROR", "error", "broken"),
    "an async step cannot pass silently": ("ERROR", "error", "broken"),
    "a scenario whose PICS item is false is not applicable": ("NOT_APPLICABLE", "skipped", "skipped"),
    "a failing step blames only what it checks": ("FAIL", "failure", "failed"),
    "a failing step whose requirement is not tagged blames its own": ("FAIL", "failure", "failed"),
}


def test_the_statement_records_each_verdict(run):
    proc, run_dir = run
    scenarios = _by_scenario(run_dir)
    assert {name: s["verdict"] for name, s in scenarios.items()} == {k: v[0] for k, v in EXPECTED.items()}, proc.stdout
    assert "observed 0x0100" in scenarios["a device that misbehaves fails"]["message"]
    assert scenarios["a device that never got the stimulus gives no verdict"]["message"].startswith("INCONCLUSIVE:")
    assert "GB.HCALCS.CS06 is false" in scenarios["a scenario whose PICS item is false is not applicable"]["message"]
    assert "sync_step" in scenarios["an async step cannot pass silently"]["message"]


def test_junit_distinguishes_failure_error_and_skip(run):
    _, run_dir = run
    root = ET.parse(run_dir / "junit.xml").getroot()
    kinds = {}
    for case in root.iter("testcase"):
        children = {child.tag for child in case} & {"failure", "error", "skipped"}
        kinds[case.get("name")] = children.pop() if children else None
    by_name = {name: kinds[next(k for k in kinds if k.endswith(_pytest_name(name)))] for name in EXPECTED}
    assert by_name == {k: v[1] for k, v in EXPECTED.items()}


def _pytest_name(scenario: str) -> str:
    return "test_" + scenario.lower().replace(" ", "_")


def test_allure_status_and_verdict_labels(run):
    _, run_dir = run
    results = [json.loads(p.read_text()) for p in (run_dir / "allure").glob("*-result.json")]
    status = {r["name"]: r["status"] for r in results}
    assert status == {k: v[2] for k, v in EXPECTED.items()}
    inconclusive = next(r for r in results if r["name"].startswith("a device that never"))
    assert {"name": "verdict", "value": "INCONCLUSIVE"} in inconclusive["labels"]


def test_the_requirement_verdicts_and_exit_code(run):
    proc, run_dir = run
    model = json.loads((run_dir / "conformance.json").read_text())
    requirements = {r["id"]: r for r in model["requirements"]}
    assert requirements["PZ-13"]["verdict"] == "PASS"
    assert requirements["PZ-14"]["verdict"] == "FAIL"
    assert requirements["PZ-11"]["verdict"] == "INCONCLUSIVE"
    assert requirements["HG-08"]["verdict"] == "NOT_APPLICABLE"
    assert requirements["PZ-05"]["coverage"].startswith("not a device scenario")
    assert requirements["PZ-09"]["coverage"] == "gap: no scenario yet"
    assert model["run"]["undeclared_pics"] == []
    assert '<td class="FAIL">FAIL</td>' in (run_dir / "conformance.html").read_text()
    assert proc.returncode == 1


def test_a_fail_is_attributed_to_the_requirements_its_step_checks(run):
    """Step-level attribution: the FAIL goes to what the failing step checks and the scenario tags; a tag an
    earlier step decided keeps PASS, one a later step would have checked is INCONCLUSIVE; a step whose
    requirements the scenario does not tag blames its own (first) requirement, labelled as such."""
    _, run_dir = run
    model = json.loads((run_dir / "conformance.json").read_text())
    scenarios = {s["scenario"]: s for s in model["scenarios"]}
    narrowed = scenarios["a failing step blames only what it checks"]
    assert narrowed["failed_requirements"] == ["PZ-24"] and narrowed["undecided_requirements"] == ["PZ-26"]
    assert narrowed["failure_attribution"]["rule"] == "tagged"
    assert narrowed["failure_attribution"]["step"] == "And the new version is reported wrongly"
    own = scenarios["a failing step whose requirement is not tagged blames its own"]
    assert own["failed_requirements"] == ["PZ-28"] and own["failure_attribution"]["rule"] == "step"
    assert "not tagged on this scenario" in own["failure_attribution"]["note"]
    whole = scenarios["a device that misbehaves fails"]  # its step declares nothing: every tag
    assert whole["failed_requirements"] == ["PZ-14"] and whole["failure_attribution"]["rule"] == "scenario"
    assert (
        "failed_requirements" not in scenarios["a compliant device passes"]
        or not scenarios["a compliant device passes"]["failed_requirements"]
    )
    requirements = {r["id"]: r for r in model["requirements"]}
    assert requirements["PZ-24"]["verdict"] == "FAIL" and requirements["PZ-26"]["verdict"] == "INCONCLUSIVE"
    assert requirements["PZ-28"]["verdict"] == "FAIL" and requirements["PZ-23"]["verdict"] == "INCONCLUSIVE"
    row = next(r for r in requirements["PZ-13"]["scenarios"] if r["scenario"] == narrowed["scenario"])
    assert (row["verdict"], row["requirement_verdict"]) == ("FAIL", "PASS")


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("features/ppmid/download.feature", "ppmid"),
        ("features/hcalcs/cs06.feature", "hcalcs"),
        ("features/common/security.feature", None),
    ],
)
def test_a_feature_folder_names_the_device_role_it_is_written_for(path, role):
    from harness.pytest_plugin import feature_role

    assert feature_role(str(PROJECT_ROOT / path)) == role
