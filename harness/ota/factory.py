"""Build valid OTA images from a short specification, reproducibly.

Scenarios need images the suite controls: a given identity and version, a given size, a given layout,
signed by the test supplier and (optionally) by the test manufacturer under the suite's GBMS convention
(`harness.ota.manufacturer`). The payload is derived from a seed, so the same spec always gives the same
bytes and a report can name the image by its hash. Invalid images are derived from valid ones by
`harness.ota.variants`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import sign_raw
from harness.ota.errors import ImageBuildError, ImageFormatError
from harness.ota.format import (
    HEADER_STRING_LENGTH,
    OTA_HEADER_VERSION,
    OTA_MAGIC,
    SUPPLIER_SIGNATURE_LENGTH,
    ZIGBEE_STACK_PRO,
    Body,
    GbSignedBody,
    GbUnsignedBody,
    Layout,
    OtaHeader,
    OtaImage,
    SubElement,
    ZigbeeBody,
    encode_image,
    field_control_for,
    with_consistent_lengths,
    with_manufacturer_image,
)
from harness.ota.manufacturer import make_manufacturer_image, manufacturer_payload

DEFAULT_PAYLOAD_SIZE = 1024
_PAYLOAD_DOMAIN = b"gb-ota-conformance payload v1"


@dataclass(frozen=True)
class ImageSpec:
    """What an image should be. Defaults give a valid GB image: 60-octet header, all hardware versions."""

    manufacturer_code: int
    image_type: int
    file_version: int
    min_hw_version: int | None = 0x0000
    max_hw_version: int | None = 0xFFFF
    payload: bytes | None = None
    """The firmware payload; None derives `payload_size` octets from `seed`."""
    payload_size: int = DEFAULT_PAYLOAD_SIZE
    seed: int = 0
    layout: Layout = Layout.GB_SIGNED
    header_string: str = "GB OTA conformance test image"
    stack_version: int = ZIGBEE_STACK_PRO
    security_credential_version: int | None = None
    upgrade_file_destination: int | None = None
    force_replace: int = 0
    header_extension: bytes = b""
    """Octets after the known header fields (an unknown extension: invalid under the GB profile)."""


def deterministic_payload(size: int, seed: int = 0) -> bytes:
    """`size` pseudo-random octets fixed by `seed` (SHAKE-256, so identical on every platform and Python)."""
    if size < 0:
        raise ImageBuildError(f"payload size must not be negative, got {size}")
    return hashlib.shake_256(_PAYLOAD_DOMAIN + seed.to_bytes(8, "little", signed=True)).digest(size)


def _header_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > HEADER_STRING_LENGTH:
        raise ImageBuildError(f"header string is {len(raw)} octets in UTF-8, at most {HEADER_STRING_LENGTH} fit")
    return raw.ljust(HEADER_STRING_LENGTH, b"\x00")


def _header(spec: ImageSpec) -> OtaHeader:
    if (spec.min_hw_version is None) != (spec.max_hw_version is None):
        raise ImageBuildError("give both minimum and maximum hardware versions, or neither")
    field_control = field_control_for(
        security_credential_version=spec.security_credential_version,
        upgrade_file_destination=spec.upgrade_file_destination,
        hardware_versions=spec.min_hw_version is not None,
    )
    return OtaHeader(
        file_identifier=OTA_MAGIC,
        header_version=OTA_HEADER_VERSION,
        header_length=0,  # computed by with_consistent_lengths
        field_control=field_control,
        manufacturer_code=spec.manufacturer_code,
        image_type=spec.image_type,
        file_version=spec.file_version,
        stack_version=spec.stack_version,
        header_string=_header_string(spec.header_string),
        total_image_size=0,  # computed by with_consistent_lengths
        security_credential_version=spec.security_credential_version,
        upgrade_file_destination=spec.upgrade_file_destination,
        min_hw_version=spec.min_hw_version,
        max_hw_version=spec.max_hw_version,
        extension=spec.header_extension,
    )


def _body(layout: Layout, manufacturer_image: bytes, force_replace: int) -> Body:
    if layout is Layout.GB_SIGNED:
        return GbSignedBody(manufacturer_image, force_replace=force_replace)
    if layout is Layout.GB_UNSIGNED:
        return GbUnsignedBody(manufacturer_image)
    return ZigbeeBody((SubElement(0x0000, manufacturer_image),))


def seal(
    image: OtaImage,
    *,
    supplier_key: ec.EllipticCurvePrivateKey | None = None,
    manufacturer_key: ec.EllipticCurvePrivateKey | None = None,
) -> OtaImage:
    """Make an (edited) image consistent again: with `manufacturer_key`, re-make the GBMS trailer for the
    header's current identity and version; with `supplier_key`, re-sign a gb-signed body; always recompute
    Header Length and Total Image Size. Without keys, signatures are left exactly as they were."""
    header = image.header
    manufacturer_image = image.manufacturer_image or b""
    if manufacturer_key is not None:
        manufacturer_image = make_manufacturer_image(
            manufacturer_payload(manufacturer_image),
            header.manufacturer_code,
            header.image_type,
            header.file_version,
            manufacturer_key,
        )
    body = with_manufacturer_image(image.body, manufacturer_image)
    if supplier_key is not None and isinstance(body, GbSignedBody):
        body = dataclasses.replace(
            body,
            signature_length=SUPPLIER_SIGNATURE_LENGTH,
            signature=sign_raw(supplier_key, manufacturer_image),
        )
    return with_consistent_lengths(dataclasses.replace(image, body=body))


def build_ota_image(
    spec: ImageSpec,
    supplier_key: ec.EllipticCurvePrivateKey | None = None,
    manufacturer_key: ec.EllipticCurvePrivateKey | None = None,
) -> OtaImage:
    """The typed image for `spec` (see `build_image`)."""
    layout = Layout(spec.layout)
    if layout is Layout.GB_SIGNED and supplier_key is None:
        raise ImageBuildError(
            "a gb-signed image needs the supplier private key (--supplier-key), or choose layout gb-unsigned"
        )
    payload = spec.payload if spec.payload is not None else deterministic_payload(spec.payload_size, spec.seed)
    image = OtaImage(_header(spec), _body(layout, payload, spec.force_replace))
    return seal(image, supplier_key=supplier_key, manufacturer_key=manufacturer_key)


def build_image(
    spec: ImageSpec,
    supplier_key: ec.EllipticCurvePrivateKey | None = None,
    manufacturer_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The OTA file for `spec`. gb-signed needs `supplier_key`; with `manufacturer_key` the Manufacturer
    Image is payload ‖ GBMS trailer (`harness.ota.manufacturer`), otherwise the bare payload."""
    try:
        return encode_image(build_ota_image(spec, supplier_key, manufacturer_key))
    except ImageFormatError as err:
        raise ImageBuildError(f"cannot build the image: {err}") from None
