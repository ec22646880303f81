"""One clock for the whole run: event-loop time and UTC from a single origin.

Why: the same scenario must run against the emulator in milliseconds and against a real device in real
time (OpenThread's RealTime / VirtualTime split). Steps never sleep and never read the wall clock; they
call the clock *verbs* below, and only inside them may time move:

- ``run_for(seconds)``                 let the system run for a duration;
- ``run_until(predicate, budget)``      let it run until a condition holds or a named budget expires;
- ``run_until_complete(aw, budget)``    await one operation (a ZCL read, a join) within a budget.

``VirtualClock`` owns an asyncio event loop whose ``time()`` is virtual. Every asyncio timer in the
process (``asyncio.sleep``, ``asyncio.timeout``, zigpy's request timeouts and debouncer, the emulated
devices' poll timers) is measured against it. While a verb is active and the loop has nothing ready to
run, the loop's selector jumps virtual time to the next timer instead of blocking, so "24 hours pass"
costs microseconds. While no verb is active, time is frozen: the loop still runs ready callbacks and
cross-thread submissions, but no timer fires, so nothing happens "between steps".

``RealClock`` uses a normal event loop and the monotonic clock: the same verbs sleep for real.

Threads and other processes do not follow virtual time: code running on the virtual loop must not wait for
worker threads. The one exception is ``run_held``: a lab command in another process (a power switch) runs to
completion while virtual time is held, its budget counted in real time.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")

#: Zigbee UTCTime counts seconds from 2000-01-01T00:00:00Z (ZCL; also GBZ alert timestamps).
ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

#: Default origin of virtual UTC: fixed so that emulator runs (and their evidence) are reproducible.
DEFAULT_VIRTUAL_ORIGIN = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)

#: How often a real-time ``run_until`` re-checks its predicate when nothing calls ``notify()``.
REAL_TIME_POLL_S = 0.05


@dataclass(frozen=True)
class Budget:
    """A named time budget. Every wait in the suite is one of these, never a bare number in a step."""

    name: str
    seconds: float

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValueError(f"budget {self.name!r} must not be negative ({self.seconds})")

    def __str__(self) -> str:
        return f"{self.name} ({format_duration(self.seconds)})"


class BudgetExpired(HarnessError):
    """A ``run_until``/``run_until_complete`` budget ran out before its condition held."""

    def __init__(self, budget: Budget, what: str) -> None:
        super().__init__(f"budget {budget} expired while waiting for {what}")
        self.budget = budget
        self.what = what


def format_duration(seconds: float) -> str:
    """Human form for messages: 45 s, 5 min, 2 h 30 min, 1.5 ms."""
    if seconds < 1:
        return f"{seconds * 1000:g} ms"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:g} min"
    hours, rest = divmod(seconds, 3600)
    return f"{hours:g} h" + (f" {rest / 60:g} min" if rest else "")


def as_budget(budget: Budget | float, default_name: str = "wait") -> Budget:
    return budget if isinstance(budget, Budget) else Budget(default_name, float(budget))


@dataclass
class _Waiter:
    predicate: Callable[[], bool]
    future: asyncio.Future[bool]


@dataclass
class _ClockState:
    """What the verbs share: active deadlines (virtual time may advance up to the latest) and waiters."""

    deadlines: list[float] = field(default_factory=list)
    waiters: list[_Waiter] = field(default_factory=list)
    holds: list[_Hold] = field(default_factory=list)
    sleepers: list[asyncio.Future[bool]] = field(default_factory=list)  # run_for's wake-ups
    failure: Callable[[], BaseException] | None = None  # fail_waits: what every wait raises until cleared


@dataclass
class _Hold:
    """A ``run_held`` in progress: virtual time stands still until the work ends or the wall deadline passes."""

    wall_deadline: float
    expired: asyncio.Future[bool]


class Clock:
    """Common part of both clocks: UTC derivation and the verbs' bookkeeping."""

    virtual: bool

    def __init__(self, loop: asyncio.AbstractEventLoop, origin_utc: datetime) -> None:
        if origin_utc.tzinfo is None:
            raise ValueError("origin_utc must be timezone-aware")
        self.loop = loop
        self._origin_utc = origin_utc
        self._origin_loop_time = loop.time()
        self._state = _ClockState()

    # -- reading time ---------------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the clock's origin (monotonic, the loop's time base)."""
        return self.loop.time() - self._origin_loop_time

    def utcnow(self) -> datetime:
        return self.utc_at(self.now())

    def utc_at(self, seconds: float) -> datetime:
        """UTC at ``seconds`` since the clock's origin (a ``now()`` reading taken earlier)."""
        return self._origin_utc + timedelta(seconds=seconds)

    def zigbee_utc(self) -> int:
        """Current time as a Zigbee UTCTime (whole seconds since 2000-01-01Z)."""
        return to_zigbee_utc(self.utcnow())

    # -- predicates --------------------------------------------------------------------------------------
    def notify(self) -> None:
        """Re-check every pending ``run_until`` predicate now (called when new evidence arrives)."""
        self._check_waiters()

    def _check_waiters(self) -> bool:
        """Resolve waiters whose predicate holds; True if any was resolved (the loop has work again)."""
        woke = False
        for waiter in list(self._state.waiters):
            if waiter.future.done():
                self._state.waiters.remove(waiter)
                continue
            if waiter.predicate():
                waiter.future.set_result(True)
                self._state.waiters.remove(waiter)
                woke = True
        return woke

    def abort(self, error: BaseException) -> bool:
        """Make the innermost ``run_until`` in progress (and the verbs built on it) raise ``error`` now: the
        lab broke (a radio lost), so a wait must end at once instead of after its budget. False when nothing
        was waiting."""
        pending = [waiter for waiter in self._state.waiters if not waiter.future.done()]
        if not pending:
            return False
        pending[-1].future.set_exception(error)
        return True

    def fail_waits(self, failure: Callable[[], BaseException] | None) -> None:
        """Make every wait in progress (``run_for`` included) raise ``failure()`` now, and every wait started
        later too, until ``fail_waits(None)``: the scenario is over (the radio was lost, the device flooded the
        hub) and no step may wait on. Why not ``abort``: a flood keeps the virtual loop busy, so time never
        advances and a wait that is not failed would never end; and a step may start its next wait later.
        The owner clears it before its own shutdown waits (``DutAdapter.stop``)."""
        self._state.failure = failure
        if failure is None:
            return
        for waiter in self._state.waiters:
            if not waiter.future.done():
                waiter.future.set_exception(failure())
        for sleeper in self._state.sleepers:
            if not sleeper.done():
                sleeper.set_exception(failure())

    @property
    def failure(self) -> BaseException | None:
        """What ``fail_waits`` makes every wait raise now (a fresh exception), or None."""
        return None if self._state.failure is None else self._state.failure()

    def _raise_failure(self) -> None:
        if self._state.failure is not None:
            raise self._state.failure()

    # -- verbs ----------------------------------------------------------------------------------------
    async def run_for(self, seconds: float) -> None:
        """Let everything run for ``seconds`` of clock time."""
        self._raise_failure()
        deadline = self.loop.time() + max(0.0, seconds)
        self._state.deadlines.append(deadline)
        try:
            await self._sleep_until(deadline)
        finally:
            self._state.deadlines.remove(deadline)

    async def run_until(self, predicate: Callable[[], bool], budget: Budget | float) -> bool:
        """Run until ``predicate()`` holds (True) or the budget expires (False). Checked at once first."""
        self._raise_failure()
        if predicate():
            return True
        budget = as_budget(budget)
        deadline = self.loop.time() + budget.seconds
        future: asyncio.Future[bool] = self.loop.create_future()
        self._state.waiters.append(_Waiter(predicate, future))
        self._state.deadlines.append(deadline)
        timer = self.loop.call_at(deadline, _resolve, future, False)
        poller = None if self.virtual else self.loop.create_task(self._poll(future))
        try:
            return await future
        finally:
            timer.cancel()
            if poller is not None:
                poller.cancel()
            self._state.deadlines.remove(deadline)
            self._state.waiters = [w for w in self._state.waiters if w.future is not future]

    async def run_until_complete(self, awaitable: Awaitable[T], budget: Budget | float, what: str = "") -> T:
        """Await ``awaitable`` while letting time run, at most ``budget``; raise BudgetExpired after."""
        budget = as_budget(budget)
        task = asyncio.ensure_future(awaitable)
        try:
            done = await self.run_until(task.done, budget)
        except BaseException:
            task.cancel()  # the wait was aborted (or cancelled): do not leave the work running
            raise
        if not done:
            task.cancel()
            raise BudgetExpired(budget, what or repr(awaitable))
        return task.result()

    async def run_held(self, awaitable: Awaitable[T], budget: Budget | float, what: str = "") -> T:
        """Await work done outside this process (a lab command such as a power switch) to completion, at most
        ``budget`` of real time. On the real clock this is ``run_until_complete``; the virtual clock holds its
        time meanwhile (see ``VirtualClock.run_held``)."""
        return await self.run_until_complete(awaitable, budget, what)

    async def _sleep_until(self, deadline: float) -> None:
        future: asyncio.Future[bool] = self.loop.create_future()
        timer = self.loop.call_at(deadline, _resolve, future, True)
        self._state.sleepers.append(future)
        try:
            await future
        finally:
            timer.cancel()
            self._state.sleepers.remove(future)

    async def _poll(self, future: asyncio.Future[bool]) -> None:
        while not future.done():
            await asyncio.sleep(REAL_TIME_POLL_S)
            self._check_waiters()

    @property
    def held(self) -> bool:
        """A ``run_held`` is in progress: no time passes (the virtual clock only; the real one never holds)."""
        return bool(self._state.holds)

    def may_advance_to(self) -> float | None:
        """The latest virtual time a verb currently allows, or None when time is frozen."""
        return max(self._state.deadlines) if self._state.deadlines else None


def _resolve(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


class RealClock(Clock):
    """Real time, for hardware runs: the verbs sleep on the monotonic clock."""

    virtual = False

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        loop = loop or asyncio.new_event_loop()
        super().__init__(loop, datetime.now(UTC))


class _VirtualSelector(selectors.BaseSelector):
    """Wraps the loop's real selector: real I/O is always polled, but instead of *blocking* until the
    next timer the selector moves virtual time forward to it (only while a clock verb allows it)."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.clock: VirtualClock | None = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._real.select(0)
        if events or timeout == 0 or self.clock is None:
            return events
        clock = self.clock
        # The loop is idle at this virtual instant: a condition someone waits for can now be judged.
        if clock._check_waiters():
            return []
        if clock._state.holds:
            # Held (run_held): no timer may fire; wait (really) for the outside work's I/O, up to its deadline.
            hold = clock._state.holds[-1]
            remaining = hold.wall_deadline - time.monotonic()
            if remaining <= 0:
                _resolve(hold.expired, True)
                return []
            return self._real.select(remaining)
        limit = clock.may_advance_to()
        if limit is None:
            # Frozen between verbs: wait (really) for a cross-thread submission, never for a timer.
            return self._real.select(None)
        next_timer = clock.loop.time() + timeout if timeout is not None else limit
        clock._advance(min(next_timer, limit))
        return []


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose time() is virtual and moved only by a VirtualClock."""

    def __init__(self) -> None:
        self._virtual_now = 0.0
        self._virtual_selector = _VirtualSelector()
        super().__init__(selector=self._virtual_selector)

    def time(self) -> float:
        return self._virtual_now


class VirtualClock(Clock):
    """Virtual time for the emulator: time moves only inside the verbs, by jumping to the next timer."""

    virtual = True

    def __init__(self, origin_utc: datetime = DEFAULT_VIRTUAL_ORIGIN) -> None:
        loop = VirtualTimeEventLoop()
        super().__init__(loop, origin_utc)
        loop._virtual_selector.clock = self
        self._loop: VirtualTimeEventLoop = loop

    def _advance(self, to: float) -> None:
        if to > self._loop._virtual_now:
            self._loop._virtual_now = to

    async def run_held(self, awaitable: Awaitable[T], budget: Budget | float, what: str = "") -> T:
        """Await work in another process to completion with virtual time held: no timer fires and time does
        not move (even inside an outer verb), while the loop still serves real I/O (the process's pipes, its
        exit). Why: the virtual clock cannot wait for another process, so a budget counted in virtual time
        would expire at once; here ``budget`` is counted in real (wall) time. BudgetExpired after it."""
        budget = as_budget(budget)
        self._raise_failure()
        task = asyncio.ensure_future(awaitable)
        hold = _Hold(time.monotonic() + budget.seconds, self.loop.create_future())
        self._state.holds.append(hold)
        try:
            await asyncio.wait({task, hold.expired}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            self._state.holds.remove(hold)
            hold.expired.cancel()
        if not task.done():
            task.cancel()
            raise BudgetExpired(budget, f"{what or repr(awaitable)} (real time; the virtual clock was held)")
        return task.result()


def to_zigbee_utc(moment: datetime) -> int:
    """A timezone-aware datetime as Zigbee UTCTime seconds."""
    return int((moment - ZIGBEE_EPOCH).total_seconds())


def from_zigbee_utc(seconds: int) -> datetime:
    return ZIGBEE_EPOCH + timedelta(seconds=seconds)
