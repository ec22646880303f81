"""The Zigbee OTA upgrade file and its three body layouts, as construct definitions plus typed values.

This module answers one question: how are these bytes cut into fields, and how are fields put back into
bytes? It is *structural*: any value that fits its field is accepted (a wrong header version, a signature
length octet other than 0x40), so that negative images can be represented and rebuilt byte for byte.
Judging the values is `harness.ota.validate`'s job.

Layouts of the bytes after the header (all integers little-endian; domain.md §2.2, §3.1-3.2):

- ``gb-signed``: Manufacturer Image ‖ ForceReplace u8 ‖ signature length u8 (0x40) ‖ 64-octet supplier
  ECDSA P-256 signature over the Manufacturer Image only (GBCS 11.2.2, the DCC Boxed SR 11.1 sample).
- ``gb-unsigned``: the Manufacturer Image alone (the DCC Boxed SR 11.4 PPMID sample).
- ``zigbee``: standard sub-elements, each tag u16 ‖ length u32 ‖ data, tiling the body exactly.

Every parse failure is raised as `ImageFormatError`; no construct, struct or index error escapes.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import accumulate
from typing import Any, TypeAlias

from construct import (
    Bytes,
    Check,
    ConstructError,
    FocusedSeq,
    GreedyBytes,
    GreedyRange,
    If,
    Int8ul,
    Int16ul,
    Int32ul,
    Int64ul,
    Prefixed,
    Struct,
    Tell,
    Terminated,
    this,
)

from harness.ota.errors import ImageFormatError
from harness.ota.manufacturer import has_trailer

OTA_MAGIC = 0x0BEEF11E
OTA_HEADER_VERSION = 0x0100
FIXED_HEADER_LENGTH = 56
"""Octets of the header fields every file has (identifier up to Total Image Size)."""

FC_SECURITY_CREDENTIAL_VERSION = 0x0001
FC_DEVICE_SPECIFIC = 0x0002
FC_HARDWARE_VERSIONS = 0x0004
FC_KNOWN_BITS = FC_SECURITY_CREDENTIAL_VERSION | FC_DEVICE_SPECIFIC | FC_HARDWARE_VERSIONS

SUPPLIER_SIGNATURE_LENGTH = 64
"""Raw r‖s of an ECDSA P-256 signature; also the value the GB signature length octet must hold (0x40)."""
GB_TRAILER_LENGTH = 1 + 1 + SUPPLIER_SIGNATURE_LENGTH
"""ForceReplace ‖ signature length ‖ signature: what follows the Manufacturer Image in a gb-signed body."""

SUBELEMENT_HEADER_LENGTH = 6
TAG_UPGRADE_IMAGE = 0x0000

ZIGBEE_STACK_PRO = 0x0002
HEADER_STRING_LENGTH = 32


class Layout(StrEnum):
    """What follows the OTA header."""

    GB_SIGNED = "gb-signed"
    GB_UNSIGNED = "gb-unsigned"
    ZIGBEE = "zigbee"


# -- construct definitions -----------------------------------------------------------------------------
_FIXED_FIELDS = (
    "file_identifier" / Int32ul,
    "header_version" / Int16ul,
    "header_length" / Int16ul,
    # A plain integer, not FlagsEnum: FlagsEnum drops unknown bits, which would break the round trip.
    "field_control" / Int16ul,
    "manufacturer_code" / Int16ul,
    "image_type" / Int16ul,
    "file_version" / Int32ul,
    "stack_version" / Int16ul,
    "header_string" / Bytes(HEADER_STRING_LENGTH),
    "total_image_size" / Int32ul,
)
_OPTIONAL_FIELDS = (
    "security_credential_version" / If(this.field_control & FC_SECURITY_CREDENTIAL_VERSION, Int8ul),
    "upgrade_file_destination" / If(this.field_control & FC_DEVICE_SPECIFIC, Int64ul),
    "min_hw_version" / If(this.field_control & FC_HARDWARE_VERSIONS, Int16ul),
    "max_hw_version" / If(this.field_control & FC_HARDWARE_VERSIONS, Int16ul),
)
_HEADER_FIELDS = _FIXED_FIELDS + _OPTIONAL_FIELDS

FIXED_HEADER = Struct(*_FIXED_FIELDS)
FIELD_OFFSETS: dict[str, int] = dict(
    zip(
        (f.name for f in _FIXED_FIELDS),
        accumulate((f.sizeof() for f in _FIXED_FIELDS), initial=0),
        strict=False,
    )
)
"""File offset of each fixed header field, derived from the definition above."""

HEADER_FIELDS = Struct(*_HEADER_FIELDS)
"""The fields the field control announces, ignoring Header Length (the validator's lenient view)."""

HEADER = Struct(
    *_HEADER_FIELDS,
    "_known_length" / Tell,
    Check(this.header_length >= this._known_length),
    # Header Length is honoured: octets beyond the known fields are a (future) extension, kept verbatim.
    "extension" / Bytes(this.header_length - this._known_length),
)

SUBELEMENT = Struct("tag" / Int16ul, "data" / Prefixed(Int32ul, GreedyBytes))
SUBELEMENT_HEAD = Struct("tag" / Int16ul, "length" / Int32ul)
# GreedyRange stops silently at a broken element; Terminated turns "did not tile the body" into an error.
ZIGBEE_BODY = FocusedSeq("elements", "elements" / GreedyRange(SUBELEMENT), Terminated)

GB_SIGNED_BODY = Struct(
    "manufacturer_image" / Bytes(this._params.manufacturer_image_length),
    "force_replace" / Int8ul,
    "signature_length" / Int8ul,
    "signature" / Bytes(SUPPLIER_SIGNATURE_LENGTH),
    Terminated,
)

GB_UNSIGNED_BODY = Struct("manufacturer_image" / GreedyBytes)


# -- typed values -------------------------------------------------------------------------------------
def known_header_length(field_control: int) -> int:
    """Octets taken by the fields the field control announces (56 to 69)."""
    length = FIXED_HEADER_LENGTH
    if field_control & FC_SECURITY_CREDENTIAL_VERSION:
        length += 1
    if field_control & FC_DEVICE_SPECIFIC:
        length += 8
    if field_control & FC_HARDWARE_VERSIONS:
        length += 4
    return length


@dataclass(frozen=True)
class OtaHeader:
    """Every header field as read; `header_string` stays 32 raw octets so that it round-trips exactly."""

    file_identifier: int
    header_version: int
    header_length: int
    field_control: int
    manufacturer_code: int
    image_type: int
    file_version: int
    stack_version: int
    header_string: bytes
    total_image_size: int
    security_credential_version: int | None = None
    upgrade_file_destination: int | None = None
    """EUI-64 as an integer (most significant octet first when written out); little-endian on the wire."""
    min_hw_version: int | None = None
    max_hw_version: int | None = None
    extension: bytes = b""
    """Octets between the known fields and Header Length (an unknown header extension)."""

    @property
    def known_length(self) -> int:
        return known_header_length(self.field_control)

    @property
    def header_text(self) -> str:
        """The header string for people: up to the first NUL, undecodable octets escaped."""
        return self.header_string.split(b"\x00", 1)[0].decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class SubElement:
    tag: int
    data: bytes


@dataclass(frozen=True)
class GbSignedBody:
    manufacturer_image: bytes
    force_replace: int = 0
    signature_length: int = SUPPLIER_SIGNATURE_LENGTH
    signature: bytes = bytes(SUPPLIER_SIGNATURE_LENGTH)


@dataclass(frozen=True)
class GbUnsignedBody:
    manufacturer_image: bytes


@dataclass(frozen=True)
class ZigbeeBody:
    elements: tuple[SubElement, ...]

    @property
    def manufacturer_image(self) -> bytes | None:
        """The data of the first Upgrade Image sub-element (tag 0x0000): what GB calls the image."""
        return next((e.data for e in self.elements if e.tag == TAG_UPGRADE_IMAGE), None)


Body: TypeAlias = GbSignedBody | GbUnsignedBody | ZigbeeBody

_LAYOUT_OF_BODY: dict[type, Layout] = {
    GbSignedBody: Layout.GB_SIGNED,
    GbUnsignedBody: Layout.GB_UNSIGNED,
    ZigbeeBody: Layout.ZIGBEE,
}


@dataclass(frozen=True)
class OtaImage:
    """A parsed file: header, body in one layout, and any octets beyond the Total Image Size."""

    header: OtaHeader
    body: Body
    trailing: bytes = b""

    @property
    def layout(self) -> Layout:
        return _LAYOUT_OF_BODY[type(self.body)]

    @property
    def manufacturer_image(self) -> bytes | None:
        return self.body.manufacturer_image


# -- header -------------------------------------------------------------------------------------------
def _header_from_container(c: Any) -> OtaHeader:
    return OtaHeader(**{f.name: c.get(f.name, b"") for f in dataclasses.fields(OtaHeader)})


def parse_header(data: bytes, *, honour_length: bool = True) -> OtaHeader:
    """Read the header at the start of `data`.

    With `honour_length` the Header Length must cover the announced fields and the file, and the octets
    beyond them become `extension`; without it only the announced fields are read (extension is empty),
    which lets the validator report a short Header Length instead of failing.
    """
    struct = HEADER if honour_length else HEADER_FIELDS
    try:
        container = struct.parse(data)
    except ConstructError as err:
        raise ImageFormatError(_header_problem(data, honour_length) or f"unreadable OTA header: {err}") from None
    return _header_from_container(container)


def _header_problem(data: bytes, honour_length: bool) -> str | None:
    """A one-line reason for a header that did not parse, in the operator's terms."""
    if len(data) < FIXED_HEADER_LENGTH:
        return f"file of {len(data)} octets is shorter than the {FIXED_HEADER_LENGTH}-octet OTA header"
    fields = FIXED_HEADER.parse(data)
    known = known_header_length(fields.field_control)
    if len(data) < known:
        return f"file of {len(data)} octets is shorter than the {known} octets of header fields announced"
    if honour_length and fields.header_length < known:
        return (
            f"Header Length {fields.header_length} is shorter than the {known} octets of fields the field"
            f" control 0x{fields.field_control:04X} announces"
        )
    if honour_length and fields.header_length > len(data):
        return f"Header Length {fields.header_length} runs past the end of the {len(data)}-octet file"
    return None


def encode_header(header: OtaHeader) -> bytes:
    """Header bytes exactly as the fields say, lengths included (consistency is the caller's concern)."""
    try:
        return HEADER.build(dataclasses.asdict(header))
    except ConstructError as err:
        raise ImageFormatError(f"cannot encode OTA header: {err}") from None


# -- body ---------------------------------------------------------------------------------------------
def parse_body(body: bytes, layout: Layout | str) -> Body:
    """Cut the octets between the header and the Total Image Size according to `layout`."""
    layout = Layout(layout)
    try:
        if layout is Layout.ZIGBEE:
            elements = ZIGBEE_BODY.parse(body)
            return ZigbeeBody(tuple(SubElement(e.tag, e.data) for e in elements))
        if layout is Layout.GB_UNSIGNED:
            return GbUnsignedBody(GB_UNSIGNED_BODY.parse(body).manufacturer_image)
        if len(body) < GB_TRAILER_LENGTH:
            raise ImageFormatError(
                f"gb-signed body of {len(body)} octets is shorter than the {GB_TRAILER_LENGTH}-octet"
                " ForceReplace/signature trailer"
            )
        c = GB_SIGNED_BODY.parse(body, manufacturer_image_length=len(body) - GB_TRAILER_LENGTH)
        return GbSignedBody(c.manufacturer_image, c.force_replace, c.signature_length, c.signature)
    except ConstructError:
        reason = _zigbee_tiling_problem(body) if layout is Layout.ZIGBEE else None
        raise ImageFormatError(reason or f"body does not fit layout {layout}") from None


#: The head of a sub-element as ``struct`` reads it: SUBELEMENT_HEAD's fields (tag, length; little-endian).
_SUBELEMENT_HEAD_STRUCT = struct.Struct("<HI")


def subelement_spans(body: bytes) -> Iterator[tuple[int, int, int]]:
    """``(tag, data start, data end)`` of each sub-element of a Zigbee body, in order; ImageFormatError
    where they stop tiling it.

    Hand-written with ``struct`` rather than construct's GreedyRange, which costs about 20 µs and an object
    per element: a hostile 16 MiB file holds 2.8 million empty sub-elements, which took construct a minute
    (issue 14). The head is SUBELEMENT_HEAD's (a test cross-checks the two on every test image)."""
    offset, size = 0, len(body)
    head = _SUBELEMENT_HEAD_STRUCT
    while offset < size:
        if size - offset < SUBELEMENT_HEADER_LENGTH:
            stray = size - offset
            raise ImageFormatError(f"{stray} stray octets at body offset {offset}: too short for a sub-element header")
        tag, length = head.unpack_from(body, offset)
        start = offset + SUBELEMENT_HEADER_LENGTH
        if start + length > size:
            raise ImageFormatError(
                f"sub-element tag 0x{tag:04X} at body offset {offset} declares {length} octets but"
                f" only {size - start} remain"
            )
        yield tag, start, start + length
        offset = start + length


def _zigbee_tiling_problem(body: bytes) -> str | None:
    """Where the sub-elements stop tiling the body, for the error message."""
    try:
        for _ in subelement_spans(body):
            pass
    except ImageFormatError as err:
        return str(err)
    return None


def encode_body(body: Body) -> bytes:
    try:
        if isinstance(body, ZigbeeBody):
            return ZIGBEE_BODY.build([dataclasses.asdict(e) for e in body.elements])
        if isinstance(body, GbUnsignedBody):
            return GB_UNSIGNED_BODY.build(dataclasses.asdict(body))
        return GB_SIGNED_BODY.build(dataclasses.asdict(body), manufacturer_image_length=len(body.manufacturer_image))
    except ConstructError as err:
        raise ImageFormatError(f"cannot encode {type(body).__name__}: {err}") from None


def looks_gb_signed(body: bytes) -> bool:
    """A GB trailer sits at the end: signature length octet 0x40 with a ForceReplace of 0 or 1 before it.

    The suite's GBMS manufacturer trailer (version 1 ‖ 0x40 ‖ signature) has the same shape, so a body that
    ends with one is an unsigned Manufacturer Image, not a supplier-signed one.
    """
    return (
        len(body) >= GB_TRAILER_LENGTH
        and body[-SUPPLIER_SIGNATURE_LENGTH - 1] == SUPPLIER_SIGNATURE_LENGTH
        and body[-GB_TRAILER_LENGTH] in (0, 1)
        and not has_trailer(body)
    )


def tiles_as_subelements(body: bytes) -> bool:
    """True when the body is one or more sub-elements ending exactly at its end."""
    return bool(body) and _zigbee_tiling_problem(body) is None


def detect_layout(body: bytes) -> Layout:
    """Guess the layout of a body (the heuristic documented in docs/ota-images.md).

    1. ``zigbee`` when the body is a non-empty run of sub-elements that ends exactly at its end (an opaque
       firmware image does this by chance with negligible probability);
    2. otherwise ``gb-signed`` when it ends like a GB trailer and not like the suite's GBMS manufacturer
       trailer (`looks_gb_signed`; a chance match on an unsigned image has probability about 1/32768);
    3. otherwise ``gb-unsigned``.

    A gb-signed image whose trailer is damaged is therefore detected as gb-unsigned: pass the layout
    you expect whenever you know it.
    """
    if tiles_as_subelements(body):
        return Layout.ZIGBEE
    if looks_gb_signed(body):
        return Layout.GB_SIGNED
    return Layout.GB_UNSIGNED


# -- whole file ---------------------------------------------------------------------------------------
def parse_image(data: bytes, *, layout: Layout | str | None = None, check_magic: bool = True) -> OtaImage:
    """Parse a whole OTA file; `layout=None` detects the layout (`detect_layout`).

    The body is the octets from Header Length to Total Image Size; octets beyond it are kept as
    `trailing` so that `encode_image(parse_image(x)) == x` for every `x` that parses.
    Raises `ImageFormatError` (and nothing else) when the bytes cannot be cut that way.
    """
    data = bytes(data)
    header = parse_header(data)
    if check_magic and header.file_identifier != OTA_MAGIC:
        raise ImageFormatError(
            f"not an OTA file: identifier 0x{header.file_identifier:08X}, expected 0x{OTA_MAGIC:08X}"
        )
    total = header.total_image_size
    if total < header.header_length:
        raise ImageFormatError(f"Total Image Size {total} is smaller than the Header Length {header.header_length}")
    if total > len(data):
        raise ImageFormatError(f"file of {len(data)} octets is shorter than its Total Image Size {total}")
    body = data[header.header_length : total]
    chosen = detect_layout(body) if layout is None else Layout(layout)
    return OtaImage(header, parse_body(body, chosen), data[total:])


def encode_image(image: OtaImage) -> bytes:
    """The file bytes. The Total Image Size must match the header and body (use `with_consistent_lengths`);
    trailing octets are appended after it."""
    header = encode_header(image.header)
    body = encode_body(image.body)
    if image.header.total_image_size != len(header) + len(body):
        raise ImageFormatError(
            f"Total Image Size {image.header.total_image_size} does not match header + body"
            f" ({len(header)} + {len(body)} octets); call with_consistent_lengths() first"
        )
    return header + body + image.trailing


def with_consistent_lengths(image: OtaImage) -> OtaImage:
    """The image with Header Length and Total Image Size recomputed from its fields and body."""
    header_length = image.header.known_length + len(image.header.extension)
    total = header_length + len(encode_body(image.body))
    header = dataclasses.replace(image.header, header_length=header_length, total_image_size=total)
    return dataclasses.replace(image, header=header)


def with_manufacturer_image(body: Body, manufacturer_image: bytes) -> Body:
    """The same body carrying another Manufacturer Image (the signature is left as it was)."""
    if isinstance(body, ZigbeeBody):
        if body.manufacturer_image is None:
            return ZigbeeBody((SubElement(TAG_UPGRADE_IMAGE, manufacturer_image), *body.elements))
        index = next(i for i, e in enumerate(body.elements) if e.tag == TAG_UPGRADE_IMAGE)
        elements = list(body.elements)
        elements[index] = SubElement(TAG_UPGRADE_IMAGE, manufacturer_image)
        return ZigbeeBody(tuple(elements))
    return dataclasses.replace(body, manufacturer_image=manufacturer_image)


def field_control_for(
    *,
    security_credential_version: int | None,
    upgrade_file_destination: int | None,
    hardware_versions: bool,
) -> int:
    """The field control that announces exactly the optional fields given."""
    return (
        (FC_SECURITY_CREDENTIAL_VERSION if security_credential_version is not None else 0)
        | (FC_DEVICE_SPECIFIC if upgrade_file_destination is not None else 0)
        | (FC_HARDWARE_VERSIONS if hardware_versions else 0)
    )
