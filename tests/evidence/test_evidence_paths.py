"""The shared evidence folder of a scenario run: stable, file-system safe, unique for Outline rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from harness.reports.evidence_paths import (
    MAX_SLUG,
    evidence_dir,
    item_scenario_name,
    scenario_run_name,
    scenario_slug,
)


@dataclasses.dataclass
class _Callspec:
    params: dict


@dataclasses.dataclass
class _Item:
    name: str
    user_properties: list
    callspec: _Callspec | None = None


def test_a_slug_is_lower_case_words_of_the_item_name():
    assert scenario_slug("test_the_ppmid_ignores_it_case[jitter 0-0-the new image]") == (
        "the-ppmid-ignores-it-case-jitter-0-0-the-new-image"
    )
    assert scenario_slug("The PPMID's CS08 / CS09 (agree)") == "the-ppmid-s-cs08-cs09-agree"
    assert scenario_slug("!!!") == "scenario"


def test_long_names_are_cut_with_a_hash_so_outline_rows_stay_apart():
    base = "test_" + "a_very_long_scenario_name_" * 4
    first, second = scenario_slug(base + "[row one]"), scenario_slug(base + "[row two]")
    assert first != second
    assert len(first) <= MAX_SLUG and len(second) <= MAX_SLUG
    assert first == scenario_slug(base + "[row one]")  # stable across runs
    assert not first.startswith("-") and "--" not in first


def test_the_folder_is_under_evidence_in_the_run_directory(tmp_path: Path):
    assert evidence_dir(tmp_path, "test_x[1]") == tmp_path / "evidence" / "x-1"
    assert evidence_dir(str(tmp_path), "test_x[1]") == tmp_path / "evidence" / "x-1"
    assert not (tmp_path / "evidence").exists()  # writers create it when they write


def test_the_readable_name_fills_an_outlines_placeholders():
    assert scenario_run_name("Ignores a notify (<case>)", {"case": "jitter 0"}) == "Ignores a notify (jitter 0)"
    assert scenario_run_name("Plain") == "Plain"
    row = _Item(
        "test_x[jitter 0]", [("scenario", "Ignores (<case>)")], _Callspec({"_pytest_bdd_example": {"case": "j"}})
    )
    assert item_scenario_name(row) == "Ignores (j)"
    assert item_scenario_name(_Item("test_plain", [("scenario", "Plain")])) == "Plain"
    assert item_scenario_name(_Item("test_unit", [])) is None
