"""One event loop per run, owned by a fixture, on which synchronous steps run coroutines.

Why: pytest-bdd 9 does not await ``async def`` steps (they pass silently), and zigpy must keep running
between steps (a real coordinator keeps talking). So the loop runs forever in a background thread and
steps submit coroutines to it with ``LoopRunner.run``. On the virtual clock the loop is frozen between
clock verbs, so a coroutine that waits for time outside a verb would wait forever: the wall-clock
``safety_timeout`` turns that harness bug into an ERROR instead of a hang.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from harness.clock import Clock
from harness.verdicts import LabError

P = ParamSpec("P")
T = TypeVar("T")

#: Wall-clock limit for one submitted coroutine on the virtual clock (its own budgets are virtual).
VIRTUAL_SAFETY_TIMEOUT_S = 120.0


class LoopRunner:
    """Runs the clock's event loop in a daemon thread and executes coroutines on it for sync callers."""

    def __init__(self, clock: Clock, safety_timeout: float | None = None) -> None:
        self.clock = clock
        self.loop = clock.loop
        self.safety_timeout = (
            safety_timeout if safety_timeout is not None else (VIRTUAL_SAFETY_TIMEOUT_S if clock.virtual else None)
        )
        self._thread = threading.Thread(target=self.loop.run_forever, name="harness-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result (exceptions propagate to the caller)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("LoopRunner.run called from the loop thread itself")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(self.safety_timeout)
        except TimeoutError as err:
            if future.done():
                raise
            future.cancel()
            raise LabError(
                f"the harness did not finish {getattr(coro, '__qualname__', coro)!r} within "
                f"{self.safety_timeout:g} s of wall time (on the virtual clock this means a wait outside a "
                "clock verb). ACTION: report this as a harness defect with the run's evidence."
            ) from err

    def close(self) -> None:
        """Cancel what is left on the loop, stop it and join the thread."""
        if not self.loop.is_running():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()


_CURRENT: LoopRunner | None = None


def set_current_runner(runner: LoopRunner | None) -> None:
    global _CURRENT
    _CURRENT = runner


def current_runner() -> LoopRunner:
    if _CURRENT is None:
        raise RuntimeError("no LoopRunner is active (the `runner` fixture starts one per session)")
    return _CURRENT


def sync_step(fn: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Lets a step body be ``async def``: the wrapper runs it on the session's loop; a step during which the
    scenario ended (``Clock.fail_waits``: the radio lost, the device's traffic judged) raises that, even if it
    waited for nothing afterwards.

    ``functools.wraps`` keeps ``__wrapped__`` so pytest still sees the real fixture arguments.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        runner = current_runner()
        result = runner.run(fn(*args, **kwargs))
        failure = runner.clock.failure
        if failure is not None:  # the scenario ended while the step ran (Clock.fail_waits) but waited no more
            raise failure
        return result

    return wrapper


def is_unwrapped_async_step(step_func: Callable[..., Any]) -> bool:
    """True for an ``async def`` step that pytest-bdd would call without awaiting (a silent pass)."""
    return inspect.iscoroutinefunction(step_func)
