"""Security primitives against independent computations, key roles, and what each check says when it cannot
run."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gbcs_rtds import ACB, SUPPLIER, rtds

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.crypto.pki import TestPki
from harness.gbcs import Check, CraFlag, GeneralBlockHeader, GeneralCiphered, GeneralSigning, decode_apdu, key_roles
from harness.gbcs.apdu import encode_general_signing
from harness.gbcs.security import (
    KeyRef,
    check_mac,
    check_signature,
    derive_mac_key,
    gmac,
    kdf_other_info,
    mac_key_pair,
    signed_octets,
)

DEVICE = Eui64.parse("00-DB-12-34-56-78-90-A4")


def test_kdf_other_info_layout() -> None:
    header = GeneralBlockHeader(CraFlag.RESPONSE, 0x0514, DEVICE, Eui64.parse(ACB), 0x0129)
    info = kdf_other_info(header)
    assert len(info) == 33
    assert info.hex().upper() == (
        "60857406080300" + "00DB1234567890A4" + "09" + "02" + "0000000000000514" + "90B3D51F30000002"
    )


def test_key_derivation_is_one_sha256_round(pki: TestPki) -> None:
    keys = pki.keystore()
    acb, ppmid = pki.party("acb").eui, pki.party("ppmid").eui
    header = GeneralBlockHeader(CraFlag.COMMAND, 5, acb, ppmid, 0x0129)
    private, public = keys.private_key(acb, KeyRole.KA), keys.public_key(ppmid, KeyRole.KA)
    shared = private.exchange(ec.ECDH(), public)
    expected = hashlib.sha256(b"\x00\x00\x00\x01" + shared + kdf_other_info(header)).digest()[:16]
    assert derive_mac_key(private, public, header) == expected
    # ECDH is symmetric: the device derives the same key from its side.
    assert derive_mac_key(keys.private_key(ppmid, KeyRole.KA), keys.public_key(acb, KeyRole.KA), header) == expected


def test_gmac_is_the_truncated_gcm_tag() -> None:
    key, iv, aad = bytes(range(16)), bytes(range(12)), b"additional data"
    assert gmac(key, iv, aad) == AESGCM(key).encrypt(iv, b"", aad)[:12]


def test_signed_octets_drop_the_tag_and_the_signature_field() -> None:
    apdu = decode_apdu(rtds("CCS08_NA_NA_ALERT_GBCS.HEX"))
    assert isinstance(apdu, GeneralSigning)
    octets = encode_general_signing(apdu)
    assert signed_octets(apdu) == octets[1 : -(1 + 64)]


@pytest.mark.parametrize("cra", [CraFlag.COMMAND, CraFlag.RESPONSE, CraFlag.ALERT])
def test_key_roles_follow_the_direction(cra: CraFlag) -> None:
    """domain.md §10: a command pairs the ACB's KA key with the device's (the recipient), whoever signed it; a
    response or alert pairs the device's (the originator) with the recipient's the header names."""
    supplier = Eui64.parse(SUPPLIER)
    originator, recipient = (supplier, DEVICE) if cra is CraFlag.COMMAND else (DEVICE, supplier)
    roles = key_roles(GeneralBlockHeader(cra, 1, originator, recipient, 0x0012))
    assert (roles.signer.eui, roles.signer.role) == (originator, KeyRole.DS)
    assert roles.mac_device == KeyRef(DEVICE, KeyRole.KA)
    expected_remote = Eui64.parse(ACB) if cra is CraFlag.COMMAND else supplier
    assert roles.mac_remote_party == KeyRef(expected_remote, KeyRole.KA)
    assert str(roles.signer) == f"{originator} ds"


def test_the_acb_option_names_the_party_of_commands_only() -> None:
    other_acb = Eui64.parse("90-B3-D5-1F-30-00-00-07")
    command = GeneralBlockHeader(CraFlag.COMMAND, 1, Eui64.parse(SUPPLIER), DEVICE, 0x0012)
    response = GeneralBlockHeader(CraFlag.RESPONSE, 1, DEVICE, Eui64.parse(ACB), 0x0129)
    assert key_roles(command, other_acb).mac_remote_party.eui == other_acb
    assert key_roles(response, other_acb).mac_remote_party.eui == Eui64.parse(ACB)


def test_checks_without_keys_are_not_checked() -> None:
    apdu = decode_apdu(rtds("CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"))
    assert check_signature(apdu, None).check is Check.NOT_CHECKED
    assert check_mac(apdu, None).check is Check.NOT_CHECKED


def test_checks_with_a_store_missing_the_keys(pki: TestPki) -> None:
    """The generated PKI knows none of the RTDS devices: the checks cannot run (unusable, not invalid)."""
    apdu = decode_apdu(rtds("CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"))
    signature = check_signature(apdu, pki.keystore())
    mac = check_mac(apdu, pki.keystore())
    assert signature.check is Check.INVALID  # the generated supplier has the DCC's EUI-64 but its own key
    assert mac.check is Check.KEY_MISSING
    assert "00-DB-12-34-56-78-90-A0" in mac.detail


def test_signature_verdicts(vector_keys: KeyStore) -> None:
    apdu = decode_apdu(rtds("CCS08_NA_NA_ALERT_GBCS.HEX"))
    assert isinstance(apdu, GeneralSigning)
    assert check_signature(apdu, vector_keys).check is Check.VALID
    assert check_signature(apdu.with_signature(b""), vector_keys).check is Check.ABSENT
    assert check_signature(apdu.with_signature(None), vector_keys).check is Check.ABSENT
    assert check_signature(apdu.with_signature(bytes(63)), vector_keys).check is Check.INVALID
    assert check_signature(apdu.with_signature(bytes(64)), vector_keys).check is Check.INVALID
    assert check_mac(apdu, vector_keys).check is Check.ABSENT


def test_mac_verdicts(vector_keys: KeyStore) -> None:
    apdu = decode_apdu(rtds("CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"))
    assert isinstance(apdu, GeneralCiphered)
    assert check_mac(apdu, vector_keys).check is Check.VALID
    flipped = GeneralCiphered(apdu.signed, bytes([apdu.mac[0] ^ 1]) + apdu.mac[1:])
    assert check_mac(flipped, vector_keys).check is Check.INVALID
    # A response's pair is the header's recipient, whatever ACB is named; a command's is the named ACB.
    assert check_mac(apdu, vector_keys, acb=SUPPLIER).check is Check.VALID
    command = decode_apdu(rtds("CS08_11.2_SUCCESS_COMMAND_GBCS.HEX"))
    assert check_mac(command, vector_keys).check is Check.VALID
    assert check_mac(command, vector_keys, acb=SUPPLIER).check is Check.INVALID


def test_mac_key_pair_prefers_the_acb(vector_keys: KeyStore) -> None:
    header = decode_apdu(rtds("CS08_11.2_SUCCESS_COMMAND_GBCS.HEX")).header
    private, public = mac_key_pair(vector_keys, key_roles(header))
    assert private.public_key() == vector_keys.public_key(ACB, KeyRole.KA)
    assert public == vector_keys.public_key(DEVICE, KeyRole.KA)
