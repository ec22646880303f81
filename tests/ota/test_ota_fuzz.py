"""No input, however mangled, makes the parser raise anything but ImageFormatError or the validator raise."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ota import ImageFormatError, Layout, encode_image, parse_image, validate_image

LAYOUTS = [None, *Layout]
_FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_typed_error(data: bytes, layout: Layout | None) -> None:
    try:
        image = parse_image(data, layout=layout)
    except ImageFormatError:
        return
    assert encode_image(image) == data  # whatever parses, rebuilds byte for byte


def _validate_everything(data: bytes, key: ec.EllipticCurvePrivateKey) -> None:
    for layout in LAYOUTS:
        for profile in ("gb", "zigbee"):
            report = validate_image(
                data,
                layout=layout,
                profile=profile,
                expected_hash=bytes(32),
                supplier_public_key=key.public_key(),
                manufacturer_public_key=key.public_key(),
                max_image_size=100,
            )
            report.to_dict()


@_FUZZ
@given(st.binary(max_size=200), st.sampled_from(LAYOUTS))
def test_random_bytes(supplier_key: ec.EllipticCurvePrivateKey, data: bytes, layout: Layout | None) -> None:
    _parse_or_typed_error(data, layout)
    _validate_everything(data, supplier_key)


@st.composite
def mangled(draw: st.DrawFn, sample: bytes) -> bytes:
    """Structure-aware damage: adversarial values in the length fields, overwrites, truncation, growth."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.integers(0, 3))
        if choice == 0:  # a length or control field gets an adversarial value
            offset, width = draw(st.sampled_from([(6, 2), (8, 2), (52, 4), (60, 2), (62, 4)]))
            value = draw(st.sampled_from([0, 1, 55, 56, 60, 69, 0xFF, 0xFFFF, 0xFFFFFFF0, 0xFFFFFFFF]))
            data[offset : offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
        elif choice == 1 and data:  # overwrite a run
            at = draw(st.integers(0, len(data) - 1))
            run = draw(st.binary(min_size=1, max_size=16))
            data[at : at + len(run)] = run
        elif choice == 2:  # truncate
            del data[draw(st.integers(0, len(data))) :]
        else:  # grow
            data += draw(st.binary(max_size=70))
    return bytes(data)


@pytest.fixture(scope="module")
def samples(esme_sample: bytes, ppmid_sample: bytes, factory_image: bytes) -> list[bytes]:
    return [esme_sample, ppmid_sample, factory_image]


@_FUZZ
@given(data=st.data(), layout=st.sampled_from(LAYOUTS))
def test_mangled_images(
    samples: list[bytes], supplier_key: ec.EllipticCurvePrivateKey, data: st.DataObject, layout: Layout | None
) -> None:
    mangled_bytes = data.draw(mangled(data.draw(st.sampled_from(samples))))
    _parse_or_typed_error(mangled_bytes, layout)
    _validate_everything(mangled_bytes, supplier_key)
