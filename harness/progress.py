"""Progress of `ota-conformance run` on stderr: scenario n of N, name, verdict, wall and modelled time.

Why: on hardware one download takes minutes and a run hours; an operator must see that the run is alive and
where it is. On the emulator the whole run takes seconds, so the reporter stays terse there: one line per
scenario. The "transfer %" line appears only once a transfer has run for a second of wall time: on a
terminal it is rewritten in place at most once a second; in a log (not a terminal) a new line is written at
most once a second and only when the transfer moved by another 10 %, so a long transfer adds ten lines.

The pytest plugin owns the reporter (``start``/``stop``); steps feed it the live transfer through
``watch_transcript``, which is a no-op when no reporter is on (plain pytest, ``--no-progress``). With xdist
the controller prints the per-scenario lines (reports arrive there), transfers are not shown.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import pytest

from harness.transcript import OTA_CLUSTER_ID, Direction, Transcript, TranscriptEntry
from harness.verdicts import Verdict, combine_verdicts, verdict_from_report

#: Live transfer lines: at most one per this many wall seconds, unless the transfer moved by STEP_PERCENT.
MIN_INTERVAL_S = 1.0
STEP_PERCENT = 10
#: ``report.user_properties`` key of a scenario's modelled (run clock) duration, set by steps/context.py.
MODELLED_PROPERTY = "modelled_s"


@dataclass
class ProgressReporter:
    """Writes one line per finished scenario and, while a transfer runs, a throttled percentage."""

    stream: TextIO | None = None  # None: sys.stderr at the time of writing (pytest swaps it while capturing)
    live: bool = False  # a terminal: transfer lines overwrite themselves (carriage return)
    #: Context in which to write: pytest's capture suspended, since transfer lines come from inside a test.
    uncaptured: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext
    total: int = 0
    done: int = 0
    #: The run's clock ("virtual" or "real") and why; empty when unknown (then "modelled" time is shown).
    clock: str = ""
    clock_reason: str = ""
    wall: Callable[[], float] = time.monotonic
    _scenario_started: float = 0.0
    _last_shown: tuple[float, int] | None = None  # wall time and percent of the last transfer line

    def begin_run(self, total: int) -> None:
        self.total = total
        if self.clock:
            why = f" ({self.clock_reason})" if self.clock_reason else ""
            self._write(f"{total} scenarios on the {self.clock} clock{why}\n")

    def begin_scenario(self, name: str) -> None:
        self._scenario_started = self.wall()
        self._last_shown = None

    def transfer(self, offset: int, size: int) -> None:
        """The device asked for ``offset`` of a ``size``-octet image: show it, throttled."""
        if size <= 0:
            return
        offset = min(offset, size)
        percent = offset * 100 // size
        now = self.wall()
        shown_at, shown_percent = self._last_shown or (self._scenario_started, -STEP_PERCENT)
        if now - shown_at < MIN_INTERVAL_S or (
            not self.live and percent - shown_percent < min(STEP_PERCENT, 100 - shown_percent)
        ):
            return
        self._last_shown = (now, percent)
        line = f"  transfer {percent:3d} % ({offset:,} of {size:,} octets)"
        self._write(f"\r{line}\x1b[K" if self.live else line + "\n")

    def end_scenario(self, name: str, verdict: str, modelled_s: float | None) -> None:
        self.done += 1
        wall = self.wall() - self._scenario_started
        if modelled_s is None:
            modelled = ""
        elif self.clock == "real":
            modelled = ", real time"
        else:  # the run clock's time: virtual time, or "modelled" when the clock is not known
            modelled = f", {_duration(modelled_s)} {'virtual time' if self.clock == 'virtual' else 'modelled'}"
        width = len(str(self.total or self.done))
        head = f"[{self.done:>{width}} of {self.total or '?'}] {verdict:<14} {name}"
        self._write(("\r\x1b[K" if self.live else "") + f"{head} ({_duration(wall)} wall{modelled})\n")

    def _write(self, text: str) -> None:
        with self.uncaptured():
            stream = self.stream or sys.stderr
            stream.write(text)
            stream.flush()


def _duration(seconds: float) -> str:
    """Seconds as an operator reads them: 0.12 s, 42 s, 3 min 05 s, 2 h 01 min."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 120:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


_CURRENT: list[ProgressReporter] = []


def start(reporter: ProgressReporter) -> ProgressReporter:
    """Make ``reporter`` the run's reporter (the plugin calls this when progress is on)."""
    _CURRENT[:] = [reporter]
    return reporter


def stop() -> None:
    _CURRENT.clear()


def current() -> ProgressReporter | None:
    return _CURRENT[0] if _CURRENT else None


def watch_transcript(transcript: Transcript) -> Callable[[], None]:
    """Feed the reporter from a scenario's transcript: image size from the Query Next Image Response, then
    every Image Block Request. Returns the function that stops watching (a no-op without a reporter)."""
    reporter = current()
    if reporter is None:
        return lambda: None
    sizes: dict[int, int] = {}

    def on_entry(entry: TranscriptEntry) -> None:
        # The command first: it is read from the header, while ``malformed`` decodes the payload (a block
        # response's, thousands of times a download, for nothing).
        if entry.cluster_id != OTA_CLUSTER_ID or entry.command not in ("query_next_image_response", "image_block"):
            return
        if entry.malformed:
            return
        fields = entry.fields
        if entry.direction is Direction.TO_DUT and entry.command == "query_next_image_response":
            if fields.get("image_size") is not None and fields.get("file_version") is not None:
                sizes[int(fields["file_version"])] = int(fields["image_size"])
        elif entry.direction is Direction.FROM_DUT and entry.command == "image_block":
            size = sizes.get(int(fields.get("file_version", -1)), 0)
            reporter.transfer(int(fields["file_offset"]) + int(fields["maximum_data_size"]), size)

    return transcript.add_listener(on_entry)


class ProgressPlugin:
    """The pytest side: counts scenarios, prints a line as each one ends, silences pytest's own dots.

    Registered by ``harness.pytest_plugin`` when ``--progress`` resolves to on (the default "auto" means:
    stderr is a terminal). Scenario lines replace the dots, so the two never interleave.
    """

    def __init__(self, reporter: ProgressReporter) -> None:
        self.reporter = reporter
        self._verdicts: dict[str, list[Verdict]] = {}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        start(self.reporter)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        stop()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.reporter.begin_run(len(session.items))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        self.reporter.begin_run(len(ids))

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        self.reporter.begin_scenario(nodeid)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        verdict = verdict_from_report(report)
        verdicts = self._verdicts.setdefault(report.nodeid, [])
        if verdict is not None:
            verdicts.append(verdict)
        if report.when != "teardown":
            return
        properties = dict(report.user_properties)
        name = str(properties.get("scenario") or report.nodeid)
        combined = combine_verdicts(self._verdicts.pop(report.nodeid)).value if verdicts else Verdict.ERROR.value
        modelled = properties.get(MODELLED_PROPERTY)
        self.reporter.end_scenario(name, combined, None if modelled is None else float(modelled))

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config):
        category, _letter, _word = yield
        return category, "", ""


def progress_enabled(choice: str, stream: TextIO) -> bool:
    """``--progress``: "on", "off", or "auto" (on when ``stream`` is a terminal, so CI logs and tests that
    capture the output stay quiet)."""
    if choice == "auto":
        return bool(getattr(stream, "isatty", lambda: False)())
    return choice == "on"


def install(config: pytest.Config, choice: str, clock: str = "", clock_reason: str = "") -> None:
    """Register the progress plugin on ``config`` when ``choice`` resolves to on (not on xdist workers); its
    lines say which clock ran (``clock``, ``clock_reason``: the profile's setup decision)."""
    if hasattr(config, "workerinput") or not progress_enabled(choice, sys.stderr):
        return
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = ProgressReporter(live=bool(sys.stderr.isatty()), clock=clock, clock_reason=clock_reason)
    if capture is not None:
        reporter.uncaptured = capture.global_and_fixture_disabled
    config.pluginmanager.register(ProgressPlugin(reporter), "ota-conformance-progress")
