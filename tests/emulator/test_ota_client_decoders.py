"""The OTA client's decoders of server commands: bounds-checked, and they never raise anything but
MalformedFrame (CS-14); they agree with zigpy's schemas on well-formed frames."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.emulator.ota_client import (
    DowngradePolicy,
    ImageIdentity,
    MalformedFrame,
    decode_block_response,
    decode_end_response,
    decode_image_notify,
    decode_query_response,
    encode_image_block_request,
    version_allowed,
)

Status = foundation.Status
C = Ota.ClientCommandDefs
DECODERS = [decode_block_response, decode_end_response, decode_image_notify, decode_query_response]


@settings(max_examples=5000, deadline=None)
@given(st.binary(max_size=80))
def test_decoders_raise_only_malformed_frame(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(MalformedFrame):
            decode(data)


def test_block_response_success_agrees_with_zigpy() -> None:
    body = C.image_block_response.schema(
        status=Status.SUCCESS,
        manufacturer_code=0x121D,
        image_type=0x0084,
        file_version=0x01020301,
        file_offset=96,
        image_data=bytes(range(48)),
    ).serialize()
    rsp = decode_block_response(body)
    assert rsp.identity == ImageIdentity(0x121D, 0x0084, 0x01020301)
    assert (rsp.file_offset, rsp.data) == (96, bytes(range(48)))


@pytest.mark.parametrize("period", [None, 2000])
def test_wait_for_data_with_and_without_minimum_block_period(period: int | None) -> None:
    body = bytes([Status.WAIT_FOR_DATA]) + (100).to_bytes(4, "little") + (220).to_bytes(4, "little")
    if period is not None:
        body += period.to_bytes(2, "little")
    rsp = decode_block_response(body)
    assert (rsp.current_time, rsp.request_time, rsp.minimum_block_period) == (100, 220, period)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00" + bytes(12),  # SUCCESS one octet short of the fixed fields
        b"\x00" + bytes(12) + b"\x30" + bytes(47),  # DataSize 48, 47 data octets
        b"\x97" + bytes(7),  # WAIT_FOR_DATA without RequestTime
    ],
)
def test_block_response_length_lies_are_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedFrame):
        decode_block_response(payload)


def test_query_response_and_end_response_agree_with_zigpy() -> None:
    body = C.query_next_image_response.schema(
        status=Status.SUCCESS, manufacturer_code=1, image_type=2, file_version=3, image_size=4
    ).serialize()
    assert decode_query_response(body).identity == ImageIdentity(1, 2, 3)
    assert decode_query_response(body).image_size == 4
    assert decode_query_response(bytes([Status.NO_IMAGE_AVAILABLE])).identity is None
    with pytest.raises(MalformedFrame):
        decode_query_response(body[:-1])
    end = C.upgrade_end_response.schema(
        manufacturer_code=1, image_type=2, file_version=3, current_time=4, upgrade_time=0xFFFFFFFF
    ).serialize()
    rsp = decode_end_response(end)
    assert (rsp.identity, rsp.current_time, rsp.upgrade_time) == (ImageIdentity(1, 2, 3), 4, 0xFFFFFFFF)
    with pytest.raises(MalformedFrame):
        decode_end_response(end[:-1])


@pytest.mark.parametrize("payload_type", [0, 1, 2, 3])
def test_image_notify_payload_types(payload_type: int) -> None:
    fields = {"payload_type": payload_type, "query_jitter": 50}
    extra = {"manufacturer_code": 0x121D, "image_type": 0x0084, "new_file_version": 7}
    fields.update(dict(list(extra.items())[:payload_type]))
    body = C.image_notify.schema(**fields).serialize()
    notify = decode_image_notify(body)
    assert notify.payload_type == payload_type and notify.query_jitter == 50
    with pytest.raises(MalformedFrame):
        decode_image_notify(body[:-1])
    with pytest.raises(MalformedFrame):
        decode_image_notify(bytes([4, 50]))


def test_fast_block_request_encoder_matches_zigpy() -> None:
    fast = encode_image_block_request(ImageIdentity(0x1234, 0x0084, 0xDEADBEEF), 262_000, 48)
    request, rest = Ota.ServerCommandDefs.image_block.schema.deserialize(fast)
    assert not rest
    assert (request.file_offset, request.maximum_data_size, request.file_version) == (262_000, 48, 0xDEADBEEF)


@pytest.mark.parametrize(
    ("policy", "offered", "allowed"),
    [
        (DowngradePolicy.REJECT_LOWER_OR_EQUAL, 9, False),
        (DowngradePolicy.REJECT_LOWER_OR_EQUAL, 10, False),
        (DowngradePolicy.REJECT_LOWER_OR_EQUAL, 11, True),
        (DowngradePolicy.REJECT_LOWER, 9, False),
        (DowngradePolicy.REJECT_LOWER, 10, False),
        (DowngradePolicy.ALLOW, 9, True),
        (DowngradePolicy.ALLOW, 10, False),
    ],
)
def test_version_policy(policy: DowngradePolicy, offered: int, allowed: bool) -> None:
    assert version_allowed(policy, 10, offered) is allowed
