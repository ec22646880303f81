"""Evidence files of bounded size: a scenario's transcript and capture never grow past PIXIT limits.evidence_octets.

Why: the traffic caps (``harness.dut.traffic``) already bound what a scenario records, so these limits are a
backstop for what is written from it (``transcript.txt``, the Allure transcript attachments, the capture). A file
past its limit keeps its beginning (how the exchange started) and its end (what happened last, where a verdict
usually rests) and says how much it left out, so it stays readable and valid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from harness.transcript import Transcript


def evidence_limit(dut: Any) -> int | None:
    """The evidence cap of ``dut``'s scenario (its ``traffic`` guard's PIXIT limits.evidence_octets); None for an
    adapter without one (a test's stand-in)."""
    limits = getattr(getattr(dut, "traffic", None), "limits", None)
    return None if limits is None else int(limits.evidence_octets)


def bounded_text(parts: Sequence[str], limit: int, what: str = "entries") -> str:
    """``parts`` (lines) joined, at most about ``limit`` characters: past it the first and last lines are kept and
    the middle is replaced by one line saying how many ``what`` were left out."""
    items = parts
    if sum(len(part) for part in items) <= limit:
        return "".join(items)
    half = limit // 2
    head: list[str] = []
    size = 0
    for part in items:
        if size + len(part) > half:
            break
        head.append(part)
        size += len(part)
    tail: list[str] = []
    size = 0
    for part in reversed(items[len(head) :]):
        if size + len(part) > half:
            break
        tail.append(part)
        size += len(part)
    left_out = len(items) - len(head) - len(tail)
    note = (
        f"... {left_out:,} {what} left out here: the evidence file is capped at {limit:,} octets "
        "(PIXIT limits.evidence_octets) ...\n"
    )
    return "".join(head) + note + "".join(reversed(tail))


def bounded_transcript_text(transcript: Transcript, limit: int) -> str:
    """``transcript.to_text()`` within ``limit`` characters (``bounded_text``)."""
    return bounded_text(transcript.text_lines(), limit)


def bounded_transcript_json(transcript: Transcript, limit: int) -> str:
    """``transcript.to_json()``, or past ``limit`` characters the same document with only its first and last
    entries and ``omitted_entries`` saying how many are left out (still valid JSON)."""
    document = transcript.to_json()
    if len(document) <= limit:
        return document
    entries = transcript.entries
    keep = max(1, int(len(entries) * limit / len(document) / 2))
    kept: list[dict[str, Any]] = [e.as_dict() for e in entries[:keep]] + [e.as_dict() for e in entries[-keep:]]
    return json.dumps(
        {
            "transcript": transcript.name,
            "dut_eui64": transcript.dut_eui64,
            "summary": transcript.summary(),
            "omitted_entries": len(entries) - len(kept),
            "omitted_because": f"evidence file capped at {limit:,} octets (PIXIT limits.evidence_octets)",
            "entries": kept,
        },
        default=str,
    )


__all__ = ["bounded_text", "bounded_transcript_json", "bounded_transcript_text", "evidence_limit"]
