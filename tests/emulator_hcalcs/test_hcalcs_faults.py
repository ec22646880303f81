"""Each HCALCS knob is observable, and only where its catalogue entry says (core-level knobs here; the OTA and
power-cycle knobs in test_hcalcs_radio.py)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from hcalcs_support import NEW_VERSION, OLD_VERSION, START, CoreFactory, Suite

from harness.emulator.hcalcs import ResponseCode
from harness.emulator.hcalcs_faults import HCALCS_FAULTS, hcalcs_fault_table_markdown, parse_hcalcs_faults
from harness.errors import ConfigurationError
from harness.gbcs import decode_message

IMAGE = b"manufacturer image v2" * 10
IMAGE_HASH = hashlib.sha256(IMAGE).digest()
SECOND = b"second image" * 10


def code_and_version(suite: Suite, apdu: bytes) -> tuple[int, int]:
    _, value = suite.judge(apdu).payload
    return value["activateImageResponseCode"], int.from_bytes(value["firmwareVersion"], "big")


def test_catalogue() -> None:
    assert len(HCALCS_FAULTS) == 26
    for fault in HCALCS_FAULTS.values():
        assert fault.requirements and all(r.startswith(("HG-", "CS-")) for r in fault.requirements)
    assert parse_hcalcs_faults(["ignore-counter"]).ignore_counter
    assert "self-activate" in hcalcs_fault_table_markdown()
    with pytest.raises(ConfigurationError, match="ignore-counter"):
        parse_hcalcs_faults(["ignore-countr"])


def test_skip_signature_check(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("skip-signature-check")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, tamper_signature=True))
    assert core.gbcs.running_version == NEW_VERSION


def test_ignore_counter(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("ignore-counter")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.sent.clear()
    command = suite.cs06(bytes(32))
    core.gbcs.on_apdu(command)
    core.gbcs.on_apdu(command)
    assert len(core.sent) == 2


def test_activate_on_hash_mismatch(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("activate-on-hash-mismatch")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.sent.clear()
    core.gbcs.on_apdu(suite.cs06(bytes(32)))
    assert code_and_version(suite, core.sent[0]) == (ResponseCode.SUCCESS, NEW_VERSION)


def test_report_new_version_before_activation(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("report-new-version-before-activation")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.sent.clear()
    core.gbcs.on_apdu(suite.cs06(bytes(32)))
    assert code_and_version(suite, core.sent[0]) == (ResponseCode.HASH_MISMATCH, OLD_VERSION)  # CS06 tells the truth
    assert core.gbcs.running_version == OLD_VERSION
    core.gbcs.on_apdu(suite.cs08())
    assert suite.judge(core.sent[1]).payload["firmwareVersion"] == NEW_VERSION.to_bytes(4, "big")


def test_hash_first_image(make_core: CoreFactory, suite: Suite) -> None:
    compliant, faulty = make_core(), make_core("hash-first-image")
    for core in (compliant, faulty):
        core.gbcs.image_received(True, NEW_VERSION, IMAGE)
        core.gbcs.image_received(True, NEW_VERSION + 1, SECOND)
        core.sent.clear()
        core.gbcs.on_apdu(suite.cs06(hashlib.sha256(SECOND).digest()))
    assert code_and_version(suite, compliant.sent[0]) == (ResponseCode.SUCCESS, NEW_VERSION + 1)
    assert code_and_version(suite, faulty.sent[0])[0] == ResponseCode.HASH_MISMATCH


def test_no_receipt_alert(make_core: CoreFactory) -> None:
    core = make_core("no-receipt-alert")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.image_received(False, NEW_VERSION, IMAGE)
    assert core.sent == []


def test_keep_unverified_image(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("keep-unverified-image")
    core.gbcs.image_received(False, NEW_VERSION, IMAGE)
    assert suite.judge(core.sent[0]).payload["alertCode"] == 0x8F1C
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert code_and_version(suite, core.sent[1]) == (ResponseCode.SUCCESS, NEW_VERSION)


def test_lose_load_switch_state(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("lose-load-switch-state")
    core.gbcs.nvm.load_switch = True
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert core.gbcs.running_version == NEW_VERSION
    assert core.gbcs.nvm.load_switch is False


def test_forget_future_dated_on_power_cycle_nvm(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("forget-future-dated-on-power-cycle")
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH, when=START.replace(tzinfo=None) + dt.timedelta(minutes=5)))
    assert core.gbcs.nvm.future is not None
    # What the emulator persists (to_state) leaves it out; the radio test checks the whole power cycle.
    assert core.gbcs.nvm.to_json(keep_future=False)["future"] is None


def test_alert_8f43_under_receipt_code(make_core: CoreFactory, suite: Suite) -> None:
    """0x8F43 under 0x00CF without the hash: nothing under the declared code, and the codec finds it undecodable."""
    faulty = make_core("alert-8f43-under-receipt-code", alert_8f43=True)
    faulty.gbcs.image_received(True, NEW_VERSION, IMAGE)
    faulty.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    message = decode_message(faulty.sent[1], keys=suite.keystore)  # receipt, 0x8F43, CS06 response
    assert message.header.message_code == 0x00CF
    assert message.verdict.value == "invalid" and message.payload_error is not None
    codes = [decode_message(apdu).header.message_code for apdu in faulty.sent]
    assert codes == [0x00CF, 0x00CF, 0x0012]


def test_no_8f43_alert(make_core: CoreFactory, suite: Suite) -> None:
    core = make_core("no-8f43-alert", alert_8f43=True)
    core.gbcs.image_received(True, NEW_VERSION, IMAGE)
    core.gbcs.on_apdu(suite.cs06(IMAGE_HASH))
    assert [decode_message(apdu).header.message_code for apdu in core.sent] == [0x00CF, 0x0012]
