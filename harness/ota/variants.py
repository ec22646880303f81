"""Named invalid (or deliberately mismatching) images, each derived from a valid source image.

Every negative scenario needs "this image, broken in exactly one way". A `Variant` is one documented way:
its name (kebab-case, used in features and on the command line), what it changes, which domain §8
requirements it exercises, what it needs from the test context, and the validator findings that prove
the change is there. Variants that need no key work on any image that parses — a vendor's real image
included — because they only rearrange or patch its bytes.

Note on signatures: the GB supplier signature covers the Manufacturer Image only, so header edits leave it
valid; the suite's GBMS manufacturer signature (an assumption, `harness.ota.manufacturer`) also covers
manufacturer code, image type and file version, so those edits break it unless the variant re-signs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from construct import Construct, Int16ul, Int32ul
from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import sign_raw
from harness.ota.errors import ImageFormatError, UnknownVariantError, VariantNotApplicable
from harness.ota.factory import seal
from harness.ota.format import (
    FC_HARDWARE_VERSIONS,
    FIELD_OFFSETS,
    TAG_UPGRADE_IMAGE,
    GbSignedBody,
    GbUnsignedBody,
    Layout,
    OtaImage,
    SubElement,
    ZigbeeBody,
    encode_body,
    encode_header,
    encode_image,
    parse_image,
    with_consistent_lengths,
    with_manufacturer_image,
)
from harness.ota.identity import other_image_type, other_manufacturer_code
from harness.ota.manufacturer import make_manufacturer_image, manufacturer_payload
from harness.ota.validate import FindingCode


class Need(StrEnum):
    """What a variant may need from the context besides the source image."""

    SUPPLIER_KEY = "supplier-key"
    MANUFACTURER_KEY = "manufacturer-key"
    OTHER_KEY = "other-key"
    DEVICE_HW_VERSION = "device-hw-version"
    RUNNING_VERSION = "running-version"


KEY_NEEDS = frozenset({Need.SUPPLIER_KEY, Need.MANUFACTURER_KEY, Need.OTHER_KEY})


@dataclass(frozen=True)
class VariantContext:
    """The few facts and keys variants may use. Private keys are test keys from the DUT profile."""

    device_hw_version: int | None = None
    running_version: int | None = None
    supplier_key: ec.EllipticCurvePrivateKey | None = None
    manufacturer_key: ec.EllipticCurvePrivateKey | None = None
    other_key: ec.EllipticCurvePrivateKey | None = None
    """A key the device must not trust (signs "signed-by-other-key" images)."""
    layout: Layout | None = None
    """Layout of the source image when known; None detects it."""

    def _require(self, need: Need) -> object:
        value = getattr(self, need.value.replace("-", "_"))
        if value is None:
            raise VariantNotApplicable(f"needs the {need}, which was not given")
        return value

    def require_key(self, need: Need) -> ec.EllipticCurvePrivateKey:
        key = self._require(need)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def require_int(self, need: Need) -> int:
        value = self._require(need)
        assert isinstance(value, int)
        return value


Derive = Callable[[OtaImage, VariantContext], bytes]


@dataclass(frozen=True)
class Variant:
    """One documented way to break (or mismatch) an image; `derive` applies it to given image bytes."""

    name: str
    description: str
    requirements: tuple[str, ...]
    needs: frozenset[Need]
    """The most the variant may need; some needs apply only to some layouts (see the description)."""
    findings: frozenset[FindingCode]
    """Validator findings (any of them) that show the change; empty for well-formed identity, version and
    hardware edits, whose point is a file that is valid but must not be accepted by this device."""
    _derive: Derive
    validate_layout: Layout | None = None
    """The layout to validate the result as, when it differs from the source's."""

    @property
    def needs_key(self) -> bool:
        return bool(self.needs & KEY_NEEDS)

    def derive(self, image: bytes, context: VariantContext | None = None) -> bytes:
        """The variant of `image`; raises VariantNotApplicable with the reason when it cannot be made."""
        context = context or VariantContext()
        try:
            source = parse_image(image, layout=context.layout)
        except ImageFormatError as err:
            raise VariantNotApplicable(f"variant {self.name}: the source image does not parse: {err}") from None
        try:
            return self._derive(source, context)
        except (ImageFormatError, VariantNotApplicable) as err:
            raise VariantNotApplicable(f"variant {self.name}: {err}") from None


# -- helpers ------------------------------------------------------------------------------------------
def _patch(data: bytes, offset: int, field: Construct, value: int) -> bytes:
    """Overwrite one integer field in place: for lies construct refuses to build (e.g. Header Length)."""
    raw = field.build(value)
    return data[:offset] + raw + data[offset + len(raw) :]


def _with_header(image: OtaImage, **changes: int | bytes | None) -> OtaImage:
    return dataclasses.replace(image, header=dataclasses.replace(image.header, **changes))


def _consistent(image: OtaImage) -> bytes:
    return encode_image(with_consistent_lengths(image))


def _require_layout(image: OtaImage, layout: Layout) -> None:
    if image.layout is not layout:
        raise VariantNotApplicable(f"applies to {layout} images; this one is {image.layout}")


def _manufacturer_image(image: OtaImage) -> bytes:
    mi = image.manufacturer_image
    if not mi:
        raise VariantNotApplicable("the image has no Manufacturer Image")
    return mi


def _reseal(image: OtaImage, context: VariantContext, *, manufacturer: bool) -> bytes:
    """Seal an edited image: the supplier key is needed when the layout carries a supplier signature."""
    manufacturer_key = context.require_key(Need.MANUFACTURER_KEY) if manufacturer else None
    supplier = context.require_key(Need.SUPPLIER_KEY) if image.layout is Layout.GB_SIGNED else None
    return encode_image(seal(image, supplier_key=supplier, manufacturer_key=manufacturer_key))


# -- derivations --------------------------------------------------------------------------------------
def _flip_bit(image: OtaImage, _: VariantContext) -> bytes:
    mi = bytearray(_manufacturer_image(image))
    mi[len(mi) // 2] ^= 0x01
    return _consistent(dataclasses.replace(image, body=with_manufacturer_image(image.body, bytes(mi))))


def _wrong_magic(image: OtaImage, _: VariantContext) -> bytes:
    # The identifier written big-endian: the classic byte-order slip.
    return encode_image(_with_header(image, file_identifier=0x1EF1EE0B))


def _wrong_header_version(image: OtaImage, _: VariantContext) -> bytes:
    return encode_image(_with_header(image, header_version=0x0200))


def _header_length_short(image: OtaImage, _: VariantContext) -> bytes:
    return _patch(encode_image(image), FIELD_OFFSETS["header_length"], Int16ul, image.header.known_length - 2)


def _header_length_long(image: OtaImage, _: VariantContext) -> bytes:
    return _consistent(_with_header(image, extension=image.header.extension + b"\xee" * 4))


def _header_length_overflow(image: OtaImage, _: VariantContext) -> bytes:
    return _patch(encode_image(image), FIELD_OFFSETS["header_length"], Int16ul, 0xFFFF)


def _total_size(delta: int) -> Derive:
    def derive(image: OtaImage, _: VariantContext) -> bytes:
        total = image.header.total_image_size + delta
        return _patch(encode_image(image), FIELD_OFFSETS["total_image_size"], Int32ul, total)

    return derive


def _oversized(image: OtaImage, _: VariantContext) -> bytes:
    return _patch(encode_image(image), FIELD_OFFSETS["total_image_size"], Int32ul, 0xFFFFFFFF)


def _truncated_file(image: OtaImage, _: VariantContext) -> bytes:
    data = encode_image(image)
    cut = min(32, image.header.total_image_size - image.header.header_length)
    if cut <= 0:
        raise VariantNotApplicable("the image has no body to cut")
    return data[: image.header.total_image_size - cut]


def _trailing_bytes(image: OtaImage, _: VariantContext) -> bytes:
    return encode_image(image) + b"TRAILING-OCTETS!"


FieldValue = Callable[[OtaImage, VariantContext], int]


def _edit(field: str, value: FieldValue) -> Derive:
    """A header edit that keeps the file well-formed (signatures untouched)."""

    def derive(image: OtaImage, context: VariantContext) -> bytes:
        return encode_image(_with_header(image, **{field: value(image, context)}))

    return derive


def _resigned(field: str, value: FieldValue) -> Derive:
    """The same header edit, then the image re-signed so that it is valid for the new header."""

    def derive(image: OtaImage, context: VariantContext) -> bytes:
        edited = _with_header(image, **{field: value(image, context)})
        return _reseal(edited, context, manufacturer=True)

    return derive


def _other_manufacturer(image: OtaImage, _: VariantContext) -> int:
    return other_manufacturer_code(image.header.manufacturer_code)


def _other_image_type(image: OtaImage, _: VariantContext) -> int:
    return other_image_type(image.header.image_type)


def _lower_version(_: OtaImage, context: VariantContext) -> int:
    running = context.require_int(Need.RUNNING_VERSION)
    if running == 0:
        raise VariantNotApplicable("the running version is 0, nothing is lower")
    return running - 1


def _same_version(_: OtaImage, context: VariantContext) -> int:
    return context.require_int(Need.RUNNING_VERSION)


def _hw_excludes(image: OtaImage, context: VariantContext) -> bytes:
    hw = context.require_int(Need.DEVICE_HW_VERSION)
    low, high = (hw + 1, 0xFFFF) if hw < 0xFFFF else (0x0000, hw - 1)
    edited = _with_header(
        image,
        field_control=image.header.field_control | FC_HARDWARE_VERSIONS,
        min_hw_version=low,
        max_hw_version=high,
    )
    return _consistent(edited)


def _missing_signature(image: OtaImage, _: VariantContext) -> bytes:
    _require_layout(image, Layout.GB_SIGNED)
    return _consistent(dataclasses.replace(image, body=GbUnsignedBody(_manufacturer_image(image))))


def _truncated_signature(image: OtaImage, _: VariantContext) -> bytes:
    _require_layout(image, Layout.GB_SIGNED)
    body = encode_body(image.body)[:-32]
    header = dataclasses.replace(image.header, total_image_size=image.header.header_length + len(body))
    return encode_header(header) + body + image.trailing


def _wrong_signature_length(image: OtaImage, _: VariantContext) -> bytes:
    _require_layout(image, Layout.GB_SIGNED)
    assert isinstance(image.body, GbSignedBody)
    return encode_image(dataclasses.replace(image, body=dataclasses.replace(image.body, signature_length=0x00)))


def _wrapped(image: OtaImage) -> OtaImage:
    if image.layout is Layout.ZIGBEE:
        raise VariantNotApplicable("the image already uses Zigbee sub-elements")
    wrapped = ZigbeeBody((SubElement(TAG_UPGRADE_IMAGE, encode_body(image.body)),))
    return with_consistent_lengths(dataclasses.replace(image, body=wrapped))


def _subelement_wrap(image: OtaImage, _: VariantContext) -> bytes:
    return encode_image(_wrapped(image))


def _subelement_overflow(image: OtaImage, _: VariantContext) -> bytes:
    zigbee = image if image.layout is Layout.ZIGBEE else _wrapped(image)
    if not isinstance(zigbee.body, ZigbeeBody) or not zigbee.body.elements:
        raise VariantNotApplicable("the image has no sub-element")
    offset = zigbee.header.header_length + 2  # the first sub-element's length field
    return _patch(encode_image(zigbee), offset, Int32ul, 0xFFFFFFF0)


def _signed_by_other_key(image: OtaImage, context: VariantContext) -> bytes:
    _require_layout(image, Layout.GB_SIGNED)
    other = context.require_key(Need.OTHER_KEY)
    assert isinstance(image.body, GbSignedBody)
    signature = sign_raw(other, image.body.manufacturer_image)
    return encode_image(dataclasses.replace(image, body=dataclasses.replace(image.body, signature=signature)))


def _manufacturer_signed(image: OtaImage, context: VariantContext, key: Need, *, damage: bool) -> bytes:
    signer = context.require_key(key)
    header = image.header
    mi = make_manufacturer_image(
        manufacturer_payload(image.manufacturer_image or b""),
        header.manufacturer_code,
        header.image_type,
        header.file_version,
        signer,
    )
    if damage:
        mi = mi[:-1] + bytes([mi[-1] ^ 0x01])
    edited = dataclasses.replace(image, body=with_manufacturer_image(image.body, mi))
    return _reseal(edited, context, manufacturer=False)


def _bad_manufacturer_signature(image: OtaImage, context: VariantContext) -> bytes:
    return _manufacturer_signed(image, context, Need.MANUFACTURER_KEY, damage=True)


def _manufacturer_other_key(image: OtaImage, context: VariantContext) -> bytes:
    return _manufacturer_signed(image, context, Need.OTHER_KEY, damage=False)


# -- the registry -------------------------------------------------------------------------------------
_HEADER_ONLY = (
    " The supplier signature covers only the Manufacturer Image, so it still verifies; a GBMS manufacturer"
    " signature (suite convention) no longer does, because it covers this field."
)
_RESIGNED = (
    " The Manufacturer Image is re-signed for the new header with the manufacturer key (GBMS convention)"
    " and, for gb-signed images, the supplier signature is recomputed (needs the supplier key): the file is"
    " valid and only the device's own identity/version check can refuse it."
)
_F = FindingCode


def _v(
    name: str,
    description: str,
    requirements: tuple[str, ...],
    derive: Derive,
    findings: tuple[FindingCode, ...] = (),
    needs: tuple[Need, ...] = (),
    validate_layout: Layout | None = None,
) -> Variant:
    return Variant(name, description, requirements, frozenset(needs), frozenset(findings), derive, validate_layout)


_ALL = (
    _v(
        "flip-one-bit-in-manufacturer-image",
        "Flips the lowest bit of the middle octet of the Manufacturer Image; nothing else changes.",
        ("CS-08", "HG-05", "PZ-14"),
        _flip_bit,
        (_F.SIGNATURE_INVALID, _F.HASH_MISMATCH, _F.MANUFACTURER_SIGNATURE),
    ),
    _v(
        "wrong-magic",
        "File identifier 0x1EF1EE0B: the magic 0x0BEEF11E written big-endian.",
        ("CS-03",),
        _wrong_magic,
        (_F.BAD_MAGIC,),
    ),
    _v(
        "wrong-header-version",
        "Header version 0x0200 (only 0x0100 is defined).",
        ("CS-03",),
        _wrong_header_version,
        (_F.UNSUPPORTED_HEADER_VERSION,),
    ),
    _v(
        "header-length-short",
        "Header Length 2 octets shorter than the fields the field control announces (bytes unchanged).",
        ("CS-04", "CS-14"),
        _header_length_short,
        (_F.HEADER_LENGTH_SHORT,),
    ),
    _v(
        "header-length-long",
        "Inserts a 4-octet unknown header extension (0xEE) and raises Header Length and Total Image Size"
        " to match: well-formed for Zigbee, a defect under the GB profile.",
        ("CS-04",),
        _header_length_long,
        (_F.UNKNOWN_HEADER_EXTENSION,),
    ),
    _v(
        "header-length-overflow",
        "Header Length 0xFFFF: the header claims to run past the body (usually past the file).",
        ("CS-04", "CS-14"),
        _header_length_overflow,
        (_F.UNKNOWN_HEADER_EXTENSION, _F.FILE_SHORTER_THAN_HEADER),
    ),
    _v(
        "total-size-short",
        "Total Image Size one octet smaller than the file: the last octet lies beyond the declared image.",
        ("CS-05",),
        _total_size(-1),
        (_F.TRAILING_BYTES,),
    ),
    _v(
        "total-size-long",
        "Total Image Size one octet larger than the file: the declared image is never complete.",
        ("CS-05",),
        _total_size(+1),
        (_F.FILE_TRUNCATED,),
    ),
    _v(
        "truncated-file",
        "The last 32 octets of the file removed; the header is unchanged.",
        ("CS-05", "PZ-13"),
        _truncated_file,
        (_F.FILE_TRUNCATED,),
    ),
    _v(
        "trailing-bytes",
        "16 octets appended after the declared image, not covered by any signature; header unchanged.",
        ("CS-05", "CS-14"),
        _trailing_bytes,
        (_F.TRAILING_BYTES,),
    ),
    _v(
        "oversized-image",
        "Total Image Size 0xFFFFFFFF (about 4 GiB) on an unchanged file: more than any device can store.",
        ("CS-15", "CS-05"),
        _oversized,
        (_F.FILE_TRUNCATED, _F.IMAGE_TOO_LARGE),
    ),
    _v(
        "missing-signature",
        "gb-signed only: removes ForceReplace, signature length and signature (sizes fixed up), leaving a"
        " well-formed gb-unsigned file where a signed one is required.",
        ("HG-02", "HG-05"),
        _missing_signature,
        (_F.SIGNATURE_MISSING,),
    ),
    _v(
        "truncated-signature",
        "gb-signed only: the signature keeps 32 of its 64 octets; Total Image Size fixed up to match.",
        ("HG-02", "HG-05", "CS-14"),
        _truncated_signature,
        # The octet now 65 from the end is a signature octet: when it happens to be 0x40 (about 1 in 256
        # signatures) the file reads as a whole signature that does not verify, when it is 0x00 (as often) as a
        # signature length octet of an unsigned image with 32 stray octets. Any of these findings rejects it.
        (_F.SIGNATURE_TRUNCATED, _F.SIGNATURE_INVALID, _F.SIGNATURE_LENGTH_OCTET),
    ),
    _v(
        "wrong-signature-length-octet",
        "gb-signed only: signature length octet 0x00 (as if unsigned) with the 64-octet signature still present.",
        ("HG-02", "HG-05"),
        _wrong_signature_length,
        (_F.SIGNATURE_LENGTH_OCTET,),
    ),
    _v(
        "zigbee-subelement-wrap",
        "Wraps the GB Upgrade Image in a standard Zigbee Upgrade Image sub-element (tag 0x0000, u32 length):"
        " a valid Zigbee file, but GB images carry no sub-elements.",
        ("CS-07",),
        _subelement_wrap,
        (_F.LAYOUT_MISMATCH, _F.LAYOUT_NOT_IN_PROFILE),
    ),
    _v(
        "subelement-length-overflow",
        "Zigbee layout (a GB image is wrapped first): the first sub-element's length is 0xFFFFFFF0, far past"
        " the end of the file (integer-overflow bait).",
        ("CS-14",),
        _subelement_overflow,
        (_F.SUBELEMENTS_DO_NOT_TILE,),
        validate_layout=Layout.ZIGBEE,
    ),
    _v(
        "wrong-manufacturer-code",
        "Another manufacturer code (harness.ota.identity: never the device's, never the 0xFFFF wildcard)."
        + _HEADER_ONLY,
        ("CS-06", "PZ-06"),
        _edit("manufacturer_code", _other_manufacturer),
    ),
    _v(
        "wrong-image-type",
        "Another manufacturer-specific image type (harness.ota.identity: never the device's, never 0xFFFF)."
        + _HEADER_ONLY,
        ("CS-06", "PZ-06"),
        _edit("image_type", _other_image_type),
    ),
    _v(
        "hardware-range-excludes-device",
        "Minimum/maximum hardware versions set to a range just above the device's hardware version (just"
        " below it for 0xFFFF), adding the fields if absent. Hardware versions are not signed by anyone.",
        ("PZ-07",),
        _hw_excludes,
        needs=(Need.DEVICE_HW_VERSION,),
    ),
    _v(
        "lower-version",
        "File version = running version - 1 (a downgrade)." + _HEADER_ONLY,
        ("CS-20",),
        _edit("file_version", _lower_version),
        needs=(Need.RUNNING_VERSION,),
    ),
    _v(
        "same-version",
        "File version = running version (a re-install of what runs)." + _HEADER_ONLY,
        ("CS-20",),
        _edit("file_version", _same_version),
        needs=(Need.RUNNING_VERSION,),
    ),
    _v(
        "signed-by-other-key",
        "gb-signed only: the supplier signature replaced by a valid signature over the same Manufacturer"
        " Image from another key (one the device must not trust).",
        ("CS-02", "HG-05"),
        _signed_by_other_key,
        (_F.SIGNATURE_INVALID,),
        needs=(Need.OTHER_KEY,),
    ),
    _v(
        "bad-manufacturer-signature",
        "The Manufacturer Image re-made under the GBMS convention with the manufacturer key, then one bit of"
        " the manufacturer signature flipped; the supplier signature (gb-signed) is recomputed over it.",
        ("CS-08", "PZ-14"),
        _bad_manufacturer_signature,
        (_F.MANUFACTURER_SIGNATURE,),
        needs=(Need.MANUFACTURER_KEY, Need.SUPPLIER_KEY),
    ),
    _v(
        "manufacturer-signed-by-other-key",
        "The Manufacturer Image signed under the GBMS convention by another key; the supplier signature"
        " (gb-signed) is recomputed over it, so only the manufacturer check can refuse it.",
        ("CS-08", "PZ-14"),
        _manufacturer_other_key,
        (_F.MANUFACTURER_SIGNATURE,),
        needs=(Need.OTHER_KEY, Need.SUPPLIER_KEY),
    ),
    _v(
        "wrong-manufacturer-code-resigned",
        "Another manufacturer code." + _RESIGNED,
        ("CS-06", "PZ-06"),
        _resigned("manufacturer_code", _other_manufacturer),
        needs=(Need.MANUFACTURER_KEY, Need.SUPPLIER_KEY),
    ),
    _v(
        "wrong-image-type-resigned",
        "Another image type." + _RESIGNED,
        ("CS-06", "PZ-06"),
        _resigned("image_type", _other_image_type),
        needs=(Need.MANUFACTURER_KEY, Need.SUPPLIER_KEY),
    ),
    _v(
        "lower-version-resigned",
        "File version = running version - 1." + _RESIGNED,
        ("CS-20",),
        _resigned("file_version", _lower_version),
        needs=(Need.RUNNING_VERSION, Need.MANUFACTURER_KEY, Need.SUPPLIER_KEY),
    ),
    _v(
        "same-version-resigned",
        "File version = running version." + _RESIGNED,
        ("CS-20",),
        _resigned("file_version", _same_version),
        needs=(Need.RUNNING_VERSION, Need.MANUFACTURER_KEY, Need.SUPPLIER_KEY),
    ),
)

VARIANTS: Mapping[str, Variant] = MappingProxyType({v.name: v for v in _ALL})


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise UnknownVariantError(f"unknown variant {name!r}; known variants: {known}") from None


def derive_variant(name: str, image: bytes, context: VariantContext | None = None) -> bytes:
    """The named variant of `image` (see `Variant.derive`)."""
    return get_variant(name).derive(image, context)
