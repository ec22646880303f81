"""A pytest plugin for the self-check's warm runs (``WarmRunner(..., verdicts_only=True)``): the run's verdicts
without the scenarios' evidence files.

Why: writing each scenario's capture, transcript, plots and Allure transcript is about a third of a run's CPU,
and the fault matrix and the variation self-check read only the statement's verdicts and attributions, which
no evidence writer may change (``steps.context.write_evidence_files``; its own tests are in
``tests/evidence``). A run with this plugin is a self-check run, never a certification run: loaded only with
``-p verdicts_only`` from this folder.
"""

from __future__ import annotations

from typing import Any


def pytest_collection_finish(session: Any) -> None:
    """By now the step modules are imported: replace their evidence writer for this session."""
    import steps.context

    steps.context.write_evidence_files = _no_evidence_files


def _no_evidence_files(request: Any, state: Any) -> None:
    return None
