"""No full garbage collection while the hub serves a transfer: postponed (not disabled), then resumed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from harness.perf import gc_policy
from harness.perf.bench import run_transfer
from harness.perf.probe import BlockAnswerProbe
from harness.perf.transfers import BenchSetup, Server


@pytest.fixture
def eager_collector() -> Iterator[None]:
    """Thresholds low enough that a short transfer would run several full collections if nothing stopped them."""
    saved = gc.get_threshold()
    gc_policy.reset()
    gc.set_threshold(50, 2, 2)
    yield
    gc_policy.reset()
    gc.set_threshold(*saved)


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _full_collections_while(action) -> int:
    count = 0

    def on_collection(phase: str, info: dict) -> None:
        nonlocal count
        count += phase == "start" and info["generation"] == 2

    gc.callbacks.append(on_collection)
    try:
        action()
    finally:
        gc.callbacks.remove(on_collection)
    return count


def test_postponing_raises_the_oldest_threshold_only_and_nests(eager_collector):
    gc_policy.postpone_full_collections()
    gc_policy.postpone_full_collections()
    assert gc.get_threshold() == (50, 2, gc_policy.POSTPONED_FULL_THRESHOLD)
    assert _full_collections_while(lambda: [_Cycle() for _ in range(20_000)]) == 0
    gc_policy.resume_full_collections()
    assert gc_policy.full_collections_postponed()  # one postponement is still open
    gc_policy.resume_full_collections()
    gc_policy.resume_full_collections()  # one too many: ignored
    assert gc.get_threshold() == (50, 2, 2) and not gc_policy.full_collections_postponed()
    assert _full_collections_while(lambda: [_Cycle() for _ in range(20_000)]) > 0  # postponed, not disabled


def test_settle_collects_and_freezes_and_unsettle_gives_back(eager_collector):
    garbage = _Cycle()
    gc_policy.settle()
    assert gc.get_freeze_count() > 0
    del garbage  # cyclic garbage made after the freeze: the next settle collects it
    gc_policy.unsettle()
    assert gc.get_freeze_count() == 0
    collected = []
    gc.callbacks.append(lambda phase, info: collected.append(info.get("collected", 0)) if phase == "stop" else None)
    try:
        gc_policy.settle()
    finally:
        gc.callbacks.pop()
    assert sum(collected) >= 1


@pytest.fixture(scope="module")
def setup() -> BenchSetup:
    return BenchSetup(32 * 1024)


def test_no_full_collection_runs_while_the_hub_serves_a_transfer(setup, eager_collector):
    probe = BlockAnswerProbe()
    run_transfer(setup, Server.SUITE, probe)
    assert len(probe.latencies) >= 32 * 1024 // 48
    assert probe.full_collections == 0
    assert not gc_policy.full_collections_postponed()  # the Upgrade End Request resumed them


def test_the_same_transfer_served_by_zigpy_does_collect_so_the_check_above_means_something(setup, eager_collector):
    probe = BlockAnswerProbe()
    run_transfer(setup, Server.ZIGPY, probe)
    assert len(probe.latencies) >= 32 * 1024 // 48
    assert probe.full_collections > 0
