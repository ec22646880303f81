"""The CH's end of the GBCS tunnel: how the suite hands a GBCS APDU to a HAN device and takes one back.

Why one interface (``GbcsTransport``): how GBCS APDUs cross the HAN is [U] (domain digest §11). Scenarios
only say "send this APDU to the device" and "await an APDU from it"; ``ChTunnelEnd`` is today's answer,
the Smart Energy Tunneling cluster (0x0704) used GET / GET-RESPONSE / PUT style as public CH emulators do:

- the device sends RequestTunnel; the CH grants tunnel ``config.tunnel_id`` (0) with status Success and its
  MaxIncomingTransferSize, or refuses an unexpected protocol id / flow control as ZSE says;
- ``send_to_device`` queues an APDU; each GET from the tunnel's owner is answered with one GET-RESPONSE
  (code, count still pending, APDU); a GET with nothing queued gets no TransferData ([I]);
- each PUT lands in the inbox that ``receive(predicate, budget)`` awaits.

It listens on the glue's raw tap (every 0x0704 frame, including those zigpy would drop), decodes with the
one shared decoder (``harness.transcript.decode`` over ``harness.zigbee.tunneling``'s command table), and
answers through ``app.send_raw_zcl`` with profile 0x0109. Strange frames never raise: a TransferData too
short for its tunnel id gets a Default Response MALFORMED_COMMAND (ZCL), an unknown tunnel id a
TransferDataError No_Such_Tunnel, a tunnel of another device Wrong_Device, an oversize one Data_Overflow
(ZSE), and each is recorded in ``events`` (and in the transcript, when one is given).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import zigpy.exceptions
import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import foundation

from harness.clock import Budget, BudgetExpired, Clock, as_budget
from harness.crypto.eui64 import Eui64
from harness.radio.frames import SE_PROFILE_ID, AddressMode, FrameDirection, RawFrame, zcl_frame
from harness.radio.glue import HarnessAppMixin
from harness.transcript import Decoded, Transcript, TranscriptEntry, decode
from harness.zigbee.tunneling import (
    MANUFACTURER_CODE_UNUSED,
    NO_TUNNEL_ID,
    TO_CLIENT,
    TO_SERVER,
    TUNNELING_CLUSTER_ID,
    GbcsData,
    SupportedProtocol,
    TransferDataStatus,
    TunnelConfig,
    TunnelStatus,
    transfer_data_payload,
)

LOGGER = logging.getLogger(__name__)

Status = foundation.Status
GC = foundation.GeneralCommand
#: Which APDU a wait is for: a function of the APDU's octets alone (a wait judges each APDU once).
ApduPredicate = Callable[[bytes], bool]

#: Default wait of ``receive`` when the caller names no budget (the profile's ``budgets.gbcs_response``).
DEFAULT_RECEIVE_BUDGET = Budget("GBCS APDU from the device", 60)
DELIVERY_ERRORS: tuple[type[BaseException], ...] = (zigpy.exceptions.ZigbeeException, TimeoutError)


@runtime_checkable
class GbcsTransport(Protocol):
    """How scenarios exchange GBCS APDUs with the device, whatever carries them."""

    async def send_to_device(self, apdu: bytes) -> None:
        """Hand ``apdu`` to the transport for the device (it may be fetched later: sleepy devices)."""
        ...

    async def receive(self, predicate: ApduPredicate | None = None, budget: Budget | float | None = None) -> bytes:
        """The first APDU from the device matching ``predicate`` (consumed); BudgetExpired when none came."""
        ...


@dataclass(frozen=True, slots=True)
class Tunnel:
    """One granted tunnel: who owns it and what the device said it can take."""

    tunnel_id: int
    ieee: str  # GBCS dashed EUI-64
    nwk: int
    endpoint: int
    protocol_id: int
    device_max_incoming: int


@dataclass(frozen=True, slots=True)
class ReceivedApdu:
    """An APDU the device PUT, with when and through which frame (evidence for reports)."""

    apdu: bytes
    time: float
    tunnel_id: int
    frame: RawFrame


@dataclass(frozen=True, slots=True)
class FetchedApdu:
    """An APDU the device fetched: the GET that asked for it and the GET-RESPONSE that carried it.

    Why: a device that polls the tunnel with GET every N seconds gets a command up to N seconds after the CH
    queued it, so a response budget must run from ``time`` (when the command left in the GET-RESPONSE), not
    from when the suite queued it. ``get_index`` / ``response_index`` point at the transcript entries (None
    without a transcript, or when the tap did not record the frame).
    """

    apdu: bytes
    time: float
    get_time: float
    get_index: int | None
    response_index: int | None


@dataclass(frozen=True, slots=True)
class TunnelEvent:
    """Something the CH end noticed or decided: a grant, a delivery, an anomaly and how it answered."""

    time: float
    kind: str  # "granted" | "refused" | "delivered" | "received" | "anomaly" | "closed" | "ignored" | "error"
    note: str
    frame: RawFrame | None = None


class ChTunnelEnd:
    """The CH as Tunneling server on ``app``; the ``GbcsTransport`` of the device ``dut_eui64``.

    Without ``dut_eui64`` the first device granted a tunnel is the device this transport serves.
    """

    def __init__(
        self,
        app: HarnessAppMixin,
        clock: Clock,
        config: TunnelConfig | None = None,
        *,
        transcript: Transcript | None = None,
        dut_eui64: Eui64 | str | None = None,
        receive_budget: Budget = DEFAULT_RECEIVE_BUDGET,
    ) -> None:
        self.app = app
        self.clock = clock
        self.config = config or TunnelConfig()
        self.transcript = transcript
        self.dut: str | None = None if dut_eui64 is None else Eui64.parse(dut_eui64).dashed
        self.receive_budget = receive_budget
        self.tunnels: dict[int, Tunnel] = {}
        #: APDUs waiting for the device's GET, oldest first.
        self.outbox: deque[bytes] = deque()
        #: Every APDU delivered in a GET-RESPONSE, in order; ``fetches`` adds when and through which frames.
        self.delivered: list[bytes] = []
        self.fetches: list[FetchedApdu] = []
        #: Every APDU the device PUT, in order (``receive`` consumes from ``inbox`` only).
        self.received: list[ReceivedApdu] = []
        self.inbox: list[ReceivedApdu] = []
        self.events: list[TunnelEvent] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._remove_listener: Callable[[], None] | None = app.add_frame_listener(self._on_frame)

    # -- GbcsTransport -----------------------------------------------------------------------------------
    async def send_to_device(self, apdu: bytes) -> None:
        """Queue ``apdu`` for the device's next GET. Refuses (ValueError) what could never fit the
        device's MaxIncomingTransferSize once it is known: that is a test-authoring error."""
        tunnel = self.dut_tunnel
        room = None if tunnel is None else tunnel.device_max_incoming - 2  # code + pending count
        if room is not None and len(apdu) > room:
            raise ValueError(f"APDU of {len(apdu)} octets exceeds the device's room of {room} per TransferData")
        self.outbox.append(bytes(apdu))

    async def receive(self, predicate: ApduPredicate | None = None, budget: Budget | float | None = None) -> bytes:
        found = await self.receive_record(predicate, budget)
        return found.apdu

    async def receive_record(
        self, predicate: ApduPredicate | None = None, budget: Budget | float | None = None
    ) -> ReceivedApdu:
        """Like ``receive`` but with the evidence (time, tunnel, frame).

        ``predicate`` is a function of the APDU's octets alone, so each APDU is judged once: the wait looks
        again at every frame, and decoding every APDU waiting in the inbox each time was half of a long run's
        CPU (an HCALCS's alerts waiting while it polled the tunnel for hours)."""
        budget = self.receive_budget if budget is None else as_budget(budget, "GBCS APDU")
        judged: dict[bytes, bool] = {}

        def matches(apdu: bytes) -> bool:
            if predicate is None:
                return True
            if apdu not in judged:
                judged[apdu] = predicate(apdu)
            return judged[apdu]

        def match() -> ReceivedApdu | None:
            return next((r for r in self.inbox if matches(r.apdu)), None)

        if not await self.clock.run_until(lambda: match() is not None, budget):
            raise BudgetExpired(budget, "a GBCS APDU from the device through the tunnel")
        found = match()
        assert found is not None
        self.inbox.remove(found)
        return found

    # -- state -------------------------------------------------------------------------------------------
    @property
    def dut_tunnel(self) -> Tunnel | None:
        return next((tun for tun in self.tunnels.values() if tun.ieee == self.dut), None)

    @property
    def granted(self) -> bool:
        return self.dut_tunnel is not None

    async def wait_granted(self, budget: Budget | float) -> Tunnel:
        if not await self.clock.run_until(lambda: self.granted, as_budget(budget, "tunnel request")):
            raise BudgetExpired(as_budget(budget, "tunnel request"), "the device to be granted a tunnel")
        assert self.dut_tunnel is not None
        return self.dut_tunnel

    def fetch_of(self, apdu: bytes, since: int = 0) -> FetchedApdu | None:
        """The first fetch of ``apdu`` among ``fetches[since:]`` (None: the device has not fetched it)."""
        return next((f for f in self.fetches[since:] if f.apdu == apdu), None)

    async def wait_fetched(self, apdu: bytes, budget: Budget | float, since: int = 0) -> FetchedApdu | None:
        """Let time run until the device fetched ``apdu`` (a GET answered with it), at most ``budget``."""
        await self.clock.run_until(lambda: self.fetch_of(apdu, since) is not None, as_budget(budget, "fetch"))
        return self.fetch_of(apdu, since)

    async def wait_delivered(self, count: int, budget: Budget | float) -> bool:
        """Let time run until ``count`` APDUs in all went out in GET-RESPONSEs (False if the budget ran out)."""
        return await self.clock.run_until(lambda: len(self.delivered) >= count, as_budget(budget, "delivery"))

    def stop(self) -> None:
        """Stop listening and cancel sends in flight (idempotent)."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        for task in list(self._tasks):
            task.cancel()

    # -- receive path ------------------------------------------------------------------------------------
    def _on_frame(self, frame: RawFrame) -> None:
        """The tap listener: only tunnel frames from a device to the CH; never raises into the glue."""
        if frame.direction is not FrameDirection.IN or frame.cluster_id != TUNNELING_CLUSTER_ID or frame.is_zdo:
            return
        try:
            self._handle(frame)
        except Exception as err:  # a harness bug must not take the radio down; it is evidence too
            LOGGER.exception("tunnel end failed on %r", frame)
            self._event("error", f"CH tunnel end failed: {err!r}", frame)

    def _handle(self, frame: RawFrame) -> None:
        decoded = decode(frame)
        header, zcl = decoded.header, decoded.zcl
        if header is None or zcl is None:
            self._event("anomaly", "ignored: too short for a ZCL header; nothing to answer", frame)
            return
        if zcl.frame_type != "cluster":
            return  # profile-wide: Default Responses to our frames, attribute reads (zigpy's business)
        if not zcl.client_to_server:
            self._event("anomaly", f"ignored: server-to-client {decoded.command} sent to the CH", frame)
            return
        if frame.dst.mode in (AddressMode.BROADCAST, AddressMode.GROUP):
            self._event("anomaly", f"ignored: {decoded.command} broadcast (tunnels are unicast)", frame)
            return
        device = self._device(frame)
        if device is None:
            self._event("ignored", f"ignored: sender {frame.src} is unknown to zigpy (not joined)", frame)
            return
        if zcl.manufacturer_specific:
            self._default_response(device, frame, header, Status.UNSUP_MANUF_CLUSTER_COMMAND)
        elif decoded.command_id not in _HANDLERS:
            self._default_response(device, frame, header, Status.UNSUP_CLUSTER_COMMAND)
        elif decoded.malformed:
            self._event("anomaly", f"malformed {decoded.command}: {decoded.error}", frame)
            self._default_response(device, frame, header, Status.MALFORMED_COMMAND)
        else:
            _HANDLERS[decoded.command_id](self, device, frame, decoded)

    def _on_request_tunnel(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        request = decoded.parsed
        ieee = _dashed(device)
        status = TunnelStatus.Success
        if int(request.protocol_id) != self.config.protocol_id:
            status = TunnelStatus.Protocol_Not_Supported
        elif request.flow_control_support:
            status = TunnelStatus.Flow_Control_Not_Supported
        tunnel_id = NO_TUNNEL_ID
        if status is TunnelStatus.Success:
            tunnel_id = self._allocate(ieee)
            if tunnel_id is None:
                status = TunnelStatus.No_More_Tunnel_IDs
                tunnel_id = NO_TUNNEL_ID
            else:
                self.tunnels[tunnel_id] = Tunnel(
                    tunnel_id,
                    ieee,
                    int(device.nwk),
                    int(frame.src.endpoint or 0),
                    int(request.protocol_id),
                    int(request.max_incoming_transfer_size),
                )
                if self.dut is None:
                    self.dut = ieee
        kind = "granted" if status is TunnelStatus.Success else "refused"
        note = f"RequestTunnel {kind}: tunnel {tunnel_id}, {status.name}"
        self._event(kind, note, frame)
        body = TO_CLIENT.request_tunnel_response.schema(
            tunnel_id=tunnel_id, status=status, max_incoming_transfer_size=self.config.max_incoming_transfer_size
        )
        self._reply(device, frame, TO_CLIENT.request_tunnel_response.id, body.serialize(), note)

    def _on_transfer_data(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        tunnel_id, data = int(decoded.parsed.tunnel_id), bytes(decoded.parsed.data)
        tunnel = self.tunnels.get(tunnel_id)
        error: TransferDataStatus | None = None
        if tunnel is None:
            error = TransferDataStatus.No_Such_Tunnel
        elif tunnel.ieee != _dashed(device):
            error = TransferDataStatus.Wrong_Device
        elif len(data) > self.config.max_incoming_transfer_size:
            error = TransferDataStatus.Data_Overflow
        if error is not None:
            note = f"TransferData on tunnel {tunnel_id} ({len(data)} octets): {error.name}"
            self._event("anomaly", note, frame)
            body = TO_CLIENT.transfer_data_error.schema(tunnel_id=tunnel_id, status=error)
            self._reply(device, frame, TO_CLIENT.transfer_data_error.id, body.serialize(), note)
            return
        assert tunnel is not None
        gbcs = GbcsData.parse(data, self.config)
        header = decoded.header
        assert header is not None
        if gbcs.kind == "get":
            self._serve_get(device, frame, tunnel)
            return
        if gbcs.kind == "put":
            record = ReceivedApdu(gbcs.apdu, self.clock.now(), tunnel_id, frame)
            self.received.append(record)
            self.inbox.append(record)
            self._event("received", f"PUT of {len(gbcs.apdu)} octets on tunnel {tunnel_id}", frame)
            self.clock.notify()
        else:
            self._event("anomaly", f"TransferData with {gbcs.kind} GBCS code {gbcs.code}: not a GET or PUT", frame)
        self._default_response(device, frame, header, Status.SUCCESS)

    def _serve_get(self, device: Device, frame: RawFrame, tunnel: Tunnel) -> None:
        if tunnel.ieee != self.dut or not self.outbox:
            self._event("ignored", f"GET on tunnel {tunnel.tunnel_id}: nothing pending, no TransferData", frame)
            return
        apdu = self.outbox.popleft()
        data = self.config.get_response(len(self.outbox), apdu)
        note = f"GET-RESPONSE on tunnel {tunnel.tunnel_id}: {len(apdu)} octets, {len(self.outbox)} still pending"
        payload = transfer_data_payload(tunnel.tunnel_id, data)
        get_time, get_entry = self.clock.now(), None if self.transcript is None else self.transcript.entry_for(frame)
        transcript, response_mark = self.transcript, None if self.transcript is None else self.transcript.mark()

        def delivered() -> None:
            response = None if transcript is None else _sent_entry(transcript, response_mark, note)
            self.delivered.append(apdu)
            self.fetches.append(
                FetchedApdu(
                    apdu,
                    self.clock.now(),
                    get_time,
                    None if get_entry is None else get_entry.index,
                    None if response is None else response.index,
                )
            )
            self._event("delivered", note, frame)
            self.clock.notify()

        def undelivered() -> None:
            self.outbox.appendleft(apdu)  # a real CH keeps it for the next GET

        self._send(
            device,
            frame,
            TO_CLIENT.transfer_data.id,
            payload,
            note,
            tsn=device.get_sequence(),
            on_sent=delivered,
            on_error=undelivered,
        )

    def _on_close_tunnel(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        tunnel_id = int(decoded.parsed.tunnel_id)
        tunnel = self.tunnels.get(tunnel_id)
        header = decoded.header
        assert header is not None
        if tunnel is None or tunnel.ieee != _dashed(device):
            self._event("anomaly", f"CloseTunnel for tunnel {tunnel_id} this device does not own", frame)
            self._default_response(device, frame, header, Status.NOT_FOUND)
            return
        del self.tunnels[tunnel_id]
        self._event("closed", f"tunnel {tunnel_id} closed by the device", frame)
        self._default_response(device, frame, header, Status.SUCCESS)

    def _on_transfer_data_error(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        parsed = decoded.parsed
        self._event(
            "anomaly", f"device reports TransferDataError {parsed.status!s} on tunnel {parsed.tunnel_id}", frame
        )
        assert decoded.header is not None
        self._default_response(device, frame, decoded.header, Status.SUCCESS)

    def _on_get_supported_protocols(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        protocols = [SupportedProtocol(manufacturer_code=MANUFACTURER_CODE_UNUSED, protocol_id=self.config.protocol_id)]
        offset = int(decoded.parsed.protocol_offset)
        body = TO_CLIENT.supported_tunnel_protocols_response.schema(
            protocol_list_complete=True, protocols=protocols[offset:]
        )
        note = f"supported protocols from offset {offset}: {[int(p.protocol_id) for p in protocols[offset:]]}"
        self._reply(device, frame, TO_CLIENT.supported_tunnel_protocols_response.id, body.serialize(), note)

    def _on_flow_control(self, device: Device, frame: RawFrame, decoded: Decoded) -> None:
        assert decoded.header is not None
        self._event("anomaly", f"{decoded.command}: flow control was never granted", frame)
        self._default_response(device, frame, decoded.header, Status.UNSUP_CLUSTER_COMMAND)

    # -- helpers -----------------------------------------------------------------------------------------
    def _allocate(self, ieee: str) -> int | None:
        """The device's existing tunnel (a re-request after a rejoin), else the first free id."""
        for tunnel in self.tunnels.values():
            if tunnel.ieee == ieee:
                return tunnel.tunnel_id
        for tunnel_id in range(self.config.tunnel_id, NO_TUNNEL_ID):
            if tunnel_id not in self.tunnels:
                return tunnel_id
        return None

    def _device(self, frame: RawFrame) -> Device | None:
        src = frame.src
        try:
            if src.mode is AddressMode.NWK and isinstance(src.address, int):
                return self.app.get_device(nwk=t.NWK(src.address))
            if src.mode is AddressMode.IEEE and isinstance(src.address, str):
                return self.app.get_device(ieee=t.EUI64.convert(src.address))
        except KeyError:
            return None
        return None

    def _event(self, kind: str, note: str, frame: RawFrame | None = None) -> None:
        self.events.append(TunnelEvent(self.clock.now(), kind, note, frame))
        if self.transcript is not None and kind in ("anomaly", "ignored", "refused", "error"):
            entry = None if frame is None else self.transcript.entry_for(frame)
            self.transcript.record_decision(
                f"tunnel: {note}", in_reply_to=None if entry is None else entry.index, command=""
            )

    def _default_response(self, device: Device, frame: RawFrame, header: foundation.ZCLHeader, status: Status) -> None:
        """ZCL: errors always, success only when the device did not disable it."""
        if status == Status.SUCCESS and header.frame_control.disable_default_response:
            return
        body = foundation.GENERAL_COMMANDS[GC.Default_Response].schema(command_id=header.command_id, status=status)
        self._send(
            device,
            frame,
            GC.Default_Response,
            body.serialize(),
            f"Default Response {status.name} to command 0x{header.command_id:02X}",
            tsn=header.tsn,
            cluster_specific=False,
        )

    def _reply(self, device: Device, frame: RawFrame, command_id: int, payload: bytes, note: str) -> None:
        header = frame.zcl_header()
        assert header is not None
        self._send(device, frame, command_id, payload, note, tsn=header.tsn)

    def _send(
        self,
        device: Device,
        frame: RawFrame,
        command_id: int,
        payload: bytes,
        note: str,
        *,
        tsn: int,
        cluster_specific: bool = True,
        on_sent: Callable[[], None] | None = None,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        """Send server→client to the frame's source endpoint in a task of its own (the tap is synchronous)."""
        data = zcl_frame(
            command_id,
            payload,
            tsn=tsn,
            direction=foundation.Direction.Server_to_Client,
            cluster_specific=cluster_specific,
            disable_default_response=True,
        )
        endpoint = int(frame.src.endpoint or 0)
        entry = None if self.transcript is None else self.transcript.entry_for(frame)

        async def send() -> None:
            await self.app.send_raw_zcl(device, endpoint, TUNNELING_CLUSTER_ID, data, profile_id=SE_PROFILE_ID)

        task = self.clock.loop.create_task(
            self._run_send(send(), note, None if entry is None else entry.index, on_sent, on_error),
            name="harness-ch-tunnel-send",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_send(
        self,
        send: Awaitable[None],
        note: str,
        in_reply_to: int | None,
        on_sent: Callable[[], None] | None,
        on_error: Callable[[], None] | None,
    ) -> None:
        try:
            if self.transcript is not None:
                with self.transcript.attribute(f"tunnel: {note}", in_reply_to=in_reply_to) as attribution:
                    try:
                        await send
                    except DELIVERY_ERRORS as err:
                        self.transcript.mark_undelivered(attribution, str(err))
                        raise
            else:
                await send
        except DELIVERY_ERRORS as err:
            self._event("error", f"not delivered ({err}): {note}")
            if on_error is not None:
                on_error()
            return
        if on_sent is not None:
            on_sent()


_Handler = Callable[[ChTunnelEnd, Device, RawFrame, Decoded], None]
_HANDLERS: dict[int, _Handler] = {
    TO_SERVER.request_tunnel.id: ChTunnelEnd._on_request_tunnel,
    TO_SERVER.close_tunnel.id: ChTunnelEnd._on_close_tunnel,
    TO_SERVER.transfer_data.id: ChTunnelEnd._on_transfer_data,
    TO_SERVER.transfer_data_error.id: ChTunnelEnd._on_transfer_data_error,
    TO_SERVER.ack_transfer_data.id: ChTunnelEnd._on_flow_control,
    TO_SERVER.ready_data.id: ChTunnelEnd._on_flow_control,
    TO_SERVER.get_supported_tunnel_protocols.id: ChTunnelEnd._on_get_supported_protocols,
}


def _sent_entry(transcript: Transcript, since: int | None, note: str) -> TranscriptEntry | None:
    """The transcript entry of the frame the CH sent with decision ``tunnel: {note}`` (from ``since``)."""
    return next((e for e in transcript.since(since) if e.is_frame and e.decision == f"tunnel: {note}"), None)


def _dashed(device: Device) -> str:
    return Eui64.parse(str(device.ieee)).dashed


__all__ = [
    "ChTunnelEnd",
    "FetchedApdu",
    "GbcsTransport",
    "ReceivedApdu",
    "Tunnel",
    "TunnelEvent",
]
