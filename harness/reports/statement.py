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
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.errors import InputError
from harness.files import STATEMENT_LIMIT, read_regular_text
from harness.reports.statement_check import check_statement
from harness.reports.text import plain
from harness.requirements import Catalogue, Requirement
from harness.verdicts import Verdict, combine_verdicts

if TYPE_CHECKING:
    from harness.transcript import Transcript

#: Format of the statement this version writes. Version 2 (issues 10-14 extend the model once, together)
#: adds fields; ``read_statement`` still reads every format in ``READABLE_STATEMENT_FORMATS``.
STATEMENT_FORMAT = "gb-ota-conformance/statement/2"
READABLE_STATEMENT_FORMATS = ("gb-ota-conformance/statement/1", STATEMENT_FORMAT)
STATEMENT_NAME = "conformance.json"


def read_statement(run_dir: Path) -> dict[str, Any]:
    """The conformance statement a finished ``ota-conformance run`` wrote into ``run_dir`` (what the reports
    and the living specification read); InputError naming what is wrong and what to do otherwise."""
    path = run_dir / STATEMENT_NAME
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: not a directory. ACTION: give a run directory such as reports/<run-id>/.")
    if not path.is_file():
        raise InputError(
            f"{path} does not exist: {run_dir} holds no conformance.json (not a run directory, or the run ended "
            "before writing its statement). ACTION: give a reports/<run-id>/ directory of a finished "
            "`ota-conformance run`."
        )
    text = read_regular_text(path, "statement", STATEMENT_LIMIT, follow_symlinks=False)  # FileRefused: exit 2
    try:
        model = json.loads(text)
    except (ValueError, RecursionError) as err:  # ValueError: bad JSON, or a number Python will not convert
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)[:200]
        raise InputError(f"{path} is not JSON ({reason}). ACTION: run the suite again.") from None
    if not isinstance(model, dict) or model.get("format") not in READABLE_STATEMENT_FORMATS:
        found = model.get("format") if isinstance(model, dict) else type(model).__name__
        raise InputError(
            f"{path}: expected a conformance statement of format {STATEMENT_FORMAT!r}, found {str(found)[:80]!r}. "
            "ACTION: run the suite again with this version."
        )
    check_statement(model, path)
    return model


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
    #: Step-level attribution of a FAIL (``harness.verdicts.attribute_failure``): the requirements it is about,
    #: how they were found (``FailureAttribution.as_dict``), and the tagged requirements the scenario could not
    #: decide because it stopped at the failure.
    failed_requirements: list[str] = field(default_factory=list)
    failure_attribution: dict[str, Any] | None = None
    undecided_requirements: list[str] = field(default_factory=list)
    #: Frames the device sent that nobody asked for (``harness.dut.traffic``; the evidence ``traffic`` says which).
    unsolicited_frames: int = 0

    def requirement_verdict(self, requirement_id: str) -> Verdict | None:
        """What this scenario says about one requirement (None: nothing).

        A FAIL counts against the requirements it is attributed to; a tagged requirement the scenario decided
        before the failing step keeps PASS, one it could not decide is INCONCLUSIVE. Other verdicts apply to
        every tagged requirement, as before.
        """
        failed = set(self.failed_requirements) if self.failure_attribution else set(self.requirement_ids)
        if self.verdict is Verdict.FAIL and requirement_id in failed:
            return Verdict.FAIL
        if requirement_id not in self.requirement_ids:
            return None
        if self.verdict is not Verdict.FAIL:
            return self.verdict
        return Verdict.INCONCLUSIVE if requirement_id in self.undecided_requirements else Verdict.PASS

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
    #: Why that clock ran (PIXIT clock / --clock, or the radio's default), where the images came from, whether
    #: the run tested a simulation (virtual time on a radio that is not the loopback), and what it tested.
    clock_reason: str = ""
    image_source: str = ""
    simulation: bool = False
    target: str = ""


def _requirement_entry(req: Requirement, results: list[ScenarioResult]) -> dict[str, Any]:
    judged = [(r, v) for r in results if (v := r.requirement_verdict(req.id)) is not None]
    scenarios = [r for r, _ in judged]
    binds = req.binds.value
    if scenarios:
        verdict: str | None = combine_verdicts(v for _, v in judged).value
        coverage = "scenarios"
    elif binds == "device" and req.verification.value == "scenario":
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
            {
                "scenario": r.scenario,
                "feature": r.feature,
                "verdict": r.verdict.value,
                "message": r.message,
                "requirement_verdict": v.value,
                "attribution": (r.failure_attribution or {}).get("note", "") if r.verdict is Verdict.FAIL else "",
            }
            for r, v in judged
        ],
    }


#: Identity fields of the device's Query Next Image Requests, and the hex width each is shown with.
_SEEN_QUERY_FIELDS = {
    "current_file_version": ("file_versions", 8),
    "manufacturer_code": ("manufacturer_codes", 4),
    "image_type": ("image_types", 4),
    "hardware_version": ("hardware_versions", 4),
}
_SEEN_KEYS = ("eui64", "manufacturer", "model", *(key for key, _ in _SEEN_QUERY_FIELDS.values()))


def dut_seen_evidence(transcript: Transcript, device: Any | None) -> dict[str, Any]:
    """What the device said about itself in one scenario (evidence key ``dut_seen``).

    The profile only declares the identity; a certificate must also show what the device reported: the
    Basic cluster's manufacturer and model (zigpy's interview, ``device``) and the identity in its Query
    Next Image Requests (running firmware version included). Hex values have a fixed width so they sort.
    """
    # str(): zigpy's LimitedCharString does not survive pickling between xdist processes.
    seen: dict[str, Any] = {
        key: None if getattr(device, key, None) is None else str(getattr(device, key))
        for key in ("manufacturer", "model")
    }
    seen["eui64"] = _joined_eui64(device)
    queries = [e for e in transcript.ota_requests("query_next_image") if not e.malformed]
    for field_name, (key, width) in _SEEN_QUERY_FIELDS.items():
        values = {int(e.fields[field_name]) for e in queries if e.fields.get(field_name) is not None}
        seen[key] = [f"0x{v:0{width}X}" for v in sorted(values)]
    return seen


def _joined_eui64(device: Any | None) -> str | None:
    """The EUI-64 of the device that joined (zigpy's ``ieee``), dashed like the profile's ``dut.eui64``."""
    from harness.crypto.eui64 import Eui64

    ieee = getattr(device, "ieee", None)
    return None if ieee is None else Eui64.parse(str(ieee)).dashed


def observed_dut(results: Iterable[ScenarioResult]) -> dict[str, list[str]]:
    """Every distinct value the device reported over the run (``dut_seen`` evidence of all scenarios)."""
    merged: dict[str, set[str]] = {key: set() for key in _SEEN_KEYS}
    for result in results:
        seen = result.evidence.get("dut_seen") or {}
        for key in _SEEN_KEYS:
            value = seen.get(key)
            merged[key].update(str(v) for v in (value if isinstance(value, list) else [value]) if v is not None)
    return {key: sorted(values) for key, values in merged.items()}


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
        "dut_seen": observed_dut(results),
        "scenarios": [r.to_dict() for r in results],
    }


_ENV = Environment(
    loader=PackageLoader("harness.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(model: Mapping[str, Any], template: str = "conformance.html.j2", **context: Any) -> str:
    """Render a report model with one of the package's templates (self-contained: inline CSS only).

    ``context`` adds a report's own data next to the statement ``s`` (e.g. the certification's ``c``).
    """
    return _ENV.get_template(template).render(s=model, **context)


def write_statement(model: Mapping[str, Any], run_dir: Path) -> tuple[Path, Path]:
    """Write ``conformance.json`` and ``conformance.html`` into ``run_dir`` (every string without terminal
    control sequences: ``harness.reports.text``)."""
    from harness.reports.view import statement_view

    model = plain(model)
    run_dir.mkdir(parents=True, exist_ok=True)
    json_path = run_dir / "conformance.json"
    html_path = run_dir / "conformance.html"
    json_path.write_text(json.dumps(model, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    html_path.write_text(render_html(model, v=statement_view(model)), encoding="utf-8")
    return json_path, html_path


# -- repeated runs (`ota-conformance run --repeat N`) -------------------------------------------------------
#: Sub-directory of the run directory that holds repetition ``k`` (a complete run directory of its own).
REPEAT_DIR = "repeat-{k}"


def _rebase_evidence(value: Any, prefix: str) -> Any:
    """Evidence with every run-relative path (``evidence/...``) made relative to the parent run directory."""
    if isinstance(value, str):
        return f"{prefix}/{value}" if value.startswith("evidence/") else value
    if isinstance(value, list):
        return [_rebase_evidence(v, prefix) for v in value]
    if isinstance(value, dict):
        return {k: _rebase_evidence(v, prefix) for k, v in value.items()}
    return value


def combine_repetitions(models: list[Mapping[str, Any]], run_id: str, catalogue: Catalogue) -> dict[str, Any]:
    """One statement for N repetitions of the same selection (``models[k-1]`` from ``repeat-<k>/``).

    Each scenario's verdict is the worst over its repetitions (``combine_verdicts``: a FAIL seen once stands),
    its message and evidence those of the first repetition that gave that verdict. The ``repeatability``
    section counts each scenario's verdicts; a scenario whose verdicts differ is flagged ``flaky``. Nothing is
    retried to hide a flaky verdict: the count is the evidence.
    """
    runs: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for k, model in enumerate(models, 1):
        for scenario in model["scenarios"]:
            runs.setdefault(scenario["nodeid"], []).append((k, scenario))
    results: list[ScenarioResult] = []
    rows: list[dict[str, Any]] = []
    for nodeid, seen in runs.items():
        verdicts = [Verdict(s["verdict"]) for _, s in seen]
        worst = combine_verdicts(verdicts)
        k, chosen = next((k, s) for k, s in seen if Verdict(s["verdict"]) is worst)
        message = f"repetition {k} of {len(models)}: {chosen['message']}" if chosen["message"] else ""
        results.append(
            ScenarioResult(
                nodeid=nodeid,
                feature=chosen["feature"],
                scenario=chosen["scenario"],
                requirement_ids=list(chosen["requirement_ids"]),
                tags=list(chosen["tags"]),
                verdict=worst,
                message=message,
                duration_s=round(sum(float(s["duration_s"]) for _, s in seen), 3),
                evidence=_rebase_evidence(chosen.get("evidence", {}), REPEAT_DIR.format(k=k)),
                failed_requirements=list(chosen.get("failed_requirements") or []),
                failure_attribution=chosen.get("failure_attribution"),
                undecided_requirements=list(chosen.get("undecided_requirements") or []),
                unsolicited_frames=int(chosen.get("unsolicited_frames") or 0),
            )
        )
        rows.append(
            {
                "nodeid": nodeid,
                "scenario": chosen["scenario"],
                "feature": chosen["feature"],
                "runs": len(verdicts),
                "counts": {v.value: verdicts.count(v) for v in Verdict},
                "verdicts": [v.value for v in verdicts],
                "flaky": len(set(verdicts)) > 1,
            }
        )
    first, last = models[0]["run"], models[-1]["run"]
    run = RunInfo(**{**first, "run_id": run_id, "finished_utc": last["finished_utc"]})
    model = build_statement(run, results, catalogue)
    model["repeatability"] = {
        "repetitions": len(models),
        "directories": [REPEAT_DIR.format(k=k) for k in range(1, len(models) + 1)],
        "flaky": [row["scenario"] for row in rows if row["flaky"]],
        "scenarios": rows,
    }
    return model
