"""Garbage-collection policy: no full collection while a transfer runs, collections between scenarios.

Why: CPython's cyclic collector now and then traverses every tracked object of the process (a full, or
"generation 2", collection). With zigpy, the suite and a growing transcript in memory that took 146-307 ms
while the hub was serving blocks, and on hardware the hub must answer a block request within a few
milliseconds. So:

- ``settle()``, at the start of a run and between scenarios (when the scenario's objects are garbage):
  collect everything, then ``gc.freeze()`` what survives. The long-lived objects (modules, zigpy's tables,
  the run's fixtures) move to the permanent generation, which no later collection traverses.
- ``postpone_full_collections()`` / ``resume_full_collections()``, around a transfer (the hub calls them at
  the first block request and at the Upgrade End Request, and when it stops): young collections go on as
  usual (they only traverse objects allocated since the last one), full ones are *postponed*, not
  disabled: the threshold of the oldest generation is raised so that one runs at most every
  ``POSTPONED_FULL_THRESHOLD`` collections of the middle generation (millions of allocations: never during
  a download here, still now and then on a transfer that runs for hours). Resuming restores the threshold,
  so the postponed collection runs at the collector's next opportunity (not inside the hub's answer to the
  Upgrade End Request), and at the latest at the next ``settle()``. Postponements nest (several hubs).
- ``unsettle()`` returns the frozen objects to the collector, for a process that runs many runs (the fault
  matrix's warm workers), so a finished run's objects are collected like any other garbage.
"""

from __future__ import annotations

import gc
import threading

#: Collections of the middle generation between two full collections while one is postponed (default 10).
POSTPONED_FULL_THRESHOLD = 10_000

_lock = threading.Lock()
_postponed = 0
_saved_threshold: tuple[int, int, int] | None = None


def settle() -> None:
    """Collect everything now, then freeze the survivors (between scenarios, never inside one)."""
    gc.collect()
    gc.freeze()


def unsettle() -> None:
    """Give the frozen objects back to the collector (before a new run in the same process: the run's first
    ``settle()`` collects them with the rest)."""
    gc.unfreeze()


def postpone_full_collections() -> None:
    """From now until the matching ``resume_full_collections()``, full collections wait (see above)."""
    global _postponed, _saved_threshold
    with _lock:
        _postponed += 1
        if _postponed == 1:
            _saved_threshold = gc.get_threshold()
            young, middle, _ = _saved_threshold
            gc.set_threshold(young, middle, POSTPONED_FULL_THRESHOLD)


def resume_full_collections() -> None:
    """End one postponement; when none is left, restore the threshold (the collector catches up soon)."""
    global _postponed, _saved_threshold
    with _lock:
        if _postponed == 0:
            return
        _postponed -= 1
        if _postponed == 0 and _saved_threshold is not None:
            gc.set_threshold(*_saved_threshold)
            _saved_threshold = None


def full_collections_postponed() -> bool:
    return _postponed > 0


def reset() -> None:
    """Forget every postponement and restore the threshold (a new run in the same process)."""
    global _postponed, _saved_threshold
    with _lock:
        if _saved_threshold is not None:
            gc.set_threshold(*_saved_threshold)
        _postponed, _saved_threshold = 0, None
