"""Which requirements a step can check: the declaration that step-level attribution rests on.

Why: a scenario tags every requirement it is about (``@req:``), but a FAIL happens in one step, which checks
only some of them. A CS08 read after a download checks HG-17 as well as HG-03; the "still runs its old
firmware version" step of a PZ-21 scenario checks PZ-21, not the other tags. So each Then-step declares what
it can check with ``@checks(...)``, and ``harness.verdicts.attribute_failure`` turns a FAIL into the
requirements it is really about. The feature lint uses the same declarations (``StepDefinitions``) to check
that every tagged requirement is checked by some step of its scenario.

Usage (the decorator goes directly under pytest-bdd's ``@then``)::

    @then(parsers.re(r"the device runs the new firmware version"))
    @checks("PZ-20", "PZ-21", "HG-11")
    @sync_step
    async def runs_new(scenario_state): ...
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pytest_bdd.steps import step_function_context_registry

F = TypeVar("F", bound=Callable[..., Any])

#: The attribute ``checks`` sets on a step function (``functools.wraps`` carries it through ``sync_step``).
REQUIREMENTS_ATTRIBUTE = "__checks_requirements__"


def checks(*requirement_ids: str) -> Callable[[F], F]:
    """Declare the requirements a step can check (IDs of ``harness/requirements/catalogue.yaml``), its own
    requirement first: a FAIL in a scenario that tags none of them goes to that one, labelled as such."""
    if not requirement_ids:
        raise ValueError("a step that checks nothing needs no @checks; name at least one requirement")

    def declare(step: F) -> F:
        setattr(step, REQUIREMENTS_ATTRIBUTE, tuple(requirement_ids))
        return step

    return declare


def declared_requirements(step_func: Callable[..., Any] | None) -> tuple[str, ...]:
    """What ``step_func`` declared with ``checks`` (empty: it declared nothing)."""
    return tuple(getattr(step_func, REQUIREMENTS_ATTRIBUTE, ()))


@dataclass(frozen=True)
class StepDefinition:
    """One pytest-bdd step definition: its keyword type, its parser and what it declares."""

    type: str | None  # "given" | "when" | "then"; None: any keyword
    parser: Any  # pytest_bdd.parsers.StepParser
    function: Callable[..., Any]
    requirements: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.function.__module__}.{self.function.__name__}"

    def matches(self, step_type: str, text: str) -> bool:
        return self.type in (None, step_type) and bool(self.parser.is_matching(text))


class StepDefinitions:
    """The step definitions pytest-bdd registered, to find the one a step of a feature file runs."""

    def __init__(self, definitions: Sequence[StepDefinition]) -> None:
        self.definitions = tuple(definitions)

    @classmethod
    def registered(cls, modules: Iterable[str] | None = None) -> StepDefinitions:
        """Every registered definition (only those of ``modules``, imported first, when given)."""
        wanted = None if modules is None else set(modules)
        for module in wanted or ():
            importlib.import_module(module)
        contexts = [
            c
            for c in list(step_function_context_registry.values())
            if wanted is None or c.step_func.__module__ in wanted
        ]
        return cls(
            [StepDefinition(c.type, c.parser, c.step_func, declared_requirements(c.step_func)) for c in contexts]
        )

    def find(self, step_type: str, text: str) -> StepDefinition | None:
        """The definition a step of ``step_type`` with ``text`` runs (the first that matches, as pytest-bdd
        takes the one defined last in one module; the step library defines each sentence once)."""
        return next((d for d in self.definitions if d.matches(step_type, text)), None)

    def requirements(self, step_type: str, text: str) -> tuple[str, ...]:
        found = self.find(step_type, text)
        return () if found is None else found.requirements


__all__ = [
    "REQUIREMENTS_ATTRIBUTE",
    "StepDefinition",
    "StepDefinitions",
    "checks",
    "declared_requirements",
]
