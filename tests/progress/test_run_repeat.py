"""`ota-conformance run --repeat N` end to end on a small selection, and the combination of repetitions
(counts, flaky flag, worst verdict, evidence paths) on hand-made statements."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.reports.statement import RunInfo, ScenarioResult, build_statement, combine_repetitions
from harness.requirements import load_catalogue
from harness.verdicts import Verdict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"


def test_repeat_2_writes_each_repetition_and_a_combined_statement_with_repeatability(tmp_path: Path):
    command = [str(CLI), "run", "--reports-dir", str(tmp_path), "--run-id", "r", "--repeat", "2", "--progress"]
    command += ["-k", "wait_for_data or answers_cs08"]
    proc = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dir = tmp_path / "r"
    for k in (1, 2):
        assert (run_dir / f"repeat-{k}" / "junit.xml").exists()
        assert json.loads((run_dir / f"repeat-{k}" / "conformance.json").read_text())["run"]["run_id"] == f"repeat-{k}"
    model = json.loads((run_dir / "conformance.json").read_text())
    repeat = model["repeatability"]
    assert repeat["repetitions"] == 2 and repeat["flaky"] == []
    ran = [row for row in repeat["scenarios"] if row["counts"]["PASS"]]
    assert len(ran) == 2 and all(row["counts"]["PASS"] == 2 and row["verdicts"] == ["PASS", "PASS"] for row in ran)
    # progress: one line per scenario per repetition, on stderr
    assert proc.stderr.count("repetition ") == 2
    assert proc.stderr.count("PASS           The PPMID waits as long as the Communications Hub asks") == 2
    assert (
        "virtual time)" in proc.stderr
        and "scenarios on the virtual clock (default for the loopback radio" in proc.stderr
    )
    # the transfer plot of the WAIT_FOR_DATA scenario, its path relative to the combined run directory
    (waits,) = [s for s in model["scenarios"] if "WAIT_FOR_DATA" in s["scenario"]]
    (plot,) = waits["evidence"]["transfer_plots"]
    assert plot["path"].startswith("repeat-1/evidence/") and (run_dir / plot["path"]).read_bytes()[:4] == b"\x89PNG"
    for page in ("conformance.html", "certification.html"):
        html = (run_dir / page).read_text()
        assert "Repeatability (2 repetitions)" in html and "No scenario is flaky." in html, page
    assert "Repetitions: 2; flaky: none." in proc.stdout
    assert list((run_dir / "allure-results").glob("*-result.json"))  # one Allure directory for all repetitions


def _statement(run_id: str, verdicts: dict[str, Verdict]) -> dict:
    run = RunInfo(
        run_id=run_id,
        suite_version="0",
        started_utc=f"{run_id}-start",
        finished_utc=f"{run_id}-end",
        features_hash="0" * 64,
        profile_path="p.yaml",
        profile={},
        undeclared_pics=[],
        dut={},
        radio="loopback",
        clock="virtual",
    )
    results = [
        ScenarioResult(
            nodeid=f"t::{name}",
            feature="f",
            scenario=name,
            requirement_ids=["PZ-13"],
            tags=[],
            verdict=verdict,
            message="" if verdict is Verdict.PASS else f"{verdict.value} in {run_id}",
            duration_s=1.0,
            evidence={"transfer_plots": [{"path": f"evidence/{name}/transfer-1.png"}], "blocks_consumed": 3},
        )
        for name, verdict in verdicts.items()
    ]
    return json.loads(json.dumps(build_statement(run, results, load_catalogue()), default=str))


def test_a_scenario_whose_verdicts_differ_is_flaky_and_keeps_its_worst_verdict_and_that_evidence():
    models = [
        _statement("repeat-1", {"steady": Verdict.PASS, "shaky": Verdict.PASS}),
        _statement("repeat-2", {"steady": Verdict.PASS, "shaky": Verdict.INCONCLUSIVE}),
        _statement("repeat-3", {"steady": Verdict.PASS, "shaky": Verdict.FAIL}),
    ]
    model = combine_repetitions(models, "parent", load_catalogue())
    rows = {row["scenario"]: row for row in model["repeatability"]["scenarios"]}
    assert rows["shaky"]["flaky"] and not rows["steady"]["flaky"]
    assert rows["shaky"]["counts"] == {"PASS": 1, "FAIL": 1, "INCONCLUSIVE": 1, "ERROR": 0, "NOT_APPLICABLE": 0}
    assert rows["shaky"]["verdicts"] == ["PASS", "INCONCLUSIVE", "FAIL"]
    assert model["repeatability"]["flaky"] == ["shaky"]
    shaky = next(s for s in model["scenarios"] if s["scenario"] == "shaky")
    assert shaky["verdict"] == "FAIL" and shaky["message"] == "repetition 3 of 3: FAIL in repeat-3"
    assert shaky["evidence"]["transfer_plots"] == [{"path": "repeat-3/evidence/shaky/transfer-1.png"}]
    assert shaky["evidence"]["blocks_consumed"] == 3 and shaky["duration_s"] == 3.0
    assert model["overall"] == "FAIL" and model["totals"]["FAIL"] == 1 and model["totals"]["PASS"] == 1
    assert model["run"]["run_id"] == "parent" and model["run"]["finished_utc"] == "repeat-3-end"
