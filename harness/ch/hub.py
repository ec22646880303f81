"""The suite's Communications Hub on the radio: the OTA server's decisions, sent and recorded.

Why a hub between the glue and ``OtaServer``: ``OtaServer`` decides (transport-agnostic, unit-tested);
something must turn the DUT's frames into its inputs and its ``Decision``s into frames, on any radio, and
leave evidence of each step. The hub:

- registers itself as the glue's OTA handler, so every cluster 0x0019 frame from the DUT reaches it before
  zigpy (zigpy's own Ota cluster never answers);
- reads the request from the transcript entry the tap just recorded (one decoder, ``harness.transcript``);
  an unparsable request is answered as a real CH would, with a Default Response MALFORMED_COMMAND (a
  request it does not know with UNSUP_CLUSTER_COMMAND), and both are recorded;
- asks the ``OtaServer`` for the ``Decision`` and sends it with ``app.send_ota_frame`` echoing the
  request's TSN, inside ``Transcript.attribute(decision.note)`` so the frame carries its reason; every send
  is its own task, so a delayed response (``decision.delay_s`` on the clock) never holds up another frame,
  and an Image Page Request's responses go out ``ResponseSpacing`` apart;
- records decisions that send nothing (dropped, ignored) as decision entries;
- offers the CH's own stimuli: ``notify_image`` (unicast or broadcast), an unsolicited Upgrade End Response
  ("upgrade now"), and raw frames that are malformed on purpose;
- keeps full garbage collections away while a transfer runs (``harness.perf.gc_policy``): postponed from
  the first block (or page) request to the Upgrade End Request, or until the hub is reset or stopped.

Nothing here knows which radio it runs on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import zigpy.exceptions
import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Activation, Decision, HeldImage, OtaServer, Rule
from harness.clock import Budget, Clock
from harness.crypto.eui64 import Eui64
from harness.perf import gc_policy
from harness.radio.frames import SE_PROFILE_ID, AddressMode, RawFrame, is_zcl_reply, zcl_frame
from harness.radio.glue import OTA_CLUSTER_ID, SE_ENDPOINT_ID, HarnessAppMixin, ota_client_endpoint
from harness.transcript import Direction, Transcript, TranscriptEntry, decode
from harness.verdicts import LabError, no_verdict_message

LOGGER = logging.getLogger(__name__)

Status = foundation.Status
GC = foundation.GeneralCommand
REQUESTS = Ota.ServerCommandDefs
BROADCAST_ENDPOINT = 0xFF

#: Request command id -> the OtaServer counter / rule kind it belongs to.
_KINDS: dict[int, str] = {
    REQUESTS.query_next_image.id: "query",
    REQUESTS.image_block.id: "block",
    REQUESTS.image_page.id: "page",
    REQUESTS.upgrade_end.id: "end",
    REQUESTS.query_specific_file.id: "specific",
}

#: What the radio may raise when a frame cannot be delivered (the DUT powered off, out of range).
DELIVERY_ERRORS: tuple[type[BaseException], ...] = (zigpy.exceptions.ZigbeeException, TimeoutError)

Send = Callable[[], Awaitable[Any]]


class CommunicationsHub:
    """The CH as OTA server on ``app``: answers the DUT through ``OtaServer`` and records why."""

    def __init__(
        self,
        app: HarnessAppMixin,
        clock: Clock,
        transcript: Transcript,
        *,
        dut_eui64: Eui64 | str | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.transcript = transcript
        self.dut_eui64 = None if dut_eui64 is None else Eui64.parse(dut_eui64)
        self.server = OtaServer(utc_now=clock.zigbee_utc)
        #: Harness problems met while answering (a rule that cannot apply, ...): evidence for an ERROR.
        self.errors: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._active = True
        self._in_transfer = False  # full garbage collections postponed (see _transfer_running)
        self._idents: dict[Device, str] = {}  # zigpy Device -> canonical EUI-64 hex (OtaServer's key)
        app.set_ota_handler(self._on_ota)

    # -- programming (the scenario's Given steps) --------------------------------------------------------
    def hold(self, image: HeldImage) -> None:
        """Hold ``image`` for distribution (PZ-05): Query Next Image Requests for its identity get it."""
        self.server.hold(image)

    def discard_all(self) -> None:
        self.server.discard_all()

    def program(self, kind: str, rule: Rule) -> None:
        """Program a deviation for "query", "block", "page" or "end" requests (``harness.ch.ota_server``)."""
        self.server.program(kind, rule)

    def reset(self, transcript: Transcript | None = None) -> None:
        """A fresh OTA server (no images, rules, counters) for a new scenario; pending sends are cancelled."""
        self._cancel_pending()
        self._transfer_running(False)
        self.server = OtaServer(utc_now=self.clock.zigbee_utc)
        self.errors = []
        if transcript is not None:
            self.transcript = transcript

    def stop(self) -> None:
        """Detach from the glue and cancel scheduled sends (idempotent)."""
        if self._active:
            self._active = False
            self.app.set_ota_handler(None)
        self._cancel_pending()
        self._transfer_running(False)

    @property
    def pending(self) -> int:
        """Sends scheduled and not finished yet (delayed responses, page responses)."""
        return len(self._tasks)

    async def drain(self, budget: Budget | float) -> bool:
        """Let time run until every scheduled send went out (True) or ``budget`` expired (False)."""
        return await self.clock.run_until(lambda: not self._tasks, budget)

    # -- the CH's own stimuli -----------------------------------------------------------------------------
    async def notify_image(
        self,
        *,
        unicast: bool = True,
        payload_type: int = 3,
        jitter: int = 100,
        image: HeldImage | None = None,
        **overrides: Any,
    ) -> TranscriptEntry | None:
        """Send Image Notify, unicast to the DUT or broadcast to 0xFFFF; returns its transcript entry.

        ``image`` defaults to the image held last; ``overrides`` replace payload fields (a wrong identity).
        """
        decision = self.server.image_notify(
            image or self._last_image(), payload_type=payload_type, jitter=jitter, **overrides
        )
        if unicast:
            device = self._dut_device()
            return await self._send_now(
                f"{decision.note}, unicast",
                lambda: self.app.send_ota_frame(device, "image_notify", decision.payload()),
            )
        return await self._send_now(f"{decision.note}, broadcast 0xFFFF", lambda: self._broadcast(decision))

    async def send_upgrade_end_response(
        self,
        activation: Activation = Activation.NOW,
        delay: int = 0,
        *,
        image: HeldImage | None = None,
        **identity: Any,
    ) -> TranscriptEntry | None:
        """An unsolicited Upgrade End Response (the server's "upgrade now"); ``identity`` overrides fields."""
        held = image or self._last_image()
        if held is None:
            raise ValueError("send_upgrade_end_response needs a held image (hold one first or pass image=)")
        decision = self.server.upgrade_end_response(held, activation, delay, note_prefix="unsolicited", **identity)
        device = self._dut_device()
        return await self._send_now(
            decision.note, lambda: self.app.send_ota_frame(device, "upgrade_end_response", decision.payload())
        )

    async def send_raw(
        self,
        command: str | int,
        payload: bytes,
        *,
        note: str = "",
        tsn: int | None = None,
        manufacturer: int | None = None,
    ) -> TranscriptEntry | None:
        """An OTA server→client ``command`` with ``payload`` bytes as given (malformed on purpose)."""
        device = self._dut_device()
        label = command if isinstance(command, str) else f"0x{command:02X}"
        return await self._send_now(
            note or f"injected fault: raw {label} payload {payload.hex() or '(empty)'} (malformed on purpose)",
            lambda: self.app.send_ota_frame(device, command, payload, tsn=tsn, manufacturer=manufacturer),
        )

    async def send_raw_frame(self, data: bytes, *, note: str = "") -> TranscriptEntry | None:
        """Whole ZCL bytes (header included, possibly truncated) to the DUT's OTA client endpoint."""
        device = self._dut_device()
        endpoint = ota_client_endpoint(device)
        return await self._send_now(
            note or f"injected fault: raw ZCL frame {data.hex() or '(empty)'} (malformed on purpose)",
            lambda: self.app.send_raw_zcl(device, endpoint, OTA_CLUSTER_ID, data),
        )

    # -- the DUT's requests --------------------------------------------------------------------------------
    def _on_ota(self, packet: t.ZigbeePacket, frame: RawFrame) -> None:
        """The glue's OTA handler: decide now (so rules count requests in arrival order), send in tasks."""
        if not self._active:
            return
        transcript = self.transcript
        entry = transcript.entry_for(frame)
        decoded = entry.decoded if entry is not None and entry.decoded is not None else decode(frame)
        index = None if entry is None else entry.index
        header, zcl, command = decoded.header, decoded.zcl, decoded.command

        def ignore(why: str) -> None:
            direction = entry.direction if entry is not None else Direction.OTHER
            transcript.record_decision(f"ignored: {why}", in_reply_to=index, direction=direction)

        if not self._addressed_to_ch(frame):
            ignore(f"addressed to {frame.dst}, not to the CH")
            return
        if header is None or zcl is None:
            ignore("too short for a ZCL header; nothing to answer")
            return
        if zcl.frame_type != "cluster":
            if not is_zcl_reply(header):  # replies go on to zigpy (its attribute reads)
                ignore(f"profile-wide {command} to the OTA server is not modelled")
            return
        if not zcl.client_to_server:
            ignore(f"{command} is a server-to-client command")
            return
        device = self._device(packet)
        if device is None:
            ignore(f"sender {frame.src} is unknown to zigpy (not joined)")
            return
        broadcast = frame.dst.mode in (AddressMode.BROADCAST, AddressMode.GROUP)
        kind = _KINDS.get(header.command_id)
        status: Status | None = None
        if zcl.manufacturer_specific:
            status = Status.UNSUP_MANUF_CLUSTER_COMMAND
        elif kind is None:
            status = Status.UNSUP_CLUSTER_COMMAND
        elif decoded.malformed:
            status = Status.MALFORMED_COMMAND
        if status is not None:
            self._answer_status(device, header, status, command, packet.src_ep, index, broadcast)
            return
        if kind in ("block", "page", "end"):
            self._transfer_running(kind != "end")
        ident = self._idents.get(device)
        if ident is None:
            ident = self._idents[device] = Eui64.parse(str(device.ieee)).hex
        try:
            decisions = self._decide(kind, ident, decoded.parsed)
        except Exception as err:  # a rule that cannot apply here: the harness's problem, not the DUT's
            self.errors.append(f"{command}: {err}")
            transcript.record_decision(f"CH error: {err}", in_reply_to=index)
            LOGGER.warning("OTA server could not decide on %s: %s", command, err)
            return
        for decision in decisions:
            self._dispatch(decision, device, header.tsn, packet.src_ep, index)

    def _decide(self, kind: str, ident: str, request: Any) -> list[Decision]:
        server = self.server
        if kind == "query":
            return [server.on_query(ident, request)]
        if kind == "block":
            return [server.on_block(ident, request)]
        if kind == "page":
            return server.on_page(ident, request)
        if kind == "end":
            return [server.on_upgrade_end(ident, request)]
        return [
            Decision(
                "query_specific_file_response",
                "served: NO_IMAGE_AVAILABLE, the CH holds no device-specific files",
                Ota.ClientCommandDefs.query_specific_file_response.schema(status=Status.NO_IMAGE_AVAILABLE),
            )
        ]

    def _dispatch(self, decision: Decision, device: Device, tsn: int, dst_ep: int, index: int | None) -> None:
        if not decision.sends:
            self.transcript.record_decision(decision.note, in_reply_to=index)
            return
        note = decision.note + (" (malformed on purpose)" if decision.malformed else "")
        command = decision.command
        assert command is not None

        async def send() -> None:
            await self.app.send_ota_frame(device, command, decision.payload(), tsn=tsn, dst_ep=dst_ep)

        self._spawn(note, send, in_reply_to=index, delay_s=decision.delay_s, command=command)

    def _answer_status(
        self,
        device: Device,
        request: foundation.ZCLHeader,
        status: Status,
        command: str,
        dst_ep: int,
        index: int | None,
        broadcast: bool,
    ) -> None:
        """A Default Response carrying an error status (ZCL: never in answer to a broadcast)."""
        what = command or f"command 0x{request.command_id:02X}"
        if broadcast:
            self.transcript.record_decision(
                f"not answered: {status.name} for broadcast {what} (no Default Response to broadcasts)",
                in_reply_to=index,
            )
            return
        body = foundation.GENERAL_COMMANDS[GC.Default_Response].schema(command_id=request.command_id, status=status)
        data = zcl_frame(
            GC.Default_Response,
            body.serialize(),
            tsn=request.tsn,
            direction=foundation.Direction.Server_to_Client,
            cluster_specific=False,
            manufacturer=request.manufacturer,
            disable_default_response=True,
        )
        self._spawn(
            f"served: Default Response {status.name} to {what}",
            lambda: self.app.send_raw_zcl(device, dst_ep, OTA_CLUSTER_ID, data),
            in_reply_to=index,
            command="Default_Response",
        )

    # -- sending -------------------------------------------------------------------------------------------
    def _spawn(
        self, note: str, send: Send, *, in_reply_to: int | None, delay_s: float = 0.0, command: str = ""
    ) -> None:
        """Send in a task of its own (after ``delay_s``), so no send waits for another."""
        transcript = self.transcript
        if delay_s > 0:
            transcript.record_decision(
                f"scheduled: {note}; sends at +{self.clock.now() + delay_s:.3f} s",
                in_reply_to=in_reply_to,
                command=command,
            )
        task = self.clock.loop.create_task(
            self._send_later(transcript, note, send, in_reply_to, delay_s, command), name="harness-ch-send"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_later(
        self,
        transcript: Transcript,
        note: str,
        send: Send,
        in_reply_to: int | None,
        delay_s: float,
        command: str,
    ) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        try:
            await self._attributed(transcript, note, send, in_reply_to, command)
        except Exception as err:  # the decision itself cannot be sent (bad raw payload, ...)
            self.errors.append(f"{note}: {err}")
            transcript.record_decision(f"CH error, not sent: {note}: {err}", in_reply_to=in_reply_to)
            LOGGER.warning("CH send failed: %s: %s", note, err)

    async def _send_now(self, note: str, send: Send) -> TranscriptEntry | None:
        """An unsolicited send, awaited by the caller; returns the frame's entry."""
        return await self._attributed(self.transcript, note, send, None, "")

    async def _attributed(
        self, transcript: Transcript, note: str, send: Send, in_reply_to: int | None, command: str
    ) -> TranscriptEntry | None:
        with transcript.attribute(note, by="CH", in_reply_to=in_reply_to) as attribution:
            try:
                await send()
            except DELIVERY_ERRORS as err:
                problem = f"{type(err).__name__}: {err}"
                transcript.mark_undelivered(attribution, problem)
                if not attribution.entries:
                    transcript.record_decision(
                        f"not delivered ({problem}): {note}", in_reply_to=in_reply_to, command=command
                    )
        return attribution.entries[-1] if attribution.entries else None

    async def _broadcast(self, decision: Decision) -> None:
        assert decision.command is not None
        command_id = getattr(Ota.ClientCommandDefs, decision.command).id
        sequence = self.app.get_sequence()
        data = zcl_frame(
            command_id,
            decision.payload(),
            tsn=sequence,
            direction=foundation.Direction.Server_to_Client,
            disable_default_response=True,
        )
        with self.app.suite_ota_transmit():
            await self.app.broadcast(
                SE_PROFILE_ID,
                OTA_CLUSTER_ID,
                SE_ENDPOINT_ID,
                BROADCAST_ENDPOINT,
                0,
                0,
                sequence,
                data,
                broadcast_address=t.BroadcastAddress.ALL_DEVICES,
            )

    def _transfer_running(self, running: bool) -> None:
        """Postpone full garbage collections while a transfer runs (their pauses would delay blocks)."""
        if running and not self._in_transfer:
            gc_policy.postpone_full_collections()
        elif not running and self._in_transfer:
            gc_policy.resume_full_collections()
        self._in_transfer = running

    def _cancel_pending(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    # -- lookups -------------------------------------------------------------------------------------------
    def _last_image(self) -> HeldImage | None:
        return self.server.images[-1] if self.server.images else None

    def _addressed_to_ch(self, frame: RawFrame) -> bool:
        dst = frame.dst
        if dst.mode in (AddressMode.BROADCAST, AddressMode.GROUP):
            return True
        if dst.mode is AddressMode.NWK:
            return dst.address == int(self.app.state.node_info.nwk)
        if dst.mode is AddressMode.IEEE:
            return Eui64.parse(str(dst.address)) == Eui64.parse(str(self.app.state.node_info.ieee))
        return False

    def _device(self, packet: t.ZigbeePacket) -> Device | None:
        src = packet.src
        try:
            if src.addr_mode == t.AddrMode.IEEE:
                return self.app.get_device(ieee=src.address)
            return self.app.get_device(nwk=src.address)
        except KeyError:
            return None

    def _dut_device(self) -> Device:
        if self.dut_eui64 is None:
            raise ValueError("the hub was created without the DUT's EUI-64")
        try:
            return self.app.get_device(ieee=t.EUI64.convert(self.dut_eui64.colon))
        except KeyError:
            raise LabError(
                no_verdict_message(
                    f"the CH cannot send to the DUT {self.dut_eui64}: it has not joined the coordinator",
                    "make the DUT join first (the scenario's Background), then re-run",
                )
            ) from None

    def __repr__(self) -> str:
        rules = sum(len(r) for r in self.server.rules.values())
        return f"<CommunicationsHub images={len(self.server.images)} rules={rules} pending={self.pending}>"
