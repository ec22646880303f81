"""The transcript stays lean on a long download: entries keep the raw frame, share what headers say, decode
the payload on first use (once, shared with the hub), and forget decodes long past without ever answering
differently."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from test_transcript import DUT, DUT_NWK, frame  # the transcript tests' hand-built frames
from test_transcript import block_request as image_block_request

from harness.clock import VirtualClock
from harness.radio.frames import FrameDirection, RawFrame
from harness.transcript import Role, Transcript, decode


def block_request(offset: int, tsn: int = 9) -> RawFrame:
    return frame(FrameDirection.IN, image_block_request(offset, tsn))


@pytest.fixture
def transcript() -> Transcript:
    transcript = Transcript(VirtualClock(), dut_eui64=DUT)
    transcript.register_party(DUT, Role.DUT, nwk=DUT_NWK)
    return transcript


def test_recording_reads_the_header_only_and_reading_a_field_decodes_once_shared_with_the_hub(transcript):
    first, second = block_request(0), block_request(48)
    a, b = transcript.record_frame(first), transcript.record_frame(second)
    assert first.decoded is None and second.decoded is None  # nothing decoded the payloads yet
    assert (a.command, a.tsn, a.zcl.client_to_server, a.is_cluster_command) == ("image_block", 9, True, True)
    assert a.zcl is b.zcl  # the same header octets: one shared reading of them
    assert a.fields["file_offset"] == 0 and b.fields["file_offset"] == 48
    assert a.decoded is a.decoded is decode(first)  # decoded once; the hub's decode(frame) gets the same
    assert second.decoded is b.decoded


def test_an_entry_costs_a_few_hundred_octets(transcript):
    frames = [block_request(48 * n, tsn=n % 256) for n in range(4000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for raw in frames:
            transcript.record_frame(raw)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / len(frames)
    finally:
        tracemalloc.stop()
    assert per_entry < 512, f"{per_entry:.0f} octets per entry (the frame itself not counted)"


def test_decodes_long_past_are_forgotten_and_decoded_again_alike(transcript, monkeypatch):
    monkeypatch.setattr(type(transcript._recorded), "DECODED_KEPT", 8)
    frames = [block_request(48 * n) for n in range(20)]
    entries = [transcript.record_frame(raw) for raw in frames]
    first = dict(entries[0].fields)
    for entry in entries[1:]:
        entry.fields  # noqa: B018  (reading decodes)
    assert frames[0].decoded is None  # forgotten: 19 decodes since, 8 kept
    assert frames[-1].decoded is not None
    assert entries[0].fields == first and not entries[0].malformed
    assert [e.fields["file_offset"] for e in entries] == [48 * n for n in range(20)]
    assert transcript.block_offsets() == [48 * n for n in range(20)]
