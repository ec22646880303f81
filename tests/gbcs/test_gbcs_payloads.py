"""Payload codecs: the asn1tools-compiled firmware.asn types accept exactly DER, report constraint breaches as
defects, and name their values; the GBZ receipt alert codec does the same for its fixed layout."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.gbcs import payloads
from harness.gbcs.gbz import GBZ_EPOCH, RECEIPT_ALERT
from harness.gbcs.payloads import Asn1Payload, PayloadError

RESPONSE_ERROR = bytes.fromhex("300902010104040123ABCF")
FUTURE_COMMAND = bytes.fromhex(
    "30370420AA758690730934FF0685AA758690730934FF0685657788990011223344556677020203E9180F32303330303131353039303030305A"
)
RECEIPT = bytes.fromhex("0109018F721C374A800920") + bytes([0xA1]) * 32


def test_every_type_of_the_module_is_known() -> None:
    assert set(payloads.type_names()) >= {
        "ActivateFirmwareCommand",
        "ActivateFirmwareResponse",
        "FutureDatedFirmwareActivationAlert",
        "ReadFirmwareVersionCommand",
        "ReadFirmwareVersionResponse",
        "FirmwareActivationAlert",
        "FirmwareTransferAlert",
    }
    with pytest.raises(KeyError, match=r"firmware\.asn"):
        Asn1Payload("NoSuchType")


def test_values_are_asn1tools_python_form() -> None:
    assert payloads.ACTIVATE_FIRMWARE_RESPONSE.decode(RESPONSE_ERROR) == (
        "executionOutcome",
        {"activateImageResponseCode": 1, "firmwareVersion": bytes.fromhex("0123ABCF")},
    )
    assert payloads.ACTIVATE_FIRMWARE_RESPONSE.decode(b"\x05\x00") == ("commandAccepted", None)
    assert payloads.READ_FIRMWARE_VERSION_COMMAND.decode(b"\x05\x00") is None
    command = payloads.ACTIVATE_FIRMWARE_COMMAND.decode(FUTURE_COMMAND)
    assert command["originatorCounter"] == 1001
    assert command["executionDateTime"] == dt.datetime(2030, 1, 15, 9, 0)


def test_cancellation_time_round_trips() -> None:
    """RTDS cancels a pending future-dated CS06 with 99991231235959Z (domain.md §10)."""
    value = {
        "manufacturerImageHash": bytes(32),
        "originatorCounter": 1,
        "executionDateTime": dt.datetime(9999, 12, 31, 23, 59, 59),
    }
    octets = payloads.ACTIVATE_FIRMWARE_COMMAND.encode(value)
    assert b"99991231235959Z" in octets
    assert payloads.ACTIVATE_FIRMWARE_COMMAND.decode(octets) == value


@pytest.mark.parametrize(
    ("octets", "message"),
    [
        ("300A0202000104040123ABCF", "not in DER form"),  # non-minimal INTEGER
        ("30818902010104040123ABCF", "not a DER"),  # length beyond the octets
        ("300902010104040123ABCF00", "1 octet"),  # trailing octet
        ("3009020101040401", "not a DER"),  # truncated
        ("0501", "not a DER"),  # NULL with contents
        ("300B020101040401", "not a DER"),
        ("", "not a DER"),
    ],
)
def test_only_exact_der_decodes(octets: str, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        payloads.ACTIVATE_FIRMWARE_RESPONSE.decode(bytes.fromhex(octets))


def test_a_bad_generalized_time_is_a_payload_error() -> None:
    with pytest.raises(PayloadError):
        payloads.ACTIVATE_FIRMWARE_COMMAND.decode(FUTURE_COMMAND[:-1] + b"+")


def test_constraint_breaches_are_defects_not_parse_errors() -> None:
    short = payloads.READ_FIRMWARE_VERSION_RESPONSE.encode({"firmwareVersion": b"\x01\x02\x03", "responseCode": 0})
    value = payloads.READ_FIRMWARE_VERSION_RESPONSE.decode(short)
    assert any("firmwareVersion" in d for d in payloads.READ_FIRMWARE_VERSION_RESPONSE.defects(value))
    hash31 = {"manufacturerImageHash": bytes(31), "originatorCounter": 1}
    assert payloads.ACTIVATE_FIRMWARE_COMMAND.defects(hash31)


def test_unnamed_enumerated_values_are_defects() -> None:
    value = ("executionOutcome", {"activateImageResponseCode": 9, "firmwareVersion": bytes(4)})
    defects = payloads.ACTIVATE_FIRMWARE_RESPONSE.defects(value)
    assert defects == [
        "ActivateFirmwareResponse.executionOutcome.activateImageResponseCode: 9 is none of the values GBCS names"
    ]


def test_describe_names_values() -> None:
    alert = {
        "alertCode": 0x8F89,
        "executionDateTime": dt.datetime(2015, 1, 1),
        "entityId": bytes.fromhex("00DB1234567890A4"),
        "firmwareVersion": bytes.fromhex("0123ABCD"),
        "responseCode": 2,
    }
    assert payloads.FIRMWARE_TRANSFER_ALERT.describe(alert) == {
        "alertCode": {"value": 0x8F89, "name": "firmwareTransferFailure", "hex": "0x8F89"},
        "executionDateTime": "2015-01-01T00:00:00Z",
        "entityId": "00DB1234567890A4",
        "firmwareVersion": "0123ABCD",
        "responseCode": {"value": 2, "name": "hardwareVersionMismatch"},
    }
    assert payloads.alert_code_name(0x8F8B) == "readFirmwareVersionAlert"
    assert payloads.alert_code_name(0x1234) is None


def test_cs09_alert_codec() -> None:
    value = {
        "alertCode": 0x8F8B,
        "executionDateTime": dt.datetime(2024, 2, 29, 23, 59, 59),
        "firmwareVersion": bytes.fromhex("00010002"),
        "activateImage": 1,
    }
    octets = payloads.FIRMWARE_ACTIVATION_ALERT.encode(value)
    assert octets[:2] == b"\x30" + bytes([len(octets) - 2])
    assert payloads.FIRMWARE_ACTIVATION_ALERT.decode(octets) == value
    assert payloads.FIRMWARE_ACTIVATION_ALERT.describe(value)["activateImage"] == {"value": 1, "name": "failure"}


def test_encode_errors_are_typed() -> None:
    with pytest.raises(PayloadError, match="cannot encode"):
        payloads.ACTIVATE_FIRMWARE_COMMAND.encode({"manufacturerImageHash": bytes(32)})


# -- GBZ ------------------------------------------------------------------------------------------------
def test_gbz_receipt_alert_fields() -> None:
    value = RECEIPT_ALERT.decode(RECEIPT)
    assert value == {
        "profileId": 0x0109,
        "componentCount": 1,
        "alertCode": 0x8F72,
        "timestamp": dt.datetime(2015, 1, 1),
        "calculatedManufacturerHash": bytes([0xA1]) * 32,
    }
    assert RECEIPT_ALERT.encode(value) == RECEIPT
    assert RECEIPT_ALERT.defects(value) == []
    assert RECEIPT_ALERT.describe(value)["alertCode"]["name"] == "firmwareVerificationSuccessful"


def test_gbz_time_counts_from_2000() -> None:
    value = {**RECEIPT_ALERT.decode(RECEIPT), "timestamp": GBZ_EPOCH, "alertCode": 0x8F1C}
    assert RECEIPT_ALERT.encode(value)[5:9] == bytes(4)


def test_gbz_defects() -> None:
    value = {**RECEIPT_ALERT.decode(RECEIPT), "profileId": 0x0104, "componentCount": 2}
    value["calculatedManufacturerHash"] = bytes(31)
    defects = RECEIPT_ALERT.defects(RECEIPT_ALERT.decode(RECEIPT_ALERT.encode(value)))
    assert len(defects) == 3


@pytest.mark.parametrize("octets", [RECEIPT[:-1], RECEIPT + b"\x00", RECEIPT[:9] + b"\x04" + RECEIPT[10:], b""])
def test_gbz_layout_errors(octets: bytes) -> None:
    with pytest.raises(PayloadError):
        RECEIPT_ALERT.decode(octets)


def test_gbz_encode_errors_are_typed() -> None:
    with pytest.raises(PayloadError):
        RECEIPT_ALERT.encode({**RECEIPT_ALERT.decode(RECEIPT), "timestamp": dt.datetime(1999, 1, 1)})
