"""A pytest plugin for the fault matrix's compliant runs (``-p knob_reads``): which fault knobs each scenario
read, written to ``knob-reads.json`` in the run directory.

Why: the emulators consult a knob only by reading its field (``harness.emulator.knobs.recording_knob_reads``),
and a run on the virtual clock is deterministic, so a scenario that never read a knob's field in the compliant
run runs the same, to the same verdict, with the knob on. The fault matrix therefore runs each knob only on
the scenarios that read it and takes the others' verdicts from the compliant run (``knob_selection``): about a
quarter of the scenarios, for the same judgement. ``tests/selfcheck/test_warm_runs.py`` checks it against
whole runs of a sample of knobs.

A read outside any scenario (collection, session start or end) counts for every scenario. The emulators are
built per scenario (no session-scoped device), so no knob read in one scenario shapes another.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness.emulator.faults import FAULTS, FaultSet
from harness.emulator.hcalcs_faults import HCALCS_FAULTS, HcalcsFaultSet
from harness.emulator.knobs import recording_knob_reads

READS_FILE = "knob-reads.json"
#: The fault-set classes by the device role whose catalogue they hold (the HCALCS also builds a PPMID
#: ``FaultSet`` for its OTA client, from its own ``self-activate`` read at construction).
ROLES: dict[type, str] = {FaultSet: "ppmid", HcalcsFaultSet: "hcalcs"}
SESSION = "(outside any scenario)"


class _Recorder:
    def __init__(self) -> None:
        self.current = SESSION
        self.reads: defaultdict[str, set[str]] = defaultdict(set)

    def on_read(self, cls: type, knob: str) -> None:
        self.reads[self.current].add(f"{ROLES[cls]}:{knob}")


_RECORDER_KEY = pytest.StashKey[tuple[_Recorder, ExitStack]]()


def pytest_configure(config: pytest.Config) -> None:
    recorder, stack = _Recorder(), ExitStack()
    stack.enter_context(recording_knob_reads({FaultSet: FAULTS, HcalcsFaultSet: HCALCS_FAULTS}, recorder.on_read))
    config.stash[_RECORDER_KEY] = (recorder, stack)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[Any]:
    recorder = item.config.stash[_RECORDER_KEY][0]
    recorder.current = item.nodeid
    try:
        return (yield)
    finally:
        recorder.current = SESSION


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    recorder = session.config.stash[_RECORDER_KEY][0]
    run_dir = session.config.getoption("--run-dir", None)
    if run_dir:
        document = {
            "session": sorted(recorder.reads.get(SESSION, ())),
            "scenarios": {node: sorted(knobs) for node, knobs in recorder.reads.items() if node != SESSION},
        }
        (Path(run_dir) / READS_FILE).write_text(json.dumps(document, indent=1), encoding="utf-8")


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[_RECORDER_KEY][1].close()


def knob_selection(reads: Mapping[str, Any], role: str, knob: str) -> list[str] | None:
    """The ``-k`` arguments that select the scenarios which read ``knob`` in the compliant run (``reads``: its
    ``knob-reads.json``); [] when the knob must run on every scenario (read outside one), None when no
    scenario read it (nothing to run: every verdict is the compliant run's)."""
    name = f"{role}:{knob}"
    if name in reads["session"]:
        return []
    nodes = [node for node, knobs in reads["scenarios"].items() if name in knobs]
    if not nodes:
        return None
    # The test function's name (an outline's every row: a superset is harmless); -k matches it as a substring.
    functions = sorted({re.sub(r"\[.*$", "", node.rpartition("::")[2]) for node in nodes})
    return ["-k", " or ".join(functions)]


def knob_results(
    run_knob: Callable[[list[str]], dict[str, Any]],
    compliant: Mapping[str, Any],
    reads: Mapping[str, Any],
    role: str,
    knob: str,
) -> dict[str, Any]:
    """A knob's results by scenario: ``run_knob(selection)`` (the knob's run with these pytest arguments) on the
    scenarios that read it, the compliant run's for every other (both keyed alike)."""
    selection = knob_selection(reads, role, knob)
    return {**compliant, **({} if selection is None else run_knob(selection))}
