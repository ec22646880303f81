"""The shape of a conformance statement that ``report`` and ``spec --run`` rely on, checked before rendering.

Why: a statement is a file, and test houses receive runs from others. A field of the wrong type used to end
``report`` in a ``KeyError`` or ``TypeError`` traceback (26 % of mutated statements, issue 14); now the first
field that does not fit is named in one line with what was expected (exit 2). Only what the readers use is
checked, and what they read with a default may be absent; fields added by later versions are ignored.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.verdicts import Verdict

Check = Callable[[Any], bool]

_VERDICTS = frozenset(v.value for v in Verdict)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _mapping_or_none(value: Any) -> bool:
    return value is None or isinstance(value, Mapping)


def _list(value: Any) -> bool:
    return isinstance(value, list)


def _verdict(value: Any) -> bool:
    return isinstance(value, str) and value in _VERDICTS


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


class _Checker:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, expected: str, value: Any) -> None:
        raise InputError(
            f"{self.path}: field {where}: expected {expected}, found {_short(value)}. The statement was not "
            "written by this suite as it stands (edited or damaged). ACTION: report from the original run "
            "directory, or run the suite again."
        )

    def fields(self, where: str, value: Any, spec: Mapping[str, tuple[bool, Check, str]]) -> None:
        """``spec``: field name -> (required, check, what is expected)."""
        for name, (required, check, expected) in spec.items():
            field = f"{where}.{name}" if where else name
            if name not in value:
                if required:
                    self.fail(field, expected, "nothing (the field is missing)")
            elif not check(value[name]):
                self.fail(field, expected, value[name])


_TEXT = (False, _text, "text")
_MAPPING = (False, _mapping, "an object")
_LIST = (False, _list, "a list")
_BOOL = (False, lambda v: isinstance(v, bool), "true or false")

_RUN = {
    "run_id": (True, _text, "the run's id (text)"),
    "suite_version": (True, _text, "the suite's version (text)"),
    "started_utc": _TEXT,
    "finished_utc": _TEXT,
    "features_hash": _TEXT,
    "profile_path": _TEXT,
    "radio": _TEXT,
    "clock": _TEXT,
    "clock_reason": _TEXT,
    "image_source": _TEXT,
    "target": _TEXT,
    "profile": _MAPPING,
    "dut": _MAPPING,
    "undeclared_pics": (False, _texts, "a list of PICS item names"),
}
_SCENARIO = {
    "scenario": (True, _text, "the scenario's name (text)"),
    "verdict": (True, _verdict, f"one of {', '.join(sorted(_VERDICTS))}"),
    "feature": _TEXT,
    "nodeid": _TEXT,
    "role": (False, _text_or_none, "a device role (text) or null"),
    "message": (False, _text_or_none, "text or null"),
    "requirement_ids": (False, _texts, "a list of requirement ids"),
    "tags": (False, _texts, "a list of tags"),
    "evidence": (False, _mapping_or_none, "an object or null"),
    "duration_s": (False, _number, "a number of seconds"),
}
_DECISIVE = {
    "time_s": (False, _number, "a number of seconds"),
    "budget_end_s": (False, _number, "a number of seconds"),
    "clock_origin_s": (False, lambda v: v is None or _number(v), "a number of seconds or null"),
    "plot": (False, _text_or_none, "a file name or null"),
}
_REQUIREMENT = {
    "id": (True, _text, "a requirement id (text)"),
    "coverage": (True, _text, "text (how the requirement is covered)"),
    "verdict": (False, _text_or_none, "a verdict (text) or null"),
    "source": (False, _text_or_none, "text or null"),
    "scenarios": (False, _list, "a list"),
}
_REQUIREMENT_ROW = {
    "scenario": (False, _text, "the scenario's name (text)"),
    "feature": _TEXT,
    "verdict": (False, _text_or_none, "a verdict (text) or null"),
    "requirement_verdict": (False, _text_or_none, "a verdict (text) or null"),
}
_TOP = {
    "run": (True, _mapping, "an object"),
    "scenarios": (True, _list, "a list"),
    "requirements": _LIST,
    "selection": (False, _mapping_or_none, "an object or null"),
    "dut_seen": _MAPPING,
    "totals": _MAPPING,
    "overall": (False, _text_or_none, "a verdict (text) or null"),
    "repeatability": (False, _mapping_or_none, "an object or null"),
}


def check_statement(model: Mapping[str, Any], path: Path) -> None:
    """InputError naming the first field of ``model`` that the reports cannot use, with what they expect."""
    checker = _Checker(path)
    checker.fields("", model, _TOP)
    checker.fields("run", model["run"], _RUN)
    run = model["run"]
    for section in ("profile", "dut"):
        _check_profile_section(checker, f"run.{section}", run.get(section) or {}, nested=section == "profile")
    for index, scenario in enumerate(model["scenarios"]):
        _scenario(checker, f"scenarios[{index}]", scenario)
    for index, requirement in enumerate(model.get("requirements") or []):
        _requirement(checker, f"requirements[{index}]", requirement)
    seen = model.get("dut_seen") or {}
    for name, value in seen.items():
        if not _list(value):
            checker.fail(f"dut_seen.{name}", "a list", value)
    selection = model.get("selection") or {}
    checker.fields(
        "selection",
        selection,
        {"not_run": _LIST, "other_role": (False, _mapping_or_none, "an object or null"), "complete": _BOOL},
    )
    for index, entry in enumerate(selection.get("not_run") or []):
        if not _mapping(entry):
            checker.fail(f"selection.not_run[{index}]", "an object", entry)


def _check_profile_section(checker: _Checker, where: str, value: Mapping[str, Any], *, nested: bool) -> None:
    """``run.profile``: sections of items, each item an object; ``run.dut``: plain values."""
    if not nested:
        return
    for section in ("pics", "pixit", "device"):
        if section not in value:
            continue
        items = value[section]
        if not _mapping(items):
            checker.fail(f"{where}.{section}", "an object of items", items)
        for name, item in items.items():
            if not _mapping(item):
                checker.fail(f"{where}.{section}.{name}", "an object (value, source)", item)


def _scenario(checker: _Checker, where: str, item: Any) -> None:
    if not _mapping(item):
        checker.fail(where, "an object", item)
    checker.fields(where, item, _SCENARIO)
    evidence = item.get("evidence") or {}
    decisive = evidence.get("decisive")
    if decisive is not None:
        if not _mapping(decisive):
            checker.fail(f"{where}.evidence.decisive", "an object or null", decisive)
        checker.fields(f"{where}.evidence.decisive", decisive, _DECISIVE)
        if decisive.get("frame") not in (None, "-") or decisive.get("kind") == "stimulus":  # a time is shown
            checker.fields(f"{where}.evidence.decisive", decisive, {"time_s": (True, _number, "a number of seconds")})
        if decisive.get("kind") == "stimulus":
            checker.fields(f"{where}.evidence.decisive", decisive, {"budget_end_s": (True, _number, "seconds")})
    plots = evidence.get("transfer_plots")
    if plots is not None and not (_list(plots) and all(_mapping(p) for p in plots)):
        checker.fail(f"{where}.evidence.transfer_plots", "a list of objects", plots)
    summary = evidence.get("transcript_summary")
    if summary is not None:
        if not _mapping(summary):
            checker.fail(f"{where}.evidence.transcript_summary", "an object", summary)
        frames = summary.get("frames")
        if frames is not None and not (_mapping(frames) and all(_mapping(v) for v in frames.values())):
            checker.fail(f"{where}.evidence.transcript_summary.frames", "an object of objects", frames)


def _requirement(checker: _Checker, where: str, item: Any) -> None:
    if not _mapping(item):
        checker.fail(where, "an object", item)
    checker.fields(where, item, _REQUIREMENT)
    for index, row in enumerate(item.get("scenarios") or []):
        if not _mapping(row):
            checker.fail(f"{where}.scenarios[{index}]", "an object", row)
        checker.fields(f"{where}.scenarios[{index}]", row, _REQUIREMENT_ROW)


__all__ = ["check_statement"]
