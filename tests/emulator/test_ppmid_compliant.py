"""The compliant reference PPMID against the suite's CH OTA server, over the loopback radio on virtual time.

Each test names the requirement(s) it shows the emulator keeps (domain.md §8); the fault-knob tests
(test_ppmid_faults.py) show the same observations change when a knob is on.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Action, Activation, Rule
from harness.crypto.pki import TestPki
from harness.emulator.ota_client import Phase
from harness.emulator.ppmid import PpmidEmulator
from harness.errors import ConfigurationError
from harness.profile import PROFILES_DIR, Profile, apply_overrides, load_profile

if TYPE_CHECKING:
    from conftest import Env, EnvFactory

Status = foundation.Status
UpgradeStatus = Ota.ImageUpgradeStatus
ACTIVATION_BUDGET = 300.0


# -- a complete update -----------------------------------------------------------------------------------
def test_complete_download_and_activation(env: Env) -> None:
    """PZ-13, PZ-24, PZ-25: every octet in order, UER SUCCESS, new CurrentFileVersion, statuses in order."""
    old = env.running
    data = env.image(payload_size=1000)
    held = env.hold(data)
    env.watch_status()
    assert env.download(600)
    offsets = env.hub.block_offsets()
    assert offsets == list(range(0, len(data), 48)), "blocks requested in order, each once"
    assert env.hub.end_statuses() == [Status.SUCCESS]
    verification = env.hub.named("upgrade_end")[0].at - env.hub.named("image_block")[-1].at
    assert verification >= env.device.ota.config.verification_s  # verification takes virtual time
    query = env.hub.named("query_next_image")[0].command
    assert (query.manufacturer_code, query.image_type, query.current_file_version) == (
        held.manufacturer_code,
        held.image_type,
        old,
    )
    assert query.hardware_version == env.device.ota.config.hardware_version
    announces: list[float] = []
    env.app.add_frame_listener(lambda f: announces.append(f.loop_time) if f.is_zdo and f.cluster_id == 0x0013 else None)
    assert env.run_until(lambda: env.running == held.file_version, ACTIVATION_BUDGET)
    env.run_for(10)  # reboot and rejoin
    assert len(announces) == 1, "the reboot into the new image ends with a Device_annce (rejoin)"
    assert env.current_version == held.file_version
    assert env.read("image_upgrade_status") == UpgradeStatus.Normal
    assert env.read_basic("sw_build_id") == f"{held.file_version:08X}"
    assert env.statuses == [
        UpgradeStatus.Normal,
        UpgradeStatus.Download_in_progress,
        UpgradeStatus.Download_complete,
        UpgradeStatus.Normal,
    ]
    assert env.read("upgrade_server_id") == env.app.state.node_info.ieee


def test_attributes_and_basic_are_readable_during_the_download(env: Env) -> None:
    """PZ-25, PZ-30 [I]: OTA attributes and Basic answer over ZCL while a (slow) download runs."""
    data = env.image(payload_size=1000)
    env.hold(data)
    env.hub.server.program("block", Rule(Action.DELAY, times=None, params={"delay_s": 2}))
    env.notify()
    assert env.run_until(lambda: env.device.phase is Phase.DOWNLOADING, 60)
    env.run_for(20)
    assert env.read("image_upgrade_status") == UpgradeStatus.Download_in_progress
    offset = env.read("file_offset")
    assert 0 < offset < len(data)
    assert env.read("downloaded_file_version") == env.running + 1
    assert env.read("current_file_version") == env.running
    assert env.read_basic("model") == "EMU-PPMID"
    assert env.device.phase is Phase.DOWNLOADING


# -- verification ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "flip-one-bit-in-manufacturer-image",
        "bad-manufacturer-signature",
        "manufacturer-signed-by-other-key",
        "wrong-magic",
        "wrong-header-version",
        "header-length-short",
        "header-length-long",
        "total-size-short",
        "total-size-long",
        "truncated-file",
        "trailing-bytes",
        "zigbee-subelement-wrap",
        "wrong-manufacturer-code-resigned",
        "wrong-image-type-resigned",
        "lower-version-resigned",
        "hardware-range-excludes-device",
    ],
)
def test_an_invalid_image_gets_invalid_image_and_the_old_version_keeps_running(env: Env, name: str) -> None:
    """PZ-14, CS-03..CS-08, CS-09: INVALID_IMAGE, discarded, old firmware, still working."""
    old = env.running
    env.hold_variant(name)
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.INVALID_IMAGE]
    env.run_for(ACTIVATION_BUDGET)
    assert env.running == old and env.current_version == old
    assert env.read("image_upgrade_status") == UpgradeStatus.Normal
    assert env.read("downloaded_file_version") == 0xFFFFFFFF
    assert env.device.ota.pending is None and env.device.ota.download is None
    assert env.read_basic() == "EMU-PPMID"


def test_unsigned_image_is_rejected(env: Env) -> None:
    """PZ-14: a Manufacturer Image without the manufacturer signature fails verification."""
    env.hold(env.image(signed=False))
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.INVALID_IMAGE]


# -- throttling, losses, limits ------------------------------------------------------------------------------
def test_wait_for_data_is_honoured(env: Env) -> None:
    """PZ-09: WAIT_FOR_DATA for 120 s at offset 144: the same offset again no sooner than 120 s later."""
    env.hold(env.image())
    env.hub.server.program("block", Rule(Action.WAIT_FOR_DATA, offset=144, params={"wait_s": 120}))
    assert env.download(3600)
    at_144 = [r.at for r in env.hub.named("image_block") if r.command.file_offset == 144]
    assert len(at_144) == 2
    assert at_144[1] - at_144[0] >= 120
    assert env.hub.end_statuses() == [Status.SUCCESS]


def test_minimum_block_period_spaces_the_following_requests(env: Env) -> None:
    """PZ-09, CS-17: MinimumBlockPeriod 2000 ms (unit ms declared) spaces every later request ≥ 2 s."""
    env.hold(env.image())
    env.hub.server.program(
        "block", Rule(Action.WAIT_FOR_DATA, offset=48, params={"wait_s": 1, "minimum_block_period": 2000})
    )
    assert env.download(3600)
    times = [r.at for r in env.hub.named("image_block")]
    offsets = env.hub.block_offsets()
    second_48 = [i for i, o in enumerate(offsets) if o == 48][1]
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(times[second_48 - 1 :])]
    assert gaps[0] >= 3.0  # the WAIT_FOR_DATA wait (1 s) plus the period
    assert all(2.0 <= gap < 2.5 for gap in gaps[1:])
    assert env.read("minimum_block_req_delay") == 2000


def test_lost_block_is_requested_again_at_the_same_offset(env: Env) -> None:
    """PZ-31: one withheld response at 192 → the next request is 192 again; the download completes."""
    env.hold(env.image())
    env.hub.server.program("block", Rule(Action.DROP, offset=192))
    assert env.download(3600)
    offsets = env.hub.block_offsets()
    i = offsets.index(192)
    assert offsets[i + 1] == 192
    assert offsets == sorted(offsets)
    assert env.hub.end_statuses() == [Status.SUCCESS]


def test_late_and_duplicate_responses_neither_skip_nor_restart(env: Env) -> None:
    """PZ-31: a response 20 s late arrives after the re-request was answered: it is ignored."""
    data = env.image()
    held = env.hold(data)
    env.hub.server.program("block", Rule(Action.DELAY, offset=240, params={"delay_s": 20}))
    assert env.download(3600)
    offsets = env.hub.block_offsets()
    assert sorted(set(offsets)) == list(range(0, len(data), 48))
    assert offsets == sorted(offsets)
    assert env.hub.end_statuses() == [Status.SUCCESS]
    assert env.run_until(lambda: env.running == held.file_version, ACTIVATION_BUDGET)


def test_retry_limit_then_abort(env: Env) -> None:
    """PZ-31: never answered at 288 → 1 + retry_limit requests, UER ABORT, Normal, old version."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program("block", Rule(Action.DROP, offset=288, times=None))
    assert env.download(3600)
    offsets = env.hub.block_offsets()
    assert offsets.count(288) == 1 + env.device.ota.config.retry_limit
    assert max(offsets) == 288
    assert env.hub.end_statuses() == [Status.ABORT]
    assert env.read("image_upgrade_status") == UpgradeStatus.Normal
    assert env.current_version == old


def test_server_abort_stops_the_download(env: Env) -> None:
    """CS-09: the CH aborts at 144: no request beyond it, Normal, old version, still working."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program("block", Rule(Action.ABORT, offset=144))
    env.notify()
    env.run_for(120)
    assert max(env.hub.block_offsets()) == 144
    assert env.read("image_upgrade_status") == UpgradeStatus.Normal
    assert env.current_version == old


def test_endless_wait_for_data_is_abandoned_at_the_limit(env: Env) -> None:
    """CS-16: WAIT_FOR_DATA for 600 s on every request from 96: abandoned within the 1 h limit; Basic
    answers meanwhile."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program(
        "block",
        Rule(Action.WAIT_FOR_DATA, times=None, when=lambda c: c.file_offset >= 96, params={"wait_s": 600}),
    )
    start = env.clock.now()
    env.notify()
    env.run_for(1800)
    assert env.read_basic() == "EMU-PPMID"
    assert env.read("image_upgrade_status") == UpgradeStatus.Download_in_progress
    assert env.run_until(lambda: Status.ABORT in env.hub.end_statuses(), 3600)
    assert env.clock.now() - start <= env.device.ota.config.wait_for_data_limit_s + 60
    assert env.read("image_upgrade_status") == UpgradeStatus.Normal
    assert env.current_version == old


# -- activation ------------------------------------------------------------------------------------------------
def test_upgrade_time_wait_means_no_activation_and_reasks_within_60_minutes(env: Env) -> None:
    """PZ-21: UpgradeTime 0xFFFFFFFF → Waiting to upgrade, no activation for 3 h, UER re-sent at least every
    60 min; then the CH's unsolicited Upgrade End Response ("upgrade now") activates it."""
    old = env.running
    held = env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    env.run_for(3 * 3600)
    assert env.running == old and env.current_version == old
    assert env.read("image_upgrade_status") == UpgradeStatus.Waiting_to_upgrade
    times = [r.at for r in env.hub.named("upgrade_end")] + [env.clock.now()]
    assert len(times) >= 5
    assert max(b - a for a, b in itertools.pairwise(times)) <= 3600
    assert set(env.hub.end_statuses()) == {Status.SUCCESS}
    env.upgrade_now(held)
    assert env.run_until(lambda: env.running == held.file_version, ACTIVATION_BUDGET)
    env.run_for(10)
    assert env.current_version == held.file_version


def test_count_down_activates_at_upgrade_time(env: Env) -> None:
    """PZ-21: UpgradeTime 2 h ahead → Count down; old after 1 h; new after 2 h."""
    old = env.running
    held = env.hold(env.image(), Activation.LATER, delay_s=7200)
    assert env.download(600)
    env.run_for(3600)
    assert env.running == old
    assert env.read("image_upgrade_status") == UpgradeStatus.Count_down
    assert env.run_until(lambda: env.running == held.file_version, 3600 + 60)


def test_relative_upgrade_time(env: Env) -> None:
    """CurrentTime 0: UpgradeTime is relative ([I])."""
    held = env.hold(env.image(), Activation.RELATIVE, delay_s=600)
    assert env.download(600)
    start = env.clock.now()
    assert env.run_until(lambda: env.running == held.file_version, 1200)
    assert env.clock.now() - start >= 600


def test_upgrade_end_response_for_another_file_is_ignored(env: Env) -> None:
    """PZ-20: identity neither the file's nor wildcard → INVALID_VALUE, no activation."""
    old = env.running
    held = env.hold(env.image())
    env.hub.server.program("end", Rule(Action.SERVE, params={"identity": {"file_version": held.file_version + 1}}))
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.running == old
    assert (foundation.Status.INVALID_VALUE) in [s for _, _, s in env.hub.default_responses]


def test_wildcard_upgrade_end_response_is_accepted(env: Env) -> None:
    """PZ-20: wildcard manufacturer, image type and file version are accepted."""
    held = env.hold(env.image())
    wildcard = {"manufacturer_code": 0xFFFF, "image_type": 0xFFFF, "file_version": 0xFFFFFFFF}
    env.hub.server.program("end", Rule(Action.SERVE, params={"identity": wildcard}))
    assert env.download(600)
    assert env.run_until(lambda: env.running == held.file_version, ACTIVATION_BUDGET)


def test_unanswered_upgrade_end_request_is_resent_and_never_self_activates(env: Env) -> None:
    """Digest §3.6 / B4 #19: no Upgrade End Response → UER again later, no activation meanwhile."""
    old = env.running
    held = env.hold(env.image())
    env.hub.server.program("end", Rule(Action.DROP, times=3))
    assert env.download(600)
    env.run_for(3 * env.device.ota.config.upgrade_end_retry_s - 10)
    assert env.running == old
    assert len(env.hub.named("upgrade_end")) == 3
    assert env.read("upgrade_timeout_policy") == Ota.UpgradeTimeoutPolicy.Do_not_apply_after_timeout
    assert env.run_until(lambda: env.running == held.file_version, 2 * env.device.ota.config.upgrade_end_retry_s)


# -- discovery and selection ------------------------------------------------------------------------------------
def test_periodic_query(env: Env) -> None:
    """[I] Without any notify the device polls with Query Next Image Request once per query interval."""
    interval = env.device.ota.config.query_interval_s
    env.run_for(interval - 60)
    assert not env.hub.named("query_next_image")
    env.run_for(2 * interval)
    assert len(env.hub.named("query_next_image")) == 2


def test_unicast_image_notify_makes_it_query(env: Env) -> None:
    """PZ-27: a unicast Image Notify → Query Next Image Request within a second or so."""
    env.hold(env.image())
    start, mark = env.clock.now(), env.hub.mark()
    env.notify()
    env.run_for(5)
    queries = env.hub.named("query_next_image", mark)
    assert len(queries) == 1 and queries[0].at - start <= env.device.ota.config.notify_jitter_s + 0.1


@pytest.mark.parametrize(
    ("jitter", "overrides", "queries"),
    [
        (100, {}, True),
        (0, {}, False),
        (101, {}, False),
        (100, {"manufacturer_code": 0x1234}, False),
        (100, {"image_type": 0x0085}, False),
        (100, {"new_file_version": "running"}, False),
    ],
    ids=["jitter-100", "jitter-0", "jitter-101", "other-manufacturer", "other-image-type", "running-version"],
)
def test_broadcast_image_notify_rules(env: Env, jitter: int, overrides: dict, queries: bool) -> None:
    """PZ-27: broadcast Image Notify: ignored outside jitter 1-100, for another identity, for the running
    version; with jitter 100 and its own identity it always queries."""
    held = env.hold(env.image())
    if overrides.get("new_file_version") == "running":
        overrides = {"new_file_version": env.running}
    mark = env.hub.mark()
    env.broadcast_notify(held, jitter=jitter, **overrides)
    env.run_for(60)
    assert bool(env.hub.named("query_next_image", mark)) is queries
    assert not env.hub.default_responses, "never a Default Response to a broadcast"


def test_broadcast_jitter_draw_is_seeded(make_env: EnvFactory) -> None:
    """PZ-27: with jitter 50 about half the notifies cause a query, the same ones on every run."""

    def draws() -> list[bool]:
        env = make_env()
        held = env.hold(env.image())
        env.hub.server.program("query", Rule(Action.NO_IMAGE, times=None))
        outcome = []
        for _ in range(40):
            mark = env.hub.mark()
            env.broadcast_notify(held, jitter=50)
            env.run_for(30)
            outcome.append(bool(env.hub.named("query_next_image", mark)))
        env.close()
        return outcome

    first, second = draws(), draws()
    assert first == second
    assert 8 <= sum(first) <= 32


@pytest.mark.parametrize(
    ("rule", "status"),
    [
        (Rule(Action.WRONG_IDENTITY, params={"manufacturer_code": 0x121E}), Status.INVALID_FIELD),
        (Rule(Action.WRONG_IDENTITY, params={"image_type": 0x0085}), Status.INVALID_FIELD),
        (Rule(Action.WRONG_SIZE, params={"image_size": 0}), Status.INVALID_FIELD),
        (Rule(Action.WRONG_SIZE, params={"image_size": 262145}), Status.INSUFFICIENT_SPACE),
    ],
    ids=["other-manufacturer", "other-image-type", "size-0", "larger-than-storage"],
)
def test_unacceptable_offer_is_refused_without_download(env: Env, rule: Rule, status: Status) -> None:
    """CS-06, CS-15: no Image Block Request; a Default Response says why; still working on the old version."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program("query", rule)
    env.notify()
    env.run_for(60)
    assert env.hub.named("query_next_image")
    assert not env.hub.named("image_block")
    assert [s for _, _, s in env.hub.default_responses] == [status]
    assert env.current_version == old and env.read_basic() == "EMU-PPMID"


@pytest.mark.parametrize(
    ("policy", "delta", "downloads"),
    [
        ("reject-lower-or-equal", -1, False),
        ("reject-lower-or-equal", 0, False),
        ("reject-lower", -1, False),
        ("reject-lower", 0, False),
        ("allow", -1, True),
        ("allow", 0, False),
    ],
)
def test_version_policy(make_env: EnvFactory, policy: str, delta: int, downloads: bool) -> None:
    """CS-20: the declared downgrade policy decides lower versions; the running version is never re-installed."""
    env = make_env(downgrade_policy=policy)
    version = env.running + delta
    held = env.hold(env.image(version))
    env.notify()
    env.run_for(ACTIVATION_BUDGET)
    assert bool(env.hub.named("image_block")) is downloads
    assert env.running == (held.file_version if downloads else env.device.ota.config.current_file_version)


# -- trust and robustness ------------------------------------------------------------------------------------------
def test_ota_commands_from_another_node_are_ignored(env: Env) -> None:
    """CS-12: a rogue's unicast Image Notify and its "upgrade now" are ignored."""
    old = env.running
    held = env.hold(env.image(), Activation.WAIT)
    notify = env.hub.server.image_notify(held, payload_type=0).payload()
    mark = env.hub.mark()
    env.from_rogue("image_notify", notify)
    env.run_for(60)
    assert not env.hub.named("query_next_image", mark)
    assert env.download(600)
    assert env.run_until(lambda: env.device.phase is Phase.WAITING_TO_UPGRADE, 60)
    now = env.hub.server.upgrade_end_response(held, Activation.NOW).payload()
    env.from_rogue("upgrade_end_response", now)
    env.run_for(ACTIVATION_BUDGET)
    assert env.running == old
    assert env.device.phase is Phase.WAITING_TO_UPGRADE


def test_truncated_query_response_is_malformed_and_harmless(env: Env) -> None:
    """CS-14: a truncated Query Next Image Response → Default Response MALFORMED_COMMAND; still working."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program("query", Rule(Action.RAW, params={"payload": b"\x00\x1d\x12"}))
    env.notify()
    env.run_for(60)
    assert [s for _, _, s in env.hub.default_responses] == [Status.MALFORMED_COMMAND]
    assert env.current_version == old and env.read_basic() == "EMU-PPMID"
    assert env.device.phase is Phase.IDLE


def test_block_response_whose_length_lies_is_malformed_and_the_offset_requested_again(env: Env) -> None:
    """CS-14: DataSize 48 but only 10 octets → MALFORMED_COMMAND, offset 48 again, download completes."""
    held = env.hold(env.image())
    lying = bytes([0]) + (0x121D).to_bytes(2, "little") + (0x0084).to_bytes(2, "little")
    lying += held.file_version.to_bytes(4, "little") + (48).to_bytes(4, "little") + bytes([48]) + bytes(10)
    env.hub.server.program("block", Rule(Action.RAW, offset=48, params={"payload": lying}))
    assert env.download(600)
    assert env.hub.block_offsets().count(48) == 2
    assert [s for _, _, s in env.hub.default_responses] == [Status.MALFORMED_COMMAND]
    assert env.hub.end_statuses() == [Status.SUCCESS]


def test_truncated_upgrade_end_response_is_malformed_and_nothing_activates(env: Env) -> None:
    """CS-14: a truncated Upgrade End Response → MALFORMED_COMMAND, no activation within the budget."""
    old = env.running
    env.hold(env.image())
    env.hub.server.program("end", Rule(Action.RAW, params={"payload": b"\x1d\x12\x84"}))
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.running == old and env.read_basic() == "EMU-PPMID"
    assert [s for _, _, s in env.hub.default_responses] == [Status.MALFORMED_COMMAND]


def test_unknown_and_manufacturer_specific_commands(env: Env) -> None:
    """ZCL: an unknown OTA command → UNSUP_CLUSTER_COMMAND; unsolicited responses are ignored."""
    env.run(env.hub.app.send_ota_frame(env.zdev, 0x0B, b"\x00"))
    env.run(env.hub.app.send_ota_frame(env.zdev, "image_block_response", b"\x95"))
    env.run_for(5)
    assert [s for _, _, s in env.hub.default_responses] == [Status.UNSUP_CLUSTER_COMMAND]
    assert env.device.phase is Phase.IDLE


# -- construction contract ------------------------------------------------------------------------------------
def test_from_profile_reads_the_pixit_values(env: Env, ppmid_profile: Profile) -> None:
    cfg = env.device.ota.config
    pixit = ppmid_profile.pixit_value
    assert str(env.device.ieee) == "00:db:12:34:56:78:90:a4"
    assert (cfg.manufacturer_code, cfg.image_type, cfg.current_file_version) == (
        pixit("dut.manufacturer_code"),
        pixit("dut.image_type"),
        pixit("dut.current_file_version"),
    )
    assert cfg.hardware_version == pixit("dut.hardware_version")
    assert cfg.storage_capacity == pixit("dut.storage_capacity")
    assert cfg.retry_limit == pixit("dut.retry_limit") and cfg.max_block_size == pixit("ota.max_block_size")
    assert cfg.upgrade_end_reask_s <= pixit("budgets.upgrade_end_reask")
    assert cfg.wait_for_data_limit_s == pixit("budgets.wait_for_data_limit")
    assert not env.device.faults


def test_unknown_fault_knob_is_a_configuration_error(ppmid_profile: Profile, pki: TestPki) -> None:
    with pytest.raises(ConfigurationError, match=r"accept-tampered-imag'.*accept-tampered-image"):
        apply_overrides(ppmid_profile, {"pixit.emulator.faults": ["accept-tampered-imag"]})  # at load, by the class
    with pytest.raises(ConfigurationError, match=r"accept-tampered-imag'.*accept-tampered-image"):
        PpmidEmulator("00:0d:6f:00:00:00:00:01", 0x1234, faults=["accept-tampered-imag"], manufacturer_public_key=None)


def test_faults_come_from_the_profile(ppmid_profile: Profile, pki: TestPki) -> None:
    profile = apply_overrides(ppmid_profile, {"pixit.emulator.faults": ["status-stuck", "accept-downgrade"]})
    device = PpmidEmulator.from_profile(profile, pki.keystore())
    assert device.faults.names == ("accept-downgrade", "status-stuck")


def test_restore_without_key_uses_the_registry_and_keeps_config(env: Env) -> None:
    data = env.device.snapshot()
    restored = PpmidEmulator.restore(data)
    assert restored.ota.config == env.device.ota.config
    assert restored.running_version == env.running
    assert restored.ota.verifier.manufacturer_public_key is env.device.ota.verifier.manufacturer_public_key


def test_a_role_other_than_ppmid_is_refused(pki: TestPki) -> None:
    with pytest.raises(ConfigurationError, match="not a PPMID"):
        PpmidEmulator.from_profile(load_profile(PROFILES_DIR / "emulated-hcalcs.yaml"), pki.keystore())
