"""Randomised but valid configurations of the reference emulators, and the profile a vendor would write for each.

Why: the suite was proven only against its own emulators in their one default configuration, which share the
suite's authors' reading of every rule; independent devices then got false FAILs from identities, timers and
block sizes nobody had tried (issue 10). The variation self-check (``tests/selfcheck/test_variation.py``,
``make variation``, docs/variation.md) draws configurations from a seed and runs the *compliant* emulators
under them: every applicable scenario must PASS, and every fault knob must still be caught.

A ``Variation`` is what a device is (identity, block size, timers, image format) and how its bench is set up
(power switch, link). ``write_bench`` writes, in a directory of its own, the profile a vendor would write for
that device, every PICS and PIXIT item declared and only what the device really does (budgets derived from
its timers with the vendor's own margins), the vendor-format images when the variation takes the vendor-image
path, and ``emulator-settings.json``: the device's timers that no profile item declares, which
``VariedPpmid`` / ``VariedHcalcs`` (the profile's ``emulator.device_class``) read.

The constraints that make a configuration valid are written once, in ``CONSTRAINTS``: ``draw`` only makes
configurations that meet them, ``violations`` checks one, and docs/variation.md lists them. A seed whose
configuration meets them and still gets anything but PASS is a finding (of the suite or of the emulator),
never "an invalid configuration".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Self

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness.crypto.keystore import KeyStore
from harness.emulator.hcalcs import HcalcsEmulator
from harness.emulator.ota_client import OtaClientConfig
from harness.emulator.ppmid import PpmidEmulator
from harness.emulator.vendor_image import write_vendor_bench
from harness.profile import PROFILES_DIR, Profile
from harness.radio.slow_link import FRAME_DELAY_S

ROLES = ("ppmid", "hcalcs")
CLOCKS = ("virtual", "real")
#: The file beside a varied profile holding the device's undeclared settings (``VariedPpmid``, ``VariedHcalcs``).
SETTINGS_FILE = "emulator-settings.json"
#: The radio of a bench whose air takes time (50 ms per frame each way): a power switch that cuts late then
#: cuts into a running download, as on a real bench.
SLOW_LINK_RADIO = "harness.radio.slow_link:SlowLinkLoopback"
#: The bench's power-cycle command: the emulators' power switch (``harness.radio.power_switch``).
POWER_SWITCH_COMMAND = f"{sys.executable} -m harness.cli.power_switch"

#: The largest OTA file a run serves (a vendor-format image with a 4 KiB payload and the supplier's trailer).
LARGEST_IMAGE = 4400
#: The shortest (the suite's: a 2 KiB payload after the 60-octet header), the offset at which PZ-26 cuts the
#: power, and one frame's air time on the slow link: after that offset the download still takes
#: (2108 - 480 - 64) // 64 blocks × 2 frames × 50 ms ≥ 2.4 s, so a switch cutting within 1 s cuts into it.
SHORTEST_IMAGE, POWER_CUT_OFFSET = 2108, 480
REST_OF_DOWNLOAD_S = (SHORTEST_IMAGE - POWER_CUT_OFFSET - 64) // 64 * 2 * FRAME_DELAY_S
MAX_POWER_OFF_LATENCY_S = 1.0
#: The longest single WAIT_FOR_DATA (plus MinimumBlockPeriod) a scenario asks the device to honour (PZ-09).
LONGEST_SINGLE_WAIT_S = 123.0
#: Under a fault knob: the smallest block size, tunnel poll interval (s) and query interval (s) drawn (CI cost).
KNOB_LEAN = {"block": 40, "poll": 30.0, "query": 3600.0}
#: Margin between a device's own time and the budget its vendor declares for it.
MARGIN_S = 1.0


@dataclass(frozen=True)
class Variation:
    """One device and its bench, drawn from a seed (``draw``); the fields are named as what they vary."""

    role: str
    seed: int
    knob: str | None
    clock: str
    # -- identity (profile dut.*) ---------------------------------------------------------------------
    eui64: int
    manufacturer_code: int
    image_type: int
    current_file_version: int
    hardware_version: int
    hardware_range: tuple[int, int]  # of the vendor's images (the suite's cover every hardware version)
    endpoint: int
    storage_capacity: int
    downgrade_policy: str
    min_block_period_unit: str
    retry_limit: int
    # -- the OTA client's own settings (emulator-settings.json; [I] choices of a real device) -------------
    max_block_size: int
    request_timeout_s: float
    query_interval_s: float
    notify_jitter_s: float
    verification_s: float
    activation_delay_s: float
    activation_s: float
    reboot_s: float
    resume_download: bool
    resume_query_delay_s: float
    end_request_after_boot_s: float
    wait_for_data_limit_s: float
    upgrade_end_reask_s: float
    tunnel_poll_s: float
    alert_8f43: bool
    alert_8f43_code: int
    # -- the bench ------------------------------------------------------------------------------------------
    images: str  # "suite" | "vendor" (the vendor-image path: images the suite cannot sign)
    power_hook: str  # "snapshot" (the loopback's own) | "command" (the emulators' power switch)
    power_off_latency_s: float  # how long after the command the switch cuts
    declares_power_off_latency: bool  # the profile names it (adapter.power_off_latency), else the suite finds it
    slow_link: bool
    # -- what the vendor writes in the profile ---------------------------------------------------------------
    budgets: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        """The run's name: role, seed, clock and knob."""
        parts = [self.role, str(self.seed)]
        if self.clock == "real":
            parts.append("real")
        if self.knob:
            parts.append(self.knob)
        return "-".join(parts)

    def summary(self) -> str:
        """One line naming what makes this configuration unusual, for reports and failure messages."""
        return (
            f"mfr 0x{self.manufacturer_code:04X}, type 0x{self.image_type:04X}, version "
            f"0x{self.current_file_version:08X}, hw 0x{self.hardware_version:04X}, endpoint {self.endpoint}, "
            f"blocks of {self.max_block_size}, retry {self.retry_limit}, timeout {self.request_timeout_s:g} s, "
            f"query every {self.query_interval_s:g} s, activation delay {self.activation_delay_s:g} s, tunnel poll "
            f"{self.tunnel_poll_s:g} s, {self.images} images, power {self.power_hook}"
            + (f" +{self.power_off_latency_s:g} s" if self.power_hook == "command" else "")
            + (", slow link" if self.slow_link else "")
        )

    def emulator_settings(self) -> dict[str, Any]:
        """What ``VariedPpmid`` / ``VariedHcalcs`` pass to ``from_profile``: every ``OtaClientConfig`` field this
        variation sets (the profile's items among them, so device and profile cannot disagree)."""
        settings: dict[str, Any] = {
            "max_block_size": self.max_block_size,
            "retry_limit": self.retry_limit,
            "request_timeout_s": self.request_timeout_s,
            "query_interval_s": self.query_interval_s,
            "notify_jitter_s": self.notify_jitter_s,
            "verification_s": self.verification_s,
            "activation_delay_s": self.activation_delay_s,
            "activation_s": self.activation_s,
            "resume_download": self.resume_download,
            "resume_query_delay_s": self.resume_query_delay_s,
            "end_request_after_boot_s": self.end_request_after_boot_s,
            "wait_for_data_limit_s": self.wait_for_data_limit_s,
            "upgrade_end_reask_s": self.upgrade_end_reask_s,
            "upgrade_end_retry_s": min(600.0, self.upgrade_end_reask_s),
        }
        if self.role == "ppmid":
            settings["reboot_s"] = self.reboot_s
        return settings

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- the constraints -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    """One rule every drawn configuration meets, and why a configuration breaking it would not be a finding."""

    name: str
    rule: str
    why: str
    holds: Callable[[Variation], bool]


def _budget(v: Variation, name: str) -> float:
    return float(v.budgets[name])


def _activation_need(v: Variation) -> float:
    """From the go-ahead to the device running the new image and answering again."""
    return v.activation_delay_s + v.activation_s + v.reboot_s


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(
        "identity-not-wildcard",
        "manufacturer code ≤ 0xFFFE, image type ≤ 0xFFBF (manufacturer-specific), hardware version ≤ 0xFFFE",
        "0xFFFF is the ZCL wildcard (every device's code and type); image types 0xFFC0 and above are security "
        "credentials, configuration and log files, not firmware; 0xFFFF is no hardware version",
        lambda v: v.manufacturer_code <= 0xFFFE and v.image_type <= 0xFFBF and v.hardware_version <= 0xFFFE,
    ),
    Constraint(
        "a-next-version-exists",
        "running version ≤ 0xFFFFFFFD",
        "the next version (running + 1) must be a file version, not the 0xFFFFFFFF wildcard; 0x00000000 is "
        "allowed (no lower version: the downgrade scenario is NOT_APPLICABLE with its reason)",
        lambda v: 0 <= v.current_file_version <= 0xFFFFFFFD,
    ),
    Constraint(
        "eui64-is-a-device-address",
        "EUI-64 neither all zeros nor all ones",
        "both are reserved (the profile refuses them)",
        lambda v: 0 < v.eui64 < (1 << 64) - 1,
    ),
    Constraint(
        "application-endpoint",
        "endpoint 2-240",
        "1 is the default the suite always used (the point is another one); 0 is ZDO and 241-254 are reserved",
        lambda v: 2 <= v.endpoint <= 240,
    ),
    Constraint(
        "block-fits-a-secured-frame",
        "block size 16-64 octets",
        "with NWK and APS security a frame carries about 56 octets of block data (digest §5; Silicon Labs asks "
        "for up to 63); the CH serves at most 64 per block, so a larger MaxDataSize could not be tested for "
        "oversized blocks (PZ-12); below 16 a run costs too much CPU for CI",
        lambda v: 16 <= v.max_block_size <= 64,
    ),
    Constraint(
        "images-fit-in-storage",
        f"storage capacity from {LARGEST_IMAGE} octets to 0xFFFFFFFE",
        "every image a run serves must fit (else every download scenario is a refusal), and an ImageSize "
        "larger than the storage must exist (CS-15)",
        lambda v: LARGEST_IMAGE <= v.storage_capacity <= 0xFFFFFFFE,
    ),
    Constraint(
        "images-are-for-this-hardware",
        "the vendor images' hardware range contains the device's hardware version",
        "an image for other hardware is rightly refused by every download scenario (PZ-07 is the CH's check)",
        lambda v: v.hardware_range[0] <= v.hardware_version <= v.hardware_range[1] <= 0xFFFF,
    ),
    Constraint(
        "lost-blocks-are-retried",
        "retry limit 1-10",
        "PZ-31 requires re-requesting a lost block; with 0 re-requests a compliant device cannot exist",
        lambda v: 1 <= v.retry_limit <= 10,
    ),
    Constraint(
        "timers-fit-their-budgets",
        "request timeout < block response budget; Image Notify jitter < query budget; verification < "
        "verification budget; activation delay + swap + reboot < activation budget; each with 1 s to spare",
        "a budget is the vendor's declaration of how long the device takes: one shorter than the device's own "
        "timer declares a device that does not exist",
        lambda v: (
            v.request_timeout_s + MARGIN_S <= _budget(v, "block_response_wait")
            and v.notify_jitter_s + MARGIN_S <= _budget(v, "query_after_notify")
            and v.verification_s + MARGIN_S <= _budget(v, "post_download_verification")
            and _activation_need(v) + MARGIN_S <= _budget(v, "activation")
        ),
    ),
    Constraint(
        "queries-are-rarer-than-the-query-budget",
        "query interval ≥ 2 × query budget + 60 s",
        "the suite cannot tell a periodic query from an answer to an Image Notify: one inside the window of "
        '"does not query within the query budget" (PZ-27, CS-12) would be a FAIL no judgement can avoid',
        lambda v: v.query_interval_s >= 2 * _budget(v, "query_after_notify") + 60.0,
    ),
    Constraint(
        "waits-as-long-as-a-scenario-asks",
        f"wait-for-data limit ≥ 10 min (> {LONGEST_SINGLE_WAIT_S:g} s) and declared as budgets.wait_for_data_limit",
        "PZ-09 asks a device to honour one WAIT_FOR_DATA of 120 s (and 1 s + a 2-s MinimumBlockPeriod): a "
        "device whose limit is shorter gives up on it, as it may",
        lambda v: v.wait_for_data_limit_s >= 600.0 and _budget(v, "wait_for_data_limit") == v.wait_for_data_limit_s,
    ),
    Constraint(
        "re-asks-within-its-declared-period",
        "Upgrade End re-ask period ≤ budgets.upgrade_end_reask ≤ 60 min (equal allowed)",
        "the declared period is the device's promise and ZCL's bound; re-asking exactly at it is compliant",
        lambda v: 0 < v.upgrade_end_reask_s <= _budget(v, "upgrade_end_reask") <= 3600.0,
    ),
    Constraint(
        "tunnel-poll-declared",
        "tunnel poll interval 5 s-5 min (1-2 s on the real clock), declared exactly as tunnel.poll_interval",
        "GBCS budgets run from the fetch; a device polling slower than the 30-min future-dated commands are "
        "dated ahead could not receive them in time",
        lambda v: (
            (1.0 if v.clock == "real" else 5.0) <= v.tunnel_poll_s <= 300.0
            and _budget(v, "tunnel_poll_interval") == v.tunnel_poll_s
        ),
    ),
    Constraint(
        "the-power-cut-lands-in-time",
        f"power-off latency ≤ {MAX_POWER_OFF_LATENCY_S:g} s and ≤ activation delay + swap − 0.5 s; a latency > 0 "
        "only on the slow link",
        f"PZ-26 must cut into the download after offset {POWER_CUT_OFFSET} (on the plain loopback it takes no "
        f"virtual time; on the slow link ≥ {REST_OF_DOWNLOAD_S:g} s) and CS-10 into the activation; a later cut "
        "tests nothing (the suite says INCONCLUSIVE), which is the bench's limit, not the device's",
        lambda v: (
            v.power_hook == "snapshot"
            or (
                v.power_off_latency_s <= 1.0
                and v.power_off_latency_s + 0.5 <= v.activation_delay_s + v.activation_s
                and (v.power_off_latency_s == 0 or v.slow_link)
            )
        ),
    ),
    Constraint(
        "real-clock-timers",
        "on the real clock: every device timer ≥ 1 s, the snapshot power hook, no slow link, queries hourly or rarer",
        "the real-clock subset must end within 60 s of wall time, and a timer below 1 s would test the host's "
        "scheduler, not the suite's judgements",
        lambda v: (
            v.clock == "virtual"
            or (
                min(
                    v.request_timeout_s,
                    v.notify_jitter_s,
                    v.verification_s,
                    v.activation_delay_s,
                    v.activation_s,
                    v.reboot_s,
                    v.resume_query_delay_s,
                    v.end_request_after_boot_s,
                )
                >= 1.0
                and v.power_hook == "snapshot"
                and not v.slow_link
                and v.query_interval_s >= 3600.0
            )
        ),
    ),
    Constraint(
        "alert-8f43-code",
        "0x8F43 travels as a Generic Critical (0x1000) or Non-Critical (0x1001) Alert",
        "alerts outside a use case travel so (domain digest §10); under the receipt alert's code it is undecodable",
        lambda v: v.alert_8f43_code in (0x1000, 0x1001),
    ),
    Constraint(
        "knob-scenarios-stay-applicable",
        "under a fault knob: suite images, resume and 0x8F43 as the knob's scenarios need them",
        "a knob must stay caught (point 4); a configuration that makes its scenarios NOT_APPLICABLE proves "
        "nothing about it",
        lambda v: v.knob is None or not _gate_problems(v),
    ),
    Constraint(
        "knob-stays-observable",
        "under no-image-zero-version: a running version other than 0x00000000",
        "the knob reports version 00000000 instead of the running one: a device that runs 00000000 reports "
        "the same either way, and no suite can tell them apart",
        lambda v: v.knob != "no-image-zero-version" or v.current_file_version != 0,
    ),
)


def constraints_markdown() -> str:
    """The constraints as docs/variation.md lists them (a test keeps the two equal)."""
    rows = ["| constraint | rule | why a configuration breaking it is no finding |", "|---|---|---|"]
    rows += [f"| `{c.name}` | {c.rule} | {c.why} |" for c in CONSTRAINTS]
    return "\n".join(rows) + "\n"


def violations(v: Variation) -> list[str]:
    """The constraints ``v`` breaks (empty for every configuration ``draw`` makes)."""
    return [f"{c.name}: {c.rule}" for c in CONSTRAINTS if not c.holds(v)]


# -- what a fault knob's scenarios need from the configuration -----------------------------------------------
#: PICS items and @needs tags that a variation decides, and what it must be for a scenario carrying them.
GATES: Mapping[str, tuple[str, object]] = {
    "pics:GB.MFR_SIGNATURE.EMULATOR_CONVENTION": ("images", "suite"),
    "needs:image:unsigned": ("images", "suite"),
    "pics:GB.OTA.C.RESUME_DOWNLOAD": ("resume_download", True),
    "pics:GB.HCALCS.ALERT_8F43": ("alert_8f43", True),
}


@cache
def knob_requirements(role: str, knob: str) -> frozenset[str]:
    return frozenset(_faults(role)[knob].requirements)


def knob_names(role: str) -> list[str]:
    """Every fault knob of the reference emulator of ``role``, sorted."""
    return sorted(_faults(role))


def _faults(role: str) -> Mapping[str, Any]:
    from harness.emulator.faults import FAULTS
    from harness.emulator.hcalcs_faults import HCALCS_FAULTS

    return FAULTS if role == "ppmid" else HCALCS_FAULTS


@cache
def _scenario_tags(role: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
    """(requirement ids, tags) of every scenario a device of ``role`` runs (its features and the common ones)."""
    from harness.reports.spec import load_features

    features, _ = load_features(PROFILES_DIR.parent / "features")
    return tuple(
        (frozenset(s.requirement_ids), frozenset(s.tags))
        for f in features
        if f.page.startswith((f"feature-{role}-", "feature-common-"))
        for s in f.scenarios
    )


def knob_gates(role: str, knob: str) -> dict[str, object]:
    """Field → value a configuration must have so that every scenario tagged with one of the knob's
    requirements stays as applicable as under the default profile (``GATES``)."""
    wanted = knob_requirements(role, knob)
    gates: dict[str, object] = {}
    for requirements, tags in _scenario_tags(role):
        if requirements & wanted:
            for tag in tags & GATES.keys():
                name, value = GATES[tag]
                gates[name] = value
    return gates


def _gate_problems(v: Variation) -> list[str]:
    assert v.knob is not None
    return [f"{k} must be {want!r}" for k, want in knob_gates(v.role, v.knob).items() if getattr(v, k) != want]


# -- drawing -------------------------------------------------------------------------------------------------
class _Draw:
    """A seeded ``random.Random`` with the helpers the ranges need (edges are drawn often on purpose)."""

    def __init__(self, key: str) -> None:
        self.rng = random.Random(key)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def choice(self, options: tuple[Any, ...]) -> Any:
        return self.rng.choice(options)

    def integer(self, low: int, high: int, edges: tuple[int, ...] = (), p_edge: float = 0.35) -> int:
        inside = tuple(e for e in edges if low <= e <= high)
        if inside and self.chance(p_edge):
            return int(self.choice(inside))
        return self.rng.randint(low, high)

    def seconds(self, low: float, high: float, *, log: bool = False, edge_low: float = 0.15) -> float:
        """A duration in [low, high], rounded to the millisecond; ``low`` itself with probability ``edge_low``."""
        if self.chance(edge_low):
            return low
        value = math.exp(self.rng.uniform(math.log(low), math.log(high))) if log else self.rng.uniform(low, high)
        return round(min(high, max(low, value)), 3)

    def budget(self, need: float, *, floor: float = 0.0, tight: bool = False) -> float:
        """What a vendor declares for something the device takes ``need`` seconds for: its own margin."""
        if tight:
            return round(max(floor, need + MARGIN_S + self.rng.uniform(0.0, 1.0)), 3)
        factor, slack = self.rng.uniform(1.2, 3.0), self.rng.uniform(MARGIN_S, 30.0)
        return round(max(floor, need * factor + slack), 3)


def _version(d: _Draw, knob: str | None) -> int:
    """Even and odd, near both limits or anywhere (never above 0xFFFFFFFD: a next version must exist; not 0 where
    a knob's defect would not show: constraint knob-stays-observable)."""
    low = 1 if knob == "no-image-zero-version" else 0
    return d.integer(low, 0xFFFFFFFD, edges=(0, 1, 2, 0xFFFFFFFC, 0xFFFFFFFD, 0x7FFFFFFF, 0x80000000), p_edge=0.5)


def draw(role: str, seed: int, *, knob: str | None = None, clock: str = "virtual") -> Variation:
    """The configuration of ``seed`` for ``role`` (with ``knob`` switched on, its constraints applied), on
    ``clock``; the same arguments always give the same configuration."""
    if role not in ROLES or clock not in CLOCKS:
        raise ValueError(f"role {role!r} / clock {clock!r}: expected one of {ROLES} / {CLOCKS}")
    d = _Draw(f"gb-ota-variation/1:{role}:{seed}:{knob or ''}:{clock}")
    real = clock == "real"
    gates = knob_gates(role, knob) if knob else {}

    hardware = d.integer(0, 0xFFFE, edges=(0x0000, 0x0001, 0x00FF, 0x0100, 0xFFFE))
    low = hardware if d.chance(0.3) else max(0, hardware - d.integer(1, 0x200))
    high = hardware if d.chance(0.3) else min(0xFFFE, hardware + d.integer(1, 0x200))
    eui = d.integer(1, (1 << 64) - 2)
    if d.chance(0.2):  # NWK addresses from the EUI-64's low octets: the coordinator's and the broadcasts'
        eui = (eui & ~0xFFFF) | d.choice((0x0000, 0xFFF8, 0xFFFD, 0xFFFF))
        eui = min(max(eui, 1), (1 << 64) - 2)

    timer = (lambda lo, hi: d.seconds(1.0, 2.0)) if real else (lambda lo, hi: d.seconds(lo, hi))
    request_timeout = timer(1.0, 15.0)
    notify_jitter = timer(0.5, 10.0)
    verification = timer(1.0, 120.0)
    activation_s = timer(0.5, 5.0)
    reboot = timer(0.5, 20.0)

    images = str(gates.get("images") or d.choice(("suite", "vendor")))
    power_hook = "snapshot" if real else d.choice(("snapshot", "command"))
    latency = 0.0 if power_hook == "snapshot" or d.chance(0.3) else d.seconds(0.05, MAX_POWER_OFF_LATENCY_S)
    slow_link = (not real) and (latency > 0 or d.chance(0.25))
    # CS-10: the switch must cut before the activation ends (constraint the-power-cut-lands-in-time).
    activation_delay = max(timer(0.0, 30.0), math.ceil((latency + 0.5 - activation_s) * 1000) / 1000)
    if real:
        activation_delay = max(activation_delay, 1.0)

    budgets: dict[str, float] = {}
    budgets["query_after_notify"] = d.budget(notify_jitter, floor=3.0 if real else 10.0, tight=real)
    budgets["block_response_wait"] = d.budget(request_timeout, floor=3.0, tight=real)
    budgets["post_download_verification"] = d.budget(verification, floor=3.0, tight=real)
    budgets["activation"] = d.budget(activation_delay + activation_s + reboot, floor=5.0, tight=real)
    reask_budget = d.seconds(600.0, 3600.0, edge_low=0.0) if not d.chance(0.4) else 3600.0
    reask = reask_budget if d.chance(0.3) else d.seconds(300.0, reask_budget)
    budgets["upgrade_end_reask"] = reask_budget
    wait_limit = d.seconds(600.0, 7200.0)
    budgets["wait_for_data_limit"] = wait_limit
    # A knob's run repeats what the knob breaks for as long as the scenario lets it (restart-from-zero downloads
    # again until the retry budget ends): its cost grows with small blocks and frequent polls and queries, so a
    # knob's configuration keeps those in their cheaper part (KNOB_LEAN); the compliant seeds cover the rest.
    lean = knob is not None
    poll = d.seconds(1.0, 2.0) if real else d.seconds(KNOB_LEAN["poll"] if lean else 5.0, 300.0, log=True)
    budgets["tunnel_poll_interval"] = poll
    budgets["gbcs_response"] = d.seconds(3.0, 5.0) if real else d.seconds(10.0, 120.0)
    budgets["alert"] = d.budget(
        verification + activation_delay + activation_s + reboot + 2.0, floor=8.0 if real else 60.0, tight=real
    )
    budgets["join"] = d.seconds(10.0, 15.0) if real else d.seconds(30.0, 180.0)
    budgets["attribute_read"] = d.seconds(3.0, 5.0) if real else d.seconds(30.0, 120.0)
    shortest_query = 3600.0 if real else KNOB_LEAN["query"] if lean else 120.0
    query_floor = max(shortest_query, 2 * budgets["query_after_notify"] + 60.0)
    query_interval = d.seconds(query_floor, max(query_floor, 172800.0), log=True)

    return Variation(
        role=role,
        seed=seed,
        knob=knob,
        clock=clock,
        eui64=eui,
        manufacturer_code=d.integer(0, 0xFFFE, edges=(0x0000, 0x0001, 0x121D, 0xFFFD, 0xFFFE)),
        image_type=d.integer(0, 0xFFBF, edges=(0x0000, 0x0001, 0x0084, 0x0086, 0xFFBE, 0xFFBF)),
        current_file_version=_version(d, knob),
        hardware_version=hardware,
        hardware_range=(low, high),
        endpoint=d.integer(2, 240, edges=(2, 3, 240)),
        storage_capacity=d.integer(LARGEST_IMAGE, 0xFFFFFFFE, edges=(LARGEST_IMAGE, 0xFFFFFFFE)),
        downgrade_policy=d.choice(("reject-lower-or-equal", "reject-lower", "allow")),
        min_block_period_unit=d.choice(("ms", "s")),
        retry_limit=d.integer(1, 10, edges=(1, 10)),
        max_block_size=d.integer(KNOB_LEAN["block"] if lean else 16, 64, edges=(16, 33, 40, 50, 63, 64)),
        request_timeout_s=request_timeout,
        query_interval_s=query_interval,
        notify_jitter_s=notify_jitter,
        verification_s=verification,
        activation_delay_s=activation_delay,
        activation_s=activation_s,
        reboot_s=reboot,
        resume_download=bool(gates.get("resume_download", d.chance(0.7))),
        resume_query_delay_s=timer(1.0, 30.0),
        end_request_after_boot_s=timer(1.0, 30.0),
        wait_for_data_limit_s=wait_limit,
        upgrade_end_reask_s=reask,
        tunnel_poll_s=poll,
        alert_8f43=bool(gates.get("alert_8f43", d.chance(0.7))),
        alert_8f43_code=d.choice((0x1000, 0x1001)),
        images=images,
        power_hook=power_hook,
        power_off_latency_s=latency,
        declares_power_off_latency=power_hook == "command" and d.chance(0.5),
        slow_link=slow_link,
        budgets=budgets,
    )


# -- the bench: profile, images, settings --------------------------------------------------------------------
def write_bench(v: Variation, directory: Path) -> Path:
    """Write the profile a vendor would write for ``v`` (and its images and the emulator's settings) into
    ``directory``; returns the profile's path. The paths it writes are absolute: a profile resolves relative
    paths from its own folder, so a relative ``directory`` would be counted twice."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load((PROFILES_DIR / f"emulated-{v.role}.yaml").read_text(encoding="utf-8"))
    data["device"]["description"] = f"Reference {v.role.upper()} under variation {v.label}: {v.summary()}"
    pics, pixit = data["pics"], data["pixit"]
    pics["GB.OTA.C.RESUME_DOWNLOAD"] = v.resume_download
    if v.role == "hcalcs":
        pics["GB.HCALCS.ALERT_8F43"] = v.alert_8f43
        pixit["hcalcs"]["alert_8f43_message_code"] = f"0x{v.alert_8f43_code:04X}"
    pixit["radio"] = SLOW_LINK_RADIO if v.slow_link else "loopback"
    pixit["clock"] = "real" if v.clock == "real" else "auto"
    pixit["dut"].update(
        {
            "eui64": "-".join(f"{b:02X}" for b in v.eui64.to_bytes(8, "big")),
            "endpoint": v.endpoint,
            "manufacturer_code": f"0x{v.manufacturer_code:04X}",
            "image_type": f"0x{v.image_type:04X}",
            "current_file_version": f"0x{v.current_file_version:08X}",
            "hardware_version": f"0x{v.hardware_version:04X}",
            "storage_capacity": v.storage_capacity,
            "downgrade_policy": v.downgrade_policy,
            "min_block_period_unit": v.min_block_period_unit,
            "retry_limit": v.retry_limit,
            "blocks_before_rejection": math.ceil(60 / v.max_block_size),  # the header fits in so many blocks
        }
    )
    pixit["ota"]["max_block_size"] = v.max_block_size
    for name, seconds in v.budgets.items():
        if name == "tunnel_poll_interval":
            pixit["tunnel"]["poll_interval"] = seconds
        else:
            pixit["budgets"][name] = seconds
    command = v.power_hook == "command"
    pixit["adapter"]["power_cycle_command"] = POWER_SWITCH_COMMAND if command else None
    pixit["adapter"]["power_off_latency"] = v.power_off_latency_s if command and v.declares_power_off_latency else None
    pixit["adapter"]["state_dir"] = str(directory / "state")
    pixit["emulator"]["power_off_latency"] = v.power_off_latency_s
    pixit["emulator"]["faults"] = [v.knob] if v.knob else []
    pixit["emulator"]["device_class"] = f"{__name__}:{'VariedPpmid' if v.role == 'ppmid' else 'VariedHcalcs'}"
    profile = directory / f"varied-{v.role}.yaml"
    profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    if v.images == "vendor":
        key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"vendor:{v.label}".encode()).digest())
        profile = write_vendor_bench(
            directory, profile, seed=f"variation:{v.label}", vendor_key=key, hardware_range=v.hardware_range
        )
    (directory / SETTINGS_FILE).write_text(json.dumps(v.emulator_settings(), indent=1), encoding="utf-8")
    (directory / "variation.json").write_text(json.dumps(v.as_dict(), indent=1), encoding="utf-8")
    return profile


# -- the varied devices --------------------------------------------------------------------------------------
def emulator_settings(profile: Profile) -> dict[str, Any]:
    """The settings ``write_bench`` left beside ``profile`` (empty when there are none)."""
    path = Path(profile.path).parent / SETTINGS_FILE
    if not path.is_file():
        return {}
    settings = json.loads(path.read_text(encoding="utf-8"))
    known = {f.name for f in dataclasses.fields(OtaClientConfig)} | {"reboot_s"}
    return {k: v for k, v in settings.items() if k in known}


class VariedPpmid(PpmidEmulator):
    """The reference PPMID with the settings a variation drew that no profile item declares (query interval,
    request timeout, activation delay, reboot time ...), read from ``emulator-settings.json`` beside its
    profile, as a vendor's own device model reads its configuration."""

    @classmethod
    def from_profile(cls, profile: Profile, keystore: KeyStore, **overrides: Any) -> Self:
        return super().from_profile(profile, keystore, **{**emulator_settings(profile), **overrides})


class VariedHcalcs(HcalcsEmulator):
    """The reference HCALCS with the settings a variation drew (see ``VariedPpmid``)."""

    @classmethod
    def from_profile(cls, profile: Profile, keystore: KeyStore, **overrides: Any) -> Self:
        settings = {k: v for k, v in emulator_settings(profile).items() if k != "reboot_s"}
        return super().from_profile(profile, keystore, **{**settings, **overrides})
