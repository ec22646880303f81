"""The strict validator: one test per rule, then a mutation corpus judged by an independent oracle."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import struct
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness.ota import (
    FindingCode,
    ImageSpec,
    Layout,
    OtaImage,
    Severity,
    SubElement,
    ZigbeeBody,
    build_image,
    encode_image,
    parse_image,
    validate_image,
    with_consistent_lengths,
)

F = FindingCode


def _patch(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    raw = struct.pack(fmt, value)
    return data[:offset] + raw + data[offset + len(raw) :]


def _finding(report, code: FindingCode):  # type: ignore[no-untyped-def]
    matches = [f for f in report.findings if f.code is code]
    assert matches, f"{code} not reported; findings: {report.findings}"
    return matches[0]


# -- one rule at a time -------------------------------------------------------------------------------
HEADER_CASES: list[tuple[str, Callable[[bytes], bytes], FindingCode]] = [
    ("magic", lambda d: _patch(d, 0, "<I", 0x0BEEF11F), F.BAD_MAGIC),
    ("no magic", lambda d: d[:3], F.BAD_MAGIC),
    ("header version", lambda d: _patch(d, 4, "<H", 0x0101), F.UNSUPPORTED_HEADER_VERSION),
    ("shorter than header", lambda d: d[:50], F.FILE_SHORTER_THAN_HEADER),
    ("header past file", lambda d: _patch(d, 6, "<H", 1000), F.FILE_SHORTER_THAN_HEADER),
    ("header length short", lambda d: _patch(d, 6, "<H", 58), F.HEADER_LENGTH_SHORT),
    ("field control", lambda d: _patch(d, 8, "<H", 0x0005), F.GB_FIELD_CONTROL),
    ("stack version", lambda d: _patch(d, 18, "<H", 0x0001), F.GB_STACK_VERSION),
    (
        "hw inverted",
        lambda d: _patch(_patch(d, 56, "<H", 0x0200), 58, "<H", 0x0100),
        F.HARDWARE_RANGE_INVERTED,
    ),
    ("total below header", lambda d: _patch(d, 52, "<I", 10), F.TOTAL_SIZE_SMALLER_THAN_HEADER),
    ("truncated", lambda d: d[:-1], F.FILE_TRUNCATED),
    ("total too big", lambda d: _patch(d, 52, "<I", len(d) + 5), F.FILE_TRUNCATED),
    ("over-long", lambda d: d + b"\x00", F.TRAILING_BYTES),
]


@pytest.mark.parametrize(("name", "mangle", "code"), HEADER_CASES, ids=[c[0] for c in HEADER_CASES])
def test_each_header_rule_is_a_defect(ppmid_sample: bytes, name: str, mangle, code: FindingCode) -> None:
    report = validate_image(mangle(ppmid_sample), layout="gb-unsigned")
    assert _finding(report, code).severity is Severity.DEFECT
    assert not report.is_valid


def test_unknown_header_extension_is_a_defect_under_gb_and_a_warning_under_zigbee(
    ppmid_sample: bytes,
) -> None:
    image = parse_image(ppmid_sample)
    extended = encode_image(
        with_consistent_lengths(dataclasses.replace(image, header=dataclasses.replace(image.header, extension=b"EXT!")))
    )
    gb = validate_image(extended, layout="gb-unsigned")
    assert _finding(gb, F.UNKNOWN_HEADER_EXTENSION).severity is Severity.DEFECT
    assert gb.header is not None and gb.header.extension == b"EXT!"
    zigbee_file = encode_image(
        with_consistent_lengths(
            dataclasses.replace(
                image,
                header=dataclasses.replace(image.header, extension=b"EXT!", field_control=0x000C),
                body=ZigbeeBody((SubElement(0, image.body.manufacturer_image),)),
            )
        )
    )
    zigbee = validate_image(zigbee_file, profile="zigbee")
    assert _finding(zigbee, F.UNKNOWN_HEADER_EXTENSION).severity is Severity.WARNING
    assert _finding(zigbee, F.RESERVED_FIELD_CONTROL_BITS).severity is Severity.WARNING
    assert zigbee.is_valid, zigbee.findings
    assert zigbee.layout is Layout.ZIGBEE
    # The same file under the GB profile: extension, field control and sub-elements are all GB defects.
    assert {F.UNKNOWN_HEADER_EXTENSION, F.GB_FIELD_CONTROL, F.LAYOUT_NOT_IN_PROFILE} <= validate_image(
        zigbee_file
    ).codes


def test_image_larger_than_the_device_storage(ppmid_sample: bytes) -> None:
    assert validate_image(ppmid_sample, max_image_size=295).is_valid
    report = validate_image(ppmid_sample, max_image_size=294)
    assert _finding(report, F.IMAGE_TOO_LARGE).severity is Severity.DEFECT


def test_layout_detection_is_reported_as_info(esme_sample: bytes) -> None:
    report = validate_image(esme_sample)
    assert _finding(report, F.LAYOUT_DETECTED).severity is Severity.INFO
    assert (report.expected_layout, report.detected_layout, report.layout) == (
        None,
        Layout.GB_SIGNED,
        Layout.GB_SIGNED,
    )
    assert report.is_valid


def test_layout_mismatch_severity(esme_sample: bytes, ppmid_sample: bytes) -> None:
    weak = validate_image(esme_sample, layout="gb-unsigned")
    assert _finding(weak, F.LAYOUT_MISMATCH).severity is Severity.WARNING  # two octets of evidence
    assert weak.is_valid
    wrapped = _zigbee_wrap(ppmid_sample)
    strong = validate_image(wrapped, layout="gb-unsigned")
    assert _finding(strong, F.LAYOUT_MISMATCH).severity is Severity.DEFECT
    assert validate_image(wrapped, layout="zigbee", profile="zigbee").is_valid


def _zigbee_wrap(data: bytes, *elements: SubElement) -> bytes:
    image = parse_image(data)
    body = ZigbeeBody(elements or (SubElement(0, image.body.manufacturer_image),))
    return encode_image(with_consistent_lengths(dataclasses.replace(image, body=body)))


def test_zigbee_body_rules(ppmid_sample: bytes) -> None:
    none = validate_image(_zigbee_wrap(ppmid_sample, SubElement(0xF000, b"x")), layout="zigbee", profile="zigbee")
    assert _finding(none, F.UPGRADE_IMAGE_ELEMENT_COUNT).reason.startswith("0 Upgrade Image")
    assert none.manufacturer_image is None
    two = validate_image(
        _zigbee_wrap(ppmid_sample, SubElement(0, b"a"), SubElement(0, b"b")),
        layout="zigbee",
        profile="zigbee",
    )
    assert _finding(two, F.UPGRADE_IMAGE_ELEMENT_COUNT).severity is Severity.DEFECT
    assert two.manufacturer_image == b"a"
    broken = _patch(_zigbee_wrap(ppmid_sample), 62, "<I", 0xFFFFFFF0)
    tiling = validate_image(broken, layout="zigbee", profile="zigbee")
    assert _finding(tiling, F.SUBELEMENTS_DO_NOT_TILE).offset == 60


def test_supplier_trailer_rules(esme_sample: bytes, dcc_supplier_public: ec.EllipticCurvePublicKey) -> None:
    def check(data: bytes) -> object:
        return validate_image(data, layout="gb-signed", supplier_public_key=dcc_supplier_public)

    body_end = len(esme_sample)
    missing = check(_patch(esme_sample[: body_end - 66], 52, "<I", body_end - 66))
    assert _finding(missing, F.SIGNATURE_MISSING).severity is Severity.DEFECT
    assert missing.signature_valid is False
    length = check(esme_sample[:296] + b"\x41" + esme_sample[297:])
    assert _finding(length, F.SIGNATURE_LENGTH_OCTET).reason.startswith("signature length octet 0x41")
    truncated = check(_patch(esme_sample[:-10], 52, "<I", body_end - 10))
    assert "54 of its 64 octets" in _finding(truncated, F.SIGNATURE_TRUNCATED).reason
    force = check(esme_sample[:295] + b"\x07" + esme_sample[296:])
    assert _finding(force, F.FORCE_REPLACE_VALUE).severity is Severity.WARNING
    assert force.is_valid and force.signature_valid is True  # ForceReplace is not signed
    bad = check(esme_sample[:-1] + bytes([esme_sample[-1] ^ 1]))
    assert _finding(bad, F.SIGNATURE_INVALID).severity is Severity.DEFECT
    assert bad.signature_valid is False


def test_expected_hash(ppmid_sample: bytes, esme_hash: bytes) -> None:
    assert validate_image(ppmid_sample, expected_hash=esme_hash).is_valid
    wrong = validate_image(ppmid_sample, expected_hash=bytes(32))
    assert esme_hash.hex() in _finding(wrong, F.HASH_MISMATCH).reason
    nothing = validate_image(ppmid_sample[:40], expected_hash=esme_hash)
    assert _finding(nothing, F.HASH_MISMATCH).reason == "no Manufacturer Image to hash"


def test_manufacturer_signature_check(
    factory_unsigned: bytes,
    manufacturer_key: ec.EllipticCurvePrivateKey,
    other_key: ec.EllipticCurvePrivateKey,
) -> None:
    good = validate_image(factory_unsigned, manufacturer_public_key=manufacturer_key.public_key())
    assert good.is_valid and good.manufacturer_signature is not None and good.manufacturer_signature.ok
    wrong = validate_image(factory_unsigned, manufacturer_public_key=other_key.public_key())
    assert "does not verify" in _finding(wrong, F.MANUFACTURER_SIGNATURE).reason


def test_report_is_json_ready_and_lists_requirements(esme_sample: bytes) -> None:
    report = validate_image(b"\x00" + esme_sample[1:])
    as_json = json.loads(json.dumps(report.to_dict()))
    assert as_json["valid"] is False
    assert as_json["findings"][0]["code"] == "bad-magic"
    assert as_json["findings"][0]["requirements"] == ["CS-03"]
    assert as_json["manufacturer_image"]["sha256"] == report.manufacturer_image_sha256.hex()


def test_every_finding_code_is_kebab_case() -> None:
    for code in FindingCode:
        assert code.value == code.name.lower().replace("_", "-") or "-" in code.value
        assert code.value.islower() and " " not in code.value


# -- mutation corpus with an independent oracle -------------------------------------------------------
def _tiles(body: bytes) -> bool:
    """Sub-elements cover the body exactly (written with struct, not with the code under test)."""
    offset = 0
    while offset < len(body):
        if len(body) - offset < 6:
            return False
        (length,) = struct.unpack_from("<I", body, offset + 2)
        offset += 6 + length
    return offset == len(body) and len(body) > 0


def _verifies(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (r and s):
        return False
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def broken_invariants(
    data: bytes, layout: Layout, key: ec.EllipticCurvePublicKey | None, expected_hash: bytes
) -> list[str]:
    """The GB-profile rules restated independently: what makes a file invalid, as plain struct checks."""
    problems = []
    if len(data) < 4 or struct.unpack_from("<I", data)[0] != 0x0BEEF11E:
        problems.append("magic")
    if len(data) < 56:
        return [*problems, "shorter than the fixed header"]
    _, version, header_length, fc, _, _, _, stack = struct.unpack_from("<IHHHHHIH", data)
    (total,) = struct.unpack_from("<I", data, 52)
    hw_at = 56 + (1 if fc & 1 else 0) + (8 if fc & 2 else 0)
    known = hw_at + (4 if fc & 4 else 0)
    if len(data) < known:
        return [*problems, "shorter than the announced fields"]
    problems += [name for name, bad in (("version", version != 0x0100), ("fc", fc != 4), ("stack", stack != 2)) if bad]
    if fc & 4 and struct.unpack_from("<H", data, hw_at)[0] > struct.unpack_from("<H", data, hw_at + 2)[0]:
        problems.append("hw range")
    if header_length != known:
        problems.append("header length")
    if header_length < known or header_length > len(data) or total < header_length:
        return [*problems, "no body"]
    if total != len(data):
        problems.append("total size")
    body = data[header_length : min(total, len(data))]
    if _tiles(body):
        problems.append("sub-elements in a GB file")
    manufacturer_image = body
    if layout is Layout.GB_SIGNED:
        gbms = len(body) >= 70 and body[-70:-66] == b"GBMS"
        if len(body) < 66 or body[-65] != 0x40 or gbms:
            return [*problems, "supplier trailer"]
        manufacturer_image = body[:-66]
        if key is not None and not _verifies(key, manufacturer_image, body[-64:]):
            problems.append("signature")
    if hashlib.sha256(manufacturer_image).digest() != expected_hash:
        problems.append("hash")
    return problems


def _corpus(sample: bytes, other: bytes, seed: int) -> list[tuple[str, bytes]]:
    rnd = random.Random(seed)
    cases = [(f"truncate {n}", sample[:n]) for n in range(len(sample))]
    header_and_trailer = list(range(60 * 8)) + list(range((len(sample) - 66) * 8, len(sample) * 8))
    middle = rnd.sample(range(60 * 8, (len(sample) - 66) * 8), 300)
    for bit in sorted(set(header_and_trailer + middle)):
        flipped = bytearray(sample)
        flipped[bit // 8] ^= 1 << (bit % 8)
        cases.append((f"flip bit {bit}", bytes(flipped)))
    for offset, fmt in ((4, "<H"), (6, "<H"), (8, "<H"), (10, "<H"), (12, "<H"), (14, "<I"), (18, "<H"),
                        (52, "<I"), (56, "<H"), (58, "<H")):  # fmt: skip
        width = struct.calcsize(fmt) * 8
        current = struct.unpack_from(fmt, sample, offset)[0]
        for value in {0, 1, (1 << width) - 1, (current + 1) % (1 << width), (current - 1) % (1 << width)}:
            cases.append((f"field @{offset} = {value:#x}", _patch(sample, offset, fmt, value)))
    for n in range(300):
        start, length = rnd.randrange(len(sample)), rnd.randrange(1, 80)
        source = rnd.choice((sample, other))
        at = rnd.randrange(len(source))
        piece = source[at : at + length]
        end = start + (len(piece) if rnd.random() < 0.5 else rnd.randrange(0, 80))
        cases.append((f"splice {n}", sample[:start] + piece + sample[end:]))
    return cases


def _run_corpus(
    sample: bytes, other: bytes, layout: Layout, key: ec.EllipticCurvePublicKey | None, expected_hash: bytes
) -> None:
    disagreements = []
    cases = _corpus(sample, other, seed=len(sample))
    for name, data in cases:
        oracle = broken_invariants(data, layout, key, expected_hash)
        report = validate_image(data, layout=layout, supplier_public_key=key, expected_hash=expected_hash)
        if bool(oracle) == report.is_valid:
            disagreements.append(f"{name}: oracle {oracle}, validator {[str(f.code) for f in report.defects]}")
    assert not disagreements, f"{len(disagreements)} of {len(cases)} disagree:\n" + "\n".join(disagreements[:10])


def test_mutation_corpus_of_the_signed_sample(
    esme_sample: bytes, ppmid_sample: bytes, dcc_supplier_public: ec.EllipticCurvePublicKey, esme_hash: bytes
) -> None:
    _run_corpus(esme_sample, ppmid_sample, Layout.GB_SIGNED, dcc_supplier_public, esme_hash)


def test_mutation_corpus_of_the_unsigned_sample(esme_sample: bytes, ppmid_sample: bytes, esme_hash: bytes) -> None:
    _run_corpus(ppmid_sample, esme_sample, Layout.GB_UNSIGNED, None, esme_hash)


def test_oracle_accepts_the_untouched_samples(
    esme_sample: bytes, ppmid_sample: bytes, dcc_supplier_public: ec.EllipticCurvePublicKey, esme_hash: bytes
) -> None:
    """Guards the oracle itself: it must not call everything broken."""
    assert broken_invariants(esme_sample, Layout.GB_SIGNED, dcc_supplier_public, esme_hash) == []
    assert broken_invariants(ppmid_sample, Layout.GB_UNSIGNED, None, esme_hash) == []
    assert broken_invariants(esme_sample[:-1], Layout.GB_SIGNED, dcc_supplier_public, esme_hash) != []


def test_factory_images_are_valid(spec: ImageSpec, supplier_key: ec.EllipticCurvePrivateKey) -> None:
    data = build_image(spec, supplier_key=supplier_key)
    report = validate_image(data, layout="gb-signed", supplier_public_key=supplier_key.public_key())
    assert report.is_valid and report.findings == []
    assert isinstance(parse_image(data), OtaImage)
