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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness import __version__, progress
from harness.bdd.loop import LoopRunner, is_unwrapped_async_step, set_current_runner
from harness.clock import Clock, RealClock, VirtualClock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import DEFAULT_PARTIES, Party, TestPki
from harness.errors import ConfigurationError
from harness.perf import gc_policy
from harness.profile import Profile, load_run_profile
from harness.profile.selection import applicability
from harness.reports import plot_queue
from harness.reports.features import features_hash
from harness.reports.statement import RunInfo, ScenarioResult, build_statement, write_statement
from harness.requirements import load_catalogue, requirement_ids_from_tags
from harness.verdicts import (
    LabError,
    NotApplicable,
    Verdict,
    classify_exception,
    combine_verdicts,
    mapping_for,
    verdict_from_report,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FEATURES_DIR = PROJECT_ROOT / "features"
#: Feature folders written for one device role; scenarios in them are NOT_APPLICABLE to the other.
DEVICE_FEATURE_FOLDERS = ("ppmid", "hcalcs")

_PROFILE_KEY = pytest.StashKey[Profile]()
_RESULTS_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
_STARTED_KEY = pytest.StashKey[str]()
_NOT_APPLICABLE_KEY = pytest.StashKey[str]()


# -- options and configuration -------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ota-conformance", "GB OTA conformance run")
    group.addoption("--profile", default=None, help="DUT profile (YAML); default: the emulated PPMID")
    group.addoption("--radio", default=None, help="radio name or module:Class (overrides pixit.radio)")
    group.addoption("--device", default=None, help="radio device path (overrides pixit.device_path)")
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
    return overrides


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ota: scenario of the GB OTA conformance suite")
    try:
        config.stash[_PROFILE_KEY] = load_run_profile(config.getoption("--profile"), _overrides(config))
    except ConfigurationError as err:
        raise pytest.UsageError(str(err)) from None
    config.stash[_RESULTS_KEY] = {}
    config.stash[_STARTED_KEY] = _utc_iso()
    progress.install(config, config.getoption("--progress"))
    plot_queue.install(config)  # transfer plots drawn off the scenario loop


def _utc_iso() -> str:
    # Report metadata only: scenario logic reads time from harness.clock.
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- session fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def profile(pytestconfig: pytest.Config) -> Profile:
    return pytestconfig.stash[_PROFILE_KEY]


@pytest.fixture(scope="session")
def clock(profile: Profile) -> Clock:
    """Virtual time on the built-in loopback radio, real time on any other radio."""
    return RealClock() if profile.on_hardware else VirtualClock()


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
        raise LabError(f"the key store named by pixit.keys.store cannot be used: {err}") from None


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    profile = config.stash.get(_PROFILE_KEY, None)
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
        if profile is None:
            continue
        try:
            decision = applicability(tags, profile)
        except ConfigurationError as err:
            raise pytest.UsageError(f"{item.nodeid}: {err}") from None
        if not decision.applicable:
            item.stash[_NOT_APPLICABLE_KEY] = decision.reason
        elif (role := feature_role(template.feature.filename)) not in (None, profile.role):
            item.stash[_NOT_APPLICABLE_KEY] = (
                f"a {role.upper()} feature; the device under test is a {profile.role.upper()}"
            )


def feature_role(filename: str) -> str | None:
    """The device role a feature file is written for (its folder under features/), None for common ones."""
    parts = Path(filename).resolve().parts
    for role in DEVICE_FEATURE_FOLDERS:
        if role in parts[-2:-1]:
            return role
    return None


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    """Skip a not-applicable scenario here, after Allure opened its result, so Allure lists it as skipped."""
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
    with contextlib.suppress(Exception):  # Allure is optional for plain pytest runs
        import allure

        allure.dynamic.label("verdict", verdict.value)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
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
    entry["duration_s"] += float(report.duration)
    for key, value in report.user_properties:  # evidence arrives with the teardown report
        if key.startswith("evidence:"):
            entry["evidence"][key.removeprefix("evidence:")] = value
    verdict = verdict_from_report(report)
    if verdict is None:  # a passed setup or teardown adds nothing
        return
    entry["verdicts"].append(verdict)
    if verdict is not Verdict.PASS and not entry["message"]:
        entry["message"] = _property(report, "verdict_message") or _report_message(report)


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
        clock="real" if profile.on_hardware else "virtual",
    )
    write_statement(build_statement(run, results, load_catalogue()), Path(run_dir))


__all__ = ["mapping_for", "scenario_of", "scenario_tags"]
