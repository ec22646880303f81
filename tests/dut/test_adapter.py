"""The DUT adapter on the loopback radio (VirtualClock) with the test-only emulated PPMID: lifecycle, join,
attribute reads, power cycle, rogue node, capabilities and the lab-error paths."""

from __future__ import annotations

import dataclasses
import importlib.util
import json

import pytest
from dut_test_node import ScriptedPpmid, make_profile
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Activation
from harness.clock import Budget, RealClock
from harness.crypto.keystore import KeyStore
from harness.dut import CAPABILITIES, DEFAULT_EMULATORS, DutAdapter, PowerCycle, PowerLossSource, capabilities_for
from harness.dut.capabilities import PICS_CAPABILITIES, pics_mismatches
from harness.profile import load_run_profile
from harness.radio import RADIOS, LoopbackApp
from harness.transcript import Direction, Role
from harness.verdicts import DeviceFailure, Inconclusive, LabError, NotApplicable

DUT = "00-DB-12-34-56-78-90-A4"
Status = foundation.Status


@pytest.fixture
def hardware(tmp_path) -> dict[str, object]:
    """Overrides that make the default profile a hardware profile (an EZSP stick that is not there)."""
    newer = tmp_path / "newer.ota"
    newer.write_bytes(b"vendor image")
    return {
        "pixit.radio": "ezsp",
        "pixit.device_path": "/dev/ttyNOPE-harness-test",
        "pixit.images.newer": str(newer),
        "pics.GB.ADAPTER.POWER_CYCLE": False,
    }


def test_start_join_read_and_stop(joined, run, clock):
    device = joined.device
    assert str(joined.dut_eui64) == DUT and joined.joined and device.nwk == 0x4A21
    values = run(joined.read_attributes("ota", ["current_file_version", "image_upgrade_status"]))
    assert values == {"current_file_version": 0x01020300, "image_upgrade_status": Ota.ImageUpgradeStatus.Normal}
    assert values.failures == {}
    basic = run(joined.read_attributes("basic", ["model", "manufacturer", "date_code"]))
    assert basic["model"] == "EMU-PPMID" and "date_code" in basic.failures  # not supported by the node
    assert run(joined.is_operational())
    reads = [e for e in joined.transcript.to_dut("Read_Attributes") if e.decided_by == "adapter"]
    assert len(reads) == 3 and reads[0].decision == "read Ota current_file_version, image_upgrade_status"
    run(joined.stop())
    run(joined.stop())  # idempotent
    assert joined.app is None and repr(joined).endswith("stopped>")


def test_the_adapter_runs_on_the_loopback_loaded_as_module_and_class(clock, run):
    profile = make_profile(**{"pixit.radio": "harness.radio.loopback:LoopbackApp"})
    adapter = DutAdapter(profile, clock, KeyStore())
    try:
        run(adapter.start())
        device = run(adapter.join())
        assert adapter.capabilities.radio == "loopback" and isinstance(adapter.app, LoopbackApp)
        assert str(device.ieee) == DUT.replace("-", ":").lower()
    finally:
        run(adapter.stop())


def test_a_radio_that_fails_to_start_is_a_lab_error_with_an_operator_message(clock, run, hardware):
    profile = make_profile(**{**hardware, "pixit.radio": "dut_test_node:BrokenRadio"})
    adapter = DutAdapter(profile, clock, KeyStore())
    with pytest.raises(LabError) as caught:
        run(adapter.start())
    message = str(caught.value)
    assert message.startswith("ERROR: No verdict: the dut_test_node:BrokenRadio coordinator at")
    assert "failed to start (FileNotFoundError: " in message and "could not open port" in message
    assert "ACTION: check that the coordinator is connected and powered" in message
    assert "pixit.device_path" in message and adapter.app is None


def test_a_missing_device_path_is_a_lab_error(clock, run, hardware):
    adapter = DutAdapter(make_profile(**hardware), clock, KeyStore())
    with pytest.raises(LabError, match="device path /dev/ttyNOPE-harness-test does not exist") as caught:
        run(adapter.start())
    assert "/dev/serial/by-id/" in str(caught.value)


@pytest.mark.skipif(importlib.util.find_spec("zigpy_znp") is not None, reason="zigpy-znp is installed")
def test_a_radio_library_that_is_not_installed_is_a_lab_error(clock, run, hardware):
    profile = make_profile(**{**hardware, "pixit.radio": "znp", "pixit.device_path": "/dev/null"})
    with pytest.raises(LabError, match="pip install 'zigpy-znp"):
        run(DutAdapter(profile, clock, KeyStore()).start())


def test_an_emulator_class_that_cannot_be_loaded_is_a_lab_error(clock, run):
    adapter = DutAdapter(make_profile(**{"pixit.emulator.device_class": "no_such_module:Nope"}), clock, KeyStore())
    with pytest.raises(LabError, match="emulator class 'no_such_module:Nope' cannot be loaded"):
        run(adapter.start())


def test_a_dut_that_does_not_join_is_inconclusive_not_a_fail(clock, run):
    profile = make_profile(**{"pixit.emulator.device_class": "dut_test_node:SilentPpmid", "pixit.budgets.join": "30s"})
    adapter = DutAdapter(profile, clock, KeyStore())
    run(adapter.start())
    try:
        start = clock.now()
        with pytest.raises(Inconclusive) as caught:
            run(adapter.join())
        assert clock.now() - start == pytest.approx(30.0)
        message = str(caught.value)
        assert message.startswith(f"INCONCLUSIVE: No verdict: the DUT {DUT} did not join within join (30 s)")
        assert "check pixit.dut.eui64" in message
        with pytest.raises(Inconclusive, match="has not joined"):
            run(adapter.read_attributes("ota", ["current_file_version"]))
    finally:
        run(adapter.stop())


def test_power_cycle_rebuilds_the_device_from_its_persisted_bytes_and_it_rejoins(joined, run, clock):
    old = joined.node
    old.set_attribute(Ota.cluster_id, "file_offset", 96, side=ClusterType.Client)
    old.set_attribute(Ota.cluster_id, "image_upgrade_status", 1, side=ClusterType.Client)
    mark = joined.transcript.mark()
    start = clock.now()

    cycle = run(joined.power_cycle(off_for=5))
    assert cycle.back and cycle.method is PowerCycle.SNAPSHOT and cycle.source is PowerLossSource.ADAPTER
    assert cycle.loss_mark == mark and cycle.loss_time == start  # the adapter cut it at once, itself

    new = joined.node
    assert new is not old and type(new) is ScriptedPpmid and old.powered_off
    assert new.boots == 1 and old.boots == 1  # a fresh object (its own boot count), booted once
    assert new.snapshot() == old.snapshot()
    assert clock.now() - start >= 5
    decisions = [d.decision for d in joined.transcript.decisions(since=mark)]
    assert decisions[0].startswith("power off (") and decisions[1].startswith("power on")
    assert (
        decisions[2]
        == "power lost at t=0.000 s (cut by the adapter: the adapter cut the emulated device's power itself)"
    )
    assert joined.transcript.from_dut("Device_annce", since=mark)
    values = run(joined.read_attributes("ota", ["file_offset", "image_upgrade_status"]))
    assert values["file_offset"] == 96 and values["image_upgrade_status"] == 1  # persisted, through the radio


def test_power_cycle_and_rogue_node_are_not_applicable_where_the_bench_cannot(clock, run, hardware):
    adapter = DutAdapter(make_profile(**hardware, **{"pics.GB.ADAPTER.ROGUE_NODE": False}), clock, KeyStore())
    with pytest.raises(NotApplicable, match=r"only through pixit\.adapter\.power_cycle_command"):
        run(adapter.power_cycle())
    with pytest.raises(NotApplicable, match="cannot add a rogue node"):
        run(adapter.rogue_node())
    claims = DutAdapter(make_profile(**hardware), clock, KeyStore())  # declares ROGUE_NODE true
    assert claims.capability_problems() == [
        "the profile declares GB.ADAPTER.ROGUE_NODE true, but radio 'ezsp' cannot add a rogue node to the HAN "
        f"({CAPABILITIES['ezsp'].note})"
    ]
    with pytest.raises(LabError, match=r"declare GB\.ADAPTER\.ROGUE_NODE false"):
        run(claims.rogue_node())


def _command_adapter(command: str) -> tuple[DutAdapter, RealClock]:
    """A loopback adapter whose power cycling is declared to go through a command (the hardware path);
    on a real clock, because a subprocess does not follow virtual time."""
    clock = RealClock()
    profile = make_profile(**{"pixit.adapter.power_cycle_command": command})
    adapter = DutAdapter(profile, clock, KeyStore())
    adapter._capabilities = dataclasses.replace(CAPABILITIES["loopback"], power_cycle=PowerCycle.COMMAND)
    return adapter, clock


@pytest.mark.parametrize("command", ["exit 0", "echo relay stuck >&2; exit 3"])
def test_power_cycle_by_command_runs_the_profile_command(command):
    adapter, clock = _command_adapter(command)
    loop = clock.loop
    try:
        loop.run_until_complete(adapter.start())
        loop.run_until_complete(adapter.join())
        if command == "exit 0":
            # The command ran; this emulated device is not really switched, so it is not heard from again.
            assert loop.run_until_complete(adapter.power_cycle(budget=Budget("test", 0.2))).back is False
            assert "power cycle by command 'exit 0'" in [d.decision for d in adapter.transcript.decisions()]
        else:
            with pytest.raises(LabError, match="exited with status 3: relay stuck"):
                loop.run_until_complete(adapter.power_cycle())
    finally:
        loop.run_until_complete(adapter.stop())
        loop.close()


def test_rogue_node_frames_come_from_a_non_coordinator_address(joined, run, clock, image):
    rogue = run(joined.rogue_node())
    assert run(joined.rogue_node()) is rogue
    entry = run(rogue.image_notify(image))
    run(rogue.query_next_image_response(status=Status.NO_IMAGE_AVAILABLE))
    now = clock.zigbee_utc()
    upgrade_now = run(rogue.upgrade_end_response(image, Activation.NOW))
    run(clock.run_for(1))
    assert entry.src.role is Role.ROGUE and entry.src.nwk == 0x0BAD and entry.src.eui64 == str(rogue.eui64)
    assert entry.direction is Direction.TO_DUT and entry.dst.role is Role.DUT and entry.decided_by == "rogue"
    assert entry.delivered and entry.decision == "image_notify from a non-coordinator address (not from the CH)"
    assert entry.fields["new_file_version"] == image.file_version and entry.fields["payload_type"] == 3
    assert upgrade_now.fields["upgrade_time"] == upgrade_now.fields["current_time"] == now
    delivered = [p for p in joined.node.received if p.cluster_id == Ota.cluster_id and p.src.address == 0x0BAD]
    assert len(delivered) == 3
    assert joined.transcript.received_stimulus("image_notify", by="rogue")
    assert not joined.transcript.received_stimulus("image_notify", by="CH")
    assert "rogue 0x0BAD" in entry.to_line()


def test_each_scenario_gets_a_fresh_transcript_and_ch_state(joined, run, clock, image):
    joined.hub.hold(image)
    first = joined.transcript
    second = joined.begin_scenario("second scenario")
    joined.node.query_next_image()
    run(clock.run_for(1))
    assert joined.transcript is second and joined.hub.transcript is second
    assert second.ota_requests() and not first.ota_requests()
    assert second.last("query_next_image_response").fields["status"] == Status.NO_IMAGE_AVAILABLE  # no image


def test_evidence_holds_the_transcript_as_text_json_and_summary(joined):
    evidence = joined.evidence()
    assert len(evidence.text.splitlines()) == 1 + len(joined.transcript)
    assert json.loads(evidence.json)["summary"] == evidence.summary
    assert evidence.summary["suppressed"] == 1  # zigpy's interview Image Notify
    assert evidence.summary["frames"]["from DUT"]["Device_annce"] == 1


def test_the_capability_table_covers_every_radio_and_mirrors_the_pics_items():
    assert set(CAPABILITIES) == set(RADIOS)
    for role in ("ppmid", "hcalcs"):
        profile = load_run_profile(f"profiles/emulated-{role}.yaml")
        assert pics_mismatches(CAPABILITIES["loopback"], profile) == []
        assert all(profile.pics(item) is True for item in PICS_CAPABILITIES)  # the emulator can do both
        assert DEFAULT_EMULATORS[role].startswith("harness.emulator.")
    hardware = [caps for name, caps in CAPABILITIES.items() if name != "loopback"]
    assert all(not c.hosts_emulator and not c.rogue_node and c.power_cycle is PowerCycle.COMMAND for c in hardware)
    assert capabilities_for("harness.radio.loopback:LoopbackApp") is CAPABILITIES["loopback"]
    assert capabilities_for(type("VendorLoopback", (LoopbackApp,), {})) is CAPABILITIES["loopback"]
    assert capabilities_for(type("Other", (), {})).radio == "custom"


def test_ota_attribute_reads_and_the_operational_check_fail_the_device_only_on_its_own_answers(joined, run):
    assert run(joined.read_ota_attribute("current_file_version")) == 0x01020300
    with pytest.raises(DeviceFailure, match=r"report its OTA client attribute file_offset.*UNSUPPORTED_ATTRIBUTE"):
        run(joined.read_ota_attribute("file_offset"))  # the test node does not hold it until it downloads
    run(joined.assert_operational())
    joined.node.silent = True  # hung: receives everything, answers nothing
    with pytest.raises(DeviceFailure, match="stopped working"):
        run(joined.assert_operational(Budget("test read", 30)))


def test_watching_the_upgrade_status_samples_it_at_each_download_step(joined, run, clock):
    node = joined.node
    joined.watch_upgrade_status()
    run(clock.run_for(1))
    for status, send in ((1, lambda: node.image_block(0, 0x01020400)), (2, lambda: node.upgrade_end(0x01020400))):
        node.set_attribute(Ota.cluster_id, "image_upgrade_status", status, side=ClusterType.Client)
        send()
        run(clock.run_for(1))
    node.set_attribute(Ota.cluster_id, "image_upgrade_status", 0, side=ClusterType.Client)
    assert joined.watched_upgrade_statuses() == [0, 1, 2]
    joined.unwatch_upgrade_status()
    node.query_next_image()
    run(clock.run_for(1))
    assert joined.watched_upgrade_statuses() == [0, 1, 2]
    watch_reads = [e for e in joined.transcript.to_dut("Read_Attributes") if e.decision == "watch ImageUpgradeStatus"]
    assert len(watch_reads) == 3 and {e.decided_by for e in watch_reads} == {"adapter"}


def test_more_than_a_thousand_reads_in_a_row_each_answer_at_once_despite_the_sequence_number_wrap(joined, run, clock):
    """Every 256th read's answer repeats an earlier one octet for octet (same TSN, same value) within 10 s;
    zigpy drops such repeats, so its own reply matching would hang that read for 28 s."""
    budget = Budget("test read", 30)

    async def timed_read() -> tuple[float, object]:
        started = clock.now()
        values = await joined.read_attributes("ota", ["image_upgrade_status"], budget)
        return clock.now() - started, values["image_upgrade_status"]

    results = [run(timed_read()) for _ in range(1100)]
    assert max(elapsed for elapsed, _ in results) < 0.5
    assert {int(value) for _, value in results} == {0}
    assert len(joined.transcript.to_dut("Read_Attributes")) >= 1100


# The test node asks for 1,100 blocks of an image nobody offered: past the traffic a scenario expects (CS-22).
@pytest.mark.parametrize("profile", [make_profile(**{"pixit.limits.frames_margin": 10_000})])
def test_the_status_watcher_sees_a_one_second_state_after_more_than_a_thousand_reads(joined, run, clock):
    node = joined.node
    joined.watch_upgrade_status()
    node.set_attribute(Ota.cluster_id, "image_upgrade_status", 1, side=ClusterType.Client)
    for index in range(1100):  # a fast download: one sample per request, 1,100 of them within 10 s
        node.image_block(48 * index, 0x01020400)
        run(clock.run_for(0.005))
    node.set_attribute(Ota.cluster_id, "image_upgrade_status", 2, side=ClusterType.Client)
    node.upgrade_end(0x01020400)
    run(clock.run_for(1.0))  # the state lasts one second
    node.set_attribute(Ota.cluster_id, "image_upgrade_status", 0, side=ClusterType.Client)
    node.query_next_image()
    run(clock.run_for(1.0))
    seen = joined.watched_upgrade_statuses()
    assert len(seen) > 1000 and joined.watch_misses == 0
    assert seen[-2:] == [2, 0]


def test_a_dut_without_an_ota_client_on_the_profiles_endpoint_is_inconclusive(clock, run):
    profile = make_profile(
        **{"pixit.emulator.device_class": "dut_test_node:OtherEndpointPpmid", "pixit.dut.endpoint": 2}
    )
    adapter = DutAdapter(profile, clock, KeyStore())
    run(adapter.start())
    try:
        with pytest.raises(Inconclusive, match=r"endpoint 2 carries no OTA client cluster \(its endpoints: \[1\]\)"):
            run(adapter.join())
    finally:
        run(adapter.stop())
