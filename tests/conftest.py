"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import asyncio
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
