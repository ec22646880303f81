"""`image inspect` finds the OTA header where zigpy does: vendor containers (IKEA NGIS, Legrand, Third Reality,
Hue SBL) and a vendor prefix before the identifier, with the offset reported; input with no OTA file identifier
is not an OTA file (exit 2). A property test builds OTA files of every container type with zigpy's serialiser
and checks that our header fields equal those zigpy's parser reads, on every file zigpy parses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ota_containers import (
    FIXTURE_BUILDERS,
    FIXTURES,
    NOT_OTA,
    build_fixtures,
    hue_sbl,
    ikea_ngis,
    legrand,
    ota_file,
    third_reality,
    vendor_prefix,
)
from zigpy.ota.image import ElementTagId, parse_ota_image

from harness.ota.containers import Container, unwrap
from harness.ota.format import OtaHeader, parse_header

Cli = Callable[..., int]


def test_the_committed_fixtures_are_the_synthetic_ones_this_module_builds() -> None:
    """No vendor firmware: every fixture is rebuilt byte for byte by ``ota_containers`` (synthetic)."""
    assert {p.name: p.read_bytes() for p in FIXTURES.iterdir()} == build_fixtures()


@pytest.mark.parametrize("name", sorted(FIXTURE_BUILDERS))
def test_inspect_reports_the_container_and_the_offset(name: str, cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    _, kind, offset = FIXTURE_BUILDERS[name]
    path = FIXTURES / name
    code = cli("image", "inspect", path, "--profile", "zigbee", "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["container"]["kind"] == kind and result["container"]["offset"] == offset
    assert result["header"]["file_identifier"] == 0x0BEEF11E
    if kind != "hue-sbl":  # Hue SBL firmware is not in sub-elements: the zigbee rules find that
        assert code == 0 and result["valid"], result["findings"]
        assert result["header"]["manufacturer_code"] == 0x1234 and result["header"]["file_version"] == 0x01020301
    assert cli("image", "inspect", path, "--profile", "zigbee") == code
    text = capsys.readouterr().out
    assert f"OTA header at offset {offset} (0x{offset:X})" in text


@pytest.mark.parametrize("content", [b"root:x:0:0:root:/root:/bin/bash\n", b"", b"NGIS" + bytes(60), bytes(300)])
def test_input_without_an_ota_file_identifier_is_not_an_ota_file_exit_2(
    content: bytes, cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(content)
    assert cli("image", "inspect", path) == 2
    err = capsys.readouterr().err
    assert "is not an OTA file: no OTA file identifier 0x0BEEF11E" in err and "Traceback" not in err
    assert cli("image", "inspect", FIXTURES / NOT_OTA, "--json") == 2


def test_an_ota_file_inside_a_container_that_breaks_a_rule_exits_1(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = bytearray(ota_file())
    broken[4:6] = (0x0200).to_bytes(2, "little")  # header version 0x0200: read, and against the rules
    path = tmp_path / "broken-in-legrand.ota"
    path.write_bytes(legrand(bytes(broken)))
    assert cli("image", "inspect", path, "--profile", "zigbee") == 1
    out = capsys.readouterr().out
    assert "unsupported-header-version" in out and "container: Legrand" in out and "verdict: INVALID" in out


def test_a_wrong_identifier_is_named_when_the_rest_reads_as_an_ota_header(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = bytearray(ota_file())
    data[0:4] = (0x1EF1EE0B).to_bytes(4, "little")
    path = tmp_path / "wrong-magic.ota"
    path.write_bytes(bytes(data))
    assert cli("image", "inspect", path) == 2
    assert "identifier is 0x1EF1EE0B: a damaged or deliberately wrong identifier (CS-03" in capsys.readouterr().err


# -- the cross-check with zigpy ---------------------------------------------------------------------------
def _zigpy_fields(data: bytes) -> dict[str, object]:
    image, _ = parse_ota_image(data)
    h = image.header
    destination = h.upgrade_file_destination
    return {
        "file_identifier": int(h.upgrade_file_id),
        "header_version": int(h.header_version),
        "header_length": int(h.header_length),
        "field_control": int(h.field_control),
        "manufacturer_code": int(h.manufacturer_id),
        "image_type": int(h.image_type),
        "file_version": int(h.file_version),
        "stack_version": int(h.stack_version),
        "header_string": bytes(h.header_string),
        "total_image_size": int(h.image_size),
        "security_credential_version": None
        if h.security_credential_version is None
        else int(h.security_credential_version),
        "upgrade_file_destination": None if destination is None else int.from_bytes(destination.serialize(), "little"),
        "min_hw_version": None if h.minimum_hardware_version is None else int(h.minimum_hardware_version),
        "max_hw_version": None if h.maximum_hardware_version is None else int(h.maximum_hardware_version),
    }


def _our_fields(data: bytes) -> tuple[Container, int, dict[str, object]]:
    found = unwrap(data)
    assert found is not None
    header = parse_header(found.data)
    fields = {name: getattr(header, name) for name in OtaHeader.__dataclass_fields__ if name != "extension"}
    return found.container, found.offset, fields


_u16 = st.integers(0, 0xFFFF)
_u32 = st.integers(0, 0xFFFFFFFF)
_files = st.builds(
    ota_file,
    manufacturer_id=_u16.filter(lambda m: m != 0x100B),
    image_type=_u16,
    file_version=_u32,
    stack_version=_u16,
    header_string=st.binary(min_size=32, max_size=32),
    field_control=st.integers(0, 7),
    security_credential_version=st.integers(0, 0xFF),
    upgrade_file_destination=st.binary(min_size=8, max_size=8),
    hw_versions=st.tuples(_u16, _u16),
    elements=st.lists(
        st.tuples(st.sampled_from([int(t) for t in ElementTagId]), st.binary(max_size=300)), min_size=1, max_size=3
    ),
)
_WRAPPERS: dict[str, tuple[Callable[[bytes], bytes], Container]] = {
    "none": (lambda b: b, Container.NONE),
    "legrand": (legrand, Container.LEGRAND),
    "third-reality": (third_reality, Container.THIRD_REALITY),
    "ikea": (ikea_ngis, Container.IKEA),
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inner=_files, wrapper=st.sampled_from(sorted(_WRAPPERS)))
def test_our_header_fields_equal_zigpys_for_every_container(inner: bytes, wrapper: str) -> None:
    wrap, container = _WRAPPERS[wrapper]
    data = wrap(inner)
    found, offset, ours = _our_fields(data)
    assert found is container
    assert data[offset : offset + len(inner)] == inner
    assert ours == _zigpy_fields(data)


@settings(max_examples=60, deadline=None)
@given(firmware=st.binary(max_size=200), version=_u32)
def test_hue_sbl_images_agree_with_zigpy(firmware: bytes, version: int) -> None:
    data = hue_sbl(firmware)
    found, offset, ours = _our_fields(data)
    assert (found, offset) == (Container.HUE_SBL, 0)
    assert type(parse_ota_image(data)[0]).__name__ == "HueSBLOTAImage"
    assert ours == _zigpy_fields(data)


@settings(max_examples=60, deadline=None)
@given(inner=_files, prefix=st.binary(max_size=64).filter(lambda p: b"\x1e\xf1\xee\x0b" not in p and p[:4] != b"NGIS"))
def test_a_vendor_prefix_is_read_from_the_identifier_on(inner: bytes, prefix: bytes) -> None:
    """zigpy does not unwrap a vendor prefix; our fields equal zigpy's reading of the file without it."""
    data = vendor_prefix(inner, prefix)
    found, offset, ours = _our_fields(data)
    if not prefix:
        assert (found, offset) == (Container.NONE, 0)
    else:
        assert (found, offset) == (Container.VENDOR_PREFIX, len(prefix))
    assert ours == _zigpy_fields(inner)
