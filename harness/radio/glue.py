"""Radio glue: the harness layer over *any* radio's zigpy ``ControllerApplication``.

Why a mixin on the radio class: bellows, zigpy-znp, zigpy-deconz and the loopback radio all hand received
frames to ``self.packet_received`` and transmit through ``self.send_packet``. Overriding those two methods
is therefore the one place where the suite sees every frame before zigpy can drop, answer or alter it,
whatever the radio. What it does there, in order:

1. **Tap** every frame in both directions as a ``RawFrame`` (``add_frame_listener``), before anything
   else, so frames zigpy drops (unparsable, repeats within 10 s, unknown profile) are still evidence.
2. **Remap** incoming Smart Energy profile 0x0109 frames to 0x0104, which zigpy otherwise ignores.
3. **Intercept what the suite's CH serves**: incoming cluster 0x0019 frames go to the suite's OTA server
   (``set_ota_handler``) and never to zigpy's Ota cluster, which would answer NO_IMAGE_AVAILABLE or ABORT on
   its own. Without a handler they are swallowed. Frames of the Tunneling (0x0704) and Key Establishment
   (0x0800) clusters are served from the tap (``harness.ch.tunnel``, ``harness.ch.key_establishment``) and
   do not reach zigpy either, which has nothing to do with them: parsing every tunnel poll of hours of
   virtual time was a tenth of a run's CPU. Profile-wide *replies* (Read_Attributes_rsp, Default_Response,
   ...) of all three are also passed to zigpy, so zigpy's own requests still complete.
4. **Keep zigpy from answering replies**: a profile-wide reply (Default Response, Read_Attributes_rsp, ...)
   reaches zigpy with its disable-default-response bit set. zigpy answers a reply that matches none of its
   requests with a Default Response unless the frame disables it, a Default Response included (ZCL forbids
   answering one), so a device that answers every frame would otherwise ping-pong with it for ever.
5. **Suppress zigpy's OTA frames**: an outgoing cluster 0x0019 frame that is a cluster command (Image Notify
   from the join interview, any response) or a profile-wide reply is transmitted only when the suite's CH
   sent it (``send_ota_frame``, ``send_raw_zcl`` or inside ``suite_ota_transmit()``). zigpy may still *ask*
   the OTA client (Read_Attributes); it may never *command or answer* it. Suppressed frames stay in the
   tap with a note, as the stimulus the DUT did not get.

A **frame guard** (``set_guard``: the DUT adapter's ``harness.dut.traffic.TrafficGuard``) sees every frame
first and bounds the work of a scenario: it counts frames both ways, cuts a frame longer than it takes (the
cut frame is recorded and routed nowhere); once the scenario has its verdict from the device's traffic it
mutes the suite's answers (recorded as not sent), and once the device flooded the hub it also drops the
device's frames before anything else sees them (counted, not recorded).

The **reference mode** (``set_mode(GlueMode.REFERENCE)``) keeps only step 2: no tap, no interception, no
suppression, so zigpy's own stack (its OTA server included) sees and answers everything. It exists for
``make bench``, which measures the suite's full path against zigpy's OTA server on the same radio and the
same emulated device; a conformance run never uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import enum
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol

import zigpy.application
import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.radio.frames import (
    HA_PROFILE_ID,
    SE_PROFILE_ID,
    FrameDirection,
    RawFrame,
    is_zcl_reply,
    parse_zcl_header,
    zcl_frame,
)
from harness.zigbee import KEY_ESTABLISHMENT_CLUSTER_ID, TUNNELING_CLUSTER_ID

LOGGER = logging.getLogger(__name__)

OTA_CLUSTER_ID = Ota.cluster_id
#: Clusters whose requests the suite's CH serves itself (module docstring, step 3): OTA Upgrade, Smart Energy
#: Tunneling and Key Establishment; only their profile-wide replies reach zigpy.
CH_SERVED_CLUSTERS = frozenset({OTA_CLUSTER_ID, TUNNELING_CLUSTER_ID, KEY_ESTABLISHMENT_CLUSTER_ID})

#: The coordinator endpoint that carries the SE profile (and the CH's OTA server cluster). zigpy itself
#: registers endpoints 1 (HA), 2 (ZLL) and 242 (Green Power).
SE_ENDPOINT_ID = 3
SE_ENDPOINT_DESCRIPTOR: dict[str, Any] = {
    "endpoint": SE_ENDPOINT_ID,
    "profile": SE_PROFILE_ID,
    "device_type": 0x0500,  # SE Energy Service Interface: the CH's role on the HAN
    "device_version": 0,
    # Basic, Time, OTA server, Smart Energy Tunneling (GBCS), Key Establishment
    "input_clusters": [0x0000, 0x000A, OTA_CLUSTER_ID, 0x0704, 0x0800],
    "output_clusters": [],
}

NOTE_OTA_TO_SERVER = "to OTA server"
NOTE_NO_OTA_SERVER = "no OTA server attached"
NOTE_REPLY_ALSO_TO_ZIGPY = "; reply also passed to zigpy"
NOTE_SUITE_CH = "sent by the suite's CH"
NOTE_SUPPRESSED_IMAGE_NOTIFY = "suppressed: zigpy interview Image Notify"
NOTE_SUPPRESSED_OTHER = "suppressed: zigpy OTA frame the suite's CH did not send"
NOTE_SUPPRESSED_ENDED = "suppressed: the scenario has its verdict (the device's traffic); the suite answers no more"
#: Notes of outgoing frames the glue did not hand to the radio.
SUPPRESSED_NOTES = frozenset({NOTE_SUPPRESSED_IMAGE_NOTIFY, NOTE_SUPPRESSED_OTHER, NOTE_SUPPRESSED_ENDED})
NOTE_CUT = "cut to {kept} of {octets} octets: longer than the hub takes, routed nowhere"

#: Frame-control bit of a ZCL header: the receiver sends no Default Response on success (ZCL 2.4.1.1.4).
DISABLE_DEFAULT_RESPONSE = 0x10

#: (packet as received, its RawFrame). May return an awaitable, which then runs as a task.
OtaHandler = Callable[[t.ZigbeePacket, RawFrame], Awaitable[None] | None]
FrameListener = Callable[[RawFrame], None]


class FrameGuard(Protocol):
    """Bounds a scenario's work (``set_guard``); called for every frame before anything else sees it."""

    def admit(self, packet: t.ZigbeePacket, data: bytes) -> bytes | None:
        """An incoming frame: ``data`` to go on, a shorter prefix of it to record (cut) and route nowhere, or
        None to drop it unseen (counted by the guard)."""
        ...

    def send(self, data: bytes) -> bool:
        """An outgoing frame (counted): False once the scenario has its verdict, so the suite answers the
        device no more (no exchange with a misbehaving device outlives its verdict)."""
        ...


class GlueMode(enum.StrEnum):
    """What the glue does with the frames it sees (see the module docstring)."""

    SUITE = "suite"  # tap, remap, intercept OTA requests, suppress zigpy's OTA frames: the conformance path
    REFERENCE = "reference"  # remap only: zigpy answers everything (the bench's reference)


_SUITE_OTA_TX: contextvars.ContextVar[bool] = contextvars.ContextVar("harness_suite_ota_tx", default=False)


class HarnessAppMixin(zigpy.application.ControllerApplication):
    """Put first in the bases of a radio's ControllerApplication (see ``factory.build_app_class``)."""

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self._frame_listeners: list[FrameListener] = []
        self._ota_handler: OtaHandler | None = None
        self._guard: FrameGuard | None = None
        self._reference = False
        try:
            self._tap_loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._tap_loop = None

    # -- the tap ------------------------------------------------------------------------------------------
    def add_frame_listener(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener(frame)`` for every frame in both directions; returns the function removing it."""
        self._frame_listeners.append(listener)
        return lambda: self._frame_listeners.remove(listener) if listener in self._frame_listeners else None

    def _tap(self, direction: FrameDirection, packet: t.ZigbeePacket, note: str, data: bytes) -> RawFrame:
        loop = self._tap_loop or asyncio.get_running_loop()
        frame = RawFrame.from_packet(direction, packet, loop.time(), note, data)
        for listener in list(self._frame_listeners):
            try:
                listener(frame)
            except Exception:  # a broken recorder must not take the radio down
                LOGGER.exception("frame listener %r failed on %r", listener, frame)
        return frame

    def set_guard(self, guard: FrameGuard | None) -> None:
        """Let ``guard`` see (and bound) every frame first; None removes it."""
        self._guard = guard

    def set_mode(self, mode: GlueMode) -> None:
        """Switch between the suite's path and the remap-only reference path (``make bench``)."""
        self._reference = mode is GlueMode.REFERENCE

    @property
    def mode(self) -> GlueMode:
        return GlueMode.REFERENCE if self._reference else GlueMode.SUITE

    # -- receive path -------------------------------------------------------------------------------------
    def set_ota_handler(self, handler: OtaHandler | None) -> None:
        """Route the DUT's cluster 0x0019 frames to ``handler`` (the suite's OTA server); None detaches it."""
        self._ota_handler = handler

    def packet_received(self, packet: t.ZigbeePacket) -> None:
        """Tap first; then OTA frames go to the suite's server, those of the other clusters the CH serves only
        to the tap (replies of all three also to zigpy), the rest to zigpy."""
        if self._reference:
            if packet.profile_id == SE_PROFILE_ID:
                packet = packet.replace(profile_id=HA_PROFILE_ID)
            super().packet_received(packet)
            return
        data = packet.data.serialize()
        guard = self._guard
        if guard is not None:
            admitted = guard.admit(packet, data)
            if admitted is None:
                return
            if len(admitted) < len(data):
                self._tap(FrameDirection.IN, packet, NOTE_CUT.format(kept=len(admitted), octets=len(data)), admitted)
                return
        is_ota = _is_ota(packet)
        to_zigpy = not _is_ch_served(packet) or _is_reply(data)
        note = ""
        if is_ota:
            note = NOTE_OTA_TO_SERVER if self._ota_handler is not None else NOTE_NO_OTA_SERVER
            note += NOTE_REPLY_ALSO_TO_ZIGPY if to_zigpy else ""
        frame = self._tap(FrameDirection.IN, packet, note, data)

        if is_ota and self._ota_handler is not None:
            self._call_ota_handler(packet, frame)
        if to_zigpy:
            if packet.profile_id == SE_PROFILE_ID:
                packet = packet.replace(profile_id=HA_PROFILE_ID)
            super().packet_received(_reply_disabling_default_response(packet, data))

    def _call_ota_handler(self, packet: t.ZigbeePacket, frame: RawFrame) -> None:
        assert self._ota_handler is not None
        try:
            result = self._ota_handler(packet, frame)
        except Exception:
            LOGGER.exception("OTA handler failed on %r", frame)
            return
        if inspect.isawaitable(result):
            self.create_task(_log_failure(result, frame), name="harness-ota-handler")

    # -- send path ----------------------------------------------------------------------------------------
    @staticmethod
    @contextlib.contextmanager
    def suite_ota_transmit() -> Iterator[None]:
        """Cluster 0x0019 frames sent inside this block are the suite CH's decision: not suppressed.

        A context variable, so it covers the current task only (and tasks it creates), never zigpy's own
        interview task.
        """
        token = _SUITE_OTA_TX.set(True)
        try:
            yield
        finally:
            _SUITE_OTA_TX.reset(token)

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        if self._reference:
            await super().send_packet(packet)
            return
        note, suppressed = "", False
        data = packet.data.serialize()
        if _is_ota(packet):
            if _SUITE_OTA_TX.get():
                note = NOTE_SUITE_CH
            else:
                note = _suppression_note(data)
                suppressed = bool(note)
        if self._guard is not None and not self._guard.send(data) and not suppressed:
            note, suppressed = NOTE_SUPPRESSED_ENDED, True
        self._tap(FrameDirection.OUT, packet, note, data)
        if suppressed:
            return
        await super().send_packet(packet)

    async def send_raw_zcl(
        self,
        device: Device,
        dst_ep: int,
        cluster_id: int,
        data: bytes,
        *,
        profile_id: int | None = None,
        src_ep: int | None = None,
        aps_counter: int | None = None,
    ) -> None:
        """Send ``data`` (ZCL header and payload, malformed if the test wants) as one APS frame.

        The profile defaults to the one the device declared for ``dst_ep`` (0x0109 for an SE device), the
        source endpoint to the coordinator's endpoint for that profile. Always an explicit suite
        decision, so never suppressed.
        """
        if profile_id is None:
            endpoint = device.endpoints.get(dst_ep)
            profile_id = getattr(endpoint, "profile_id", None) or HA_PROFILE_ID
        if src_ep is None:
            src_ep = SE_ENDPOINT_ID if profile_id == SE_PROFILE_ID else 1
        with self.suite_ota_transmit():
            await self.request(
                device,
                profile_id,
                cluster_id,
                src_ep,
                dst_ep,
                self.get_sequence() if aps_counter is None else aps_counter,
                data,
                expect_reply=False,
            )

    async def send_ota_frame(
        self,
        device: Device,
        command: str | int,
        payload: bytes,
        *,
        tsn: int | None = None,
        dst_ep: int | None = None,
        manufacturer: int | None = None,
        disable_default_response: bool = True,
    ) -> bytes:
        """Send an OTA server→client cluster command (e.g. "image_block_response") with ``payload`` as
        already serialised (a zigpy schema's ``serialize()`` or deliberately malformed bytes).

        ``tsn`` should echo the request's; ``dst_ep`` defaults to the endpoint of the device's OTA client
        cluster. Returns the ZCL bytes sent.
        """
        command_id = getattr(Ota.ClientCommandDefs, command).id if isinstance(command, str) else command
        if dst_ep is None:
            dst_ep = ota_client_endpoint(device)
        data = zcl_frame(
            command_id,
            payload,
            tsn=device.get_sequence() if tsn is None else tsn,
            direction=foundation.Direction.Server_to_Client,
            manufacturer=manufacturer,
            disable_default_response=disable_default_response,
        )
        await self.send_raw_zcl(device, dst_ep, OTA_CLUSTER_ID, data)
        return data


def ota_client_endpoint(device: Device) -> int:
    """The endpoint id carrying the device's OTA client cluster (known after the interview)."""
    try:
        return device.find_cluster(OTA_CLUSTER_ID, cluster_type=ClusterType.Client).endpoint.endpoint_id
    except ValueError:
        raise ValueError(f"{device.ieee} declares no OTA client cluster (yet): pass dst_ep explicitly") from None


def _is_ota(packet: t.ZigbeePacket) -> bool:
    return packet.cluster_id == OTA_CLUSTER_ID and packet.src_ep != 0 and packet.dst_ep != 0


def _is_ch_served(packet: t.ZigbeePacket) -> bool:
    return packet.cluster_id in CH_SERVED_CLUSTERS and packet.src_ep != 0 and packet.dst_ep != 0


def _is_reply(data: bytes) -> bool:
    parsed = parse_zcl_header(data)
    return parsed is not None and is_zcl_reply(parsed[0])


def _reply_disabling_default_response(packet: t.ZigbeePacket, data: bytes) -> t.ZigbeePacket:
    """``packet`` as zigpy may see it: a profile-wide reply with its disable-default-response bit set (see the
    module docstring, step 4); any other frame as it is."""
    if not data or data[0] & DISABLE_DEFAULT_RESPONSE or packet.src_ep == 0 or packet.dst_ep == 0:
        return packet
    parsed = parse_zcl_header(data)
    if parsed is None or not is_zcl_reply(parsed[0]):
        return packet
    return packet.replace(data=t.SerializableBytes(bytes([data[0] | DISABLE_DEFAULT_RESPONSE]) + data[1:]))


def _suppression_note(data: bytes) -> str:
    """Empty when zigpy may send this OTA-cluster frame (a profile-wide request), else the reason."""
    parsed = parse_zcl_header(data)
    if parsed is None:
        return NOTE_SUPPRESSED_OTHER
    header = parsed[0]
    if header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND and not is_zcl_reply(header):
        return ""
    if header.frame_control.is_cluster and header.command_id == Ota.ClientCommandDefs.image_notify.id:
        return NOTE_SUPPRESSED_IMAGE_NOTIFY
    return NOTE_SUPPRESSED_OTHER


async def _log_failure(awaitable: Awaitable[None], frame: RawFrame) -> None:
    try:
        await awaitable
    except Exception:
        LOGGER.exception("OTA handler task failed on %r", frame)
