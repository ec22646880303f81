"""The message table and the judge: each rule fires on its own defect, and the verdict follows the documented
precedence (invalid before unusable before valid)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.exitcodes import CheckExit
from harness.gbcs import (
    MESSAGE_NAMES,
    MESSAGES,
    Check,
    CraFlag,
    Form,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    Verdict,
    decode_message,
    encode_apdu,
    encode_payload,
    protect,
)
from harness.gbcs.apdu import Apdu
from harness.gbcs.gbz import GENERIC_ALERT

HASH = bytes(range(32))


def _euis(pki: TestPki) -> dict[str, Any]:
    return {name: pki.party(name).eui for name in ("supplier", "acb", "hcalcs", "ppmid", "ch")}


def _command(pki: TestPki, **payload_changes: Any) -> GeneralSigning:
    e = _euis(pki)
    value = {"manufacturerImageHash": HASH, "originatorCounter": 42, **payload_changes}
    header = GeneralBlockHeader(CraFlag.COMMAND, 42, e["supplier"], e["hcalcs"], 0x0012)
    return GeneralSigning(header, encode_payload(0x0012, CraFlag.COMMAND, value), signature=None)


def _judge(pki: TestPki, apdu: Apdu, **options: Any) -> Any:
    return decode_message(encode_apdu(apdu), keys=pki.keystore(), **options)


def test_a_well_formed_command_is_valid(pki: TestPki) -> None:
    message = _judge(pki, protect(_command(pki), pki.keystore()))
    assert message.verdict is Verdict.VALID, message.defects
    assert message.form is Form.GENERAL_CIPHERED
    assert message.name == "CS06 Activate Firmware command"


def test_cs06_counter_must_match_the_header(pki: TestPki) -> None:
    message = _judge(pki, protect(_command(pki, originatorCounter=41), pki.keystore()))
    assert message.verdict is Verdict.INVALID
    assert message.defects == ("payload originatorCounter 41 differs from the header's originator counter 42",)
    assert (message.signature.check, message.mac.check) == (Check.VALID, Check.VALID)


def test_a_critical_command_needs_signature_and_mac(pki: TestPki) -> None:
    unsigned = protect(_command(pki), pki.keystore(), signed=False)
    assert "must be signed" in " ".join(_judge(pki, unsigned).defects)
    signed_only = protect(_command(pki), pki.keystore(), mac=False)
    assert _judge(pki, signed_only).defects == ("a CS06 Activate Firmware command must be General Ciphered with a MAC",)


@pytest.mark.parametrize(
    ("field", "value", "defect"),
    [
        ("security_control", 0x30, "security control 0x30"),
        ("invocation_counter", 1, "invocation counter 1"),
        ("unused_header", b"\x00\x00\x01\x00\x00\x00", "General Ciphered header octets"),
    ],
)
def test_fixed_wrapper_fields_are_rules(pki: TestPki, field: str, value: Any, defect: str) -> None:
    """The MAC does not cover them (fixed AAD prefix), so the judge checks them as fields."""
    command = protect(_command(pki), pki.keystore())
    assert isinstance(command, GeneralCiphered)
    message = _judge(pki, dataclasses.replace(command, **{field: value}))
    assert message.mac.check is Check.VALID
    assert message.verdict is Verdict.INVALID
    assert any(defect in d for d in message.defects)


def _alert(pki: TestPki, code: int, value: dict[str, Any], originator: str = "ch") -> GeneralSigning:
    e = _euis(pki)
    header = GeneralBlockHeader(CraFlag.ALERT, 7, e[originator], e["acb"], code)
    unsigned = GeneralSigning(header, encode_payload(code, CraFlag.ALERT, value), signature=None)
    signed = protect(unsigned, pki.keystore(), mac=False)
    assert isinstance(signed, GeneralSigning)
    return signed


def _transfer_alert(code: int) -> dict[str, Any]:
    return {
        "alertCode": code,
        "executionDateTime": dt.datetime(2024, 1, 1),
        "entityId": bytes(8),
        "firmwareVersion": bytes(4),
        "responseCode": 0,
    }


def test_alert_codes_are_checked_per_message(pki: TestPki) -> None:
    assert _judge(pki, _alert(pki, 0x0128, _transfer_alert(0x8F89))).verdict is Verdict.VALID
    message = _judge(pki, _alert(pki, 0x0128, _transfer_alert(0x8F72)))
    assert message.defects == ("alert code 0x8F72: a CCS08 Firmware Transfer Alert carries 0x8F89, 0x8F8A",)


def test_cs09_under_both_message_codes(pki: TestPki) -> None:
    value = {
        "alertCode": 0x8F8B,
        "executionDateTime": dt.datetime(2024, 1, 1),
        "firmwareVersion": bytes(4),
        "activateImage": 0,
    }
    for code in (0x012B, 0x0129):
        message = _judge(pki, _alert(pki, code, value, originator="ppmid"))
        assert message.verdict is Verdict.VALID, message.defects
        assert message.spec is not None and message.spec.name.startswith("CS09")


def test_payload_that_does_not_decode_is_a_defect(pki: TestPki) -> None:
    signed = _alert(pki, 0x0128, _transfer_alert(0x8F8A))
    broken = protect(dataclasses.replace(signed, payload=b"\x05\x00"), pki.keystore(), mac=False)
    message = _judge(pki, broken)
    assert message.verdict is Verdict.INVALID
    assert message.payload_error is not None and message.payload_fields() is None
    assert message.defects[0].startswith("payload: not a DER FirmwareTransferAlert")


def test_a_message_outside_the_firmware_scope_is_judged_by_its_header_and_security(pki: TestPki) -> None:
    """Any GBCS message decodes: header and checks as for ours, the payload left undecoded; a wrong signature
    is INVALID and a missing key UNUSABLE, as for a firmware message."""
    signed = _alert(pki, 0x0128, _transfer_alert(0x8F8A))
    other = protect(dataclasses.replace(signed, header=dataclasses.replace(signed.header, message_code=0x0015)),
                    pki.keystore(), mac=False)  # fmt: skip
    message = _judge(pki, other)
    assert (message.verdict, message.unusable, message.defects) == (Verdict.VALID, (), ())
    assert message.signature.check is Check.VALID
    assert message.spec is None and message.to_dict()["payload"] is None
    assert message.to_dict()["payload_status"] == "not decoded (outside the firmware scope)"
    assert message.name == "message code outside the firmware scope"
    assert isinstance(other, GeneralSigning) and other.signature
    tampered = other.with_signature(bytes([other.signature[0] ^ 1]) + other.signature[1:])
    assert _judge(pki, tampered).verdict is Verdict.INVALID
    keys_without_ch = [e for e in pki.keystore().entries() if e.eui != pki.party("ch").eui]
    unjudged = decode_message(encode_apdu(other), keys=KeyStore(keys_without_ch))
    assert unjudged.verdict is Verdict.UNUSABLE
    assert unjudged.unusable[0].startswith(f"not checked: no key for {pki.party('ch').eui} ds")


def _gbz_alert(alert_code: int, data: bytes = b"") -> bytes:
    return GENERIC_ALERT.encode(
        {"profileId": 0x0109, "componentCount": 1, "alertCode": alert_code, "timestamp": dt.datetime(2024, 1, 1),
         "data": data}
    )  # fmt: skip


def _signed(pki: TestPki, code: int, payload: bytes, originator: str = "hcalcs") -> GeneralSigning:
    e = _euis(pki)
    header = GeneralBlockHeader(CraFlag.ALERT, 7, e[originator], e["supplier"], code)
    signed = protect(GeneralSigning(header, payload, signature=None), pki.keystore(), mac=False)
    assert isinstance(signed, GeneralSigning)
    return signed


@pytest.mark.parametrize("code", [0x1000, 0x1001])
def test_generic_alerts_carry_a_gbz_alert(pki: TestPki, code: int) -> None:
    """0x8F43 travels as a Generic (Non-)Critical Alert: `01 09` header, alert code, time, no data [R]."""
    message = _judge(pki, _signed(pki, code, _gbz_alert(0x8F43)))
    assert message.verdict is Verdict.VALID, message.defects
    assert message.spec is not None and message.spec.name.startswith("Generic")
    fields = message.payload_fields()
    assert fields["alertCode"] == {"value": 0x8F43, "name": "changeInExecutingFirmwareVersion", "hex": "0x8F43"}
    assert fields["data"] is None
    with_data = _judge(pki, _signed(pki, code, _gbz_alert(0x8F43, b"\x09\x04\x01\x02\x03\x04")))
    assert with_data.payload_fields()["data"] == "090401020304"


def test_a_generic_alert_in_another_form_is_outside_the_firmware_scope(pki: TestPki) -> None:
    """An ESME's generic alert is DLMS (a Data-Notification, 0x0F): not ours to decode, not a defect."""
    message = _judge(pki, _signed(pki, 0x1001, bytes.fromhex("0F0000000100")))
    assert (message.verdict, message.spec, message.payload_status) == (
        Verdict.VALID, None, "not decoded (outside the firmware scope)"
    )  # fmt: skip
    assert message.name == "Generic Non-Critical Alert"


def test_a_non_critical_generic_alert_may_be_unsigned_and_a_critical_one_may_not(pki: TestPki) -> None:
    for code, valid in ((0x1001, True), (0x1000, False)):
        unsigned = _signed(pki, code, _gbz_alert(0x8F43)).with_signature(b"")
        assert (_judge(pki, unsigned).verdict is Verdict.VALID) == valid, code


def test_the_receipt_alert_always_carries_the_hash(pki: TestPki) -> None:
    """0x00CF is the Firmware Distribution Receipt Alert only: 0x8F43 without a hash under it is undecodable
    by the DCC's parser, so it is a defect here too (domain.md §10)."""
    message = _judge(pki, _signed(pki, 0x00CF, _gbz_alert(0x8F43)))
    assert message.verdict is Verdict.INVALID
    assert message.defects[0].startswith("payload: not a GbzFirmwareDistributionReceiptAlert")
    receipt = _gbz_alert(0x8F43, b"\x09\x20" + bytes(32))
    assert _judge(pki, _signed(pki, 0x00CF, receipt)).defects == (
        "alert code 0x8F43: a Firmware Distribution Receipt Alert (GBZ) carries 0x8F1C, 0x8F72",
    )


def test_known_code_with_a_form_it_does_not_have_is_invalid(pki: TestPki) -> None:
    signed = _alert(pki, 0x0128, _transfer_alert(0x8F8A))
    other = dataclasses.replace(signed, header=dataclasses.replace(signed.header, message_code=0x0012))
    message = _judge(pki, protect(other, pki.keystore(), mac=False))
    assert message.defects == ("message code 0x0012 has no alert form",)


def test_undefined_cra_flag(pki: TestPki) -> None:
    signed = _alert(pki, 0x0128, _transfer_alert(0x8F8A))
    other = dataclasses.replace(signed, header=dataclasses.replace(signed.header, cra_flag=4))
    message = _judge(pki, other)
    assert "CRA flag 4" in message.defects[0]
    assert message.to_dict()["header"]["cra"] == "undefined"


def test_defects_outrank_a_missing_key(pki: TestPki) -> None:
    """Already invalid: a key the MAC needs being missing does not make it merely unusable."""
    command = protect(_command(pki, originatorCounter=1), pki.keystore())
    keys_without_acb = [e for e in pki.keystore().entries() if e.eui != pki.party("acb").eui]
    message = decode_message(encode_apdu(command), keys=KeyStore(keys_without_acb))
    assert message.mac.check is Check.KEY_MISSING
    assert message.verdict is Verdict.INVALID


def test_precommand_mode_rejects_other_forms(pki: TestPki) -> None:
    assert _judge(pki, _command(pki), precommand=True).verdict is Verdict.VALID
    message = _judge(pki, protect(_command(pki), pki.keystore()), precommand=True)
    assert message.defects[0].startswith("expected the PRECOMMAND form")


def test_verdict_exit_codes() -> None:
    assert [v.exit_code for v in Verdict] == [CheckExit.VALID, CheckExit.INVALID, CheckExit.UNUSABLE]


def test_the_table() -> None:
    for (code, cra), spec in MESSAGES.items():
        assert (spec.code, spec.cra) == (code, cra)
        assert code in MESSAGE_NAMES
        if code != 0x1001:  # a Generic Non-Critical Alert's protection is not settled [U]
            assert spec.signed or spec.mac, "every firmware message is protected somehow"
        assert bool(spec.alert_codes) == (cra is CraFlag.ALERT and code not in (0x1000, 0x1001))
