"""The variation self-check's runs: the compliant reference emulators under drawn configurations
(``harness.emulator.variation``), judged, and reproducible from their seed (docs/variation.md).

Every run goes through ``run_suite`` (``ota-conformance run`` on a profile, returning its statement), the one
place that decides how a run is executed: in the fault matrix's long-lived workers (``warm_runs``: the same
``harness.cli.main`` in a process that imported everything once, about half the CPU of a cold command for a
knob's few scenarios), or as a subprocess, as an operator types it, when no warm runner is given.

As a command (what ``make variation SEEDS=N`` runs, and what every failure message quotes)::

    python -m tests.selfcheck.variation --role ppmid --seed 1234 [--knob NAME] [--clock real]
    python -m tests.selfcheck.variation --seeds 20 [--knobs] [--reports-dir reports/variation]

``--knobs`` adds every fault knob of both devices once, each under a new seed of its own: a knob that a
configuration hides is a finding too (the judgement lets a defect through).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.emulator.variation import (
    ROLES,
    Variation,
    draw,
    knob_names,
    knob_requirements,
    violations,
    write_bench,
)
from tests.selfcheck.warm_runs import LEAN_RUN, WarmRunner

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"
OK = frozenset({"PASS", "NOT_APPLICABLE"})
#: A compliant run passing fewer scenarios than this ran too little to prove anything.
MIN_PASSED = {"ppmid": 30, "hcalcs": 25}
#: The real-clock subset: scenarios whose time is the device's own short timers and the profile's budgets (no
#: fixed wait of minutes or hours in their text): a query, a download, a lost block, an activation, a power
#: cycle and CS08 through the tunnel; for the HCALCS the receipt alert, CS06 (an image held, none held, held
#: across a power cycle) and CS08.
REAL_CLOCK_SUBSET = {
    "ppmid": (
        "unicast_Image_Notify or whole_image or lost_Image_Block_Response or PPMID_reports_the_new"
        " or verified_image_waiting or PPMID_answers_CS08_with"
    ),
    "hcalcs": (
        "signed_0x8F72 or held_image_activates_it or (while_no_image and not future) or still_held_after_a_power"
        " or HCALCS_answers_CS08_with"
    ),
}
#: The real-clock subset's budget of wall time, per device (both run at once).
REAL_CLOCK_WALL_S = 60.0


@dataclass(frozen=True)
class SuiteRun:
    """One ``ota-conformance run``: its statement, exit code, the CPU and wall time it took, its output's tail."""

    statement: dict[str, Any]
    run_dir: Path
    exit_code: int
    cpu_s: float
    wall_s: float
    output: str

    @property
    def scenarios(self) -> list[dict[str, Any]]:
        return list(self.statement.get("scenarios", []))


def run_suite(
    profile: Path,
    extra_args: Sequence[str],
    *,
    reports_dir: Path,
    run_id: str,
    timeout_s: float = 900.0,
    warm: WarmRunner | None = None,
) -> SuiteRun:
    """``ota-conformance run --profile PROFILE EXTRA_ARGS`` into ``reports_dir/run_id``: every run of the
    variation self-check goes through here (transfer plots off: they judge nothing); in a warm worker when
    ``warm`` is given, else as a subprocess."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    args = ["--profile", str(profile), "--reports-dir", str(reports_dir), "--run-id", run_id]
    args += ["--transfer-plots=off", *extra_args]
    statement_path = reports_dir / run_id / "conformance.json"
    if warm is not None:
        outcome = warm.run(args, timeout=timeout_s)
        return SuiteRun(
            _read_statement(statement_path),
            statement_path.parent,
            outcome.exit_code,
            outcome.cpu_s,
            outcome.wall_s,
            (outcome.error + outcome.log)[-3000:],
        )
    command = [str(CLI), "run", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))}
    log = reports_dir / f"{run_id}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own CPU time, whatever else runs
        finally:
            killer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return SuiteRun(
        _read_statement(statement_path),
        statement_path.parent,
        proc.returncode,
        usage.ru_utime + usage.ru_stime,
        time.perf_counter() - started,
        log.read_text(encoding="utf-8", errors="replace")[-3000:],
    )


def _read_statement(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


# -- what a run must show -----------------------------------------------------------------------------------
def reproduce_command(v: Variation) -> str:
    """The command that draws ``v`` again and runs it (quoted in every failure message)."""
    command = f".venv/bin/python -m tests.selfcheck.variation --role {v.role} --seed {v.seed}"
    if v.knob:
        command += f" --knob {v.knob}"
    if v.clock == "real":
        command += " --clock real"
    return command


def _line(scenario: dict[str, Any]) -> str:
    failed = scenario.get("failed_requirements") or []
    line = f"  {scenario['verdict']:<13} {scenario['scenario']}"
    if failed:
        line += f" (FAIL for {', '.join(failed)})"
    if scenario.get("message"):
        line += f"\n                {scenario['message'][:400]}"
    return line


def compliant_problems(v: Variation, run: SuiteRun) -> list[str]:
    """Why a run of the compliant emulator under ``v`` is not all PASS (empty: it is)."""
    if not run.statement:
        return [f"no statement (exit {run.exit_code}):\n{run.output}"]
    bad = [s for s in run.scenarios if s["verdict"] not in OK]
    problems = [_line(s) for s in bad]
    passed = sum(s["verdict"] == "PASS" for s in run.scenarios)
    subset = v.clock == "real"
    if not subset and passed < MIN_PASSED[v.role]:
        problems.append(f"  only {passed} scenarios passed (at least {MIN_PASSED[v.role]} expected)")
    if subset and not passed:
        problems.append("  no scenario of the real-clock subset passed")
    return problems


def knob_problems(v: Variation, run: SuiteRun) -> list[str]:
    """Why a run under ``v``'s knob does not show it caught: no FAIL attributed (step level) to one of its
    requirements, or an ERROR / INCONCLUSIVE among the scenarios of its requirements (empty: caught)."""
    assert v.knob is not None
    if not run.statement:
        return [f"no statement (exit {run.exit_code}):\n{run.output}"]
    wanted = knob_requirements(v.role, v.knob)
    targeted = [s for s in run.scenarios if wanted & set(s["requirement_ids"])]
    problems = [_line(s) for s in targeted if s["verdict"] not in OK | {"FAIL"}]
    caught = [s for s in targeted if s["verdict"] == "FAIL" and wanted & set(s.get("failed_requirements") or [])]
    if not caught:
        problems.insert(0, f"  not caught: no FAIL attributed to {sorted(wanted)}")
        problems += [_line(s) for s in targeted if s["verdict"] in OK | {"FAIL"}]
    return problems


def report(v: Variation, run: SuiteRun, problems: list[str]) -> str:
    """A failure message: the seed, what was drawn, what went wrong, and the command that reproduces it."""
    what = "knob " + v.knob + " not caught" if v.knob else "the compliant emulator did not pass"
    return (
        f"variation {v.label} (seed {v.seed}): {what}\n  configuration: {v.summary()}\n"
        + "\n".join(problems)
        + f"\n  reproduce: {reproduce_command(v)}\n  statement: {run.run_dir / 'conformance.json'}"
    )


# -- one variation, end to end --------------------------------------------------------------------------------
def selection(v: Variation) -> list[str]:
    """The pytest selection of ``v``'s run: a knob's scenarios (its requirements' tags), the real-clock subset,
    or everything."""
    if v.knob:
        return ["-m", " or ".join(f"req:{r}" for r in sorted(knob_requirements(v.role, v.knob)))]
    if v.clock == "real":
        return ["-k", REAL_CLOCK_SUBSET[v.role]]
    return []


def run_variation(v: Variation, reports_dir: Path, warm: WarmRunner | None = None) -> tuple[SuiteRun, list[str]]:
    """Write ``v``'s bench, run the suite on it, and judge the run (problems empty: as it must be)."""
    broken = violations(v)
    if broken:  # never happens for draw's configurations: the property test holds the generator to it
        raise ValueError(f"variation {v.label} breaks its constraints: {broken}")
    profile = write_bench(v, reports_dir / "benches" / v.label)
    run = run_suite(profile, [*LEAN_RUN, *selection(v)], reports_dir=reports_dir, run_id=v.label, warm=warm)
    return run, (knob_problems(v, run) if v.knob else compliant_problems(v, run))


def run_many(
    variations: Sequence[Variation], reports_dir: Path, workers: int = 2, *, verdicts_only: bool = False
) -> list[tuple[SuiteRun, list[str]]]:
    """Every variation's run, ``workers`` at a time, each in one of ``workers`` warm workers; with
    ``verdicts_only`` the runs write no evidence files (CI: the checks read verdicts only)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    workers = max(1, workers)
    with (
        WarmRunner(workers, reports_dir, verdicts_only=verdicts_only) as warm,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        return list(pool.map(lambda v: run_variation(v, reports_dir, warm), variations))


# -- the command -------------------------------------------------------------------------------------------
def _summary(results: list[tuple[Variation, SuiteRun, list[str]]]) -> dict[str, Any]:
    return {
        "runs": [
            {
                "label": v.label,
                "role": v.role,
                "seed": v.seed,
                "knob": v.knob,
                "clock": v.clock,
                "configuration": v.summary(),
                "verdicts": dict(Counter(s["verdict"] for s in run.scenarios)),
                "ok": not problems,
                "problems": problems,
                "reproduce": reproduce_command(v),
                "statement": str(run.run_dir / "conformance.json"),
                "cpu_s": round(run.cpu_s, 2),
                "wall_s": round(run.wall_s, 2),
            }
            for v, run, problems in results
        ],
        "cpu_s": round(sum(run.cpu_s for _, run, _ in results), 1),
        "findings": sum(bool(problems) for _, _, problems in results),
    }


def _markdown(summary: dict[str, Any]) -> str:
    lines = [
        "# Variation self-check",
        "",
        f"{len(summary['runs'])} runs, {summary['findings']} with findings, {summary['cpu_s']} s of CPU.",
        "",
        "| run | verdicts | configuration | reproduce |",
        "|---|---|---|---|",
    ]
    for run in summary["runs"]:
        verdicts = ", ".join(f"{k} {n}" for k, n in sorted(run["verdicts"].items()))
        mark = "" if run["ok"] else " **finding**"
        lines.append(f"| {run['label']}{mark} | {verdicts} | {run['configuration']} | `{run['reproduce']}` |")
    for run in summary["runs"]:
        if run["problems"]:
            lines += ["", f"## {run['label']}", "", "```", *run["problems"], "```"]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.selfcheck.variation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, help="run this many random seeds on each device (nightly)")
    parser.add_argument("--knobs", action="store_true", help="with --seeds: also every fault knob, each on a new seed")
    parser.add_argument("--role", choices=ROLES, help="with --seed: one device")
    parser.add_argument("--seed", type=int, help="with --role: reproduce this seed")
    parser.add_argument("--knob", help="with --role and --seed: the knob's run")
    parser.add_argument("--clock", choices=("virtual", "real"), default="virtual")
    parser.add_argument("--reports-dir", type=Path, default=PROJECT_ROOT / "reports" / "variation")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if args.seeds is not None:
        seeds = [secrets.randbelow(1 << 32) for _ in range(args.seeds)]
        variations = [draw(role, seed, clock=args.clock) for seed in seeds for role in ROLES]
        if args.knobs:
            variations += [
                draw(role, secrets.randbelow(1 << 32), knob=knob, clock=args.clock)
                for role in ROLES
                for knob in knob_names(role)
            ]
    elif args.role and args.seed is not None:
        variations = [draw(args.role, args.seed, knob=args.knob, clock=args.clock)]
    else:
        parser.error("give --seeds N, or --role and --seed")
    reports = args.reports_dir / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    outcomes = run_many(variations, reports, args.workers)
    results = [(v, run, problems) for v, (run, problems) in zip(variations, outcomes, strict=True)]
    summary = _summary(results)
    (reports / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    (reports / "summary.md").write_text(_markdown(summary), encoding="utf-8")
    for v, run, problems in results:
        print(report(v, run, problems) if problems else f"ok  {v.label}: {v.summary()}")
    print(f"\n{len(results)} runs, {summary['findings']} with findings; summary: {reports / 'summary.md'}")
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
