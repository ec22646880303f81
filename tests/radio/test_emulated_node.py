"""The emulated-device protocol and base node: ZCL general rules, hooks and persistence."""

from __future__ import annotations

import pytest
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.emulator import EmulatedDevice, EmulatedZigbeeNode
from harness.radio import FrameDirection
from harness.radio.frames import zcl_frame

GC = foundation.GeneralCommand
DEFAULT_RSP = foundation.GENERAL_COMMANDS[GC.Default_Response].schema


def _default_response_status(frame) -> foundation.Status:
    header = frame.zcl_header()
    assert header.command_id == GC.Default_Response
    response, _ = DEFAULT_RSP.deserialize(frame.data[3:])
    return response.status


def test_the_base_node_satisfies_the_emulated_device_protocol(node):
    assert isinstance(node, EmulatedDevice)


def test_basic_attributes_are_typed_by_zigpys_cluster_definitions(node):
    assert node.get_attribute(Basic.cluster_id, "physical_env") == 1
    assert isinstance(node.get_attribute(Basic.cluster_id, "power_source"), Basic.PowerSource)
    assert node.get_attribute(Basic.cluster_id, 0x0005) == "EMU-PPMID"
    assert node.simple_descriptor().profile == 0x0109
    assert node.simple_descriptor().device_type == 0x0506


def test_unsupported_attributes_are_reported_per_record(joined, run):
    success, failure = run(joined.endpoints[1].basic.read_attributes(["model", "serial_number"]))
    assert success == {"model": "EMU-PPMID"}
    assert failure == {"serial_number": foundation.Status.UNSUPPORTED_ATTRIBUTE}


@pytest.mark.parametrize(
    ("cluster_id", "data", "status"),
    [
        # Metering is not a cluster of this node.
        (
            0x0702,
            zcl_frame(0x00, b"", tsn=1, direction=foundation.Direction.Client_to_Server),
            foundation.Status.UNSUPPORTED_CLUSTER,
        ),
        # Basic "reset to factory defaults": the base node implements no cluster command.
        (
            Basic.cluster_id,
            zcl_frame(0x00, b"", tsn=2, direction=foundation.Direction.Client_to_Server),
            foundation.Status.UNSUP_CLUSTER_COMMAND,
        ),
        # Write_Attributes is a general command the base node does not support.
        (
            Basic.cluster_id,
            zcl_frame(
                GC.Write_Attributes,
                b"\x10\x00\x42\x01x",
                tsn=3,
                cluster_specific=False,
                direction=foundation.Direction.Client_to_Server,
            ),
            foundation.Status.UNSUP_GENERAL_COMMAND,
        ),
        # A Read_Attributes whose attribute list is cut in half.
        (
            Basic.cluster_id,
            zcl_frame(
                GC.Read_Attributes,
                b"\x04",
                tsn=4,
                cluster_specific=False,
                direction=foundation.Direction.Client_to_Server,
            ),
            foundation.Status.MALFORMED_COMMAND,
        ),
    ],
)
def test_the_node_answers_errors_with_a_default_response(app, joined, tap, run, clock, cluster_id, data, status):
    mark = tap.mark()
    run(app.send_raw_zcl(joined, 1, cluster_id, data, profile_id=0x0109))
    run(clock.run_for(1))
    (answer,) = tap.select(FrameDirection.IN, cluster_id, since=mark)
    assert answer.zcl_header().tsn == data[1]
    assert _default_response_status(answer) == status


def test_success_is_default_responded_only_when_the_sender_asked(app, joined, node, tap, run, clock):
    def accept(endpoint, cluster_id, hdr, payload):
        return foundation.Status.SUCCESS

    node.on_cluster_command = accept  # type: ignore[method-assign]
    mark = tap.mark()
    for tsn, disable in ((5, True), (6, False)):
        frame = zcl_frame(
            0x00,
            b"",
            tsn=tsn,
            direction=foundation.Direction.Client_to_Server,
            disable_default_response=disable,
        )
        run(app.send_raw_zcl(joined, 1, Basic.cluster_id, frame))
    run(clock.run_for(1))
    answers = tap.select(FrameDirection.IN, Basic.cluster_id, since=mark)
    assert [a.zcl_header().tsn for a in answers] == [6]
    assert _default_response_status(answers[0]) == foundation.Status.SUCCESS


def test_cluster_commands_reach_the_subclass_hook(app, joined, node, run, clock):
    payload = Ota.ClientCommandDefs.image_notify.schema(payload_type=0, query_jitter=50).serialize()
    run(app.send_ota_frame(joined, "image_notify", payload, tsn=0x33))
    run(clock.run_for(1))
    endpoint, cluster_id, hdr, received = node.cluster_commands[-1]
    assert (endpoint, cluster_id, hdr.tsn, received) == (1, Ota.cluster_id, 0x33, payload)
    assert hdr.direction == foundation.Direction.Server_to_Client


def test_snapshot_and_restore_rebuild_the_device_from_its_persisted_bytes(make_node):
    node = make_node(model="PPMID-X", file_version=0x10, manufacturer_code=0x1001)
    node.set_attribute(Ota.cluster_id, "current_file_version", 0x00020003, side=ClusterType.Client)
    node.set_attribute(Ota.cluster_id, "image_upgrade_status", 2, side=ClusterType.Client)
    data = node.snapshot()

    restored = type(node).restore(data)
    assert restored is not node and (restored.ieee, restored.nwk) == (node.ieee, node.nwk)
    assert restored.attributes == node.attributes
    assert restored.config == node.config
    assert restored.get_attribute(Ota.cluster_id, "image_upgrade_status", side=ClusterType.Client) == (
        Ota.ImageUpgradeStatus.Download_complete
    )
    assert restored.snapshot() == data
    assert type(node).restore(data, nwk=0x7777).nwk == 0x7777  # a rejoin with a new address


def test_a_snapshot_cannot_be_restored_as_another_device_type(node):
    with pytest.raises(ValueError, match="cannot be restored as"):
        EmulatedZigbeeNode.restore(node.snapshot())


def test_a_power_cycled_node_rejoins_from_its_snapshot(app, joined, node, run, clock, join):
    node.set_attribute(Ota.cluster_id, "current_file_version", 0x0000_0002, side=ClusterType.Client)
    app.detach_node(node)
    reborn = type(node).restore(node.snapshot())
    device = run(join(app, reborn))
    ota = device.endpoints[1].out_clusters[Ota.cluster_id]
    success, _ = run(ota.read_attributes(["current_file_version"]))
    assert success == {"current_file_version": 2}
