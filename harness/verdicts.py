"""The verdict algebra: every rule that turns what happened in a run into a conformance verdict.

Why one module: a certification report is only as trustworthy as the mapping from "a step raised X" to
"the device failed requirement Y". Keeping the verdict values, the combining rule, the mapping to
pytest/Allure outcomes, the budget rule and the exit-code rule side by side (and locked by known-answer
tests in ``tests/test_verdicts.py``) means no step, hook or report writer invents its own.

Verdicts (ISO/IEC 9646 vocabulary, as in the CSA certification test harness):

- ``PASS``            the device was seen to do what the requirement says;
- ``FAIL``            the device was seen to break the requirement ("the DUT is the suspect");
- ``INCONCLUSIVE``    the scenario could not decide: the device was never shown to receive the stimulus,
                      a precondition could not be set up, evidence is incomplete ("no verdict");
- ``ERROR``           the lab failed: radio gone, coordinator silent, harness bug ("no verdict");
- ``NOT_APPLICABLE``  the device does not claim the feature (PICS), so the scenario does not apply.

Environment trouble is never reported as the device's FAIL.

How steps signal a verdict (anything else that escapes a step is classified by ``classify_exception``):

======================================  ==============  ==========================================
raise                                   verdict         note
======================================  ==============  ==========================================
``AssertionError`` / ``DeviceFailure``  FAIL            ``DeviceFailure`` is an ``AssertionError``
``Inconclusive(message)``               INCONCLUSIVE
``LabError(message)``                   ERROR
``LabFault(message)``                   ERROR           a ``LabError`` that stops the run
``NotApplicable(reason)``               NOT_APPLICABLE  a ``pytest.skip.Exception``
``harness.clock.BudgetExpired``         INCONCLUSIVE    uncaught: nobody checked the transcript
any other exception                     ERROR           a harness defect is not the device's fault
======================================  ==============  ==========================================

The one mapping table to pytest and Allure (``OUTCOMES``):

==============  ==============  ==============  =================================================
verdict         pytest          Allure status   message / label
==============  ==============  ==============  =================================================
PASS            passed          passed
FAIL            failed          failed          message starts ``FAIL:``
ERROR           error           broken          message starts ``ERROR:``
INCONCLUSIVE    error           broken          message starts ``INCONCLUSIVE:`` and Allure label
                                                ``verdict=INCONCLUSIVE`` (never a pass)
NOT_APPLICABLE  skipped         skipped         skip reason starts ``NOT_APPLICABLE:``
==============  ==============  ==============  =================================================

The exception classes alone give the Allure statuses (allure-pytest-bdd reports ``AssertionError`` as
failed, other exceptions as broken, skips as skipped). pytest itself reports any exception in the *call*
phase as "failed"; the run's pytest plugin (``harness.pytest_plugin``) applies this table: it classifies the
exception with ``classify_exception``, records the verdict on the report (``user_properties`` entry
``(VERDICT_PROPERTY, NAME)``, which survives pytest-xdist), turns call-phase ERROR/INCONCLUSIVE into pytest
errors and adds the Allure label. ``verdict_from_report`` reads the verdict back for the conformance statement
(and derives it from the report itself when nothing was recorded).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Literal

import pytest

from harness.clock import Budget, BudgetExpired
from harness.exitcodes import RunExit


class Verdict(StrEnum):
    """The five verdicts; the value is the name used in reports and in the Allure ``verdict`` label."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


#: Combining order, strongest first. A FAIL seen anywhere stands: the device was observed breaking the
#: requirement, and a lab error in another scenario does not unsee that. (TTCN-3 lets ``error`` override
#: ``fail`` *inside one test case*; here we combine separate executions, so observed evidence wins.)
#: Then ERROR before INCONCLUSIVE (a broken lab must be fixed before an inconclusive run is retried), then
#: PASS; NOT_APPLICABLE only when every verdict is NOT_APPLICABLE.
PRECEDENCE: tuple[Verdict, ...] = (
    Verdict.FAIL,
    Verdict.ERROR,
    Verdict.INCONCLUSIVE,
    Verdict.PASS,
    Verdict.NOT_APPLICABLE,
)

#: Verdicts that are "no verdict": the run says nothing about the device.
NO_VERDICT: frozenset[Verdict] = frozenset({Verdict.ERROR, Verdict.INCONCLUSIVE})


def combine_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """One verdict from several (the scenarios of one requirement, the phases of one test, a whole run).

    Raises ValueError for no verdicts at all: "not exercised" is not a verdict, and the caller must say so.
    """
    present = set(verdicts)
    if not present:
        raise ValueError("no verdicts to combine: the requirement or test was not exercised")
    return next(v for v in PRECEDENCE if v in present)


PytestOutcome = Literal["passed", "failed", "error", "skipped"]
AllureStatus = Literal["passed", "failed", "broken", "skipped"]


@dataclass(frozen=True)
class Outcome:
    """How one verdict appears in pytest and in Allure."""

    pytest_outcome: PytestOutcome
    allure_status: AllureStatus
    message_prefix: str  # what the failure message / skip reason starts with ("" for PASS)


#: The ONE mapping table (see the module docstring).
OUTCOMES: Mapping[Verdict, Outcome] = MappingProxyType(
    {
        Verdict.PASS: Outcome("passed", "passed", ""),
        Verdict.FAIL: Outcome("failed", "failed", "FAIL: "),
        Verdict.ERROR: Outcome("error", "broken", "ERROR: "),
        Verdict.INCONCLUSIVE: Outcome("error", "broken", "INCONCLUSIVE: "),
        Verdict.NOT_APPLICABLE: Outcome("skipped", "skipped", "NOT_APPLICABLE: "),
    }
)


def mapping_for(verdict: Verdict) -> Outcome:
    """The row of the mapping table for ``verdict``."""
    return OUTCOMES[verdict]


#: ``item.stash`` key: the exception that ended a scenario's call phase and the run clock's time then. The run
#: plugin sets it; the evidence writer reads it to find the frame a FAIL rests on (``harness.evidence.record``).
FAILURE_KEY = pytest.StashKey[tuple[BaseException, float | None]]()

#: Allure label name carrying the verdict (Allure's own statuses cannot tell INCONCLUSIVE from ERROR).
ALLURE_VERDICT_LABEL = "verdict"
#: Key of the ``report.user_properties`` entry that records the verdict of one test phase.
VERDICT_PROPERTY = "verdict"


# --- exceptions that steps raise ---------------------------------------------------------------------


class _VerdictSignal:
    """Mixin: the exception's message starts with its verdict's prefix, so it reads right everywhere."""

    verdict: ClassVar[Verdict]
    detail: str

    def __init__(self, message: str) -> None:
        self.detail = message
        super().__init__(OUTCOMES[self.verdict].message_prefix + message)  # type: ignore[call-arg]


class DeviceFailure(_VerdictSignal, AssertionError):
    """The device was seen to break the requirement (FAIL). Message: see ``failure_message``.

    ``requirements`` (optional) narrows the failing step's declared requirements to those this check is
    about (step-level attribution). ``frame``: the transcript entry the verdict rests on, when the step knows
    it (the report shows its time and frame number in the capture; without it the report names the device's
    last frame before the verdict). ``budget`` and ``stimulus`` (what was sent, in words naming its command):
    nothing arrived within the budget after the stimulus, so the report shows the stimulus frame and the
    budget's end (``expired_budget_signal`` sets them).
    """

    verdict = Verdict.FAIL

    def __init__(
        self,
        message: str,
        requirements: Iterable[str] = (),
        *,
        frame: Any = None,
        budget: Budget | None = None,
        stimulus: str = "",
    ) -> None:
        super().__init__(message)
        self.requirements = tuple(requirements)
        self.frame = frame
        self.budget = budget
        self.stimulus = stimulus


class TrafficFailure(DeviceFailure):
    """A FAIL judged from the device's traffic, in every scenario whichever step was running (a flood, a frame
    nobody asked for: ``harness.dut.traffic``). Its requirements are attributed under ``AttributionRule.TRAFFIC``:
    the step that happened to run checks nothing of the kind."""


class Inconclusive(_VerdictSignal, Exception):
    """The scenario cannot decide (INCONCLUSIVE). Message: see ``no_verdict_message``."""

    verdict = Verdict.INCONCLUSIVE


class LabError(_VerdictSignal, Exception):
    """The test environment failed (ERROR): radio, coordinator, power switch, missing input file."""

    verdict = Verdict.ERROR


class LabFault(LabError):
    """A lab error no scenario can get past (the coordinator cannot be reached or started, the radio library
    or the emulator cannot be loaded): ERROR for the scenario that met it, and the run stops there. The
    scenarios not reached are listed once as "not run: lab fault" (``harness.reports.selection``)."""


class NotApplicable(_VerdictSignal, pytest.skip.Exception):
    """The scenario does not apply to this device (NOT_APPLICABLE); pytest reports it as a skip."""

    verdict = Verdict.NOT_APPLICABLE


VerdictSignal = DeviceFailure | Inconclusive | LabError | NotApplicable


def failure_message(expected: str, observed: str) -> str:
    """Operator message for a FAIL, in the Matter TC_SU style (``DeviceFailure`` adds "FAIL: ").

    Only for a judgement whose stimulus the transcript shows reached the DUT as specified: a step checks that
    first (``stimulus_missing`` / ``wrong_stimulus`` otherwise), so "the DUT is the suspect" is never said
    about a device the suite itself misled.
    """
    return f"expected {expected}, observed {observed}; the DUT is the suspect"


def no_verdict_message(problem: str, action: str) -> str:
    """Operator message for INCONCLUSIVE/ERROR: what could not be decided, and what the operator should do."""
    return f"No verdict: {problem.rstrip('.')}. ACTION: {action}"


#: What to do when the transcript does not show a stimulus reaching the DUT.
CHECK_STIMULUS_ACTION = (
    "check that the DUT is powered and joined and that the radio link works (see the transcript for what it "
    "was sent and what it answered), then re-run"
)


def stimulus_missing(stimulus: str, action: str = CHECK_STIMULUS_ACTION) -> Inconclusive:
    """INCONCLUSIVE: the judgement rests on ``stimulus``, and the transcript does not show it reaching the DUT
    (never sent, suppressed, undelivered, or the DUT never asked for what would have carried it)."""
    return Inconclusive(
        no_verdict_message(
            f"the transcript does not show that the DUT received {stimulus}, so what it did is no answer to it",
            action,
        )
    )


def wrong_stimulus(problem: str, action: str) -> LabError:
    """ERROR: the suite's own stimulus was not what the requirement needs (a derived identity equal to the
    device's, a "same version" image that is not the version the device runs, ...). The suite or the profile
    is at fault, never the device, whatever the device then did."""
    return LabError(no_verdict_message(f"the suite's stimulus was not as the requirement needs it: {problem}", action))


#: How far apart the transcript's timestamps of two frames may be from the device's own timing: a frame is
#: stamped when the coordinator hands it over, after a radio and serial latency that varies by tens of
#: milliseconds (timing notes A1), and virtual times carry float rounding. "At least N s apart" and "within
#: N s" judgements allow this much, so they hold on a real clock, not only to the exact virtual millisecond.
TIMING_TOLERANCE_S = 0.05


# --- step-level attribution ---------------------------------------------------------------------------


class AttributionRule(StrEnum):
    """How a FAIL found its requirements (recorded with it in the statement)."""

    TAGGED = "tagged"  # the failing step's requirements that the scenario also tags
    STEP = "step"  # none of them is tagged: the step's own requirements, labelled as such
    SCENARIO = "scenario"  # the failure is in no step that declares requirements: every tag of the scenario
    TRAFFIC = "traffic"  # judged from the device's traffic whichever step ran (TrafficFailure): its requirements


@dataclass(frozen=True)
class FailureAttribution:
    """Which requirements one FAIL is about, and why."""

    requirements: tuple[str, ...]
    rule: AttributionRule
    step: str
    step_requirements: tuple[str, ...]

    @property
    def note(self) -> str:
        ids = ", ".join(self.requirements)
        if self.rule is AttributionRule.TAGGED:
            return f"{ids}: checked by the failing step and tagged on the scenario"
        if self.rule is AttributionRule.STEP:
            return f"{ids}: the failing step's own requirement (not tagged on this scenario)"
        if self.rule is AttributionRule.TRAFFIC:
            return f"{ids}: judged from the device's traffic in every scenario, whichever step was running"
        return f"{ids}: every requirement the scenario tags (the failure is in no step that declares requirements)"

    def as_dict(self) -> dict[str, Any]:
        return {
            "requirements": list(self.requirements),
            "rule": self.rule.value,
            "step": self.step,
            "step_requirements": list(self.step_requirements),
            "note": self.note,
        }


def attribute_failure(
    step: str,
    step_requirements: Iterable[str],
    scenario_requirements: Iterable[str],
    failure_requirements: Iterable[str] = (),
    *,
    traffic: bool = False,
) -> FailureAttribution:
    """The requirements a FAIL goes to (issue 10's step-level rule).

    A step declares the requirements it can check (``harness.bdd.checks``), its own requirement first; the
    failure may narrow them (``DeviceFailure(requirements=...)``: which of them this check is about). The
    FAIL goes to those the scenario also tags with ``@req``; if none is tagged, to the step's own requirement
    (the first of them), labelled as such; a step that declares nothing leaves every tag of the scenario.
    A ``TrafficFailure`` (``traffic``) goes to its own requirements whatever the step or the tags.
    """
    own = tuple(dict.fromkeys(failure_requirements)) or tuple(dict.fromkeys(step_requirements))
    tagged = set(scenario_requirements)
    declared = tuple(dict.fromkeys(step_requirements))
    if traffic and own:
        return FailureAttribution(own, AttributionRule.TRAFFIC, step, declared)
    if not own:
        return FailureAttribution(tuple(sorted(tagged)), AttributionRule.SCENARIO, step, declared)
    if matching := sorted(set(own) & tagged):
        return FailureAttribution(tuple(matching), AttributionRule.TAGGED, step, declared)
    return FailureAttribution(own[:1], AttributionRule.STEP, step, declared)


# --- the budget rule ----------------------------------------------------------------------------------


def verdict_for_expired_budget(stimulus_received: bool) -> Verdict:
    """An expired wait blames the device only if the transcript shows it received the stimulus."""
    return Verdict.FAIL if stimulus_received else Verdict.INCONCLUSIVE


def expired_budget_signal(
    *, budget: Budget, expected: str, stimulus: str, stimulus_received: bool, requirements: Iterable[str] = ()
) -> DeviceFailure | Inconclusive:
    """The exception a Then-step raises when ``budget`` ran out before ``expected`` was observed
    (``requirements``: those of the step's that this expectation is about, see ``attribute_failure``)."""
    if verdict_for_expired_budget(stimulus_received) is Verdict.FAIL:
        return DeviceFailure(
            failure_message(
                f"{expected} within {budget} after {stimulus}",
                f"nothing before the budget expired, although the transcript shows that the DUT received {stimulus}",
            ),
            requirements,
            budget=budget,
            stimulus=stimulus,
        )
    return Inconclusive(
        no_verdict_message(
            f"{expected} did not arrive within {budget}, and the transcript does not show that the DUT "
            f"received {stimulus}",
            "check that the DUT is powered and joined and that the radio link works, then re-run",
        )
    )


# --- classification -----------------------------------------------------------------------------------

Phase = Literal["setup", "call", "teardown"]


def classify_exception(exc: BaseException, when: Phase | str = "call") -> Verdict:
    """The verdict an exception escaping a test phase stands for.

    An explicit verdict signal keeps its verdict in any phase. A bare assertion is the device's FAIL only in
    the *call* phase (pytest-bdd runs every step there); in a fixture's setup or teardown it is the lab's.
    """
    if isinstance(exc, _VerdictSignal):
        return exc.verdict
    if isinstance(exc, pytest.xfail.Exception):
        return Verdict.ERROR  # xfail hides a verdict; certification runs do not use it
    if isinstance(exc, pytest.skip.Exception):
        return Verdict.NOT_APPLICABLE
    if isinstance(exc, BudgetExpired):
        return Verdict.INCONCLUSIVE
    if isinstance(exc, AssertionError | pytest.fail.Exception):
        return Verdict.FAIL if when == "call" else Verdict.ERROR
    return Verdict.ERROR


def _recorded_verdict(report: Any) -> Verdict | None:
    for key, value in getattr(report, "user_properties", ()) or ():
        if key == VERDICT_PROPERTY:
            return Verdict(value)
    return None


def _crash_message(report: Any) -> str:
    """The one-line exception text of a failed report ("module.Type: message" or "assert ...")."""
    crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    text = str(getattr(report, "longrepr", "") or "")
    error_lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return error_lines[0] if error_lines else text.strip()


def verdict_from_report(report: Any) -> Verdict | None:
    """The verdict one pytest report (one phase of one test) stands for; None for a passed setup/teardown.

    Reads the verdict the run plugin recorded (``VERDICT_PROPERTY``); without one it is derived
    from ``when``/``outcome``/``longrepr``: the verdict prefix of the exception message, then the type name.
    """
    recorded = _recorded_verdict(report)
    if recorded is not None:
        return recorded
    if getattr(report, "wasxfail", None) is not None:
        return Verdict.ERROR
    if report.skipped:
        return Verdict.NOT_APPLICABLE
    if report.passed:
        return Verdict.PASS if report.when == "call" else None
    message = _crash_message(report)
    qualified_type, _, text = message.partition(": ")
    for verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR, Verdict.FAIL):
        prefix = OUTCOMES[verdict].message_prefix
        if message.startswith(prefix) or text.startswith(prefix):
            return verdict
    type_name = qualified_type.rsplit(".", 1)[-1]
    if type_name == BudgetExpired.__name__:
        return Verdict.INCONCLUSIVE
    if report.when != "call":
        return Verdict.ERROR
    if message.startswith("assert ") or type_name in {"AssertionError", "Failed"}:
        return Verdict.FAIL
    return Verdict.ERROR


def verdict_for_test(reports: Iterable[Any]) -> Verdict:
    """The verdict of one test from its setup/call/teardown reports (a passed teardown adds nothing)."""
    verdicts = [v for v in map(verdict_from_report, reports) if v is not None]
    if not verdicts:
        raise ValueError("no report of this test carries a verdict (was its call phase reported?)")
    return combine_verdicts(verdicts)


# --- the run exit code --------------------------------------------------------------------------------

_EXIT_FOR: Mapping[Verdict, RunExit] = MappingProxyType(
    {
        Verdict.FAIL: RunExit.DEVICE_FAILED,
        Verdict.ERROR: RunExit.NO_VERDICT,
        Verdict.INCONCLUSIVE: RunExit.NO_VERDICT,
        Verdict.PASS: RunExit.ALL_PASSED,
        Verdict.NOT_APPLICABLE: RunExit.ALL_PASSED,
    }
)


@dataclass(frozen=True)
class RunDecision:
    """Exit code of a run and the one-line note that explains it."""

    exit: RunExit
    note: str
    counts: Mapping[Verdict, int]


def decide_run_exit(verdicts: Iterable[Verdict]) -> RunDecision:
    """Exit code of ``ota-conformance run`` from the verdicts of its scenarios.

    1 (DEVICE_FAILED) when any scenario FAILed, even if others had no verdict: the device was seen to fail.
    Otherwise 3 (NO_VERDICT) when any scenario ended ERROR or INCONCLUSIVE. Otherwise 0 (ALL_PASSED), which
    allows NOT_APPLICABLE scenarios and also covers a run that selected no scenario (the note says so).
    """
    counts = Counter(verdicts)
    summary = ", ".join(f"{counts[v]} {v.value}" for v in PRECEDENCE if counts[v])
    if not counts:
        return RunDecision(RunExit.ALL_PASSED, "no scenario was selected: nothing was tested", {})
    overall = combine_verdicts(counts)
    exit_code = _EXIT_FOR[overall]
    if exit_code is RunExit.DEVICE_FAILED:
        note = f"the device failed at least one scenario ({summary})"
    elif exit_code is RunExit.NO_VERDICT:
        note = f"no verdict for at least one scenario: fix the lab or re-run ({summary})"
    elif counts[Verdict.PASS]:
        note = f"every applicable scenario passed ({summary})"
    else:
        note = f"no scenario applied to this device ({summary})"
    return RunDecision(exit_code, note, MappingProxyType(dict(counts)))


def run_exit_code(verdicts: Iterable[Verdict]) -> RunExit:
    """``decide_run_exit(verdicts).exit``: the exit code alone."""
    return decide_run_exit(verdicts).exit
