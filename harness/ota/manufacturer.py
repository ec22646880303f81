"""The manufacturer-signature convention of the suite's emulated devices — an assumption, not a GB rule.

GBCS leaves the manufacturer's own check inside the opaque Manufacturer Image open (domain.md §2.1, §2.2):
a real device's images, and whatever signature they carry, come from its vendor. The emulated devices need
*some* manufacturer check so that scenarios about it (an image altered before the supplier signed it, a
payload replayed under another identity or version) have something to exercise. This module fixes one:

    Manufacturer Image = firmware payload ‖ trailer
    trailer            = b"GBMS" ‖ version u8 (1) ‖ signature length u8 (0x40) ‖ signature (64 octets, r‖s)
    signature          = ECDSA P-256/SHA-256 by the manufacturer over
                         manufacturer code u16 LE ‖ image type u16 LE ‖ file version u32 LE ‖ payload

Binding the identity and version into the signed message means a validly signed payload cannot be
replayed under another manufacturer code, image type or file version. Scenarios that depend on this
convention are tagged ``@assumption`` (docs/ota-images.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from construct import Bytes, ConstructError, Int8ul, Int16ul, Int32ul, Struct
from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import RAW_SIGNATURE_LENGTH, sign_raw, verify_raw
from harness.ota.errors import ImageFormatError

TRAILER_MAGIC = b"GBMS"
TRAILER_VERSION = 1

MANUFACTURER_TRAILER = Struct(
    "magic" / Bytes(len(TRAILER_MAGIC)),
    "version" / Int8ul,
    "signature_length" / Int8ul,
    "signature" / Bytes(RAW_SIGNATURE_LENGTH),
)
TRAILER_LENGTH = MANUFACTURER_TRAILER.sizeof()

SIGNED_IDENTITY = Struct("manufacturer_code" / Int16ul, "image_type" / Int16ul, "file_version" / Int32ul)
"""The prefix the manufacturer signs before the payload: the identity the image may be installed under."""


class ManufacturerStatus(StrEnum):
    OK = "ok"
    MISSING_TRAILER = "missing-trailer"
    UNSUPPORTED_VERSION = "unsupported-version"
    BAD_LENGTH = "bad-length"
    WRONG_SIGNATURE = "wrong-signature"


@dataclass(frozen=True)
class ManufacturerVerdict:
    """Outcome of checking a Manufacturer Image against the convention, with an operator-readable reason."""

    status: ManufacturerStatus
    reason: str

    @property
    def ok(self) -> bool:
        return self.status is ManufacturerStatus.OK


def signed_message(payload: bytes, manufacturer_code: int, image_type: int, file_version: int) -> bytes:
    """What the manufacturer signature covers."""
    try:
        identity = SIGNED_IDENTITY.build(
            {"manufacturer_code": manufacturer_code, "image_type": image_type, "file_version": file_version}
        )
    except ConstructError as err:
        raise ImageFormatError(f"identity does not fit the signed prefix: {err}") from None
    return identity + payload


def make_manufacturer_image(
    payload: bytes,
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    key: ec.EllipticCurvePrivateKey,
) -> bytes:
    """Payload ‖ GBMS trailer signed by `key` for exactly this identity and version."""
    signature = sign_raw(key, signed_message(payload, manufacturer_code, image_type, file_version))
    trailer = MANUFACTURER_TRAILER.build(
        {
            "magic": TRAILER_MAGIC,
            "version": TRAILER_VERSION,
            "signature_length": RAW_SIGNATURE_LENGTH,
            "signature": signature,
        }
    )
    return payload + trailer


def has_trailer(manufacturer_image: bytes) -> bool:
    return (
        len(manufacturer_image) >= TRAILER_LENGTH
        and manufacturer_image[-TRAILER_LENGTH:][: len(TRAILER_MAGIC)] == TRAILER_MAGIC
    )


def manufacturer_payload(manufacturer_image: bytes) -> bytes:
    """The firmware payload: the Manufacturer Image without its GBMS trailer (unchanged if it has none)."""
    return manufacturer_image[:-TRAILER_LENGTH] if has_trailer(manufacturer_image) else manufacturer_image


def verify_manufacturer_image(
    manufacturer_image: bytes,
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    public_key: ec.EllipticCurvePublicKey,
) -> ManufacturerVerdict:
    """Check the GBMS trailer and its signature for this identity; never raises on malformed input."""
    if not has_trailer(manufacturer_image):
        return ManufacturerVerdict(
            ManufacturerStatus.MISSING_TRAILER,
            f"the Manufacturer Image ({len(manufacturer_image)} octets) does not end with a"
            f" {TRAILER_LENGTH}-octet {TRAILER_MAGIC.decode()} manufacturer-signature trailer",
        )
    trailer = MANUFACTURER_TRAILER.parse(manufacturer_image[-TRAILER_LENGTH:])
    if trailer.version != TRAILER_VERSION:
        return ManufacturerVerdict(
            ManufacturerStatus.UNSUPPORTED_VERSION,
            f"manufacturer trailer version {trailer.version}, this convention defines {TRAILER_VERSION}",
        )
    if trailer.signature_length != RAW_SIGNATURE_LENGTH:
        return ManufacturerVerdict(
            ManufacturerStatus.BAD_LENGTH,
            f"manufacturer signature length octet 0x{trailer.signature_length:02X},"
            f" expected 0x{RAW_SIGNATURE_LENGTH:02X}",
        )
    payload = manufacturer_image[:-TRAILER_LENGTH]
    try:
        message = signed_message(payload, manufacturer_code, image_type, file_version)
    except ImageFormatError as err:
        return ManufacturerVerdict(ManufacturerStatus.WRONG_SIGNATURE, str(err))
    if not verify_raw(public_key, message, trailer.signature):
        return ManufacturerVerdict(
            ManufacturerStatus.WRONG_SIGNATURE,
            "the manufacturer signature does not verify for manufacturer code"
            f" 0x{manufacturer_code:04X}, image type 0x{image_type:04X}, file version 0x{file_version:08X}"
            " (altered payload, another key, or an image signed for another identity or version)",
        )
    return ManufacturerVerdict(ManufacturerStatus.OK, "manufacturer signature verifies")


# -- the emulators' activation-failure convention ------------------------------------------------------------
#: A firmware payload starting with these octets is one the emulated devices accept, hold and verify like any
#: other, but cannot start: their activation of it fails (HG-10, PZ-23). Real devices need a vendor-provided
#: image for that (PIXIT ``images.failing_activation``); the marker is part of the emulator convention only.
ACTIVATION_FAILURE_MARKER = b"GB-OTA-CONFORMANCE: ACTIVATION FAILS\x00"


def activation_fails(manufacturer_image: bytes) -> bool:
    """True for a Manufacturer Image the emulated devices cannot activate (the marker above)."""
    return manufacturer_image.startswith(ACTIVATION_FAILURE_MARKER)
