"""Fixtures for the lab-fault tests: a virtual-clock runner and what a hardware run needs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from harness.clock import Budget, VirtualClock

TEST_BUDGET = Budget("lab test", 3600)


@pytest.fixture
def run(clock: VirtualClock) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def _run(coro: Coroutine[Any, Any, Any], budget: Budget = TEST_BUDGET) -> Any:
        return clock.loop.run_until_complete(clock.run_until_complete(coro, budget))

    return _run


@pytest.fixture
def hardware_args(tmp_path: Path) -> list[str]:
    """What a hardware run needs beyond the emulated profile: a vendor image, a power switch, a state dir."""
    newer = tmp_path / "newer.ota"
    newer.write_bytes(b"vendor image")
    return [
        "--pixit", f"images.newer={newer}",
        "--pixit", "adapter.power_cycle_command=true",
        "--pixit", f"adapter.state_dir={tmp_path / 'state'}",
    ]  # fmt: skip
