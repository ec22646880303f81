"""The item table, the example profiles and the README stay consistent with one another."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.profile import (
    DEFAULT_PROFILE_PATH,
    DEVICE_ITEMS,
    PICS_ITEMS,
    PIXIT_ITEMS,
    PROFILES_DIR,
    load_profile,
)
from harness.profile.schema import README_PATH, reference_markdown, replace_generated
from harness.requirements import load_catalogue

EXAMPLES = sorted(PROFILES_DIR.glob("emulated-*.yaml"))
REQUIREMENT_ID = re.compile(r"(PZ|HG|CS)-\d{2}")
ZCL_PICS_NAME = re.compile(r"OTA\.[CS](\.(A[0-9a-f]{4}|C[0-9A-F]{2}\.(Tx|Rsp)))?")


def test_examples_exist() -> None:
    assert [path.name for path in EXAMPLES] == ["emulated-hcalcs.yaml", "emulated-ppmid.yaml"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_profiles_load_cleanly_and_declare_everything(path: Path) -> None:
    profile = load_profile(path)
    assert profile.role == path.stem.removeprefix("emulated-")
    assert profile.undeclared_pics() == []
    assert not profile.setup.external_radio and not profile.setup.vendor_images
    assert all(source == "profile" for source in profile.sources.values())
    assert len(profile.sources) == len(PICS_ITEMS) + len(PIXIT_ITEMS) + len(DEVICE_ITEMS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_every_item_in_the_examples_has_an_inline_comment(path: Path) -> None:
    uncommented = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.match(r"\s*[\w.]+:\s*\S", line) and not line.lstrip().startswith("#") and "  # " not in line
    ]
    assert uncommented == []


def test_default_profile_is_the_emulated_ppmid() -> None:
    assert DEFAULT_PROFILE_PATH.name == "emulated-ppmid.yaml"
    assert load_profile().path == load_profile("emulated-ppmid").path == DEFAULT_PROFILE_PATH


def test_every_default_parses() -> None:
    for item in [*PIXIT_ITEMS.values(), *DEVICE_ITEMS.values()]:
        item.default_value()


def test_requirement_ids_exist_and_dependencies_are_items() -> None:
    catalogue = load_catalogue()
    for item in [*PICS_ITEMS.values(), *PIXIT_ITEMS.values()]:
        assert all(REQUIREMENT_ID.fullmatch(ident) for ident in item.requirements), item.name
        assert [ident for ident in item.requirements if ident not in catalogue] == [], item.name
    for pics in PICS_ITEMS.values():
        assert all(needed in PICS_ITEMS for needed in pics.depends_on), pics.name


def test_pics_names_follow_their_source() -> None:
    """Proforma items keep the ZCL PICS naming; our own items carry the GB. prefix, so nobody mixes them."""
    for pics in PICS_ITEMS.values():
        if pics.source == "proforma":
            assert ZCL_PICS_NAME.fullmatch(pics.name), pics.name
        else:
            assert pics.source == "own" and pics.name.startswith("GB."), pics.name


def test_pixit_items_requested_by_the_design_exist() -> None:
    wanted = {
        "radio", "device_path", "baud_rate", "flow_control", "dut.eui64", "dut.endpoint",
        "dut.manufacturer_code", "dut.image_type", "dut.current_file_version", "dut.hardware_version",
        "keys.store", "images.newer", "images.older", "images.vendor_signing_key", "dut.downgrade_policy",
        "ota.max_block_size", "dut.min_block_period_unit", "dut.storage_capacity", "dut.retry_limit",
        "budgets.join", "budgets.query_after_notify", "budgets.block_response_wait",
        "budgets.post_download_verification", "budgets.activation", "budgets.upgrade_end_reask",
        "budgets.wait_for_data_limit", "budgets.gbcs_response", "budgets.alert",
        "dut.blocks_before_rejection",
        "hcalcs.receipt_alert_message_code", "tunnel.get_code", "tunnel.put_code", "tunnel.protocol_id",
        "hcalcs.load_switch_attribute", "adapter.power_cycle_command", "adapter.state_dir",
        "emulator.device_class", "emulator.faults",
    }  # fmt: skip
    assert wanted <= set(PIXIT_ITEMS)
    assert PIXIT_ITEMS["ota.max_block_size"].default == 48
    assert PIXIT_ITEMS["hcalcs.receipt_alert_message_code"].default_value() == 0x00CF
    assert PIXIT_ITEMS["tunnel.protocol_id"].default == 6
    assert PIXIT_ITEMS["budgets.upgrade_end_reask"].default_value() <= 3600
    assert PIXIT_ITEMS["dut.downgrade_policy"].required == "always"  # CS-20 is [U]: never assumed


def test_readme_reference_is_generated_from_the_schema() -> None:
    text = README_PATH.read_text(encoding="utf-8")
    assert text == replace_generated(text), (
        "profiles/README.md is out of date with harness/profile/schema.py. ACTION: run "
        '.venv/bin/python -c "from harness.profile.schema import write_readme; write_readme()"'
    )
    reference = reference_markdown()
    for name in PICS_ITEMS:
        assert f"| `{name}` |" in reference
    for section, items in (("device", DEVICE_ITEMS), ("pixit", PIXIT_ITEMS)):
        for name in items:
            assert f"| `{section}.{name}` |" in reference


def test_the_setup_knows_every_radio_library() -> None:
    from harness.profile.setup import RADIO_LIBRARIES
    from harness.radio.factory import RADIOS

    assert set(RADIO_LIBRARIES) == set(RADIOS) - {"loopback"}
