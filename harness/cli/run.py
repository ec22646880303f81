"""`ota-conformance run`: the conformance suite against one device, writing `reports/<run-id>/`.

The run directory holds `junit.xml`, `allure-results/` and the conformance statement
(`conformance.json`, `conformance.html`). The exit code follows the run table of `harness.exitcodes`
and is computed from the statement's verdicts, not from pytest's own exit status. ``--repeat N`` runs
the selection N times into ``repeat-<k>/`` sub-directories and writes a combined statement (worst verdict per
scenario, a ``repeatability`` section flagging flaky scenarios); nothing is ever retried automatically.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import ConfigurationError, UsageError
from harness.exitcodes import RunExit
from harness.verdicts import Verdict, run_exit_code

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BINDING_MODULE = PROJECT_ROOT / "steps" / "test_features.py"

# pytest's own exit statuses, and what they mean for a conformance run.
_PYTEST_USAGE_ERROR = 4
_PYTEST_INTERNAL_ERROR = 3
_PYTEST_INTERRUPTED = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the conformance suite and write reports/<run-id>/",
        description=__doc__.splitlines()[0] + " Unknown options are passed to pytest (e.g. -k, -n 2).",
    )
    parser.add_argument("--profile", help="DUT profile YAML (default: profiles/emulated-ppmid.yaml)")
    parser.add_argument("--radio", help="radio name (loopback, ezsp, znp, deconz, xbee, zigate) or module:Class")
    parser.add_argument("--device", help="radio device path, e.g. /dev/ttyUSB0 or socket://host:port")
    parser.add_argument("--pixit", action="append", default=[], metavar="NAME=VALUE", help="override a PIXIT")
    parser.add_argument("--reports-dir", default="reports", help="parent directory of run directories")
    parser.add_argument("--run-id", help="name of the run directory (default: UTC time + random suffix)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the selected scenarios N times (repeatability: RUN_DIR/repeat-<k>/, flaky scenarios flagged)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="scenario n of N, verdict, wall and modelled time on stderr (default: when stderr is a terminal)",
    )
    parser.set_defaults(handler=run_command, accepts_extra=True, error_exit_code=RunExit.USAGE)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def run_command(args: argparse.Namespace) -> int:
    import pytest

    from harness.profile import load_run_profile

    overrides = {f"pixit.{kv.partition('=')[0]}": kv.partition("=")[2] for kv in args.pixit}
    if any("=" not in kv for kv in args.pixit):
        raise UsageError("--pixit takes NAME=VALUE")
    if args.radio:
        overrides["pixit.radio"] = args.radio
    if args.device:
        overrides["pixit.device_path"] = args.device
    try:
        load_run_profile(args.profile, overrides)  # fail fast, before pytest starts
    except ConfigurationError as err:
        raise ConfigurationError(f"{err}\nACTION: fix the profile and run again.") from None

    if args.repeat < 1:
        raise UsageError(f"--repeat takes a number of runs, 1 or more (got {args.repeat})")

    run_dir = Path(args.reports_dir) / (args.run_id or new_run_id())
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.repeat > 1:
        status = _run_repeated(args, run_dir)
    else:
        status = pytest.main(_pytest_args(args, run_dir, run_dir / "allure-results"))
    # Imported only now: its imports (pytest-bdd among them) must not precede pytest's assertion rewriting.
    from harness.cli.report import certify_after_run

    certify_after_run(run_dir)  # certification.html and the signed manifest; never changes the exit code
    return _exit_code(int(status), run_dir)


def _pytest_args(args: argparse.Namespace, run_dir: Path, allure_dir: Path) -> list[str]:
    progress = {None: [], True: ["--progress=on"], False: ["--progress=off"]}[args.progress]
    # The operator reads verdicts and their messages (printed at the end), not pytest's tracebacks; --debug
    # or an explicit --tb brings them back.
    tracebacks = args.debug or any(a.startswith("--tb") for a in args.extra)
    return [
        str(BINDING_MODULE),
        f"--rootdir={PROJECT_ROOT}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # the suite's own tests' plugin: it imports hypothesis (0.2 s) to report nothing
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--alluredir={allure_dir}",
        f"--run-dir={run_dir}",
        "-q",
        *([] if tracebacks else ["--tb=no", "-rN"]),
        *progress,
        *(["--profile", args.profile] if args.profile else []),
        *(f"--pixit={kv}" for kv in args.pixit),
        *(["--radio", args.radio] if args.radio else []),
        *(["--device", args.device] if args.device else []),
        *args.extra,
    ]


def _run_repeated(args: argparse.Namespace, run_dir: Path) -> int:
    """Run the selection ``args.repeat`` times, each repetition a complete run directory ``repeat-<k>/``
    (junit.xml, statement, evidence) and all of them into one ``allure-results/`` (Allure shows the
    repetitions of a scenario as its retries), then write the combined statement with its
    ``repeatability`` section into ``run_dir``. Returns the pytest status that stands for the whole: the
    first usage error, interruption or internal error, else 0 (the verdicts decide the exit code)."""
    import pytest

    from harness.reports.statement import REPEAT_DIR, combine_repetitions, write_statement
    from harness.requirements import load_catalogue

    models: list[dict] = []
    status = 0
    for k in range(1, args.repeat + 1):
        rep_dir = run_dir / REPEAT_DIR.format(k=k)
        print(f"ota-conformance run: repetition {k} of {args.repeat} in {rep_dir}", file=sys.stderr, flush=True)
        rep_status = int(pytest.main(_pytest_args(args, rep_dir, run_dir / "allure-results")))
        statement = rep_dir / "conformance.json"
        if rep_status == _PYTEST_USAGE_ERROR:
            return rep_status
        if not statement.exists():
            print(f"ota-conformance run: repetition {k} wrote no statement; it counts as no verdict", file=sys.stderr)
            status = status or _PYTEST_INTERNAL_ERROR
            continue
        models.append(json.loads(statement.read_text(encoding="utf-8")))
        if rep_status in (_PYTEST_INTERRUPTED, _PYTEST_INTERNAL_ERROR):
            status = status or rep_status
        if rep_status == _PYTEST_INTERRUPTED:
            break  # the operator stopped the run: keep what ran
    if models:
        write_statement(combine_repetitions(models, run_dir.name, load_catalogue()), run_dir)
    return status


def _exit_code(pytest_status: int, run_dir: Path) -> int:
    statement = run_dir / "conformance.json"
    if pytest_status == _PYTEST_USAGE_ERROR:
        print(
            f"ota-conformance run: configuration error (see above); evidence kept in {run_dir}",
            file=sys.stderr,
        )
        return RunExit.USAGE
    if not statement.exists():
        print(
            f"ota-conformance run: no conformance statement was written (pytest status {pytest_status}); "
            f"evidence kept in {run_dir}. ACTION: check the messages above.",
            file=sys.stderr,
        )
        return RunExit.NO_VERDICT
    model = json.loads(statement.read_text(encoding="utf-8"))
    verdicts = [Verdict(s["verdict"]) for s in model["scenarios"]]
    code = run_exit_code(verdicts)
    if pytest_status in (_PYTEST_INTERRUPTED, _PYTEST_INTERNAL_ERROR) and code == RunExit.ALL_PASSED:
        code = RunExit.NO_VERDICT
    totals = ", ".join(f"{k} {v}" for k, v in model["totals"].items() if v)
    print(f"\nConformance statement: {statement} and {statement.with_suffix('.html')}")
    if repeat := model.get("repeatability"):
        flaky = repeat["flaky"]
        print(f"Repetitions: {repeat['repetitions']}; flaky: {', '.join(flaky) if flaky else 'none'}.")
    _print_problems(model["scenarios"])
    print(f"Scenarios: {totals or 'none collected'}. Exit code {int(code)} ({RunExit(code).name}).")
    return int(code)


#: How many scenarios without a PASS the end-of-run summary names before pointing to the statement.
_SUMMARY_LIMIT = 25


def _print_problems(scenarios: list[dict]) -> None:
    """Each scenario that did not pass, with the first lines of its operator message (what was expected,
    what was observed, what to do); the statement has the rest and the evidence."""
    problems = [s for s in scenarios if s["verdict"] not in (Verdict.PASS.value, Verdict.NOT_APPLICABLE.value)]
    for scenario in problems[:_SUMMARY_LIMIT]:
        lines = [line for line in str(scenario.get("message") or "").splitlines() if line.strip()][:2]
        print(f"{scenario['verdict']:<13} {scenario['scenario']}")
        for line in lines:
            print(f"{'':14}{line[:300]}")
    if len(problems) > _SUMMARY_LIMIT:
        print(f"... and {len(problems) - _SUMMARY_LIMIT} more: see the conformance statement")
