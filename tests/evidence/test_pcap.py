"""The pcapng capture without tshark: frames as scapy builds them, APS fragmentation within 127 octets,
packet comments for frames malformed on purpose, timestamps, the section header, and the evidence hook."""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import zigpy.types as t
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.config import conf
from scapy.layers.dot15d4 import Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeClusterLibrary, ZigbeeNWK
from scapy.utils import PcapNgReader
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.clock import VirtualClock
from harness.evidence.pcap import (
    MALFORMED_ON_PURPOSE,
    CaptureContext,
    _HeaderKey,
    _psdu,
    capture_evidence,
    capture_frames,
    scapy_frame,
    write_capture,
)
from harness.perf.airtime import MAX_PSDU
from harness.radio.frames import FrameAddress, FrameDirection, RawFrame, zcl_frame
from harness.radio.glue import NOTE_SUPPRESSED_IMAGE_NOTIFY
from harness.transcript import Role, Transcript, TranscriptEntry
from harness.zigbee import TO_SERVER, TUNNELING_CLUSTER_ID, transfer_data_payload

DUT = "00-DB-12-34-56-78-90-A4"
DUT_NWK = 0x4A21
PAN = 0x1A62
RSP = Ota.ClientCommandDefs
S2C, C2S = foundation.Direction.Server_to_Client, foundation.Direction.Client_to_Server


def _nwk(address: int, endpoint: int) -> FrameAddress:
    return FrameAddress.from_zigpy(t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=address), endpoint)


def _frame(direction: FrameDirection, data: bytes, *, cluster: int = Ota.cluster_id, **kw: object) -> RawFrame:
    dut, ch = _nwk(DUT_NWK, 1), _nwk(0x0000, 3)
    inbound = direction is FrameDirection.IN
    fields: dict = {
        "direction": direction,
        "loop_time": 0.0,
        "src": dut if inbound else ch,
        "dst": ch if inbound else dut,
        "profile_id": 0x0109,
        "cluster_id": cluster,
        "data": data,
        "aps_counter": 7,
    }
    fields.update(kw)
    return RawFrame(**fields)


def _notify(tsn: int = 1) -> bytes:
    return zcl_frame(
        RSP.image_notify.id,
        RSP.image_notify.schema(payload_type=0, query_jitter=100).serialize(),
        tsn=tsn,
        direction=S2C,
    )


def _transfer(size: int) -> bytes:
    payload = transfer_data_payload(0, bytes(range(256)) * (size // 256) + bytes(size % 256))
    return zcl_frame(TO_SERVER.transfer_data.id, payload, tsn=9, direction=C2S)


@pytest.fixture(autouse=True)
def _zigbee_over_802154() -> Iterator[None]:
    """scapy dissects 802.15.4 payloads as 6LoWPAN unless told Zigbee (reading back only; writing needs no
    setting)."""
    before = conf.dot15d4_protocol
    conf.dot15d4_protocol = "zigbee"
    yield
    conf.dot15d4_protocol = before


@pytest.fixture
def transcript(clock: VirtualClock) -> Transcript:
    transcript = Transcript(clock, dut_eui64=DUT, name="unit")
    transcript.register_party(DUT, Role.DUT, nwk=DUT_NWK)  # as a Device_annce would teach it
    return transcript


def _run(clock: VirtualClock, seconds: float) -> None:
    clock.loop.run_until_complete(clock.run_for(seconds))


def _context(**kw: object) -> CaptureContext:
    fields: dict = {"suite": "suite 1.0", "scenario": "A unit scenario", "dut_eui64": DUT, "pan_id": PAN}
    fields.update(kw)
    return CaptureContext(**fields)


# -- the fast path is scapy's build ----------------------------------------------------------------------
KEYS = {
    "unicast OTA": _HeaderKey(PAN, 0, DUT_NWK, 0, DUT_NWK, True, 0, 1, 0, 0x0019, 0x0109, 3),
    "ZDO": _HeaderKey(PAN, DUT_NWK, 0, DUT_NWK, 0, True, 0, 0, 0, 0x8002, 0x0000, 0),
    "broadcast": _HeaderKey(PAN, 0, 0xFFFF, 0, 0xFFFD, False, 2, 0xFF, 0, 0x0019, 0x0109, 3),
    "group": _HeaderKey(PAN, 0, 0xFFFF, 0, 0xFFFD, False, 3, 0, 0x1234, 0x0019, 0x0109, 3),
    "first fragment": _HeaderKey(PAN, DUT_NWK, 0, DUT_NWK, 0, True, 0, 3, 0, 0x0704, 0x0109, 1, 1, 3),
    "later fragment": _HeaderKey(PAN, DUT_NWK, 0, DUT_NWK, 0, True, 0, 3, 0, 0x0704, 0x0109, 1, 2, 2),
}


@pytest.mark.parametrize("name", KEYS)
@settings(max_examples=15, deadline=None)
@given(
    mac_seq=st.integers(0, 255),
    nwk_seq=st.integers(0, 255),
    counter=st.integers(0, 255),
    payload=st.binary(max_size=60),
)
def test_the_cached_frame_equals_scapys_full_build(name: str, mac_seq: int, nwk_seq: int, counter: int, payload: bytes):
    key = KEYS[name]
    expected = bytes(scapy_frame(key, mac_seq=mac_seq, nwk_seq=nwk_seq, aps_counter=counter, payload=payload))
    assert _psdu(key, mac_seq, nwk_seq, counter, payload) == expected


def test_a_frame_dissects_back_to_its_addresses_and_zcl_header(transcript: Transcript):
    entry = transcript.record_frame(_frame(FrameDirection.OUT, _notify(tsn=42)))
    (frame,) = capture_frames([entry], PAN)
    packet = Dot15d4FCS(frame.psdu)
    assert packet.fcs == struct.unpack("<H", frame.psdu[-2:])[0] and packet.fcf_ackreq == 1
    assert (packet.dest_panid, packet.dest_addr, packet.src_addr) == (PAN, DUT_NWK, 0x0000)
    assert (packet[ZigbeeNWK].destination, packet[ZigbeeNWK].source) == (DUT_NWK, 0x0000)
    aps = packet[ZigbeeAppDataPayload]
    assert (aps.profile, aps.cluster, aps.dst_endpoint, aps.src_endpoint, aps.counter) == (0x0109, 0x0019, 1, 3, 7)
    zcl = packet[ZigbeeClusterLibrary]
    assert (zcl.transaction_sequence, zcl.command_identifier) == (42, RSP.image_notify.id)
    assert bytes(aps.payload) == entry.raw  # the transcript's octets, verbatim


# -- fragmentation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [60, 95, 96, 200, 1000, 5000])
def test_no_frame_exceeds_127_octets_and_fragments_reassemble(transcript: Transcript, size: int):
    entry = transcript.record_frame(_frame(FrameDirection.IN, _transfer(size), cluster=TUNNELING_CLUSTER_ID))
    frames = capture_frames([entry], PAN)
    assert all(len(f.psdu) <= MAX_PSDU for f in frames), [len(f.psdu) for f in frames]
    packets = [Dot15d4FCS(f.psdu) for f in frames]
    apss = [p[ZigbeeAppDataPayload] for p in packets]
    assert b"".join(bytes(a.payload) for a in apss) == entry.raw
    if len(frames) == 1:
        assert not apss[0].frame_control.extended_hdr
        return
    assert [a.fragmentation for a in apss] == [1] + [2] * (len(frames) - 1)
    assert [a.block_number for a in apss] == [len(frames), *range(1, len(frames))]
    assert {a.counter for a in apss} == {7}  # one APS frame: one APS counter
    assert len({p.seqnum for p in packets}) == len(frames)  # each fragment its own MAC frame
    assert all(f.comment.endswith(f"({len(entry.raw)} octets reassembled)") for f in frames)
    assert max(len(f.psdu) for f in frames) == MAX_PSDU  # fragments are as large as the PHY allows


# -- comments, omissions, timestamps ---------------------------------------------------------------------
def test_frames_malformed_on_purpose_and_rogue_frames_say_so(transcript: Transcript):
    with transcript.attribute("injected fault: raw (malformed on purpose)", by="CH"):
        fault = transcript.record_frame(_frame(FrameDirection.OUT, b"\x19\x05\x02\x00"))
    with transcript.attribute("image_notify from a non-coordinator address (not from the CH)", by="rogue"):
        rogue = transcript.record_frame(_frame(FrameDirection.OUT, _notify(), src=_nwk(0x0BAD, 1)))
    with transcript.attribute("served: image notify", by="CH"):
        normal = transcript.record_frame(_frame(FrameDirection.OUT, _notify()))
    broken = transcript.record_frame(_frame(FrameDirection.IN, b"\x01"))  # the DUT's own, undecodable
    frames = {f.entry_index: f for f in capture_frames([fault, rogue, normal, broken], PAN)}
    assert frames[fault.index].comment.startswith(MALFORMED_ON_PURPOSE) and frames[fault.index].malformed_on_purpose
    assert "CH: injected fault: raw (malformed on purpose)" in frames[fault.index].comment
    assert frames[rogue.index].comment.startswith("STIMULUS FROM THE ROGUE NODE")
    assert Dot15d4FCS(frames[rogue.index].psdu).src_addr == 0x0BAD
    assert frames[normal.index].comment == f"transcript #{normal.index}: to DUT image_notify; CH: served: image notify"
    assert frames[broken.index].comment.startswith("MALFORMED (not marked on purpose")
    assert not any(f.malformed_on_purpose for i, f in frames.items() if i != fault.index)


def test_suppressed_frames_and_decisions_are_left_out(transcript: Transcript):
    sent = transcript.record_frame(_frame(FrameDirection.OUT, _notify()))
    suppressed = transcript.record_frame(_frame(FrameDirection.OUT, _notify(), note=NOTE_SUPPRESSED_IMAGE_NOTIFY))
    decision = transcript.record_decision("dropped: not answered (injected)", in_reply_to=sent.index)
    assert not suppressed.transmitted
    assert [f.entry_index for f in capture_frames([sent, suppressed, decision], PAN)] == [sent.index]


def test_the_file_has_the_section_comment_packet_comments_and_the_transcripts_timestamps(
    clock: VirtualClock, transcript: Transcript, tmp_path: Path
):
    entries: list[TranscriptEntry] = []
    for step in range(4):
        entries.append(transcript.record_frame(_frame(FrameDirection.IN, _transfer(150 * step), cluster=0x0704)))
        entries.append(transcript.record_frame(_frame(FrameDirection.OUT, _notify(step))))
        _run(clock, 2.5)
    transcript.record_frame(_frame(FrameDirection.OUT, _notify(), note=NOTE_SUPPRESSED_IMAGE_NOTIFY))
    path = tmp_path / "deep" / "capture.pcapng"
    result = write_capture(path, transcript.entries, _context(channel=15))
    assert result.frames > len(entries) and result.fragmented_entries == 3 and result.omitted_suppressed == 1
    assert result.largest_psdu <= MAX_PSDU
    with PcapNgReader(str(path)) as reader:
        packets = list(reader)
    assert len(packets) == result.frames
    assert all(len(bytes(p)) <= MAX_PSDU for p in packets)
    times = [float(p.time) for p in packets]
    assert times == sorted(times), "timestamps go backwards"
    stamps = {round(e.utc.timestamp(), 6) for e in entries}
    assert {round(x, 6) for x in times} == stamps  # the transcript's clock, nothing else
    assert all(p.comments and p.comments[0].startswith(b"transcript #") for p in packets)
    assert isinstance(packets[0], Dot15d4FCS)  # link type 195 (802.15.4 with FCS) read back as such
    header = path.read_bytes()[:4096]
    for text in ("UNENCRYPTED", "A unit scenario", DUT, "PAN ID 0x1A62, channel 15", "virtual clock", "suite 1.0"):
        assert text.encode() in header, text


def test_a_real_clock_run_says_so(transcript: Transcript, tmp_path: Path):
    write_capture(tmp_path / "c.pcapng", [], _context(clock="real", pan_id=None))
    header = (tmp_path / "c.pcapng").read_bytes()
    assert b"real-time clock" in header and b"PAN ID unknown" in header and b"virtual clock" not in header


# -- the end-of-scenario hook -----------------------------------------------------------------------------
@dataclasses.dataclass
class _Item:
    name: str
    user_properties: list


@dataclasses.dataclass
class _Dut:
    transcript: Transcript
    clock: VirtualClock
    dut_eui64: object = None
    app: object = None


def test_the_hook_writes_into_the_shared_evidence_folder(clock: VirtualClock, transcript: Transcript, tmp_path: Path):
    transcript.record_frame(_frame(FrameDirection.OUT, _notify()))
    item = _Item("test_an_outline[row 1]", [("scenario", "An outline (<case>)"), ("feature", "F")])
    assert capture_evidence(item, _Dut(transcript, clock), None) == []  # no run directory: nothing
    (prop,) = capture_evidence(item, _Dut(transcript, clock), tmp_path)
    assert prop == ("evidence:capture", "evidence/an-outline-row-1/capture.pcapng")
    assert (tmp_path / prop[1]).stat().st_size > 0


def test_a_capture_that_cannot_be_written_is_reported_not_raised(
    clock: VirtualClock, transcript: Transcript, tmp_path: Path
):
    (tmp_path / "evidence").write_text("a file where the folder should be")
    item = _Item("test_x", [("scenario", "X")])
    ((key, message),) = capture_evidence(item, _Dut(transcript, clock), tmp_path)
    assert key == "evidence:capture_error" and "Error" in message


def test_a_broadcast_goes_to_the_mac_broadcast_address_without_acknowledgement(transcript: Transcript):
    bcast = FrameAddress.from_zigpy(t.AddrModeAddress(addr_mode=t.AddrMode.Broadcast, address=0xFFFF), 0xFF)
    entry = transcript.record_frame(_frame(FrameDirection.OUT, _notify(), dst=bcast))
    (frame,) = capture_frames([entry], PAN)
    packet = Dot15d4FCS(frame.psdu)
    assert (packet.dest_addr, packet.fcf_ackreq, packet[ZigbeeNWK].destination) == (0xFFFF, 0, 0xFFFF)
    aps = packet[ZigbeeAppDataPayload]
    assert (aps.delivery_mode, aps.dst_endpoint, aps.frame_control.ack_req) == (2, 0xFF, False)
