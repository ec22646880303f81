"""Every fault knob changes the observable behaviour it claims, and only with the knob on.

Each knob has one scenario, run twice: on the compliant emulator (the observation a conformance scenario
expects) and with the knob switched on (the deviation). The observations are taken where the suite takes
them: frames the CH receives, Default Responses, attributes read over ZCL, liveness of Basic reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Action, Activation, Rule
from harness.crypto.eui64 import Eui64
from harness.crypto.pki import DEFAULT_PARTIES, TestPki
from harness.emulator.faults import FAULTS, FaultSet, fault_table_markdown, parse_faults
from harness.emulator.gbcs_device import GbcsDevice
from harness.emulator.ota_client import PersistPoint, Phase
from harness.emulator.ppmid import PpmidEmulator
from harness.errors import ConfigurationError
from harness.gbcs import (
    Check,
    Verdict,
    decode_message,
)
from harness.gbcs.commands import DccCommands
from harness.requirements.catalogue import load_catalogue

if TYPE_CHECKING:
    from conftest import Env, EnvFactory

Status = foundation.Status
UpgradeStatus = Ota.ImageUpgradeStatus
ACTIVATION_BUDGET = 300.0

Scenario = Callable[["EnvFactory", bool, str], None]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(function: Scenario) -> Scenario:
        assert name in FAULTS, f"scenario for unknown knob {name}"
        SCENARIOS[name] = function
        return function

    return register


def _env(make_env: EnvFactory, faulty: bool, knob: str, **overrides: object) -> Env:
    return make_env(faults=[knob] if faulty else None, **overrides)


def _next_after_first(offsets: list[int], offset: int) -> int:
    return offsets[offsets.index(offset) + 1]


def _statuses(env: Env) -> list[Status]:
    return [status for _, _, status in env.hub.default_responses]


# -- image verification --------------------------------------------------------------------------------
@scenario("accept-tampered-image")
def _tampered(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold_variant("flip-one-bit-in-manufacturer-image")
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.SUCCESS if faulty else Status.INVALID_IMAGE]


@scenario("accept-unsigned-image")
def _unsigned(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image(signed=False))
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.SUCCESS if faulty else Status.INVALID_IMAGE]
    # Minimal: a signature that is present is still checked.
    other = _env(make_env, faulty, knob)
    other.hold_variant("flip-one-bit-in-manufacturer-image")
    assert other.download(600)
    assert other.hub.end_statuses() == [Status.INVALID_IMAGE]


@scenario("accept-bad-header")
def _bad_header(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold_variant("wrong-magic")
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.SUCCESS if faulty else Status.INVALID_IMAGE]


@scenario("success-for-invalid-image")
def _success_for_invalid(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    env.hold_variant("flip-one-bit-in-manufacturer-image")
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.SUCCESS if faulty else Status.INVALID_IMAGE]
    env.run_for(ACTIVATION_BUDGET)
    assert env.current_version == old  # minimal: it still never activates the bad image
    header = _env(make_env, faulty, knob)
    header.hold_variant("wrong-magic")  # minimal: a header defect is still reported as such
    assert header.download(600)
    assert header.hub.end_statuses() == [Status.INVALID_IMAGE]


@scenario("premature-upgrade-end")
def _premature(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    assert env.download(600)
    names = [r.name for r in env.hub.requests]
    first_end = names.index("upgrade_end")
    last_block = len(names) - 1 - names[::-1].index("image_block")
    assert (first_end < last_block) is faulty
    assert env.hub.end_statuses()[0] == Status.SUCCESS


@scenario("brick-on-failed-update")
def _brick(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold_variant("flip-one-bit-in-manufacturer-image")
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.INVALID_IMAGE]
    assert env.responsive() is not faulty
    aborted = _env(make_env, faulty, knob)
    aborted.hold(aborted.image())
    aborted.hub.server.program("block", Rule(Action.ABORT, offset=144))
    aborted.notify()
    aborted.run_for(60)
    assert aborted.responsive() is not faulty


@scenario("require-zigbee-subelements")
def _zigbee_only(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    assert env.download(600)
    assert env.hub.end_statuses() == [Status.INVALID_IMAGE if faulty else Status.SUCCESS]


# -- discovery and selection -------------------------------------------------------------------------------
def _offer(make_env: EnvFactory, faulty: bool, knob: str, rule: Rule | None, status: Status | None) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    if rule is not None:
        env.hub.server.program("query", rule)
    env.notify()
    env.run_for(60)
    assert bool(env.hub.named("image_block")) is faulty
    if status is not None:
        assert _statuses(env) == ([] if faulty else [status])


@scenario("ignore-image-type")
def _image_type(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    rule = Rule(Action.WRONG_IDENTITY, params={"image_type": 0x0085})
    _offer(make_env, faulty, knob, rule, Status.INVALID_FIELD)


@scenario("ignore-manufacturer-code")
def _manufacturer(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    rule = Rule(Action.WRONG_IDENTITY, params={"manufacturer_code": 0x121E})
    _offer(make_env, faulty, knob, rule, Status.INVALID_FIELD)


@scenario("accept-oversized-image")
def _oversized_image(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    rule = Rule(Action.WRONG_SIZE, params={"image_size": 262145})
    _offer(make_env, faulty, knob, rule, Status.INSUFFICIENT_SPACE)


@scenario("accept-downgrade")
def _downgrade(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image(old - 1))
    env.notify()
    env.run_for(ACTIVATION_BUDGET)
    assert bool(env.hub.named("image_block")) is faulty
    assert env.current_version == (held.file_version if faulty else old)
    same = _env(make_env, faulty, knob)
    same.hold(same.image(old))
    same.notify()
    same.run_for(60)
    assert bool(same.hub.named("image_block")) is faulty


@scenario("ignore-unicast-image-notify")
def _unicast_notify(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.notify()
    env.run_for(60)
    assert bool(env.hub.named("query_next_image")) is not faulty


@scenario("ignore-broadcast-image-notify")
def _ignore_broadcast(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    held = env.hold(env.image())
    env.broadcast_notify(held, jitter=100)
    env.run_for(60)
    assert bool(env.hub.named("query_next_image")) is not faulty
    env.notify()  # minimal: unicast still works
    env.run_for(60)
    assert env.hub.named("query_next_image")


@scenario("query-on-any-broadcast-notify")
def _broadcast_notify(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    held = env.hold(env.image())
    env.broadcast_notify(held, jitter=0)
    env.run_for(60)
    assert bool(env.hub.named("query_next_image")) is faulty


# -- download --------------------------------------------------------------------------------------------
def _next_request(make_env: EnvFactory, faulty: bool, knob: str, rule: Rule, at: int, expected: int) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.hub.server.program("block", rule)
    env.notify()
    env.run_for(120)
    assert _next_after_first(env.hub.block_offsets(), at) == (expected if faulty else at)


@scenario("accept-wrong-offset")
def _wrong_offset(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    _next_request(make_env, faulty, knob, Rule(Action.WRONG_OFFSET, offset=96, params={"shift": 1}), 96, 144)


@scenario("accept-oversized-block")
def _oversized_block(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    _next_request(make_env, faulty, knob, Rule(Action.OVERSIZED, offset=96, params={"extra": 8}), 96, 152)


@scenario("accept-wrong-identity-block")
def _wrong_identity_block(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    rule = Rule(Action.WRONG_IDENTITY, offset=96, params={"file_version": 0x7FFFFFFF})
    _next_request(make_env, faulty, knob, rule, 96, 144)


@scenario("restart-from-zero-after-lost-block")
def _restart_from_zero(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    _next_request(make_env, faulty, knob, Rule(Action.DROP, offset=192), 192, 0)
    # minimal: a response that came and was dropped is re-requested at the same offset
    _next_request(make_env, False, knob, Rule(Action.WRONG_OFFSET, offset=96, params={"shift": 1}), 96, 96)


@scenario("skip-offset-after-lost-block")
def _skip_offset(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    _next_request(make_env, faulty, knob, Rule(Action.DROP, offset=192), 192, 240)
    _next_request(make_env, False, knob, Rule(Action.OVERSIZED, offset=96, params={"extra": 8}), 96, 96)


@scenario("resume-from-wrong-offset")
def _resume_wrong(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image(payload_size=2000))
    kept: list[bytes] = []

    def cut_at_480(device: PpmidEmulator, point: PersistPoint) -> None:
        download = device.ota.download
        if not kept and download is not None and download.offset == 480:
            kept.append(device.snapshot())
            env.app.detach_node(device)
            device.power_off()

    env.device.persist_hook = cut_at_480
    env.notify()
    assert env.run_until(lambda: bool(kept), 600)
    mark = env.hub.mark()
    env.power_cycle(kept[0])
    env.run_for(60)
    assert env.hub.block_offsets(mark)[0] == (528 if faulty else 480)


def _block_gaps(env: Env, after: int) -> list[float]:
    times = [r.at for r in env.hub.named("image_block")]
    return [round(b - a, 6) for a, b in zip(times[after:], times[after + 1 :], strict=False)]


@scenario("ignore-wait-for-data")
def _ignore_wait(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.hub.server.program("block", Rule(Action.WAIT_FOR_DATA, offset=144, params={"wait_s": 120}))
    env.notify()
    env.run_for(600)
    at_144 = [r.at for r in env.hub.named("image_block") if r.command.file_offset == 144]
    assert (at_144[1] - at_144[0] < 120) is faulty
    spaced = _env(make_env, faulty, knob)
    spaced.hold(spaced.image())
    spaced.hub.server.program("block", _period_rule())
    spaced.notify()
    spaced.run_for(600)
    gaps = _block_gaps(spaced, 2)[1:]
    assert all(gap < 2.0 for gap in gaps) is faulty


def _period_rule() -> Rule:
    return Rule(Action.WAIT_FOR_DATA, offset=48, params={"wait_s": 1, "minimum_block_period": 2000})


@scenario("ignore-minimum-block-period")
def _ignore_period(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.hub.server.program("block", _period_rule())
    env.notify()
    env.run_for(600)
    gaps = _block_gaps(env, 2)[1:]  # from the second request at 48 on
    assert gaps
    assert all(gap < 2.0 for gap in gaps) is faulty
    assert all(gap >= 2.0 for gap in gaps) is not faulty


@scenario("wrong-min-block-period-unit")
def _period_unit(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.hub.server.program("block", _period_rule())
    env.notify()
    env.run_for(3 * 3600)
    gaps = _block_gaps(env, 2)[1:]
    assert gaps
    assert gaps[0] == (2000.0 if faulty else 2.0)  # declared unit ms; the knob reads seconds


@scenario("hang-on-wait-for-data")
def _hang(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    every = Rule(Action.WAIT_FOR_DATA, times=None, when=lambda c: c.file_offset >= 96, params={"wait_s": 600})
    env.hub.server.program("block", every)
    env.notify()
    env.run_for(env.device.ota.config.wait_for_data_limit_s + 1200)
    assert (Status.ABORT in env.hub.end_statuses()) is not faulty
    expected = UpgradeStatus.Download_in_progress if faulty else UpgradeStatus.Normal
    assert env.read("image_upgrade_status") == expected


# -- activation ------------------------------------------------------------------------------------------
@scenario("accept-mismatched-upgrade-end-response")
def _mismatched_end(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image())
    env.hub.server.program("end", Rule(Action.SERVE, params={"identity": {"file_version": 0x7FFFFFFF}}))
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.current_version == (held.file_version if faulty else old)


@scenario("reject-wildcard-upgrade-end-response")
def _reject_wildcard(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image())
    wildcard = {"manufacturer_code": 0xFFFF, "image_type": 0xFFFF, "file_version": 0xFFFFFFFF}
    env.hub.server.program("end", Rule(Action.SERVE, params={"identity": wildcard}))
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.current_version == (old if faulty else held.file_version)


@scenario("ignore-upgrade-now")
def _ignore_upgrade_now(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    env.run_for(600)
    env.upgrade_now(held)
    env.run_for(ACTIVATION_BUDGET)
    assert env.current_version == (old if faulty else held.file_version)


@scenario("activate-on-wait-upgrade-time")
def _activate_on_wait(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    env.run_for(3600)
    assert env.current_version == (held.file_version if faulty else old)


@scenario("activate-before-upgrade-time")
def _activate_early(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image(), Activation.LATER, delay_s=7200)
    assert env.download(600)
    env.run_for(3600)
    assert env.current_version == (held.file_version if faulty else old)


@scenario("no-upgrade-end-reask")
def _no_reask(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    env.run_for(3 * 3600)
    count = len(env.hub.named("upgrade_end"))
    assert (count == 1) if faulty else (count >= 4)


@scenario("report-new-version-without-activating")
def _report_without_activating(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    old = env.running
    held = env.hold(env.image())
    mark = env.hub.mark()
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.current_version == held.file_version  # the attribute says "new" either way
    runs = old if faulty else held.file_version
    assert env.read_basic("sw_build_id") == f"{runs:08X}"
    env.notify()
    env.run_for(60)
    assert env.hub.named("query_next_image", mark)[-1].command.current_file_version == runs


@scenario("non-atomic-activation")
def _non_atomic(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    kept: list[bytes] = []

    def cut_at_swap(device: PpmidEmulator, point: PersistPoint) -> None:
        if point is PersistPoint.ACTIVATION_PENDING and not kept:  # "as soon as it was told to activate"
            kept.append(device.snapshot())
            env.app.detach_node(device)
            device.power_off()

    env.device.persist_hook = cut_at_swap
    assert env.download(600)
    assert env.run_until(lambda: bool(kept), ACTIVATION_BUDGET)
    env.power_cycle(kept[0])
    assert env.responsive() is not faulty


@scenario("lose-image-on-power-cycle")
def _lose_image(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    assert env.run_until(lambda: env.device.phase is Phase.WAITING_TO_UPGRADE, 60)
    mark = env.hub.mark()
    env.power_cycle()
    env.run_for(60)
    assert env.hub.end_statuses(mark) == ([] if faulty else [Status.SUCCESS])


@scenario("status-stuck")
def _status_stuck(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image(), Activation.WAIT)
    assert env.download(600)
    env.run_for(10)
    stuck = UpgradeStatus.Download_in_progress
    assert env.read("image_upgrade_status") == (stuck if faulty else UpgradeStatus.Waiting_to_upgrade)


# -- robustness and trust ------------------------------------------------------------------------------------
@scenario("crash-on-malformed-frame")
def _crash(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    env.hold(env.image())
    env.hub.server.program("query", Rule(Action.RAW, params={"payload": b"\x00\x1d"}))
    env.notify()
    env.run_for(60)
    assert _statuses(env) == [Status.MALFORMED_COMMAND]
    assert env.responsive() is not faulty


@scenario("requery-without-pause")
def _requery(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    # The CH holds nothing: NO_IMAGE_AVAILABLE; from the 20th query on it answers no more, so that the ping-pong
    # of the faulty device (which keeps the virtual clock from advancing) ends and the test can count.
    env.hub.server.program("query", Rule(Action.DROP, when=lambda _: len(env.hub.named("query_next_image")) >= 20))
    env.notify()
    env.run_for(60)
    # compliant: one query, the next at its query interval (hours later)
    assert len(env.hub.named("query_next_image")) == (20 if faulty else 1)


@scenario("accept-rogue-server")
def _rogue(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    env = _env(make_env, faulty, knob)
    held = env.hold(env.image())
    env.from_rogue("image_notify", env.hub.server.image_notify(held, payload_type=0).payload())
    env.run_for(60)
    assert bool(env.hub.named("query_next_image")) is faulty


# -- the tests ---------------------------------------------------------------------------------------------
# -- GBCS: CS09 and CS08 (harness.emulator.gbcs_device) ----------------------------------------------------
def _device_pki(env_profile_eui: str) -> TestPki:
    parties = tuple(
        dataclasses.replace(p, eui=Eui64.parse(env_profile_eui)) if p.name == "ppmid" else p for p in DEFAULT_PARTIES
    )
    return TestPki.generate(parties, seed="gbcs-knob-tests")


_GBCS_PKI: dict[str, TestPki] = {}


def _gbcs(faulty: bool, knob: str) -> tuple[GbcsDevice, list[bytes], TestPki]:
    eui = "00-DB-12-34-56-78-90-A4"
    pki = _GBCS_PKI.setdefault(eui, _device_pki(eui))
    sent: list[bytes] = []
    device = GbcsDevice(eui, pki.keystore(), sent.append, faults=parse_faults([knob] if faulty else None))
    return device, sent, pki


_CS08_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _cs08(pki: TestPki, *, corrupt: bool = False) -> bytes:
    """CS08 as the suite's ACB sends it (``harness.gbcs.commands``), to the test PKI's PPMID."""
    party = pki.party
    commands = DccCommands(
        pki.keystore(), party("ppmid").eui, now=lambda: _CS08_TIME, supplier=party("supplier").eui, acb=party("acb").eui
    )
    return commands.cs08(corrupt_mac=corrupt)


@scenario("no-cs09-alert")
def _no_cs09(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    pki = _GBCS_PKI.setdefault("00-DB-12-34-56-78-90-A4", _device_pki("00-DB-12-34-56-78-90-A4"))
    env = _env(make_env, faulty, knob, device_keys=pki.keystore())
    held = env.hold(env.image())
    assert env.download(600)
    env.run_for(ACTIVATION_BUDGET)
    assert env.running == held.file_version
    assert env.device.gbcs is not None
    assert len(env.device.gbcs.alerts) == (0 if faulty else 1)


@scenario("cs09-bad-signature")
def _cs09_signature(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.activation_alert(0x0102, True, previous_version=0x0101)
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert (decoded.signature.check is Check.VALID) is not faulty


@scenario("cs09-failure-claims-success")
def _cs09_failure(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.activation_alert(0x0101, False)
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert decoded.verdict is Verdict.VALID
    assert decoded.payload["firmwareVersion"] == (0x0101).to_bytes(4, "big")
    assert decoded.payload["activateImage"] == (0 if faulty else 1)


@scenario("cs09-reports-old-version")
def _cs09_old(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.activation_alert(0x0102, True, previous_version=0x0101)
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert decoded.verdict is Verdict.VALID
    assert decoded.payload["firmwareVersion"] == (0x0101 if faulty else 0x0102).to_bytes(4, "big")
    assert decoded.payload["activateImage"] == 0


@scenario("cs08-short-version")
def _cs08_short(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.on_apdu(_cs08(pki), 0x01020304)
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert decoded.payload["firmwareVersion"] == (bytes([2, 3, 4]) if faulty else bytes([1, 2, 3, 4]))
    assert bool(decoded.defects) is faulty


@scenario("cs08-stale-version")
def _cs08_stale(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    assert device.on_apdu(_cs08(pki), 0x0102, reported_version=0x0101) is not None
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert decoded.verdict is Verdict.VALID
    assert decoded.payload["firmwareVersion"] == (0x0101 if faulty else 0x0102).to_bytes(4, "big")


@scenario("cs08-ignores-mac")
def _cs08_mac(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.on_apdu(_cs08(pki, corrupt=True), 0x0102)
    assert len(sent) == (1 if faulty else 0)
    device.on_apdu(_cs08(pki), 0x0102)  # minimal: a good command is answered either way
    assert len(sent) == (2 if faulty else 1)


@scenario("cs08-bad-response-mac")
def _cs08_response_mac(make_env: EnvFactory, faulty: bool, knob: str) -> None:
    device, sent, pki = _gbcs(faulty, knob)
    device.on_apdu(_cs08(pki), 0x0102)
    decoded = decode_message(sent[0], keys=pki.keystore())
    assert (decoded.mac.check is Check.VALID) is not faulty
    assert decoded.payload["firmwareVersion"] == (0x0102).to_bytes(4, "big")


@pytest.mark.parametrize("faulty", [False, True], ids=["compliant", "faulty"])
@pytest.mark.parametrize("knob", list(FAULTS))
def test_knob_changes_what_it_claims(make_env: EnvFactory, knob: str, faulty: bool) -> None:
    SCENARIOS[knob](make_env, faulty, knob)


def test_every_knob_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(FAULTS)


def test_catalogue_entries_are_documented_and_name_device_requirements() -> None:
    catalogue = {r.id: r for r in load_catalogue()}
    for name, fault in FAULTS.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name
        assert fault.description and fault.observable, name
        assert fault.requirements, name
        for requirement in fault.requirements:
            assert requirement in catalogue, f"{name}: unknown requirement {requirement}"
            assert catalogue[requirement].binds == "device", f"{name}: {requirement} does not bind the device"
    assert len(FAULTS) >= 30
    table = fault_table_markdown()
    assert all(f"`{name}`" in table for name in FAULTS)


def test_parse_faults() -> None:
    assert parse_faults(None) == FaultSet() and not parse_faults([])
    faults = parse_faults(["status-stuck", "accept_downgrade"])
    assert faults.status_stuck and faults.accept_downgrade and faults.names == ("accept-downgrade", "status-stuck")
    assert parse_faults(faults) is faults
    with pytest.raises(ConfigurationError, match=r"unknown PPMID fault knob 'status-stuk'.*'status-stuck'"):
        parse_faults(["status-stuk"])
