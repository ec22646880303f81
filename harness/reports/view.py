"""The view of a conformance statement that both HTML pages render (``conformance.html``, ``certification.html``
and its PDF): what a reader acts on, arranged once so the pages cannot disagree.

- the verdict, and for a partial run ``INCOMPLETE`` with "partial run — not a certification" and what did not run;
- totals of the device's role; the other role's scenarios as one count (they never apply to this device);
- one row per scenario of this role, with an anchor, its requirements, a one-line reason (a message cut by
  ``operator_parts``), links to its evidence files; NOT_APPLICABLE rows with the PICS items named and what each
  means;
- requirement rows linking their scenarios and their sources; legends for confidence and "Binds"; the
  catalogue's source list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.reports.selection import INCOMPLETE, PARTIAL_HEADLINE, is_partial
from harness.verdicts import Verdict

#: What each confidence tag of the catalogue means (the legend of the requirement table).
CONFIDENCE_LEGEND: Mapping[str, str] = {
    "C": "confirmed from the cited public source",
    "C-data": "confirmed by decoding or verifying public sample data (DCC Boxed, RTDS 4.5.0)",
    "R": "from a reputable implementation that cites the specification clause",
    "I": "inferred: a design assumption of the suite, not a fact of the specification",
    "U": "an open question of the specification; the suite's reading is configurable",
}
#: Whose obligation a requirement is (the "Binds" column).
BINDS_LEGEND: Mapping[str, str] = {
    "device": "the device under test: checked by the scenarios of a run",
    "ch": "the Communications Hub, which the suite plays: checked by the suite's own unit tests",
    "suite-format": "what the suite itself builds or reports: checked by the suite's own unit tests",
    "dcc": "the DCC / DSP service-request level: out of reach of a HAN device test",
}

_PREFIXES = ("FAIL: ", "INCONCLUSIVE: ", "ERROR: ", "NOT_APPLICABLE: ", "No verdict: ")
_EXPECTED = re.compile(r"expected (?P<expected>.+?), observed (?P<observed>.+?)(?:; the DUT is the suspect)?$")
_REPEAT = re.compile(r"^repetition \d+ of \d+: ")
_OTHER_ROLE = re.compile(r"^a (?P<role>[A-Z]+) feature; the device under test is")
_PICS_NAME = re.compile(r"\b([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)+)\b")


def operator_parts(message: str) -> dict[str, str]:
    """A verdict message cut into what a reader acts on: a one-line reason, expected, observed, what to do
    (``ACTION:``), and the rest (e.g. pytest's comparison detail)."""
    lines = [line for line in (message or "").splitlines() if line.strip()]
    first = _REPEAT.sub("", lines[0].strip()) if lines else ""
    for prefix in _PREFIXES:
        first = first.removeprefix(prefix)
    head, _, action = first.partition(" ACTION: ")
    if not action and (found := re.search(r"ACTION: (.+)", message or "")):
        action = found.group(1)
    parts = {"reason": head.strip().rstrip("."), "expected": "", "observed": "", "action": action.strip()}
    if match := _EXPECTED.search(head.strip()):
        parts.update(expected=match["expected"], observed=match["observed"])
    parts["detail"] = "\n".join(lines[1:])
    return parts


def one_line(text: str, limit: int = 220) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def scenario_role(scenario: Mapping[str, Any]) -> str | None:
    """The device role of a scenario's feature folder (recorded by the run; older statements: read from the
    NOT_APPLICABLE reason), None for a common scenario."""
    if "role" in scenario:
        return scenario["role"]
    match = _OTHER_ROLE.match(str(scenario.get("message") or ""))
    return match["role"].lower() if match else None


def pics_meanings(reason: str) -> list[dict[str, str]]:
    """The PICS items a NOT_APPLICABLE reason names, each with what it means (the schema's description)."""
    from harness.profile.schema import PICS_ITEMS

    names = dict.fromkeys(_PICS_NAME.findall(reason))
    return [{"item": name, "meaning": PICS_ITEMS[name].description} for name in names if name in PICS_ITEMS]


def evidence_links(evidence: Mapping[str, Any], base: str) -> list[dict[str, str]]:
    """Links to a scenario's capture and transcript (paths relative to the run, under ``base``)."""
    return [
        {"label": Path(evidence[key]).name, "href": base + evidence[key]}
        for key in ("capture", "transcript")
        if isinstance(evidence.get(key), str)
    ]


def statement_view(statement: Mapping[str, Any], *, evidence_base: str = "") -> dict[str, Any]:
    """The view both pages render (``v`` in the templates). ``evidence_base``: how the page's directory
    reaches the run's files (``""`` inside the run, ``"../<run-id>/"`` from a derived report's directory)."""
    from harness.requirements import load_catalogue, source_keys

    role = statement["run"].get("dut", {}).get("role", "")
    selection = statement.get("selection") or {}
    numbered = [{**s, "_anchor": f"sc-{n}"} for n, s in enumerate(statement["scenarios"], start=1)]
    mine = [s for s in numbered if scenario_role(s) in (None, role)]
    others = [s for s in numbered if scenario_role(s) not in (None, role)]
    totals = {v.value: 0 for v in Verdict}
    for scenario in mine:
        totals[scenario["verdict"]] += 1
    rows = []
    for scenario in mine:
        message = str(scenario.get("message") or "")
        row = {
            "anchor": scenario["_anchor"],
            "nodeid": scenario.get("nodeid", ""),
            "scenario": scenario["scenario"],
            "feature": scenario.get("feature", ""),
            "requirement_ids": list(scenario.get("requirement_ids") or []),
            "verdict": scenario["verdict"],
            "reason": one_line(operator_parts(message)["reason"]),
            "message": message,
            "evidence": evidence_links(scenario.get("evidence") or {}, evidence_base),
            "pics": pics_meanings(message) if scenario["verdict"] == Verdict.NOT_APPLICABLE.value else [],
        }
        rows.append(row)
    anchors = {(s.get("feature", ""), s["scenario"]): s["_anchor"] for s in mine}
    requirements = [
        {
            **row,
            "source_keys": source_keys(str(row.get("source") or "")),
            "scenarios": [
                {**sc, "anchor": anchors.get((sc.get("feature", ""), sc.get("scenario", "")))}
                for sc in row.get("scenarios", [])
            ],
        }
        for row in statement.get("requirements", [])
    ]
    other = selection.get("other_role") or {}
    other_role = other.get("role") or (scenario_role(others[0]) if others else None)
    partial = is_partial(statement)
    return {
        "role": role,
        "partial": partial,
        "headline": PARTIAL_HEADLINE if partial else "",
        "incomplete": INCOMPLETE,
        "overall": statement.get("overall"),
        "overall_of_selected": statement.get("overall_of_selected"),
        "totals": totals,
        "other_role": {"role": other_role, "count": other.get("count", len(others)) if other else len(others)},
        "selection": selection,
        "not_run": selection.get("not_run") or [],
        "scenarios": rows,
        "not_applicable": [r for r in rows if r["verdict"] == Verdict.NOT_APPLICABLE.value],
        "requirements": requirements,
        "confidence_legend": CONFIDENCE_LEGEND,
        "binds_legend": BINDS_LEGEND,
        "sources": [{"key": s.key, "title": s.title, "where": s.where} for s in load_catalogue().sources],
        "evidence_base": evidence_base,
    }


def rows_by_anchor(view: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {row["anchor"]: row for row in view["scenarios"]}


def issue_rows(view: Mapping[str, Any], verdicts: Sequence[str]) -> list[Mapping[str, Any]]:
    """The scenario rows of the view whose verdict is one of ``verdicts``, in order."""
    return [row for row in view["scenarios"] if row["verdict"] in verdicts]


__all__ = [
    "BINDS_LEGEND",
    "CONFIDENCE_LEGEND",
    "evidence_links",
    "issue_rows",
    "one_line",
    "operator_parts",
    "pics_meanings",
    "rows_by_anchor",
    "scenario_role",
    "statement_view",
]
