"""A DUT joined once is found again by its EUI-64 on the next run (hardware path of ``DutAdapter.join``).

The bench is the loopback radio presented as a real coordinator (the capability table's hardware row: no
hosted emulator, network state in ``adapter.state_dir``); the DUT is an emulated node the test powers on
itself, as a real device is powered on the bench. Real clock: zigpy's database works in a thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_radios import LabNode

from harness.clock import Budget, RealClock
from harness.crypto.keystore import KeyStore
from harness.dut import DutAdapter
from harness.dut.capabilities import CAPABILITIES, PowerCycle
from harness.profile import load_run_profile

BENCH = dataclasses.replace(CAPABILITIES["loopback"], hosts_emulator=False, power_cycle=PowerCycle.COMMAND)
WHOLE_TEST = Budget("test", 60)


@pytest.fixture
def real_clock() -> Iterator[RealClock]:
    clock = RealClock(asyncio.new_event_loop())
    yield clock
    clock.loop.close()


def _bench_adapter(clock: RealClock, state: Path) -> DutAdapter:
    profile = load_run_profile(
        None,
        {
            "pixit.device_path": "socket://127.0.0.1:9",  # the loopback stick ignores it
            "pixit.adapter.state_dir": str(state),
            "pixit.budgets.join": "10s",
            "pixit.emulator.device_class": "lab_radios:LabNode",
        },
    )
    adapter = DutAdapter(profile, clock, KeyStore())
    adapter._capabilities = BENCH
    return adapter


def _power_on(adapter: DutAdapter, *, announce: bool = True) -> LabNode:
    """The DUT powered on the bench; ``announce=False``: already on the network, it just answers."""
    node = LabNode.from_profile(adapter.profile, adapter.keystore)
    adapter.app.attach_node(node)  # type: ignore[union-attr]
    if announce:
        node.boot()
    return node


def test_a_dut_joined_last_night_is_found_again_and_one_that_is_gone_may_rejoin(
    tmp_path: Path, real_clock: RealClock
) -> None:
    state = tmp_path / "state"

    def run(coro: Any) -> Any:
        return real_clock.loop.run_until_complete(real_clock.run_until_complete(coro, WHOLE_TEST))

    first = _bench_adapter(real_clock, state)
    run(first.start())
    try:
        _power_on(first)
        run(first.join())
        assert first.transcript.from_dut("Device_annce")
    finally:
        run(first.stop())
    assert (state / "zigbee.db").is_file() and (state / "network-backup.json").is_file()

    second = _bench_adapter(real_clock, state)  # next night: the DUT stayed on the bench's network
    run(second.start())
    try:
        assert second.joined, "the DUT must be known by its EUI-64 from the bench's database"
        _power_on(second, announce=False)
        run(second.join())
        assert not second.transcript.from_dut("Device_annce")  # found by a read, not by a new join
        reads = [e for e in second.transcript.to_dut("Read_Attributes") if e.decided_by == "adapter"]
        assert reads and second.transcript.from_dut("Read_Attributes_rsp")
    finally:
        run(second.stop())

    third = _bench_adapter(real_clock, state)  # the DUT was reset: silent until it rejoins
    run(third.start())
    try:
        real_clock.loop.call_later(0.5, _power_on, third)
        run(third.join())
        assert third.transcript.from_dut("Device_annce")
    finally:
        run(third.stop())
