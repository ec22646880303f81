"""The HCALCS on the loopback radio with a test-only CH (``CommunicationsHub`` + ``ChTunnelEnd``): download
over OTA → receipt alert → CS06 → new version; tampered image → 0x8F1C; never self-activates; future-dated
activation on the virtual clock; persistence across a power cycle; the OTA/power-cycle knobs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from hcalcs_support import NEW_VERSION, OLD_VERSION, Suite

from harness.ch.hub import CommunicationsHub
from harness.ch.ota_server import Activation, HeldImage
from harness.ch.tunnel import ChTunnelEnd
from harness.clock import Budget, VirtualClock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.emulator.hcalcs import (
    ALERT_FUTURE_DATED_OK,
    ALERT_VERIFICATION_FAILED,
    ALERT_VERIFICATION_OK,
    CS06,
    FUTURE_DATED_ALERT,
    LOAD_CONTROL_DEVICE_ID,
    HcalcsEmulator,
    HcalcsKeys,
    ResponseCode,
)
from harness.emulator.ota_client import OtaClientConfig
from harness.errors import ConfigurationError
from harness.gbcs import decode_apdu
from harness.ota.factory import ImageSpec, build_image
from harness.profile import PROFILES_DIR, apply_overrides, load_profile
from harness.radio import HarnessAppMixin, start_app
from harness.transcript import Transcript
from harness.zigbee import TunnelConfig

BUDGET = Budget("hcalcs radio test", 4 * 3600)
MFR, IMAGE_TYPE = 0x121D, 0x0086
Runner = Callable[..., Any]


@pytest.fixture
def run(clock: VirtualClock) -> Runner:
    def _run(coro: Coroutine[Any, Any, Any], budget: Budget = BUDGET) -> Any:
        return clock.loop.run_until_complete(clock.run_until_complete(coro, budget))

    return _run


@pytest.fixture
def app(clock: VirtualClock, run: Runner) -> Iterator[HarnessAppMixin]:
    app = run(start_app("loopback", clock=clock))
    yield app
    run(app.shutdown())


@dataclasses.dataclass
class Bench:
    app: HarnessAppMixin
    clock: VirtualClock
    hub: CommunicationsHub
    ch: ChTunnelEnd
    keystore: KeyStore
    eui: Eui64
    run: Runner
    device: HcalcsEmulator | None = None

    def start(self, *faults: str) -> HcalcsEmulator:
        device = HcalcsEmulator(
            self.eui.colon,
            0x90B5,
            keys=HcalcsKeys.from_keystore(self.keystore, self.eui),
            ota=OtaClientConfig(MFR, IMAGE_TYPE, OLD_VERSION, query_interval_s=3600.0),
            faults=faults,
            tunnel_poll_s=30.0,
        )
        self.boot(device)
        return device

    def boot(self, device: HcalcsEmulator) -> None:
        self.app.attach_node(device)
        device.boot()
        self.device = device
        assert self.run(self.clock.run_until(lambda: device.tunnel.granted, 120)), "no tunnel granted"

    def image(self, *, version: int = NEW_VERSION, seed: int = 1, tamper: bool = False) -> tuple[bytes, bytes]:
        """(OTA file, SHA-256 of its Manufacturer Image); held by the CH with UpgradeTime 0xFFFFFFFF."""
        spec = ImageSpec(MFR, IMAGE_TYPE, version, seed=seed, payload_size=600)
        data = bytearray(build_image(spec, self.keystore.private_key(Eui64.parse("90-B3-D5-1F-30-01-00-00"), "ds")))
        image_hash = hashlib.sha256(bytes(data[60 : len(data) - 66])).digest()
        if tamper:
            data[100] ^= 0x01
        self.hub.discard_all()
        self.hub.hold(HeldImage(bytes(data), MFR, IMAGE_TYPE, version, activation=Activation.WAIT))
        return bytes(data), image_hash

    def download(self) -> None:
        assert self.device is not None
        before = len(self.ch.received)
        self.device.ota.query()
        assert self.run(self.clock.run_until(lambda: len(self.ch.received) > before, 3600)), "no receipt alert"

    def command(self, apdu: bytes) -> list[bytes]:
        """Queue ``apdu`` for the device, let it poll, and return what it PUT meanwhile."""
        before = len(self.ch.received)
        self.run(self.ch.send_to_device(apdu))
        self.run(self.clock.run_for(120))
        return [r.apdu for r in self.ch.received[before:]]


@pytest.fixture
def bench(
    app: HarnessAppMixin, clock: VirtualClock, run: Runner, keystore: KeyStore, hcalcs_eui: Eui64
) -> Iterator[Bench]:
    transcript = Transcript(clock, dut_eui64=hcalcs_eui.colon)
    transcript.attach(app)
    hub = CommunicationsHub(app, clock, transcript, dut_eui64=hcalcs_eui)
    ch = ChTunnelEnd(app, clock, TunnelConfig(), transcript=transcript, dut_eui64=hcalcs_eui)
    bench = Bench(app, clock, hub, ch, keystore, hcalcs_eui, run)
    yield bench
    if bench.device is not None:
        bench.device.power_off()
    ch.stop()
    hub.stop()


def alert_of(suite: Suite, apdu: bytes) -> Any:
    return suite.judge(apdu).payload


def test_full_flow(bench: Bench, suite: Suite) -> None:
    device = bench.start()
    assert device.config["device_id"] == LOAD_CONTROL_DEVICE_ID
    device.load_switch = True
    _, image_hash = bench.image()
    bench.download()
    alert = suite.judge(bench.ch.received[-1].apdu)
    assert alert.header.message_code == 0x00CF
    assert alert.payload["alertCode"] == ALERT_VERIFICATION_OK
    assert bytes(alert.payload["calculatedManufacturerHash"]) == image_hash
    bench.run(bench.clock.run_for(3 * 3600))  # HG-03: UpgradeTime 0xFFFFFFFF, no self-activation
    assert device.running_version == OLD_VERSION
    # The hourly poll of this bench downloads the offered image again (one more receipt alert each time).
    [response] = [a for a in bench.command(suite.cs06(image_hash)) if suite.judge(a).header.message_code == CS06]
    _, outcome = suite.judge(response).payload
    assert outcome == {"activateImageResponseCode": ResponseCode.SUCCESS, "firmwareVersion": NEW_VERSION.to_bytes(4)}
    assert device.running_version == NEW_VERSION
    assert device.load_switch is True  # HG-18
    [read] = bench.command(suite.cs08())
    assert suite.judge(read).payload["firmwareVersion"] == NEW_VERSION.to_bytes(4)


def test_tampered_image_gets_8f1c(bench: Bench, suite: Suite) -> None:
    device = bench.start()
    _, image_hash = bench.image(tamper=True)
    bench.download()
    assert alert_of(suite, bench.ch.received[-1].apdu)["alertCode"] == ALERT_VERIFICATION_FAILED
    assert device.held_image is None
    [response] = bench.command(suite.cs06(image_hash))
    assert suite.judge(response).payload[1]["activateImageResponseCode"] == ResponseCode.NO_IMAGE_HELD


def test_future_dated_survives_power_cycle(bench: Bench, suite: Suite) -> None:
    device = bench.start()
    _, image_hash = bench.image()
    bench.download()
    when = (bench.clock.utcnow() + dt.timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    [accepted] = bench.command(suite.cs06(image_hash, when=when))
    assert suite.judge(accepted).payload == ("commandAccepted", None)
    data = device.snapshot()
    device.power_off()
    bench.app.detach_node(device)
    restored = HcalcsEmulator.restore(data)
    bench.boot(restored)
    bench.run(bench.clock.run_for(3600))
    alerts = [r.apdu for r in bench.ch.received if decode_apdu(r.apdu).header.message_code == FUTURE_DATED_ALERT]
    [alert] = alerts
    assert alert_of(suite, alert)["alertCode"] == ALERT_FUTURE_DATED_OK
    assert restored.running_version == NEW_VERSION


def test_forget_future_dated_on_power_cycle(bench: Bench, suite: Suite) -> None:
    device = bench.start("forget-future-dated-on-power-cycle")
    _, image_hash = bench.image()
    bench.download()
    when = (bench.clock.utcnow() + dt.timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    bench.command(suite.cs06(image_hash, when=when))
    data = device.snapshot()
    device.power_off()
    bench.app.detach_node(device)
    restored = HcalcsEmulator.restore(data)
    bench.boot(restored)
    bench.run(bench.clock.run_for(3600))
    assert not [r for r in bench.ch.received if decode_apdu(r.apdu).header.message_code == FUTURE_DATED_ALERT]
    assert restored.running_version == OLD_VERSION


def test_self_activate(bench: Bench) -> None:
    device = bench.start("self-activate")
    bench.image()
    bench.download()
    bench.run(bench.clock.run_for(600))
    assert device.running_version == NEW_VERSION


def test_held_image_and_counter_survive_power_cycle(bench: Bench, suite: Suite) -> None:
    device = bench.start()
    _, image_hash = bench.image()
    bench.download()
    replay = suite.cs06(bytes(32))
    bench.command(replay)
    data = device.snapshot()
    device.power_off()
    bench.app.detach_node(device)
    restored = HcalcsEmulator.restore(data)
    bench.boot(restored)
    assert restored.held_image is not None and restored.held_image.hash == image_hash
    assert bench.command(replay) == []  # the counter survived (HG-15)
    [response] = bench.command(suite.cs06(image_hash))
    assert suite.judge(response).payload[1]["activateImageResponseCode"] == ResponseCode.SUCCESS


def test_from_profile(keystore: KeyStore, hcalcs_eui: Eui64) -> None:
    profile = load_profile(PROFILES_DIR / "emulated-hcalcs.yaml")
    # The profile's dut.eui64 (…90-A5, the RTDS device) has no private keys in the generated test PKI.
    with pytest.raises(ConfigurationError, match="no ds private key"):
        HcalcsEmulator.from_profile(profile, keystore)
    device = HcalcsEmulator.from_profile(profile, keystore, eui64=hcalcs_eui.dashed)
    assert device.eui == hcalcs_eui
    assert device.running_version == 0x0123ABCF
    assert device.gbcs.receipt_alert_code == 0x00CF
    assert device.ota.config.image_type == 0x0086
    assert not device.faults
    with pytest.raises(ConfigurationError, match="not an HCALCS"):
        HcalcsEmulator.from_profile(load_profile(PROFILES_DIR / "emulated-ppmid.yaml"), keystore)


def test_from_profile_follows_every_ota_item_of_the_profile(keystore: KeyStore, hcalcs_eui: Eui64) -> None:
    """The HCALCS once took only its identity from the profile: a profile declaring another retry limit,
    downgrade policy or wait-for-data limit described a device that did not exist (variation self-check)."""
    overrides = {
        "pixit.dut.retry_limit": 7,
        "pixit.dut.downgrade_policy": "allow",
        "pixit.dut.min_block_period_unit": "s",
        "pixit.budgets.wait_for_data_limit": "20m",
        "pixit.ota.max_block_size": 40,
    }
    profile = apply_overrides(load_profile(PROFILES_DIR / "emulated-hcalcs.yaml"), overrides)
    config = HcalcsEmulator.from_profile(profile, keystore, eui64=hcalcs_eui.dashed).ota.config
    assert (config.retry_limit, config.downgrade_policy, config.min_block_period_unit) == (7, "allow", "s")
    assert (config.wait_for_data_limit_s, config.max_block_size) == (1200.0, 40)
