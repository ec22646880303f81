"""The "other" identities the suite derives from a device's own: another manufacturer code, image type, file
version or hardware version.

Why one helper: a scenario that offers the device "an image for another manufacturer" proves nothing, and
blames the device wrongly, if "another" turns out to be the device's own value or a wildcard the device must
accept. ``(x + 1) & 0xFFFE`` did exactly that for every even ``x``. Every derivation here returns a value that
differs from its input for *every* possible input and is never the field's wildcard (ZCL OTA: manufacturer
code and image type 0xFFFF, file version 0xFFFFFFFF; hardware version 0xFFFF is no valid version either).
``tests/ota/test_ota_identity.py`` checks the whole 16-bit ranges and the 32-bit edges.

Image types 0x0000-0xFFBF are manufacturer-specific; 0xFFC0-0xFFFE are the ZCL's security credential,
configuration, log and reserved types. ``other_image_type`` stays in the manufacturer-specific range by
default, because a scenario about "another image type" means another firmware image of a device, not a
credential file the device may treat differently for other reasons.
"""

from __future__ import annotations

#: ZCL OTA wildcards: "any manufacturer / image type / file version".
WILDCARD_MANUFACTURER_CODE = 0xFFFF
WILDCARD_IMAGE_TYPE = 0xFFFF
WILDCARD_FILE_VERSION = 0xFFFFFFFF
#: Not a hardware version (the field is version << 8 | revision; all ones is what "none" reads as).
INVALID_HARDWARE_VERSION = 0xFFFF
#: First image type that is not manufacturer-specific (security credential); 0xFFC0-0xFFFE are ZCL's own.
FIRST_ZCL_IMAGE_TYPE = 0xFFC0


def _next_in_range(value: int, end: int) -> int:
    """The value after ``value`` in [0, end), wrapping: differs from ``value`` for any ``value`` (inside the
    range or not, as long as ``end`` > 1) and is never ``end`` or above."""
    return (value + 1) % end


def other_manufacturer_code(code: int) -> int:
    """A manufacturer code that is not ``code`` and not the 0xFFFF wildcard."""
    return _next_in_range(code, WILDCARD_MANUFACTURER_CODE)


def other_image_type(image_type: int, *, manufacturer_specific: bool = True) -> int:
    """An image type that is not ``image_type`` and not the 0xFFFF wildcard; by default a manufacturer-specific
    one (below 0xFFC0), whatever range ``image_type`` itself is in."""
    return _next_in_range(image_type, FIRST_ZCL_IMAGE_TYPE if manufacturer_specific else WILDCARD_IMAGE_TYPE)


def other_file_version(version: int) -> int:
    """A file version that is not ``version`` and not the 0xFFFFFFFF wildcard."""
    return _next_in_range(version, WILDCARD_FILE_VERSION)


def other_hardware_version(version: int) -> int:
    """A hardware version that is not ``version`` and not 0xFFFF."""
    return _next_in_range(version, INVALID_HARDWARE_VERSION)


__all__ = [
    "FIRST_ZCL_IMAGE_TYPE",
    "INVALID_HARDWARE_VERSION",
    "WILDCARD_FILE_VERSION",
    "WILDCARD_IMAGE_TYPE",
    "WILDCARD_MANUFACTURER_CODE",
    "other_file_version",
    "other_hardware_version",
    "other_image_type",
    "other_manufacturer_code",
]
