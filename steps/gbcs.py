"""Steps for the device's GBCS messages over the tunnel: CS09 Firmware Activation Alert, CS08 Read Firmware Version.

The suite plays the DCC Access Control Broker, which MACs CS08 commands on behalf of the supplier
(domain.md §2.4, §10), and the CH, which carries the APDUs (``DutAdapter.gbcs``). Then-steps judge only what
arrives over the tunnel, decoded and verified with ``harness.gbcs`` and the run's key store, and ZCL reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_bdd import parsers, then, when

from harness.bdd.checks import checks
from harness.bdd.loop import sync_step
from harness.ch.tunnel import FetchedApdu
from harness.clock import Budget, BudgetExpired
from harness.gbcs import (
    Check,
    CraFlag,
    DecodedMessage,
    GbcsFormatError,
    GeneralBlockHeader,
    decode_apdu,
    decode_message,
    encode_apdu,
)
from harness.gbcs.commands import CS08_MESSAGE_CODE
from harness.verdicts import (
    DeviceFailure,
    Inconclusive,
    expired_budget_signal,
    failure_message,
    no_verdict_message,
    stimulus_missing,
)
from steps.context import ScenarioState
from steps.ota import DUT, DUTS

#: CS09's message code: 0x012B in the RTDS 4.5.0 sample, 0x0129 with CRA alert in gbcs-parser (docs/gbcs.md §7).
CS09_MESSAGE_CODES = (0x012B, 0x0129)
CS09_ALERT_CODE = 0x8F8B


def _hex(value: int) -> str:
    return f"{value:#010x}"


def _header(apdu: bytes) -> GeneralBlockHeader | None:
    try:
        return decode_apdu(apdu).header
    except GbcsFormatError:
        return None


def _is_cs09(apdu: bytes) -> bool:
    header = _header(apdu)
    return header is not None and header.cra_flag == CraFlag.ALERT and header.message_code in CS09_MESSAGE_CODES


def _is_cs08_response(apdu: bytes) -> bool:
    header = _header(apdu)
    return header is not None and header.cra_flag == CraFlag.RESPONSE and header.message_code == CS08_MESSAGE_CODE


def require_four_octets(decoded: DecodedMessage) -> None:
    """A version that is not 4 octets (CS-18, judged by the CS08 scenario) leaves nothing to compare."""
    payload: Any = decoded.payload
    octets = bytes(payload["firmwareVersion"])
    if len(octets) != 4:
        raise Inconclusive(
            no_verdict_message(
                f"the firmwareVersion {octets.hex()} is {len(octets)} octets, not 4, so it cannot be compared",
                "see the CS08 scenario (CS-18)",
            )
        )


def _version(decoded: DecodedMessage) -> int:
    payload: Any = decoded.payload
    return int.from_bytes(payload["firmwareVersion"], "big")


async def send_command(state: ScenarioState, apdu: bytes) -> None:
    """Queue ``apdu`` for the device, which takes it with its next GET; the scenario remembers which command
    its next Then-steps judge the answer to."""
    state.gbcs_command = bytes(apdu)
    state.gbcs_mark = len(state.dut.gbcs.fetches)
    state.gbcs_message = None
    await state.dut.gbcs.send_to_device(apdu)


def fetched(state: ScenarioState) -> FetchedApdu | None:
    """The device's fetch of the last command the suite queued (None: not fetched yet)."""
    if state.gbcs_command is None:
        return None
    return state.dut.gbcs.fetch_of(state.gbcs_command, state.gbcs_mark)


async def await_fetch(state: ScenarioState, command: str) -> FetchedApdu:
    """Let time run until the device fetched the last command: a polling device takes up to
    ``tunnel.poll_interval``, so the wait is that plus ``budgets.gbcs_response``. Not fetched: INCONCLUSIVE
    (the device never got the command, so no answer, or its absence, says anything)."""
    poll = float(state.profile.pixit_value("tunnel.poll_interval"))
    budget = Budget("the device's next GET (tunnel.poll_interval + budgets.gbcs_response)", poll + _response_s(state))
    if state.gbcs_command is None:
        raise stimulus_missing(f"{command}: the scenario sent none", "fix the scenario")
    found = await state.dut.gbcs.wait_fetched(state.gbcs_command, budget, since=state.gbcs_mark)
    if found is None:
        raise stimulus_missing(
            f"{command} (no GET of the device was answered with it within {budget})",
            "check the device's tunnel (RequestTunnel granted, GETs in the transcript) and PIXIT tunnel.poll_interval",
        )
    return found


def _response_s(state: ScenarioState) -> float:
    return float(state.profile.pixit_value("budgets.gbcs_response"))


def budget_after_fetch(state: ScenarioState, fetch: FetchedApdu) -> Budget:
    """What is left of ``budgets.gbcs_response`` counted from the GET-RESPONSE that carried the command."""
    left = max(0.0, fetch.time + _response_s(state) - state.clock.now())
    return Budget(f"GBCS response ({_response_s(state):g} s from the fetch at t={fetch.time:.3f} s)", left)


async def receive_response(
    state: ScenarioState, predicate: Callable[[bytes], bool], *, expected: str, command: str
) -> None:
    """The device's answer to the last command within ``budgets.gbcs_response`` of its fetch (GBCS budgets
    run from the moment the device took the command, whatever its poll interval)."""
    fetch = await await_fetch(state, command)
    await receive_apdu(
        state,
        predicate,
        budget_after_fetch(state, fetch),
        expected=expected,
        stimulus=f"{command} (fetched by its GET at t={fetch.get_time:.3f} s)",
        stimulus_received=lambda: True,
    )


async def unanswered(state: ScenarioState, predicate: Callable[[bytes], bool], *, command: str) -> bytes | None:
    """For "sends no response": the matching APDU if the device sent one within ``budgets.gbcs_response`` of
    fetching the last command, None if it did not (the command must have been fetched: INCONCLUSIVE otherwise)."""
    fetch = await await_fetch(state, command)
    try:
        return await state.dut.gbcs.receive(predicate, budget_after_fetch(state, fetch))
    except BudgetExpired:
        return None


async def receive_apdu(
    state: ScenarioState,
    predicate: Callable[[bytes], bool],
    budget: Budget,
    *,
    expected: str,
    stimulus: str,
    stimulus_received: Callable[[], bool],
) -> None:
    """Wait for a matching APDU from the device and decode it into the scenario; an expired budget is FAIL
    when the device received the stimulus, INCONCLUSIVE when not (the budget rule)."""
    try:
        apdu = await state.dut.gbcs.receive(predicate, budget)
    except BudgetExpired:
        raise expired_budget_signal(
            budget=budget, expected=expected, stimulus=stimulus, stimulus_received=stimulus_received()
        ) from None
    state.gbcs_message = decode_message(apdu, keys=state.dut.keystore)


# -- CS09 -------------------------------------------------------------------------------------------------
@then(parsers.re(rf"{DUT} sends a CS09 Firmware Activation Alert within the alert budget"))
@checks("PZ-22", "PZ-23")
@sync_step
async def cs09_arrives(scenario_state: ScenarioState) -> None:
    state = scenario_state
    await receive_apdu(
        state,
        _is_cs09,
        state.budget("alert"),
        expected="a CS09 Firmware Activation Alert through the tunnel",
        stimulus="the Upgrade End Response telling it to activate the downloaded image",
        stimulus_received=lambda: state.transcript.received_stimulus("upgrade_end_response", since=state.start_mark),
    )


def _cs09(state: ScenarioState) -> DecodedMessage:
    decoded = state.gbcs_message
    if not isinstance(decoded, DecodedMessage) or not _is_cs09(encode_apdu(decoded.apdu)):
        raise Inconclusive(
            no_verdict_message("no CS09 alert was received", "see the previous step and the tunnel transcript")
        )
    return decoded


@then(
    parsers.re(
        r"the alert has alert code 0x8F8B, the (?P<which>new|old) firmware version "
        r"and activation result (?P<result>success|failure)"
    )
)
@checks("PZ-22", "PZ-23")
def cs09_content(scenario_state: ScenarioState, which: str, result: str) -> None:
    """PZ-22 (success, the new version) and PZ-23 (failure, the version still running)."""
    state = scenario_state
    decoded = _cs09(state)
    if decoded.payload is None or decoded.payload_error:
        raise DeviceFailure(failure_message("a DER FirmwareActivationAlert payload", str(decoded.payload_error)))
    payload: Any = decoded.payload
    assert state.image is not None
    version = state.image.file_version if which == "new" else state.old_version
    code = 0 if result == "success" else 1
    observed = (int(payload["alertCode"]), _version(decoded), int(payload["activateImage"]))
    assert observed == (CS09_ALERT_CODE, version, code), failure_message(
        f"alert code 0x8F8B, firmwareVersion {_hex(version)} ({which}), activationResult {code} ({result})",
        f"alert code {observed[0]:#06x}, firmwareVersion {_hex(observed[1])}, activationResult {observed[2]}",
    )
    assert decoded.header.originator == state.dut.dut_eui64, failure_message(
        f"the alert's originator {state.dut.dut_eui64}", str(decoded.header.originator)
    )


@then(parsers.re(rf"the alert's signature verifies with {DUTS} digital-signing certificate"))
@checks("CS-19", "PZ-22", "PZ-23")
def cs09_signed(scenario_state: ScenarioState) -> None:
    signature_verifies(_cs09(scenario_state))


@then(parsers.re(rf"the message's signature verifies with {DUTS} digital-signing certificate"))
@checks("CS-19", "HG-04", "HG-11", "HG-12", "HG-19")
def message_signed(scenario_state: ScenarioState) -> None:
    """Any alert or response the previous steps received (CS06 response, receipt or future-dated alert)."""
    decoded = scenario_state.gbcs_message
    if not isinstance(decoded, DecodedMessage):
        raise Inconclusive(no_verdict_message("no message was received", "see the previous steps"))
    signature_verifies(decoded)


def signature_verifies(decoded: DecodedMessage) -> None:
    """The device's signature over a message it originated verifies with its DS certificate (CS-19)."""
    if decoded.signature.check is Check.KEY_MISSING:
        raise Inconclusive(
            no_verdict_message(
                f"the key store has no digital-signing certificate of {decoded.header.originator}",
                "provision the device's DS certificate through pixit.keys.store",
            )
        )
    assert decoded.signature.check is Check.VALID, failure_message(
        "a 64-octet signature that verifies with the device's DS certificate",
        f"signature {decoded.signature.check.value}: {decoded.signature.detail}",
    )
    assert not decoded.defects, failure_message("a message without defects", "; ".join(decoded.defects))


@then(parsers.re(rf"{DUT} reported a CS09 success alert after activating"))
@checks("PZ-29")
@sync_step
async def cs09_version_known(scenario_state: ScenarioState) -> None:
    """PZ-29's reference: the latest CS09 success alert (its absence is PZ-22's failure, not PZ-29's)."""
    state = scenario_state
    try:
        apdu = await state.dut.gbcs.receive(_is_cs09, state.budget("alert"))
    except BudgetExpired:
        raise Inconclusive(
            no_verdict_message(
                "the device sent no CS09 alert after activating, so there is no version to compare with",
                "see the PZ-22 scenario",
            )
        ) from None
    decoded = decode_message(apdu, keys=state.dut.keystore)
    payload: Any = decoded.payload
    if payload is None or int(payload["activateImage"]) != 0:
        raise Inconclusive(no_verdict_message("the CS09 alert is not a readable success alert", "see PZ-22"))
    state.cs09_version = _version(decoded)


# -- CS08 -------------------------------------------------------------------------------------------------
@when(parsers.re(rf"the DCC sends {DUT} a CS08 Read Firmware Version command(?P<bad> with a corrupted MAC)?"))
@sync_step
async def send_cs08(scenario_state: ScenarioState, bad: str | None) -> None:
    await send_command(scenario_state, scenario_state.dcc.cs08(corrupt_mac=bool(bad)))


@then(parsers.re(rf"{DUT} answers with a CS08 response within the GBCS response budget"))
@checks("HG-17", "PZ-28")
@sync_step
async def cs08_answered(scenario_state: ScenarioState) -> None:
    await receive_response(
        scenario_state, _is_cs08_response, expected="a CS08 response through the tunnel", command="the CS08 command"
    )


def _cs08(state: ScenarioState) -> DecodedMessage:
    decoded = state.gbcs_message
    if not isinstance(decoded, DecodedMessage):
        raise Inconclusive(no_verdict_message("no CS08 response was received", "see the previous step"))
    return decoded


@then(parsers.re(r"the response carries the running firmware version and response code 0 under a valid MAC"))
@checks("HG-17", "PZ-28", "CS-18")
@sync_step
async def cs08_content(scenario_state: ScenarioState) -> None:
    state = scenario_state
    decoded = _cs08(state)
    if decoded.mac.check is Check.KEY_MISSING:
        raise Inconclusive(
            no_verdict_message(
                "the key store cannot check the CS08 response's MAC", "provision the device's KA certificate"
            )
        )
    assert decoded.mac.check is Check.VALID, failure_message(
        "a General Ciphered CS08 response whose MAC verifies with the ACB/device key-agreement pair",
        f"MAC {decoded.mac.check.value}: {decoded.mac.detail}",
    )
    assert not decoded.defects, failure_message("a CS08 response without defects", "; ".join(decoded.defects))
    payload: Any = decoded.payload
    budget = Budget("ZCL read", float(state.profile.pixit_value("budgets.block_response_wait")))
    running = int(await state.dut.read_ota_attribute("current_file_version", budget))
    observed = (_version(decoded), int(payload["responseCode"]))
    assert observed == (running, 0), failure_message(
        f"firmwareVersion {_hex(running)} (CurrentFileVersion) and responseCode 0 (readSuccess)",
        f"firmwareVersion {_hex(observed[0])}, responseCode {observed[1]}",
    )


@then(parsers.re(r"the CS08 response's firmware version equals the version of that CS09 alert"))
@checks("PZ-29")
def cs08_equals_cs09(scenario_state: ScenarioState) -> None:
    state = scenario_state
    decoded = _cs08(state)
    if state.cs09_version is None:
        raise Inconclusive(no_verdict_message("no CS09 version to compare with", "see the previous steps"))
    require_four_octets(decoded)
    observed = _version(decoded)
    assert observed == state.cs09_version, failure_message(
        f"the CS08 firmwareVersion {_hex(state.cs09_version)} of the latest CS09 success alert", _hex(observed)
    )


@then(parsers.re(rf"{DUT} sends no CS08 response within the GBCS response budget"))
@checks("HG-17", "PZ-28")
@sync_step
async def cs08_not_answered(scenario_state: ScenarioState) -> None:
    apdu = await unanswered(scenario_state, _is_cs08_response, command="the CS08 command with a corrupted MAC")
    if apdu is None:
        return
    raise DeviceFailure(
        failure_message(
            "no response to a CS08 command whose MAC does not verify [assumption, domain.md §10]",
            f"a CS08 response of {len(apdu)} octets",
        )
    )
