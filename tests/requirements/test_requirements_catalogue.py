"""The packaged requirement catalogue: complete, valid, and its loader's error messages name the culprit."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path

import pytest

from harness.profile.schema import PICS_ITEMS, PIXIT_ITEMS
from harness.requirements import (
    Binds,
    CatalogueError,
    Confidence,
    Device,
    Role,
    Verification,
    load_catalogue,
    parse_catalogue,
)
from harness.requirements.catalogue import ID_PATTERN, _load_packaged

ROOT = Path(__file__).resolve().parents[2]

# The digest's section 8, as counted there: PZ-01..PZ-32, HG-01..HG-20, CS-01..CS-21.
EXPECTED_IDS = (
    [f"PZ-{n:02d}" for n in range(1, 33)]
    + [f"HG-{n:02d}" for n in range(1, 21)]
    + [f"CS-{n:02d}" for n in range(1, 23)]
)

# Binding decisions worth locking down (see the report of the catalogue's author for the reasoning).
EXPECTED_BINDS = {
    Binds.DCC: {"PZ-01", "PZ-02", "PZ-03", "HG-01"},
    Binds.CH: {"PZ-04", "PZ-05", "PZ-06", "PZ-07", "PZ-08", "PZ-10", "PZ-15", "PZ-16", "PZ-17", "PZ-19"},
    Binds.SUITE_FORMAT: {"PZ-18", "HG-02", "HG-06", "HG-16", "CS-01", "CS-02", "CS-21"},
}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_every_requirement_of_the_digest_is_present_once_in_order(catalogue) -> None:
    assert len(EXPECTED_IDS) == 74
    assert list(catalogue.ids) == EXPECTED_IDS


def test_metadata(catalogue) -> None:
    assert catalogue.version == "1.1.0"
    assert "Domain digest" in catalogue.drawn_from
    assert "IHDs are out of scope (SECMP0007 BR-7)" in catalogue.scope


def test_binds_decisions(catalogue) -> None:
    for binds, ids in EXPECTED_BINDS.items():
        assert {r.id for r in catalogue.select(binds=binds)} == ids, binds
    device_ids = {r.id for r in catalogue.select(binds=Binds.DEVICE)}
    assert device_ids == set(EXPECTED_IDS) - set().union(*EXPECTED_BINDS.values())
    assert "PZ-09" in device_ids  # the CH may throttle, but the PPMID's waiting is what is checked
    assert catalogue.get("CS-07").devices == (Device.PPMID, Device.HCALCS)
    cs13 = catalogue.get("CS-13")
    assert (cs13.binds, cs13.verification) == (Binds.DEVICE, Verification.NOT_TESTABLE_HERE)
    assert [r.id for r in catalogue.select(verification=Verification.NOT_TESTABLE_HERE)] == [
        "PZ-01",
        "PZ-02",
        "PZ-03",
        "HG-01",
        "CS-13",
    ]


def test_every_field_is_valid(catalogue) -> None:
    prefix_role = {"PZ": Role.PPMID, "HG": Role.HCALCS, "CS": Role.COMMON}
    for r in catalogue:
        assert ID_PATTERN.match(r.id)
        assert r.title and len(r.title) <= 80, r.id
        assert r.text and r.source, r.id
        assert r.role is prefix_role[r.id[:2]], r.id
        assert isinstance(r.confidence, Confidence) and isinstance(r.binds, Binds), r.id
        if r.confidence.is_assumption:
            assert r.assumption, r.id
        if r.binds is Binds.DEVICE:
            assert r.devices, r.id
            assert r.verification in (Verification.SCENARIO, Verification.NOT_TESTABLE_HERE), r.id
            if r.role is not Role.COMMON:
                assert r.devices == (Device(r.role.value),), r.id
        else:
            assert r.devices == (), r.id
            assert r.verification is not Verification.SCENARIO, r.id
        if r.verification is not Verification.SCENARIO:
            assert r.verification_note, r.id


def test_confidence_follows_the_digest_tags(catalogue) -> None:
    # rows whose source column carries [I] or [U] (for all or part of the requirement)
    inferred = {"PZ-04", "PZ-14", "PZ-16", "PZ-17", "PZ-19", "PZ-23", "PZ-24", "PZ-26", "PZ-29", "PZ-30"}
    inferred |= {"PZ-32", "HG-03", "HG-04", "HG-05", "HG-10", "HG-18", "HG-20"}
    inferred |= {"CS-08", "CS-09", "CS-10", "CS-11", "CS-12", "CS-16", "CS-21"}
    inferred |= {"CS-22"}  # issue 14: the bound on a device's traffic is this suite's own
    assert {r.id for r in catalogue.select(confidence=Confidence.I)} == inferred
    assert {r.id for r in catalogue.select(confidence=Confidence.U)} == {"HG-19", "CS-20"}
    verified = {r.id for r in catalogue.select(confidence=Confidence.C_DATA)}
    assert {"HG-02", "CS-01", "CS-02", "CS-07", "CS-19"} <= verified


def test_lookup_and_selection(catalogue) -> None:
    assert catalogue.get("PZ-13").title.startswith("Upgrade End SUCCESS")
    assert "PZ-13" in catalogue and "PZ-99" not in catalogue
    with pytest.raises(KeyError, match="'PZ-99' is not a requirement"):
        catalogue.get("PZ-99")
    on_hcalcs = catalogue.select(device=Device.HCALCS)
    assert all(Device.HCALCS in r.devices for r in on_hcalcs)
    assert {r.role for r in on_hcalcs} == {Role.HCALCS, Role.COMMON}
    assert all(r.role is Role.PPMID for r in catalogue.select(role=Role.PPMID))


def test_packaged_and_cached_independent_of_working_directory(tmp_path, monkeypatch) -> None:
    _load_packaged.cache_clear()
    monkeypatch.chdir(tmp_path)
    first = load_catalogue()
    assert load_catalogue() is first
    assert first.origin.endswith("catalogue.yaml")
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "requirements/*.yaml" in package_data["harness"]


def test_declared_pics_items_exist_in_the_profile_schema(catalogue) -> None:
    declared = {r.id: r.declared_by_pics for r in catalogue if r.declared_by_pics}
    assert declared == {"HG-19": "GB.HCALCS.ALERT_8F43"}
    assert all(item in PICS_ITEMS for item in declared.values())


def test_profile_schema_names_only_catalogue_requirements(catalogue) -> None:
    for name, item in {**PICS_ITEMS, **PIXIT_ITEMS}.items():
        unknown = [rid for rid in item.requirements if rid not in catalogue]
        assert not unknown, f"{name} names {unknown}"


# --- broken catalogues ----------------------------------------------------------------------------------

GOOD_ENTRY = """\
  - id: PZ-13
    title: t
    text: x
    source: S22
    confidence: C
    assumption: null
    role: ppmid
    binds: device
    devices: [ppmid]
    verification: scenario
"""
HEADER = """\
catalogue_version: "0"
drawn_from: d
scope: s
requirements:
"""


def _load_text(tmp_path: Path, text: str):
    path = tmp_path / "catalogue.yaml"
    path.write_text(text)
    return path, load_catalogue(path)


def _error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = tmp_path / "catalogue.yaml"
    path.write_text(text)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    return path, str(info.value)


def test_minimal_catalogue_loads(tmp_path) -> None:
    path, catalogue = _load_text(tmp_path, HEADER + GOOD_ENTRY)
    assert catalogue.ids == ("PZ-13",) and catalogue.origin == str(path)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (GOOD_ENTRY + GOOD_ENTRY, "requirement PZ-13 (entry 2): duplicate id (first at entry 1)"),
        (GOOD_ENTRY.replace("    source: S22\n", ""), "requirement PZ-13 (entry 1): field 'source': missing"),
        (GOOD_ENTRY.replace("    assumption: null\n", ""), "field 'assumption': missing"),
        (
            GOOD_ENTRY.replace("confidence: C", "confidence: maybe"),
            "requirement PZ-13 (entry 1): field 'confidence': 'maybe' is not one of C, C-data, R, I, U",
        ),
        (GOOD_ENTRY.replace("binds: device", "binds: hub"), "field 'binds': 'hub' is not one of device, ch"),
        (GOOD_ENTRY + "    colour: red\n", "requirement PZ-13 (entry 1): field 'colour': unknown field"),
        (GOOD_ENTRY.replace("id: PZ-13", "id: PZ-7"), "field 'id': 'PZ-7' is not of the form PZ-nn"),
        (
            GOOD_ENTRY.replace("role: ppmid", "role: hcalcs"),
            "field 'role': PZ requirements have role 'ppmid'",
        ),
        (
            GOOD_ENTRY.replace("confidence: C", "confidence: I"),
            "field 'assumption': required for confidence I",
        ),
        (GOOD_ENTRY.replace("title: t", "title: ''"), "field 'title': must be a non-empty text"),
        (
            GOOD_ENTRY.replace("binds: device", "binds: ch"),
            "field 'verification': a 'ch' requirement is verified by unit-test",
        ),
        (
            GOOD_ENTRY.replace("binds: device", "binds: ch").replace("scenario", "unit-test"),
            "field 'devices': only for binds 'device'",
        ),
        (
            GOOD_ENTRY.replace("verification: scenario", "verification: not-testable-here"),
            "field 'verification_note': required when verification is 'not-testable-here'",
        ),
        (GOOD_ENTRY.replace("[ppmid]", "[hcalcs]"), "field 'devices': ['hcalcs'] does not fit role 'ppmid'"),
        (GOOD_ENTRY.replace("[ppmid]", "[fridge]"), "field 'devices': 'fridge' is not one of ppmid, hcalcs"),
        (
            GOOD_ENTRY + "    declared_by_pics: GB.X\n",
            "field 'declared_by_pics': only for device requirements of confidence I or U",
        ),
        (GOOD_ENTRY + "    title: again\n", "key 'title' appears twice in one mapping"),
    ],
)
def test_broken_entry_is_named(tmp_path, entry: str, expected: str) -> None:
    path, message = _error(tmp_path, HEADER + entry)
    assert str(path) in message
    assert expected in message


def test_every_problem_is_listed_at_once(tmp_path) -> None:
    second = GOOD_ENTRY.replace("PZ-13", "PZ-14").replace("confidence: C", "confidence: X")
    _, message = _error(tmp_path, HEADER + GOOD_ENTRY.replace("role: ppmid", "role: nobody") + second)
    assert "(2 problems)" in message
    assert "requirement PZ-13 (entry 1): field 'role'" in message
    assert "requirement PZ-14 (entry 2): field 'confidence'" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("requirements: [\n", "is not valid YAML"),
        ("- just a list\n", "the file must be a mapping"),
        (HEADER.replace('catalogue_version: "0"\n', ""), "top level: field 'catalogue_version'"),
        (HEADER, "top level: field 'requirements' must be a non-empty list"),
        (HEADER + GOOD_ENTRY + "extra: 1\n", "top level: unknown key 'extra'"),
        (HEADER + "  - just text\n", "requirement entry 1: must be a mapping"),
    ],
)
def test_broken_file_is_named(tmp_path, text: str, expected: str) -> None:
    path, message = _error(tmp_path, text)
    assert str(path) in message
    assert expected in message


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CatalogueError, match=r"cannot read requirement catalogue .*nowhere\.yaml"):
        load_catalogue(tmp_path / "nowhere.yaml")


def test_parse_catalogue_names_its_origin() -> None:
    with pytest.raises(CatalogueError, match="requirement catalogue <inline> is invalid"):
        parse_catalogue(textwrap.dedent(HEADER) + "  - {}\n", origin="<inline>")
