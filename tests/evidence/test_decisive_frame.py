"""The frame a FAIL rests on: the stimulus and the budget's end when nothing arrived; the frame a step named;
otherwise the device's last frame before the verdict, preferring one whose command the message names. Times
count from the capture's first frame, as Wireshark shows them; frame numbers are the capture's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness.clock import Budget
from harness.evidence.record import Numbering, decisive_frame, transcript_text
from harness.transcript import Direction, EntryKind, Party, Role, TranscriptEntry
from harness.verdicts import DeviceFailure, Inconclusive, expired_budget_signal

ORIGIN = 24_000.0  # the run clock at the scenario's first frame: hours into the run
CH = Party(Role.CH, 0x0000, None, 1)
DUT = Party(Role.DUT, 0x90A4, "00-DB-12-34-56-78-90-A4", 1)


def _entry(index: int, at: float, direction: Direction, command: str) -> TranscriptEntry:
    src, dst = (CH, DUT) if direction is Direction.TO_DUT else (DUT, CH)
    return TranscriptEntry(
        index=index,
        kind=EntryKind.FRAME,
        time=ORIGIN + at,
        utc=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=at),
        direction=direction,
        src=src,
        dst=dst,
        profile_id=0x0109,
        cluster_id=0x0019,
        cluster="Ota",
        command_id=0,
        command=command,
        fields={},
    )


ENTRIES = [
    _entry(0, 0.0, Direction.FROM_DUT, "Device_annce"),
    _entry(1, 1.0, Direction.TO_DUT, "image_notify"),
    _entry(2, 1.5, Direction.FROM_DUT, "query_next_image"),
    _entry(3, 2.0, Direction.TO_DUT, "query_next_image_response"),
    _entry(4, 5.0, Direction.FROM_DUT, "upgrade_end"),
    _entry(5, 6.0, Direction.FROM_DUT, "transfer_data"),
]
# entry 3 was APS-fragmented into frames 4 and 5 of the capture
NUMBERING = Numbering({0: (1, 1), 1: (2, 2), 2: (3, 3), 3: (4, 5), 4: (6, 6), 5: (7, 7)}, ORIGIN)


def test_nothing_arrived_names_the_stimulus_and_the_budgets_end() -> None:
    budget = Budget("download", 60.0)
    failure = expired_budget_signal(
        budget=budget, expected="an Image Block Request", stimulus="a Query Next Image Response", stimulus_received=True
    )
    record = decisive_frame(ENTRIES[:4], failure, ORIGIN + 62.0, NUMBERING)
    assert record["kind"] == "stimulus" and record["frame"] == "4-5" and record["time_s"] == 2.0
    assert record["budget_end_s"] == 62.0 and record["budget"] == "download (60 s)"


def test_a_named_frame_wins_and_otherwise_the_one_the_message_names() -> None:
    named = decisive_frame(ENTRIES, DeviceFailure("expected x, observed y", frame=ENTRIES[2]), ORIGIN + 6.5, NUMBERING)
    assert (named["frame"], named["rule"]) == ("3", "the frame the step named")
    failure = AssertionError("expected Upgrade End Request status INVALID_IMAGE, observed status SUCCESS")
    observed = decisive_frame(ENTRIES, failure, ORIGIN + 6.5, NUMBERING)
    assert observed["frame"] == "6" and observed["time_s"] == 5.0  # not the later transfer_data
    assert "named in the message" in observed["rule"]
    fallback = decisive_frame(ENTRIES, AssertionError("expected 1, observed 2"), ORIGIN + 6.5, NUMBERING)
    assert fallback["frame"] == "7" and "none named" in fallback["rule"]


def test_no_verdict_has_no_decisive_frame() -> None:
    assert decisive_frame(ENTRIES, Inconclusive("no verdict"), ORIGIN + 6.5, NUMBERING) is None


def test_the_transcript_file_leads_each_line_with_its_capture_frame_and_time() -> None:
    text = transcript_text(ENTRIES, NUMBERING, "Transcript of a test")
    lines = text.splitlines()
    assert lines[0] == "# Transcript of a test" and "Wireshark's Time column" in lines[1]
    row = next(line for line in lines if "query_next_image_response" in line)
    assert row.split()[:2] == ["4-5", "2.000"] and "24002" not in row  # never the run clock's time
