"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from harness.clock import VirtualClock


@pytest.fixture
def clock() -> Iterator[VirtualClock]:
    """A fresh virtual clock per test; whatever is still scheduled on its loop is cancelled at the end."""
    clock = VirtualClock()
    yield clock
    loop = clock.loop
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()


@pytest.fixture(autouse=True)
def _quiet_zigpy() -> Iterator[None]:
    """zigpy at DEBUG costs about half the emulator's speed; the tests keep it at WARNING."""
    logger = logging.getLogger("zigpy")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)
