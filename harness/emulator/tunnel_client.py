"""The HAN device's end of the GBCS tunnel, for emulated devices (reference emulators and test nodes).

Why a component and not a device class: a PPMID, an HCALCS or a deliberately faulty variant all reach the
CH the same way, so each embeds one ``TunnelClient`` and delegates its 0x0704 cluster commands to
``handle``. What it does, as a GBCS device does over ZSE Tunneling (domain digest §11):

- ``start()`` (after the join) sends RequestTunnel for the PIXIT protocol id, and repeats it every
  ``retry_s`` until the CH grants a tunnel;
- once granted it polls with GET every ``poll_interval_s`` (None: only on demand, ``poll()``), and GETs again
  at once while a GET-RESPONSE says more messages are pending;
- each GET-RESPONSE's APDU goes to ``on_apdu`` byte for byte; ``put(apdu)`` sends a response or alert;
- a TransferData on a tunnel it does not hold is answered with TransferDataError No_Such_Tunnel (ZSE).
- ``on_granted`` (optional) is called each time the CH grants the tunnel, so a device can PUT what it held
  back (a CS09 alert raised while rebooting).

Time comes only from the node's clock (``call_later`` on its loop), so it runs on virtual time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from zigpy.zcl import foundation

from harness.zigbee.tunneling import (
    MANUFACTURER_CODE_UNUSED,
    TO_CLIENT,
    TO_SERVER,
    TUNNELING_CLUSTER_ID,
    GbcsData,
    SmartEnergyTunneling,
    TransferDataStatus,
    TunnelConfig,
    TunnelStatus,
    transfer_data_payload,
)

if TYPE_CHECKING:
    from harness.emulator.node import EmulatedZigbeeNode

LOGGER = logging.getLogger(__name__)

Status = foundation.Status
ApduCallback = Callable[[bytes], None]


class TunnelClient:
    """One emulated device's tunnel: request, poll, deliver, put."""

    def __init__(
        self,
        node: EmulatedZigbeeNode,
        on_apdu: ApduCallback,
        config: TunnelConfig | None = None,
        *,
        poll_interval_s: float | None = 30.0,
        retry_s: float = 10.0,
        max_incoming_transfer_size: int = 1500,
        on_granted: Callable[[], None] | None = None,
    ) -> None:
        self.node = node
        #: Called once each time the CH grants the tunnel (a device sends what it holds, e.g. an alert).
        self.on_granted = on_granted
        self.on_apdu = on_apdu
        self.config = config or TunnelConfig()
        self.poll_interval_s = poll_interval_s
        self.retry_s = retry_s
        self.max_incoming_transfer_size = max_incoming_transfer_size
        self.tunnel_id: int | None = None
        #: The CH's MaxIncomingTransferSize from its RequestTunnelResponse.
        self.server_max_incoming: int | None = None
        #: Every APDU delivered to ``on_apdu``, and every status/anomaly the device saw (evidence for tests).
        self.received: list[bytes] = []
        self.refusals: list[TunnelStatus] = []
        self.errors: list[tuple[int, TransferDataStatus]] = []
        self._timer: asyncio.TimerHandle | None = None

    @property
    def granted(self) -> bool:
        return self.tunnel_id is not None

    # -- driving -----------------------------------------------------------------------------------------
    def start(self, delay_s: float = 0.0) -> None:
        """Request the tunnel after ``delay_s`` (call once the device has joined)."""
        self._schedule(delay_s, self.request_tunnel)

    def stop(self) -> None:
        """Cancel the poll / retry timer (power off); the tunnel id is RAM state and is forgotten."""
        self._cancel()
        self.tunnel_id = None

    def request_tunnel(self) -> int:
        """Send RequestTunnel now (and arm the retry until granted); returns the TSN."""
        body = TO_SERVER.request_tunnel.schema(
            protocol_id=self.config.protocol_id,
            manufacturer_code=MANUFACTURER_CODE_UNUSED,
            flow_control_support=False,
            max_incoming_transfer_size=self.max_incoming_transfer_size,
        )
        self._schedule(self.retry_s, self._retry)
        return self.node.send_command(TUNNELING_CLUSTER_ID, TO_SERVER.request_tunnel.id, body.serialize())

    def poll(self) -> int | None:
        """Send GET now (on demand); None when no tunnel is granted yet. Re-arms the poll interval."""
        if self.tunnel_id is None:
            return None
        self._arm_poll()
        return self._transfer(self.config.get())

    def put(self, apdu: bytes) -> int:
        """Send ``apdu`` as a PUT (a response or alert) on the granted tunnel; returns the TSN."""
        if self.tunnel_id is None:
            raise RuntimeError(f"{self.node}: no tunnel granted yet, cannot PUT")
        return self._transfer(self.config.put(apdu))

    def _transfer(self, data: bytes) -> int:
        assert self.tunnel_id is not None
        return self.node.send_command(
            TUNNELING_CLUSTER_ID,
            TO_SERVER.transfer_data.id,
            transfer_data_payload(self.tunnel_id, data),
            disable_default_response=True,
        )

    # -- the CH's commands (the node's on_cluster_command delegates here) ---------------------------------
    def handle(self, hdr: foundation.ZCLHeader, payload: bytes) -> Status | None:
        """One server→client 0x0704 command: a status for the node's Default Response rules, or None."""
        command = SmartEnergyTunneling.client_commands.get(hdr.command_id)
        if command is None:
            return Status.UNSUP_CLUSTER_COMMAND
        try:
            args, _ = command.schema.deserialize(payload)
        except (ValueError, KeyError):
            return Status.MALFORMED_COMMAND
        if command is TO_CLIENT.request_tunnel_response:
            return self._on_response(args)
        if command is TO_CLIENT.transfer_data:
            return self._on_transfer_data(hdr, args)
        if command is TO_CLIENT.transfer_data_error:
            self.errors.append((int(args.tunnel_id), args.status))
            return Status.SUCCESS
        if command is TO_CLIENT.tunnel_closure_notification:
            if int(args.tunnel_id) == self.tunnel_id:
                self.tunnel_id = None
                self._schedule(0.0, self.request_tunnel)
            return Status.SUCCESS
        return Status.SUCCESS

    def _on_response(self, args: foundation.CommandSchema) -> Status:
        if args.status != TunnelStatus.Success:
            self.refusals.append(args.status)
            return Status.SUCCESS  # the retry timer asks again
        self.tunnel_id = int(args.tunnel_id)
        self.server_max_incoming = int(args.max_incoming_transfer_size)
        self._cancel()
        if self.poll_interval_s is not None:
            self._schedule(0.0, self.poll)
        if self.on_granted is not None:
            try:
                self.on_granted()
            except Exception:  # the device model's bug must not break the radio
                LOGGER.exception("%s: on_granted callback failed", self.node)
        return Status.SUCCESS

    def _on_transfer_data(self, hdr: foundation.ZCLHeader, args: foundation.CommandSchema) -> Status | None:
        tunnel_id = int(args.tunnel_id)
        if tunnel_id != self.tunnel_id:
            body = TO_SERVER.transfer_data_error.schema(tunnel_id=tunnel_id, status=TransferDataStatus.No_Such_Tunnel)
            self.node.respond(hdr, TO_SERVER.transfer_data_error.id, body.serialize())
            return None
        gbcs = GbcsData.parse(bytes(args.data), self.config)
        if gbcs.kind != "get_response":
            LOGGER.debug("%s ignores TransferData of kind %s", self.node, gbcs.kind)
            return Status.SUCCESS
        self.received.append(gbcs.apdu)
        try:
            self.on_apdu(gbcs.apdu)
        except Exception:  # the device model's bug must not break the radio
            LOGGER.exception("%s: APDU callback failed", self.node)
        if gbcs.remaining:
            self._schedule(0.0, self.poll)
        return Status.SUCCESS

    # -- timers ------------------------------------------------------------------------------------------
    def _retry(self) -> None:
        if self.tunnel_id is None:
            self.request_tunnel()

    def _arm_poll(self) -> None:
        if self.poll_interval_s is not None:
            self._schedule(self.poll_interval_s, self.poll)
        else:
            self._cancel()

    def _schedule(self, delay_s: float, callback: Callable[[], object]) -> None:
        self._cancel()
        clock = self.node.clock
        if clock is None:
            raise RuntimeError(f"{self.node} is not attached to a radio")
        self._timer = clock.loop.call_later(max(0.0, delay_s), callback)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


__all__ = ["TunnelClient"]
