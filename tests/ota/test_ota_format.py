"""The construct definitions of the OTA file: round trips, header-length handling, typed parse errors."""

from __future__ import annotations

import dataclasses

import pytest
import zigpy.ota.image as zigpy_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.ota import (
    GbSignedBody,
    GbUnsignedBody,
    ImageFormatError,
    Layout,
    OtaHeader,
    OtaImage,
    SubElement,
    ZigbeeBody,
    encode_image,
    parse_image,
    with_consistent_lengths,
)
from harness.ota.format import (
    FC_DEVICE_SPECIFIC,
    FC_HARDWARE_VERSIONS,
    FC_SECURITY_CREDENTIAL_VERSION,
    OTA_MAGIC,
    encode_header,
    known_header_length,
    parse_body,
    parse_header,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


@st.composite
def headers(draw: st.DrawFn) -> OtaHeader:
    """Any header the format can carry: optional fields per field control, reserved bits, extensions."""
    security = draw(st.none() | u8)
    destination = draw(st.none() | st.integers(0, 2**64 - 1))
    hardware = draw(st.booleans())
    reserved = draw(st.sampled_from([0, 0x0008, 0x8000]))
    field_control = (
        (FC_SECURITY_CREDENTIAL_VERSION if security is not None else 0)
        | (FC_DEVICE_SPECIFIC if destination is not None else 0)
        | (FC_HARDWARE_VERSIONS if hardware else 0)
        | reserved
    )
    return OtaHeader(
        file_identifier=draw(st.just(OTA_MAGIC)),
        header_version=draw(st.sampled_from([0x0100, 0x0100, 0x0200])),
        header_length=0,
        field_control=field_control,
        manufacturer_code=draw(u16),
        image_type=draw(u16),
        file_version=draw(u32),
        stack_version=draw(u16),
        header_string=draw(st.binary(min_size=32, max_size=32)),
        total_image_size=0,
        security_credential_version=security,
        upgrade_file_destination=destination,
        min_hw_version=draw(u16) if hardware else None,
        max_hw_version=draw(u16) if hardware else None,
        extension=draw(st.binary(max_size=12)),
    )


bodies = st.one_of(
    st.builds(
        GbSignedBody,
        manufacturer_image=st.binary(max_size=200),
        force_replace=u8,
        signature_length=u8,
        signature=st.binary(min_size=64, max_size=64),
    ),
    st.builds(GbUnsignedBody, manufacturer_image=st.binary(max_size=200)),
    st.builds(
        ZigbeeBody,
        elements=st.lists(st.builds(SubElement, tag=u16, data=st.binary(max_size=80)), max_size=4).map(tuple),
    ),
)


@st.composite
def images(draw: st.DrawFn) -> OtaImage:
    image = OtaImage(draw(headers()), draw(bodies), draw(st.binary(max_size=8)))
    return with_consistent_lengths(image)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images())
def test_round_trip_over_random_headers_optional_fields_and_layouts(image: OtaImage) -> None:
    data = encode_image(image)
    parsed = parse_image(data, layout=image.layout)
    assert parsed == image
    assert encode_image(parsed) == data
    # Whatever layout detection picks, the bytes come back unchanged.
    assert encode_image(parse_image(data)) == data


@settings(max_examples=150, deadline=None)
@given(headers())
def test_header_length_is_honoured_and_the_extension_kept(header: OtaHeader) -> None:
    header = dataclasses.replace(header, header_length=header.known_length + len(header.extension))
    raw = encode_header(header)
    assert len(raw) == header.header_length
    assert parse_header(raw + b"body") == header


@settings(max_examples=150, deadline=None)
@given(images())
def test_zigpy_agrees_on_standard_zigbee_files(image: OtaImage) -> None:
    """zigpy is not the authority, but on plain Zigbee files (no extension, no reserved bits) both agree."""
    header = dataclasses.replace(image.header, extension=b"", field_control=image.header.field_control & 0x7)
    zigbee = with_consistent_lengths(
        OtaImage(header, ZigbeeBody((SubElement(0, b"firmware"), SubElement(0xF000, b"x"))), b"")
    )
    data = encode_image(zigbee)
    theirs, rest = zigpy_image.OTAImage.deserialize(data)
    assert rest == b""
    ours = zigbee.header
    assert theirs.header.manufacturer_id == ours.manufacturer_code
    assert theirs.header.image_type == ours.image_type
    assert theirs.header.file_version == ours.file_version
    assert theirs.header.image_size == ours.total_image_size
    assert theirs.header.header_length == ours.header_length
    if ours.min_hw_version is not None:
        assert theirs.header.minimum_hardware_version == ours.min_hw_version
        assert theirs.header.maximum_hardware_version == ours.max_hw_version
    if ours.upgrade_file_destination is not None:
        assert int.from_bytes(bytes(theirs.header.upgrade_file_destination.serialize()), "little") == (
            ours.upgrade_file_destination
        )
    assert [(int(e.tag_id), bytes(e.data)) for e in theirs.subelements] == [(0, b"firmware"), (0xF000, b"x")]


@pytest.mark.parametrize(
    ("field_control", "length"),
    [(0x0000, 56), (0x0001, 57), (0x0002, 64), (0x0004, 60), (0x0007, 69), (0x0008, 56)],
)
def test_known_header_length_follows_the_field_control(field_control: int, length: int) -> None:
    assert known_header_length(field_control) == length


def _gb_file(esme_sample: bytes, **changes: int) -> bytes:
    image = parse_image(esme_sample)
    return encode_image(dataclasses.replace(image, header=dataclasses.replace(image.header, **changes)))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d[:40], "shorter than the 56-octet OTA header"),
        (lambda d: d[:58], "shorter than the 60 octets of header fields"),
        (lambda d: d[:6] + (58).to_bytes(2, "little") + d[8:], "Header Length 58 is shorter"),
        (lambda d: d[:6] + (400).to_bytes(2, "little") + d[8:], "runs past the end"),
        (lambda d: d[:52] + (59).to_bytes(4, "little") + d[56:], "smaller than the Header Length"),
        (lambda d: d[:52] + (362).to_bytes(4, "little") + d[56:], "shorter than its Total Image Size"),
        (lambda d: b"\x00" + d[1:], "not an OTA file"),
    ],
)
def test_parse_errors_are_one_typed_error(esme_sample: bytes, mangle, message: str) -> None:
    with pytest.raises(ImageFormatError, match=message):
        parse_image(mangle(esme_sample))


def test_bad_magic_is_structurally_parseable_on_request(esme_sample: bytes) -> None:
    data = b"\x00" + esme_sample[1:]
    assert parse_image(data, check_magic=False).header.file_identifier == OTA_MAGIC & ~0xFF


def test_body_errors_name_the_problem() -> None:
    with pytest.raises(ImageFormatError, match="shorter than the 66-octet"):
        parse_body(b"x" * 65, Layout.GB_SIGNED)
    with pytest.raises(ImageFormatError, match="declares 100 octets but only 2 remain"):
        parse_body(b"\x00\x00" + (100).to_bytes(4, "little") + b"ab", Layout.ZIGBEE)
    with pytest.raises(ImageFormatError, match="3 stray octets"):
        parse_body(b"\x00\x00" + (1).to_bytes(4, "little") + b"a" + b"xyz", Layout.ZIGBEE)


def test_trailing_octets_are_kept(esme_sample: bytes) -> None:
    image = parse_image(esme_sample + b"extra")
    assert image.trailing == b"extra"
    assert encode_image(image) == esme_sample + b"extra"


def test_encoding_refuses_an_inconsistent_total_size(esme_sample: bytes) -> None:
    image = parse_image(esme_sample)
    body = dataclasses.replace(image.body, manufacturer_image=b"shorter")
    with pytest.raises(ImageFormatError, match="with_consistent_lengths"):
        encode_image(dataclasses.replace(image, body=body))
    fixed = with_consistent_lengths(dataclasses.replace(image, body=body))
    assert fixed.header.total_image_size == 60 + len(b"shorter") + 66


def test_encoding_refuses_fields_that_do_not_fit(esme_sample: bytes) -> None:
    with pytest.raises(ImageFormatError, match="cannot encode OTA header"):
        _gb_file(esme_sample, manufacturer_code=0x10000)
    header = parse_image(esme_sample).header
    with pytest.raises(ImageFormatError):
        encode_header(dataclasses.replace(header, min_hw_version=None))  # field control says present
