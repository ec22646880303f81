"""Which emulated device class a profile runs on the loopback radio, and the fault knobs that class knows.

Why here: PIXIT ``emulator.faults`` names knobs of the device class (``emulator.device_class``, or the
built-in emulator of the role), and a misspelt knob found only when the first scenario builds the device ends
that scenario as ERROR. The loader asks the class instead, through its ``fault_names()`` hook, so a vendor's
own class brings its own knobs. A class that cannot be imported, or has no hook, is not judged here: the DUT
adapter reports an unloadable class as the lab fault it is.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from harness.profile.schema import radio_class

#: The built-in emulator of each role, as ``module:Class`` (PIXIT ``emulator.device_class`` overrides it).
DEFAULT_EMULATORS: dict[str, str] = {
    "ppmid": "harness.emulator.ppmid:PpmidEmulator",
    "hcalcs": "harness.emulator.hcalcs:HcalcsEmulator",
}


def emulator_class_spec(role: str, pixit: Mapping[str, Any]) -> str | None:
    """``module:Class`` of the device the loopback radio hosts for this profile (None: no emulator of the role)."""
    return pixit.get("emulator.device_class") or DEFAULT_EMULATORS.get(role)


def knob_key(name: object) -> str:
    """A knob name as the catalogues index it: kebab-case, lower case (``stall_after_block``: ``stall-after-block``)."""
    return str(name).strip().replace("_", "-").lower()


def find_knob(name: object, known: Iterable[str]) -> str | None:
    """The known knob ``name`` stands for (as written, or by ``knob_key``), or None."""
    pool = list(known)
    written = str(name).strip()
    if written in pool:
        return written
    key = knob_key(name)
    return key if key in pool else None


def unknown_knob_problems(role: str, pixit: Mapping[str, Any]) -> list[str]:
    """One message per knob of ``emulator.faults`` the device class does not know (none when it cannot say)."""
    names = pixit.get("emulator.faults") or []
    spec = emulator_class_spec(role, pixit)
    cls = radio_class(spec) if names and spec else None  # imports module:Class (cached); None if it cannot
    hook = getattr(cls, "fault_names", None)
    if not callable(hook):
        return []
    known = [str(name) for name in hook()]
    problems = []
    for name in names:
        if find_knob(name, known) is None:
            close = difflib.get_close_matches(knob_key(name), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            problems.append(
                f"unknown fault knob {name!r} of the {role} device {spec}{hint} Known knobs: {', '.join(known)}"
            )
    return problems


__all__ = ["DEFAULT_EMULATORS", "emulator_class_spec", "find_knob", "knob_key", "unknown_knob_problems"]
