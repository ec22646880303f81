"""The loopback radio: join and interview on the SE profile, delivery rules, link model, virtual timeouts."""

from __future__ import annotations

import time

import pytest
import zigpy.device
import zigpy.exceptions
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.const import APS_REPLY_TIMEOUT_EXTENDED
from zigpy.zcl import ClusterType
from zigpy.zcl.clusters.general import Basic, Ota

from harness.clock import Budget
from harness.radio import FrameDirection, LinkDirection, LoopbackApp, default_config, start_app

ZCL_TIMEOUT_BUDGET = Budget("zigpy request with retries", 120)
NODE_IEEE_TEXT = "00:0d:6f:00:0a:bc:de:01"  # the `node` fixture's address


@pytest.mark.parametrize("radio", ["loopback", "harness.radio.loopback:LoopbackApp"])
def test_a_smart_energy_node_joins_and_zigpy_completes_its_interview(radio, clock, run, node, join):
    async def scenario():
        app = await start_app(radio, clock=clock)
        frames = []
        app.add_frame_listener(frames.append)
        device = await join(app, node)
        await app.shutdown()
        return app, device, frames

    app, device, frames = run(scenario())
    assert type(app).__name__ == "HarnessLoopbackApp"
    assert device.model == "EMU-PPMID"
    assert device.manufacturer == "GB OTA Emulator"
    assert device.endpoints[1].profile_id == 0x0109
    assert device.endpoints[1].device_type == 0x0506
    assert device.node_desc.logical_type == zdo_t.LogicalType.EndDevice
    # The tap holds both directions, with the Smart Energy profile as it crossed the air (not remapped).
    zcl_in = [f for f in frames if f.direction is FrameDirection.IN and not f.is_zdo]
    zcl_out = [f for f in frames if f.direction is FrameDirection.OUT and not f.is_zdo]
    assert zcl_in and zcl_out
    assert {f.profile_id for f in zcl_in} == {0x0109}
    assert {f.profile_id for f in zcl_out} == {0x0109}
    announce = frames[0]
    assert (announce.direction, announce.cluster_id, announce.src.address) == (
        FrameDirection.IN,
        0x0013,
        0x4A21,
    )


def test_without_the_glue_zigpy_drops_every_smart_energy_reply(clock, run, node):
    """Why the remap exists: a bare LoopbackApp never learns the SE node's model."""

    async def scenario():
        app = await LoopbackApp.new(default_config(), auto_form=True, start_radio=False)
        app.clock = clock
        await app.startup(auto_form=True)
        app.attach_node(node)
        node.announce()
        await clock.run_for(200)
        device = app.devices[node.ieee]
        await app.shutdown()
        return device

    device = run(scenario())
    assert device.endpoints[1].profile_id == 0x0109  # ZDO (profile 0) got through
    assert device.model is None and device.manufacturer is None


def test_a_read_of_the_ota_client_current_file_version_works_through_zigpy(joined, run, node):
    node.set_attribute(Ota.cluster_id, "current_file_version", 0x01020304, side=ClusterType.Client)
    ota = joined.endpoints[1].out_clusters[Ota.cluster_id]
    success, failure = run(ota.read_attributes(["current_file_version", "image_upgrade_status"]))
    assert success == {
        "current_file_version": 0x01020304,
        "image_upgrade_status": Ota.ImageUpgradeStatus.Normal,
    }
    assert failure == {}


def test_a_30_s_class_zigpy_timeout_to_a_silent_node_costs_no_wall_time(joined, node, clock, run):
    node.silent = True
    attempts = zigpy.device.DEFAULT_REQUEST_RETRIES + 1
    expected = attempts * APS_REPLY_TIMEOUT_EXTENDED + (attempts - 1) * zigpy.device.DEFAULT_REQUEST_RETRY_DELAY
    start = clock.now()

    wall = time.perf_counter()
    with pytest.raises((TimeoutError, zigpy.exceptions.DeliveryError)):
        run(
            clock.run_until_complete(
                joined.endpoints[1].basic.read_attributes(["model"]), ZCL_TIMEOUT_BUDGET, "silent read"
            )
        )
    wall = time.perf_counter() - wall

    assert clock.now() - start == pytest.approx(expected)  # 3 × 28 s + 2 × 0.1 s for an end device
    assert wall < 0.1, f"{expected} s of zigpy timeouts took {wall:.3f} s of wall time"
    assert len([p for p in node.received if p.cluster_id == Basic.cluster_id]) >= attempts


def test_an_unknown_unicast_destination_is_a_delivery_error(joined, app, node, run):
    app.detach_node(node)
    with pytest.raises(zigpy.exceptions.DeliveryError, match="no route"):
        run(joined.endpoints[1].basic.read_attributes(["model"], retries=0))


def test_frames_from_a_detached_node_are_lost(joined, app, node, tap, run, clock):
    mark = tap.mark()
    app.detach_node(node)
    node.query_next_image()
    run(clock.run_for(1))
    assert tap.select(since=mark) == []


def test_broadcasts_reach_every_node_and_nodes_ignore_what_they_do_not_serve(app, clock, run, tap, make_node, join):
    first, second = make_node(nwk=0x1111), make_node("00:0d:6f:00:0a:bc:de:02", 0x2222)
    run(join(app, first))
    run(join(app, second))
    mark = tap.mark()
    run(app.permit(0))  # ZDO Mgmt_Permit_Joining broadcast (+ a Green Power frame to endpoint 242)
    run(clock.run_for(1))
    for node in (first, second):
        assert any(p.cluster_id == zdo_t.ZDOCmd.Mgmt_Permit_Joining_req for p in node.received)
    assert tap.select(FrameDirection.IN, since=mark) == []


def test_devices_receive_in_a_fresh_context_so_interview_priority_does_not_leak(app, node, run, join):
    priorities: list[int] = []
    receive = node.receive

    def spying_receive(packet: t.ZigbeePacket) -> None:
        priorities.append(app._packet_priority_var.get())
        receive(packet)

    node.receive = spying_receive  # type: ignore[method-assign]
    run(join(app, node))
    assert priorities and set(priorities) == {t.PacketPriority.NORMAL}


def test_a_link_model_delays_frames_in_virtual_time(joined, app, node, clock, run):
    def half_second_each_way(packet: t.ZigbeePacket, direction: LinkDirection) -> float | None:
        return 0.5

    app.set_link_model(node, half_second_each_way)
    start = clock.now()
    success, _ = run(joined.endpoints[1].basic.read_attributes(["model"]))
    assert success == {"model": "EMU-PPMID"}
    assert clock.now() - start == pytest.approx(1.0)


def test_a_link_model_can_drop_frames(joined, app, node, clock, run):
    seen: list[LinkDirection] = []

    def lose_uplink(packet: t.ZigbeePacket, direction: LinkDirection) -> float | None:
        seen.append(direction)
        return None if direction is LinkDirection.UP else 0.0

    app.set_link_model(node, lose_uplink)
    with pytest.raises(TimeoutError):
        run(joined.endpoints[1].basic.read_attributes(["model"], retries=0))
    assert seen == [LinkDirection.DOWN, LinkDirection.UP]
    assert node.received[-1].cluster_id == Basic.cluster_id  # it answered; the answer was lost


def test_ieee_addressed_unicasts_are_delivered(joined, tap, run):
    mark = tap.mark()
    success, _ = run(joined.endpoints[1].basic.read_attributes(["manufacturer"], use_ieee=True))
    assert success == {"manufacturer": "GB OTA Emulator"}
    (request,) = tap.select(FrameDirection.OUT, Basic.cluster_id, since=mark)
    assert (request.dst.mode, request.dst.address) == ("ieee", NODE_IEEE_TEXT)
