"""pytest-bdd's step lookup is made once per step text in a session (harness/bdd/step_lookup.py)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.bdd import step_lookup


def test_the_pinned_pytest_bdd_has_the_lookup_the_suite_memoises() -> None:
    # If a pytest-bdd upgrade renames it, runs lose 7-10 % of their speed silently: this says so first.
    assert callable(getattr(importlib.import_module("pytest_bdd.scenario"), "find_fixturedefs_for_step", None))


def test_each_step_text_is_looked_up_once_per_session_and_the_lookup_is_given_back(monkeypatch) -> None:
    module = importlib.import_module("pytest_bdd.scenario")
    asked: list[tuple[str, str]] = []

    def lookup(step, fixturemanager, node):
        asked.append((step.type, step.name))
        yield f"definition of {step.name!r} for {node.path}"

    monkeypatch.setattr(module, "find_fixturedefs_for_step", lookup)
    session = SimpleNamespace(stash=pytest.Stash())
    assert step_lookup.install(session)
    memoised = module.find_fixturedefs_for_step
    here, there = SimpleNamespace(path=Path("steps/test_features.py")), SimpleNamespace(path=Path("elsewhere.py"))
    given, then = SimpleNamespace(type="given", name="a step"), SimpleNamespace(type="then", name="a step")
    first = memoised(given, None, here)
    assert first == ["definition of 'a step' for steps/test_features.py"]
    assert memoised(given, None, here) == first
    memoised(then, None, here)
    memoised(given, None, there)
    assert asked == [("given", "a step"), ("then", "a step"), ("given", "a step")]
    step_lookup.uninstall(session)
    assert module.find_fixturedefs_for_step is lookup
