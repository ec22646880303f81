"""Fixtures for the reference-emulator tests: the loopback radio on a VirtualClock, the suite's CH OTA server
wired to it by a small test-only hub, and a PPMID emulator built from the emulated-PPMID profile.

``TestHub`` is deliberately minimal (the real CH wiring lives in harness/ch/hub.py, built elsewhere): it
decodes the device's OTA requests with zigpy's schemas, asks ``harness.ch.ota_server.OtaServer`` for the
decision and sends it with ``app.send_ota_frame``; it records every request with its virtual time.

No pytest-asyncio: a test drives the clock's own loop with ``env.run(coro)``; time moves only inside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Activation, Decision, HeldImage, OtaServer
from harness.clock import Budget, VirtualClock
from harness.crypto.pki import TestPki
from harness.emulator.ppmid import MANUFACTURER_EUI, PpmidEmulator
from harness.ota import ImageSpec, Layout, VariantContext, build_image, derive_variant
from harness.ota.format import parse_header
from harness.profile import PROFILES_DIR, Profile, apply_overrides, load_profile
from harness.radio import HarnessAppMixin, RawFrame, start_app
from harness.radio.frames import SE_PROFILE_ID, parse_zcl_header, zcl_frame
from harness.radio.glue import OTA_CLUSTER_ID, SE_ENDPOINT_ID

TEST_BUDGET = Budget("emulator test", 30 * 24 * 3600)
JOIN_BUDGET = Budget("join and interview", 60)
GC = foundation.GeneralCommand
Status = foundation.Status

_REQUESTS = {
    Ota.ServerCommandDefs.query_next_image.id: "query_next_image",
    Ota.ServerCommandDefs.image_block.id: "image_block",
    Ota.ServerCommandDefs.image_page.id: "image_page",
    Ota.ServerCommandDefs.upgrade_end.id: "upgrade_end",
}


@dataclass(frozen=True)
class OtaRequest:
    """One OTA command the device sent, decoded, at its virtual time."""

    at: float
    name: str
    command: Any
    tsn: int


class TestHub:
    """Test-only CH: the suite's OtaServer decisions sent through the loopback glue."""

    __test__ = False

    def __init__(self, app: HarnessAppMixin, clock: VirtualClock) -> None:
        self.app = app
        self.clock = clock
        self.server = OtaServer(utc_now=clock.zigbee_utc)
        self.requests: list[OtaRequest] = []
        self.default_responses: list[tuple[float, int, Status]] = []
        app.set_ota_handler(self._on_frame)

    # -- the device's requests ------------------------------------------------------------------------------
    def _on_frame(self, packet: t.ZigbeePacket, frame: RawFrame) -> Coroutine[Any, Any, None] | None:
        parsed = parse_zcl_header(frame.data)
        if parsed is None:
            return None
        hdr, payload = parsed
        if not hdr.frame_control.is_cluster:
            if hdr.command_id == GC.Default_Response:
                rsp, _ = foundation.GENERAL_COMMANDS[GC.Default_Response].schema.deserialize(payload)
                self.default_responses.append((self.clock.now(), rsp.command_id, rsp.status))
            return None
        name = _REQUESTS.get(hdr.command_id)
        if name is None:
            return None
        command, _ = getattr(Ota.ServerCommandDefs, name).schema.deserialize(payload)
        self.requests.append(OtaRequest(self.clock.now(), name, command, hdr.tsn))
        device = self.app.get_device(nwk=packet.src.address)
        key = str(device.ieee).replace(":", "")
        if name == "query_next_image":
            decisions = [self.server.on_query(key, command)]
        elif name == "image_block":
            decisions = [self.server.on_block(key, command)]
        elif name == "image_page":
            decisions = self.server.on_page(key, command)
        else:
            decisions = [self.server.on_upgrade_end(key, command)]
        decisions = [d for d in decisions if d.sends]
        if not decisions:
            return None
        return self._send(device, decisions, hdr.tsn)

    async def _send(self, device: Device, decisions: list[Decision], tsn: int) -> None:
        for decision in decisions:
            if decision.delay_s:
                await asyncio.sleep(decision.delay_s)
            await self.app.send_ota_frame(device, decision.command, decision.payload(), tsn=tsn)

    # -- stimuli ----------------------------------------------------------------------------------------------
    async def send(self, device: Device, decision: Decision) -> None:
        """Send a decision the test made (Image Notify, an unsolicited Upgrade End Response)."""
        await self.app.send_ota_frame(device, decision.command, decision.payload())

    async def broadcast_notify(self, decision: Decision) -> None:
        data = zcl_frame(
            Ota.ClientCommandDefs.image_notify.id,
            decision.payload(),
            tsn=self.app.get_sequence(),
            direction=foundation.Direction.Server_to_Client,
            disable_default_response=True,
        )
        with self.app.suite_ota_transmit():
            await self.app.broadcast(
                SE_PROFILE_ID,
                OTA_CLUSTER_ID,
                SE_ENDPOINT_ID,
                0xFF,
                0,
                0,
                self.app.get_sequence(),
                data,
                broadcast_address=t.BroadcastAddress.RX_ON_WHEN_IDLE,
            )

    # -- what the device did (``since`` is a ``mark()``: many frames share one virtual instant) -------------
    def mark(self) -> int:
        return len(self.requests)

    def named(self, name: str, since: int = 0) -> list[OtaRequest]:
        return [r for r in self.requests[since:] if r.name == name]

    def block_offsets(self, since: int = 0) -> list[int]:
        return [r.command.file_offset for r in self.named("image_block", since)]

    def end_statuses(self, since: int = 0) -> list[Status]:
        return [Status(r.command.status) for r in self.named("upgrade_end", since)]


@dataclass
class Env:
    """One loopback network: clock, radio, hub, the PPMID emulator and its zigpy Device."""

    clock: VirtualClock
    app: HarnessAppMixin
    hub: TestHub
    device: PpmidEmulator
    zdev: Device
    profile: Profile
    pki: TestPki
    statuses: list[int] = field(default_factory=list)
    closed: bool = False

    def run(self, coro: Coroutine[Any, Any, Any], budget: Budget = TEST_BUDGET) -> Any:
        return self.clock.loop.run_until_complete(self.clock.run_until_complete(coro, budget))

    def run_for(self, seconds: float) -> None:
        self.run(self.clock.run_for(seconds))

    def run_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        return bool(self.run(self.clock.run_until(predicate, Budget("test wait", seconds))))

    @property
    def running(self) -> int:
        return int(self.device.running_version)

    @property
    def current_version(self) -> int:
        """CurrentFileVersion as the device reports it over ZCL (zigpy Read Attributes)."""
        return int(self.read("current_file_version"))

    def read(self, attribute: str) -> Any:
        ota = self.zdev.endpoints[self.device.endpoint_id].out_clusters[Ota.cluster_id]
        success, failure = self.run(ota.read_attributes([attribute], allow_cache=False), Budget("read", 120))
        assert attribute in success, f"{attribute} not read: {failure}"
        return success[attribute]

    def read_basic(self, attribute: str = "model") -> Any:
        basic = self.zdev.endpoints[self.device.endpoint_id].in_clusters[0x0000]
        success, failure = self.run(basic.read_attributes([attribute], allow_cache=False), Budget("read", 120))
        assert attribute in success, f"{attribute} not read: {failure}"
        return success[attribute]

    def responsive(self) -> bool:
        """The device answers a Basic read within zigpy's retries (about 90 virtual seconds)."""
        try:
            self.read_basic()
        except Exception:  # zigpy reports a silent device as a timeout or a delivery error
            return False
        return True

    def from_rogue(self, command: str, payload: bytes, rogue_nwk: int = 0x7777) -> None:
        """Deliver an OTA server command to the device as if a node other than the CH had sent it."""
        data = zcl_frame(
            getattr(Ota.ClientCommandDefs, command).id,
            payload,
            tsn=0x42,
            direction=foundation.Direction.Server_to_Client,
            disable_default_response=True,
        )
        packet = t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=rogue_nwk),
            src_ep=1,
            dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=self.device.nwk),
            dst_ep=self.device.endpoint_id,
            tsn=0x42,
            profile_id=SE_PROFILE_ID,
            cluster_id=OTA_CLUSTER_ID,
            data=t.SerializableBytes(data),
            lqi=255,
            rssi=-40,
        )
        self.clock.loop.call_soon(self.device.receive, packet)
        self.run_for(0)

    # -- images ----------------------------------------------------------------------------------------------
    def image(self, version: int | None = None, *, payload_size: int = 300, signed: bool = True, **kw: Any) -> bytes:
        spec = ImageSpec(
            manufacturer_code=self.device.ota.config.manufacturer_code,
            image_type=self.device.ota.config.image_type,
            file_version=self.running + 1 if version is None else version,
            payload_size=payload_size,
            seed=kw.pop("seed", 7),
            layout=Layout.GB_UNSIGNED,
            **kw,
        )
        key = self.pki.keystore().private_key(MANUFACTURER_EUI, "ds") if signed else None
        return build_image(spec, manufacturer_key=key)

    def variant(self, name: str, data: bytes) -> bytes:
        """The named image variant (harness.ota.variants) of ``data``, with the test PKI's keys."""
        keys = self.pki.keystore()
        context = VariantContext(
            device_hw_version=self.device.ota.config.hardware_version,
            running_version=self.running,
            supplier_key=keys.private_key(self.pki.party("supplier").eui, "ds"),
            manufacturer_key=keys.private_key(MANUFACTURER_EUI, "ds"),
            other_key=keys.private_key(self.pki.party("acb").eui, "ds"),
            layout=Layout.GB_UNSIGNED,
        )
        return derive_variant(name, data, context)

    def hold_variant(self, name: str, activation: Activation = Activation.NOW) -> HeldImage:
        """The CH holds the named variant of the next version under the valid image's identity (as the
        suite's scenario images do)."""
        base = self.image()
        header = parse_header(base)
        return self.hold(
            self.variant(name, base),
            activation,
            manufacturer_code=header.manufacturer_code,
            image_type=header.image_type,
            file_version=header.file_version,
        )

    def hold(self, data: bytes, activation: Activation = Activation.NOW, delay_s: int = 0, **kw: Any) -> HeldImage:
        header = parse_header(data, honour_length=False)
        held = HeldImage(
            data=data,
            manufacturer_code=kw.pop("manufacturer_code", header.manufacturer_code),
            image_type=kw.pop("image_type", header.image_type),
            file_version=kw.pop("file_version", header.file_version),
            activation=activation,
            activation_delay_s=delay_s,
            **kw,
        )
        self.hub.server.hold(held)
        return held

    # -- stimuli ---------------------------------------------------------------------------------------------
    def notify(self, image: HeldImage | None = None) -> None:
        """Unicast Image Notify (payload type 0, jitter 100)."""
        self.run(self.hub.send(self.zdev, self.hub.server.image_notify(image, payload_type=0)))

    def broadcast_notify(self, image: HeldImage | None, jitter: int = 100, **overrides: Any) -> None:
        self.run(self.hub.broadcast_notify(self.hub.server.image_notify(image, jitter=jitter, **overrides)))

    def upgrade_now(self, image: HeldImage) -> None:
        """The CH's unsolicited Upgrade End Response "upgrade now"."""
        self.run(self.hub.send(self.zdev, self.hub.server.upgrade_end_response(image, Activation.NOW)))

    def download(self, seconds: float = 3600) -> bool:
        """Unicast Image Notify, then run until the device has sent its first Upgrade End Request."""
        since = self.hub.mark()
        self.notify()
        return self.run_until(lambda: bool(self.hub.named("upgrade_end", since)), seconds)

    def watch_status(self) -> None:
        """Record every ImageUpgradeStatus the device shows around each frame (PZ-25 sequence)."""

        def sample(_frame: RawFrame | None = None) -> None:
            value = int(self.device.upgrade_status)
            if not self.statuses or self.statuses[-1] != value:
                self.statuses.append(value)

        sample()
        self.app.add_frame_listener(sample)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.device.power_off()
            self.run(self.app.shutdown())

    def power_cycle(self, data: bytes | None = None, **overrides: Any) -> PpmidEmulator:
        """Cut the power (keeping ``data`` or the device's NVM), rebuild the device from it and boot it."""
        old = self.device
        data = old.snapshot() if data is None else data
        self.app.detach_node(old)
        old.power_off()
        new = PpmidEmulator.restore(data, **overrides)
        self.app.attach_node(new)
        new.boot()
        self.device = new
        return new


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki.generate(seed="reference-emulator-tests")


@pytest.fixture(scope="session")
def ppmid_profile() -> Profile:
    return load_profile(PROFILES_DIR / "emulated-ppmid.yaml")


EnvFactory = Callable[..., Env]


@pytest.fixture
def make_env(clock: VirtualClock, pki: TestPki, ppmid_profile: Profile) -> Iterator[EnvFactory]:
    """``make_env(faults=[...], **PpmidEmulator.from_profile overrides)``: a joined PPMID and a CH."""
    envs: list[Env] = []

    def _make(faults: list[str] | None = None, **overrides: Any) -> Env:
        def run(coro: Coroutine[Any, Any, Any]) -> Any:
            return clock.loop.run_until_complete(clock.run_until_complete(coro, TEST_BUDGET))

        app = run(start_app("loopback", clock=clock))
        hub = TestHub(app, clock)
        profile = ppmid_profile
        if faults:
            profile = apply_overrides(profile, {"pixit.emulator.faults": list(faults)})
        device = PpmidEmulator.from_profile(profile, pki.keystore(), **overrides)
        app.attach_node(device)
        device.boot()

        def joined() -> bool:
            zdev = app.devices.get(device.ieee)
            return zdev is not None and zdev.is_initialized

        assert run(clock.run_until(joined, JOIN_BUDGET)), "the PPMID emulator did not join"
        env = Env(clock, app, hub, device, app.devices[device.ieee], profile, pki)
        envs.append(env)
        return env

    yield _make
    for env in envs:
        env.close()


@pytest.fixture
def env(make_env: EnvFactory) -> Env:
    return make_env()


__all__ = ["ClusterType", "Env", "OtaRequest", "TestHub"]
