"""The image factory: valid, reproducible images from an ImageSpec."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import verify_raw
from harness.ota import (
    GbSignedBody,
    ImageBuildError,
    ImageSpec,
    Layout,
    ZigbeeBody,
    build_image,
    deterministic_payload,
    encode_image,
    parse_image,
    seal,
    validate_image,
    verify_manufacturer_image,
)


def test_payload_is_deterministic_from_the_seed() -> None:
    assert deterministic_payload(100, seed=7) == deterministic_payload(100, seed=7)
    assert deterministic_payload(100, seed=7) != deterministic_payload(100, seed=8)
    assert deterministic_payload(50, seed=7) == deterministic_payload(100, seed=7)[:50]
    assert deterministic_payload(0) == b""


def test_gb_unsigned_build_is_byte_for_byte_reproducible(spec: ImageSpec) -> None:
    unsigned = dataclasses.replace(spec, layout=Layout.GB_UNSIGNED)
    assert build_image(unsigned) == build_image(unsigned)


def test_gb_signed_image_fields_and_signature(spec: ImageSpec, supplier_key: ec.EllipticCurvePrivateKey) -> None:
    image = parse_image(build_image(spec, supplier_key=supplier_key), layout=Layout.GB_SIGNED)
    header = image.header
    assert (header.manufacturer_code, header.image_type, header.file_version) == (0x1234, 0x0084, 0x00030000)
    assert (header.header_length, header.field_control, header.stack_version) == (60, 0x0004, 2)
    assert (header.min_hw_version, header.max_hw_version) == (0x0000, 0xFFFF)
    assert header.header_text == "GB OTA conformance test image"
    assert isinstance(image.body, GbSignedBody)
    assert image.body.manufacturer_image == deterministic_payload(700)
    assert verify_raw(supplier_key.public_key(), image.body.manufacturer_image, image.body.signature)


def test_manufacturer_key_applies_the_gbms_convention(
    factory_image: bytes, spec: ImageSpec, manufacturer_key: ec.EllipticCurvePrivateKey
) -> None:
    image = parse_image(factory_image)
    assert image.manufacturer_image is not None
    verdict = verify_manufacturer_image(
        image.manufacturer_image,
        spec.manufacturer_code,
        spec.image_type,
        spec.file_version,
        manufacturer_key.public_key(),
    )
    assert verdict.ok


def test_all_optional_fields_and_zigbee_layout(spec: ImageSpec) -> None:
    full = dataclasses.replace(
        spec,
        layout=Layout.ZIGBEE,
        security_credential_version=3,
        upgrade_file_destination=0x00DB1234567890A4,
        payload=b"explicit payload",
    )
    data = build_image(full)
    image = parse_image(data)
    assert image.layout is Layout.ZIGBEE and isinstance(image.body, ZigbeeBody)
    assert image.header.field_control == 0x0007 and image.header.header_length == 69
    assert image.header.upgrade_file_destination == 0x00DB1234567890A4
    assert image.manufacturer_image == b"explicit payload"
    assert validate_image(data, profile="zigbee").is_valid
    assert not validate_image(data, profile="gb").is_valid  # GB fixes field control and layout


def test_no_hardware_versions(spec: ImageSpec) -> None:
    data = build_image(dataclasses.replace(spec, layout=Layout.GB_UNSIGNED, min_hw_version=None, max_hw_version=None))
    assert parse_image(data).header.header_length == 56


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layout": Layout.GB_SIGNED}, "supplier private key"),
        ({"layout": Layout.GB_UNSIGNED, "header_string": "x" * 33}, "at most 32 fit"),
        ({"layout": Layout.GB_UNSIGNED, "max_hw_version": None}, "both minimum and maximum"),
        ({"layout": Layout.GB_UNSIGNED, "manufacturer_code": 0x10000}, "cannot build the image"),
        ({"layout": Layout.GB_UNSIGNED, "payload_size": -1}, "must not be negative"),
    ],
)
def test_build_errors_are_typed(spec: ImageSpec, changes: dict, message: str) -> None:
    with pytest.raises(ImageBuildError, match=message):
        build_image(dataclasses.replace(spec, **changes))


def test_seal_recomputes_lengths_and_signatures(
    factory_image: bytes,
    supplier_key: ec.EllipticCurvePrivateKey,
    manufacturer_key: ec.EllipticCurvePrivateKey,
) -> None:
    image = parse_image(factory_image)
    edited = dataclasses.replace(image, header=dataclasses.replace(image.header, file_version=0x00040000))
    sealed = seal(edited, supplier_key=supplier_key, manufacturer_key=manufacturer_key)
    report = validate_image(
        encode_image(sealed),
        layout="gb-signed",
        supplier_public_key=supplier_key.public_key(),
        manufacturer_public_key=manufacturer_key.public_key(),
    )
    assert report.is_valid, report.findings
    assert sealed.header.file_version == 0x00040000
