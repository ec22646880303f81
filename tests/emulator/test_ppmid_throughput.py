"""Throughput of a full-size download through the whole emulator path (PPMID emulator → loopback radio →
glue → test hub → OtaServer → send_ota_frame → device), measured and printed.

Correctness is asserted; speed is only measured (benchmarks, not timed tests: `make bench` records the
numbers the README quotes). Run with ``-s`` to see them; they are also attached as ``record_property``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from zigpy.zcl import foundation

from harness.emulator.ppmid import PpmidEmulator
from harness.ota.manufacturer import TRAILER_LENGTH
from harness.ota.validate import GB_HEADER_LENGTH

if TYPE_CHECKING:
    import pytest

    from conftest import EnvFactory

FILE_SIZE = 256 * 1024


def test_256_kib_download_in_48_octet_blocks(make_env: EnvFactory, record_property: pytest.RecordProperty) -> None:
    env = make_env()
    device: PpmidEmulator = env.device
    held = env.hold(env.image(payload_size=FILE_SIZE - GB_HEADER_LENGTH - TRAILER_LENGTH))
    assert held.size == FILE_SIZE <= device.ota.config.storage_capacity
    start_virtual = env.clock.now()
    wall = time.perf_counter()
    assert env.download(3600)
    wall = time.perf_counter() - wall
    blocks = len(env.hub.named("image_block"))
    assert blocks == -(-FILE_SIZE // 48) == 5462
    assert env.hub.end_statuses() == [foundation.Status.SUCCESS]
    rate = blocks / wall
    record_property("download_256kib_wall_s", round(wall, 3))
    record_property("block_round_trips_per_s", round(rate))
    print(
        f"\n256 KiB in 48-octet blocks: {blocks} block round trips in {wall:.3f} s wall ({rate:,.0f}/s), "
        f"{env.clock.now() - start_virtual:.1f} s virtual (verification included)"
    )
    assert env.run_until(lambda: env.device.running_version == held.file_version, 600)
