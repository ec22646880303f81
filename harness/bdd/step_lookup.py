"""pytest-bdd's step lookup, made once per step text in a session.

Why: for every step of every scenario pytest-bdd walks every fixture name of the session and runs the parser
of every step definition of the step's type against the step's text (``find_fixturedefs_for_step``), to find
the definitions that match. A run executes about 600 steps against some 200 definitions, and the same few
hundred step texts come back scenario after scenario: the walk was 7-10 % of a run's CPU. The definitions a
step text matches do not change during a session (they are registered when the step modules are imported),
and which of them a test sees depends only on where the test is (its module and conftests), so the answer is
kept per (step type, step text, test module) for the session.

This wraps a function pytest-bdd does not document (the version is pinned in pyproject.toml); when the
function is missing the lookup stays pytest-bdd's own (``install`` returns False) and only speed is lost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

import pytest

_ORIGINAL_KEY = pytest.StashKey[Callable[..., Iterable[Any]]]()
_FUNCTION = "find_fixturedefs_for_step"


def install(config: pytest.Config) -> bool:
    """Memoise pytest-bdd's step lookup for this session (undone by ``uninstall``)."""
    module = importlib.import_module("pytest_bdd.scenario")
    original = getattr(module, _FUNCTION, None)
    if original is None:
        return False
    found: dict[tuple[Any, str, Any], list[Any]] = {}

    def find_fixturedefs_for_step(step: Any, fixturemanager: Any, node: Any) -> list[Any]:
        key = (step.type, step.name, node.path)
        if key not in found:
            found[key] = list(original(step=step, fixturemanager=fixturemanager, node=node))
        return found[key]

    config.stash[_ORIGINAL_KEY] = original
    setattr(module, _FUNCTION, find_fixturedefs_for_step)
    return True


def uninstall(config: pytest.Config) -> None:
    """pytest-bdd's own lookup again (a process that runs several sessions starts each from it)."""
    original = config.stash.get(_ORIGINAL_KEY, None)
    if original is not None:
        setattr(importlib.import_module("pytest_bdd.scenario"), _FUNCTION, original)
        del config.stash[_ORIGINAL_KEY]
