"""The "other" identities the suite derives differ from the device's for every value and are never wildcards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.ota.identity import (
    FIRST_ZCL_IMAGE_TYPE,
    INVALID_HARDWARE_VERSION,
    WILDCARD_FILE_VERSION,
    WILDCARD_IMAGE_TYPE,
    WILDCARD_MANUFACTURER_CODE,
    other_file_version,
    other_hardware_version,
    other_image_type,
    other_manufacturer_code,
)

ALL_16_BIT = range(0x10000)
EDGES_32 = (0x00000000, 0x00000001, 0x0000FFFE, 0x0000FFFF, 0x00010000, 0x7FFFFFFF, 0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF)


def test_another_manufacturer_code_differs_for_every_16_bit_value_and_is_never_the_wildcard():
    for code in ALL_16_BIT:
        other = other_manufacturer_code(code)
        assert other != code and other != WILDCARD_MANUFACTURER_CODE and 0 <= other < 0x10000, hex(code)


def test_another_image_type_differs_for_every_value_and_stays_manufacturer_specific():
    for image_type in ALL_16_BIT:
        other = other_image_type(image_type)
        assert other != image_type and 0 <= other < FIRST_ZCL_IMAGE_TYPE, hex(image_type)
        anywhere = other_image_type(image_type, manufacturer_specific=False)
        assert anywhere != image_type and anywhere != WILDCARD_IMAGE_TYPE and 0 <= anywhere < 0x10000, hex(image_type)


def test_another_hardware_version_differs_for_every_value_and_is_never_0xffff():
    for version in ALL_16_BIT:
        other = other_hardware_version(version)
        assert other != version and other != INVALID_HARDWARE_VERSION and 0 <= other < 0x10000, hex(version)


@pytest.mark.parametrize("version", EDGES_32)
def test_another_file_version_differs_at_the_edges_and_is_never_the_wildcard(version):
    other = other_file_version(version)
    assert other != version and other != WILDCARD_FILE_VERSION and 0 <= other <= 0xFFFFFFFF


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_another_file_version_differs_for_any_32_bit_value(version):
    other = other_file_version(version)
    assert other != version and other != WILDCARD_FILE_VERSION and 0 <= other <= 0xFFFFFFFF


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0x0000, 0x0001), (0x0001, 0x0002), (0x121C, 0x121D), (0x121D, 0x121E), (0xFFFE, 0x0000), (0xFFFF, 0x0001)],
)
def test_even_and_odd_manufacturer_codes_and_the_top_of_the_range(value, expected):
    """The old ``(x + 1) & 0xFFFE`` returned x itself for every even x (0x121C → 0x121C)."""
    assert other_manufacturer_code(value) == expected
