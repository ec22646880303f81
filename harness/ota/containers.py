"""Vendor containers around a Zigbee OTA file: find the OTA header where zigpy finds it, and say where it was.

Why: vendors ship OTA files inside their own wrappers, and a test house inspects what the vendor sent. zigpy
(2.4, ``zigpy/ota/image.py`` ``parse_ota_image``) unwraps, in this order:

- **Legrand**: a 4-octet little-endian length of the OTA file before it and a 17-octet suffix after it
  (the length plus 21 is the file's size);
- **Third Reality**: a 152-octet header that starts with the SHA-512 of everything after its first 64 octets
  and holds at 68..71 the size of what follows those 64 octets;
- **IKEA** signed container: starts ``NGIS``; at 16..19 the OTA file's offset, at 20..23 its size (zigpy
  requires octets after it: the container's signature);
- **Hue SBL** images need no unwrapping: a Zigbee OTA header at 0 followed by firmware that is not in
  sub-elements (manufacturer code 0x100B, firmware starting ``2A 00 01``); reported as such.

This module applies the same rules (our own code, checked against zigpy's parser by
``tests/ota/test_ota_containers.py``) and adds one zigpy does not: a file whose OTA file identifier
(``1E F1 EE 0B``) is preceded by a vendor's prefix is read from the identifier on. A file in which no
identifier can be found after that is not an OTA file at all (``ota-conformance image inspect`` exits 2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from harness.ota.format import FIXED_HEADER_LENGTH, OTA_MAGIC

OTA_MAGIC_BYTES = OTA_MAGIC.to_bytes(4, "little")
LEGRAND_PREFIX, LEGRAND_SUFFIX = 4, 17
THIRD_REALITY_HEADER = 152
THIRD_REALITY_HASHED_FROM = 64
IKEA_MAGIC = b"NGIS"
IKEA_HEADER = 24
HUE_MANUFACTURER_CODE = 0x100B
HUE_SBL_MAGIC = b"\x2a\x00\x01"


class Container(StrEnum):
    """What was around the OTA file."""

    NONE = "none"
    LEGRAND = "legrand"
    THIRD_REALITY = "third-reality"
    IKEA = "ikea-ngis"
    HUE_SBL = "hue-sbl"
    VENDOR_PREFIX = "vendor-prefix"


_DESCRIPTIONS = {
    Container.NONE: "none: the OTA file starts at the first octet",
    Container.LEGRAND: "Legrand: a 4-octet length before the OTA file and a 17-octet suffix after it",
    Container.THIRD_REALITY: "Third Reality: a 152-octet header with SHA-512 hashes before the OTA file",
    Container.IKEA: "IKEA signed container (NGIS): the OTA file at the offset and size its header gives",
    Container.HUE_SBL: "Hue SBL image: an OTA header followed by firmware that is not in sub-elements",
    Container.VENDOR_PREFIX: "a vendor prefix before the OTA file identifier (zigpy does not unwrap it)",
}


@dataclass(frozen=True)
class Unwrapped:
    """The OTA file found in the input: the octets from its identifier, and where they were."""

    container: Container
    offset: int  # where the OTA file starts in the input
    data: bytes  # the OTA file as the container delimits it
    input_size: int

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self.container]

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": str(self.container),
            "offset": self.offset,
            "length": len(self.data),
            "input_size": self.input_size,
            "description": self.description,
        }


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _legrand(data: bytes) -> Unwrapped | None:
    if len(data) > LEGRAND_PREFIX and _u32(data, 0) + LEGRAND_PREFIX + LEGRAND_SUFFIX == len(data):
        return Unwrapped(Container.LEGRAND, LEGRAND_PREFIX, data[LEGRAND_PREFIX:-LEGRAND_SUFFIX], len(data))
    return None


def _third_reality(data: bytes) -> Unwrapped | None:
    if (
        len(data) > THIRD_REALITY_HEADER
        and _u32(data, 68) + THIRD_REALITY_HASHED_FROM == len(data)
        and data.startswith(hashlib.sha512(data[THIRD_REALITY_HASHED_FROM:]).digest())
    ):
        return Unwrapped(Container.THIRD_REALITY, THIRD_REALITY_HEADER, data[THIRD_REALITY_HEADER:], len(data))
    return None


def _ikea(data: bytes) -> Unwrapped | None:
    if not data.startswith(IKEA_MAGIC) or len(data) <= IKEA_HEADER:
        return None
    offset, size = _u32(data, 16), _u32(data, 20)
    if len(data) <= offset + size:  # zigpy's rule: the container's signature follows the OTA file
        return None
    return Unwrapped(Container.IKEA, offset, data[offset : offset + size], len(data))


def _hue_sbl(data: bytes) -> bool:
    """A Hue SBL image as zigpy recognises it (HueSBLOTAImage): header at 0, manufacturer 0x100B, firmware
    after the header starting 2A 00 01."""
    if not data.startswith(OTA_MAGIC_BYTES) or len(data) < FIXED_HEADER_LENGTH:
        return False
    manufacturer = int.from_bytes(data[10:12], "little")
    header_length = int.from_bytes(data[6:8], "little")
    return manufacturer == HUE_MANUFACTURER_CODE and data[header_length:].startswith(HUE_SBL_MAGIC)


def unwrap(data: bytes) -> Unwrapped | None:
    """The OTA file in ``data``, unwrapped as zigpy does (then a vendor prefix), None when ``data`` holds no
    OTA file identifier at all (not an OTA file). A recognised container whose contents hold no identifier is
    searched as a whole, like any other input."""
    data = bytes(data)
    for rule in (_legrand, _third_reality, _ikea):
        found = rule(data)
        if found is not None and found.data.startswith(OTA_MAGIC_BYTES):
            return found
    if data.startswith(OTA_MAGIC_BYTES):
        return Unwrapped(Container.HUE_SBL if _hue_sbl(data) else Container.NONE, 0, data, len(data))
    at = data.find(OTA_MAGIC_BYTES)
    if at < 0:
        return None
    return Unwrapped(Container.VENDOR_PREFIX, at, data[at:], len(data))


__all__ = ["OTA_MAGIC_BYTES", "Container", "Unwrapped", "unwrap"]
