"""Hardware-facing parts of the radio seam that need no hardware: serial settings per radio library, the
optional extras that install them, the install code PIXIT, and the capability table in the vendors' guide."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import zigpy.config as conf

from harness.dut.capabilities import CAPABILITIES, CAPABILITY_COLUMNS, capability_table_markdown, require_radio
from harness.errors import ConfigurationError
from harness.profile import ProfileError, load_run_profile
from harness.profile.schema import is_loopback
from harness.radio.factory import FLOW_CONTROL, RADIOS, flow_control_problem, flow_control_setting, radio_config
from harness.verdicts import LabError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUIDE = PROJECT_ROOT / "docs" / "hardware.md"
INSTALL_CODE = "83FED3407A939723A5C639B26916D505C3B5"


@pytest.mark.parametrize(
    ("radio", "profile_value", "zigpy_value"),
    [
        ("znp", "none", None),  # zigpy's serial layer: None is really "no flow control"
        ("deconz", "hardware", "hardware"),
        ("zigate", "software", "software"),
        ("vendor.radio:App", "none", None),
        ("ezsp", "software", "software"),
        ("ezsp", "hardware", "hardware"),
        ("xbee", "software", "software"),
    ],
)
def test_flow_control_reaches_zigpy_as_each_library_reads_it(radio, profile_value, zigpy_value) -> None:
    assert flow_control_setting(radio, profile_value) == zigpy_value
    assert flow_control_problem(radio, profile_value) is None


@pytest.mark.parametrize(
    ("radio", "profile_value", "explained"),
    [
        ("ezsp", "none", "with flow control unset it opens the port with XON/XOFF"),
        ("xbee", "none", "always opens the port with XON/XOFF"),
        ("xbee", "hardware", "no RTS/CTS"),
    ],
)
def test_flow_control_a_library_cannot_honour_is_refused_with_the_reason(radio, profile_value, explained) -> None:
    with pytest.raises(ConfigurationError) as caught:
        flow_control_setting(radio, profile_value)
    assert f"radio {radio!r} cannot use flow_control {profile_value!r}" in str(caught.value)
    assert explained in str(caught.value)
    assert set(FLOW_CONTROL[radio]) == {"none", "software", "hardware"}


def test_a_real_coordinators_config_has_its_port_its_database_and_bellows_on_the_suites_loop(tmp_path) -> None:
    config = radio_config(
        "ezsp", "/dev/ttyUSB0", baud_rate=460800, flow_control="hardware", database_path=tmp_path / "zigbee.db"
    )
    assert config[conf.CONF_DEVICE] == {
        conf.CONF_DEVICE_PATH: "/dev/ttyUSB0",
        conf.CONF_DEVICE_BAUDRATE: 460800,
        conf.CONF_DEVICE_FLOW_CONTROL: "hardware",
    }
    assert config[conf.CONF_DATABASE] == str(tmp_path / "zigbee.db")
    assert config["use_thread"] is False  # a timed-out start must not leave bellows' thread behind
    assert "use_thread" not in radio_config("znp", "socket://h:1", baud_rate=115200, flow_control="none")
    assert config[conf.CONF_OTA][conf.CONF_OTA_ENABLED] is False  # the suite's defaults still apply


def test_the_optional_extras_install_exactly_the_pinned_radio_libraries() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for name, (_, requirement) in RADIOS.items():
        if requirement is not None:
            assert extras[name] == [requirement], name
    hardware = extras["hardware"]
    assert hardware == [f"gb-ota-conformance[{','.join(n for n, (_, r) in RADIOS.items() if r)}]"]


def test_an_install_code_is_checked_with_its_crc_and_masked_in_reports() -> None:
    profile = load_run_profile(None, {"pixit.dut.install_code": "83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5"})
    assert profile.pixit_value("dut.install_code") == bytes.fromhex(INSTALL_CODE)
    shown = profile.effective()["pixit"]["dut.install_code"]["value"]
    assert shown == "83FE…C3B5 (18 octets with CRC, masked)"
    with pytest.raises(ProfileError, match=r"the CRC in its last two octets \(C3B4\) does not match the code"):
        load_run_profile(None, {"pixit.dut.install_code": INSTALL_CODE[:-1] + "4"})
    with pytest.raises(ProfileError, match="has 3 octets; an install code has 8, 10, 14 or 18"):
        load_run_profile(None, {"pixit.dut.install_code": "83FED3"})
    with pytest.raises(ProfileError, match="an install code in hex"):
        load_run_profile(None, {"pixit.dut.install_code": "not hex"})


def test_a_radio_class_derived_from_the_loopback_runs_the_emulator() -> None:
    assert is_loopback("loopback") and is_loopback("harness.radio.loopback:LoopbackApp")
    assert is_loopback("harness.radio:LoopbackApp")  # re-exported: the same class
    assert not is_loopback("ezsp") and not is_loopback("bellows.zigbee.application:ControllerApplication")
    assert not is_loopback("no_such_module:App")


def test_a_missing_capability_is_the_labs_error_with_the_librarys_reason() -> None:
    require_radio(CAPABILITIES["ezsp"], "install_code_join", "joining")  # has it: nothing happens
    with pytest.raises(LabError, match="needs key establishment \\(CBKE\\), which radio 'ezsp' cannot do"):
        require_radio(CAPABILITIES["ezsp"], "key_establishment", "a CBKE scenario")
    with pytest.raises(LabError, match="its permit_with_link_key only logs a warning"):
        require_radio(CAPABILITIES["zigate"], "install_code_join", "joining")


def test_every_radio_of_the_factory_has_a_row_and_every_column_a_meaning() -> None:
    assert list(CAPABILITIES) == list(RADIOS)
    assert set(CAPABILITY_COLUMNS) <= {f for f in CAPABILITIES["loopback"].__dataclass_fields__}


def test_the_guides_capability_table_is_generated_from_the_code_table() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN GENERATED: capability_table_markdown() -->", "<!-- END GENERATED -->"
    match = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    assert match is not None, f"docs/hardware.md lacks {begin} ... {end}"
    assert match.group(1) == capability_table_markdown(), (
        "docs/hardware.md's capability table is out of date. ACTION: paste harness.dut.capabilities."
        "capability_table_markdown() between its markers"
    )


def test_the_guides_profile_template_loads_as_a_hardware_profile_declaring_every_item(tmp_path) -> None:
    from harness.profile import DEVICE_ITEMS, PICS_ITEMS, PIXIT_ITEMS, load_profile

    text = GUIDE.read_text(encoding="utf-8")
    (template,) = re.findall(r"## Profile template.*?```yaml\n(.*?)```", text, re.S)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "newer-16k.ota").write_bytes(b"vendor image")
    path = tmp_path / "bench.yaml"
    path.write_text(template, encoding="utf-8")
    profile = load_profile(path)
    assert profile.setup.external_radio and profile.pixit_value("radio") == "ezsp"
    assert profile.undeclared_pics() == []
    assert len(profile.sources) == len(PICS_ITEMS) + len(PIXIT_ITEMS) + len(DEVICE_ITEMS)
    assert flow_control_problem("ezsp", profile.pixit_value("flow_control")) is None
    assert profile.pixit_value("dut.install_code") is not None
