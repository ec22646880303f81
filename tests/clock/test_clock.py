"""The clock: virtual time moves only inside verbs, follows every asyncio timer, and costs no wall time."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest

from harness.clock import (
    Budget,
    BudgetExpired,
    RealClock,
    VirtualClock,
    format_duration,
    from_zigbee_utc,
    to_zigbee_utc,
)

DAY = 24 * 3600


def run(clock, coro):
    return clock.loop.run_until_complete(coro)


def test_a_24_hour_poll_interval_elapses_in_well_under_a_tenth_of_a_second():
    clock = VirtualClock()
    polls: list[float] = []

    async def device_poller():
        while True:
            await asyncio.sleep(DAY)
            polls.append(clock.now())

    async def scenario():
        task = asyncio.ensure_future(device_poller())
        await clock.run_for(3 * DAY + 1)
        task.cancel()

    started = time.perf_counter()
    run(clock, scenario())
    assert time.perf_counter() - started < 0.1
    assert polls == [DAY, 2 * DAY, 3 * DAY]
    assert clock.now() == 3 * DAY + 1


def test_asyncio_timeouts_follow_virtual_time():
    clock = VirtualClock()

    async def scenario():
        never = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await clock.run_until_complete(asyncio.wait_for(never, 30), Budget("zcl", 60))
        return clock.now()

    started = time.perf_counter()
    assert run(clock, scenario()) == 30
    assert time.perf_counter() - started < 0.1


def test_time_is_frozen_outside_the_verbs():
    clock = VirtualClock()
    fired: list[float] = []
    clock.loop.call_later(10, lambda: fired.append(clock.now()))
    thread = threading.Thread(target=clock.loop.run_forever, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)  # the loop runs, but no verb is active: the 10 s timer must not fire
        assert fired == []
        assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, result=clock.now()), clock.loop).result(1) == 0
        asyncio.run_coroutine_threadsafe(clock.run_for(10), clock.loop).result(1)
        assert fired == [10]
    finally:
        clock.loop.call_soon_threadsafe(clock.loop.stop)
        thread.join(1)


def test_run_until_returns_as_soon_as_the_condition_holds():
    clock = VirtualClock()
    state = {"done": False}
    clock.loop.call_later(42, state.update, {"done": True})

    async def scenario():
        met = await clock.run_until(lambda: state["done"], Budget("answer", 3600))
        return met, clock.now()

    assert run(clock, scenario()) == (True, 42)


def test_run_until_reports_an_expired_budget_at_the_budget():
    clock = VirtualClock()

    async def scenario():
        met = await clock.run_until(lambda: False, Budget("answer", 90))
        return met, clock.now()

    assert run(clock, scenario()) == (False, 90)


def test_run_until_complete_names_the_budget_when_it_expires():
    clock = VirtualClock()

    async def scenario():
        await clock.run_until_complete(asyncio.sleep(100), Budget("join", 30), what="the device announce")

    with pytest.raises(BudgetExpired, match=r"join \(30 s\).*device announce"):
        run(clock, scenario())


def test_utc_and_loop_time_share_one_origin():
    origin = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    clock = VirtualClock(origin)
    run(clock, clock.run_for(3600.5))
    assert clock.utcnow() == datetime(2030, 6, 1, 13, 0, 0, 500000, tzinfo=UTC)
    assert from_zigbee_utc(clock.zigbee_utc()) == datetime(2030, 6, 1, 13, 0, tzinfo=UTC)


def test_zigbee_epoch_is_2000():
    assert to_zigbee_utc(datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert to_zigbee_utc(datetime(2000, 1, 2, tzinfo=UTC)) == 86400


def test_real_clock_sleeps_for_real():
    clock = RealClock()
    try:
        started = time.perf_counter()
        run(clock, clock.run_for(0.05))
        assert 0.04 < time.perf_counter() - started < 1
        state = {"n": 0}

        async def scenario():
            clock.loop.call_later(0.02, state.update, {"n": 1})
            return await clock.run_until(lambda: state["n"] == 1, Budget("tick", 1))

        assert run(clock, scenario()) is True
    finally:
        clock.loop.close()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0015, "1.5 ms"), (45, "45 s"), (300, "5 min"), (9000, "2 h 30 min"), (7200, "2 h")],
)
def test_durations_read_naturally(seconds, text):
    assert format_duration(seconds) == text


def test_abort_ends_the_wait_in_progress_with_the_lab_error_and_cancels_its_work():
    clock = VirtualClock()
    work = clock.loop.create_future()  # something that would never finish by itself

    async def scenario():
        clock.loop.call_later(5.0, clock.abort, ConnectionError("radio lost"))
        await clock.run_until_complete(work, Budget("coordinator command", 3600.0), "a command")

    with pytest.raises(ConnectionError, match="radio lost"):
        run(clock, scenario())
    assert 5.0 <= clock.now() < 6.0  # at once, not after the budget
    assert work.cancelled()
    assert clock.abort(ConnectionError("again")) is False  # nothing is waiting any more


# -- run_held: a lab command in another process on the virtual clock ---------------------------------------
async def _shell(command: str) -> bytes:
    process = await asyncio.create_subprocess_shell(command, stdout=asyncio.subprocess.PIPE)
    try:
        output, _ = await process.communicate()
    except asyncio.CancelledError:
        process.kill()  # leave nothing running behind the test
        await process.communicate()  # to the end of its output: no pipe outlives the loop
        raise
    return output


def test_a_held_command_runs_to_completion_while_virtual_time_stands_still():
    clock = VirtualClock()
    fired: list[float] = []

    async def scenario():
        asyncio.get_running_loop().call_later(1.0, lambda: fired.append(clock.now()))
        # Inside an outer verb whose deadline would otherwise be reached at once.
        return await clock.run_until_complete(
            clock.run_held(_shell("sleep 0.2; echo switched"), Budget("power switch", 10)), Budget("outer", 3600)
        )

    started = time.monotonic()
    assert run(clock, scenario()) == b"switched\n"
    assert time.monotonic() - started >= 0.2  # the command really ran
    assert clock.now() == 0 and fired == []  # no virtual time passed, no timer fired
    run(clock, clock.run_for(2))
    assert fired == [1.0]  # time moves again after the hold


def test_a_held_command_that_overruns_its_budget_expires_in_real_time():
    clock = VirtualClock()

    async def scenario():
        with pytest.raises(BudgetExpired, match=r"real time; the virtual clock was held"):
            await clock.run_held(_shell("sleep 5"), Budget("power switch", 0.3), "the power-cycle command")

    started = time.monotonic()
    run(clock, scenario())
    assert 0.3 <= time.monotonic() - started < 3 and clock.now() == 0


def test_on_the_real_clock_run_held_is_run_until_complete():
    clock = RealClock()
    try:
        assert run(clock, clock.run_held(_shell("echo real"), Budget("cmd", 10))) == b"real\n"
    finally:
        clock.loop.close()
