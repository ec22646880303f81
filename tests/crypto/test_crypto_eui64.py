"""EUI-64 text forms and the two places GBCS certificates carry an EUI-64."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type  # the only way to build a malformed BIT STRING attribute
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from harness.crypto.eui64 import (
    GBCS_DEVICE_HW_TYPE_OID,
    HARDWARE_MODULE_NAME_OID,
    Eui64,
    certificate_eui64,
    hardware_module_name,
    san_eui64,
    subject_eui64,
    x500_unique_identifier,
)

SUPPLIER = Eui64(bytes.fromhex("90b3d51f30010000"))


@pytest.mark.parametrize(
    "text",
    [
        "90-B3-D5-1F-30-01-00-00",
        "90-b3-d5-1f-30-01-00-00",
        "90b3d51f30010000",
        "90B3D51F30010000",
        "90:b3:d5:1f:30:01:00:00",
        "90 B3 D5 1F 30 01 00 00",
        "  90b3d51f30010000\n",
    ],
)
def test_every_text_form_parses_to_the_same_value(text: str) -> None:
    assert Eui64.parse(text) == SUPPLIER


def test_non_text_inputs() -> None:
    assert Eui64.parse(bytes.fromhex("90b3d51f30010000")) == SUPPLIER
    assert Eui64.parse(bytearray.fromhex("90b3d51f30010000")) == SUPPLIER
    assert Eui64.parse(0x90B3D51F30010000) == SUPPLIER
    assert Eui64.parse(SUPPLIER) is SUPPLIER


def test_canonical_forms() -> None:
    assert SUPPLIER.hex == "90b3d51f30010000"
    assert SUPPLIER.dashed == str(SUPPLIER) == "90-B3-D5-1F-30-01-00-00"
    assert SUPPLIER.colon == "90:b3:d5:1f:30:01:00:00"
    assert repr(SUPPLIER) == "Eui64('90-B3-D5-1F-30-01-00-00')"
    assert int(SUPPLIER) == 0x90B3D51F30010000
    assert bytes(SUPPLIER) == bytes.fromhex("90b3d51f30010000")


def test_zigbee_wire_order_is_reversed() -> None:
    assert SUPPLIER.little_endian() == bytes.fromhex("000001301fd5b390")
    assert Eui64.from_little_endian(SUPPLIER.little_endian()) == SUPPLIER


@pytest.mark.parametrize(
    "bad",
    [
        "90-B3-D5-1F-30-01-00",  # 7 octets
        "90b3d51f3001000",  # 15 digits
        "90-B3:D5-1F-30-01-00-00",  # mixed separators
        "90b3-d51f-3001-0000",  # separators in the wrong places
        "90b3d51f3001000g",
        "",
        b"\x00" * 7,
        -1,
        1 << 64,
    ],
)
def test_malformed_values_are_rejected(bad: object) -> None:
    with pytest.raises(ValueError):
        Eui64.parse(bad)  # type: ignore[arg-type]


def test_wrong_types_are_rejected() -> None:
    with pytest.raises(TypeError):
        Eui64.parse(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Eui64.parse(True)


def test_usable_as_key_and_sortable() -> None:
    other = Eui64.parse("00-DB-12-34-56-78-90-A4")
    assert sorted([SUPPLIER, other]) == [other, SUPPLIER]
    assert {SUPPLIER: 1}[Eui64.parse("90b3d51f30010000")] == 1


@given(st.binary(min_size=8, max_size=8))
def test_all_forms_round_trip(octets: bytes) -> None:
    eui = Eui64(octets)
    for text in (eui.hex, eui.dashed, eui.colon, eui.hex.upper()):
        assert Eui64.parse(text) == eui
    assert Eui64.parse(int(eui)) == eui


def _load(directory: Path, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((directory / name).read_bytes())


def test_hardware_module_name_matches_the_dcc_encoding(vector_keys_dir: Path) -> None:
    cert = _load(vector_keys_dir, "00db1234567890a4-ds.pem")
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    [dcc] = san.get_values_for_type(x509.OtherName)
    assert hardware_module_name(Eui64.parse("00db1234567890a4")) == dcc
    assert dcc.type_id == HARDWARE_MODULE_NAME_OID


def test_x500_unique_identifier_matches_the_dcc_encoding(vector_keys_dir: Path) -> None:
    cert = _load(vector_keys_dir, "90b3d51f30010000-ka.pem")
    [dcc] = cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    ours = x500_unique_identifier(SUPPLIER)
    assert x509.Name([ours]).public_bytes() == x509.Name([dcc]).public_bytes()


def test_eui_from_the_san_of_a_dcc_device_certificate(vector_keys_dir: Path) -> None:
    cert = _load(vector_keys_dir, "00db1234567890a4-ds.pem")
    assert san_eui64(cert) == Eui64.parse("00db1234567890a4")
    assert subject_eui64(cert) is None


def test_eui_from_every_dcc_certificate_matches_its_file_name(vector_keys_dir: Path) -> None:
    # One DCC Boxed file is mis-filed: its certificate is a copy of 90b3d51f30030000-ka.pem.
    misfiled = {"90b3d51f30000007-ka.pem": Eui64.parse("90b3d51f30030000")}
    for path in sorted(vector_keys_dir.glob("*.pem")):
        expected = misfiled.get(path.name, Eui64.parse(path.name[:16]))
        assert certificate_eui64(_load(vector_keys_dir, path.name)) == expected, path.name


def _certificate_with(san_value: bytes | None = None, subject_uid: bytes | None = None) -> x509.Certificate:
    """A self-signed certificate whose HardwareModuleName / x500UniqueIdentifier holds the given raw value."""
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = []
    if subject_uid is not None:
        attributes.append(x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, subject_uid, _ASN1Type.BitString))
    name = x509.Name(attributes)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
    )
    if san_value is not None:
        other = x509.OtherName(HARDWARE_MODULE_NAME_OID, san_value)
        builder = builder.add_extension(x509.SubjectAlternativeName([other]), critical=True)
    return builder.sign(key, hashes.SHA256())


def _der_sequence(body: bytes) -> bytes:
    return b"\x30" + bytes([len(body)]) + body


_HW_TYPE_DER = hardware_module_name(SUPPLIER).value[2:17]  # 06 0d + the 13-octet OID


def test_certificate_without_eui() -> None:
    assert certificate_eui64(_certificate_with()) is None


@pytest.mark.parametrize(
    ("san_value", "problem"),
    [
        (bytes.fromhex("3003020101"), "not valid DER"),
        (_der_sequence(_HW_TYPE_DER + b"\x04\x07" + bytes(7)), "7 octets"),
    ],
    ids=["integer-not-oid", "short-serial"],
)
def test_malformed_hardware_module_name(san_value: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        certificate_eui64(_certificate_with(san_value=san_value))


def test_malformed_unique_identifier() -> None:
    with pytest.raises(ValueError, match="8-octet BIT STRING"):
        subject_eui64(_certificate_with(subject_uid=b"\x00" + bytes(7)))


def test_hw_type_is_the_dcc_one() -> None:
    assert GBCS_DEVICE_HW_TYPE_OID.dotted_string == "1.2.826.0.1.8641679.1.2.2.1"
