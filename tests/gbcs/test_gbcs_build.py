"""Building messages: the suite plays the supplier and the DCC (CS06, CS08) and, for the emulators, a device.

A CS06 COMMAND built from its PRECOMMAND (supplier DS signature, then the ACB's General Ciphered wrapper and
MAC) equals the DCC's except for the randomised ECDSA value, which verifies; with the DCC's signature
substituted the whole APDU is the DCC's, MAC included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from gbcs_rtds import ACB, CS06_CASES, SUPPLIER, rtds

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyEntry, KeyRole, KeyStore
from harness.crypto.pki import TestPki
from harness.emulator.gbcs_device import GbcsDevice
from harness.gbcs import (
    Check,
    CraFlag,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    Verdict,
    decode_apdu,
    decode_message,
    encode_apdu,
    encode_payload,
    protect,
    sign,
    verify_signature,
    wrap,
)
from harness.gbcs.apdu import DlmsDateTime, signing_part
from harness.gbcs.commands import DccCommands
from harness.gbcs.security import compute_mac

DEVICE = "00-DB-12-34-56-78-90-A0"


@pytest.mark.parametrize("case", CS06_CASES)
def test_cs06_command_from_precommand(case: str, vector_keys: KeyStore) -> None:
    precommand = decode_apdu(rtds(f"CS06_11.3_{case}_PRECOMMAND_GBCS.HEX"))
    dcc_octets = rtds(f"CS06_11.3_{case}_COMMAND_GBCS.HEX")
    dcc = decode_apdu(dcc_octets)
    assert isinstance(precommand, GeneralSigning) and isinstance(dcc, GeneralCiphered)

    ours = protect(precommand, vector_keys)  # supplier DS key, then ACB KA key with the device KA certificate
    assert isinstance(ours, GeneralCiphered)
    assert ours.signed.signature != dcc.signed.signature  # ECDSA is randomised
    assert verify_signature(ours.signed, vector_keys.public_key(SUPPLIER, "ds"))
    assert ours.signed.with_signature(dcc.signed.signature) == dcc.signed
    assert decode_message(encode_apdu(ours), keys=vector_keys).verdict is Verdict.VALID

    substituted = wrap(
        ours.signed.with_signature(dcc.signed.signature),
        vector_keys.private_key(ACB, "ka"),
        vector_keys.public_key(DEVICE, "ka"),
    )
    assert substituted.mac == dcc.mac
    assert encode_apdu(substituted) == dcc_octets


@pytest.mark.parametrize("case", CS06_CASES)
def test_explicit_keys_give_the_same_command(case: str, vector_keys: KeyStore) -> None:
    """The steps `protect` takes, spelled out with the brief's key files: 90b3d51f30010000-ds.key signs,
    90b3d51f30000002-ka.key with the device KA certificate MACs."""
    precommand = decode_apdu(rtds(f"CS06_11.3_{case}_PRECOMMAND_GBCS.HEX"))
    dcc = decode_apdu(rtds(f"CS06_11.3_{case}_COMMAND_GBCS.HEX"))
    assert isinstance(precommand, GeneralSigning) and isinstance(dcc, GeneralCiphered)
    signed = sign(precommand, vector_keys.private_key("90b3d51f30010000", "ds"))
    assert verify_signature(signed, vector_keys.public_key("90b3d51f30010000", "ds"))
    mac = compute_mac(
        signed.with_signature(dcc.signed.signature),
        vector_keys.private_key("90b3d51f30000002", "ka"),
        vector_keys.public_key(DEVICE, "ka"),
    )
    assert mac == dcc.mac


def test_cs08_command_built_from_fields_is_the_dccs(vector_keys: KeyStore) -> None:
    """CS08 carries no signature, so the whole APDU is deterministic and must equal RTDS."""
    header = GeneralBlockHeader(
        cra_flag=CraFlag.COMMAND,
        originator_counter=1300,
        originator=Eui64.parse(ACB),
        recipient=Eui64.parse("00-DB-12-34-56-78-90-A4"),
        message_code=0x0129,
        supplementary_remote_party=Eui64.parse(SUPPLIER),
        supplementary_remote_party_counter=1000,
    )
    unsigned = GeneralSigning(header, encode_payload(0x0129, CraFlag.COMMAND, None), signature=None)
    built = protect(unsigned, vector_keys, signed=False)
    assert encode_apdu(built) == rtds("CS08_11.2_SUCCESS_COMMAND_GBCS.HEX")


# -- the device side, with the generated test PKI ------------------------------------------------------
def _device_view(pki: TestPki, device: str) -> KeyStore:
    """What an emulated device holds: its own private keys and the remote parties' certificates only."""
    store = pki.keystore()
    device_eui = pki.party(device).eui
    entries = [
        entry if entry.eui == device_eui else KeyEntry(entry.eui, entry.role, entry.certificate, source=entry.source)
        for entry in store.entries()
    ]
    return KeyStore(entries, source="device view")


@pytest.mark.parametrize(
    "date_time",
    [
        DlmsDateTime.from_datetime(dt.datetime(2025, 6, 1, 12)),  # RTDS: deviation 0x8000, clock status 0xFF
        DlmsDateTime(2025, 6, 1, 7, 12, deviation=0, clock_status=0x00),  # deviation 0, status 0: valid DLMS too
    ],
    ids=["rtds-form", "zero-deviation-and-status"],
)
def test_device_signs_a_cs06_response(pki: TestPki, date_time: DlmsDateTime) -> None:
    """The judge accepts either DLMS date-time form from a device under test (both are valid DLMS)."""
    hcalcs, supplier = pki.party("hcalcs").eui, pki.party("supplier").eui
    header = GeneralBlockHeader(CraFlag.RESPONSE, 77, hcalcs, supplier, 0x0012, date_time=date_time)
    outcome = ("executionOutcome", {"activateImageResponseCode": 2, "firmwareVersion": bytes.fromhex("00020000")})
    unsigned = GeneralSigning(header, encode_payload(0x0012, CraFlag.RESPONSE, outcome), signature=None)
    response = protect(unsigned, _device_view(pki, "hcalcs"), mac=False)
    message = decode_message(encode_apdu(response), keys=pki.keystore())
    assert message.verdict is Verdict.VALID
    assert message.payload_fields()["executionOutcome"]["activateImageResponseCode"]["name"] == "hashMismatch"
    assert message.header.date_time == date_time and message.defects == ()


def test_device_macs_a_cs08_response_and_either_side_verifies(pki: TestPki) -> None:
    ppmid, acb, supplier = (pki.party(name).eui for name in ("ppmid", "acb", "supplier"))
    header = GeneralBlockHeader(
        CraFlag.RESPONSE,
        9,
        ppmid,
        acb,
        0x0129,
        supplementary_remote_party=supplier,
        supplementary_remote_party_counter=5,
    )
    value = {"firmwareVersion": bytes.fromhex("00030001"), "responseCode": 0}
    unsigned = GeneralSigning(header, encode_payload(0x0129, CraFlag.RESPONSE, value), signature=None)
    # The device holds its own KA private key and the ACB's certificate only.
    view = _device_view(pki, "ppmid")
    response = protect(unsigned, view, acb=acb, signed=False)
    assert isinstance(response, GeneralCiphered)
    assert (
        response.mac
        == wrap(unsigned.with_signature(b""), view.private_key(ppmid, KeyRole.KA), view.public_key(acb, KeyRole.KA)).mac
    )
    octets = encode_apdu(response)
    for keys in (pki.keystore(), view):  # the suite verifies as the ACB; the emulator as the device
        message = decode_message(octets, keys=keys, acb=acb)
        assert message.verdict is Verdict.VALID
        assert message.mac.check is Check.VALID


def test_a_future_dated_alert_round_trips(pki: TestPki) -> None:
    hcalcs, supplier = pki.party("hcalcs").eui, pki.party("supplier").eui
    value = {
        "alertCode": 0x8F66,
        "executionDateTime": dt.datetime(2030, 1, 15, 9, 0),
        "originatorCounter": 1001,
        "executionOutcome": {"activateImageResponseCode": 0, "firmwareVersion": bytes.fromhex("0123ABCE")},
    }
    header = GeneralBlockHeader(CraFlag.ALERT, 2, hcalcs, supplier, 0x00CA)
    unsigned = GeneralSigning(header, encode_payload(0x00CA, CraFlag.ALERT, value), signature=None)
    alert = protect(unsigned, pki.keystore(), mac=False)
    message = decode_message(encode_apdu(alert), keys=pki.keystore())
    assert message.verdict is Verdict.VALID
    assert message.payload == value


def test_signatures_are_randomised_and_all_verify(vector_keys: KeyStore) -> None:
    precommand = decode_apdu(rtds("CS06_11.3_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX"))
    assert isinstance(precommand, GeneralSigning)
    key = vector_keys.private_key(SUPPLIER, "ds")
    first, second = sign(precommand, key), sign(precommand, key)
    assert first.signature != second.signature
    assert all(verify_signature(s, vector_keys.public_key(SUPPLIER, "ds")) for s in (first, second))


def test_the_reference_ppmid_answers_cs08_as_rtds_does(pki: TestPki) -> None:
    """The emulated PPMID's CS08 response has the shape of `CS08_11.2_SUCCESS_RESPONSE`: to the ACB, the command's
    counter, the supplementary remote party and its counter echoed, no signature, a MAC that verifies."""
    ppmid, supplier, acb = (pki.party(name).eui for name in ("ppmid", "supplier", "acb"))
    sent: list[bytes] = []
    device = GbcsDevice(ppmid, pki.keystore(), sent.append, acb=acb)
    command = DccCommands(pki.keystore(), ppmid, now=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC), acb=acb).cs08()
    assert device.on_apdu(command, 0x0123ABCD) is not None
    ours = decode_message(sent[0], keys=pki.keystore(), acb=acb)
    theirs = decode_apdu(rtds("CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"))
    assert ours.verdict is Verdict.VALID and ours.mac.check is Check.VALID
    asked = decode_apdu(command).header
    assert ours.header == dataclasses.replace(
        theirs.header,
        originator_counter=asked.originator_counter,
        originator=ppmid,
        recipient=acb,
        supplementary_remote_party=supplier,
        supplementary_remote_party_counter=asked.supplementary_remote_party_counter,
    )
    assert signing_part(ours.apdu).payload == signing_part(theirs).payload  # version 0123ABCD, readSuccess
