"""pytest glue for the conformance run: options, session fixtures, PICS selection, verdict mapping, statement.

Loaded from the root ``conftest.py``. The verdict algebra itself lives in ``harness.verdicts``; this module
only applies its one mapping table to pytest's outcomes:

- PASS → passed; FAIL → failed; ERROR → error (Allure "broken");
- INCONCLUSIVE → error whose message starts "INCONCLUSIVE:" plus an Allure label ``verdict=INCONCLUSIVE``;
- NOT_APPLICABLE → skipped with the reason (decided at collection from the ``@pics:`` tags).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness import __version__, progress
from harness.bdd import step_lookup
from harness.bdd.checks import StepDefinitions
from harness.bdd.loop import LoopRunner, is_unwrapped_async_step, set_current_runner
from harness.clock import Clock, RealClock, VirtualClock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import DEFAULT_PARTIES, Party, TestPki
from harness.errors import ConfigurationError
from harness.perf import gc_policy
from harness.profile import Profile, load_run_profile
from harness.reports import plot_queue
from harness.reports.evidence_paths import TEMPLATE_PROPERTY, scenario_run_name
from harness.reports.features import features_hash
from harness.reports.selection import (
    DEVICE_FEATURE_FOLDERS,
    apply_selection,
    feature_role,
    feature_root,
    not_applicable_reason,
    planned_scenarios,
    record_selection,
    scenario_key,
)
from harness.reports.statement import RunInfo, ScenarioResult, build_statement, write_statement
from harness.requirements import load_catalogue, requirement_ids_from_tags
from harness.verdicts import (
    FAILURE_KEY,
    LabError,
    LabFault,
    NotApplicable,
    TrafficFailure,
    Verdict,
    attribute_failure,
    classify_exception,
    combine_verdicts,
    mapping_for,
    verdict_from_report,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FEATURES_DIR = PROJECT_ROOT / "features"

if TYPE_CHECKING:
    from harness.dut.needs import SetupNeeds

_PROFILE_KEY = pytest.StashKey[Profile]()
_RESULTS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
_STARTED_KEY = pytest.StashKey[str]()
_NOT_APPLICABLE_KEY = pytest.StashKey[str]()
_SETUP_ERROR_KEY = pytest.StashKey[str]()
_NEEDS_KEY = pytest.StashKey["SetupNeeds"]()
#: ``user_properties`` keys of a FAIL's step-level attribution (``failure_attribution_properties``).
ATTRIBUTION_PROPERTY = "failure_attribution"
UNDECIDED_PROPERTY = "undecided_requirements"
_LAB_FAULT_KEY = pytest.StashKey[str]()


# -- options and configuration -------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ota-conformance", "GB OTA conformance run")
    group.addoption("--profile", default=None, help="DUT profile (YAML); default: the emulated PPMID")
    group.addoption("--radio", default=None, help="radio name or module:Class (overrides pixit.radio)")
    group.addoption("--device", default=None, help="radio device path (overrides pixit.device_path)")
    group.addoption("--clock", default=None, choices=("virtual", "real"), help="run clock (overrides pixit.clock)")
    group.addoption("--pixit", action="append", default=[], metavar="NAME=VALUE", help="override one PIXIT value")
    group.addoption("--run-dir", default=None, help="write the conformance statement into this directory")
    group.addoption("--progress", default="auto", choices=("auto", "on", "off"), help="progress on stderr (auto: TTY)")
    group.addoption("--transfer-plots", default="on", choices=("on", "off"), help="draw a PNG per OTA transfer")


def _overrides(config: pytest.Config) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in config.getoption("--pixit"):
        name, sep, value = item.partition("=")
        if not sep:
            raise pytest.UsageError(f"--pixit {item!r}: expected NAME=VALUE")
        overrides[f"pixit.{name.removeprefix('pixit.')}"] = value
    if config.getoption("--radio"):
        overrides["pixit.radio"] = config.getoption("--radio")
    if config.getoption("--device"):
        overrides["pixit.device_path"] = config.getoption("--device")
    if config.getoption("--clock"):
        overrides["pixit.clock"] = config.getoption("--clock")
    return overrides


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ota: scenario of the GB OTA conformance suite")
    try:
        profile = config.stash[_PROFILE_KEY] = load_run_profile(config.getoption("--profile"), _overrides(config))
    except ConfigurationError as err:
        raise pytest.UsageError(str(err)) from None
    config.stash[_RESULTS_KEY] = {}
    config.stash[_STARTED_KEY] = _utc_iso()
    progress.install(config, config.getoption("--progress"), profile.setup.clock.value, profile.setup.clock.reason)
    plot_queue.install(config)  # transfer plots drawn off the scenario loop
    step_lookup.install(config)  # pytest-bdd's step lookup once per step text


def pytest_unconfigure(config: pytest.Config) -> None:
    step_lookup.uninstall(config)


def _utc_iso() -> str:
    # Report metadata only: scenario logic reads time from harness.clock.
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- session fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    return pytestconfig.stash[_PROFILE_KEY]


@pytest.fixture(scope="session")
def clock(profile: Profile) -> Clock:
    """The profile's clock decision (PIXIT clock, --clock): by default virtual on the loopback radio and its
    subclasses, real on any other radio; virtual on request for a simulation behind a module:Class radio."""
    return VirtualClock() if profile.setup.virtual else RealClock()


@pytest.fixture(scope="session")
def runner(clock: Clock) -> Iterator[LoopRunner]:
    """The one event loop steps run coroutines on (see harness.bdd.loop)."""
    loop_runner = LoopRunner(clock)
    set_current_runner(loop_runner)
    try:
        yield loop_runner
    finally:
        set_current_runner(None)
        loop_runner.close()


@pytest.fixture(scope="session")
def test_pki(profile: Profile) -> TestPki:
    """Keys and certificates generated for this run (supplier, ACB, CH, emulated devices, manufacturer).

    Held in memory only: private keys are never written into the run directory or any report. The party of
    the DUT's role ("ppmid" or "hcalcs") takes the profile's ``dut.eui64``, so the emulated device finds its
    own DS/KA keys (CS09 signature, CS08 MAC) and the steps its certificates under the DUT's EUI-64; a
    vendor's provisioned keys (``keys.store``) still replace them in the merged key store.
    """
    return TestPki.generate(_parties_for(profile))


def _parties_for(profile: Profile) -> tuple[Party, ...]:
    """The test PKI's parties, the DUT's role ("ppmid", "hcalcs") taking the profile's EUI-64."""
    if profile.role not in {party.name for party in DEFAULT_PARTIES}:
        return DEFAULT_PARTIES
    eui = Eui64.parse(profile.pixit_value("dut.eui64"))
    return tuple(
        dataclasses.replace(party, eui=eui) if party.name == profile.role else party for party in DEFAULT_PARTIES
    )


@pytest.fixture(scope="session")
def keystore(profile: Profile, test_pki: TestPki) -> KeyStore:
    """The run's key store: the vendor's provisioned keys (PIXIT keys.store) over the generated test PKI."""
    generated = test_pki.keystore()
    directory = profile.pixit_value("keys.store")
    if directory is None:
        return generated
    try:
        return generated.merge(KeyStore.load(directory), replace=True)
    except ConfigurationError as err:
        raise LabFault(f"the key store named by pixit.keys.store cannot be used: {err}") from None


# -- scenario metadata and PICS selection --------------------------------------------------------------
def scenario_of(item: pytest.Item) -> Any | None:
    """pytest-bdd's ScenarioTemplate behind a collected item, or None for a plain test."""
    from pytest_bdd.scenario import registry_get_safe, scenario_wrapper_template_registry

    function = getattr(item, "function", None)
    if function is None:
        return None
    return registry_get_safe(scenario_wrapper_template_registry, function)


def scenario_tags(item: pytest.Item, template: Any) -> list[str]:
    """Feature, rule, scenario and Examples-level tags (the latter bypass pytest_bdd_apply_tag)."""
    tags = set(template.tags) | set(template.feature.tags)
    if template.rule is not None:
        tags |= set(template.rule.tags)
    tags |= {m.name for m in item.iter_markers() if ":" in m.name or m.name == "assumption"}
    return sorted(tags)


def _setup_needs(config: pytest.Config, profile: Profile) -> SetupNeeds:
    """The setup's answers to ``@needs:`` tags, one per run (the collection and the selection ask the same)."""
    from harness.dut.needs import SetupNeeds  # imports the radio stack: only once scenarios are collected

    needs = config.stash.get(_NEEDS_KEY, None)
    if needs is None:
        needs = config.stash[_NEEDS_KEY] = SetupNeeds(profile)
    return needs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    profile = config.stash.get(_PROFILE_KEY, None)
    needs = _setup_needs(config, profile) if profile is not None else None
    for item in items:
        template = scenario_of(item)
        if template is None:
            continue
        tags = scenario_tags(item, template)
        item.user_properties.extend(
            [
                ("scenario", template.name),
                ("feature", template.feature.name),
                ("tags", tags),
                ("requirement_ids", requirement_ids_from_tags(tags)),
            ]
        )
        record_scenario_identity(item, template)
        if profile is None:
            continue
        try:
            reason = not_applicable_reason(tags, template.feature.filename, profile)
        except ConfigurationError as err:
            raise pytest.UsageError(f"{item.nodeid}: {err}") from None
        if reason is not None:
            item.stash[_NOT_APPLICABLE_KEY] = reason
        else:
            _apply_needs(item, tags, needs)


def _apply_needs(item: pytest.Item, tags: list[str], needs: SetupNeeds | None) -> None:
    """The scenario's ``@needs:`` against this setup (harness.dut.needs), decided before any radio starts."""
    if needs is None:
        return
    decision = needs.decide(tags)
    if decision.error:
        item.stash[_SETUP_ERROR_KEY] = decision.error
    elif decision.reason:
        item.stash[_NOT_APPLICABLE_KEY] = decision.reason


@dataclass(frozen=True)
class PlannedScenario:
    """What a run will do with one collected scenario (``ota-conformance run --dry-run``)."""

    nodeid: str
    feature: str
    scenario: str
    verdict: str  # "RUN", "NOT_APPLICABLE" or "ERROR" (the setup claims what it cannot do)
    reason: str


def scenario_plan(items: list[pytest.Item]) -> list[PlannedScenario]:
    """Each collected scenario with what the run will do with it, from the decisions taken at collection."""
    plan = []
    for item in items:
        properties = dict(item.user_properties)
        if "scenario" not in properties:
            continue
        error, reason = item.stash.get(_SETUP_ERROR_KEY, ""), item.stash.get(_NOT_APPLICABLE_KEY, "")
        verdict = "ERROR" if error else Verdict.NOT_APPLICABLE.value if reason else "RUN"
        name = str(properties["scenario"])  # an Outline row's run name carries its values
        plan.append(PlannedScenario(item.nodeid, properties["feature"], name, verdict, error or reason))
    return plan


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Skip a not-applicable scenario here, after Allure opened its result, so Allure lists it as skipped."""
    error = request.node.stash.get(_SETUP_ERROR_KEY, None)
    if error is not None:
        raise LabError(error)
    reason = request.node.stash.get(_NOT_APPLICABLE_KEY, None)
    if reason is not None:
        raise NotApplicable(reason)


# -- garbage collection between scenarios (harness.perf.gc_policy) -------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session):
    gc_policy.settle()  # what collection and the plugins left: collected once, then never traversed again
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    yield
    ran = scenario_of(item) is not None and _NOT_APPLICABLE_KEY not in item.stash
    if ran:  # its fixtures are gone: collect its garbage now, not during the next scenario's transfer
        gc_policy.settle()


# -- step guard and verdict mapping --------------------------------------------------------------------
def pytest_bdd_before_step(request, feature, scenario, step, step_func) -> None:
    if is_unwrapped_async_step(step_func):
        raise LabError(
            f"step {step.name!r} is an `async def` pytest-bdd would not await (it would pass silently). "
            "ACTION: decorate it with harness.bdd.loop.sync_step."
        )


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:
    verdict = classify_exception(exception)
    if verdict is Verdict.FAIL:
        request.node.user_properties.extend(failure_attribution_properties(request.node, scenario, step, exception))
    with contextlib.suppress(Exception):  # Allure is optional for plain pytest runs
        import allure

        allure.dynamic.label("verdict", verdict.value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    _record_outcome(item, call, report)
    if call.excinfo is None or report.skipped:
        return
    verdict = classify_exception(call.excinfo.value, call.when)
    if call.when == "call" and verdict in (Verdict.ERROR, Verdict.INCONCLUSIVE):
        # No verdict is never the device's failure: report it as an error, as a setup problem would be.
        report.when = "setup"  # type: ignore[assignment]
    if verdict is Verdict.INCONCLUSIVE and "INCONCLUSIVE:" not in str(report.longrepr):
        report.longrepr = f"INCONCLUSIVE: {call.excinfo.value}"
    report.user_properties.append(("verdict", verdict.value))
    report.user_properties.append(("verdict_message", str(call.excinfo.value)))


def failure_attribution_properties(item: pytest.Item, scenario: Any, step: Any, exception: BaseException) -> list:
    """The step-level attribution of a FAIL in ``step`` (``harness.verdicts.attribute_failure``), and the tagged
    requirements the scenario cannot decide because it stops there: those the failing step or a later step
    checks, or that no earlier step checked."""
    tagged = set(_item_property(item, "requirement_ids", []))
    definitions = StepDefinitions.registered()
    steps = list(scenario.steps)
    position = next((i for i, s in enumerate(steps) if s is step), len(steps))
    declared = definitions.requirements(step.type, step.name)
    checked = {r for s in steps[:position] for r in definitions.requirements(s.type, s.name)}
    pending = set(declared) | {r for s in steps[position + 1 :] for r in definitions.requirements(s.type, s.name)}
    attribution = attribute_failure(
        f"{step.keyword.strip()} {step.name}",
        declared,
        tagged,
        getattr(exception, "requirements", ()),
        traffic=isinstance(exception, TrafficFailure),
    )
    decided = (tagged & checked) - pending
    undecided = sorted(tagged - set(attribution.requirements) - decided)
    return [(ATTRIBUTION_PROPERTY, attribution.as_dict()), (UNDECIDED_PROPERTY, undecided)]


def record_failure_after_steps(item: pytest.Item, failure: BaseException, at: float | None) -> None:
    """A FAIL found once the scenario's steps were done (the device's traffic, judged at the scenario's end):
    its attribution, and the failure the evidence writer looks for (``FAILURE_KEY``), as a step's FAIL has them.
    The caller raises it from the scenario's teardown; every step passed, so no tagged requirement is undecided."""
    attribution = attribute_failure(
        "after the last step",
        (),
        _item_property(item, "requirement_ids", []),
        getattr(failure, "requirements", ()),
        traffic=isinstance(failure, TrafficFailure),
    )
    item.user_properties.extend([(ATTRIBUTION_PROPERTY, attribution.as_dict()), (UNDECIDED_PROPERTY, [])])
    item.stash[FAILURE_KEY] = (failure, at)


def _item_property(item: pytest.Item, name: str, default: Any = None) -> Any:
    return next((value for key, value in item.user_properties if key == name), default)


def _property(report: pytest.TestReport, name: str, default: Any = None) -> Any:
    for key, value in report.user_properties:
        if key == name:
            return value
    return default


def _report_message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        return crash.message if crash is not None else str(report.longrepr)
    return ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect each scenario's outcome (runs on the xdist controller too, where reports arrive)."""
    scenario = _property(report, "scenario")
    config = _CONFIG.get("config")
    if scenario is None or config is None:
        return
    results = config.stash[_RESULTS_KEY]
    entry = results.setdefault(
        report.nodeid,
        {
            "scenario": scenario,
            "feature": _property(report, "feature", ""),
            "tags": list(_property(report, "tags", [])),
            "requirement_ids": list(_property(report, "requirement_ids", [])),
            "verdicts": [],
            "message": "",
            "duration_s": 0.0,
            "evidence": {},
        },
    )
    for key in (ATTRIBUTION_PROPERTY, UNDECIDED_PROPERTY):
        if (value := _property(report, key)) is not None:
            entry[key] = value
    entry["duration_s"] += float(report.duration)
    _note_run_facts(report, entry, config)
    for key, value in report.user_properties:  # evidence arrives with the teardown report
        if key.startswith("evidence:"):
            entry["evidence"][key.removeprefix("evidence:")] = value
    verdict = verdict_from_report(report)
    if verdict is None:  # a passed setup or teardown adds nothing
        return
    entry["verdicts"].append(verdict)
    if verdict is not Verdict.PASS and not entry["message"]:
        entry["message"] = _property(report, "verdict_message") or _report_message(report)


def _attribution_fields(entry: dict[str, Any]) -> dict[str, Any]:
    """The statement's step-level attribution of a scenario that FAILed (nothing for any other verdict); a
    FAIL no step attributed (a failure outside the steps) goes to every requirement the scenario tags."""
    if not entry["verdicts"] or combine_verdicts(entry["verdicts"]) is not Verdict.FAIL:
        return {}
    attribution = entry.get(ATTRIBUTION_PROPERTY) or attribute_failure("", (), entry["requirement_ids"]).as_dict()
    return {
        "failed_requirements": list(attribution["requirements"]),
        "failure_attribution": attribution,
        "undecided_requirements": list(entry.get(UNDECIDED_PROPERTY) or []),
    }


_CONFIG: dict[str, pytest.Config] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run_dir = config.getoption("--run-dir")
    if not run_dir or hasattr(config, "workerinput"):  # the xdist controller writes the statement
        return
    profile = config.stash[_PROFILE_KEY]
    results = [
        ScenarioResult(
            nodeid=nodeid,
            feature=e["feature"],
            scenario=e["scenario"],
            requirement_ids=e["requirement_ids"],
            tags=e["tags"],
            verdict=combine_verdicts(e["verdicts"]) if e["verdicts"] else Verdict.ERROR,
            message=e["message"] or ("" if e["verdicts"] else "the scenario produced no outcome"),
            duration_s=round(e["duration_s"], 3),
            evidence=e["evidence"],
            **_attribution_fields(e),
            unsolicited_frames=int((e["evidence"].get("traffic") or {}).get("unsolicited_frames", 0)),
        )
        for nodeid, e in config.stash[_RESULTS_KEY].items()
    ]
    run = RunInfo(
        run_id=Path(run_dir).name,
        suite_version=__version__,
        started_utc=config.stash[_STARTED_KEY],
        finished_utc=_utc_iso(),
        features_hash=features_hash(FEATURES_DIR),
        profile_path=str(profile.path),
        profile=profile.effective(),
        undeclared_pics=profile.undeclared_pics(),
        dut=profile.dut_identity(),
        radio=str(profile.pixit_value("radio")),
        clock=profile.setup.clock.value,
        clock_reason=profile.setup.clock.reason,
        image_source=str(profile.setup.images),
        simulation=profile.setup.simulation,
        target=profile.setup.target,
    )
    statement = build_statement(run, results, load_catalogue())
    roles = {
        nodeid: feature_role(e["feature_file"])
        for nodeid, e in config.stash[_RESULTS_KEY].items()
        if e.get("feature_file")
    }
    write_statement(apply_selection(statement, _selection(session, profile), roles), Path(run_dir))


# -- what the run selected, and the lab fault that stops it ----------------------------------------------
def record_scenario_identity(item: pytest.Item, template: Any) -> None:
    """The scenario's run name under "scenario" (an Outline row's values filled in, so rows read apart in
    every report), its name as written, the key the selection matches it by, and its feature file."""
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example") if callspec is not None else None
    item.user_properties[:] = [
        (key, scenario_run_name(template.name, example) if key == "scenario" else value)
        for key, value in item.user_properties
    ]
    item.user_properties.extend(
        [
            (TEMPLATE_PROPERTY, template.name),
            ("scenario_key", scenario_key(template.feature.filename, template.name, example)),
            ("feature_file", template.feature.filename),
        ]
    )


def _record_outcome(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
    """What the reports need beyond the verdict: a NOT_APPLICABLE reason in words (without the exception's
    class name), the failure and the run clock's time for the decisive-frame evidence, and a ``LabFault``
    stopping the session after this scenario (the scenarios not reached are listed once, not failed one by one).
    """
    exc = call.excinfo.value if call.excinfo is not None else None
    if isinstance(exc, NotApplicable):
        report.user_properties.append(("verdict_message", exc.detail))
    if exc is not None and call.when == "call":
        with contextlib.suppress(RuntimeError):  # no runner: a plain test without the clock
            from harness.bdd.loop import current_runner

            item.stash[FAILURE_KEY] = (exc, current_runner().clock.now())
        item.stash.setdefault(FAILURE_KEY, (exc, None))
    if isinstance(exc, LabFault):
        message = exc.detail
        item.session.shouldstop = "lab fault: no scenario can run (the message is at the end of the run)"
        item.config.stash[_LAB_FAULT_KEY] = message
        report.user_properties.append(("lab_fault", message))


def _note_run_facts(report: pytest.TestReport, entry: dict[str, Any], config: pytest.Config) -> None:
    """What the selection needs of a scenario's result (its key and feature file), and a lab fault (on the
    xdist controller a worker's lab fault arrives with the report)."""
    for key in ("scenario_key", "feature_file"):
        entry.setdefault(key, _property(report, key))
    message = _property(report, "lab_fault")
    if message:
        config.stash[_LAB_FAULT_KEY] = str(message)


def _selection(session: pytest.Session, profile: Profile) -> dict[str, Any]:
    """The statement's ``selection``: the applicable set from the feature files, what ran, what did not."""
    config = session.config
    results = config.stash[_RESULTS_KEY]
    ran_keys, feature_files = set(), set()
    for entry in results.values():
        ran_keys.add(entry.get("scenario_key"))
        feature_files.add(entry.get("feature_file"))
    items = [i for i in session.items if _property(i, "scenario_key")]  # empty on the xdist controller
    root = feature_root((f for f in feature_files if f), FEATURES_DIR)
    lab_fault = config.stash.get(_LAB_FAULT_KEY, None)
    stopped = session.shouldstop or session.shouldfail or None
    needs = _setup_needs(config, profile)
    return record_selection(
        # A scenario whose needs this setup does not meet is NOT_APPLICABLE here as at collection (one whose
        # setup is broken still counts: it runs, as an ERROR).
        planned_scenarios(root, profile, more=lambda tags: needs.decide(tags).reason or None),
        ran_keys,
        profile_role=profile.role,
        arguments=[str(a) for a in config.invocation_params.args],
        keyword=config.getoption("keyword", ""),
        markexpr=config.getoption("markexpr", ""),
        selected_keys=[_property(i, "scenario_key") for i in items] if items else None,
        stopped=str(stopped) if stopped else (f"lab fault: {lab_fault}" if lab_fault else None),
        lab_fault=lab_fault,
    )


__all__ = [
    "DEVICE_FEATURE_FOLDERS",
    "PlannedScenario",
    "feature_role",
    "mapping_for",
    "record_scenario_identity",
    "scenario_of",
    "scenario_plan",
    "scenario_tags",
]
