"""The variation generator only makes valid configurations (``harness.emulator.variation``): a property test over
many seeds, the profile each is written as, and the knob configurations that keep their scenarios applicable.
No suite runs here (``test_variation.py`` runs them)."""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.dut.needs import SetupNeeds
from harness.emulator.faults import FAULTS
from harness.emulator.hcalcs_faults import HCALCS_FAULTS
from harness.emulator.variation import (
    CONSTRAINTS,
    GATES,
    ROLES,
    SETTINGS_FILE,
    Variation,
    VariedHcalcs,
    VariedPpmid,
    _scenario_tags,
    constraints_markdown,
    draw,
    emulator_settings,
    knob_gates,
    knob_requirements,
    violations,
    write_bench,
)
from harness.profile import PROFILES_DIR, Profile, load_profile
from harness.profile.selection import applicability
from harness.profile.setup import RadioKind
from harness.pytest_plugin import _parties_for
from tests.selfcheck.variation import reproduce_command

SEEDS = range(600)
KNOBS = [("ppmid", k) for k in sorted(FAULTS)] + [("hcalcs", k) for k in sorted(HCALCS_FAULTS)]


@pytest.mark.parametrize("clock", ["virtual", "real"])
@pytest.mark.parametrize("role", ROLES)
def test_every_drawn_configuration_meets_every_constraint(role: str, clock: str) -> None:
    broken = {seed: violations(draw(role, seed, clock=clock)) for seed in SEEDS}
    assert not {seed: v for seed, v in broken.items() if v}


@pytest.mark.parametrize(("role", "knob"), KNOBS)
def test_a_knob_configuration_meets_every_constraint(role: str, knob: str) -> None:
    from tests.selfcheck.test_variation import KNOB_SEED

    v = draw(role, KNOB_SEED, knob=knob)
    assert not violations(v), (v.summary(), violations(v))
    assert v.knob == knob and reproduce_command(v).endswith(f"--seed {KNOB_SEED} --knob {knob}")


def test_the_same_seed_draws_the_same_configuration_and_seeds_differ() -> None:
    assert draw("ppmid", 7) == draw("ppmid", 7)
    assert len({draw("ppmid", seed) for seed in range(50)}) == 50
    assert draw("ppmid", 7) != draw("ppmid", 7, clock="real") != draw("ppmid", 7, knob="status-stuck")


@pytest.mark.parametrize("role", ROLES)
def test_the_draws_reach_the_edges_of_every_range(role: str) -> None:
    """Near the limits, even and odd, both image paths, both power hooks: what the issue asks to vary."""
    drawn = [draw(role, seed) for seed in SEEDS]
    versions = {v.current_file_version for v in drawn}
    assert {0, 1, 0xFFFFFFFD, 0xFFFFFFFC} <= versions
    assert any(x % 2 for x in versions) and any(x % 2 == 0 for x in versions)
    assert {0x0000, 0xFFFE} <= {v.manufacturer_code for v in drawn}
    assert {0x0000, 0xFFBF} <= {v.image_type for v in drawn}
    assert {0x0000, 0xFFFE} <= {v.hardware_version for v in drawn}
    assert any(v.hardware_range[0] == v.hardware_range[1] for v in drawn)  # an image for exactly one version
    assert {2, 240} <= {v.endpoint for v in drawn} and 1 not in {v.endpoint for v in drawn}
    assert {16, 64} <= {v.max_block_size for v in drawn}
    assert {4400, 0xFFFFFFFE} <= {v.storage_capacity for v in drawn}
    assert any(48 % v.max_block_size and 96 % v.max_block_size for v in drawn)  # the features' offsets not starts
    assert {1, 10} <= {v.retry_limit for v in drawn}
    assert {"suite", "vendor"} == {v.images for v in drawn}
    assert {"snapshot", "command"} == {v.power_hook for v in drawn}
    assert any(v.power_off_latency_s > 0 and v.declares_power_off_latency for v in drawn)
    assert any(v.power_off_latency_s > 0 and not v.declares_power_off_latency for v in drawn)
    assert any(v.upgrade_end_reask_s == v.budgets["upgrade_end_reask"] for v in drawn)  # exactly on its period
    assert min(v.query_interval_s for v in drawn) <= 200  # queries during the scenarios' hours
    assert {"allow", "reject-lower", "reject-lower-or-equal"} == {v.downgrade_policy for v in drawn}


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=lambda c: c.name)
def test_each_constraint_rejects_what_it_forbids(constraint) -> None:
    """Every constraint can fail: the checks are not vacuous."""
    base = draw("hcalcs", 3)
    breakers = {
        "identity-not-wildcard": {"manufacturer_code": 0xFFFF},
        "a-next-version-exists": {"current_file_version": 0xFFFFFFFE},
        "eui64-is-a-device-address": {"eui64": 0},
        "application-endpoint": {"endpoint": 1},
        "block-fits-a-secured-frame": {"max_block_size": 80},
        "images-fit-in-storage": {"storage_capacity": 2048},
        "images-are-for-this-hardware": {"hardware_version": 5, "hardware_range": (6, 9)},
        "lost-blocks-are-retried": {"retry_limit": 0},
        "timers-fit-their-budgets": {"request_timeout_s": base.budgets["block_response_wait"]},
        "queries-are-rarer-than-the-query-budget": {"query_interval_s": base.budgets["query_after_notify"]},
        "waits-as-long-as-a-scenario-asks": {"wait_for_data_limit_s": 100.0},
        "re-asks-within-its-declared-period": {"upgrade_end_reask_s": base.budgets["upgrade_end_reask"] + 1},
        "tunnel-poll-declared": {"tunnel_poll_s": base.tunnel_poll_s + 1},
        "the-power-cut-lands-in-time": {"power_hook": "command", "power_off_latency_s": 0.5, "slow_link": False},
        "real-clock-timers": {"clock": "real", "request_timeout_s": 0.5},
        "alert-8f43-code": {"alert_8f43_code": 0x00CF},
        "knob-scenarios-stay-applicable": {
            "knob": "resume-from-wrong-offset",
            "role": "ppmid",
            "resume_download": False,
        },
        "knob-stays-observable": {"knob": "no-image-zero-version", "current_file_version": 0},
    }
    broken = dataclasses.replace(base, **breakers[constraint.name])
    assert not constraint.holds(broken)


# -- the profile a vendor would write --------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "seed"), [("ppmid", 11), ("ppmid", 12), ("hcalcs", 11), ("hcalcs", 12)])
def test_the_bench_declares_every_item_and_the_device_is_what_was_drawn(tmp_path: Path, role: str, seed: int) -> None:
    v = _with(draw(role, seed), images="vendor" if seed % 2 else "suite")
    profile = load_profile(write_bench(v, tmp_path))
    assert not profile.deprecations
    template = yaml.safe_load((PROFILES_DIR / f"emulated-{role}.yaml").read_text())
    written = yaml.safe_load(Path(profile.path).read_text())
    assert _keys(written) == _keys(template)  # every PICS and PIXIT item declared, as in the template
    assert profile.setup.radio_kind is RadioKind.LOOPBACK and profile.setup.vendor_images == (v.images == "vendor")
    pixit = profile.pixit_value
    assert (pixit("dut.manufacturer_code"), pixit("dut.image_type")) == (v.manufacturer_code, v.image_type)
    assert (pixit("dut.current_file_version"), pixit("dut.endpoint")) == (v.current_file_version, v.endpoint)
    assert float(pixit("tunnel.poll_interval")) == v.tunnel_poll_s
    assert (Path(profile.path).parent / SETTINGS_FILE).is_file()
    device_class = VariedPpmid if role == "ppmid" else VariedHcalcs
    config = device_class.from_profile(profile, _run_keystore(profile)).ota.config
    for name, value in emulator_settings(profile).items():
        if name != "reboot_s":
            assert getattr(config, name) == value, name
    assert (config.manufacturer_code, config.hardware_version) == (v.manufacturer_code, v.hardware_version)


def _run_keystore(profile: Profile) -> KeyStore:
    """The key store a run of ``profile`` has: the test PKI with the DUT's EUI-64, under the vendor's keys."""
    generated = TestPki.generate(_parties_for(profile), seed="variation").keystore()
    store = profile.pixit_value("keys.store")
    return generated if store is None else generated.merge(KeyStore.load(store), replace=True)


def _keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in data.items():
        name = f"{prefix}{key}"
        keys |= _keys(value, name + ".") if isinstance(value, dict) and key != "pics" else {name}
        if key == "pics":
            keys |= {f"pics.{k}" for k in value}
    return keys


def _with(v: Variation, **changes: object) -> Variation:
    changed = dataclasses.replace(v, **changes)
    assert not violations(changed)
    return changed


# -- a knob's scenarios stay applicable ------------------------------------------------------------------------
@cache
def _default_profile(role: str) -> Profile:
    return load_profile(PROFILES_DIR / f"emulated-{role}.yaml")


def _applicable(profile: Profile, role: str, requirements: frozenset[str]) -> set[frozenset[str]]:
    """The scenarios (by their tags) tagged with ``requirements`` that ``profile`` runs (PICS and @needs)."""
    needs = SetupNeeds(profile)
    found = set()
    for reqs, tags in _scenario_tags(role):
        if reqs & requirements and applicability(tags, profile).applicable:
            decision = needs.decide(tags)
            if not decision.reason and not decision.error:
                found.add(tags)
    return found


@pytest.mark.parametrize(("role", "knob"), [k for k in KNOBS if knob_gates(*k)])
def test_a_knob_configuration_keeps_every_scenario_of_its_requirements_applicable(
    tmp_path: Path, role: str, knob: str
) -> None:
    from tests.selfcheck.test_variation import KNOB_SEED

    wanted = knob_requirements(role, knob)
    v = draw(role, KNOB_SEED, knob=knob)
    varied = load_profile(write_bench(v, tmp_path))
    assert _applicable(_default_profile(role), role, wanted) <= _applicable(varied, role, wanted), v.summary()


def test_gates_name_tags_the_features_use() -> None:
    used = {tag for role in ROLES for _, tags in _scenario_tags(role) for tag in tags}
    assert set(GATES) <= used


def test_the_docs_list_the_constraints_the_code_holds() -> None:
    text = (PROFILES_DIR.parent / "docs" / "variation.md").read_text(encoding="utf-8")
    begin = "<!-- BEGIN GENERATED: harness/emulator/variation.py constraints_markdown() -->"
    end = "<!-- END GENERATED -->"
    match = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    assert match is not None and match.group(1) == constraints_markdown(), (
        "docs/variation.md's constraints are out of date. ACTION: paste harness.emulator.variation."
        "constraints_markdown() between its markers"
    )
