"""Loader: broken profiles give messages naming file, line, key and problem; values, sources, overrides."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from harness.crypto.eui64 import Eui64
from harness.errors import ConfigurationError
from harness.profile import (
    PICS_ITEMS,
    PIXIT_ITEMS,
    ProfileError,
    ProfileProblem,
    UnknownItemError,
    apply_overrides,
    load_profile,
)
from harness.profile.loader import OVERRIDE_LABEL
from harness.profile.schema import DurationType, Eui64Type, HexIntType, ValueProblem, parse_duration

Writer = Callable[..., Path]


def problems_of(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    return caught.value


def test_minimal_profile_loads_and_fills_defaults(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    assert profile.name == "dut"
    assert profile.role == "ppmid"
    assert profile.pixit.radio == "loopback"
    assert profile.pixit.budgets.join == 120.0
    assert profile.pixit_value("ota.max_block_size") == 48
    assert profile.pixit.dut.manufacturer_code == 0x121D
    assert profile.pixit.dut.eui64 == Eui64.parse("00db1234567890a4")
    assert profile.pixit.emulator.faults == []
    assert not profile.setup.external_radio and profile.setup.virtual and not profile.setup.vendor_images


def test_profile_error_is_a_configuration_error(write_profile: Writer) -> None:
    err = problems_of(write_profile("device: {role: ppmid}\n"))
    assert isinstance(err, ConfigurationError)


def test_unknown_key_names_file_line_key_and_suggestion(write_profile: Writer, minimal: str) -> None:
    path = write_profile(minimal + "  budgets:\n    jion: 30s\n")
    err = problems_of(path)
    assert [str(p) for p in err.problems] == [
        f"{path}:14:5: pixit.budgets.jion: unknown key; did you mean 'pixit.budgets.join'?"
    ]
    assert str(path) in str(err) and "pixit.budgets.jion" in str(err)


@pytest.mark.parametrize(
    ("extra", "key", "suggestion"),
    [
        ("  join: 30s\n", "pixit.join", "pixit.budgets.join"),  # right name, wrong group
        ("  dut2:\n    endpoint: 1\n", "pixit.dut2", "pixit.dut"),  # misspelt group: one problem, no descent
        ("  raido: ezsp\n", "pixit.raido", "pixit.radio"),
    ],
)
def test_unknown_pixit_keys_suggest_the_dotted_key(
    write_profile: Writer, minimal: str, extra: str, key: str, suggestion: str
) -> None:
    err = problems_of(write_profile(minimal + extra))
    assert [(p.key, p.message) for p in err.problems] == [(key, f"unknown key; did you mean {suggestion!r}?")]


def test_unknown_pics_item_and_section_suggest(write_profile: Writer, minimal: str) -> None:
    text = minimal.replace("  OTA.C.C04.Tx: false\n", "  OTA.C.C04.TX: false\n") + "pixi:\n  radio: x\n"
    err = problems_of(write_profile(text))
    messages = {p.key: p.message for p in err.problems}
    assert messages == {
        "pics.OTA.C.C04.TX": "unknown key; did you mean 'pics.OTA.C.C04.Tx'?",
        "pixi": "unknown key; did you mean 'pixit'?",
    }


def test_wrong_type_states_expected_type_and_value_seen(write_profile: Writer, minimal: str) -> None:
    path = write_profile(minimal + "  baud_rate: fast\n")
    (problem,) = problems_of(path).problems
    assert str(problem) == f"{path}:13:14: pixit.baud_rate: expected an integer from 1 to 12000000, got 'fast' (string)"


def test_pics_value_must_be_boolean_and_null_is_not_undeclared(write_profile: Writer, minimal: str) -> None:
    text = minimal.replace("OTA.C: true", "OTA.C: supported").replace("OTA.C.C04.Tx: false", "OTA.C.C04.Tx:")
    messages = {p.key: p.message for p in problems_of(write_profile(text)).problems}
    assert messages["pics.OTA.C"] == "expected true or false, got 'supported' (string)"
    assert "leave the item out" in messages["pics.OTA.C.C04.Tx"]


def test_bad_eui64(write_profile: Writer, minimal: str) -> None:
    path = write_profile(minimal.replace("00-DB-12-34-56-78-90-A4", "00-DB-12"))
    (problem,) = problems_of(path).problems
    assert (problem.key, problem.where.line) == ("pixit.dut.eui64", 8)
    assert problem.message.startswith("expected an EUI-64 of 8 octets")
    assert problem.message.endswith("got '00-DB-12' (string)")


def test_bad_duration(write_profile: Writer, minimal: str) -> None:
    (problem,) = problems_of(write_profile(minimal + "  budgets:\n    activation: soon\n")).problems
    assert problem.key == "pixit.budgets.activation"
    assert problem.message == (
        'expected a duration of at most 24h such as 30, "30s", "5m", "2h" or "1h30m", got \'soon\' (string)'
    )


def test_upgrade_end_reask_budget_is_capped_at_60_minutes(write_profile: Writer, minimal: str) -> None:
    (problem,) = problems_of(write_profile(minimal + "  budgets:\n    upgrade_end_reask: 2h\n")).problems
    assert problem.key == "pixit.budgets.upgrade_end_reask"
    assert "at most 1h" in problem.message and "'2h'" in problem.message


@pytest.mark.parametrize(
    ("text", "seen"),
    [("0x1ZZZ", "'0x1ZZZ' (string)"), ("'0010'", "'0010' (string)"), ("0x10000", "65536 (integer)")],
)
def test_bad_hex(write_profile: Writer, minimal: str, text: str, seen: str) -> None:
    (problem,) = problems_of(write_profile(minimal.replace("0x121D", text))).problems
    assert problem.key == "pixit.dut.manufacturer_code"
    assert problem.message == f"expected a 16-bit value, 0x.. or an integer, at most 0xFFFF, got {seen}"


def test_unquoted_leading_zero_numbers_stay_text(write_profile: Writer, minimal: str) -> None:
    """YAML 1.1 would read 0010 as octal 8 and 12:34 as base 60; the loader keeps both as text."""
    path = write_profile(
        minimal.replace("0x121D", "0010").replace("00-DB-12-34-56-78-90-A4", "12:34:56:12:34:56:12:34")
    )
    err = problems_of(path)
    assert [p.key for p in err.problems] == ["pixit.dut.manufacturer_code"]


def test_yaml_syntax_error_gives_line_and_column(write_profile: Writer) -> None:
    path = write_profile("device:\n  role: ppmid\npics:\n  OTA.C: true\n   bad: [\n")
    (problem,) = problems_of(path).problems
    assert (problem.where.file, problem.where.line, problem.where.column) == (str(path), 5, 7)
    assert problem.message.startswith("YAML syntax error: ")


def test_several_problems_are_reported_together(write_profile: Writer, minimal: str) -> None:
    text = (
        minimal.replace("role: ppmid", "role: ppmdi")
        .replace("0x0084", "big")
        .replace("    downgrade_policy: reject-lower\n", "")
        + "  budgets:\n    join: forever\n  colour: red\n"
    )
    path = write_profile(text)
    err = problems_of(path)
    assert [p.key for p in err.problems] == [
        "device.role",
        "pixit.dut.image_type",
        "pixit.budgets.join",
        "pixit.colour",
        "pixit.dut.downgrade_policy",
    ]
    assert "did you mean 'ppmid'?" in err.problems[0].message
    assert err.problems[-1].message.startswith("missing required item: ")
    assert str(err).startswith(f"profile {path}: 5 problems:\n")
    assert all(f"  {problem}" in str(err) for problem in err.problems)


def test_missing_required_item_names_the_key_and_expected_type(write_profile: Writer, minimal: str) -> None:
    path = write_profile(minimal.replace("    eui64: 00-DB-12-34-56-78-90-A4\n", ""))
    (problem,) = problems_of(path).problems
    assert (problem.where.file, problem.where.line, problem.key) == (str(path), None, "pixit.dut.eui64")
    assert problem.message.startswith("missing required item: EUI-64 of the device under test.")


def test_hardware_radio_requires_port_and_vendor_image(write_profile: Writer, minimal: str) -> None:
    err = problems_of(write_profile(minimal + "  radio: ezsp\n"))
    problems = {p.key: p.message for p in err.problems}
    assert set(problems) == {"pixit.device_path", "pixit.images.newer", "pixit.dut.min_block_period_unit"}
    assert "required when the radio is not the loopback radio (radio: ezsp)" in problems["pixit.device_path"]
    assert (
        "required when the images come from the vendor (images.source: vendor (default for a radio"
        in (problems["pixit.images.newer"])
    )


def test_power_cycle_command_required_on_hardware_when_claimed(
    write_profile: Writer, minimal: str, tmp_path: Path
) -> None:
    (tmp_path / "new.ota").write_bytes(b"\x1e\xf1\xee\x0b")
    hardware = "  radio: znp\n  device_path: /dev/ttyACM0\n  images: {newer: new.ota}\n"
    text = minimal.replace("pics:\n", "pics:\n  GB.ADAPTER.POWER_CYCLE: true\n") + hardware
    text = text.replace("reject-lower\n", "reject-lower\n    min_block_period_unit: s\n")
    (problem,) = problems_of(write_profile(text)).problems
    assert problem.key == "pixit.adapter.power_cycle_command"
    assert "GB.ADAPTER.POWER_CYCLE is true and radio 'znp' can power-cycle the device only by command" in (
        problem.message
    )
    profile = load_profile(write_profile(text + "  adapter: {power_cycle_command: uhubctl -a cycle -p 2}\n"))
    assert profile.setup.external_radio and profile.pixit.images.newer == tmp_path / "new.ota"
    assert (profile.setup.clock.value, profile.setup.images.value, profile.setup.simulation) == (
        "real",
        "vendor",
        False,
    )


def test_relative_paths_are_relative_to_the_profile_and_must_exist(
    write_profile: Writer, minimal: str, tmp_path: Path
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "old.ota").write_bytes(b"old")
    profile = load_profile(write_profile(minimal + "  images:\n    older: images/old.ota\n"))
    assert profile.pixit.images.older == tmp_path / "images" / "old.ota"
    (problem,) = problems_of(write_profile(minimal + "  images:\n    older: images/gone.ota\n")).problems
    assert problem.message == f"no such file: {tmp_path / 'images' / 'gone.ota'}"


def test_duplicate_keys_are_reported(write_profile: Writer, minimal: str) -> None:
    path = write_profile(minimal.replace("  OTA.C.C04.Tx: false\n", "  OTA.C.C04.Tx: false\n  OTA.C: false\n"))
    (problem,) = problems_of(path).problems
    assert (problem.key, problem.where.line) == ("pics.OTA.C", 6)
    assert problem.message == "duplicate key (first written at line 4)"


def test_pics_dependency_and_role_are_checked(write_profile: Writer, minimal: str) -> None:
    text = minimal.replace("  OTA.C: true\n", "  OTA.C: false\n  OTA.C.C03.Tx: true\n  GB.HCALCS.CS06: true\n")
    messages = {p.key: p.message for p in problems_of(write_profile(text)).problems}
    assert messages == {
        "pics.OTA.C.C03.Tx": "is true, but it needs OTA.C, which is false",
        "pics.GB.HCALCS.CS06": "is true, but device.role is ppmid, not hcalcs",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty; a profile has the sections device, pics and pixit"),
        ("- a\n- b\n", "expected a mapping of names to values, got ['a', 'b'] (list)"),
    ],
)
def test_empty_or_non_mapping_file(write_profile: Writer, text: str, message: str) -> None:
    err = problems_of(write_profile(text))
    assert err.problems[0].message == message


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read it: No such file"):
        load_profile(tmp_path / "absent.yaml")


def test_undeclared_is_not_false(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    assert profile.pics("OTA.C") is True
    assert profile.pics("OTA.C.C04.Tx") is False
    assert profile.pics("OTA.C.C03.Tx") is None
    assert profile.undeclared_pics() == [name for name in PICS_ITEMS if name not in ("OTA.C", "OTA.C.C04.Tx")]


def test_unknown_names_in_code_raise_with_suggestion(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    with pytest.raises(UnknownItemError, match=r"did you mean 'pics\.OTA\.C\.C03\.Tx'"):
        profile.pics("OTA.C.C03.TX")
    with pytest.raises(UnknownItemError, match=r"did you mean 'pixit\.budgets\.join'"):
        _ = profile.pixit.budgets.jion
    with pytest.raises(UnknownItemError):
        profile.pixit_value("budgets")
    assert not hasattr(profile.pixit, "nothing_here")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("1.5h", 5400),
        ("1d", 86400),
    ],
)
def test_duration_forms(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert DurationType().parse(text) == seconds


@pytest.mark.parametrize("value", ["", "5 minutes", "m", "-5s", "5x", True, None, [1]])
def test_duration_rejects(value: object) -> None:
    with pytest.raises(ValueProblem):
        DurationType().parse(value)


def test_numbers_are_seconds() -> None:
    assert DurationType().parse(90) == 90.0
    assert DurationType().parse(0.5) == 0.5


def test_hex_accepts_text_and_integers_and_renders_hex() -> None:
    hex16 = HexIntType(bits=16)
    assert hex16.parse("0x00CF") == hex16.parse(0xCF) == hex16.parse(207) == 0xCF
    assert hex16.render(0xCF) == "0x00CF"
    with pytest.raises(ValueProblem):
        hex16.parse(True)


@pytest.mark.parametrize(
    "text", ["00-DB-12-34-56-78-90-A4", "00:db:12:34:56:78:90:a4", "00db1234567890a4", 0x00DB1234567890A4]
)
def test_eui64_forms_normalise(text: object) -> None:
    eui = Eui64Type().parse(text)
    assert Eui64Type().render(eui) == "00-DB-12-34-56-78-90-A4"


@pytest.mark.parametrize("text", ["00-00-00-00-00-00-00-00", "FF-FF-FF-FF-FF-FF-FF-FF"])
def test_eui64_reserved_values_are_refused(text: str) -> None:
    with pytest.raises(ValueProblem, match="reserved"):
        Eui64Type().parse(text)


def test_overrides_are_checked_and_sourced(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    changed = apply_overrides(
        profile,
        {
            "pixit.budgets.join": "10m",
            "pics.OTA.C.C03.Tx": "true",
            "pixit.emulator.faults": "[status_stuck]",
        },
    )
    assert changed.pixit.budgets.join == 600.0
    assert changed.pics("OTA.C.C03.Tx") is True
    assert changed.pixit.emulator.faults == ["status_stuck"]
    assert changed.sources["pixit.budgets.join"] == "override"
    assert changed.sources["pics.OTA.C"] == "profile"
    assert profile.pixit.budgets.join == 120.0 and profile.pics("OTA.C.C03.Tx") is None  # original untouched


def test_override_to_hardware_reports_what_hardware_needs(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    with pytest.raises(ProfileError) as caught:
        apply_overrides(profile, {"pixit.radio": "ezsp"})
    assert {p.key for p in caught.value.problems} == {
        "pixit.device_path",
        "pixit.images.newer",
        "pixit.dut.min_block_period_unit",
    }


def test_bad_overrides_name_the_command_line(write_profile: Writer, minimal: str) -> None:
    profile = load_profile(write_profile(minimal))
    with pytest.raises(ProfileError) as caught:
        apply_overrides(profile, {"pixit.dut.endpoint": "two", "radio": "ezsp", "pics.OTA.C": "maybe"})
    problems = {p.key: (str(p.where), p.message) for p in caught.value.problems}
    assert problems == {
        "pixit.dut.endpoint": (OVERRIDE_LABEL, "expected an integer from 1 to 240, got 'two' (string)"),
        "radio": (OVERRIDE_LABEL, "unknown key; did you mean 'pixit.radio'?"),
        "pics.OTA.C": (OVERRIDE_LABEL, "expected true or false, got 'maybe' (string)"),
    }


def test_textual_overrides_are_taken_verbatim(write_profile: Writer, minimal: str) -> None:
    profile = apply_overrides(load_profile(write_profile(minimal)), {"pixit.adapter.power_cycle_command": "true"})
    assert profile.pixit.adapter.power_cycle_command == "true"


def test_effective_is_serialisable_and_records_sources(write_profile: Writer, minimal: str) -> None:
    profile = apply_overrides(load_profile(write_profile(minimal)), {"pixit.budgets.alert": "90s"})
    effective = profile.effective()
    assert json.loads(json.dumps(effective)) == effective
    assert yaml.safe_load(yaml.safe_dump(effective)) == effective
    assert effective["profile"] == {"name": "dut", "path": str(profile.path)}
    assert effective["device"]["role"] == {"value": "ppmid", "source": "profile"}
    assert effective["pics"]["OTA.C"] == {"value": True, "source": "profile"}
    assert effective["pics"]["OTA.C.C03.Tx"] == {"value": None, "source": "undeclared"}
    assert effective["pixit"]["dut.eui64"] == {"value": "00-DB-12-34-56-78-90-A4", "source": "profile"}
    assert effective["pixit"]["dut.manufacturer_code"] == {"value": "0x121D", "source": "profile"}
    assert effective["pixit"]["budgets.join"] == {"value": 120, "source": "default", "unit": "s"}
    assert effective["pixit"]["budgets.alert"] == {"value": 90, "source": "override", "unit": "s"}
    assert set(effective["pixit"]) == set(PIXIT_ITEMS)


# -- the run's setup: separate decisions (harness.profile.setup) ----------------------------------------------
SIM_RADIO = "tests.simradio.sim_radio:SimRadio"


def test_virtual_time_on_a_radio_library_is_refused_with_the_reason(write_profile: Writer, minimal: str) -> None:
    text = minimal + "  radio: ezsp\n  clock: virtual\n  device_path: socket://127.0.0.1:1\n"
    text = text.replace("reject-lower\n", "reject-lower\n    min_block_period_unit: s\n")
    text += "  images: {source: suite}\n"
    (problem,) = problems_of(write_profile(text)).problems
    assert problem.key == "pixit.clock" and problem.where.line is not None
    assert "virtual time cannot run radio 'ezsp': it is a real coordinator" in problem.message
    assert "module:Class radio that simulates the device" in problem.message
    (override,) = problems_of_override(write_profile(text.replace("  clock: virtual\n", "")), "pixit.clock", "virtual")
    assert override.where.file == "<command-line override>"


def problems_of_override(path: Path, key: str, value: str) -> tuple[ProfileProblem, ...]:
    with pytest.raises(ProfileError) as caught:
        apply_overrides(load_profile(path), {key: value})
    return caught.value.problems


def test_each_setup_decision_is_taken_on_its_own(write_profile: Writer, minimal: str, tmp_path: Path) -> None:
    default = load_profile(write_profile(minimal)).setup
    assert (default.clock.value, default.images.value, default.radio_kind.value) == ("virtual", "suite", "loopback")
    assert default.clock.reason.startswith("default for the loopback radio")
    real = apply_overrides(load_profile(write_profile(minimal)), {"pixit.clock": "real"}).setup
    assert real.clock.value == "real" and real.clock.reason == "clock: real, chosen in the command line"
    assert not real.simulation and real.target == "an emulated device on the loopback radio"
    (tmp_path / "new.ota").write_bytes(b"image")
    vendor = load_profile(write_profile(minimal + "  images: {source: vendor, newer: new.ota}\n")).setup
    assert (vendor.clock.value, vendor.images.value, vendor.external_radio) == ("virtual", "vendor", False)
    assert vendor.images.reason == "images.source: vendor, chosen in the profile"
    missing = problems_of(write_profile(minimal + "  images: {source: vendor}\n"))
    assert [p.key for p in missing.problems] == ["pixit.images.newer"]


def test_a_simulation_radio_may_run_on_virtual_time_and_is_labelled_a_simulation(
    write_profile: Writer, minimal: str, tmp_path: Path
) -> None:
    (tmp_path / "new.ota").write_bytes(b"image")
    text = minimal.replace("pics:\n", "pics:\n  GB.ADAPTER.POWER_CYCLE: true\n")
    text = text.replace("reject-lower\n", "reject-lower\n    min_block_period_unit: ms\n")
    text += f"  radio: {SIM_RADIO}\n  device_path: sim://bench\n  images: {{newer: new.ota}}\n"
    real = load_profile(write_profile(text)).setup
    assert (real.radio_kind.value, real.clock.value, real.in_process_power_cycle) == ("class", "real", True)
    assert real.target == f"the device, through radio {SIM_RADIO}"
    simulated = load_profile(write_profile(text + "  clock: virtual\n")).setup  # no power command needed:
    assert simulated.simulation and simulated.virtual  # the radio power-cycles its device in-process
    assert simulated.target == f"a simulation of the device (radio {SIM_RADIO} on virtual time), not the device itself"


def test_a_radio_library_named_by_its_class_is_still_a_radio_library() -> None:
    from harness.profile.setup import RadioKind, radio_kind

    assert radio_kind("bellows.zigbee.application:ControllerApplication") is RadioKind.LIBRARY
    assert radio_kind("zigate") is RadioKind.LIBRARY
    assert radio_kind(SIM_RADIO) is RadioKind.CLASS
    assert radio_kind("harness.radio.loopback:LoopbackApp") is RadioKind.LOOPBACK


def test_the_deprecated_upgrade_time_wait_item_stands_for_both_of_its_behaviours(
    write_profile: Writer, minimal: str
) -> None:
    text = minimal.replace("  OTA.C: true\n", "  OTA.C: true\n  GB.OTA.C.UPGRADE_TIME_WAIT: true\n")
    profile = load_profile(write_profile(text))
    assert profile.pics("GB.OTA.C.UPGRADE_TIME_HOLD") is True and profile.pics("GB.OTA.C.UPGRADE_END_REASK") is True
    assert profile.pics("GB.OTA.C.UPGRADE_TIME_WAIT") is True  # the old name answers for both
    (warning,) = profile.deprecations
    assert "dut.yaml:5" in warning and "deprecated" in warning and "GB.OTA.C.UPGRADE_END_REASK" in warning
    assert profile.sources["pics.GB.OTA.C.UPGRADE_TIME_HOLD"] == "profile"
    assert profile.effective()["profile"]["deprecations"] == [warning]


def test_an_item_the_profile_declares_itself_keeps_its_value_over_the_deprecated_alias(
    write_profile: Writer, minimal: str
) -> None:
    """A device that holds but does not re-ask can now say so; the old item alone could not."""
    text = minimal.replace(
        "  OTA.C: true\n", "  OTA.C: true\n  GB.OTA.C.UPGRADE_TIME_WAIT: true\n  GB.OTA.C.UPGRADE_END_REASK: false\n"
    )
    profile = load_profile(write_profile(text))
    assert profile.pics("GB.OTA.C.UPGRADE_TIME_HOLD") is True and profile.pics("GB.OTA.C.UPGRADE_END_REASK") is False
    assert profile.pics("GB.OTA.C.UPGRADE_TIME_WAIT") is False
    assert "keep their own declarations" in profile.deprecations[0]


def test_a_profile_without_deprecated_items_has_no_warnings(write_profile: Writer, minimal: str) -> None:
    assert load_profile(write_profile(minimal)).deprecations == ()
