"""A vendor's simulation of its device behind a zigpy radio class, written independently of the suite's loopback.

What a vendor with a host build of its firmware would plug in: ``--radio tests.simradio.sim_radio:SimRadio
--device sim:///path/to/profile.yaml --clock virtual``. It is *not* derived from ``LoopbackApp`` (the suite
must not special-case it), implements zigpy's ``ControllerApplication`` itself, and hosts one simulated device
that schedules everything on the running asyncio loop (``loop.call_later``, ``loop.time()``; no threads, no
``time.time()``), so the whole suite runs on virtual time. The device model here is the reference PPMID built
from the profile named by the device path, checking the vendor-style signature of the vendor's images
(``harness.emulator.vendor_image``) with the keys of ``keys.store``: the suite's own run keys never reach it.

It offers the in-process ``power_cycle(off_s)`` coroutine (docs/hardware.md): the device loses power
``latency`` seconds after the call (query ``?latency=2``), and the coroutine returns the loop time of the cut,
unless ``?report=0`` (then the suite finds the instant in the transcript).
"""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import zigpy.application
import zigpy.endpoint
import zigpy.exceptions
import zigpy.state
import zigpy.types as t
import zigpy.zdo.types as zdo_t

from harness.clock import Clock
from harness.crypto.keystore import KeyStore
from harness.emulator.ppmid import PpmidEmulator
from harness.profile import load_profile

SIM_IEEE = t.EUI64.convert("00:0b:57:ff:fe:51:4d:01")  # the simulated coordinator's own address
SIM_ORIGIN = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


class SimRadio(zigpy.application.ControllerApplication):
    """One simulated device on an in-process "air"; frames cross it on the next loop iteration."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        where = urlsplit(str(config["device"]["path"]))
        options = {key: values[-1] for key, values in parse_qs(where.query).items()}
        self._profile_path = where.path
        self.latency_s = float(options.get("latency", 0))
        self.report_power_loss = options.get("report", "1") != "0"
        self._sim_device: PpmidEmulator | None = None
        self._network: tuple[zigpy.state.NetworkInfo, zigpy.state.NodeInfo] | None = None
        self._descriptors: dict[int, zdo_t.SimpleDescriptor] = {}

    # -- the simulated device ------------------------------------------------------------------------------
    def _build_device(self) -> PpmidEmulator:
        profile = load_profile(self._profile_path)
        keys = KeyStore.load(profile.pixit_value("keys.store"))
        return PpmidEmulator.from_profile(profile, keys, trust_centre_ieee=str(SIM_IEEE), nwk=0x51A0)

    def _power_on(self, device: PpmidEmulator) -> None:
        loop = asyncio.get_running_loop()
        device.bind(self._from_device, Clock(loop, SIM_ORIGIN))
        self._sim_device = device
        device.boot()

    def _from_device(self, packet: t.ZigbeePacket) -> None:
        asyncio.get_running_loop().call_soon(self.packet_received, packet, context=contextvars.Context())

    async def power_cycle(self, off_s: float) -> float | None:
        """Cut the device's power ``latency_s`` from now, keep it off ``off_s``, boot it from what it persisted."""
        await asyncio.sleep(self.latency_s)
        old = self._sim_device
        assert old is not None, "no simulated device"
        data = old.snapshot()
        old.power_off()
        self._sim_device = None
        cut = asyncio.get_running_loop().time()
        await asyncio.sleep(off_s)
        self._power_on(PpmidEmulator.restore(data))
        return cut if self.report_power_loss else None

    # -- zigpy's radio API -----------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._sim_device is None:
            self._power_on(self._build_device())

    async def disconnect(self) -> None:
        if self._sim_device is not None:
            self._sim_device.power_off()
            self._sim_device = None

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        device = self._sim_device
        broadcast = packet.dst.addr_mode in (t.AddrMode.Broadcast, t.AddrMode.Group)
        if device is None or not (broadcast or packet.dst.address in (device.nwk, device.ieee)):
            raise zigpy.exceptions.DeliveryError(f"simulation: no device at {packet.dst}")
        asyncio.get_running_loop().call_soon(device.receive, packet, context=contextvars.Context())

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        if self._network is None:
            raise zigpy.exceptions.NetworkNotFormed("the simulation has formed no network")
        self.state.network_info, self.state.node_info = self._network

    async def write_network_info(
        self, *, network_info: zigpy.state.NetworkInfo, node_info: zigpy.state.NodeInfo
    ) -> None:
        self._network = (
            network_info.replace(
                pan_id=t.PanId(network_info.pan_id), nwk_manager_id=t.NWK(network_info.nwk_manager_id)
            ),
            node_info.replace(ieee=SIM_IEEE, nwk=t.NWK(0x0000)),
        )

    async def reset_network_info(self) -> None:
        self._network = None

    async def start_network(self) -> None:
        await self.load_network_info()
        await self.register_endpoints()
        coordinator = self.add_device(ieee=self.state.node_info.ieee, nwk=self.state.node_info.nwk)
        for descriptor in self._descriptors.values():
            endpoint = coordinator.add_endpoint(descriptor.endpoint)
            endpoint.status = zigpy.endpoint.Status.ZDO_INIT
            endpoint.profile_id, endpoint.device_type = descriptor.profile, descriptor.device_type
            for cluster_id in descriptor.input_clusters:
                endpoint.add_input_cluster(cluster_id)
            for cluster_id in descriptor.output_clusters:
                endpoint.add_output_cluster(cluster_id)

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        self._descriptors[descriptor.endpoint] = descriptor

    async def force_remove(self, dev: Any) -> None:
        return None

    async def permit_ncp(self, time_s: int = 60) -> None:
        return None  # the simulated device joins by announcing

    async def permit_with_link_key(self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60) -> None:
        return None
