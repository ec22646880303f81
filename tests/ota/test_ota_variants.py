"""Every named variant: derivable from the sources it claims, and visibly what it says it is."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ota import (
    VARIANTS,
    FindingCode,
    ImageSpec,
    Layout,
    Need,
    OtaHeader,
    UnknownVariantError,
    ValidationReport,
    Variant,
    VariantContext,
    VariantNotApplicable,
    build_image,
    derive_variant,
    encode_image,
    get_variant,
    parse_image,
    validate_image,
    with_consistent_lengths,
)
from harness.ota.manufacturer import has_trailer, manufacturer_payload

REQUIRED = {
    "flip-one-bit-in-manufacturer-image", "wrong-magic", "wrong-header-version", "header-length-short",
    "header-length-long", "total-size-short", "total-size-long", "truncated-file", "trailing-bytes",
    "wrong-manufacturer-code", "wrong-image-type", "hardware-range-excludes-device", "lower-version",
    "same-version", "oversized-image", "missing-signature", "truncated-signature",
    "wrong-signature-length-octet", "zigbee-subelement-wrap", "signed-by-other-key",
    "bad-manufacturer-signature", "manufacturer-signed-by-other-key", "wrong-image-type-resigned",
}  # fmt: skip
GB_SIGNED_ONLY = {
    "missing-signature",
    "truncated-signature",
    "wrong-signature-length-octet",
    "signed-by-other-key",
}
MANUFACTURER_VARIANTS = {"bad-manufacturer-signature", "manufacturer-signed-by-other-key"}

Expectation = Callable[[OtaHeader, VariantContext], dict[str, int]]
WELL_FORMED: dict[str, Expectation] = {
    "wrong-manufacturer-code": lambda h, c: {"manufacturer_code": (h.manufacturer_code + 1) % 0xFFFF},
    "wrong-image-type": lambda h, c: {"image_type": (h.image_type + 1) % 0xFFFF},
    "lower-version": lambda h, c: {"file_version": c.running_version - 1},
    "same-version": lambda h, c: {"file_version": c.running_version},
    "hardware-range-excludes-device": lambda h, c: {
        "min_hw_version": c.device_hw_version + 1,
        "max_hw_version": 0xFFFF,
    },
}
WELL_FORMED.update(
    {f"{name}-resigned": edit for name, edit in WELL_FORMED.items() if name != "hardware-range-excludes-device"}
)


@dataclasses.dataclass(frozen=True)
class Source:
    """A source image with what a scenario would know about it."""

    name: str
    data: bytes
    supplier: ec.EllipticCurvePrivateKey | None
    gbms: bool  # its Manufacturer Image follows the suite's manufacturer-signature convention

    @property
    def layout(self) -> Layout:
        return parse_image(self.data).layout


@pytest.fixture(scope="module")
def sources(
    factory_image: bytes,
    factory_unsigned: bytes,
    esme_sample: bytes,
    ppmid_sample: bytes,
    supplier_key: ec.EllipticCurvePrivateKey,
    dcc_supplier_key: ec.EllipticCurvePrivateKey,
) -> dict[str, Source]:
    return {
        s.name: s
        for s in (
            Source("factory-signed", factory_image, supplier_key, gbms=True),
            Source("factory-unsigned", factory_unsigned, None, gbms=True),
            Source("dcc-sr11.1", esme_sample, dcc_supplier_key, gbms=False),  # a vendor image: no GBMS
            Source("dcc-sr11.4", ppmid_sample, None, gbms=False),
        )
    }


def _context(full: VariantContext, source: Source) -> VariantContext:
    return dataclasses.replace(full, supplier_key=source.supplier or full.supplier_key)


def _validate(
    variant: Variant, source: Source, data: bytes, *, manufacturer: ec.EllipticCurvePublicKey | None
) -> ValidationReport:
    original = parse_image(source.data).manufacturer_image or b""
    return validate_image(
        data,
        layout=variant.validate_layout or source.layout,
        supplier_public_key=source.supplier.public_key() if source.supplier else None,
        manufacturer_public_key=manufacturer,
        expected_hash=hashlib.sha256(original).digest() if variant.findings else None,
    )


@pytest.mark.parametrize("source_name", ["factory-signed", "factory-unsigned", "dcc-sr11.1", "dcc-sr11.4"])
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant(
    name: str,
    source_name: str,
    sources: dict[str, Source],
    full_context: VariantContext,
    manufacturer_key: ec.EllipticCurvePrivateKey,
) -> None:
    variant, source = VARIANTS[name], sources[source_name]
    try:
        data = variant.derive(source.data, _context(full_context, source))
    except VariantNotApplicable as err:
        assert name in GB_SIGNED_ONLY and source.layout is not Layout.GB_SIGNED, err
        assert "applies to gb-signed images" in str(err)
        return
    assert data != source.data
    checks_manufacturer = source.gbms or name in MANUFACTURER_VARIANTS
    public = manufacturer_key.public_key() if checks_manufacturer else None
    report = _validate(variant, source, data, manufacturer=public)
    if variant.findings:
        assert report.codes & variant.findings, f"{name} on {source_name}: {report.findings}"
        assert not report.is_valid
        return
    # Identity, version and hardware edits: a well-formed file with exactly the intended header change.
    before, after = parse_image(source.data), parse_image(data)
    intended = WELL_FORMED[name](before.header, full_context)
    assert {field: getattr(after.header, field) for field in intended} == intended
    untouched = {f.name for f in dataclasses.fields(OtaHeader)} - set(intended) - {"total_image_size"}
    assert {f: getattr(after.header, f) for f in untouched} == {f: getattr(before.header, f) for f in untouched}
    assert manufacturer_payload(after.manufacturer_image or b"") == manufacturer_payload(
        before.manufacturer_image or b""
    )
    resigned = name.endswith("-resigned")
    if source.gbms and not resigned and name != "hardware-range-excludes-device":
        # The supplier signature still verifies; the GBMS manufacturer signature (identity-bound) does not.
        assert report.codes == {FindingCode.MANUFACTURER_SIGNATURE}, report.findings
        assert _validate(variant, source, data, manufacturer=None).is_valid
    else:
        assert report.is_valid, report.findings
        if resigned:
            assert has_trailer(after.manufacturer_image or b"")


def test_the_required_variants_exist_and_are_documented() -> None:
    assert set(VARIANTS) >= REQUIRED
    for variant in VARIANTS.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", variant.name)
        assert len(variant.description) > 20
        assert variant.requirements and all(re.fullmatch(r"(CS|PZ|HG)-\d\d", r) for r in variant.requirements)


def test_header_edits_say_whether_they_break_a_signature() -> None:
    for name in ("wrong-manufacturer-code", "wrong-image-type", "lower-version", "same-version"):
        assert "supplier signature covers only the Manufacturer Image" in VARIANTS[name].description


def test_variants_without_key_needs_use_no_key(ppmid_sample: bytes, esme_sample: bytes) -> None:
    """What a vendor's real image allows: every key-free variant, from bytes alone (plus the two facts)."""
    context = VariantContext(device_hw_version=0x1111, running_version=0x00020000)
    for variant in VARIANTS.values():
        if variant.needs_key:
            continue
        for sample in (esme_sample, ppmid_sample):
            if variant.name in GB_SIGNED_ONLY and sample is ppmid_sample:
                continue
            assert variant.derive(sample, context) != sample


@pytest.mark.parametrize(
    ("name", "need"),
    [
        ("hardware-range-excludes-device", Need.DEVICE_HW_VERSION),
        ("lower-version", Need.RUNNING_VERSION),
        ("same-version-resigned", Need.RUNNING_VERSION),
        ("signed-by-other-key", Need.OTHER_KEY),
        ("bad-manufacturer-signature", Need.MANUFACTURER_KEY),
        ("manufacturer-signed-by-other-key", Need.OTHER_KEY),
        ("wrong-image-type-resigned", Need.MANUFACTURER_KEY),
    ],
)
def test_a_missing_need_is_a_reason_not_a_crash(name: str, need: Need, esme_sample: bytes) -> None:
    assert need in VARIANTS[name].needs
    with pytest.raises(VariantNotApplicable, match=f"variant {name}: needs the {need}"):
        derive_variant(name, esme_sample, VariantContext())


def test_resigning_a_gb_signed_image_needs_the_supplier_key(
    esme_sample: bytes, manufacturer_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(VariantNotApplicable, match="needs the supplier-key"):
        derive_variant("wrong-image-type-resigned", esme_sample, VariantContext(manufacturer_key=manufacturer_key))


def test_lower_than_zero_is_not_applicable(ppmid_sample: bytes) -> None:
    with pytest.raises(VariantNotApplicable, match="running version is 0"):
        derive_variant("lower-version", ppmid_sample, VariantContext(running_version=0))


def test_unparseable_source_and_unknown_name(ppmid_sample: bytes) -> None:
    with pytest.raises(VariantNotApplicable, match="does not parse"):
        derive_variant("wrong-magic", ppmid_sample[:-1])
    with pytest.raises(UnknownVariantError, match="known variants: flip-one-bit"):
        get_variant("no-such-variant")


def test_hardware_range_below_the_top_version(ppmid_sample: bytes) -> None:
    data = derive_variant("hardware-range-excludes-device", ppmid_sample, VariantContext(device_hw_version=0xFFFF))
    header = parse_image(data).header
    assert (header.min_hw_version, header.max_hw_version) == (0x0000, 0xFFFE)


def test_hardware_range_is_added_when_absent(ppmid_sample: bytes) -> None:
    image = parse_image(ppmid_sample)
    bare = encode_image(
        with_consistent_lengths(
            dataclasses.replace(
                image,
                header=dataclasses.replace(image.header, field_control=0, min_hw_version=None, max_hw_version=None),
            )
        )
    )
    data = derive_variant("hardware-range-excludes-device", bare, VariantContext(device_hw_version=0x0100))
    header = parse_image(data).header
    assert (header.field_control, header.header_length, header.min_hw_version) == (0x0004, 60, 0x0101)
    assert validate_image(data, layout="gb-unsigned").is_valid


def test_zigbee_sources(spec: ImageSpec) -> None:
    zigbee = build_image(dataclasses.replace(spec, layout=Layout.ZIGBEE))
    with pytest.raises(VariantNotApplicable, match="already uses Zigbee sub-elements"):
        derive_variant("zigbee-subelement-wrap", zigbee)
    overflow = derive_variant("subelement-length-overflow", zigbee)
    assert validate_image(overflow, layout="zigbee", profile="zigbee").has(FindingCode.SUBELEMENTS_DO_NOT_TILE)
    flipped = derive_variant("flip-one-bit-in-manufacturer-image", zigbee)
    original = parse_image(zigbee).manufacturer_image
    assert original is not None
    assert validate_image(flipped, profile="zigbee", expected_hash=hashlib.sha256(original).digest()).has(
        FindingCode.HASH_MISMATCH
    )
