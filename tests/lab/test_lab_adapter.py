"""The adapter's lab paths in process, on the virtual clock: install-code joins, a radio lacking a capability,
a radio lost while a step waits, and the bench budgets read from the profile's PIXIT."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import zigpy.types as t
from lab_radios import KeyRecordingLoopback

from harness.clock import Budget
from harness.crypto.keystore import KeyStore
from harness.dut import DutAdapter
from harness.dut.capabilities import CAPABILITIES
from harness.profile import load_run_profile
from harness.transcript import Direction
from harness.verdicts import Inconclusive, LabError

#: The install code of the Zigbee specification's example and the link key it derives (AES-MMO hash).
INSTALL_CODE = "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5"
LINK_KEY = "66b6900981e1ee3ca4206b6b861c02bb"
DUT = t.EUI64.convert("00:db:12:34:56:78:90:a4")


def _adapter(clock, **overrides: object) -> DutAdapter:
    profile = load_run_profile(None, {"pixit.emulator.device_class": "lab_radios:LabNode", **overrides})
    return DutAdapter(profile, clock, KeyStore())


def test_an_install_code_join_admits_the_dut_with_the_derived_link_key(clock, run) -> None:
    KeyRecordingLoopback.calls.clear()
    adapter = _adapter(
        clock, **{"pixit.radio": "lab_radios:KeyRecordingLoopback", "pixit.dut.install_code": INSTALL_CODE}
    )
    run(adapter.start())
    try:
        device = run(adapter.join())
        ((node, key, seconds),) = KeyRecordingLoopback.calls
        assert (node, key.serialize().hex(), seconds) == (DUT, LINK_KEY, 120)  # budgets.join 2m
        assert device.ieee == DUT
        (decision,) = [e for e in adapter.transcript.decisions() if "install-code" in (e.decision or "")]
        assert decision.decision == "permit joining for 00-DB-12-34-56-78-90-A4 with its install-code link key"
    finally:
        run(adapter.stop())


def test_an_install_code_on_a_radio_that_cannot_use_it_is_an_error_naming_the_radio(clock, run) -> None:
    adapter = _adapter(clock, **{"pixit.dut.install_code": INSTALL_CODE})
    zigate = CAPABILITIES["zigate"]
    # The loopback bench, but with zigpy-zigate's install-code column (the library is not needed for this).
    adapter._capabilities = dataclasses.replace(
        CAPABILITIES["loopback"], radio="zigate", install_code_join=False, install_code_note=zigate.install_code_note
    )
    run(adapter.start())
    try:
        with pytest.raises(LabError) as caught:
            run(adapter.join())
    finally:
        run(adapter.stop())
    message = str(caught.value)
    assert message.startswith(
        "ERROR: No verdict: joining the DUT with pixit.dut.install_code needs install-code join, which radio "
        "'zigate' cannot do (zigpy-zigate cannot join with a link key"
    )
    assert "ACTION: run this scenario on a coordinator that can (see the capability table in docs/hardware" in message


def test_a_radio_lost_while_a_step_waits_ends_that_wait_and_every_later_one_as_error(clock, run) -> None:
    adapter = _adapter(clock)
    run(adapter.start())
    try:
        run(adapter.join())
        app = adapter.app
        lost = ConnectionResetError("serial port closed")
        clock.loop.call_later(5.0, app.connection_lost, lost)
        start = clock.now()
        with pytest.raises(LabError) as caught:
            run(adapter.transcript.wait_for(lambda entry: False, Budget("an answer", 600)))
        assert clock.now() - start == pytest.approx(5.0, abs=0.1)  # at the loss, not after the 600 s budget
        assert "coordinator was lost during the scenario (ConnectionResetError: serial port closed)" in str(
            caught.value
        )
        with pytest.raises(LabError):  # a wait the scenario starts afterwards fails too: never judged as silence
            run(clock.run_until(lambda: False, Budget("later", 600)))
        assert adapter.radio_lost is lost
        (entry,) = [e for e in adapter.transcript.decisions() if (e.decision or "").startswith("radio lost")]
        assert entry.direction is Direction.OTHER and entry.decided_by == "adapter"
    finally:
        clock.loop.run_until_complete(adapter.stop())  # not inside a clock verb: every one fails until stop()
    assert run(clock.run_until(lambda: False, Budget("after stop", 1))) is False  # the next scenario is clean


def test_the_bench_budgets_come_from_the_profile(clock, run) -> None:
    defaults = _adapter(clock)
    assert {name: defaults._budget(name).seconds for name in ("start", "stop", "coordinator_command")} == {
        "start": 60.0,
        "stop": 30.0,
        "coordinator_command": 30.0,
    }
    assert defaults._budget("power_cycle_command").seconds == 120.0
    assert defaults._budget("attribute_read").seconds == 90.0
    adapter = _adapter(clock, **{"pixit.budgets.attribute_read": "7s"})
    run(adapter.start())
    try:
        run(adapter.join())
        adapter.app.set_link_model(adapter.node, lambda packet, direction: None)  # the DUT goes out of range
        start = clock.now()
        with pytest.raises(Inconclusive, match=r"within ZCL attribute read \(7 s\)"):
            run(adapter.read_attributes("basic", ["zcl_version"]))
        assert clock.now() - start == pytest.approx(7.0)
    finally:
        run(adapter.stop())


def test_ezsp_without_flow_control_is_refused_before_the_port_is_opened(clock, run, tmp_path: Path) -> None:
    newer = tmp_path / "newer.ota"
    newer.write_bytes(b"vendor image")
    adapter = _adapter(
        clock,
        **{
            "pixit.radio": "ezsp",
            "pixit.device_path": "socket://127.0.0.1:9",
            "pixit.images.newer": str(newer),
            "pixit.adapter.state_dir": str(tmp_path / "state"),
            "pics.GB.ADAPTER.POWER_CYCLE": False,
        },
    )
    with pytest.raises(LabError) as caught:
        run(adapter.start())
    message = str(caught.value)
    assert "radio 'ezsp' cannot use flow_control 'none'" in message and "XON/XOFF" in message
    assert "ACTION: fix the profile (pixit.flow_control" in message and adapter.app is None
