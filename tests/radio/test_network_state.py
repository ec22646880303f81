"""Network state survives the harness process on a bench (issue 5): zigpy's database and the network backup
JSON in ``adapter.state_dir``, so a DUT joined once is found again by its EUI-64 the next night.

Driven through the real zigpy code paths (database, backup restore into a coordinator without a network) on
the loopback radio: a new ``LoopbackApp`` starts with no network, exactly like a replaced or reset stick.
The real clock is used because zigpy's database runs in a worker thread, which virtual time does not follow.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import zigpy.config as conf

from harness.clock import Budget, RealClock
from harness.emulator import EmulatedZigbeeNode
from harness.radio.factory import radio_config, start_app
from harness.radio.glue import HarnessAppMixin
from harness.radio.state import BACKUP_NAME, DATABASE_NAME, NetworkStateDir

DUT_IEEE = "00:db:12:34:56:78:90:a4"
JOIN = Budget("join", 10)


@pytest.fixture
def real_clock() -> Iterator[RealClock]:
    clock = RealClock(asyncio.new_event_loop())
    yield clock
    clock.loop.close()


def _config(state: NetworkStateDir) -> dict:
    return radio_config("loopback", "loopback://", baud_rate=115200, flow_control="none", database_path=state.prepare())


async def _start(clock: RealClock, state: NetworkStateDir) -> HarnessAppMixin:
    return await start_app("loopback", _config(state), clock=clock, before_startup=state.seed)


async def _join(clock: RealClock, app: HarnessAppMixin) -> None:
    node = EmulatedZigbeeNode(DUT_IEEE, 0x4A21)
    app.attach_node(node)  # type: ignore[attr-defined]
    node.announce()
    known = lambda: (d := app.devices.get(node.ieee)) is not None and d.is_initialized  # noqa: E731
    assert await clock.run_until(known, JOIN), "the node did not join the loopback network"


def _network(app: HarnessAppMixin) -> tuple[object, ...]:
    info = app.state.network_info
    return (info.extended_pan_id, info.pan_id, info.channel, info.network_key.key)


def test_the_database_lives_in_the_state_directory(tmp_path: Path) -> None:
    state = NetworkStateDir(tmp_path / "bench" / "state")
    config = _config(state)
    assert config[conf.CONF_DATABASE] == str(tmp_path / "bench" / "state" / DATABASE_NAME)
    assert (tmp_path / "bench" / "state").is_dir()


def test_a_joined_dut_and_the_network_are_found_again_after_a_restart(tmp_path: Path, real_clock: RealClock) -> None:
    state = NetworkStateDir(tmp_path / "state")
    run = real_clock.loop.run_until_complete

    async def first_night() -> tuple[object, ...]:
        app = await _start(real_clock, state)
        await _join(real_clock, app)
        summary = state.save(app)
        assert summary["coordinator_ieee"] == "00:12:4b:00:1c:ca:11:01" and summary["channel"] == 15
        network = _network(app)
        await app.shutdown()
        return network

    async def next_night() -> tuple[tuple[object, ...], bool]:
        app = await _start(real_clock, state)  # a new stick object: no network until zigpy restores it
        try:
            device = app.devices.get(EmulatedZigbeeNode(DUT_IEEE, 0x4A21).ieee)
            return _network(app), device is not None and device.is_initialized and 1 in device.endpoints
        finally:
            await app.shutdown()

    formed = run(first_night())
    restored, dut_known = run(next_night())
    assert restored == formed
    assert dut_known, "the DUT must be known by its EUI-64 from the database, with its endpoints"

    backup = json.loads((tmp_path / "state" / BACKUP_NAME).read_text(encoding="utf-8"))
    assert backup["metadata"]["format"] == "zigpy/open-coordinator-backup"
    assert backup["pan_id"].lower() == f"{formed[1]:04x}" and backup["channel"] == 15


def test_without_the_database_the_backup_json_restores_the_network(tmp_path: Path, real_clock: RealClock) -> None:
    state = NetworkStateDir(tmp_path / "state")
    run = real_clock.loop.run_until_complete

    async def once() -> tuple[object, ...]:
        app = await _start(real_clock, state)
        try:
            state.save(app)
            return _network(app)
        finally:
            await app.shutdown()

    formed = run(once())
    for leftover in (tmp_path / "state").glob(f"{DATABASE_NAME}*"):
        leftover.unlink()  # a new bench PC: only the JSON was copied over
    assert run(once()) == formed


def test_an_unreadable_backup_is_a_configuration_error_naming_the_file(tmp_path: Path, real_clock: RealClock) -> None:
    from harness.errors import ConfigurationError

    state = NetworkStateDir(tmp_path / "state")
    state.prepare()
    state.backup_path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=f"network backup {state.backup_path} cannot be read"):
        real_clock.loop.run_until_complete(_start(real_clock, state))
