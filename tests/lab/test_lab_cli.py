"""Lab faults end to end, as an operator meets them: ``ota-conformance run --radio ...`` in a subprocess.

Each path must end the affected scenarios as ERROR or INCONCLUSIVE with an operator message (what happened,
what to check), keep the evidence, exit with code 3 (no verdict) and never hang or show a Python traceback. A
fault no scenario can get past (the coordinator does not start) stops the run after the first scenario.
No hardware: the faults come from a closed or silent TCP port and from radio classes in ``lab_radios``
loaded by ``module:Class``, exactly as a vendor's radio would be. ``-k`` keeps each run to two scenarios.
"""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest
from lab_support import RunResult, closed_port, run_cli

NO_VERDICT = 3
#: One scenario with a download (Image Block Responses) and one without.
TWO_SCENARIOS = ["-k", "successful_download or unicast_image_notify"]
DOWNLOAD = "The PPMID reports a successful download only after receiving the whole image"
NOTIFY = "The PPMID queries the Communications Hub after a unicast Image Notify"
START_ACTION = "ACTION: check that the coordinator is connected and powered"


def _no_traceback(result: RunResult) -> None:
    """Neither Python's traceback nor pytest's failure excerpts: the operator reads verdicts and messages."""
    shown = result.out + result.err
    assert "Traceback (most recent call last)" not in shown
    assert "_ _ _ _" not in shown and "\nE   " not in shown, shown[-3000:]
    for scenario in result.statement["scenarios"]:
        if scenario["verdict"] not in ("PASS", "NOT_APPLICABLE"):  # each one named in the end-of-run summary
            assert f"{scenario['verdict']:<13} {scenario['scenario']}" in result.out


#: A real radio library when one is installed (bellows, the `ezsp` extra), else a radio class opening the socket.
CLOSED_PORT_RADIO = "ezsp" if importlib.util.find_spec("bellows") else "tests.lab.lab_radios:SocketRadio"


def _stopped_after_one(result: RunResult) -> None:
    """A fault no scenario can get past: one ERROR, the run stopped, the other scenario listed as not run."""
    assert list(result.verdicts.values()) == ["ERROR"], result.verdicts
    not_run = {e["scenario"]: e["reason"] for e in result.statement["selection"]["not_run"]}
    (other,) = {DOWNLOAD, NOTIFY} - set(result.verdicts)
    assert not_run.pop(other) == "not run: lab fault"
    assert set(not_run.values()) == {"not selected (the run's pytest arguments left it out)"}  # -k
    assert "LAB FAULT" in result.out and result.statement["overall"] == "INCOMPLETE"


def test_a_closed_coordinator_port_is_an_error_that_stops_the_run(tmp_path: Path, hardware_args) -> None:
    port = closed_port()
    result = run_cli(
        tmp_path / "reports",
        *TWO_SCENARIOS,
        "--radio", CLOSED_PORT_RADIO,
        "--device", f"socket://127.0.0.1:{port}",
        "--pixit", "flow_control=software",
        *hardware_args,
    )  # fmt: skip
    assert result.code == NO_VERDICT, result.out[-2000:] + result.err
    _stopped_after_one(result)
    for message in result.messages():
        assert f"coordinator at socket://127.0.0.1:{port} failed to start" in message
        assert "ConnectionRefusedError" in message and START_ACTION in message
    assert result.statement["run"]["clock"] == "real"
    assert "Exit code 3 (NO_VERDICT)" in result.out
    _no_traceback(result)


def test_a_coordinator_that_never_answers_is_an_error_after_budgets_start(tmp_path: Path, hardware_args) -> None:
    with socket.socket() as listener:  # accepts connections (the kernel's backlog) and never says a word
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        result = run_cli(
            tmp_path / "reports",
            "-k", "unicast_image_notify",
            "--radio", "tests.lab.lab_radios:SocketRadio",
            "--device", f"socket://127.0.0.1:{port}",
            "--pixit", "budgets.start=1s",
            *hardware_args,
        )  # fmt: skip
    assert result.code == NO_VERDICT, result.out[-2000:] + result.err
    assert result.verdicts == {NOTIFY: "ERROR"}
    (message,) = result.messages()
    assert "did not finish starting within coordinator start (1 s)" in message and START_ACTION in message
    _no_traceback(result)


def test_a_radio_that_fails_at_startup_is_an_error_that_stops_the_run(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "reports", *TWO_SCENARIOS, "--radio", "tests.lab.lab_radios:FailingLoopback")
    assert result.code == NO_VERDICT, result.out[-2000:] + result.err
    _stopped_after_one(result)
    for message in result.messages():
        assert "coordinator at loopback:// failed to start" in message
        assert "the test coordinator refuses to start on purpose" in message and START_ACTION in message
    assert result.statement["run"]["clock"] == "virtual"  # a loopback-derived radio runs the emulator
    _no_traceback(result)


def test_a_radio_lost_mid_transfer_is_an_error_and_keeps_the_evidence(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "reports", *TWO_SCENARIOS, "--radio", "tests.lab.lab_radios:DroppingLoopback")
    assert result.code == NO_VERDICT, result.out[-2000:] + result.err
    assert result.verdicts[DOWNLOAD] == "ERROR"  # the transfer was cut after 3 blocks: never the DUT's FAIL
    download = next(s for s in result.statement["scenarios"] if s["scenario"] == DOWNLOAD)
    assert "coordinator was lost during the scenario (ConnectionResetError: serial port closed" in download["message"]
    assert "ACTION: check the coordinator's cable, power and port" in download["message"]
    summary = download["evidence"]["transcript_summary"]  # the evidence up to the loss
    assert summary["frames"]["to DUT"]["image_block_response"] == 4  # 3 delivered, the 4th undelivered
    assert summary["decisions"]["radio lost"] == 1 and summary["undelivered"] == 1
    assert download["evidence"]["blocks_consumed"] >= 3
    _no_traceback(result)


def test_a_dut_that_does_not_join_within_its_budget_is_inconclusive(tmp_path: Path) -> None:
    radio = "tests.lab.lab_radios:DeafLoopback"
    result = run_cli(tmp_path / "reports", *TWO_SCENARIOS, "--radio", radio, "--pixit", "budgets.join=45s")
    assert result.code == NO_VERDICT, result.out[-2000:] + result.err
    assert result.verdicts == {DOWNLOAD: "INCONCLUSIVE", NOTIFY: "INCONCLUSIVE"}
    for message in result.messages():
        assert "did not join within join (45 s): no frame from it reached the coordinator" in message
        assert "ACTION: check that the DUT is powered and in range" in message
    _no_traceback(result)


@pytest.mark.xdist_group("seam")
def test_the_whole_suite_passes_with_the_loopback_loaded_as_an_external_radio(tmp_path: Path) -> None:
    """Proof of the seam: the built-in radio loaded like any vendor's module:Class runs every feature."""
    result = run_cli(tmp_path / "reports", "--radio", "harness.radio.loopback:LoopbackApp")
    assert result.code == 0, result.out[-3000:] + result.err
    verdicts = result.verdicts
    assert set(verdicts.values()) <= {"PASS", "NOT_APPLICABLE"}, {k: v for k, v in verdicts.items() if v != "PASS"}
    assert list(verdicts.values()).count("PASS") >= 40
    assert result.statement["run"]["radio"] == "harness.radio.loopback:LoopbackApp"
    _no_traceback(result)
