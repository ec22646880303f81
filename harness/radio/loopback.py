"""The loopback radio: a zigpy ControllerApplication whose "air" is a dict of emulated devices.

Why: every scenario must run the same code path against the emulator and against real hardware, and
the only seam is the radio. So the emulator is a radio, not a zigpy shortcut: zigpy forms a network,
interviews, times out and retries exactly as it does over bellows, and the harness glue taps the same two
methods. It runs on whatever event loop is current; on the ``VirtualClock`` loop, zigpy's 28 s request
timeouts and the devices' poll timers all run on virtual time.

Delivery rules:

- coordinator → node (``send_packet``): unicast by NWK or IEEE address to the attached node with that
  address, broadcast and group frames to every attached node (nodes filter). An unknown unicast
  destination raises ``zigpy.exceptions.DeliveryError``, as a radio reports a failed route.
- node → coordinator (``node_transmit``): handed to ``self.packet_received`` (so the glue taps it).
- Both ways the hand-over is ``loop.call_soon`` (or ``call_later``) with a fresh ``contextvars.Context``:
  never synchronous, and zigpy's ``request_priority`` context variable (CRITICAL during an interview)
  cannot leak into the devices' traffic.
- An optional per-node ``LinkModel`` may drop or delay each frame (the extension point for lossy or slow
  links; no model = a perfect link).

Power: ``power_cycle_node`` cuts a node's power (it keeps only the bytes it persisted: ``snapshot``), keeps it
off, rebuilds it from those bytes (``restore``) and boots it, optionally after a latency, as a slow relay would.
The DUT adapter uses it directly (the snapshot power cycle), and ``harness.radio.power_switch`` offers it to a
shell command over a local socket, so the command path of a bench (``adapter.power_cycle_command``) runs
against the emulators too.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import zigpy.application
import zigpy.endpoint
import zigpy.exceptions
import zigpy.state
import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.device import Device

from harness.radio.glue import SE_ENDPOINT_DESCRIPTOR, SE_ENDPOINT_ID

if TYPE_CHECKING:  # the emulator imports the radio's frame helpers: no import cycle at run time
    from harness.clock import Clock
    from harness.emulator.node import EmulatedDevice
    from harness.radio.power_switch import PowerSwitch

LOGGER = logging.getLogger(__name__)

#: The loopback coordinator's IEEE address (zigpy hands over ff:ff:... when it forms a network).
COORDINATOR_IEEE = t.EUI64.convert("00:12:4b:00:1c:ca:11:01")
COORDINATOR_NWK = t.NWK(0x0000)
#: A frame sent while the clock is held is delivered this long (virtual) after time moves again.
HELD_DELIVERY_S = 1e-6

_COORDINATOR_NODE_DESCRIPTOR = zdo_t.NodeDescriptor(
    logical_type=zdo_t.LogicalType.Coordinator,
    complex_descriptor_available=0,
    user_descriptor_available=0,
    reserved=0,
    aps_flags=0,
    frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
    mac_capability_flags=(
        zdo_t.NodeDescriptor.MACCapabilityFlags.AlternatePanCoordinator
        | zdo_t.NodeDescriptor.MACCapabilityFlags.FullFunctionDevice
        | zdo_t.NodeDescriptor.MACCapabilityFlags.MainsPowered
        | zdo_t.NodeDescriptor.MACCapabilityFlags.RxOnWhenIdle
        | zdo_t.NodeDescriptor.MACCapabilityFlags.AllocateAddress
    ),
    manufacturer_code=0x0000,
    maximum_buffer_size=82,
    maximum_incoming_transfer_size=82,
    server_mask=0x2C00,
    maximum_outgoing_transfer_size=82,
    descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
)


class LinkDirection(enum.StrEnum):
    DOWN = "down"  # coordinator → node
    UP = "up"  # node → coordinator


class LinkModel(Protocol):
    """Decides the fate of one frame on one node's link: seconds of delay (0 = now), or None to drop it.

    Extension point for lossy / slow links; keep it deterministic (seeded) so runs stay reproducible.
    """

    def __call__(self, packet: t.ZigbeePacket, direction: LinkDirection) -> float | None: ...


@dataclass
class _Attached:
    node: EmulatedDevice
    link: LinkModel | None


class LoopbackApp(zigpy.application.ControllerApplication):
    """In-process radio hosting emulated devices (``attach_node``) on the current event loop."""

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        #: Handed to attached nodes; the harness sets it (``factory.start_app(clock=...)``).
        self.clock: Clock | None = None
        self._attached: dict[t.EUI64, _Attached] = {}
        self._network: tuple[zigpy.state.NetworkInfo, zigpy.state.NodeInfo] | None = None
        self._local_endpoints: dict[int, zdo_t.SimpleDescriptor] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._switch: PowerSwitch | None = None

    # -- emulated devices ---------------------------------------------------------------------------------
    def attach_node(self, node: EmulatedDevice, *, link: LinkModel | None = None) -> None:
        """Power the node up on this radio: it can now receive and transmit (it joins by announcing)."""
        if self.clock is None:
            raise RuntimeError("LoopbackApp.clock is not set: the harness must set it before attaching nodes")
        self._attached[node.ieee] = _Attached(node, link)
        node.bind(self.node_transmit, self.clock)

    def detach_node(self, node: EmulatedDevice) -> None:
        """Power the node off: frames to it fail delivery, frames from it are lost."""
        self._attached.pop(node.ieee, None)

    def set_link_model(self, node: EmulatedDevice, link: LinkModel | None) -> None:
        self._attached[node.ieee].link = link

    @property
    def nodes(self) -> list[EmulatedDevice]:
        return [a.node for a in self._attached.values()]

    async def start_power_switch(self, latency_s: float = 0.0) -> str:
        """Serve the emulators' power switch (``harness.radio.power_switch``) for a bench's power-cycle command;
        returns its address for ``OTA_POWER_SWITCH``. The switch cuts ``latency_s`` after each request."""
        if self._switch is None:
            from harness.radio.power_switch import PowerSwitch

            self._switch = PowerSwitch(self, latency_s)
            await self._switch.start()
        return self._switch.address

    def node(self, ieee: t.EUI64) -> EmulatedDevice | None:
        """The powered node with this IEEE address (a power cycle replaces the object), or None."""
        attached = self._attached.get(ieee)
        return None if attached is None else attached.node

    async def power_cycle_node(
        self,
        ieee: t.EUI64,
        off_s: float,
        *,
        latency_s: float = 0.0,
        on_event: Callable[[str], None] | None = None,
    ) -> float:
        """Cut the power of the node with ``ieee`` after ``latency_s``, keep it off for ``off_s``, then rebuild
        it from the bytes it persisted and boot it (it rejoins by announcing). Returns the loop time of the cut.
        ``on_event`` hears "power off ..." and "power on ..." as they happen. Time passes on the loop's timers,
        so on the virtual clock a caller lets it run inside a clock verb."""
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        old = self.node(ieee)
        if old is None:
            raise zigpy.exceptions.DeliveryError(f"loopback: no powered node {ieee} to power-cycle")
        data = old.snapshot()
        power_off = getattr(old, "power_off", None)
        if callable(power_off):
            power_off()  # its own timers stop: the discarded object must never transmit again
        self.detach_node(old)
        cut = self._radio_loop().time()
        if on_event is not None:
            on_event(f"power off ({len(data)} persisted octets kept)")
        if off_s > 0:
            await asyncio.sleep(off_s)
        new = type(old).restore(data)
        self.attach_node(new)
        if on_event is not None:
            on_event("power on (device rebuilt from its persisted bytes)")
        booted = new.boot()  # type: ignore[attr-defined]
        if inspect.isawaitable(booted):
            await booted
        return cut

    def node_transmit(self, packet: t.ZigbeePacket) -> None:
        """A node's radio TX: the frame reaches ``packet_received`` on a later loop iteration."""
        attached = self._find(packet.src)
        if attached is None:
            LOGGER.debug("frame from a node that is not attached (powered off), lost: %r", packet)
            return
        self._deliver(attached, packet, LinkDirection.UP, self.packet_received)

    def _find(self, address: t.AddrModeAddress | None) -> _Attached | None:
        if address is None:
            return None
        if address.addr_mode == t.AddrMode.IEEE:
            return self._attached.get(address.address)
        if address.addr_mode == t.AddrMode.NWK:
            return next((a for a in self._attached.values() if a.node.nwk == address.address), None)
        return None

    def _deliver(
        self,
        attached: _Attached,
        packet: t.ZigbeePacket,
        direction: LinkDirection,
        callback: Callable[[t.ZigbeePacket], Any],
    ) -> None:
        delay = 0.0 if attached.link is None else attached.link(packet, direction)
        if delay is None:
            LOGGER.debug("link model dropped %s frame %r", direction, packet)
            return
        if self.clock is not None and self.clock.held:
            # The world stands still while a lab command runs (Clock.run_held): nothing crosses the air until
            # time moves again, so what happens during the command does not depend on how long it really took.
            delay = max(delay, HELD_DELIVERY_S)
        loop, context = self._radio_loop(), contextvars.Context()

        def schedule() -> None:
            if delay > 0:
                loop.call_later(delay, callback, packet, context=context)
            else:
                loop.call_soon(callback, packet, context=context)

        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            schedule()
        else:  # a node driven from a step's thread, or between clock verbs
            loop.call_soon_threadsafe(schedule)

    def _radio_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the loopback radio is not connected (call startup() first)")
        return self._loop

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        async with self._limit_concurrency(priority=packet.priority):
            if packet.dst.addr_mode in (t.AddrMode.Broadcast, t.AddrMode.Group):
                targets = list(self._attached.values())
            else:
                attached = self._find(packet.dst)
                if attached is None:
                    raise zigpy.exceptions.DeliveryError(f"loopback: no route to {packet.dst}")
                targets = [attached]
            for attached in targets:
                self._deliver(attached, packet, LinkDirection.DOWN, attached.node.receive)

    # -- network state (what a real stick keeps in NVRAM) -------------------------------------------------
    async def connect(self) -> None:
        """Nothing to open: the "radio" is this event loop (frames to and from nodes are scheduled on it)."""
        self._loop = asyncio.get_running_loop()

    async def disconnect(self) -> None:
        """Close the power switch, if one runs; attached nodes stay attached (a coordinator restart is not a
        power cut)."""
        if self._switch is not None:
            self._switch.close()
            self._switch = None

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        if self._network is None:
            raise zigpy.exceptions.NetworkNotFormed("loopback radio has no network yet")
        self.state.network_info, self.state.node_info = self._network

    async def write_network_info(
        self, *, network_info: zigpy.state.NetworkInfo, node_info: zigpy.state.NodeInfo
    ) -> None:
        # zigpy passes ieee=ff:ff:...:ff ("use the stick's own"): the loopback stick's is COORDINATOR_IEEE.
        # A freshly formed network's PAN ID and manager are plain ints; a stick hands back typed values (the
        # open coordinator backup JSON of harness.radio.state needs them).
        network_info = network_info.replace(
            pan_id=t.PanId(network_info.pan_id), nwk_manager_id=t.NWK(network_info.nwk_manager_id)
        )
        self._network = (network_info, node_info.replace(ieee=COORDINATOR_IEEE, nwk=COORDINATOR_NWK))

    async def reset_network_info(self) -> None:
        self._network = None

    async def start_network(self) -> None:
        """Create zigpy's coordinator device with every registered endpoint (1 = HA, the SE endpoint...)."""
        await self.load_network_info()
        await self.register_endpoints()
        node_info = self.state.node_info
        device = self.add_device(ieee=node_info.ieee, nwk=node_info.nwk)
        device.node_desc = _COORDINATOR_NODE_DESCRIPTOR
        for descriptor in self._local_endpoints.values():
            endpoint = device.add_endpoint(descriptor.endpoint)
            endpoint.status = zigpy.endpoint.Status.ZDO_INIT
            endpoint.profile_id = descriptor.profile
            endpoint.device_type = descriptor.device_type
            for cluster_id in descriptor.input_clusters:
                endpoint.add_input_cluster(cluster_id)
            for cluster_id in descriptor.output_clusters:
                endpoint.add_output_cluster(cluster_id)
        device.model, device.manufacturer = "Loopback CH", "gb-ota-conformance"

    async def register_endpoints(self) -> None:
        """zigpy's endpoints plus the configured ones, and always the SE endpoint (the OTA server's)."""
        await super().register_endpoints()
        if SE_ENDPOINT_ID not in self._local_endpoints:
            await self.add_endpoint(zdo_t.SimpleDescriptor(**SE_ENDPOINT_DESCRIPTOR))

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        self._local_endpoints[descriptor.endpoint] = descriptor

    async def force_remove(self, dev: Device) -> None:
        """Nothing to tell a stick; the emulated node stays attached until the harness detaches it."""

    async def permit_ncp(self, time_s: int = 60) -> None:
        """Joining is always open on the loopback radio (a node joins by announcing)."""

    async def permit_with_link_key(self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60) -> None:
        """Install codes / link keys are not modelled on the loopback radio."""
