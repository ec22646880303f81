"""Evidence files of bounded size: a scenario's transcript and capture never grow past PIXIT limits.evidence_octets.

Why: the traffic caps (``harness.dut.traffic``) already bound what a scenario records, so these limits are a
backstop for what is written from it (``transcript.txt``, the Allure transcript attachments, the capture). A file
past its limit keeps its beginning (how the exchange started) and its end (what happened last, where a verdict
usually rests) and says how much it left out, so it stays readable and valid. Only the entries that are kept are
rendered, so writing the evidence of a long transcript never holds all of it rendered at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.transcript import Transcript, TranscriptEntry

T = TypeVar("T")


@dataclass(frozen=True)
class Bounded:
    """The renderings of the first and the last items of a sequence within a size, and how many are left out."""

    head: list[str]
    left_out: int
    tail: list[str]

    @property
    def parts(self) -> list[str]:
        return self.head + self.tail


def evidence_limit(dut: Any) -> int | None:
    """The evidence cap of ``dut``'s scenario (its ``traffic`` guard's PIXIT limits.evidence_octets); None for an
    adapter without one (a test's stand-in)."""
    limits = getattr(getattr(dut, "traffic", None), "limits", None)
    return None if limits is None else int(limits.evidence_octets)


def bounded(items: Sequence[T], render: Callable[[T], str], limit: int | None) -> Bounded:
    """``render`` the first items up to about half of ``limit`` characters, then the last ones up to the other
    half (every item when they all fit, each rendered once; every item when ``limit`` is None)."""
    if limit is None:
        return Bounded([render(item) for item in items], 0, [])
    head: list[str] = []
    size = 0
    for item in items:
        text = render(item)
        if size + len(text) > limit // 2:
            break
        head.append(text)
        size += len(text)
    tail: list[str] = []
    size = 0
    for item in reversed(items[len(head) :]):
        text = render(item)
        if size + len(text) > limit - limit // 2:
            break
        tail.append(text)
        size += len(text)
    tail.reverse()
    return Bounded(head, len(items) - len(head) - len(tail), tail)


def omission_note(left_out: int, limit: int | None, what: str = "entries") -> str:
    return (
        f"... {left_out:,} {what} left out here: the evidence file is capped at {limit or 0:,} octets "
        "(PIXIT limits.evidence_octets) ...\n"
    )


def bounded_lines(lines: Bounded, limit: int | None, what: str = "entries") -> str:
    """The lines joined, with the note saying what was left out between the first and the last ones."""
    note = omission_note(lines.left_out, limit, what) if lines.left_out else ""
    return "".join(lines.head) + note + "".join(lines.tail)


def bounded_transcript_text(transcript: Transcript, limit: int | None) -> str:
    """``transcript.to_text()`` within about ``limit`` characters."""
    entries = transcript.entries
    body = bounded(entries, _line, None if limit is None else limit - len(transcript.text_title()))
    return transcript.text_title() + bounded_lines(body, limit)


def bounded_transcript_json(transcript: Transcript, limit: int | None, summary: dict[str, Any] | None = None) -> str:
    """``transcript.to_json()``, or past about ``limit`` characters the same document with only its first and last
    entries and ``omitted_entries`` saying how many are left out (still valid JSON). ``summary``: the transcript's
    ``summary()`` when the caller has it (it reads every entry)."""
    entries = bounded(transcript.entries, _entry_json, limit)
    document: dict[str, Any] = {
        "transcript": transcript.name,
        "dut_eui64": transcript.dut_eui64,
        "summary": transcript.summary() if summary is None else summary,
    }
    if entries.left_out:
        document["omitted_entries"] = entries.left_out
        document["omitted_because"] = f"evidence file capped at {limit:,} octets (PIXIT limits.evidence_octets)"
    head = json.dumps(document, default=str)
    return head[:-1] + ', "entries": [' + ", ".join(entries.parts) + "]}"


def _line(entry: TranscriptEntry) -> str:
    return entry.to_line() + "\n"


def _entry_json(entry: TranscriptEntry) -> str:
    return json.dumps(entry.as_dict(), default=str)


__all__ = [
    "Bounded",
    "bounded",
    "bounded_lines",
    "bounded_transcript_json",
    "bounded_transcript_text",
    "evidence_limit",
    "omission_note",
]
