"""The CH hub on the loopback radio: OtaServer decisions sent and recorded, with the reason for every frame.

The first test is the suite's promise to the DUT: it never receives an OTA frame the suite's CH did not
decide (zigpy's own Image Notify is suppressed and recorded; every OTA frame to the DUT carries a CH
decision note; what the device actually got is exactly what the CH decided, byte for byte).
"""

from __future__ import annotations

import pytest
import zigpy.types as t
from dut_test_node import IMAGE_VERSION
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Action, Activation, Rule
from harness.radio.frames import zcl_frame
from harness.radio.glue import NOTE_SUPPRESSED_IMAGE_NOTIFY
from harness.transcript import Direction, EntryKind, Role
from harness.verdicts import TrafficFailure

OTA = Ota.cluster_id
RSP = Ota.ClientCommandDefs
Status = foundation.Status


@pytest.fixture
def node(joined):
    return joined.node


@pytest.fixture
def hub(joined, image):
    joined.hub.hold(image)
    return joined.hub


def received_bytes(node) -> list[bytes]:
    """The OTA cluster commands the device actually received, as ZCL bytes."""
    return [hdr.serialize() + payload for hdr, payload in node.ota_commands]


def test_the_device_never_receives_an_ota_frame_the_ch_did_not_decide(joined, hub, node, clock, run):
    transcript = joined.transcript
    hub.program("block", Rule(Action.WAIT_FOR_DATA, nth=1, params={"wait_s": 2}))
    hub.program("block", Rule(Action.DROP, nth=2))
    hub.program("block", Rule(Action.DELAY, nth=3, params={"delay_s": 3}))
    run(hub.notify_image())
    node.query_next_image()
    for offset in (0, 48, 48, 48, 96):
        node.image_block(offset, IMAGE_VERSION)
    node.upgrade_end(IMAGE_VERSION)
    ota_client = joined.device.endpoints[1].out_clusters[OTA]
    run(ota_client.image_notify(payload_type=0, query_jitter=50))  # zigpy on its own: must not pass
    run(clock.run_for(10))

    # zigpy's interview Image Notify and the one above were suppressed and recorded as such.
    suppressed = transcript.ota_responses(include_suppressed=True)
    suppressed = [e for e in suppressed if not e.transmitted]
    assert len(suppressed) == 2 and suppressed[0].decision == NOTE_SUPPRESSED_IMAGE_NOTIFY
    assert not any(e.delivered for e in suppressed)
    # Every OTA frame to the DUT carries a decision; every OTA command that went out is the CH's.
    to_dut = transcript.to_dut(cluster_id=OTA)
    assert to_dut and all(e.decision for e in to_dut)
    sent_commands = [e for e in to_dut if e.transmitted and e.is_cluster_command]
    assert {e.decided_by for e in sent_commands} == {"CH"}
    assert all(e.decided_by == "zigpy" and not e.is_cluster_command for e in to_dut if e.decided_by != "CH")
    # What the device received is exactly what the CH decided, in order, byte for byte.
    assert received_bytes(node) == [e.raw for e in sent_commands]
    assert [e.command for e in sent_commands] == [
        "image_notify",
        "query_next_image_response",
        "image_block_response",
        "image_block_response",  # WAIT_FOR_DATA
        "image_block_response",  # offset 96: sent before the delayed one
        "upgrade_end_response",
        "image_block_response",  # the delayed one
    ]


def test_requests_and_responses_are_decoded_with_the_profile_as_received(joined, hub, node, clock, run, image):
    transcript = joined.transcript
    mark = transcript.mark()
    tsn = node.query_next_image()
    run(clock.run_for(1))
    (request,) = transcript.ota_requests(since=mark)
    (response,) = transcript.ota_responses(since=mark)
    assert (request.profile_id, request.direction, request.command) == (0x0109, Direction.FROM_DUT, "query_next_image")
    assert request.fields["manufacturer_code"] == image.manufacturer_code
    assert request.src.role is Role.DUT and request.src.eui64 == "00-DB-12-34-56-78-90-A4"
    assert (response.profile_id, response.tsn, response.zcl.client_to_server) == (0x0109, tsn, False)
    assert response.fields == {
        "status": Status.SUCCESS,
        "manufacturer_code": image.manufacturer_code,
        "image_type": image.image_type,
        "file_version": IMAGE_VERSION,
        "image_size": image.size,
    }
    assert response.decision == f"served: image {IMAGE_VERSION:#010x} ({image.size} octets)"
    assert response.decided_by == "CH" and response.dst.role is Role.DUT and response.src.role is Role.CH


def test_throttled_dropped_and_delayed_blocks_carry_their_decision(joined, hub, node, clock, run):
    transcript = joined.transcript
    hub.program("block", Rule(Action.WAIT_FOR_DATA, nth=0, params={"wait_s": 5}))
    hub.program("block", Rule(Action.DROP, nth=1))
    hub.program("block", Rule(Action.DELAY, nth=2, params={"delay_s": 4}))
    mark = transcript.mark()
    for _ in range(3):
        node.image_block(0, IMAGE_VERSION)
        run(clock.run_for(1))
    run(clock.run_for(5))

    requests = transcript.ota_requests("image_block", since=mark)
    responses = transcript.ota_responses("image_block_response", since=mark)
    assert len(requests) == 3 and len(responses) == 2
    throttled, delayed = responses
    assert (
        throttled.decision == "throttled: WAIT_FOR_DATA for 5 s" and throttled.fields["status"] == Status.WAIT_FOR_DATA
    )
    (dropped,) = [d for d in transcript.decisions(since=mark) if d.decision.startswith("dropped")]
    assert dropped.in_reply_to == requests[1].index and dropped.kind is EntryKind.DECISION
    assert dropped.decision == "dropped: block at offset 0 not answered (injected)"
    assert delayed.decision.startswith("delayed by 4 s: offset 0")
    assert delayed.time - requests[2].time == pytest.approx(4.0)
    scheduled = [d for d in transcript.decisions(since=mark) if d.decision.startswith("scheduled")]
    assert len(scheduled) == 1 and scheduled[0].in_reply_to == requests[2].index
    assert transcript.block_offsets(since=mark) == [0, 0, 0]


def test_a_delayed_response_does_not_hold_up_other_frames(joined, hub, node, clock, run):
    hub.program("block", Rule(Action.DELAY, nth=0, params={"delay_s": 5}))
    start = clock.now()
    node.image_block(0, IMAGE_VERSION)
    node.image_block(48, IMAGE_VERSION)
    run(clock.run_for(1))
    offsets = [e.fields["file_offset"] for e in joined.transcript.ota_responses("image_block_response")]
    assert offsets == [48] and hub.pending == 1
    assert run(hub.drain(10))
    responses = joined.transcript.ota_responses("image_block_response")
    assert [e.fields["file_offset"] for e in responses] == [48, 0]
    assert responses[0].time - start < 0.1 and responses[1].time - start == pytest.approx(5.0)
    assert len(node.ota_commands) == 2


def test_an_image_page_request_gets_several_responses_spaced_apart(joined, hub, node, clock, run):
    node.image_page(0, IMAGE_VERSION, page_size=144, spacing_ms=200)
    run(clock.run_for(2))
    responses = joined.transcript.ota_responses("image_block_response")
    assert [e.fields["file_offset"] for e in responses] == [0, 48, 96]
    times = [e.time for e in responses]
    assert times[1] - times[0] == pytest.approx(0.2) and times[2] - times[1] == pytest.approx(0.2)
    assert all(e.decision.startswith("served (page)") for e in responses)


def test_an_unparsable_request_is_recorded_malformed_and_answered_malformed_command(joined, hub, node, clock, run):
    transcript = joined.transcript
    mark = transcript.mark()
    node.ota_raw(Ota.ServerCommandDefs.image_block.id, b"\x00\x1d\x12\x84")  # truncated Image Block Request
    run(clock.run_for(1))
    node.ota_raw(0x0A, b"")  # no such client→server command: the device is judged (CS-22), the CH still decides
    with pytest.raises(TrafficFailure, match="OTA command 0x0A, which the OTA cluster does not define"):
        run(clock.run_for(1))
    malformed, unknown = transcript.ota_requests(since=mark)
    assert malformed.malformed and malformed.command == "image_block" and malformed.error
    assert not unknown.malformed and unknown.error == "unknown command"
    answers = [e for e in transcript.to_dut(cluster_id=OTA, since=mark)]
    assert [e.command for e in answers] == ["Default_Response", "Default_Response"]
    assert [e.fields["status"] for e in answers] == [Status.MALFORMED_COMMAND, Status.UNSUP_CLUSTER_COMMAND]
    assert answers[0].decision == "served: Default Response MALFORMED_COMMAND to image_block"
    assert [e.transmitted for e in answers] == [True, False]  # after the verdict the suite answers no more
    assert [command.status for _, _, command in node.default_responses] == [Status.MALFORMED_COMMAND]


def test_image_notify_unicast_and_broadcast(joined, hub, node, run, clock, image):
    transcript = joined.transcript
    mark = transcript.mark()
    unicast = run(hub.notify_image(jitter=60))
    broadcast = run(hub.notify_image(unicast=False, payload_type=0))
    run(clock.run_for(1))
    assert unicast.dst.role is Role.DUT and unicast.fields["query_jitter"] == 60
    assert unicast.fields["new_file_version"] == image.file_version
    assert broadcast.dst.role is Role.BROADCAST and broadcast.dst.nwk == 0xFFFF and broadcast.dst.endpoint == 0xFF
    assert broadcast.direction is Direction.TO_DUT and broadcast.decision.endswith("broadcast 0xFFFF")
    assert unicast.decision.startswith("stimulus: Image Notify")
    assert transcript.received_stimulus("image_notify", since=mark, by="CH")
    assert len(node.ota_commands) == 2


def test_unsolicited_upgrade_end_response_and_raw_frames(joined, hub, node, run, clock, image):
    transcript = joined.transcript
    now = clock.zigbee_utc()
    upgrade_now = run(hub.send_upgrade_end_response(Activation.NOW))
    raw = run(hub.send_raw("query_next_image_response", b"\x00\x1d"))
    run(clock.run_for(1))
    assert upgrade_now.decision.startswith("unsolicited: activation now")
    assert upgrade_now.fields["current_time"] == upgrade_now.fields["upgrade_time"] == now
    assert upgrade_now.fields["file_version"] == image.file_version
    assert raw.malformed and raw.decision.startswith("injected fault: raw query_next_image_response")
    assert received_bytes(node) == [upgrade_now.raw, raw.raw]
    assert transcript.summary()["malformed"] >= 1


def test_a_frame_the_radio_could_not_deliver_is_not_a_received_stimulus(joined, hub, run):
    transcript = joined.transcript
    mark = transcript.mark()
    joined.app.detach_node(joined.node)  # the device is gone (powered off)
    entry = run(hub.notify_image())
    assert entry.delivery_error.startswith("DeliveryError") and not entry.delivered
    assert not transcript.received_stimulus("image_notify", since=mark)
    assert "UNDELIVERED" in entry.to_line()


def test_a_rule_that_cannot_apply_is_a_recorded_ch_error_not_a_crash(joined, node, clock, run):
    hub = joined.hub  # no image held
    hub.program("query", Rule(Action.WRONG_SIZE, params={"image_size": 1}))
    node.query_next_image()
    run(clock.run_for(1))
    (decision,) = joined.transcript.decisions()
    assert decision.decision.startswith("CH error") and hub.errors
    assert joined.evidence().summary["ch_errors"] == hub.errors


def test_reprs_are_short(joined, hub):
    for value in (joined, hub, joined.transcript, joined.transcript[0], joined.evidence()):
        assert len(repr(value)) < 100, repr(value)


def test_a_request_addressed_to_another_node_is_ignored_and_recorded(joined, hub, node, clock, run):
    body = Ota.ServerCommandDefs.query_next_image.schema(
        field_control=0, manufacturer_code=0x121D, image_type=0x0084, current_file_version=1
    )
    data = zcl_frame(
        Ota.ServerCommandDefs.query_next_image.id,
        body.serialize(),
        tsn=9,
        direction=foundation.Direction.Client_to_Server,
    )
    mark = joined.transcript.mark()
    node.transmit(OTA, data, dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=0x0BAD))
    run(clock.run_for(1))
    (request,) = joined.transcript.ota_requests(since=mark)
    (decision,) = joined.transcript.decisions(since=mark)
    assert (
        decision.decision == "ignored: addressed to 0x0BAD:3, not to the CH" and decision.in_reply_to == request.index
    )
    assert joined.transcript.ota_responses(since=mark) == [] and node.ota_commands == []
