"""The RTDS 4.5.0 APDUs (domain.md §10, §12): facts nobody on this project wrote.

Every file decodes to the header and payload fields below, its signature verifies with the originator's DS
certificate, its MAC (General Ciphered) verifies with the ACB/device KA pair, and decoding then re-encoding
reproduces it byte for byte; the DER payloads re-encode through the asn1tools codec of firmware.asn.
"""

from __future__ import annotations

from typing import Any

import pytest
from gbcs_rtds import ACB, CS06_CASES, MESSAGE_FILES, RTDS_FILES, SUPPLIER, is_precommand, rtds

from harness.crypto.keystore import KeyStore
from harness.gbcs import (
    Check,
    CraFlag,
    Form,
    GeneralCiphered,
    Verdict,
    decode_apdu,
    decode_message,
    encode_apdu,
    message_spec,
)
from harness.gbcs.apdu import decode_general_signing, encode_general_signing, signing_part
from harness.gbcs.payloads import Asn1Payload

HCALCS = "00-DB-12-34-56-78-90-A0"  # CS06 target in RTDS
PPMID = "00-DB-12-34-56-78-90-A4"
CS06_HASH = "AA758690730934FF0685AA758690730934FF0685657788990011223344556677"
RESPONSE_TIME = "2015-01-01 00:00:00.00 (deviation unspecified, clock status 0xFF)"

_CS06_COUNTERS = {"IMMEDIATE_SUCCESS": 1000, "IMMEDIATE_ERROR": 1005, "FUTURE_DATED_SUCCESS": 1001}
_CS06_COMMAND = {"originator": SUPPLIER, "recipient": HCALCS, "message_code": 0x0012, "cra_flag": 1}
_CS06_RESPONSE = {
    "originator": HCALCS,
    "recipient": SUPPLIER,
    "message_code": 0x0012,
    "cra_flag": 2,
    "date_time": RESPONSE_TIME,
}
_CS08 = {"message_code": 0x0129, "supplementary_remote_party": SUPPLIER, "supplementary_remote_party_counter": 1000}


def _cs06(case: str, kind: str) -> tuple[str, dict[str, Any], Any]:
    counter = _CS06_COUNTERS[case]
    if kind == "RESPONSE":
        payload = {
            "IMMEDIATE_SUCCESS": {
                "executionOutcome": {
                    "activateImageResponseCode": {"value": 0, "name": "success"},
                    "firmwareVersion": "0123ABCE",
                }
            },
            "IMMEDIATE_ERROR": {
                "executionOutcome": {
                    "activateImageResponseCode": {"value": 1, "name": "noImageHeld"},
                    "firmwareVersion": "0123ABCF",
                }
            },
            "FUTURE_DATED_SUCCESS": {"commandAccepted": None},
        }[case]
        return f"CS06_11.3_{case}_RESPONSE_GBCS.HEX", {**_CS06_RESPONSE, "originator_counter": counter}, payload
    payload = {"manufacturerImageHash": CS06_HASH, "originatorCounter": counter}
    if case == "FUTURE_DATED_SUCCESS":
        payload["executionDateTime"] = "2030-01-15T09:00:00Z"
    return f"CS06_11.3_{case}_{kind}_GBCS.HEX", {**_CS06_COMMAND, "originator_counter": counter}, payload


EXPECTED: dict[str, tuple[dict[str, Any], Any]] = {
    name: (header, payload)
    for name, header, payload in [
        *(_cs06(case, kind) for case in CS06_CASES for kind in ("PRECOMMAND", "COMMAND", "RESPONSE")),
        (
            "CS08_11.2_SUCCESS_COMMAND_GBCS.HEX",
            {**_CS08, "cra_flag": 1, "originator_counter": 1300, "originator": ACB, "recipient": PPMID},
            None,
        ),
        (
            "CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX",
            {**_CS08, "cra_flag": 2, "originator_counter": 1300, "originator": PPMID, "recipient": ACB},
            {"firmwareVersion": "0123ABCD", "responseCode": {"value": 0, "name": "readSuccess"}},
        ),
        (
            "CCS08_NA_NA_ALERT_GBCS.HEX",
            {
                "cra_flag": 3,
                "originator_counter": 4000,
                "originator": "00-DB-12-34-56-78-90-A2",
                "recipient": ACB,
                "message_code": 0x0128,
            },
            {
                "alertCode": {"value": 0x8F8A, "name": "firmwareTransferSuccess", "hex": "0x8F8A"},
                "executionDateTime": "2015-01-01T00:00:00Z",
                "entityId": "00DB1234567890A4",
                "firmwareVersion": "0123ABCD",
                "responseCode": {"value": 0, "name": "success"},
            },
        ),
        (
            "FDRA-ZigBee_NA_8F72_ALERT_GBCS.HEX",
            {
                "cra_flag": 3,
                "originator_counter": 3000,
                "originator": "00-DB-12-34-56-78-90-A1",
                "recipient": SUPPLIER,
                "message_code": 0x00CF,
            },
            {
                "profileId": "0x0109",
                "componentCount": 1,
                "alertCode": {"value": 0x8F72, "name": "firmwareVerificationSuccessful", "hex": "0x8F72"},
                "timestamp": "2015-01-01T00:00:00Z",
                "calculatedManufacturerHash": "A1" * 32,
            },
        ),
    ]
}

_HEADER_DEFAULTS = {
    "date_time": None,
    "supplementary_remote_party": None,
    "supplementary_remote_party_counter": None,
    "supplementary_originator_counter": None,
}


def test_every_rtds_file_has_expectations() -> None:
    assert set(EXPECTED) == set(RTDS_FILES)


@pytest.mark.parametrize("name", RTDS_FILES)
def test_header_fields(name: str, vector_keys: KeyStore) -> None:
    message = decode_message(rtds(name), keys=vector_keys, precommand=is_precommand(name))
    header = message.to_dict()["header"]
    expected = {**_HEADER_DEFAULTS, **EXPECTED[name][0]}
    expected["message_code"] = f"0x{expected['message_code']:04X}"
    assert {key: header[key] for key in expected} == expected
    assert header["cra"] == CraFlag(expected["cra_flag"]).name.lower()


@pytest.mark.parametrize("name", RTDS_FILES)
def test_payload_fields(name: str) -> None:
    message = decode_message(rtds(name), precommand=is_precommand(name))
    assert message.payload_error is None
    assert message.payload_fields() == EXPECTED[name][1]


@pytest.mark.parametrize("name", MESSAGE_FILES)
def test_signature_and_mac_verify_and_the_message_is_valid(name: str, vector_keys: KeyStore) -> None:
    message = decode_message(rtds(name), keys=vector_keys)
    assert message.spec is not None
    assert message.verdict is Verdict.VALID, (message.defects, message.signature, message.mac, message.unusable)
    assert message.signature.check is (Check.VALID if message.spec.signed else Check.ABSENT)
    ciphered = isinstance(message.apdu, GeneralCiphered)
    assert message.mac.check is (Check.VALID if ciphered else Check.ABSENT)
    assert ciphered == message.spec.mac
    assert message.form is (Form.GENERAL_CIPHERED if ciphered else Form.GENERAL_SIGNING)


def test_which_messages_are_signed_and_which_macd(vector_keys: KeyStore) -> None:
    """domain.md §10: CS06 commands signed and MAC'd, CS08 MAC only, responses and alerts of CS06 signed."""
    seen = {}
    for name in MESSAGE_FILES:
        message = decode_message(rtds(name), keys=vector_keys)
        seen[name.split("_GBCS")[0]] = (message.signature.check.value, message.mac.check.value)
    assert seen["CS06_11.3_IMMEDIATE_SUCCESS_COMMAND"] == ("valid", "valid")
    assert seen["CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE"] == ("valid", "absent")
    assert seen["CS08_11.2_SUCCESS_COMMAND"] == ("absent", "valid")
    assert seen["CS08_11.2_SUCCESS_RESPONSE"] == ("absent", "valid")
    assert seen["CCS08_NA_NA_ALERT"] == ("valid", "absent")
    assert seen["FDRA-ZigBee_NA_8F72_ALERT"] == ("valid", "absent")


@pytest.mark.parametrize("name", RTDS_FILES)
def test_reencoding_reproduces_the_apdu(name: str) -> None:
    data = rtds(name)
    apdu = decode_apdu(data)
    assert encode_apdu(apdu) == data
    signed = signing_part(apdu)
    assert decode_general_signing(encode_general_signing(signed)) == signed


@pytest.mark.parametrize("name", RTDS_FILES)
def test_payload_reencodes_through_its_codec(name: str) -> None:
    apdu = decode_apdu(rtds(name))
    spec = message_spec(apdu.header.message_code, apdu.header.cra_flag)
    assert spec is not None
    signed = signing_part(apdu)
    assert spec.codec.encode(spec.codec.decode(signed.payload)) == signed.payload
    assert spec.codec.defects(spec.codec.decode(signed.payload)) == []


def test_der_payloads_come_from_firmware_asn() -> None:
    """Every DER payload of RTDS is read by an asn1tools-compiled type (GBZ is the one construct payload)."""
    codecs = {}
    for name in RTDS_FILES:
        header = decode_apdu(rtds(name)).header
        spec = message_spec(header.message_code, header.cra_flag)
        assert spec is not None
        codecs[name] = spec.codec
    assert {type(c).__name__ for n, c in codecs.items() if not n.startswith("FDRA")} == {Asn1Payload.__name__}
    assert type(codecs["FDRA-ZigBee_NA_8F72_ALERT_GBCS.HEX"]).__name__ == "GbzReceiptAlert"


@pytest.mark.parametrize("case", CS06_CASES)
def test_precommand_is_the_command_without_signature_and_wrapper(case: str) -> None:
    command = decode_apdu(rtds(f"CS06_11.3_{case}_COMMAND_GBCS.HEX"))
    precommand = decode_apdu(rtds(f"CS06_11.3_{case}_PRECOMMAND_GBCS.HEX"))
    assert isinstance(command, GeneralCiphered)
    assert command.signed.with_signature(None) == precommand
    assert precommand.is_precommand
    assert command.security_control == 0x11 and command.invocation_counter == 0
    assert command.unused_header == bytes(6)


@pytest.mark.parametrize("case", CS06_CASES)
def test_response_answers_its_command(case: str) -> None:
    command = decode_apdu(rtds(f"CS06_11.3_{case}_COMMAND_GBCS.HEX")).header
    response = decode_apdu(rtds(f"CS06_11.3_{case}_RESPONSE_GBCS.HEX")).header
    assert response.originator_counter == command.originator_counter
    assert (response.originator, response.recipient) == (command.recipient, command.originator)
    assert response.cra is CraFlag.RESPONSE


@pytest.mark.parametrize("name", RTDS_FILES)
def test_precommands_are_judged_as_such(name: str, vector_keys: KeyStore) -> None:
    """A PRECOMMAND is valid only when asked for; as a device-bound message it is invalid, never valid."""
    data = rtds(name)
    as_message = decode_message(data, keys=vector_keys)
    as_precommand = decode_message(data, keys=vector_keys, precommand=True)
    if is_precommand(name):
        assert as_message.verdict is Verdict.INVALID
        assert any("PRECOMMAND" in d for d in as_message.defects)
        assert as_precommand.verdict is Verdict.VALID
        assert as_precommand.form is Form.PRECOMMAND
        assert (as_precommand.signature.check, as_precommand.mac.check) == (Check.ABSENT, Check.ABSENT)
    else:
        assert as_message.verdict is Verdict.VALID
        assert as_precommand.verdict is Verdict.INVALID
