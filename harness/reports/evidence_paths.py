"""Where a scenario's evidence files go in the run directory: ``RUN_DIR/evidence/<scenario-slug>/``.

Why: several writers (the pcapng capture, transfer plots, ...) put files for the same scenario side by side,
and the conformance statement links them by relative path, so every writer must derive the folder the same
way: ``evidence_dir(run_dir, request.node.name)``. The key is the pytest item's name because it is unique in
a run: a Scenario Outline runs once per Examples row under one templated scenario name, and the item name
carries the row (``test_x[jitter 0-0-the new image]``). ``item_scenario_name`` gives the readable name
(the Outline's ``<placeholders>`` filled from the row) for titles and comments.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_bdd.parser import render_string

#: The folder under the run directory that holds one sub-folder per scenario run.
EVIDENCE_DIRNAME = "evidence"
#: Longest slug kept verbatim; longer names are cut and get a hash suffix so they stay unique.
MAX_SLUG = 80
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def scenario_slug(name: str) -> str:
    """A file-system-safe, stable folder name for a scenario run (a pytest item name; a leading ``test_``
    is dropped): lower-case ASCII words joined by ``-``.

    Names longer than ``MAX_SLUG`` are cut at a word boundary and end in 8 hex digits of the name's
    SHA-256, so two long names sharing a prefix (Outline rows) still get different folders.
    """
    slug = _NOT_SLUG.sub("-", name.lower().removeprefix("test_")).strip("-") or "scenario"
    if len(slug) <= MAX_SLUG:
        return slug
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    head = slug[: MAX_SLUG - 9].rsplit("-", 1)[0] if "-" in slug[: MAX_SLUG - 9] else slug[: MAX_SLUG - 9]
    return f"{head}-{digest}"


def evidence_dir(run_dir: Path | str, scenario: str) -> Path:
    """``run_dir/evidence/<slug of scenario>`` for ``scenario`` = the pytest item name (``request.node.name``);
    not created here: writers ``mkdir`` it when they write."""
    return Path(run_dir) / EVIDENCE_DIRNAME / scenario_slug(scenario)


def scenario_run_name(name: str, example: Mapping[str, Any] | None = None) -> str:
    """The scenario's name with an Outline's ``<placeholders>`` filled from its Examples row; a name without
    placeholders gets the row's values appended (``name [case=jitter 0, jitter=0]``), so every row reads apart."""
    if not example:
        return name
    filled = render_string(name, example)
    if filled != name:
        return filled
    return f"{name} [{', '.join(f'{key}={value}' for key, value in example.items())}]"


#: ``item.user_properties`` key of the scenario's name as written (the run plugin records the run name, an
#: Outline row's values filled in, under "scenario").
TEMPLATE_PROPERTY = "scenario_template"


def item_scenario_name(item: Any) -> str | None:
    """The run name of a collected pytest-bdd scenario (its name as written, ``item.user_properties``
    "scenario_template" or else "scenario", filled from the Examples row in ``item.callspec``), or None for an
    item that is not a scenario."""
    properties = dict(getattr(item, "user_properties", []))
    name = properties.get(TEMPLATE_PROPERTY, properties.get("scenario"))
    if name is None:
        return None
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example") if callspec is not None else None
    return scenario_run_name(str(name), example)


__all__ = [
    "EVIDENCE_DIRNAME",
    "TEMPLATE_PROPERTY",
    "evidence_dir",
    "item_scenario_name",
    "scenario_run_name",
    "scenario_slug",
]
