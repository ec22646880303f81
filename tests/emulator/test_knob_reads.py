"""Which fault knobs a run read (harness.emulator.knobs.recording_knob_reads), the fault matrix's ground for
running a knob only where it is read (tests/selfcheck/knob_reads.py)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from harness.emulator.faults import FAULTS, FaultSet
from harness.emulator.hcalcs_faults import HCALCS_FAULTS, HcalcsFaultSet
from harness.emulator.knobs import recording_knob_reads


def test_reading_a_knob_field_is_recorded_with_its_class_and_name() -> None:
    reads: list[tuple[type, str]] = []
    ppmid, hcalcs = FaultSet(accept_downgrade=True), HcalcsFaultSet()
    with recording_knob_reads({FaultSet: FAULTS, HcalcsFaultSet: HCALCS_FAULTS}, lambda c, k: reads.append((c, k))):
        assert ppmid.accept_downgrade and not hcalcs.skip_mac_check
        assert getattr(hcalcs, "ignore_counter", True) is False  # the GBCS device reads knobs by name
    assert reads == [
        (FaultSet, "accept-downgrade"),
        (HcalcsFaultSet, "skip-mac-check"),
        (HcalcsFaultSet, "ignore-counter"),
    ]


def test_listing_the_knobs_switched_on_is_not_a_read_but_copying_the_set_is() -> None:
    reads: list[str] = []
    faults = FaultSet(status_stuck=True)
    with recording_knob_reads({FaultSet: FAULTS}, lambda _, k: reads.append(k)):
        assert faults.names == ("status-stuck",) and str(faults) == "status-stuck" and faults
        assert reads == []
        dataclasses.replace(faults, accept_downgrade=True)  # reads every field it keeps: they count (the safe side)
    assert set(reads) == set(FAULTS) - {"accept-downgrade"}


def test_outside_the_recording_the_classes_are_as_before() -> None:
    with recording_knob_reads({FaultSet: FAULTS}, lambda *_: None):
        assert "__getattribute__" in FaultSet.__dict__
    assert "__getattribute__" not in FaultSet.__dict__
    reads: list[str] = []
    with recording_knob_reads({FaultSet: FAULTS}, lambda _, k: reads.append(k)):
        pass
    FaultSet().accept_downgrade  # noqa: B018
    assert reads == []


def test_the_emulators_read_a_fault_set_only_field_by_field() -> None:
    """The matrix's pruning rests on it: a fault set read whole (``vars``, ``__dict__``, ``asdict``) would
    escape the recording, and a knob read that way would run nowhere but in the compliant run."""
    whole = re.compile(r"\b(vars|asdict|astuple)\(\s*[\w.]*fault|fault\w*\.__dict__")
    emulators = Path(__file__).resolve().parents[2] / "harness" / "emulator"
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(emulators.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if whole.search(line)
    ]
    assert not found, found
