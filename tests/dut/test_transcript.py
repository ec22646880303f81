"""The transcript on its own: decoding (never raising), direction and party resolution, decisions, query
helpers and renderers, from hand-built RawFrames (no radio)."""

from __future__ import annotations

import json

import pytest
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from hypothesis import given, settings
from hypothesis import strategies as st
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.clock import Budget, VirtualClock
from harness.radio.frames import FrameAddress, FrameDirection, RawFrame, zcl_frame
from harness.radio.glue import NOTE_SUPPRESSED_IMAGE_NOTIFY
from harness.transcript import Direction, EntryKind, Role, Transcript, decode

DUT = "00-DB-12-34-56-78-90-A4"
DUT_NWK = 0x4A21
REQ, RSP = Ota.ServerCommandDefs, Ota.ClientCommandDefs
C2S, S2C = foundation.Direction.Client_to_Server, foundation.Direction.Server_to_Client
GC = foundation.GeneralCommand


def nwk(address: int, endpoint: int) -> FrameAddress:
    return FrameAddress.from_zigpy(t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=address), endpoint)


def frame(
    direction: FrameDirection,
    data: bytes,
    *,
    cluster: int = Ota.cluster_id,
    profile: int = 0x0109,
    note: str = "",
    src=None,
    dst=None,
) -> RawFrame:
    dut, ch = nwk(DUT_NWK, 1), nwk(0x0000, 3)
    inbound = direction is FrameDirection.IN
    return RawFrame(
        direction=direction,
        loop_time=0.0,
        src=src or (dut if inbound else ch),
        dst=dst or (ch if inbound else dut),
        profile_id=profile,
        cluster_id=cluster,
        data=data,
        aps_counter=7,
        lqi=255,
        rssi=-40,
        note=note,
    )


def query(tsn: int = 5) -> bytes:
    body = REQ.query_next_image.schema(
        field_control=0, manufacturer_code=0x121D, image_type=0x0084, current_file_version=0x01020300
    )
    return zcl_frame(REQ.query_next_image.id, body.serialize(), tsn=tsn, direction=C2S)


def block_request(offset: int, tsn: int = 6) -> bytes:
    body = REQ.image_block.schema(
        field_control=0,
        manufacturer_code=0x121D,
        image_type=0x0084,
        file_version=0x01020400,
        file_offset=offset,
        maximum_data_size=48,
    )
    return zcl_frame(REQ.image_block.id, body.serialize(), tsn=tsn, direction=C2S)


def announce() -> RawFrame:
    args = [t.NWK(DUT_NWK), t.EUI64.convert(DUT.replace("-", ":")), 0x8C]
    data = b"\x01" + t.serialize(args, zdo_t.CLUSTERS[zdo_t.ZDOCmd.Device_annce][1])
    bcast = FrameAddress.from_zigpy(t.AddrModeAddress(addr_mode=t.AddrMode.Broadcast, address=0xFFFD), 0)
    return frame(FrameDirection.IN, data, cluster=zdo_t.ZDOCmd.Device_annce, profile=0, src=nwk(DUT_NWK, 0), dst=bcast)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def transcript(clock: VirtualClock) -> Transcript:
    return Transcript(clock, dut_eui64=DUT, name="unit")


def test_an_ota_request_is_decoded_with_zigpy_schemas_and_keeps_the_profile_as_received(transcript):
    transcript.record_frame(announce())
    entry = transcript.record_frame(frame(FrameDirection.IN, query()))
    assert entry.direction is Direction.FROM_DUT
    assert (entry.profile_id, entry.cluster, entry.command, entry.tsn) == (0x0109, "Ota", "query_next_image", 5)
    assert entry.fields == {
        "field_control": 0,
        "manufacturer_code": 0x121D,
        "image_type": 0x0084,
        "current_file_version": 0x01020300,
    }
    assert entry.zcl.client_to_server and entry.zcl.frame_type == "cluster"
    assert not entry.zcl.manufacturer_specific and not entry.malformed
    assert entry.src.role is Role.DUT and entry.src.eui64 == DUT and entry.src.nwk == DUT_NWK  # learned
    assert entry.dst.role is Role.CH and entry.dst.endpoint == 3
    assert entry.raw_hex == query().hex()


def test_a_truncated_request_is_recorded_as_malformed_with_the_error(transcript):
    entry = transcript.record_frame(frame(FrameDirection.IN, block_request(0)[:-3]))
    assert entry.malformed and entry.command == "image_block" and entry.error
    header_only = transcript.record_frame(frame(FrameDirection.IN, b"\x19"))
    assert header_only.malformed and "ZCL header" in header_only.error
    assert "MALFORMED" in entry.to_line()


def test_general_and_zdo_commands_are_decoded_by_name(transcript):
    records = [
        foundation.ReadAttributeRecord(
            attrid=0x0002, status=foundation.Status.SUCCESS, value=foundation.TypeValue(0x23, t.uint32_t(9))
        )
    ]
    body = foundation.GENERAL_COMMANDS[GC.Read_Attributes_rsp].schema(status_records=records).serialize()
    rsp = transcript.record_frame(
        frame(FrameDirection.IN, zcl_frame(GC.Read_Attributes_rsp, body, tsn=3, direction=C2S, cluster_specific=False))
    )
    assert rsp.command == "Read_Attributes_rsp"
    (record,) = rsp.fields["status_records"]
    assert (record.attrid, record.status, record.value.value) == (2, foundation.Status.SUCCESS, 9)
    assert rsp.as_dict()["fields"]["status_records"][0] == {
        "attrid": 2,
        "status": "SUCCESS",
        "value": {"type": 35, "value": 9},
    }
    annce = transcript.record_frame(announce())
    assert annce.command == "Device_annce" and annce.zcl is None
    assert (
        str(annce.fields["IEEEAddr"]) == DUT.replace("-", ":").lower() and annce.as_dict()["fields"]["IEEEAddr"] == DUT
    )


def test_decode_never_raises(transcript):
    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=80), st.integers(0, 0xFFFF), st.booleans())
    def check(data: bytes, cluster: int, zdo: bool) -> None:
        raw = frame(FrameDirection.IN, data, cluster=cluster, src=nwk(DUT_NWK, 0 if zdo else 1))
        decoded = decode(raw)
        assert isinstance(decoded.fields, dict)
        entry = transcript.record_frame(raw)
        entry.to_line()
        json.dumps(entry.as_dict())

    check()


def test_sent_frames_carry_the_decision_behind_them(transcript):
    transcript.record_frame(announce())
    with transcript.attribute("served: image 0x01020400 (512 octets)", in_reply_to=None):
        served = transcript.record_frame(
            frame(FrameDirection.OUT, zcl_frame(RSP.query_next_image_response.id, b"\x98", tsn=5, direction=S2C))
        )
    suppressed = transcript.record_frame(
        frame(
            FrameDirection.OUT,
            zcl_frame(RSP.image_notify.id, b"\x00\x64", tsn=9, direction=S2C),
            note=NOTE_SUPPRESSED_IMAGE_NOTIFY,
        )
    )
    dropped = transcript.record_decision("dropped: no response (injected)", in_reply_to=served.index)
    assert (served.decision, served.decided_by, served.transmitted) == (
        "served: image 0x01020400 (512 octets)",
        "CH",
        True,
    )
    assert not suppressed.transmitted and suppressed.decision == NOTE_SUPPRESSED_IMAGE_NOTIFY
    assert dropped.kind is EntryKind.DECISION and dropped.in_reply_to == served.index
    assert transcript.received_stimulus("query_next_image_response")
    assert not transcript.received_stimulus("image_notify")  # suppressed: never reached the DUT
    assert transcript.ota_responses() == [served]
    assert transcript.ota_responses(include_suppressed=True) == [served, suppressed]


def test_query_helpers(transcript):
    transcript.record_frame(announce())
    mark = transcript.mark()
    for offset in (0, 48, 48, 96):
        transcript.record_frame(frame(FrameDirection.IN, block_request(offset)))
    transcript.record_frame(frame(FrameDirection.IN, query()))
    assert transcript.block_offsets() == [0, 48, 48, 96]
    assert transcript.count("image_block", since=mark) == 4
    assert transcript.last("query_next_image").index == mark + 4
    assert [e.index for e in transcript.since(mark)] == list(range(mark, mark + 5))
    assert len(transcript.ota_requests()) == 5 and len(transcript.ota_requests(REQ.image_block.id)) == 4
    assert transcript.from_dut("Device_annce")[0].index == 0
    assert transcript.to_dut() == [] and transcript.decisions() == []


def test_the_answer_to_a_stimulus_ends_at_the_devices_next_query(transcript):
    """What the device did in answer to a stimulus stops where a query of its own starts another attempt."""
    transcript.record_frame(announce())
    first = transcript.record_frame(frame(FrameDirection.IN, block_request(96)))
    with transcript.attribute("throttled: WAIT_FOR_DATA for 600 s", in_reply_to=first.index):
        throttle = transcript.record_frame(
            frame(FrameDirection.OUT, zcl_frame(RSP.image_block_response.id, b"\x97" + bytes(8), tsn=6, direction=S2C))
        )
    again = transcript.record_frame(frame(FrameDirection.IN, block_request(96, tsn=7)))
    later_query = transcript.record_frame(frame(FrameDirection.IN, query(tsn=8)))
    transcript.record_frame(frame(FrameDirection.IN, block_request(0, tsn=9)))  # the new attempt
    assert transcript.answer_window(throttle.index) == [throttle, again]
    assert transcript.answer_window(later_query.index)[0] is later_query  # a window may start at a query
    assert transcript.request_answered(throttle) is first and transcript.request_answered(again) is None
    assert transcript.delivered_to_dut("image_block_response") == [throttle]
    wait = transcript.delivered_to_dut("image_block_response", predicate=lambda e: e.fields.get("status") == 0)
    assert wait == []


def test_a_reply_is_found_by_cluster_and_sequence_number_even_when_it_repeats_an_earlier_one(transcript):
    transcript.record_frame(announce())
    reply = zcl_frame(GC.Read_Attributes_rsp, b"\x06\x00\x00\x30\x00", tsn=0x42, direction=C2S, cluster_specific=False)
    first = transcript.record_frame(frame(FrameDirection.IN, reply))
    mark = transcript.mark()
    repeat = transcript.record_frame(frame(FrameDirection.IN, reply))  # same octets: zigpy would drop it
    assert transcript.zcl_reply(Ota.cluster_id, 0x42) is first
    assert transcript.zcl_reply(Ota.cluster_id, 0x42, since=mark) is repeat
    assert transcript.zcl_reply(Ota.cluster_id, 0x43) is None and transcript.zcl_reply(0x0000, 0x42) is None


def test_renderers_and_summary(transcript):
    transcript.record_frame(announce())
    transcript.record_frame(frame(FrameDirection.IN, query()))
    transcript.record_frame(frame(FrameDirection.IN, b"\x01"))
    transcript.record_decision("dropped: no response (injected)", in_reply_to=1)
    text = transcript.to_text()
    assert len(text.splitlines()) == 1 + len(transcript)
    assert "query_next_image(" in text and "decision (CH) re #1" in text
    document = json.loads(transcript.to_json())
    assert [e["index"] for e in document["entries"]] == [0, 1, 2, 3]
    assert document["entries"][1]["profile"] == "0x0109"
    summary = transcript.summary()
    assert summary["frames"]["from DUT"] == {"Device_annce": 1, "query_next_image": 1, "Ota frame": 1}
    assert summary["decisions"] == {"dropped": 1} and summary["malformed"] == 1
    assert repr(transcript) == "<Transcript 'unit' 4 entries>"
    assert len(repr(transcript[1])) < 80


def test_waiters_and_listeners_see_new_entries(clock, transcript):
    seen = []
    remove = transcript.add_listener(seen.append)

    async def later() -> None:
        await clock.run_for(2)
        transcript.record_frame(frame(FrameDirection.IN, query()))

    async def scenario():
        task = clock.loop.create_task(later())
        found = await transcript.wait_for(lambda e: e.command == "query_next_image", Budget("test", 10))
        await task
        return found, clock.now()

    found, now = clock.loop.run_until_complete(scenario())
    assert found is not None and found.index == 0 and now == pytest.approx(2.0)
    assert seen == [found]
    remove()
    missing = clock.loop.run_until_complete(transcript.wait_for(lambda e: False, Budget("test", 5)))
    assert missing is None
