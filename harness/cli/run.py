"""`ota-conformance run`: the conformance suite against one device, writing `reports/<run-id>/`.

The run directory holds `junit.xml`, `allure-results/` and the conformance statement
(`conformance.json`, `conformance.html`). The exit code follows the run table of `harness.exitcodes`
and is computed from the statement's verdicts, not from pytest's own exit status. ``--repeat N`` runs
the selection N times into ``repeat-<k>/`` sub-directories and writes a combined statement (worst verdict per
scenario, a ``repeatability`` section flagging flaky scenarios); nothing is ever retried automatically.
``--clock virtual|real`` chooses the run's clock (PIXIT ``clock``); ``--dry-run`` lists what a run of the profile
would do with each scenario (run it, or NOT_APPLICABLE with the reason) without starting any radio.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.cli.hints import command
from harness.errors import ConfigurationError, UsageError
from harness.exitcodes import RunExit
from harness.reports.selection import INCOMPLETE, LAB_FAULT, PARTIAL_HEADLINE
from harness.reports.signing import add_signing_options, signing_key_from_args
from harness.verdicts import Verdict, run_exit_code

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BINDING_MODULE = PROJECT_ROOT / "steps" / "test_features.py"

#: The project's pytest configuration, named explicitly: pytest would otherwise look for it next to the paths
#: among the arguments, and a profile kept outside the checkout (--profile /bench/acme.yaml) is such a path.
_PROJECT_CONFIG = (f"--rootdir={PROJECT_ROOT}", "-c", str(PROJECT_ROOT / "pyproject.toml"))

# pytest's own exit statuses, and what they mean for a conformance run.
_PYTEST_NO_TESTS = 5
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
    parser.add_argument(
        "--clock",
        choices=("virtual", "real"),
        help="the run's clock (overrides pixit.clock; default: virtual on the loopback radio, real on any other); "
        "virtual runs a simulated device behind a module:Class radio in seconds (docs/hardware.md)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="list every scenario the profile will run and every one NOT_APPLICABLE with its reason; starts no "
        "radio and writes nothing",
    )
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
    _register_report_options(parser)
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
    if args.clock:
        overrides["pixit.clock"] = args.clock
    try:
        profile = load_run_profile(args.profile, overrides)  # fail fast, before pytest starts
    except ConfigurationError as err:
        raise ConfigurationError(f"{err}\nACTION: fix the profile and run again.") from None
    for warning in profile.deprecations:
        print(f"ota-conformance run: warning: {warning}", file=sys.stderr)
    if args.dry_run:
        return _dry_run(args, profile)

    if args.repeat < 1:
        raise UsageError(f"--repeat takes a number of runs, 1 or more (got {args.repeat})")
    signing = signing_key_from_args(args)  # a bad key is a usage error before anything runs
    if informational := _informational(args.extra):
        return _inform(args, informational)

    run_dir = Path(args.reports_dir) / (args.run_id or new_run_id())
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    if args.repeat > 1:
        status = _run_repeated(args, run_dir)
    else:
        status = pytest.main(_pytest_args(args, run_dir, run_dir / "allure-results"))
    if (refused := _refused(int(status), args, run_dir, created)) is not None:
        return refused
    # Imported only now: its imports (pytest-bdd among them) must not precede pytest's assertion rewriting.
    from harness.cli.report import certify_after_run

    # certification.html and the signed manifest; never changes the exit code
    certify_after_run(run_dir, signing=signing, pdf=args.pdf)
    return _exit_code(int(status), run_dir)


def _pytest_args(args: argparse.Namespace, run_dir: Path, allure_dir: Path) -> list[str]:
    progress = {None: [], True: ["--progress=on"], False: ["--progress=off"]}[args.progress]
    # The operator reads verdicts and their messages (printed at the end), not pytest's tracebacks; --debug
    # or an explicit --tb brings them back.
    tracebacks = args.debug or any(a.startswith("--tb") for a in args.extra)
    return [
        str(BINDING_MODULE),
        *_PROJECT_CONFIG,
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",  # the suite's own tests' plugin: it imports hypothesis (0.2 s) to report nothing
        # pytest-bdd is imported before the session (the run's setup reads the features with its parser), so pytest
        # cannot rewrite its asserts, which it has none the operator reads: say nothing about it (the step modules,
        # whose asserts do matter, are registered for rewriting before they are imported: conftest.py).
        "-W",
        "ignore:Module already imported so cannot be rewritten; pytest_bdd:pytest.PytestAssertRewriteWarning",
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--alluredir={allure_dir}",
        f"--run-dir={run_dir}",
        "-q",
        *([] if tracebacks else ["--tb=no", "-rN"]),
        *progress,
        *_profile_args(args),
        *([f"--transfer-plots={args.transfer_plots}"] if args.transfer_plots else []),
        *args.extra,
        "--color=no",  # last, so it wins: no terminal colour codes in junit.xml, Allure or the statement
    ]


def _profile_args(args: argparse.Namespace) -> list[str]:
    """The options that make the profile, as the pytest plugin takes them."""
    return [
        *(["--profile", args.profile] if args.profile else []),
        *(f"--pixit={kv}" for kv in args.pixit),
        *(["--radio", args.radio] if args.radio else []),
        *(["--device", args.device] if args.device else []),
        *(["--clock", args.clock] if args.clock else []),
    ]


class _PlanCollector:
    """Keeps the plan of the collected scenarios (a pytest plugin object, for ``--dry-run``)."""

    def __init__(self) -> None:
        self.plan: list[Any] = []

    def pytest_collection_finish(self, session: Any) -> None:
        from harness.pytest_plugin import scenario_plan

        self.plan = scenario_plan(session.items)


def _dry_run(args: argparse.Namespace, profile: Any) -> int:
    """Collect the scenarios as a run would (PICS, device role and ``@needs:`` decided exactly as then) and
    print what the run would do with each, without starting a radio or writing a run directory. Exit code 0,
    or 2 when the setup claims something it cannot do (those scenarios would end as ERROR) or on bad options."""
    import pytest

    collector = _PlanCollector()
    status = pytest.main(
        [
            str(BINDING_MODULE),
            *_PROJECT_CONFIG,
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",
            "--collect-only",
            *_profile_args(args),
            *args.extra,
        ],
        plugins=[collector],
    )
    if status == _PYTEST_USAGE_ERROR:
        return RunExit.USAGE
    setup = profile.setup
    print(f"Dry run of profile {profile.path} ({profile.role}), radio {setup.radio}: nothing was started.")
    print(f"  clock:  {setup.clock}")
    print(f"  images: {setup.images}")
    print(f"  tested: {setup.target}")
    groups = {"RUN": "Will run", Verdict.NOT_APPLICABLE.value: "NOT_APPLICABLE", "ERROR": "ERROR before it starts"}
    for verdict, title in groups.items():
        rows = [row for row in collector.plan if row.verdict == verdict]
        print(f"\n{title} ({len(rows)}):")
        for row in rows:
            print(f"  {row.feature}: {row.scenario}")
            if row.reason:
                print(f"      {row.reason}")
    errors = sum(row.verdict == "ERROR" for row in collector.plan)
    if errors:
        print(
            f"\n{errors} scenario(s) would end as ERROR: the setup claims what it cannot do. ACTION: fix the profile."
        )
        return RunExit.USAGE
    if status not in (0, 5):  # 5: nothing collected (e.g. -k matched nothing)
        return RunExit.NO_VERDICT
    return RunExit.ALL_PASSED


def _run_repeated(args: argparse.Namespace, run_dir: Path) -> int:
    """Run the selection ``args.repeat`` times, each repetition a complete run directory ``repeat-<k>/``
    (junit.xml, statement, evidence) and all of them into one ``allure-results/`` (Allure shows the
    repetitions of a scenario as its retries), then write the combined statement with its
    ``repeatability`` section into ``run_dir``. Returns the pytest status that stands for the whole: the
    first usage error, interruption or internal error, else 0 (the verdicts decide the exit code)."""
    import pytest

    from harness.reports.selection import apply_selection, combine_selections
    from harness.reports.statement import REPEAT_DIR, combine_repetitions, write_statement
    from harness.requirements import load_catalogue

    models: list[dict] = []
    status = 0
    for k in range(1, args.repeat + 1):
        rep_dir = run_dir / REPEAT_DIR.format(k=k)
        print(f"ota-conformance run: repetition {k} of {args.repeat} in {rep_dir}", file=sys.stderr, flush=True)
        rep_status = int(pytest.main(_pytest_args(args, rep_dir, run_dir / "allure-results")))
        statement = rep_dir / "conformance.json"
        if rep_status in (_PYTEST_USAGE_ERROR, _PYTEST_NO_TESTS):
            return rep_status
        if not statement.exists():
            print(f"ota-conformance run: repetition {k} wrote no statement; it counts as no verdict", file=sys.stderr)
            status = status or _PYTEST_INTERNAL_ERROR
            continue
        models.append(json.loads(statement.read_text(encoding="utf-8")))
        if (models[-1].get("selection") or {}).get("lab_fault"):
            print(f"ota-conformance run: repetition {k} stopped on a lab fault; no more repetitions.", file=sys.stderr)
            break  # the verdicts (an ERROR) decide the exit code
        if rep_status in (_PYTEST_INTERRUPTED, _PYTEST_INTERNAL_ERROR):
            status = status or rep_status
        if rep_status == _PYTEST_INTERRUPTED:
            break  # the operator stopped the run: keep what ran
    if models:
        combined = combine_repetitions(models, run_dir.name, load_catalogue())
        roles = {s["nodeid"]: s.get("role") for model in models for s in model["scenarios"] if "role" in s}
        write_statement(apply_selection(combined, combine_selections(models), roles), run_dir)
    return status


def _exit_code(pytest_status: int, run_dir: Path) -> int:
    statement = run_dir / "conformance.json"
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
    _print_not_run(model)
    meaning = RunExit(code).name
    if (model.get("selection") or {}).get("not_run") and code == RunExit.ALL_PASSED:
        meaning = f"{INCOMPLETE}: the selected scenarios passed; {PARTIAL_HEADLINE}"
    print(f"Scenarios: {totals or 'none collected'}. Exit code {int(code)} ({meaning}).")
    return int(code)


#: How many scenarios without a PASS the end-of-run summary names before pointing to the statement.
_SUMMARY_LIMIT = 25
#: How many scenarios not run the summary names (per reason) before pointing to the statement.
_NOT_RUN_LIMIT = 10


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


def _register_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transfer-plots",
        choices=("on", "off"),
        default=None,
        help="draw a PNG per OTA transfer into evidence/ (default: on)",
    )
    parser.add_argument("--pdf", action="store_true", help="write certification.pdf into the run too (signed with it)")
    add_signing_options(parser)


# -- a selection that runs nothing, pytest's informational options ----------------------------------------
#: pytest options that list or explain instead of running: no run directory, pytest's exit status.
INFORMATIONAL_OPTIONS = (
    "--collect-only",
    "--co",
    "--markers",
    "--fixtures",
    "--fixtures-per-test",
    "--setup-plan",
    "--setup-only",
    "--help",
    "-h",
    "--version",
    "-V",
)


def _informational(extra: list[str]) -> str | None:
    return next((a for a in extra if a.split("=", 1)[0] in INFORMATIONAL_OPTIONS), None)


def _inform(args: argparse.Namespace, option: str) -> int:
    """pytest's listing alone (``--collect-only``, ``--markers``, ...): nothing runs, no run directory."""
    import pytest

    status = int(pytest.main([a for a in _pytest_args(args, Path("."), Path(".")) if not _writes_output(a)]))
    print(f"ota-conformance run: {option} lists and runs nothing; no run directory was written.", file=sys.stderr)
    return RunExit.ALL_PASSED if status in (0, _PYTEST_NO_TESTS) else RunExit.USAGE


def _writes_output(argument: str) -> bool:
    return argument.startswith(("--junitxml=", "--alluredir=", "--run-dir="))


def _refused(status: int, args: argparse.Namespace, run_dir: Path, created: bool) -> int | None:
    """Exit 2 and no run directory when pytest refused the arguments or the selection matched no scenario."""
    if status not in (_PYTEST_USAGE_ERROR, _PYTEST_NO_TESTS):
        return None
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
    if status == _PYTEST_USAGE_ERROR:
        print("ota-conformance run: usage or configuration error (see above); nothing was run.", file=sys.stderr)
    else:
        chosen = " ".join(shlex.quote(a) for a in args.extra) or "(no pytest arguments)"
        print(
            f"ota-conformance run: the selection {chosen} matches no scenario; nothing was run and no run "
            f"directory was written. ACTION: check the expression; `{command('run', '--collect-only', '-q')}` "
            "lists the scenarios.",
            file=sys.stderr,
        )
    return RunExit.USAGE


def _print_not_run(model: dict) -> None:
    """A partial run says so once, with the scenarios it left out (a lab fault's message once, too)."""
    selection = model.get("selection") or {}
    not_run = selection.get("not_run") or []
    lab_fault = bool(selection.get("lab_fault"))
    if lab_fault:
        print("LAB FAULT     the run stopped at the ERROR above: no other scenario could have run (fix the lab first)")
    if not not_run:
        return
    print(
        f"{INCOMPLETE}: {PARTIAL_HEADLINE}. {len(not_run)} of {selection.get('applicable')} applicable scenarios "
        "did not run:"
    )
    reasons: dict[str, list[str]] = {}
    for entry in not_run:
        reasons.setdefault(entry["reason"], []).append(entry["scenario"])
    for reason, names in reasons.items():
        print(f"  {len(names)} {reason}")
        if reason == LAB_FAULT:
            continue  # one message for the fault: the statement lists them by name
        for name in names[:_NOT_RUN_LIMIT]:
            print(f"{'':14}{name}")
        if len(names) > _NOT_RUN_LIMIT:
            print(f"{'':14}... and {len(names) - _NOT_RUN_LIMIT} more: see the conformance statement")
