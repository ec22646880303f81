"""The RTDS 4.5.0 APDUs (domain.md §10, §12): facts nobody on this project wrote.

Every file decodes to the header and payload fields below, its signature verifies with the originator's DS
certificate, its MAC (General Ciphered) verifies with the KA pair of the general rule (commands: ACB and
device; responses: device and the recipient the header names), and decoding then re-encoding reproduces it
byte for byte; the DER payloads of the firmware messages re-encode through the asn1tools codec of firmware.asn.
The three non-firmware samples (ECS52, ECS17b, ECS21b) decode to their header and Other Information, and their
payload is left undecoded (outside the firmware scope). `test_gbcs_rtds_folder.py` runs over whatever the
folder holds; this module pins the field values of the files it names.
"""

from __future__ import annotations

from typing import Any

import pytest
from gbcs_rtds import (
    ACB,
    CS06_CASES,
    MESSAGE_FILES,
    NETWORK_OPERATOR,
    RTDS_FILES,
    SUPPLIER,
    each,
    is_precommand,
    rtds,
)

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
    key_roles,
    message_spec,
    verify_mac,
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
        (
            "ECS52_11.2_SUCCESS_RESPONSE_GBCS.HEX",
            {
                "cra_flag": 2,
                "originator_counter": 1000,
                "originator": HCALCS,
                "recipient": SUPPLIER,
                "message_code": 0x0059,
            },
            None,
        ),
        (
            "ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE_GBCS.HEX",
            {
                "cra_flag": 2,
                "originator_counter": 1200,
                "originator": HCALCS,
                "recipient": NETWORK_OPERATOR,
                "message_code": 0x0027,
                "date_time": RESPONSE_TIME,
            },
            None,
        ),
        (
            "ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX",
            {
                "cra_flag": 1,
                "originator_counter": 1302,
                "originator": ACB,
                "recipient": HCALCS,
                "message_code": 0x0034,
                "supplementary_remote_party": SUPPLIER,
                "supplementary_remote_party_counter": 1004,
            },
            None,
        ),
    ]
}
#: The samples for the general rules (domain.md §10), whose payloads are outside the firmware scope.
OUTSIDE_SCOPE = {
    "ECS52_11.2_SUCCESS_RESPONSE_GBCS.HEX",
    "ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE_GBCS.HEX",
    "ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX",
}
NAMED = tuple(name for name in RTDS_FILES if name in EXPECTED)
FIRMWARE = tuple(name for name in NAMED if name not in OUTSIDE_SCOPE)

_HEADER_DEFAULTS = {
    "date_time": None,
    "supplementary_remote_party": None,
    "supplementary_remote_party_counter": None,
    "supplementary_originator_counter": None,
    "supplementary_remote_party_certificate": None,
}


def test_every_expectation_names_a_file_of_the_folder() -> None:
    if not RTDS_FILES:
        pytest.skip("RTDS 4.5.0 vectors not found (../shared is not part of the repository)")
    assert set(EXPECTED) <= set(RTDS_FILES)


@pytest.mark.parametrize("name", each(NAMED))
def test_header_fields(name: str, vector_keys: KeyStore) -> None:
    message = decode_message(rtds(name), keys=vector_keys, precommand=is_precommand(name))
    header = message.to_dict()["header"]
    expected = {**_HEADER_DEFAULTS, **EXPECTED[name][0]}
    expected["message_code"] = f"0x{expected['message_code']:04X}"
    if name.startswith("ECS21b"):
        del expected["supplementary_remote_party_certificate"]  # test_the_key_agreement_certificate_is_cut
    assert {key: header[key] for key in expected} == expected
    assert header["cra"] == CraFlag(expected["cra_flag"]).name.lower()


@pytest.mark.parametrize("name", each(NAMED))
def test_payload_fields(name: str) -> None:
    message = decode_message(rtds(name), precommand=is_precommand(name))
    assert message.payload_error is None
    assert message.payload_fields() == EXPECTED[name][1]
    assert (message.spec is None) == (name in OUTSIDE_SCOPE)
    if name in OUTSIDE_SCOPE:
        assert message.payload_status == "not decoded (outside the firmware scope)"
        assert message.name == "message code outside the firmware scope"


@pytest.mark.parametrize("name", each(MESSAGE_FILES))
def test_signature_and_mac_verify_and_the_message_is_valid(name: str, vector_keys: KeyStore) -> None:
    message = decode_message(rtds(name), keys=vector_keys)
    assert message.verdict is Verdict.VALID, (message.defects, message.signature, message.mac, message.unusable)
    signed = bool(signing_part(message.apdu).signature)
    assert message.signature.check is (Check.VALID if signed else Check.ABSENT)
    ciphered = isinstance(message.apdu, GeneralCiphered)
    assert message.mac.check is (Check.VALID if ciphered else Check.ABSENT)
    if message.spec is not None:
        assert (signed, ciphered) == (message.spec.signed, message.spec.mac)
    assert message.form is (Form.GENERAL_CIPHERED if ciphered else Form.GENERAL_SIGNING)


def test_the_key_agreement_certificate_is_cut(vector_keys: KeyStore) -> None:
    """ECS21b: after the supplementary remote party and its counter, Other Information carries that party's
    key-agreement certificate (406 octets of DER); it is cut, read with `cryptography` and shown."""
    name = "ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX"
    message = decode_message(rtds(name), keys=vector_keys)
    header = message.header
    assert header.supplementary_remote_party_certificate is not None
    assert len(header.supplementary_remote_party_certificate) == 406
    assert header.supplementary_originator_counter is None
    shown = message.to_dict()["header"]["supplementary_remote_party_certificate"]
    assert shown["size"] == 406
    assert shown["eui64"] == SUPPLIER
    assert "OU=02" in shown["subject"] and shown["issuer"] == "CN=Z1,OU=07"
    assert message.verdict is Verdict.VALID


def test_responses_are_macd_with_the_recipient_named_in_the_header(vector_keys: KeyStore) -> None:
    """domain.md §10: the device's KA key with the recipient's (supplier, network operator, ACB), never always
    the ACB's: the same MAC checked with the ACB's key instead does not match."""
    for name, recipient in (
        ("ECS52_11.2_SUCCESS_RESPONSE_GBCS.HEX", SUPPLIER),
        ("ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE_GBCS.HEX", NETWORK_OPERATOR),
        ("CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX", ACB),
    ):
        apdu = decode_apdu(rtds(name))
        assert isinstance(apdu, GeneralCiphered)
        roles = key_roles(apdu.header)
        assert str(roles.mac_remote_party) == f"{recipient} ka"
        device_key = vector_keys.public_key(apdu.header.originator, "ka")
        assert verify_mac(apdu, vector_keys.private_key(recipient, "ka"), device_key)
        if recipient != ACB:
            assert not verify_mac(apdu, vector_keys.private_key(ACB, "ka"), device_key)


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
    for other in (
        "ECS52_11.2_SUCCESS_RESPONSE",
        "ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE",
        "ECS21b_4.14_URP_SUCCESS_COMMAND",
    ):
        assert seen.get(other, ("absent", "valid")) == ("absent", "valid"), other


@pytest.mark.parametrize("name", each(RTDS_FILES))
def test_reencoding_reproduces_the_apdu(name: str) -> None:
    data = rtds(name)
    apdu = decode_apdu(data)
    assert encode_apdu(apdu) == data
    signed = signing_part(apdu)
    assert decode_general_signing(encode_general_signing(signed)) == signed


@pytest.mark.parametrize("name", each(FIRMWARE))
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
    for name in FIRMWARE:
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


@pytest.mark.parametrize("name", each(RTDS_FILES))
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
