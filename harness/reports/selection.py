"""What a run selected: the scenarios that apply to the device, the ones that ran, the ones left out.

Why: a conformance statement that says PASS must mean every scenario applicable to the device ran and passed.
``-k``, ``-m``, node ids, ``-x`` or a lab fault that stops the run leave applicable scenarios out, and the
statement must say so by name instead of reading like a certification. The applicable set is computed from the
feature files themselves (parsed as pytest-bdd parses them, every Scenario Outline row one scenario) and the
profile, never from what pytest happened to collect, so a narrowed selection cannot shrink it.

- ``not_applicable_reason``: the one rule deciding whether a scenario applies to a profile (its ``@pics:`` tags,
  and the device folder of its feature file); the pytest plugin applies it at collection, ``planned_scenarios``
  to every scenario of the feature files.
- ``record_selection``: the ``selection`` section of the statement (arguments, expressions, the applicable set,
  what was not run and why, the other role's count).
- ``apply_selection``: the statement as a partial run reads: overall ``INCOMPLETE``, requirement rows "not run".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.profile import Profile
from harness.profile.selection import applicability

#: Feature folders written for one device role; scenarios in them are NOT_APPLICABLE to the other.
DEVICE_FEATURE_FOLDERS = ("ppmid", "hcalcs")
#: The overall verdict of a run that left applicable scenarios out (not a verdict of the device).
INCOMPLETE = "INCOMPLETE"
#: What every artefact of such a run says first.
PARTIAL_HEADLINE = "partial run — not a certification"
#: Reasons a scenario of the applicable set did not run.
NOT_SELECTED = "not selected (the run's pytest arguments left it out)"
LAB_FAULT = "not run: lab fault"
STOPPED = "not run: the run stopped early"


def feature_role(filename: str) -> str | None:
    """The device role a feature file is written for (its folder under features/), None for common ones."""
    parts = Path(filename).resolve().parts
    for role in DEVICE_FEATURE_FOLDERS:
        if role in parts[-2:-1]:
            return role
    return None


#: A further applicability rule: the reason a scenario with these tags does not apply, or None (e.g. the
#: setup's answer to its ``@needs:`` tags).
MoreRule = Callable[[list[str]], "str | None"]


def not_applicable_reason(
    tags: Iterable[str], feature_file: str, profile: Profile, more: MoreRule | None = None
) -> str | None:
    """Why a scenario does not apply to ``profile`` (its PICS conditions, a feature of the other device's
    folder, then ``more``), None when it applies. Raises ConfigurationError for a bad ``@pics:`` tag."""
    tags = list(tags)
    decision = applicability(tags, profile)
    if not decision.applicable:
        return decision.reason
    role = feature_role(feature_file)
    if role not in (None, profile.role):
        return f"a {role.upper()} feature; the device under test is a {profile.role.upper()}"
    return more(tags) if more is not None else None


def scenario_key(feature_file: str, scenario: str, example: Mapping[str, Any] | None) -> str:
    """Identity of one scenario run, the same from the feature files and from a collected pytest item:
    feature file, scenario name as written, the Examples row (None for a plain scenario)."""
    row = json.dumps(sorted((str(k), str(v)) for k, v in example.items())) if example else ""
    return f"{Path(feature_file).resolve()}::{scenario}::{row}"


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario run the feature files define (an Outline row counts as one), judged against a profile."""

    key: str
    feature: str
    scenario: str  # the run name: an Outline's placeholders filled from its row
    requirement_ids: tuple[str, ...]
    role: str | None  # the device folder of the feature file, None for common features
    not_applicable: str | None  # why it does not apply, None when it does

    @property
    def applicable(self) -> bool:
        return self.not_applicable is None


def feature_root(feature_files: Iterable[str], default: Path) -> Path:
    """The folder whose features make up the run: ``default`` (the project's features/) when every feature
    file a run touched lies under it, else the folder all of them share (a test's own feature folder)."""
    files = [Path(f).resolve() for f in feature_files]
    default = default.resolve()
    if not files or all(f.is_relative_to(default) for f in files):
        return default
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def planned_scenarios(features_dir: Path, profile: Profile, more: MoreRule | None = None) -> list[ScenarioRun]:
    """Every scenario run of the feature files under ``features_dir``, with its applicability to ``profile``
    (``more``: the same further rule the collection applies, so both agree).

    A file that does not parse is skipped here: pytest reports it as a collection error when it is run.
    """
    # Imported here: `ota-conformance run` reads this module's constants before pytest starts, and pytest-bdd
    # must be imported after pytest, to be assertion-rewritten. Its parsed-feature registry: in a run the
    # collection has parsed every file already (a second parse was 2-4 % of a run's CPU).
    from pytest_bdd.feature import get_feature

    from harness.reports.evidence_paths import scenario_run_name
    from harness.requirements import requirement_ids_from_tags

    planned: list[ScenarioRun] = []
    for path in sorted(features_dir.rglob("*.feature")):
        try:
            feature = get_feature(str(path.parent), path.name)
        except Exception:  # a broken feature file is pytest's collection error to report
            continue
        for template in feature.scenarios.values():
            tags = set(template.tags) | set(feature.tags) | (set(template.rule.tags) if template.rule else set())
            rows: Sequence[tuple[Mapping[str, str] | None, set[str]]] = [
                (context, set(examples.tags)) for examples in template.examples for context in examples.as_contexts()
            ] or [(None, set())]
            for example, example_tags in rows:
                all_tags = sorted(tags | example_tags)
                planned.append(
                    ScenarioRun(
                        key=scenario_key(str(path), template.name, example),
                        feature=feature.name,
                        scenario=scenario_run_name(template.name, example),
                        requirement_ids=tuple(requirement_ids_from_tags(all_tags)),
                        role=feature_role(str(path)),
                        not_applicable=not_applicable_reason(all_tags, str(path), profile, more),
                    )
                )
    return planned


def record_selection(
    planned: Sequence[ScenarioRun],
    ran_keys: Iterable[str],
    *,
    profile_role: str,
    arguments: Sequence[str],
    keyword: str = "",
    markexpr: str = "",
    selected_keys: Iterable[str] | None = None,
    stopped: str | None = None,
    lab_fault: str | None = None,
) -> dict[str, Any]:
    """The statement's ``selection`` section.

    ``ran_keys``: the scenario keys that produced a result; ``selected_keys``: those pytest selected to run
    (None when unknown, e.g. on the xdist controller); ``stopped``: why the session stopped early, if it did;
    ``lab_fault``: the message of a lab fault that stopped it.
    """
    ran = set(ran_keys)
    selected = set(selected_keys) if selected_keys is not None else None
    applicable = [p for p in planned if p.applicable]
    other_role = [p for p in planned if p.role not in (None, profile_role)]

    def reason(p: ScenarioRun) -> str:
        if stopped and (selected is None or p.key in selected):
            return LAB_FAULT if lab_fault else STOPPED
        return NOT_SELECTED

    not_run = [
        {
            "scenario": p.scenario,
            "feature": p.feature,
            "requirement_ids": list(p.requirement_ids),
            "reason": reason(p),
        }
        for p in applicable
        if p.key not in ran
    ]
    return {
        "arguments": list(arguments),
        "keyword": keyword or "",
        "markexpr": markexpr or "",
        "planned": len(planned),
        "applicable": len(applicable),
        "ran": sum(1 for p in applicable if p.key in ran),
        "not_run": not_run,
        "other_role": {"role": next((p.role for p in other_role), None), "count": len(other_role)},
        "requirements": _requirement_plan(planned, ran),
        "stopped": stopped,
        "lab_fault": lab_fault,
        "complete": not not_run,
    }


def _requirement_plan(planned: Sequence[ScenarioRun], ran: set[str]) -> dict[str, dict[str, int]]:
    """Per requirement ID: its scenario runs in the feature files, the applicable ones, and how many ran."""
    plan: dict[str, dict[str, int]] = {}
    for p in planned:
        for rid in p.requirement_ids:
            row = plan.setdefault(rid, {"scenarios": 0, "applicable": 0, "ran": 0})
            row["scenarios"] += 1
            row["applicable"] += p.applicable
            row["ran"] += p.applicable and p.key in ran
    return plan


def combine_selections(models: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The selection of a repeated run: the last repetition's, with every scenario any repetition left out
    (the union, by name) and the lab fault of any; complete only when every repetition was."""
    selections = [m.get("selection") or {} for m in models]
    if not any(selections):
        return {"complete": True}
    combined = dict(selections[-1])
    not_run = {entry["scenario"]: entry for s in selections for entry in s.get("not_run", [])}
    combined["not_run"] = list(not_run.values())
    combined["lab_fault"] = next((s["lab_fault"] for s in selections if s.get("lab_fault")), None)
    combined["complete"] = all(s.get("complete", True) for s in selections)
    plans = [s.get("requirements", {}) for s in selections]
    combined["requirements"] = {
        rid: {**row, "ran": min(plan.get(rid, row)["ran"] for plan in plans)} for rid, row in plans[-1].items()
    }
    return combined


def is_partial(statement: Mapping[str, Any]) -> bool:
    """True for a statement of a run that left applicable scenarios out (older statements: never)."""
    selection = statement.get("selection")
    return bool(selection) and not selection.get("complete", True)


def apply_selection(
    statement: dict[str, Any], selection: Mapping[str, Any], roles: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    """Record ``selection`` in the statement and make a partial run read as one: overall ``INCOMPLETE`` (the
    verdict of what ran kept as ``overall_of_selected``); a requirement with applicable scenarios that did not
    run says "not run" instead of PASS or a gap (a FAIL seen stays FAIL: the device was seen to fail it).
    ``roles``: each scenario's device folder by node id (None: a common feature), recorded as its ``role``."""
    statement["selection"] = dict(selection)
    for scenario in statement.get("scenarios", []):
        if roles is not None and scenario.get("nodeid") in roles:
            scenario["role"] = roles[scenario["nodeid"]]
    if selection.get("complete", True):
        return statement
    statement["overall_of_selected"] = statement.get("overall")
    statement["overall"] = INCOMPLETE
    plan = selection.get("requirements", {})
    for row in statement.get("requirements", []):
        counts = plan.get(row["id"])
        if not counts or counts["ran"] >= counts["applicable"]:
            if counts and not row["scenarios"] and counts["scenarios"]:
                row["coverage"] = "scenarios not applicable to this device (none selected)"
            continue
        row["coverage"] = f"not run ({counts['ran']} of {counts['applicable']} applicable scenarios ran)"
        if row.get("verdict") != "FAIL":
            row["verdict"] = None
    return statement


__all__ = [
    "DEVICE_FEATURE_FOLDERS",
    "INCOMPLETE",
    "LAB_FAULT",
    "NOT_SELECTED",
    "PARTIAL_HEADLINE",
    "STOPPED",
    "MoreRule",
    "ScenarioRun",
    "apply_selection",
    "combine_selections",
    "feature_role",
    "feature_root",
    "is_partial",
    "not_applicable_reason",
    "planned_scenarios",
    "record_selection",
    "scenario_key",
]
