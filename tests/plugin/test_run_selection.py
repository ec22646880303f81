"""The selection through pytest: the statement records the applicable set from the feature files, what was
selected and what did not run; a partial run is INCOMPLETE; a LabFault stops the session after the scenario that
met it, the others listed once as "not run: lab fault"; Outline rows carry their values."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FEATURE = """\
Feature: Selection plumbing

  @req:PZ-13 @pics:OTA.C
  Scenario: first passes
    Given a device
    Then the device behaves

  @req:PZ-13 @pics:OTA.C
  Scenario: second passes
    Given a device
    Then the device behaves

  @req:PZ-27 @pics:OTA.C
  Scenario Outline: an outline row (<case>)
    Given a device
    Then the device behaves

    Examples:
      | case  |
      | left  |
      | right |

  @req:PZ-11 @pics:OTA.C
  Scenario: a lab that cannot start
    Given a device
    Then the coordinator cannot be reached

  @req:HG-08 @pics:GB.HCALCS.CS06
  Scenario: not for this device
    Given a device
    Then the device behaves
"""

STEPS = """\
from pytest_bdd import given, then

from harness.verdicts import LabFault

pytest_plugins = ["harness.pytest_plugin"]


@given("a device")
def _():
    pass


@then("the device behaves")
def _():
    pass


@then("the coordinator cannot be reached")
def _():
    raise LabFault("the coordinator at /dev/ttyUSB9 does not exist. ACTION: plug it in")
"""


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    work = tmp_path / "work"
    if not work.exists():
        (work / "features").mkdir(parents=True)
        (work / "features" / "selection.feature").write_text(FEATURE)
        (work / "conftest.py").write_text(STEPS)
        (work / "test_bind.py").write_text('from pytest_bdd import scenarios\n\nscenarios("features")\n')
    run_dir = tmp_path / f"run{len(list(tmp_path.glob('run*')))}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--rootdir={work}",
            f"--run-dir={run_dir}",
            *args,
            str(work / "test_bind.py"),
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, json.loads((run_dir / "conformance.json").read_text())


def test_a_keyword_selection_is_recorded_and_the_run_is_incomplete(tmp_path: Path) -> None:
    proc, model = _run(tmp_path, "-k", "first")
    selection = model["selection"]
    assert selection["keyword"] == "first" and "-k" in selection["arguments"]
    assert (selection["planned"], selection["applicable"], selection["ran"]) == (6, 5, 1)
    assert {e["scenario"]: e["reason"] for e in selection["not_run"]} == {
        "second passes": "not selected (the run's pytest arguments left it out)",
        "an outline row (left)": "not selected (the run's pytest arguments left it out)",
        "an outline row (right)": "not selected (the run's pytest arguments left it out)",
        "a lab that cannot start": "not selected (the run's pytest arguments left it out)",
    }
    assert selection["other_role"] == {"role": None, "count": 0}  # no device folders in this test
    assert model["overall"] == "INCOMPLETE" and model["overall_of_selected"] == "PASS"
    rows = {r["id"]: r for r in model["requirements"]}
    assert rows["PZ-13"]["verdict"] is None and rows["PZ-13"]["coverage"].startswith("not run (1 of 2")
    assert rows["HG-08"]["coverage"] == "scenarios not applicable to this device (none selected)"
    assert proc.returncode == 0


def test_a_lab_fault_stops_the_run_after_the_scenario_that_met_it(tmp_path: Path) -> None:
    proc, model = _run(tmp_path)
    verdicts = {s["scenario"]: s["verdict"] for s in model["scenarios"]}
    assert verdicts["a lab that cannot start"] == "ERROR"
    assert "not for this device" not in verdicts  # after the fault: never started
    selection = model["selection"]
    assert selection["lab_fault"].startswith("the coordinator at /dev/ttyUSB9 does not exist")
    assert selection["stopped"].startswith("lab fault")
    assert [e["reason"] for e in selection["not_run"]] == []  # the fault came last among the applicable ones
    assert "Interrupted" in proc.stdout


def test_the_scenarios_after_a_lab_fault_are_listed_once_as_not_run(tmp_path: Path) -> None:
    fault = "  @req:PZ-11 @pics:OTA.C\n  Scenario: a lab that cannot start\n    Given a device\n"
    fault += "    Then the coordinator cannot be reached\n\n"
    head, body = FEATURE.split("\n\n", 1)
    work = tmp_path / "work"
    (work / "features").mkdir(parents=True)
    (work / "features" / "selection.feature").write_text(head + "\n\n" + fault + body.replace(fault, ""))
    (work / "conftest.py").write_text(STEPS)
    (work / "test_bind.py").write_text('from pytest_bdd import scenarios\n\nscenarios("features")\n')
    _, model = _run(tmp_path)
    assert [s["scenario"] for s in model["scenarios"]] == ["a lab that cannot start"]
    assert {e["reason"] for e in model["selection"]["not_run"]} == {"not run: lab fault"}
    assert len(model["selection"]["not_run"]) == 4 and model["overall"] == "INCOMPLETE"


def test_outline_rows_are_named_with_their_values(tmp_path: Path) -> None:
    _, model = _run(tmp_path, "-k", "outline")
    assert sorted(s["scenario"] for s in model["scenarios"]) == ["an outline row (left)", "an outline row (right)"]


@pytest.mark.parametrize("profile_role", ["ppmid"])
def test_the_applicable_set_of_the_project_comes_from_the_feature_files(profile_role: str) -> None:
    from harness.profile import load_run_profile
    from harness.pytest_plugin import FEATURES_DIR
    from harness.reports.selection import planned_scenarios

    planned = planned_scenarios(FEATURES_DIR, load_run_profile(None, {}))
    applicable = [p for p in planned if p.applicable]
    assert len(planned) == 89 and len(applicable) == 56  # the README's numbers for the emulated PPMID
    assert {p.role for p in planned if not p.applicable and p.role not in (None, profile_role)} == {"hcalcs"}
    assert len({p.key for p in planned}) == len(planned)
    assert "The PPMID ignores a broadcast Image Notify it must ignore (jitter 0)" in {p.scenario for p in planned}
