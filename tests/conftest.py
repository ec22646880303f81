"""Fixtures shared by the harness's own tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from _pytest.nodeid import coerce_node_id

from harness.clock import VirtualClock


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep ``--dist loadgroup`` groups together (the fault matrix, the browser and seam runs compute one
    expensive module fixture each). pytest-xdist 3.8 tags a group by setting ``Item._nodeid``, which pytest 9
    no longer reads (the node id lives in ``_id``), so without this each group is scattered over the workers
    and its fixture computed on every one of them."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = sorted(
            {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
        )
        if names and "@" not in item.nodeid:
            item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")


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
