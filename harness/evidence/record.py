"""A scenario's evidence folder beyond the capture: the transcript as a readable file, and for a FAIL the
frame the verdict rests on and a transfer plot with the violation marked.

Why: a FAIL is acted on by someone who opens ``evidence/<scenario>/`` next to the report. They need the
transcript without Allure (``transcript.txt``), every line naming its frame number in ``capture.pcapng`` and
its time the way Wireshark shows it (seconds since the capture's first frame, not since the run began), and
the one frame to look at first:

- a FAIL raised by ``expired_budget_signal`` (nothing arrived): the stimulus frame the budget ran from, and the
  budget's end;
- a ``DeviceFailure`` that names its ``frame``: that frame;
- any other FAIL: the device's last frame before the verdict whose command the message names, else the
  device's last frame before the verdict (the record says which rule chose it).

``scenario_evidence`` is the one end-of-scenario call: it writes the capture (``harness.evidence.pcap``), then
these, and returns the ``evidence:*`` user properties for the statement.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.evidence.bounds import bounded, bounded_lines, evidence_limit
from harness.evidence.pcap import CAPTURE_FILENAME, CaptureFrame, capture_evidence, capture_frames
from harness.reports.evidence_paths import evidence_dir, item_scenario_name
from harness.reports.text import plain_text
from harness.transcript import Direction, TranscriptEntry
from harness.verdicts import FAILURE_KEY, Verdict, classify_exception

LOGGER = logging.getLogger(__name__)

TRANSCRIPT_FILENAME = "transcript.txt"
VIOLATION_PLOT_FILENAME = "violation.png"
#: Leeway when comparing transcript times with the failure time (the clock does not move between them on the
#: virtual clock; on the real clock the report hook runs a few milliseconds after the raise).
_EPSILON_S = 1e-6
_ABSOLUTE_STAMP = re.compile(r"^(#\d+) \+\s*-?[\d.]+s ")


@dataclass(frozen=True)
class Numbering:
    """Where each transcript entry is in the capture: its first and last frame numbers (1-based; APS
    fragments make several), and the capture's time origin (the run clock at its first frame)."""

    frames: dict[int, tuple[int, int]]
    origin: float | None

    @classmethod
    def of(
        cls, entries: Sequence[TranscriptEntry], pan_id: int | None, captured: Sequence[CaptureFrame] | None = None
    ) -> Numbering:
        """``captured``: the capture's frames when the caller built them already (``capture_frames``)."""
        frames: dict[int, tuple[int, int]] = {}
        if captured is None:
            captured = capture_frames(entries, pan_id)
        for number, frame in enumerate(captured, start=1):
            first, _ = frames.get(frame.entry_index, (number, number))
            frames[frame.entry_index] = (first, number)
        by_index = {e.index: e for e in entries}
        origin = by_index[min(frames)].time if frames else (entries[0].time if entries else None)
        return cls(frames, origin)

    def relative(self, time: float) -> float:
        return round(time - (self.origin if self.origin is not None else time), 6)

    def frame_of(self, entry: TranscriptEntry) -> str:
        span = self.frames.get(entry.index)
        if span is None:
            return "-"
        return str(span[0]) if span[0] == span[1] else f"{span[0]}-{span[1]}"


def transcript_text(
    entries: Sequence[TranscriptEntry], numbering: Numbering, title: str, limit: int | None = None
) -> str:
    """The transcript for people: one line per entry, led by its capture frame number and its time since
    the capture's first frame (the transcript's own run-clock stamp is dropped: it counts from the run's start);
    at most about ``limit`` characters (``harness.evidence.bounds``)."""
    head = [
        f"# {title}",
        f"# time: seconds since the first frame of {CAPTURE_FILENAME} (Wireshark's Time column); frame: its number",
        "# there ('-': not on the air: a decision of the suite, or a frame it suppressed).",
        f"{'frame':>7} {'time':>11}  entry",
    ]
    lines = bounded(
        entries, lambda e: f"{numbering.frame_of(e):>7} {numbering.relative(e.time):>11.3f}  {_line(e)}\n", limit
    )
    return plain_text("".join(line + "\n" for line in head) + bounded_lines(lines, limit))


def _line(entry: TranscriptEntry) -> str:
    """The entry's transcript line without its run-clock stamp (which counts from the start of the run)."""
    return _ABSOLUTE_STAMP.sub(r"\1 ", entry.to_line())


def _words(command: str) -> str:
    return command.replace("_", " ").strip().lower()


def decisive_frame(
    entries: Sequence[TranscriptEntry], failure: BaseException, failed_at: float | None, numbering: Numbering
) -> dict[str, Any] | None:
    """The frame a FAIL rests on (see the module docstring), as the statement records it; None for no FAIL."""
    if classify_exception(failure) is not Verdict.FAIL:
        return None
    message = str(failure).lower()
    end = failed_at if failed_at is not None else (entries[-1].time if entries else 0.0)
    budget = getattr(failure, "budget", None)
    record: dict[str, Any] = {}
    chosen: TranscriptEntry | None = None
    if budget is not None:  # nothing arrived: the stimulus the budget ran from
        began = end - float(budget.seconds)
        sent = [e for e in entries if e.direction is Direction.TO_DUT and e.delivered and e.time <= began + _EPSILON_S]
        stimulus = _words(str(getattr(failure, "stimulus", "")))
        named = [e for e in sent if e.command and _words(e.command) in stimulus]
        chosen = (named or sent or [None])[-1]
        record.update(
            kind="stimulus",
            rule="nothing arrived: the stimulus frame before the budget began, and the budget's end",
            budget=str(budget),
            budget_end_s=numbering.relative(end),
        )
    elif isinstance(getattr(failure, "frame", None), TranscriptEntry):
        chosen = failure.frame  # type: ignore[attr-defined]
        record.update(kind="observed", rule="the frame the step named")
    else:
        received = [e for e in entries if e.direction is Direction.FROM_DUT and e.is_frame and e.time <= end + 1e-3]
        named = [e for e in received if e.command and _words(e.command) in message]
        chosen = (named or received or [None])[-1]
        rule = "named in the message" if named else "none named in the message"
        record.update(kind="observed", rule=f"the device's last frame before the verdict ({rule})")
    record["verdict_at_s"] = numbering.relative(end)
    record["clock_origin_s"] = numbering.origin
    if chosen is None:
        record.update(frame=None, time_s=None, entry=None, summary="no frame in the transcript")
        return record
    record.update(
        frame=numbering.frame_of(chosen),
        time_s=numbering.relative(chosen.time),
        entry=chosen.index,
        summary=plain_text(_line(chosen))[:400],
        capture=CAPTURE_FILENAME,
    )
    return record


def scenario_evidence(item: Any, dut: Any, run_dir: Path | str | None) -> list[tuple[str, object]]:
    """The end-of-scenario evidence: ``capture.pcapng``, ``transcript.txt``, and for a FAIL the decisive frame
    and ``violation.png``. Returns the ``evidence:*`` user properties. Evidence trouble is recorded as
    ``evidence:record_error`` and logged; it never changes the verdict."""
    if not run_dir:
        return []
    entries = list(dut.transcript.entries)
    try:  # built once for the capture and the transcript's frame numbers (a third of the evidence's CPU)
        frames: list[CaptureFrame] | None = capture_frames(entries, _pan_id(dut))
    except Exception:  # each writer below meets the same trouble again and records it
        frames = None
    properties = capture_evidence(item, dut, run_dir, frames=frames)
    try:
        properties += _transcript_and_failure(item, dut, Path(run_dir), entries, frames)
    except Exception as err:  # evidence trouble is reported, never turned into the device's verdict
        LOGGER.exception("the transcript evidence of %r could not be written", getattr(item, "name", "?"))
        properties.append(("evidence:record_error", f"{type(err).__name__}: {err}"))
    return properties


def release_scenario(item: Any, dut: Any) -> None:
    """Once the scenario's evidence is written: the failure stashed for it (``FAILURE_KEY``, kept by pytest for
    the whole session) keeps no traceback, and the transcript drops its entries (``Transcript.release``): the
    failure's traceback, which allure-pytest-bdd keeps for the session too, holds the scenario's adapter and
    transcript through its frames' locals."""
    stashed = item.stash.get(FAILURE_KEY, None) if hasattr(item, "stash") else None
    if stashed is not None:
        stashed[0].__traceback__ = None
    dut.transcript.release()


def _pan_id(dut: Any) -> int | None:
    network = getattr(getattr(dut.app, "state", None), "network_info", None)
    return None if network is None else int(network.pan_id)


def _transcript_and_failure(
    item: Any, dut: Any, run_dir: Path, entries: list[TranscriptEntry], frames: list[CaptureFrame] | None
) -> list[tuple[str, object]]:
    numbering = Numbering.of(entries, _pan_id(dut), frames)
    folder = evidence_dir(run_dir, str(item.name))
    folder.mkdir(parents=True, exist_ok=True)
    title = f"Transcript of {item_scenario_name(item) or item.name}, DUT {dut.transcript.dut_eui64 or '?'}"
    path = folder / TRANSCRIPT_FILENAME
    path.write_text(transcript_text(entries, numbering, title, evidence_limit(dut)), encoding="utf-8")
    properties: list[tuple[str, object]] = [("evidence:transcript", path.relative_to(run_dir).as_posix())]
    stashed = item.stash.get(FAILURE_KEY, None) if hasattr(item, "stash") else None
    if stashed is None:
        return properties
    decisive = decisive_frame(entries, stashed[0], stashed[1], numbering)
    if decisive is None:
        return properties
    if item.config.getoption("--transfer-plots", "on") == "on" and decisive.get("time_s") is not None:
        plot = _violation_plot(entries, numbering, decisive, folder)
        if plot is not None:
            decisive["plot"] = plot.relative_to(run_dir).as_posix()
    properties.append(("evidence:decisive", decisive))
    return properties


def _violation_plot(
    entries: Sequence[TranscriptEntry], numbering: Numbering, decisive: dict[str, Any], folder: Path
) -> Path | None:
    """The transfer around the decisive frame drawn with the violation marked (None when the scenario has no
    transfer, or the frame came before the first one)."""
    from harness.reports.transfer_plot import Violation, png_bytes, render, transfers

    origin = numbering.origin or 0.0
    at = origin + float(decisive["time_s"])
    found = [t for t in transfers(entries) if t.start <= at + _EPSILON_S]
    if not found:
        return None
    label = f"FAIL: frame {decisive['frame']}" if decisive.get("frame") not in (None, "-") else "FAIL"
    if decisive.get("kind") == "stimulus":
        label += f", then nothing within {decisive['budget']}"
    end = origin + float(decisive["budget_end_s"]) if decisive.get("budget_end_s") is not None else None
    figure = render(found[-1], violation=Violation(at, label, budget_end=end))
    decisive["transfer"] = found[-1].number
    path = folder / VIOLATION_PLOT_FILENAME
    path.write_bytes(png_bytes(figure))
    return path


__all__ = [
    "TRANSCRIPT_FILENAME",
    "VIOLATION_PLOT_FILENAME",
    "Numbering",
    "decisive_frame",
    "release_scenario",
    "scenario_evidence",
    "transcript_text",
]
