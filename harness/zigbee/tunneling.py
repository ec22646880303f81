"""The Smart Energy Tunneling cluster (0x0704) and the GBCS transport conventions carried in it.

Why here: zigpy 2.4 declares ``smartenergy.Tunneling`` with no commands, so zigpy drops every tunnel frame
as unparsable and the transcript cannot name them. ``SmartEnergyTunneling`` subclasses it with the command
table below, written with zigpy's own ``ZCLCommandDef`` mechanism (as ``general.Ota`` is). Subclassing a
registered cluster re-registers the id, so importing this module makes ``Cluster.from_id(0x0704)`` and
``Cluster._registry`` (used by ``harness.transcript.decode``) return this class; zigpy itself is untouched.

Command table [R: ZSE 1.x Annex D.6; cross-checked against Exegin ``zcl.tunnel.h`` and zsmartsystems
``smartenergytunneling``]. Client→server (the HAN device): 0x00 RequestTunnel, 0x01 CloseTunnel,
0x02 TransferData, 0x03 TransferDataError, 0x04 AckTransferData, 0x05 ReadyData,
0x06 GetSupportedTunnelProtocols. Server→client (the CH): 0x00 RequestTunnelResponse, 0x01 TransferData,
0x02 TransferDataError, 0x03 AckTransferData, 0x04 ReadyData, 0x05 SupportedTunnelProtocolsResponse,
0x06 TunnelClosureNotification.

GBCS over the tunnel (domain digest §11) is [R]/[I]: the first TransferData octet is GET / GET-RESPONSE /
PUT, a GET-RESPONSE then carries the count of messages still pending (one octet here, [I]) and the APDU.
Those values are PIXITs (``TunnelConfig.from_profile``), never literals in the ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import Tunneling
from zigpy.zcl.foundation import BaseAttributeDefs, BaseCommandDefs, ZCLAttributeDef, ZCLCommandDef

TUNNELING_CLUSTER_ID: Final = 0x0704
#: ZSE: RequestTunnelResponse carries this tunnel id when the request failed.
NO_TUNNEL_ID: Final = 0xFFFF
#: ZSE: the manufacturer code field is ignored below protocol id 200; 0xFFFF means "not used".
MANUFACTURER_CODE_UNUSED: Final = 0xFFFF
#: Octets of a TransferData payload before ``data`` (the tunnel id).
TUNNEL_ID_OCTETS: Final = 2


class ProtocolId(t.enum8):
    """ZSE tunnel protocol ids; 200..254 are manufacturer-defined (decoded as ``undefined_0x..``)."""

    DLMS_COSEM = 0
    IEC_61107 = 1
    ANSI_C12 = 2
    M_BUS = 3
    SML = 4
    ClimateTalk = 5
    GB_HRGP = 6
    IPv4 = 7
    IPv6 = 8


class TunnelStatus(t.enum8):
    """RequestTunnelResponse status."""

    Success = 0x00
    Busy = 0x01
    No_More_Tunnel_IDs = 0x02
    Protocol_Not_Supported = 0x03
    Flow_Control_Not_Supported = 0x04


class TransferDataStatus(t.enum8):
    """TransferDataError status."""

    No_Such_Tunnel = 0x00
    Wrong_Device = 0x01
    Data_Overflow = 0x02


class SupportedProtocol(t.Struct):
    """One entry of SupportedTunnelProtocolsResponse's protocol list."""

    manufacturer_code: t.uint16_t
    protocol_id: ProtocolId


_TUNNEL_ID = {"tunnel_id": t.uint16_t}


class SmartEnergyTunneling(Tunneling):
    """zigpy's empty Tunneling cluster with its ZSE commands declared (registers itself for 0x0704)."""

    class AttributeDefs(BaseAttributeDefs):
        close_tunnel_timeout: Final = ZCLAttributeDef(id=0x0000, type=t.uint16_t, access="r", mandatory=True)
        cluster_revision: Final = foundation.ZCL_CLUSTER_REVISION_ATTR
        reporting_status: Final = foundation.ZCL_REPORTING_STATUS_ATTR

    class ServerCommandDefs(BaseCommandDefs):
        request_tunnel: Final = ZCLCommandDef(
            id=0x00,
            schema={
                "protocol_id": ProtocolId,
                "manufacturer_code": t.uint16_t,
                "flow_control_support": t.Bool,
                "max_incoming_transfer_size": t.uint16_t,
            },
        )
        close_tunnel: Final = ZCLCommandDef(id=0x01, schema=_TUNNEL_ID)
        transfer_data: Final = ZCLCommandDef(id=0x02, schema={**_TUNNEL_ID, "data": t.Bytes})
        transfer_data_error: Final = ZCLCommandDef(id=0x03, schema={**_TUNNEL_ID, "status": TransferDataStatus})
        ack_transfer_data: Final = ZCLCommandDef(id=0x04, schema={**_TUNNEL_ID, "num_bytes_left": t.uint16_t})
        ready_data: Final = ZCLCommandDef(id=0x05, schema={**_TUNNEL_ID, "num_octets_left": t.uint16_t})
        get_supported_tunnel_protocols: Final = ZCLCommandDef(id=0x06, schema={"protocol_offset": t.uint8_t})

    class ClientCommandDefs(BaseCommandDefs):
        request_tunnel_response: Final = ZCLCommandDef(
            id=0x00,
            schema={**_TUNNEL_ID, "status": TunnelStatus, "max_incoming_transfer_size": t.uint16_t},
        )
        transfer_data: Final = ZCLCommandDef(id=0x01, schema={**_TUNNEL_ID, "data": t.Bytes})
        transfer_data_error: Final = ZCLCommandDef(id=0x02, schema={**_TUNNEL_ID, "status": TransferDataStatus})
        ack_transfer_data: Final = ZCLCommandDef(id=0x03, schema={**_TUNNEL_ID, "num_bytes_left": t.uint16_t})
        ready_data: Final = ZCLCommandDef(id=0x04, schema={**_TUNNEL_ID, "num_octets_left": t.uint16_t})
        supported_tunnel_protocols_response: Final = ZCLCommandDef(
            id=0x05,
            schema={
                "protocol_list_complete": t.Bool,
                "protocols": t.LVList[SupportedProtocol, t.uint8_t],
            },
        )
        tunnel_closure_notification: Final = ZCLCommandDef(id=0x06, schema=_TUNNEL_ID)

    def handle_cluster_request(self, hdr: foundation.ZCLHeader, args: Any, **kwargs: Any) -> None:
        """Silent on purpose: the suite's CH tunnel end answers from the raw tap, zigpy must not add a
        Default Response of its own to frames it happens to parse."""


TO_SERVER = SmartEnergyTunneling.ServerCommandDefs
TO_CLIENT = SmartEnergyTunneling.ClientCommandDefs


# -- GBCS transport conventions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TunnelConfig:
    """The [R]/[I] transport values both ends share (PIXITs ``tunnel.*``; see domain digest §11)."""

    get_code: int = 0x01
    get_response_code: int = 0x02
    put_code: int = 0x03
    protocol_id: int = ProtocolId.GB_HRGP
    #: The CH's MaxIncomingTransferSize: the largest TransferData ``data`` it accepts (no PIXIT yet).
    max_incoming_transfer_size: int = 1500
    #: The id the CH grants first (GBCS CH emulators use 0).
    tunnel_id: int = 0

    @classmethod
    def from_profile(cls, profile: Any, **overrides: Any) -> TunnelConfig:
        """The profile's ``tunnel.*`` PIXIT values (defaults where the profile does not set them)."""
        values: dict[str, Any] = {
            name: int(profile.pixit_value(f"tunnel.{name}"))
            for name in ("get_code", "get_response_code", "put_code", "protocol_id")
        }
        return cls(**{**values, **overrides})

    def get(self) -> bytes:
        """TransferData ``data`` of a GET (the device asks for pending commands)."""
        return bytes([self.get_code])

    def put(self, apdu: bytes) -> bytes:
        """TransferData ``data`` of a PUT (the device sends a response or alert)."""
        return bytes([self.put_code]) + apdu

    def get_response(self, remaining: int, apdu: bytes) -> bytes:
        """TransferData ``data`` of a GET-RESPONSE: code, pending count (saturating at 255), APDU."""
        return bytes([self.get_response_code, min(max(remaining, 0), 0xFF)]) + apdu


@dataclass(frozen=True, slots=True)
class GbcsData:
    """A TransferData ``data`` field read as GBCS transport: which kind, the pending count, the APDU."""

    kind: str  # "get" | "get_response" | "put" | "unknown" | "empty"
    code: int | None
    apdu: bytes
    remaining: int | None = None

    @classmethod
    def parse(cls, data: bytes, config: TunnelConfig) -> GbcsData:
        """Never raises: an empty or unknown payload comes back as kind "empty"/"unknown"."""
        if not data:
            return cls("empty", None, b"")
        code, rest = data[0], bytes(data[1:])
        if code == config.get_response_code:
            if not rest:
                return cls("unknown", code, b"")
            return cls("get_response", code, rest[1:], remaining=rest[0])
        if code == config.get_code:
            return cls("get", code, rest)
        if code == config.put_code:
            return cls("put", code, rest)
        return cls("unknown", code, rest)


def transfer_data_payload(tunnel_id: int, data: bytes) -> bytes:
    """The TransferData payload (either direction): tunnel id then ``data``, no length prefix."""
    return TO_SERVER.transfer_data.schema(tunnel_id=tunnel_id, data=t.Bytes(data)).serialize()
