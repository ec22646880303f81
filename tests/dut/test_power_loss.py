"""A power cycle is judged from the instant the device lost power, not from when the suite decided to cut it.

A bench's switch (``adapter.power_cycle_command``) may cut the supply some time after the command starts; the
device keeps working meanwhile. The adapter finds the instant from the PIXIT latency when the profile declares
it, else from the evidence (the device's last frame before the silence that ends in its rejoin), and says
which. Proven with the emulators' power switch on the loopback radio (``harness.radio.power_switch``), driven
by its real command in a subprocess while the virtual clock is held, cutting ``emulator.power_off_latency``
later, and a test node that requests a block every second."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pytest
from dut_test_node import make_profile

from harness.clock import VirtualClock
from harness.crypto.keystore import KeyStore
from harness.dut import DutAdapter, PowerCycle, PowerLossSource
from harness.transcript import Direction

SWITCH_COMMAND = f"{sys.executable} -m harness.cli.power_switch"
LATENCY_S = 5.0


def _adapter(clock: VirtualClock, node: str = "ChattyPpmid", **overrides: object) -> DutAdapter:
    profile = make_profile(
        **{
            "pixit.emulator.device_class": f"dut_test_node:{node}",
            "pixit.adapter.power_cycle_command": SWITCH_COMMAND,
            "pixit.emulator.power_off_latency": f"{LATENCY_S:g}s",
            **overrides,
        }
    )
    return DutAdapter(profile, clock, KeyStore())


@contextlib.contextmanager
def _joined(clock: VirtualClock, run, node: str = "ChattyPpmid", **overrides: object) -> Iterator[DutAdapter]:
    adapter = _adapter(clock, node, **overrides)
    run(adapter.start())
    try:
        if node == "UnannouncedChattyPpmid":
            adapter.node.announce()  # the first join announces; the rejoin will not
        run(adapter.join())
        yield adapter
    finally:
        run(adapter.stop())


@pytest.fixture
def chatty(clock, run):
    with _joined(clock, run) as adapter:
        yield adapter


def _blocks(adapter: DutAdapter, since: int, until: int | None = None) -> list[float]:
    return [
        e.time for e in adapter.transcript.ota_requests("image_block", since=since) if until is None or e.index < until
    ]


def test_a_switch_that_cuts_late_is_judged_from_the_devices_last_frame_before_its_rejoin(chatty, run, clock):
    run(clock.run_for(3))
    decided, mark = clock.now(), chatty.transcript.mark()

    cycle = run(chatty.power_cycle(off_for=2))

    assert cycle.method is PowerCycle.COMMAND and cycle.back and cycle.source is PowerLossSource.EVIDENCE
    before = _blocks(chatty, mark, cycle.loss_mark)
    assert len(before) in (4, 5) and all(decided < t <= decided + LATENCY_S for t in before)  # worked on meanwhile
    assert cycle.loss_time == before[-1]  # its last frame before the silence
    after = chatty.transcript.from_dut(since=cycle.loss_mark)
    assert after[0].command == "Device_annce" and after[0].time >= decided + LATENCY_S + 2  # off for 2 s
    assert "its last frame image_block at t=" in cycle.detail and "its rejoin at t=" in cycle.detail
    assert chatty.node.boots == 1 and chatty.node is not None  # the adapter follows the rebuilt device
    recorded = [d.decision for d in chatty.transcript.decisions(since=mark)]
    assert recorded[0] == f"power cycle by command {SWITCH_COMMAND!r}"
    assert recorded[-1].startswith(f"power lost at t={cycle.loss_time:.3f} s (evidence: its last frame")
    assert cycle.as_evidence()["instant_source"] == "evidence"


def test_a_declared_latency_places_the_instant_without_evidence(clock, run):
    with _joined(clock, run, **{"pixit.adapter.power_off_latency": f"{LATENCY_S:g}s"}) as adapter:
        run(clock.run_for(3))
        decided, mark = clock.now(), adapter.transcript.mark()
        cycle = run(adapter.power_cycle(off_for=2))
        assert cycle.source is PowerLossSource.PIXIT_LATENCY and cycle.back
        assert cycle.loss_time == decided + LATENCY_S and cycle.detail == "5 s after the command started"
        before = _blocks(adapter, mark, cycle.loss_mark)  # a block due at the very instant of the cut may be lost
        assert len(before) in (4, 5) and all(decided < t <= cycle.loss_time for t in before)
        assert all(e.time > cycle.loss_time for e in adapter.transcript.since(cycle.loss_mark) if e.is_frame)


def test_without_a_rejoin_announcement_or_a_latency_the_hooks_end_is_taken_and_said(clock, run):
    with _joined(clock, run, "UnannouncedChattyPpmid", **{"pixit.emulator.power_off_latency": "0s"}) as adapter:
        mark = adapter.transcript.mark()
        cycle = run(adapter.power_cycle(off_for=2))
        assert cycle.source is PowerLossSource.HOOK_END and cycle.back
        assert "announced no rejoin" in cycle.detail and "adapter.power_off_latency" in cycle.detail
        assert cycle.loss_mark >= mark
        assert adapter.transcript.from_dut(since=cycle.loss_mark)[0].direction is Direction.FROM_DUT


def test_the_snapshot_cut_stays_exact(clock, run):
    with _joined(clock, run, **{"pixit.adapter.power_cycle_command": None}) as adapter:
        run(clock.run_for(3))
        decided, mark = clock.now(), adapter.transcript.mark()
        cycle = run(adapter.power_cycle(off_for=2))
        assert (cycle.method, cycle.source, cycle.loss_time, cycle.loss_mark) == (
            PowerCycle.SNAPSHOT,
            PowerLossSource.ADAPTER,
            decided,
            mark,
        )
        assert _blocks(adapter, mark, cycle.loss_mark) == []
