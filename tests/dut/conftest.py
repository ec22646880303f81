"""Fixtures for the DUT adapter, CH hub and transcript tests: the default (emulated PPMID) profile with
the test-only ``ScriptedPpmid`` as its emulator class, a VirtualClock, and a started adapter.

No pytest-asyncio: ``run(coro)`` drives the clock's own loop; the adapter's methods move time only through
clock verbs, and a test lets time pass with ``run(clock.run_for(s))``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from dut_test_node import IMAGE_VERSION, make_profile

from harness.ch.ota_server import HeldImage
from harness.clock import VirtualClock
from harness.crypto.keystore import KeyStore
from harness.dut import DutAdapter
from harness.profile import Profile

Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture
def profile() -> Profile:
    return make_profile()


@pytest.fixture
def run(clock: VirtualClock) -> Runner:
    return clock.loop.run_until_complete


@pytest.fixture
def keystore() -> KeyStore:
    return KeyStore()


@pytest.fixture
def adapter(profile: Profile, clock: VirtualClock, keystore: KeyStore, run: Runner) -> Iterator[DutAdapter]:
    adapter = DutAdapter(profile, clock, keystore)
    run(adapter.start())
    yield adapter
    run(adapter.stop())


@pytest.fixture
def joined(adapter: DutAdapter, run: Runner) -> DutAdapter:
    run(adapter.join())
    return adapter


@pytest.fixture
def image(profile: Profile) -> HeldImage:
    """A held image for the DUT's identity (content is arbitrary: the test node does not verify it)."""
    return HeldImage(
        data=bytes(range(256)) * 2,
        manufacturer_code=int(profile.pixit_value("dut.manufacturer_code")),
        image_type=int(profile.pixit_value("dut.image_type")),
        file_version=IMAGE_VERSION,
    )
