"""The conformance statement: what was run, against what, and the verdict per requirement.

One model (a JSON-serialisable dict built by ``build_statement``) and two renderings of it:
``conformance.json`` for machines and a self-contained ``conformance.html`` for people. Later reports
(the certification report, the living specification) reuse ``render_html`` with their own templates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.requirements import Catalogue, Requirement
from harness.verdicts import Verdict, combine_verdicts

STATEMENT_FORMAT = "gb-ota-conformance/statement/1"


@dataclass
class ScenarioResult:
    """One executed (or deselected) scenario as the statement records it."""

    nodeid: str
    feature: str
    scenario: str
    requirement_ids: list[str]
    tags: list[str]
    verdict: Verdict
    message: str = ""
    duration_s: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


@dataclass
class RunInfo:
    """Identity of a run: suite, specification text, device and configuration."""

    run_id: str
    suite_version: str
    started_utc: str
    finished_utc: str
    features_hash: str
    profile_path: str
    profile: Mapping[str, Any]
    undeclared_pics: list[str]
    dut: Mapping[str, Any]
    radio: str
    clock: str


def _requirement_entry(req: Requirement, results: list[ScenarioResult]) -> dict[str, Any]:
    scenarios = [r for r in results if req.id in r.requirement_ids]
    binds = req.binds.value
    if scenarios:
        verdict: str | None = combine_verdicts(r.verdict for r in scenarios).value
        coverage = "scenarios"
    elif binds == "device":
        verdict, coverage = None, "gap: no scenario yet"
    else:
        verdict, coverage = None, f"not a device scenario ({req.verification.value})"
    return {
        "id": req.id,
        "title": req.title,
        "text": req.text,
        "source": req.source,
        "confidence": req.confidence.value,
        "assumption": req.assumption,
        "role": req.role.value,
        "binds": binds,
        "verification": req.verification.value,
        "coverage": coverage,
        "verdict": verdict,
        "scenarios": [
            {"scenario": r.scenario, "feature": r.feature, "verdict": r.verdict.value, "message": r.message}
            for r in scenarios
        ],
    }


def build_statement(run: RunInfo, results: Iterable[ScenarioResult], catalogue: Catalogue) -> dict[str, Any]:
    """The statement model: run identity, totals, per-requirement verdicts and per-scenario results."""
    results = list(results)
    totals = {v.value: 0 for v in Verdict}
    for result in results:
        totals[result.verdict.value] += 1
    unknown = sorted({rid for r in results for rid in r.requirement_ids} - {q.id for q in catalogue})
    return {
        "format": STATEMENT_FORMAT,
        "run": asdict(run),
        "scope": catalogue.scope,
        "totals": totals,
        "overall": combine_verdicts(r.verdict for r in results).value if results else None,
        "requirements": [_requirement_entry(req, results) for req in catalogue],
        "unknown_requirement_ids": unknown,
        "scenarios": [r.to_dict() for r in results],
    }


_ENV = Environment(
    loader=PackageLoader("harness.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(model: Mapping[str, Any], template: str = "conformance.html.j2") -> str:
    """Render a report model with one of the package's templates (self-contained: inline CSS only)."""
    return _ENV.get_template(template).render(s=model)


def write_statement(model: Mapping[str, Any], run_dir: Path) -> tuple[Path, Path]:
    """Write ``conformance.json`` and ``conformance.html`` into ``run_dir``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "conformance.json"
    html_path = run_dir / "conformance.html"
    json_path.write_text(json.dumps(model, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    html_path.write_text(render_html(model), encoding="utf-8")
    return json_path, html_path
