"""The DCC Boxed sample images (domain.md §2.2, §12): facts nobody on this project wrote."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import verify_raw
from harness.ota import GbSignedBody, Layout, encode_image, parse_image, validate_image
from harness.ota.format import detect_layout

ESME_HEADER = {
    "header_length": 60,
    "field_control": 0x0004,
    "manufacturer_code": 0x121D,
    "image_type": 0x0000,
    "file_version": 0xACDCACDC,
    "stack_version": 0x0002,
    "total_image_size": 361,
    "min_hw_version": 0x1111,
    "max_hw_version": 0x1211,
}


def test_sr11_1_sample_parses_as_gb_signed(esme_sample: bytes, esme_hash: bytes) -> None:
    image = parse_image(esme_sample)
    assert image.layout is Layout.GB_SIGNED
    for name, value in ESME_HEADER.items():
        assert getattr(image.header, name) == value, name
    assert image.header.header_text == "I am a GFI ESME[] firmware image"
    assert isinstance(image.body, GbSignedBody)
    assert (image.body.force_replace, image.body.signature_length) == (0x00, 0x40)
    assert len(image.body.manufacturer_image) == 235
    assert hashlib.sha256(image.body.manufacturer_image).digest() == esme_hash


def test_sr11_1_signature_verifies_with_the_import_supplier_certificate(
    esme_sample: bytes, esme_hash: bytes, dcc_supplier_public: ec.EllipticCurvePublicKey
) -> None:
    image = parse_image(esme_sample, layout=Layout.GB_SIGNED)
    assert isinstance(image.body, GbSignedBody)
    assert verify_raw(dcc_supplier_public, image.body.manufacturer_image, image.body.signature)
    report = validate_image(esme_sample, layout="gb-signed", supplier_public_key=dcc_supplier_public)
    assert report.is_valid, report.findings
    assert report.signature_valid is True
    assert report.manufacturer_image_sha256 == esme_hash


def test_sr11_1_hash_matches_expected_hash(esme_sample: bytes, esme_hash: bytes) -> None:
    report = validate_image(esme_sample, expected_hash=esme_hash)
    assert report.is_valid
    assert report.layout is Layout.GB_SIGNED


def test_sr11_4_ppmid_sample_is_a_valid_gb_unsigned_image(ppmid_sample: bytes, esme_hash: bytes) -> None:
    assert len(ppmid_sample) == 295
    image = parse_image(ppmid_sample)
    assert image.layout is Layout.GB_UNSIGNED
    assert image.header.image_type == 0x0084
    assert image.header.total_image_size == 295
    assert image.header.header_text == "I am a GFI PPMID firmware image "
    report = validate_image(ppmid_sample, layout="gb-unsigned")
    assert report.is_valid, report.findings
    assert report.findings == []
    assert report.signature_valid is None
    # Same Manufacturer Image as the SR 11.1 sample, without the supplier trailer.
    assert report.manufacturer_image_sha256 == esme_hash


def test_both_samples_round_trip_byte_for_byte(esme_sample: bytes, ppmid_sample: bytes) -> None:
    for sample in (esme_sample, ppmid_sample):
        assert encode_image(parse_image(sample)) == sample


def test_layout_detection_on_the_samples(esme_sample: bytes, ppmid_sample: bytes) -> None:
    assert detect_layout(esme_sample[60:]) is Layout.GB_SIGNED
    assert detect_layout(ppmid_sample[60:]) is Layout.GB_UNSIGNED
