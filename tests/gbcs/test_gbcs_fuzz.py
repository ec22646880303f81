"""No input, however mangled, makes the GBCS decoder raise anything but GbcsFormatError, and whatever it
decodes re-encodes byte for byte."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.crypto.keystore import KeyStore
from harness.gbcs import GbcsFormatError, decode_apdu, decode_message, encode_apdu
from harness.gbcs.gbz import RECEIPT_ALERT
from harness.gbcs.messages import MESSAGES
from harness.gbcs.payloads import PayloadError

_FUZZ = settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# A valid APDU skeleton keeps hypothesis close to the interesting parts instead of failing at octet 0.
_PREFIXES = st.sampled_from([b"", b"\xdf\x09", b"\xdd" + bytes(6), b"\xdf\x09\x01" + bytes(8) + b"\x08"])


def _decode_or_typed_error(data: bytes, keys: KeyStore | None = None) -> None:
    try:
        apdu = decode_apdu(data)
    except GbcsFormatError:
        return
    assert encode_apdu(apdu) == data
    message = decode_message(data, keys=keys)
    message.to_dict()
    message.payload_fields()


@_FUZZ
@given(_PREFIXES, st.binary(max_size=160))
def test_random_octets(prefix: bytes, tail: bytes) -> None:
    _decode_or_typed_error(prefix + tail)


@_FUZZ
@given(st.binary(max_size=80))
def test_random_payloads_only_raise_payload_error(data: bytes) -> None:
    for codec in {spec.codec.name: spec.codec for spec in MESSAGES.values()}.values():
        try:
            value = codec.decode(data)
        except PayloadError:
            continue
        assert codec.encode(value) == data
        codec.defects(value)
        codec.describe(value)


@_FUZZ
@given(st.binary(min_size=11, max_size=60))
def test_gbz_payloads(data: bytes) -> None:
    try:
        value = RECEIPT_ALERT.decode(data)
    except PayloadError:
        return
    assert RECEIPT_ALERT.encode(value) == data


@_FUZZ
@given(st.data())
def test_several_changes_to_a_vector(
    rtds_vectors: dict[str, bytes], vector_keys: KeyStore, data: st.DataObject
) -> None:
    """Changes anywhere, including lengths and tags, with the key store: typed error or a verdict."""
    original = bytearray(data.draw(st.sampled_from(sorted(rtds_vectors.values()))))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(original) - 1))
        kind = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        octet = data.draw(st.integers(0, 255))
        if kind == "replace":
            original[position] = octet
        elif kind == "insert":
            original.insert(position, octet)
        elif len(original) > 1:
            del original[position]
    _decode_or_typed_error(bytes(original), vector_keys)
