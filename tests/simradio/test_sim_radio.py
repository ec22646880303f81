"""Virtual time for any simulated device: an independently written ``module:Class`` radio (``SimRadio``, not
derived from the loopback) hosting a simulated PPMID with its own images and keys runs the suite's scenarios
on virtual time in seconds; the statement, the certification report and the progress lines say so; its
in-process ``power_cycle`` is used, and the instant of the power loss is taken from it or, when it does not
report one, from the transcript. Each run is ``ota-conformance run`` in a subprocess, as a vendor types it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bench import SIM_RADIO, write_sim_bench

from harness.dut.capabilities import PowerCycle, capabilities_for
from harness.profile import load_profile
from harness.radio.loopback import LoopbackApp
from tests.lab.lab_support import RunResult, run_cli

#: A download, a downgrade, activation waits of hours (hold, re-ask), a power cycle in a download and one waiting.
SUBSET = "successful_download or older_image or upgradetime_0xffffffff or resumes or verified_image_waiting"


def run_sim(tmp_path: Path, profile: Path, *extra: str) -> tuple[RunResult, dict]:
    result = run_cli(tmp_path / "reports", "--profile", str(profile), *extra)
    assert result.statement, result.out[-3000:] + result.err[-3000:]
    return result, result.statement


def test_the_simulation_radio_is_independent_of_the_loopback_and_power_cycles_itself() -> None:
    from sim_radio import SimRadio

    assert not issubclass(SimRadio, LoopbackApp)
    assert capabilities_for(SimRadio).power_cycle is PowerCycle.IN_PROCESS


def test_a_simulated_device_runs_hours_of_scenarios_on_virtual_time_in_seconds(tmp_path: Path) -> None:
    profile = write_sim_bench(tmp_path / "bench")
    setup = load_profile(profile).setup
    assert setup.simulation and setup.clock.value == "virtual" and setup.radio == SIM_RADIO
    started = time.monotonic()
    result, statement = run_sim(tmp_path, profile, "-k", SUBSET, "--progress")
    wall = time.monotonic() - started
    verdicts = {s["scenario"]: s["verdict"] for s in statement["scenarios"]}
    assert len(verdicts) == 6 and set(verdicts.values()) == {"PASS"}, verdicts
    assert result.code == 0 and wall < 120
    assert "6 scenarios on the virtual clock (clock: virtual, chosen in the profile)" in result.err
    assert "3 h 0" in result.err  # the UpgradeTime 0xFFFFFFFF scenario's three hours, in well under a minute
    run = statement["run"]
    assert run["clock"] == "virtual" and run["simulation"] is True and run["radio"] == SIM_RADIO
    assert run["target"].startswith("a simulation of the device") and run["image_source"].startswith("vendor")
    certification = (tmp_path / "reports" / "run" / "certification.html").read_text()
    assert "A simulation, not the device." in certification
    cycles = [c for s in statement["scenarios"] for c in s["evidence"].get("power_cycles", [])]
    assert len(cycles) == 2 and {c["method"] for c in cycles} == {"in-process"}
    assert {c["instant_source"] for c in cycles} == {"reported by the radio"}


def test_a_simulation_that_does_not_report_the_cut_is_judged_from_the_transcript(tmp_path: Path) -> None:
    profile = write_sim_bench(tmp_path / "bench", latency_s=2, report=False)
    _, statement = run_sim(tmp_path, profile, "-k", "verified_image_waiting or power_loss_during_activation")
    assert {s["verdict"] for s in statement["scenarios"]} == {"PASS"}, statement["scenarios"]
    cycles = [c for s in statement["scenarios"] for c in s["evidence"].get("power_cycles", [])]
    assert len(cycles) == 2 and {c["instant_source"] for c in cycles} == {"evidence"}


@pytest.mark.parametrize("radio", ["ezsp", "zigate"])
def test_virtual_time_on_a_radio_library_is_a_usage_error(tmp_path: Path, radio: str) -> None:
    result = run_cli(
        tmp_path / "reports", "--radio", radio, "--device", "socket://127.0.0.1:1", "--clock", "virtual", "--dry-run",
        "--pixit", f"images.newer={tmp_path / 'none.ota'}",
    )  # fmt: skip
    assert result.code == 2, result.out + result.err
    assert f"virtual time cannot run radio '{radio}': it is a real coordinator" in result.err
    assert "Traceback" not in result.err
