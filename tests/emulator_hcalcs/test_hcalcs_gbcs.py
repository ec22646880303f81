"""The HCALCS's GBCS logic without a radio: receipt alerts, CS06 in the order of §2.4/§10, CS08, future-dated
activation, cancellation, and the NVM round trip."""

from __future__ import annotations

import datetime as dt
import hashlib

from hcalcs_support import NEW_VERSION, OLD_VERSION, START, Core, CoreFactory, Suite

from harness.emulator.hcalcs import (
    ALERT_FIRMWARE_CHANGED,
    ALERT_FUTURE_DATED_FAILED,
    ALERT_FUTURE_DATED_OK,
    ALERT_VERIFICATION_FAILED,
    ALERT_VERIFICATION_OK,
    CS06,
    CS08,
    FUTURE_DATED_ALERT,
    HcalcsNvm,
    ResponseCode,
)

IMAGE = b"manufacturer image v2" * 10
IMAGE_HASH = hashlib.sha256(IMAGE).digest()
CANCEL = dt.datetime(9999, 12, 31, 23, 59, 59)


def outcome(suite: Suite, apdu: bytes) -> tuple[int, int]:
    message = suite.judge(apdu)
    assert message.header.message_code == CS06
    kind, value = message.payload
    assert kind == "executionOutcome"
    return value["activateImageResponseCode"], int.from_bytes(value["firmwareVersion"], "big")


def holding(make_core: CoreFactory, *faults: str) -> Core:
    core = make_core(*faults)
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.sent.clear()
    return core


def test_receipt_alert_success_carries_the_hash(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core()
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    [alert] = core.sent
    message = suite.judge(alert)
    assert message.header.message_code == 0x00CF
    assert message.header.recipient == suite.supplier
    assert message.payload["alertCode"] == ALERT_VERIFICATION_OK
    assert bytes(message.payload["calculatedManufacturerHash"]) == IMAGE_HASH
    assert core.gbcs.nvm.held is not None


def test_receipt_alert_failure_discards(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core()
    core.gbcs.image_received(False, NEW_VERSION, IMAGE)
    [alert] = core.sent
    assert suite.judge(alert).payload["alertCode"] == ALERT_VERIFICATION_FAILED
    assert core.gbcs.nvm.held is None


def test_cs06_success_activates_and_reports_new_version(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.nvm.load_switch = True
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    [response] = core.sent
    assert outcome(suite, response) == (ResponseCode.SUCCESS, NEW_VERSION)
    assert core.gbcs.running_version == NEW_VERSION
    assert core.gbcs.nvm.load_switch is True  # HG-18


def test_cs06_no_image(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core()
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert outcome(suite, core.sent[0]) == (ResponseCode.NO_IMAGE_HELD, OLD_VERSION)


def test_cs06_wrong_hash(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(bytes(32)))
    assert outcome(suite, core.sent[0]) == (ResponseCode.HASH_MISMATCH, OLD_VERSION)
    assert core.gbcs.running_version == OLD_VERSION


def test_cs06_activation_failure(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.fail_next_activation = True
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert outcome(suite, core.sent[0]) == (ResponseCode.ACTIVATION_FAILURE, OLD_VERSION)
    assert core.gbcs.running_version == OLD_VERSION


def test_cs06_bad_signature_gets_nothing(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, tamper_signature=True))
    assert core.sent == []
    assert core.gbcs.running_version == OLD_VERSION
    assert "signature" in core.gbcs.rejections[-1].reason


def test_cs06_bad_mac_gets_nothing(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    apdu = bytearray(suite.cs06(IMAGE_HASH))
    apdu[-1] ^= 0x01
    core.gbcs.on_apdu(bytes(apdu))
    assert core.sent == []
    assert core.gbcs.running_version == OLD_VERSION


def test_cs06_replayed_counter_rejected(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    first = suite.cs06(bytes(32))
    core.gbcs.on_apdu(first)
    assert outcome(suite, core.sent[0])[0] == ResponseCode.HASH_MISMATCH
    core.sent.clear()
    core.gbcs.on_apdu(first)  # replay
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, counter=suite.counter - 5))  # older counter, valid signature
    assert core.sent == []
    assert core.gbcs.running_version == OLD_VERSION


def test_cs08_reports_running_version(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs08())
    message = suite.judge(core.sent[0])
    assert message.header.message_code == CS08
    assert message.payload == {"firmwareVersion": OLD_VERSION.to_bytes(4, "big"), "responseCode": 0}


def test_future_dated_null_then_alert(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    when = (START + dt.timedelta(hours=1)).replace(tzinfo=None)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=when))
    [response] = core.sent
    assert suite.judge(response).payload == ("commandAccepted", None)
    assert core.gbcs.running_version == OLD_VERSION
    core.advance(3599)
    assert not core.gbcs.run_due()
    core.advance(1)
    assert core.gbcs.run_due()
    alert = suite.judge(core.sent[1])
    assert alert.header.message_code == FUTURE_DATED_ALERT
    assert alert.payload["alertCode"] == ALERT_FUTURE_DATED_OK
    assert alert.payload["originatorCounter"] == suite.counter
    assert alert.payload["executionOutcome"]["activateImageResponseCode"] == ResponseCode.SUCCESS
    assert core.gbcs.running_version == NEW_VERSION


def test_future_dated_failure_alert(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(bytes(32), when=START.replace(tzinfo=None) + dt.timedelta(minutes=5)))
    core.advance(300)
    assert core.gbcs.run_due()
    alert = suite.judge(core.sent[1])
    assert alert.payload["alertCode"] == ALERT_FUTURE_DATED_FAILED
    assert alert.payload["executionOutcome"]["activateImageResponseCode"] == ResponseCode.HASH_MISMATCH


def test_cancellation(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=START.replace(tzinfo=None) + dt.timedelta(minutes=5)))
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=CANCEL))
    assert suite.judge(core.sent[1]).payload == ("commandAccepted", None)
    assert core.gbcs.nvm.future is None
    core.advance(3600)
    assert not core.gbcs.run_due()
    assert core.gbcs.running_version == OLD_VERSION


def test_new_future_dated_replaces_pending(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(bytes(32), when=START.replace(tzinfo=None) + dt.timedelta(minutes=5)))
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=START.replace(tzinfo=None) + dt.timedelta(minutes=10)))
    core.advance(600)
    assert core.gbcs.run_due()
    assert not core.gbcs.run_due()
    assert core.gbcs.running_version == NEW_VERSION


def test_nvm_round_trip(make_core: CoreFactory, suite: Suite) -> None:
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=START.replace(tzinfo=None) + dt.timedelta(minutes=5)))
    state = core.gbcs.nvm.to_json()
    assert HcalcsNvm.from_json(state) == core.gbcs.nvm
    assert HcalcsNvm.from_json(core.gbcs.nvm.to_json(keep_future=False)).future is None


# -- what the messages look like: RTDS device messages (domain.md §10) --------------------------------------------
def test_0x8f43_is_a_generic_non_critical_alert_the_dcc_can_decode(make_core: CoreFactory, suite: Suite) -> None:
    """HG-19: a signed GBZ alert without data under 0x1001 by default (not under 0x00CF, which always carries
    the hash), to the supplier, with the device's own counter."""
    core = make_core(alert_8f43=True)
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    receipt, alert, _response = core.sent  # the alert on activation, before the CS06 response
    message = suite.judge(alert)
    assert (message.header.message_code, message.name) == (0x1001, "Generic Non-Critical Alert (GBZ)")
    assert message.header.recipient == suite.supplier
    assert message.header.originator_counter > suite.judge(receipt).header.originator_counter
    assert message.payload["alertCode"] == ALERT_FIRMWARE_CHANGED and message.payload["data"] == b""
    assert alert[-65] == 0x40  # signed: signature length 0x40 and 64 octets
    assert message.signature.check.value == "valid"


def test_0x8f43_under_the_declared_message_code(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core(alert_8f43=True, alert_8f43_code=0x1000)
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert [suite.judge(apdu).header.message_code for apdu in core.sent] == [0x00CF, 0x1000, CS06]


def test_no_0x8f43_unless_configured(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core()
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert [suite.judge(apdu).header.message_code for apdu in core.sent] == [0x00CF, CS06]


def test_cs06_response_date_time_is_in_the_rtds_form(make_core: CoreFactory, suite: Suite) -> None:
    """Deviation 0x8000 (not specified) and clock status 0xFF, as every RTDS device message."""
    core = holding(make_core)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    date_time = suite.judge(core.sent[0]).header.date_time
    assert date_time is not None
    assert (date_time.deviation, date_time.clock_status) == (-0x8000, 0xFF)
    assert bytes(date_time)[-3:] == bytes.fromhex("8000FF")
    assert (date_time.year, date_time.month, date_time.day, date_time.hour) == (2026, 1, 1, 12)


def test_cs08_response_echoes_the_supplementary_remote_party(make_core: CoreFactory, suite: Suite) -> None:
    """As RTDS CS08: the response goes to the ACB with the supplier and its counter, MAC'd device/ACB."""
    core = make_core()
    command = suite.cs08()
    core.gbcs.on_apdu(command)
    request, response = suite.judge(command).header, suite.judge(core.sent[0])
    assert response.header.recipient == request.originator
    assert response.header.supplementary_remote_party == request.supplementary_remote_party == suite.supplier
    assert response.header.supplementary_remote_party_counter == request.supplementary_remote_party_counter
    assert response.mac.check.value == "valid"
