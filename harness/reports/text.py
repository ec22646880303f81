"""Text as it goes into an artefact: no terminal control sequences, other control characters made visible.

Why: a run started in a terminal gets pytest's coloured assertion diffs (``\\x1b[91m- INVALID_IMAGE``) in its
failure messages, and a device may report a ManufacturerName with any octets in it. A report that a test house
files must read the same in a browser, a PDF reader and ``less``: colour sequences (CSI, OSC and the other
escape sequences) are removed, every other C0/C1 control character but tab and newline is written as ``\\xNN``
so it is seen, never acted on. Every artefact the suite writes from text goes through ``plain`` (the
statement, and with it both HTML pages and the PDF; the transcript files).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: ESC-introduced sequences: CSI (``ESC [ ... final``), OSC (``ESC ] ... BEL|ST``), and two-character escapes.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: window titles, hyperlinks
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # the 8-bit CSI
)
#: Control characters left after that (tab and newline are layout, kept).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(text: str) -> str:
    """``text`` without terminal escape sequences; other control characters as visible ``\\xNN``."""
    if not _CONTROL.search(text):  # the common case: nothing to do
        return text
    text = _ESCAPE_SEQUENCE.sub("", text.replace("\r\n", "\n"))
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def plain(value: Any) -> Any:
    """``value`` with ``plain_text`` applied to every string in it (dict keys included), recursively."""
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, Mapping):
        return {plain(k) if isinstance(k, str) else k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def has_control_sequences(text: str) -> bool:
    """True when ``text`` holds ESC or any other control character but tab, newline and carriage return
    (the check the artefact tests apply to every text file of a run)."""
    return bool(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text))


__all__ = ["has_control_sequences", "plain", "plain_text"]
