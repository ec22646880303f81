"""Known answers for the verdict algebra: mapping, combining, budget rule, classification, exit code."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from harness.clock import Budget, BudgetExpired
from harness.errors import ConfigurationError
from harness.exitcodes import RunExit
from harness.verdicts import (
    ALLURE_VERDICT_LABEL,
    NO_VERDICT,
    OUTCOMES,
    PRECEDENCE,
    VERDICT_PROPERTY,
    AttributionRule,
    DeviceFailure,
    Inconclusive,
    LabError,
    NotApplicable,
    Verdict,
    attribute_failure,
    classify_exception,
    combine_verdicts,
    decide_run_exit,
    expired_budget_signal,
    failure_message,
    mapping_for,
    no_verdict_message,
    run_exit_code,
    stimulus_missing,
    verdict_for_expired_budget,
    verdict_for_test,
    verdict_from_report,
    wrong_stimulus,
)

pytest_plugins = ["pytester"]

P, F, I, E, N = (  # noqa: E741 - one letter per verdict keeps the tables readable
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.INCONCLUSIVE,
    Verdict.ERROR,
    Verdict.NOT_APPLICABLE,
)


# --- the mapping table ----------------------------------------------------------------------------------


def test_mapping_table() -> None:
    table = {v: (o.pytest_outcome, o.allure_status, o.message_prefix) for v, o in OUTCOMES.items()}
    assert table == {
        P: ("passed", "passed", ""),
        F: ("failed", "failed", "FAIL: "),
        E: ("error", "broken", "ERROR: "),
        I: ("error", "broken", "INCONCLUSIVE: "),
        N: ("skipped", "skipped", "NOT_APPLICABLE: "),
    }
    assert all(mapping_for(v) is OUTCOMES[v] for v in Verdict)
    assert mapping_for(I).pytest_outcome != "passed"  # inconclusive is never a pass
    assert ALLURE_VERDICT_LABEL == "verdict" and VERDICT_PROPERTY == "verdict"
    assert [v.value for v in Verdict] == ["PASS", "FAIL", "INCONCLUSIVE", "ERROR", "NOT_APPLICABLE"]


# --- the combining rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([P], P),
        ([P, P], P),
        ([N], N),
        ([N, N], N),
        ([P, N], P),
        ([I, N], I),
        ([P, I], I),
        ([P, E], E),
        ([I, E], E),
        ([E, F], F),
        ([I, F], F),
        ([F, P, N], F),
        ([N, P, I, E, F], F),
    ],
)
def test_combine_known_answers(verdicts: list[Verdict], expected: Verdict) -> None:
    assert combine_verdicts(verdicts) is expected
    assert combine_verdicts(reversed(verdicts)) is expected


def test_combine_is_worst_of_by_precedence() -> None:
    assert PRECEDENCE == (F, E, I, P, N)
    for size in (1, 2, 3):
        for combo in itertools.product(Verdict, repeat=size):
            assert combine_verdicts(combo) is min(combo, key=PRECEDENCE.index)


def test_combine_nothing_is_not_a_verdict() -> None:
    with pytest.raises(ValueError, match="not exercised"):
        combine_verdicts([])


# --- the budget rule ------------------------------------------------------------------------------------


def test_budget_rule() -> None:
    assert verdict_for_expired_budget(stimulus_received=True) is F
    assert verdict_for_expired_budget(stimulus_received=False) is I


def test_expired_budget_messages_are_for_the_operator() -> None:
    budget = Budget("budgets.post_download_verification", 45)
    fail = expired_budget_signal(
        budget=budget, expected="Upgrade End Request", stimulus="the last image block", stimulus_received=True
    )
    assert isinstance(fail, DeviceFailure)
    assert str(fail) == (
        "FAIL: expected Upgrade End Request within budgets.post_download_verification (45 s) after the last "
        "image block, observed nothing before the budget expired, although the transcript shows that the DUT "
        "received the last image block; the DUT is the suspect"
    )
    none = expired_budget_signal(
        budget=budget,
        expected="Upgrade End Request",
        stimulus="the last image block",
        stimulus_received=False,
    )
    assert isinstance(none, Inconclusive)
    assert str(none).startswith("INCONCLUSIVE: No verdict: Upgrade End Request did not arrive within ")
    assert "does not show that the DUT received the last image block. ACTION: check that the DUT" in str(none)
    assert classify_exception(fail) is F and classify_exception(none) is I


def test_message_helpers() -> None:
    assert failure_message("INVALID_IMAGE (0x96)", "SUCCESS") == (
        "expected INVALID_IMAGE (0x96), observed SUCCESS; the DUT is the suspect"
    )
    assert no_verdict_message("the coordinator did not answer.", "power-cycle it and re-run") == (
        "No verdict: the coordinator did not answer. ACTION: power-cycle it and re-run"
    )


# --- exceptions and their classification --------------------------------------------------------------


def test_signal_exceptions() -> None:
    failure = DeviceFailure("expected a, observed b; the DUT is the suspect")
    assert isinstance(failure, AssertionError) and str(failure).startswith("FAIL: expected a")
    assert failure.detail == "expected a, observed b; the DUT is the suspect"
    assert str(Inconclusive("No verdict: x. ACTION: y")) == "INCONCLUSIVE: No verdict: x. ACTION: y"
    assert not isinstance(Inconclusive("x"), AssertionError)
    assert str(LabError("radio gone")) == "ERROR: radio gone"
    na = NotApplicable("PICS GB.HCALCS.CS06 is false")
    assert isinstance(na, pytest.skip.Exception) and not isinstance(na, Exception)
    assert str(na) == "NOT_APPLICABLE: PICS GB.HCALCS.CS06 is false"


def _raised(action) -> BaseException:
    try:
        action()
    except BaseException as exc:  # pytest's outcome exceptions are BaseExceptions
        return exc
    raise AssertionError("nothing raised")


@pytest.mark.parametrize(
    ("exc", "call", "setup"),
    [
        (AssertionError("assert 1 == 2"), F, E),
        (DeviceFailure("x"), F, F),
        (Inconclusive("x"), I, I),
        (LabError("x"), E, E),
        (NotApplicable("x"), N, N),
        (BudgetExpired(Budget("budgets.join", 60), "the join"), I, I),
        (_raised(lambda: pytest.fail("explicit")), F, E),
        (_raised(lambda: pytest.skip("not claimed")), N, N),
        (_raised(lambda: pytest.xfail("hides a verdict")), E, E),
        (KeyError("step bug"), E, E),
        (ConfigurationError("bad profile"), E, E),
        (TimeoutError(), E, E),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_classify_exception(exc: BaseException, call: Verdict, setup: Verdict) -> None:
    assert classify_exception(exc) is call
    assert classify_exception(exc, "call") is call
    assert classify_exception(exc, "setup") is setup
    assert classify_exception(exc, "teardown") is setup


# --- the exit-code rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verdicts", "exit_code", "note"),
    [
        ([], RunExit.ALL_PASSED, "no scenario was selected"),
        ([P], RunExit.ALL_PASSED, "every applicable scenario passed (1 PASS)"),
        ([P, N, N], RunExit.ALL_PASSED, "every applicable scenario passed (1 PASS, 2 NOT_APPLICABLE)"),
        ([N], RunExit.ALL_PASSED, "no scenario applied to this device"),
        ([P, F], RunExit.DEVICE_FAILED, "the device failed at least one scenario (1 FAIL, 1 PASS)"),
        ([F, E, I], RunExit.DEVICE_FAILED, "the device failed at least one scenario"),
        ([P, I], RunExit.NO_VERDICT, "no verdict for at least one scenario"),
        ([P, E, N], RunExit.NO_VERDICT, "(1 ERROR, 1 PASS, 1 NOT_APPLICABLE)"),
    ],
)
def test_run_exit_code(verdicts: list[Verdict], exit_code: RunExit, note: str) -> None:
    decision = decide_run_exit(verdicts)
    assert decision.exit is exit_code
    assert note in decision.note
    assert run_exit_code(verdicts) is exit_code
    assert sum(decision.counts.values()) == len(verdicts)


def test_exit_codes_follow_the_combined_verdict() -> None:
    expected = {F: RunExit.DEVICE_FAILED, E: RunExit.NO_VERDICT, I: RunExit.NO_VERDICT}
    for combo in itertools.product(Verdict, repeat=3):
        assert run_exit_code(combo) is expected.get(combine_verdicts(combo), RunExit.ALL_PASSED)
    assert {E, I} == NO_VERDICT


# --- reports back to verdicts ---------------------------------------------------------------------------


def _report(when: str, outcome: str, longrepr: object = None, **extra: object) -> SimpleNamespace:
    return SimpleNamespace(
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=outcome == "skipped",
        longrepr=longrepr,
        user_properties=extra.pop("user_properties", []),
        **extra,
    )


def _crash(message: str) -> SimpleNamespace:
    return SimpleNamespace(reprcrash=SimpleNamespace(message=message))


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (_report("setup", "passed"), None),
        (_report("teardown", "passed"), None),
        (_report("call", "passed"), P),
        (_report("setup", "skipped", ("f.py", 1, "Skipped: NOT_APPLICABLE: x")), N),
        (_report("call", "failed", _crash("AssertionError: assert 1 == 2")), F),
        (_report("call", "failed", _crash("assert 1 == 2")), F),
        (_report("call", "failed", _crash("Failed: explicit")), F),
        (_report("call", "failed", _crash("harness.verdicts.DeviceFailure: FAIL: expected a")), F),
        (_report("call", "failed", _crash("harness.verdicts.Inconclusive: INCONCLUSIVE: No verdict")), I),
        (_report("call", "failed", _crash("harness.verdicts.LabError: ERROR: radio gone")), E),
        (_report("call", "failed", _crash("KeyError: 'x'")), E),
        (_report("setup", "failed", _crash("AssertionError: fixture")), E),
        (_report("setup", "failed", "INCONCLUSIVE: No verdict: x"), I),  # a string longrepr
        (_report("call", "failed", "def test():\n>   assert x\nE   assert 0"), F),
        (_report("call", "skipped", ("f.py", 1, "reason"), wasxfail="hides"), E),
        (_report("call", "failed", _crash("assert 0"), user_properties=[("verdict", "INCONCLUSIVE")]), I),
    ],
)
def test_verdict_from_report(report: SimpleNamespace, expected: Verdict | None) -> None:
    assert verdict_from_report(report) is expected


def test_verdict_for_test_combines_phases() -> None:
    setup, teardown = _report("setup", "passed"), _report("teardown", "passed")
    assert verdict_for_test([setup, _report("call", "passed"), teardown]) is P
    assert verdict_for_test([_report("setup", "skipped", ("f", 1, "Skipped: x")), teardown]) is N
    assert verdict_for_test([setup, _report("call", "passed"), _report("teardown", "failed", "boom")]) is E
    failed_call = _report("call", "failed", _crash("AssertionError: a"))
    assert verdict_for_test([setup, failed_call, _report("teardown", "failed", "boom")]) is F
    with pytest.raises(ValueError, match="no report of this test carries a verdict"):
        verdict_for_test([setup, teardown])


RUN_SAMPLE = """
import pytest
from harness.clock import Budget, BudgetExpired
from harness.verdicts import DeviceFailure, Inconclusive, LabError, NotApplicable

@pytest.fixture
def broken_lab():
    raise RuntimeError("coordinator silent")

def test_pass(): pass
def test_assert(): assert 1 == 2
def test_device_failure(): raise DeviceFailure("expected a, observed b; the DUT is the suspect")
def test_inconclusive(): raise Inconclusive("No verdict: x. ACTION: y")
def test_lab_error(): raise LabError("radio gone")
def test_not_applicable(): raise NotApplicable("PICS OTA.C is false")
def test_budget(): raise BudgetExpired(Budget("budgets.join", 60), "the join")
def test_step_bug(): {}["missing"]
def test_fixture_error(broken_lab): pass
"""

RUN_EXPECTED = {
    "test_pass": P,
    "test_assert": F,
    "test_device_failure": F,
    "test_inconclusive": I,
    "test_lab_error": E,
    "test_not_applicable": N,
    "test_budget": I,
    "test_step_bug": E,
    "test_fixture_error": E,
}


def test_real_pytest_reports_map_back_to_verdicts(pytester: pytest.Pytester) -> None:
    """Without any verdict plugin, the reports pytest itself makes still read back to the right verdicts."""
    pytester.makepyfile(test_sample=RUN_SAMPLE)
    reprec = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:allure_pytest_bdd")
    reports: dict[str, list] = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        reports.setdefault(report.nodeid.rsplit("::", 1)[-1], []).append(report)
    assert {name: verdict_for_test(rs) for name, rs in reports.items()} == RUN_EXPECTED
    skip = next(r for r in reports["test_not_applicable"] if r.skipped)
    assert "NOT_APPLICABLE: PICS OTA.C is false" in str(skip.longrepr)


# -- step-level attribution ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("declared", "tagged", "narrowed", "requirements", "rule"),
    [
        (("HG-17", "HG-03"), ("HG-03",), (), ("HG-03",), AttributionRule.TAGGED),  # a CS08 read after a download
        (("HG-17", "HG-03"), ("HG-17", "HG-03"), (), ("HG-03", "HG-17"), AttributionRule.TAGGED),
        (("HG-17", "HG-03"), ("HG-03",), ("HG-17",), ("HG-17",), AttributionRule.STEP),  # narrowed, untagged
        (("HG-11", "HG-08"), ("HG-18",), (), ("HG-11",), AttributionRule.STEP),  # the step's own: the first
        ((), ("PZ-13", "CS-09"), (), ("CS-09", "PZ-13"), AttributionRule.SCENARIO),  # nothing declared
    ],
)
def test_a_fail_goes_to_the_failing_steps_tagged_requirements_else_to_its_own(
    declared, tagged, narrowed, requirements, rule
):
    attribution = attribute_failure("Then a step", declared, tagged, narrowed)
    assert (attribution.requirements, attribution.rule) == (requirements, rule)
    assert attribution.as_dict()["step_requirements"] == list(declared)
    assert attribution.as_dict()["note"].startswith(", ".join(requirements))


def test_a_device_failure_may_name_the_requirements_its_check_is_about():
    failure = DeviceFailure(failure_message("x", "y"), requirements=("PZ-24",))
    assert failure.requirements == ("PZ-24",) and failure.verdict is Verdict.FAIL
    assert DeviceFailure("plain").requirements == ()
    signal = expired_budget_signal(
        budget=Budget("b", 1), expected="e", stimulus="s", stimulus_received=True, requirements=("PZ-31",)
    )
    assert isinstance(signal, DeviceFailure) and signal.requirements == ("PZ-31",)


def test_a_wrong_stimulus_is_the_suites_error_and_a_missing_one_no_verdict():
    error, missing = wrong_stimulus("the offer is the device's own code", "report it"), stimulus_missing("the offer")
    assert classify_exception(error) is Verdict.ERROR and "suspect" not in str(error)
    assert classify_exception(missing) is Verdict.INCONCLUSIVE and "did not show" not in str(missing)
    assert "the DUT received the offer" in str(missing)
