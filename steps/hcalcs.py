"""Steps for the HCALCS: receipt alerts after a distribution, CS06 Activate Firmware, future-dated activation.

The suite plays the supplier (it signs CS06) and the DCC's Access Control Broker (it wraps CS06 and adds the
MAC) through ``ScenarioState.dcc`` (``harness.gbcs.commands``), and the CH, which carries the APDUs through
the tunnel (``DutAdapter.gbcs``). Then-steps judge only what arrives, decoded and verified with the run's
key store, and ZCL reads. A missing answer is FAIL when the device fetched the command (the budget rule),
INCONCLUSIVE when it never did.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.bdd.checks import checks
from harness.bdd.loop import sync_step
from harness.clock import Budget, BudgetExpired
from harness.gbcs import CraFlag, DecodedMessage, GbcsFormatError, PayloadError, decode_apdu, decode_message
from harness.gbcs.apdu import signing_part
from harness.gbcs.commands import CS06_MESSAGE_CODE, Cs06Defect
from harness.gbcs.gbz import GENERIC_ALERT
from harness.verdicts import DeviceFailure, Inconclusive, failure_message, no_verdict_message
from steps.context import ScenarioState
from steps.gbcs import fetched, receive_apdu, receive_response, require_four_octets, send_command, unanswered
from steps.ota import DUT, DUTS, hold_image, run_download

FUTURE_DATED_ALERT_CODE = 0x00CA
RECEIPT_OK, RECEIPT_FAILED = 0x8F72, 0x8F1C
FIRMWARE_CHANGED = 0x8F43
#: The hash of an image the device never received (HG-08, HG-09): any 32 octets no image of the run has.
ANOTHER_IMAGE_HASH = hashlib.sha256(b"an image the device never received").digest()
_DEFECTS = {
    "signed by another party": Cs06Defect.SIGNED_BY_ANOTHER_PARTY,
    "with a corrupted signature": Cs06Defect.CORRUPTED_SIGNATURE,
    "with a corrupted MAC": Cs06Defect.CORRUPTED_MAC,
    "without a MAC": Cs06Defect.NO_MAC,
    "whose payload counter differs": Cs06Defect.PAYLOAD_COUNTER_DIFFERS,
}
_CODE_NAMES = {0: "success", 1: "noImageHeld", 2: "hashMismatch", 3: "activationFailure"}
#: Which requirements an expected activateImageResponseCode is about (the first: the step's own for it).
_OUTCOME_REQUIREMENTS = {0: ("HG-11", "HG-20"), 1: ("HG-08",), 2: ("HG-09", "HG-20"), 3: ("HG-10",)}


def _hex(value: int) -> str:
    return f"{value:#010x}"


def _is(apdu: bytes, cra: CraFlag, code: int) -> bool:
    try:
        header = decode_apdu(apdu).header
    except GbcsFormatError:
        return False
    return header.cra_flag == cra and header.message_code == code


def _receipt_code(state: ScenarioState) -> int:
    return int(state.profile.pixit_value("hcalcs.receipt_alert_message_code"))


def _alert_8f43_code(state: ScenarioState) -> int:
    return int(state.profile.pixit_value("hcalcs.alert_8f43_message_code"))


def _gbz_alert_code(apdu: bytes, message_code: int) -> int | None:
    """The alert code of a GBZ alert (any layout after its header) under `message_code`; None for anything
    else. The payload only: no crypto in a predicate."""
    if not _is(apdu, CraFlag.ALERT, message_code):
        return None
    try:
        return int(GENERIC_ALERT.decode(signing_part(decode_apdu(apdu)).payload)["alertCode"])
    except PayloadError:
        return None


def _version(which: str, state: ScenarioState) -> int:
    if which == "old":
        return state.old_version
    assert state.image is not None, "a step names the new version, but no image was held"
    return state.image.file_version


def _message(state: ScenarioState, what: str) -> DecodedMessage:
    decoded = state.gbcs_message
    if not isinstance(decoded, DecodedMessage):
        raise Inconclusive(no_verdict_message(f"no {what} was received", "see the previous step and the transcript"))
    if decoded.payload_error:
        raise DeviceFailure(failure_message(f"a {what} whose payload decodes", str(decoded.payload_error)))
    return decoded


# -- Given / When ---------------------------------------------------------------------------------------------
@given(parsers.re(rf"{DUTS} load switch is on"))
@sync_step
async def load_switch_on(scenario_state: ScenarioState) -> None:
    await scenario_state.dut.send_command("on_off", "on")


@given(parsers.re(rf"the Communications Hub holds an image of the next firmware version that {DUT} cannot activate"))
def hold_failing(scenario_state: ScenarioState) -> None:
    hold_image(scenario_state, scenario_state.images.failing_activation())


@when(parsers.re(r"the Communications Hub distributes another valid image of the next firmware version"))
@sync_step
async def distribute_another(scenario_state: ScenarioState) -> None:
    """HG-20: a second, different image replaces the one the device holds."""
    state = scenario_state
    state.first_image = state.image
    hold_image(state, state.images.another_newer())
    await run_download(state)


@when(
    parsers.re(
        rf"the DCC sends {DUT} a CS06 Activate Firmware command with "
        r"(?P<which>the image's hash|the first image's hash|the hash of another image)"
        r"(?: (?P<defect>signed by another party|with a corrupted signature|with a corrupted MAC|without a MAC"
        r"|whose payload counter differs))?"
        r"(?P<older> and an older originator counter)?"
        r"(?: dated (?P<minutes>\d+) minutes ahead)?$"
    )
)
@sync_step
async def send_cs06(
    scenario_state: ScenarioState, which: str, defect: str | None, older: str | None, minutes: str | None
) -> None:
    state = scenario_state
    if which == "the hash of another image":
        image_hash = ANOTHER_IMAGE_HASH
    else:
        image = state.first_image if which == "the first image's hash" else state.image
        assert image is not None, f"a step names {which}, but no image was held"
        image_hash = image.manufacturer_image_hash
    counter = None
    if older:
        if not state.cs06_counters:
            raise Inconclusive(no_verdict_message("no earlier CS06 counter to go below", "fix the scenario"))
        counter = min(state.cs06_counters) - 1
    state.execute_at = None
    if minutes is not None:
        state.execute_at = state.clock.utcnow() + dt.timedelta(minutes=int(minutes))
    apdu = state.dcc.cs06(
        image_hash,
        execute_at=state.execute_at,
        counter=counter,
        defect=_DEFECTS[defect] if defect else Cs06Defect.NONE,
    )
    state.cs06_sent.append(apdu)
    state.cs06_counters.append(state.dcc.last_counter if counter is None else counter)
    await send_command(state, apdu)


@when(parsers.re(rf"the DCC sends {DUT} the same CS06 command again"))
@sync_step
async def replay_cs06(scenario_state: ScenarioState) -> None:
    state = scenario_state
    assert state.cs06_sent, "a step replays a CS06, but none was sent"
    await send_command(state, state.cs06_sent[-1])


@when(parsers.re(r"the DCC cancels the pending future-dated activation"))
@sync_step
async def cancel_cs06(scenario_state: ScenarioState) -> None:
    await send_command(scenario_state, scenario_state.dcc.cs06_cancellation())


# -- Then: receipt alert ----------------------------------------------------------------------------------------
@then(parsers.re(rf"{DUT} sends a Firmware Distribution Receipt Alert within the alert budget"))
@checks("HG-04", "HG-05")
@sync_step
async def receipt_alert(scenario_state: ScenarioState) -> None:
    state = scenario_state
    code = _receipt_code(state)
    await receive_apdu(
        state,
        lambda apdu: (
            _gbz_alert_code(apdu, code) in (RECEIPT_OK, RECEIPT_FAILED, None) and _is(apdu, CraFlag.ALERT, code)
        ),
        state.budget("alert"),
        expected=f"a Firmware Distribution Receipt Alert (message code {code:#06x}, PIXIT "
        "hcalcs.receipt_alert_message_code) through the tunnel",
        stimulus="the complete image (its Upgrade End Request)",
        stimulus_received=lambda: bool(state.transcript.ota_requests("upgrade_end", since=state.start_mark)),
    )


@then(
    parsers.re(
        r"the receipt alert has alert code (?P<alert>0x8F72|0x8F1C)"
        r"(?P<hash> and the SHA-256 of the image's Manufacturer Image)?"
    )
)
@checks("HG-04", "HG-05", "CS-08")
def receipt_alert_content(scenario_state: ScenarioState, alert: str, hash: str | None) -> None:
    state = scenario_state
    payload: Any = _message(state, "receipt alert").payload
    observed = int(payload["alertCode"])
    about = ("HG-04",) if alert == "0x8F72" else ("HG-05", "CS-08")
    if observed != int(alert, 16):
        raise DeviceFailure(
            failure_message(
                f"alert code {alert} ({'verification successful' if alert == '0x8F72' else 'verification failed'})",
                f"alert code {observed:#06x}",
            ),
            about,
        )
    if hash:
        assert state.image is not None
        expected, calculated = state.image.manufacturer_image_hash, bytes(payload["calculatedManufacturerHash"])
        assert calculated == expected, failure_message(
            f"the SHA-256 of the Manufacturer Image {expected.hex()}", f"{calculated.hex()}"
        )


@then(parsers.re(rf"{DUT} sends an alert with alert code 0x8F43 within the alert budget"))
@checks("HG-19")
@sync_step
async def firmware_changed_alert(scenario_state: ScenarioState) -> None:
    """HG-19, for a device that declares PICS GB.HCALCS.ALERT_8F43: 0x8F43 after the activation, under the
    message code the profile declares (a Generic Non-Critical Alert by default)."""
    state = scenario_state
    code = _alert_8f43_code(state)
    await receive_apdu(
        state,
        lambda apdu: _gbz_alert_code(apdu, code) == FIRMWARE_CHANGED,
        state.budget("alert"),
        expected="an alert with alert code 0x8F43 (Change in the executing firmware version), which the "
        f"profile declares (PICS GB.HCALCS.ALERT_8F43), as a GBZ alert under message code {code:#06x} (PIXIT "
        "hcalcs.alert_8f43_message_code)",
        stimulus="a CS06 that activated the held image",
        stimulus_received=lambda: fetched(state) is not None,
    )


# -- Then: CS06 responses -----------------------------------------------------------------------------------------
@then(parsers.re(rf"{DUT} answers with a CS06 response within the GBCS response budget"))
@checks("HG-11", "HG-05", "HG-08", "HG-09", "HG-10", "HG-12", "HG-13", "HG-14", "HG-20")
@sync_step
async def cs06_answered(scenario_state: ScenarioState) -> None:
    await receive_response(
        scenario_state,
        lambda apdu: _is(apdu, CraFlag.RESPONSE, CS06_MESSAGE_CODE),
        expected="a CS06 Activate Firmware response through the tunnel",
        command="the CS06 command",
    )


def _cs06_outcome(state: ScenarioState) -> dict[str, Any] | None:
    """The executionOutcome of the last CS06 response, None for the NULL 'accepted for later' answer."""
    kind, value = _message(state, "CS06 response").payload
    return value if kind == "executionOutcome" else None


@then(
    parsers.re(
        r"the CS06 response has activateImageResponseCode (?P<code>\d) \((?P<name>\w+)\)"
        r"(?: and the (?P<which>old|new) firmware version)?$"
    )
)
@checks("HG-11", "HG-08", "HG-09", "HG-10", "HG-20")
def cs06_outcome(scenario_state: ScenarioState, code: str, name: str, which: str | None) -> None:
    state = scenario_state
    version = None if which is None else _version(which, state)
    outcome = _cs06_outcome(state)
    wanted = f"activateImageResponseCode {code} ({name})"
    if version is not None:
        wanted += f" and firmwareVersion {_hex(version)} ({which})"
    if outcome is None:
        raise DeviceFailure(failure_message(wanted, "a NULL response (command accepted for later execution)"))
    observed = (int(outcome["activateImageResponseCode"]), int.from_bytes(outcome["firmwareVersion"], "big"))
    expected = (int(code), observed[1] if version is None else version)
    if observed != expected:
        raise DeviceFailure(
            failure_message(
                wanted,
                f"activateImageResponseCode {observed[0]} ({_CODE_NAMES.get(observed[0], '?')}), {_hex(observed[1])}",
            ),
            _OUTCOME_REQUIREMENTS.get(int(code), ()),
        )


@then(parsers.re(r"the CS06 response does not report success"))
@checks("HG-05", "CS-08")
def cs06_not_success(scenario_state: ScenarioState) -> None:
    outcome = _cs06_outcome(scenario_state)
    if outcome is None:
        raise DeviceFailure(failure_message("an executionOutcome that is not success", "a NULL response"))
    observed = int(outcome["activateImageResponseCode"])
    assert observed != 0, failure_message(
        "activateImageResponseCode 1 (noImageHeld) or 2 (hashMismatch): the image failed verification",
        "0 (success): the device activated an image whose supplier signature does not verify",
    )


@then(parsers.re(r"the CS06 response accepts the command for later execution"))
@checks("HG-12")
def cs06_accepted(scenario_state: ScenarioState) -> None:
    outcome = _cs06_outcome(scenario_state)
    assert outcome is None, failure_message(
        "a NULL response (the future-dated command accepted, nothing executed yet)",
        f"an executionOutcome {outcome}",
    )


@then(parsers.re(rf"{DUT} sends no CS06 response with an execution outcome within the GBCS response budget"))
@checks("HG-07", "HG-15")
@sync_step
async def cs06_no_outcome(scenario_state: ScenarioState) -> None:
    """HG-07/HG-15: a command failing authentication reveals no outcome (a response without one is allowed)."""
    state = scenario_state

    def with_outcome(apdu: bytes) -> bool:
        if not _is(apdu, CraFlag.RESPONSE, CS06_MESSAGE_CODE):
            return False
        payload: Any = decode_message(apdu).payload
        return isinstance(payload, tuple) and payload[0] == "executionOutcome"

    apdu = await unanswered(state, with_outcome, command="the CS06 command")
    if apdu is None:
        return
    kind, value = decode_message(apdu).payload
    raise DeviceFailure(
        failure_message(
            "no executionOutcome for a CS06 that fails its signature, MAC or counter check (domain.md §2.4)",
            f"a CS06 response with {kind} {value}",
        )
    )


# -- Then: CS08 -------------------------------------------------------------------------------------------------
@then(parsers.re(r"the CS08 response reports the (?P<which>old|new) firmware version"))
@checks("HG-17", "HG-03", "HG-10", "HG-11")
def cs08_reports(scenario_state: ScenarioState, which: str) -> None:
    state = scenario_state
    payload: Any = _message(state, "CS08 response").payload
    if int(payload["responseCode"]) != 0:
        raise Inconclusive(
            no_verdict_message(
                f"the device answered CS08 with responseCode {payload['responseCode']} (readFailure)",
                "see the CS08 scenario (HG-17)",
            )
        )
    require_four_octets(state.gbcs_message)  # type: ignore[arg-type]
    expected, observed = _version(which, state), int.from_bytes(payload["firmwareVersion"], "big")
    assert observed == expected, failure_message(
        f"CS08 firmwareVersion {_hex(expected)} (the {which} version)", _hex(observed)
    )


# -- Then: future-dated alerts ---------------------------------------------------------------------------------
def _after_execution(state: ScenarioState) -> Budget:
    """From now until the alert budget after the command's executionDateTime."""
    if state.execute_at is None:
        raise Inconclusive(no_verdict_message("no future-dated CS06 was sent", "fix the scenario"))
    until = max(0.0, (state.execute_at - state.clock.utcnow()).total_seconds())
    return Budget("alert after the execution time", until + state.budget("alert").seconds)


def _is_future_dated_alert(apdu: bytes) -> bool:
    return _is(apdu, CraFlag.ALERT, FUTURE_DATED_ALERT_CODE)


@then(parsers.re(rf"{DUT} sends a future-dated activation alert within the alert budget after the execution time"))
@checks("HG-12", "HG-13")
@sync_step
async def future_alert(scenario_state: ScenarioState) -> None:
    state = scenario_state
    await receive_apdu(
        state,
        _is_future_dated_alert,
        _after_execution(state),
        expected="a future-dated activation alert (message code 0x00CA) at the execution time",
        stimulus="the future-dated CS06 command",
        stimulus_received=lambda: fetched(state) is not None,
    )


@then(parsers.re(rf"{DUT} sends no future-dated activation alert within the alert budget after the execution time"))
@checks("HG-14", "HG-07")
@sync_step
async def no_future_alert(scenario_state: ScenarioState) -> None:
    state = scenario_state
    try:
        apdu = await state.dut.gbcs.receive(_is_future_dated_alert, _after_execution(state))
    except BudgetExpired:
        return
    payload: Any = decode_message(apdu).payload
    raise DeviceFailure(
        failure_message(
            "no 0x00CA alert: the pending activation was cancelled or never accepted",
            f"alert code {int(payload['alertCode']):#06x} with outcome {payload.get('executionOutcome')}",
        )
    )


@then(
    parsers.re(
        r"the future-dated alert has alert code (?P<alert>0x8F66|0x8F67), the command's time and counter, "
        r"and outcome (?P<code>\d) \((?P<name>\w+)\) with the (?P<which>old|new) firmware version"
    )
)
@checks("HG-12", "HG-13", "HG-10", "HG-20")
def future_alert_content(scenario_state: ScenarioState, alert: str, code: str, name: str, which: str) -> None:
    state = scenario_state
    payload: Any = _message(state, "future-dated alert").payload
    outcome = payload["executionOutcome"]
    assert state.execute_at is not None and state.cs06_counters
    expected = (
        int(alert, 16),
        state.execute_at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0),
        state.cs06_counters[-1],
        int(code),
        _version(which, state),
    )
    observed = (
        int(payload["alertCode"]),
        payload["executionDateTime"],
        int(payload["originatorCounter"]),
        int(outcome["activateImageResponseCode"]),
        int.from_bytes(outcome["firmwareVersion"], "big"),
    )
    labels = ("alert code", "executionDateTime", "originatorCounter", "activateImageResponseCode", "firmwareVersion")
    wrong = [f"{label} {seen} (expected {want})" for label, want, seen in zip(labels, expected, observed, strict=True)]
    wrong = [w for w, want, seen in zip(wrong, expected, observed, strict=True) if want != seen]
    assert not wrong, failure_message(
        f"alert {alert}, the command's executionDateTime and counter, outcome {code} ({name}), {which} version",
        "; ".join(wrong),
    )


# -- Then: load switch ---------------------------------------------------------------------------------------------
@then(parsers.re(rf"{DUTS} load switch is still on"))
@checks("HG-18")
@sync_step
async def load_switch_still_on(scenario_state: ScenarioState) -> None:
    state = scenario_state
    attribute = str(state.profile.pixit_value("hcalcs.load_switch_attribute"))
    values = await state.dut.read_attributes("on_off", [attribute])
    if attribute not in values:
        raise Inconclusive(
            no_verdict_message(
                f"the device did not return On/Off attribute {attribute!r} ({values.failures})",
                "check pixit.hcalcs.load_switch_attribute",
            )
        )
    assert bool(values[attribute]) is True, failure_message(
        "the load switch still on after the activation (HG-18)", f"{attribute} = {values[attribute]!r}"
    )
