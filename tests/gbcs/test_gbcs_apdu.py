"""GBCS framing: lengths, the General Block header's optional parts, the General Ciphered wrapper, and the
one error type for octets that cannot be cut."""

from __future__ import annotations

import dataclasses

import pytest

from harness.crypto.eui64 import Eui64
from harness.gbcs import (
    CraFlag,
    DlmsDateTime,
    GbcsFormatError,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    decode_apdu,
    encode_apdu,
    octets_from_hex,
)
from harness.gbcs.apdu import ENCODED_LENGTH, construct_error_text

ORIGINATOR = Eui64.parse("90-B3-D5-1F-30-01-00-00")
RECIPIENT = Eui64.parse("00-DB-12-34-56-78-90-A0")


def _header(**changes: object) -> GeneralBlockHeader:
    header = GeneralBlockHeader(CraFlag.COMMAND, 1000, ORIGINATOR, RECIPIENT, 0x0012)
    return dataclasses.replace(header, **changes)


@pytest.mark.parametrize(
    ("value", "octets"),
    [(0, "00"), (0x7F, "7F"), (0x80, "8180"), (0xFF, "81FF"), (0x100, "820100"), (0xFFFF, "82FFFF")],
)
def test_encoded_length_uses_the_shortest_form(value: int, octets: str) -> None:
    assert ENCODED_LENGTH.build(value) == bytes.fromhex(octets)
    assert ENCODED_LENGTH.parse(bytes.fromhex(octets)) == value


@pytest.mark.parametrize("octets", ["8105", "82007F", "8200FF", "80", "83010000", "84"])
def test_non_minimal_or_unsupported_lengths_cannot_be_cut(octets: str) -> None:
    # The payload length field of a minimal APDU, replaced by `octets`.
    prefix = encode_apdu(GeneralSigning(_header(), b"", signature=None))[:-1]
    with pytest.raises(GbcsFormatError, match="payload"):
        decode_apdu(prefix + bytes.fromhex(octets) + b"\x05\x00")


@pytest.mark.parametrize("size", [0, 2, 0x7F, 0x80, 0xFF, 0x100, 0x3000])
@pytest.mark.parametrize("signature", [None, b"", bytes(range(64))])
def test_general_signing_round_trips_at_every_length_form(size: int, signature: bytes | None) -> None:
    apdu = GeneralSigning(_header(), bytes(range(256)) * (size // 256) + bytes(size % 256), signature)
    octets = encode_apdu(apdu)
    assert decode_apdu(octets) == apdu
    assert octets[-1:] == (b"\x00" if signature == b"" else octets[-1:])


@pytest.mark.parametrize("size", [0, 0x6E, 0x6F, 0xEE, 0xEF])
def test_general_ciphered_round_trips_across_its_length_forms(size: int) -> None:
    apdu = GeneralCiphered(GeneralSigning(_header(), bytes(size), b""), mac=bytes(range(12)))
    assert decode_apdu(encode_apdu(apdu)) == apdu


def test_signature_field_forms() -> None:
    """None: no signature length octet (PRECOMMAND); b"": length 0x00; else 0x40 and the 64 octets."""
    base = encode_apdu(GeneralSigning(_header(), b"\x05\x00", None))
    assert encode_apdu(GeneralSigning(_header(), b"\x05\x00", b"")) == base + b"\x00"
    assert encode_apdu(GeneralSigning(_header(), b"\x05\x00", bytes(64))) == base + b"\x40" + bytes(64)
    assert decode_apdu(base).is_precommand  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "other_information"),
    [
        ({}, "020012"),
        ({"supplementary_remote_party": ORIGINATOR}, "0A001290B3D51F30010000"),
        (
            {"supplementary_remote_party": ORIGINATOR, "supplementary_remote_party_counter": 0x3E8},
            "12001290B3D51F3001000000000000000003E8",
        ),
        (
            {
                "supplementary_remote_party": ORIGINATOR,
                "supplementary_remote_party_counter": 0x3E8,
                "supplementary_originator_counter": 7,
            },
            "1A001290B3D51F3001000000000000000003E80000000000000007",
        ),
    ],
)
def test_other_information_forms(changes: dict[str, object], other_information: str) -> None:
    apdu = GeneralSigning(_header(**changes), b"\x05\x00", b"")
    octets = encode_apdu(apdu)
    assert bytes.fromhex(other_information) in octets
    assert decode_apdu(octets) == apdu


def test_other_information_with_a_partial_field_cannot_be_cut() -> None:
    octets = encode_apdu(GeneralSigning(_header(), b"\x05\x00", b""))
    broken = octets.replace(bytes.fromhex("00020012"), bytes.fromhex("0006001201020304"), 1)
    with pytest.raises(GbcsFormatError, match="other_information"):
        decode_apdu(broken)


def test_a_supplementary_counter_needs_its_remote_party() -> None:
    with pytest.raises(ValueError, match="supplementary"):
        _header(supplementary_remote_party_counter=1)


def test_dlms_date_time() -> None:
    value = DlmsDateTime(2015, 1, 1)
    assert bytes(value) == bytes.fromhex("07DF0101FF000000008000FF")
    assert DlmsDateTime.from_bytes(bytes(value)) == value
    assert value.text == "2015-01-01 00:00:00.00 (deviation unspecified, clock status 0xFF)"
    unspecified = DlmsDateTime(0xFFFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 60, 0)
    assert unspecified.text == "---------- --:--:--.-- (deviation 60 min, clock status 0x00)"
    apdu = GeneralSigning(_header(date_time=value), b"\x05\x00", b"")
    assert decode_apdu(encode_apdu(apdu)) == apdu


def test_a_date_time_of_another_length_cannot_be_cut() -> None:
    octets = encode_apdu(GeneralSigning(_header(), b"\x05\x00", b""))
    position = 1 + 1 + 9 + 9 + 9  # tag, 09, CRA + counter, 08 + originator, 08 + recipient
    assert octets[position] == 0
    broken = octets[:position] + b"\x03abc" + octets[position + 1 :]
    with pytest.raises(GbcsFormatError, match="date-time: 3 octets"):
        decode_apdu(broken)


@pytest.mark.parametrize(
    ("octets", "message"),
    [
        (b"", "no octets"),
        (b"\x30\x00", "neither General Signing"),
        (b"\xdf\x08", "expected"),
        (b"\xdd\x00\x00\x00\x00\x00\x00\x05", "General Ciphered"),
    ],
)
def test_what_cannot_be_cut(octets: bytes, message: str) -> None:
    with pytest.raises(GbcsFormatError, match=message):
        decode_apdu(octets)


def test_the_wrapped_apdu_must_be_general_signing() -> None:
    inner = encode_apdu(GeneralCiphered(GeneralSigning(_header(), b"", b""), bytes(12)))
    outer = b"\xdd" + bytes(6) + bytes([5 + len(inner) + 12]) + b"\x11" + bytes(4) + inner + bytes(12)
    with pytest.raises(GbcsFormatError, match="the wrapped APDU"):
        decode_apdu(outer)


def test_ciphered_fixed_fields_are_kept_for_the_judge() -> None:
    apdu = GeneralCiphered(
        GeneralSigning(_header(), b"\x05\x00", b""), bytes(12), security_control=0x30, invocation_counter=5,
        unused_header=b"\x01" + bytes(5),
    )  # fmt: skip
    assert decode_apdu(encode_apdu(apdu)) == apdu


@pytest.mark.parametrize(
    "apdu",
    [
        GeneralSigning(_header(originator_counter=-1), b"", b""),
        GeneralSigning(_header(cra_flag=256), b"", b""),
        GeneralSigning(_header(date_time=DlmsDateTime(2015, 13, 300)), b"", b""),
        GeneralSigning(_header(), bytes(0x10000), b""),
        GeneralCiphered(GeneralSigning(_header(), b"", b""), mac=bytes(12), unused_header=bytes(2)),
    ],
)
def test_values_that_do_not_fit_raise_the_typed_error(apdu: GeneralSigning | GeneralCiphered) -> None:
    with pytest.raises(GbcsFormatError, match="cannot encode"):
        encode_apdu(apdu)


@pytest.mark.parametrize("text", ["DF 09 01", "df:09:01", "0xDF0901", "DF-09-01\n", " df0901 "])
def test_hex_text_forms(text: str) -> None:
    assert octets_from_hex(text) == b"\xdf\x09\x01"


@pytest.mark.parametrize("text", ["DF0", "xyz", "DF 0G"])
def test_bad_hex_text(text: str) -> None:
    with pytest.raises(GbcsFormatError, match="hex"):
        octets_from_hex(text)


def test_construct_errors_name_the_field() -> None:
    with pytest.raises(GbcsFormatError) as caught:
        decode_apdu(b"\xdf\x09\x01\x00")
    assert "originator_counter" in str(caught.value)
    assert construct_error_text(ValueError("")) == "ValueError"
