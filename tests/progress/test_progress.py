"""The run's progress reporter: its lines, its throttling of transfer lines, when it is on, and how steps
feed it from a transcript."""

from __future__ import annotations

import io
import itertools

import pytest

from harness import progress
from harness.progress import ProgressReporter, progress_enabled


class Wall:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def reporter(live: bool = False) -> tuple[ProgressReporter, io.StringIO, Wall]:
    stream, wall = io.StringIO(), Wall()
    return ProgressReporter(stream=stream, live=live, wall=wall), stream, wall


def test_each_finished_scenario_is_one_line_with_its_number_verdict_and_both_times():
    rep, out, wall = reporter()
    rep.begin_run(12)
    rep.begin_scenario("a")
    wall.t += 0.25
    rep.end_scenario("The PPMID waits", "PASS", 127.0)
    rep.begin_scenario("b")
    wall.t += 300
    rep.end_scenario("The PPMID gives up", "INCONCLUSIVE", None)
    assert out.getvalue().splitlines() == [
        "[ 1 of 12] PASS           The PPMID waits (0.25 s wall, 2 min 07 s modelled)",
        "[ 2 of 12] INCONCLUSIVE   The PPMID gives up (5 min 00 s wall)",
    ]


def test_the_lines_say_which_clock_ran():
    stream, wall = io.StringIO(), Wall()
    virtual = ProgressReporter(stream=stream, wall=wall, clock="virtual", clock_reason="default for the loopback")
    virtual.begin_run(2)
    virtual.begin_scenario("a")
    virtual.end_scenario("The PPMID waits", "PASS", 7200.0)
    real = ProgressReporter(stream=stream, wall=wall, clock="real")
    real.begin_run(1)
    real.begin_scenario("b")
    wall.t += 3
    real.end_scenario("The PPMID waits", "PASS", 3.0)
    assert stream.getvalue().splitlines() == [
        "2 scenarios on the virtual clock (default for the loopback)",
        "[1 of 2] PASS           The PPMID waits (0.00 s wall, 2 h 00 min virtual time)",
        "1 scenarios on the real clock",
        "[1 of 1] PASS           The PPMID waits (3.00 s wall, real time)",
    ]


def test_an_instant_transfer_prints_nothing_and_a_slow_one_a_line_per_second_and_ten_percent_in_a_log():
    rep, out, wall = reporter(live=False)
    rep.begin_run(1)
    rep.begin_scenario("x")
    for offset in range(0, 1000, 10):  # the emulator: the whole image within one wall second
        rep.transfer(offset, 1000)
    assert out.getvalue() == ""
    for offset in range(0, 1001, 10):  # hardware: 0.5 s of wall time per block of 1 %
        wall.t += 0.5
        rep.transfer(offset, 1000)
    lines = out.getvalue().splitlines()
    percents = [int(line.split()[1]) for line in lines]
    assert 9 <= len(lines) <= 11 and percents == sorted(percents) and percents[-1] == 100
    assert all(b - a >= 9 for a, b in itertools.pairwise(percents))  # the last step may end at 100 %
    assert lines[-1] == "  transfer 100 % (1,000 of 1,000 octets)"


def test_on_a_terminal_the_transfer_line_is_rewritten_at_most_once_a_second_and_cleared_by_the_verdict():
    rep, out, wall = reporter(live=True)
    rep.begin_run(1)
    rep.begin_scenario("x")
    for offset in range(0, 1000, 100):
        wall.t += 0.4
        rep.transfer(offset, 1000)
    rep.end_scenario("x", "FAIL", 1.0)
    text = out.getvalue()
    assert text.count("\r  transfer") == 3  # at 1.2 s, 2.4 s and 3.6 s of wall time
    assert "\n" not in text.split("[1 of 1]")[0]  # transfer lines overwrite one another
    assert text.endswith("\r\x1b[K[1 of 1] FAIL           x (4.00 s wall, 1.00 s modelled)\n")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("choice", "stream", "on"),
    [("auto", io.StringIO(), False), ("auto", Tty(), True), ("on", io.StringIO(), True), ("off", Tty(), False)],
)
def test_progress_is_on_for_a_terminal_unless_forced(choice, stream, on):
    assert progress_enabled(choice, stream) is on


def test_watching_a_transcript_without_a_reporter_is_a_no_op():
    progress.stop()

    class NoTranscript:
        def add_listener(self, listener):  # pragma: no cover - must not be called
            raise AssertionError("listened without a reporter")

    assert progress.watch_transcript(NoTranscript())() is None
