"""The suite's GBMS manufacturer-signature convention (an assumption; docs/ota-images.md)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ota import ManufacturerStatus, make_manufacturer_image, verify_manufacturer_image
from harness.ota.manufacturer import (
    TRAILER_LENGTH,
    has_trailer,
    manufacturer_payload,
    signed_message,
)

PAYLOAD = b"firmware payload " * 8
IDENTITY = (0x1234, 0x0084, 0x00030000)


@pytest.fixture(scope="module")
def image(manufacturer_key: ec.EllipticCurvePrivateKey) -> bytes:
    return make_manufacturer_image(PAYLOAD, *IDENTITY, manufacturer_key)


def test_layout_of_the_trailer(image: bytes) -> None:
    assert TRAILER_LENGTH == 4 + 1 + 1 + 64
    assert image[: len(PAYLOAD)] == PAYLOAD
    trailer = image[len(PAYLOAD) :]
    assert (trailer[:4], trailer[4], trailer[5], len(trailer)) == (b"GBMS", 1, 0x40, TRAILER_LENGTH)
    assert has_trailer(image) and not has_trailer(PAYLOAD)
    assert manufacturer_payload(image) == PAYLOAD
    assert manufacturer_payload(PAYLOAD) == PAYLOAD


def test_signed_message_binds_identity_and_version_little_endian() -> None:
    assert signed_message(b"P", *IDENTITY) == bytes.fromhex("3412840000000300") + b"P"


def test_valid_image_verifies(image: bytes, manufacturer_key: ec.EllipticCurvePrivateKey) -> None:
    verdict = verify_manufacturer_image(image, *IDENTITY, manufacturer_key.public_key())
    assert verdict.ok and verdict.status is ManufacturerStatus.OK


@pytest.mark.parametrize(
    "identity",
    [(0x1235, 0x0084, 0x00030000), (0x1234, 0x0085, 0x00030000), (0x1234, 0x0084, 0x00020000)],
    ids=["other manufacturer", "other image type", "other version"],
)
def test_a_signed_payload_cannot_be_replayed_under_another_identity(
    image: bytes, manufacturer_key: ec.EllipticCurvePrivateKey, identity: tuple[int, int, int]
) -> None:
    verdict = verify_manufacturer_image(image, *identity, manufacturer_key.public_key())
    assert verdict.status is ManufacturerStatus.WRONG_SIGNATURE
    assert f"0x{identity[2]:08X}" in verdict.reason


@pytest.mark.parametrize(
    ("mangle", "status"),
    [
        (lambda mi: mi[:-TRAILER_LENGTH], ManufacturerStatus.MISSING_TRAILER),
        (lambda mi: mi[:-1], ManufacturerStatus.MISSING_TRAILER),
        (lambda mi: b"", ManufacturerStatus.MISSING_TRAILER),
        (lambda mi: mi[:-66] + b"\x02" + mi[-65:], ManufacturerStatus.UNSUPPORTED_VERSION),
        (lambda mi: mi[:-65] + b"\x20" + mi[-64:], ManufacturerStatus.BAD_LENGTH),
        (lambda mi: mi[:-1] + bytes([mi[-1] ^ 1]), ManufacturerStatus.WRONG_SIGNATURE),
        (lambda mi: b"X" + mi[1:], ManufacturerStatus.WRONG_SIGNATURE),
        (lambda mi: mi[:-64] + bytes(64), ManufacturerStatus.WRONG_SIGNATURE),
    ],
    ids=["no trailer", "cut", "empty", "version", "length", "signature bit", "payload bit", "zero signature"],
)
def test_each_failure_has_its_status_and_reason(
    image: bytes, manufacturer_key: ec.EllipticCurvePrivateKey, mangle, status: ManufacturerStatus
) -> None:
    verdict = verify_manufacturer_image(mangle(image), *IDENTITY, manufacturer_key.public_key())
    assert verdict.status is status
    assert verdict.reason and not verdict.ok


def test_another_key_does_not_verify(image: bytes, other_key: ec.EllipticCurvePrivateKey) -> None:
    assert verify_manufacturer_image(image, *IDENTITY, other_key.public_key()).status is (
        ManufacturerStatus.WRONG_SIGNATURE
    )


def test_identity_out_of_range_is_a_verdict_not_an_exception(
    image: bytes, manufacturer_key: ec.EllipticCurvePrivateKey
) -> None:
    verdict = verify_manufacturer_image(image, 0x10000, 0, 0, manufacturer_key.public_key())
    assert verdict.status is ManufacturerStatus.WRONG_SIGNATURE
