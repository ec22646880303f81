"""The radio glue: raw tap before zigpy, SE remap, OTA interception and suppression, raw ZCL sends."""

from __future__ import annotations

import pytest
import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.radio import FrameDirection, RawFrame
from harness.radio.frames import zcl_frame
from harness.radio.glue import (
    NOTE_NO_OTA_SERVER,
    NOTE_OTA_TO_SERVER,
    NOTE_SUITE_CH,
    NOTE_SUPPRESSED_IMAGE_NOTIFY,
)

IN, OUT = FrameDirection.IN, FrameDirection.OUT
OTA = Ota.cluster_id
QNIR = Ota.ClientCommandDefs.query_next_image_response
GC = foundation.GeneralCommand


def _basic_report(tsn: int = 0x42) -> bytes:
    """A Basic Report_Attributes (server→client) for model, with default response enabled."""
    record = foundation.Attribute(
        attrid=Basic.AttributeDefs.model.id,
        value=foundation.TypeValue(foundation.DataTypeId.string, t.CharacterString("EMU-PPMID")),
    )
    body = foundation.GENERAL_COMMANDS[GC.Report_Attributes].schema(attribute_reports=[record])
    return zcl_frame(
        GC.Report_Attributes,
        body.serialize(),
        tsn=tsn,
        direction=foundation.Direction.Server_to_Client,
        cluster_specific=False,
    )


@pytest.fixture
def zigpy_view(app, joined):
    """What zigpy itself accepted from the device (after its duplicate filter and parser)."""
    accepted: list[tuple[foundation.ZCLHeader, object]] = []
    app.register_callback_listener(src=joined, filters=[lambda hdr, cmd: True], callback=lambda *a: accepted.append(a))
    return accepted


def test_the_interview_image_notify_never_reaches_the_device_and_is_recorded_as_suppressed(joined, node, tap):
    suppressed = [f for f in tap.select(OUT, OTA) if f.note == NOTE_SUPPRESSED_IMAGE_NOTIFY]
    assert len(suppressed) == 1
    header = suppressed[0].zcl_header()
    assert header.command_id == Ota.ClientCommandDefs.image_notify.id and header.frame_control.is_cluster
    assert node.cluster_commands == []  # no OTA command reached the device
    # zigpy's own *requests* to the OTA client (its Read_Attributes) are allowed through and answered.
    assert any(f.note == "" and f.zcl_header().command_id == GC.Read_Attributes for f in tap.select(OUT, OTA))


def test_a_query_next_image_reaches_the_ota_handler_and_zigpy_sends_no_response(app, joined, node, tap, run, clock):
    handled: list[tuple[t.ZigbeePacket, RawFrame]] = []

    async def ota_server(packet: t.ZigbeePacket, frame: RawFrame) -> None:
        handled.append((packet, frame))
        header = frame.zcl_header()
        body = QNIR.schema(status=foundation.Status.NO_IMAGE_AVAILABLE)
        await app.send_ota_frame(joined, "query_next_image_response", body.serialize(), tsn=header.tsn)

    app.set_ota_handler(ota_server)
    mark = tap.mark()
    tsn = node.query_next_image()
    run(clock.run_for(5))

    assert len(handled) == 1
    packet, frame = handled[0]
    assert (frame.direction, frame.profile_id, frame.note) == (IN, 0x0109, NOTE_OTA_TO_SERVER)
    assert packet.profile_id == 0x0109  # the handler sees the frame as received
    assert frame.zcl_header().command_id == Ota.ServerCommandDefs.query_next_image.id
    # Every OTA frame the device got after its request is the one the suite's CH decided.
    ota_out = tap.select(OUT, OTA, since=mark)
    assert [f.note for f in ota_out] == [NOTE_SUITE_CH]
    answer = node.cluster_commands[-1]
    assert (answer[1], answer[2].command_id, answer[2].tsn) == (OTA, QNIR.id, tsn)
    assert QNIR.schema.deserialize(answer[3])[0].status == foundation.Status.NO_IMAGE_AVAILABLE
    assert joined.get_last_ota_query_cmd() is None  # zigpy's Ota cluster never saw the request


def test_without_an_ota_server_ota_requests_are_swallowed(joined, node, tap, run, clock):
    mark = tap.mark()
    node.query_next_image()
    run(clock.run_for(30))
    assert [f.note for f in tap.select(IN, OTA, since=mark)] == [NOTE_NO_OTA_SERVER]
    assert tap.select(OUT, since=mark) == []
    assert node.cluster_commands == []
    assert joined.get_last_ota_query_cmd() is None


def test_zigpy_ota_commands_pass_only_inside_the_suites_transmit_context(app, joined, node, tap, run, clock):
    ota = joined.endpoints[1].out_clusters[OTA]
    notify = Ota.ImageNotifyCommand.PayloadType.QueryJitter
    mark = tap.mark()
    run(ota.image_notify(payload_type=notify, query_jitter=10))

    async def as_the_ch() -> None:
        with app.suite_ota_transmit():
            await ota.image_notify(payload_type=notify, query_jitter=20)

    run(as_the_ch())
    run(clock.run_for(1))
    assert [f.note for f in tap.select(OUT, OTA, since=mark)] == [NOTE_SUPPRESSED_IMAGE_NOTIFY, NOTE_SUITE_CH]
    delivered = node.cluster_commands
    assert len(delivered) == 1 and delivered[0][3][-1] == 20


def test_a_repeat_within_10_s_is_tapped_although_zigpy_drops_it(joined, node, tap, zigpy_view, run, clock):
    mark = tap.mark()
    frame = _basic_report()
    node.transmit(Basic.cluster_id, frame)
    node.transmit(Basic.cluster_id, frame)  # byte-identical ZCL, next APS counter
    run(clock.run_for(9))
    node.transmit(Basic.cluster_id, frame)  # still inside zigpy's 10 s window
    run(clock.run_for(11))
    node.transmit(Basic.cluster_id, frame)  # outside it: zigpy accepts it again

    run(clock.run_for(1))
    tapped = tap.select(IN, Basic.cluster_id, since=mark)
    assert len(tapped) == 4 and len({f.data for f in tapped}) == 1
    assert len({f.aps_counter for f in tapped}) == 4
    assert len(zigpy_view) == 2


def test_an_unparsable_zcl_frame_is_tapped_although_zigpy_drops_it(joined, node, tap, zigpy_view, run, clock):
    mark = tap.mark()
    truncated = _basic_report()[:6]  # header plus half an attribute record
    node.transmit(Basic.cluster_id, truncated)
    node.transmit(Basic.cluster_id, b"\x18")  # not even a ZCL header
    run(clock.run_for(1))
    assert [f.data for f in tap.select(IN, Basic.cluster_id, since=mark)] == [truncated, b"\x18"]
    assert zigpy_view == []
    assert tap.select(OUT, since=mark) == []  # and zigpy answered nothing


def test_smart_energy_frames_are_remapped_for_zigpy_only(app, joined, node, tap, run, clock):
    seen_by_zigpy: list[int] = []

    class Listener:
        def handle_message(self, device, profile, cluster, src_ep, dst_ep, message) -> None:
            seen_by_zigpy.append(profile)

    app.add_listener(Listener())
    mark = tap.mark()
    node.transmit(Basic.cluster_id, _basic_report(tsn=7))
    run(clock.run_for(1))
    assert [f.profile_id for f in tap.select(IN, since=mark)] == [0x0109]
    assert seen_by_zigpy == [0x0104]


def test_raw_zcl_bytes_reach_the_device_unchanged(app, joined, node, tap, run, clock):
    malformed = zcl_frame(0x05, b"\x00\x34", tsn=9, direction=foundation.Direction.Server_to_Client)
    mark = tap.mark()
    run(app.send_raw_zcl(joined, 1, OTA, malformed))
    run(clock.run_for(1))
    (frame,) = tap.select(OUT, OTA, since=mark)
    assert (frame.data, frame.profile_id, frame.src.endpoint, frame.note) == (
        malformed,
        0x0109,
        3,
        NOTE_SUITE_CH,
    )
    assert node.received[-1].data.serialize() == malformed


def test_raw_frames_record_addresses_link_quality_and_a_short_repr(joined, tap):
    announce = tap.frames[0]
    assert (announce.src.mode, announce.src.address, announce.src.endpoint) == ("nwk", 0x4A21, 0)
    assert (announce.dst.mode, announce.dst.address) == ("broadcast", 0xFFFD)
    assert (announce.lqi, announce.rssi) == (255, -40)
    assert announce.is_zdo and announce.zcl_header() is None
    assert repr(announce).startswith("RawFrame(in t=0.000 0x4A21:0->bcast 0xFFFD:0 profile=0x0000 cluster=0x0013")


def test_a_failing_frame_listener_does_not_break_the_radio(app, joined, node, tap, run, clock, caplog):
    def broken(frame: RawFrame) -> None:
        raise RuntimeError("recorder bug")

    remove = app.add_frame_listener(broken)
    success, _ = run(joined.endpoints[1].basic.read_attributes(["model"]))
    remove()
    assert success == {"model": "EMU-PPMID"}
    assert "frame listener" in caplog.text
