"""The raw frame record: what crossed the radio seam, exactly as it crossed it.

Why: zigpy silently drops Smart Energy profile frames, frames it cannot parse and byte-identical repeats
within 10 s. Those are precisely the frames a conformance verdict may rest on, so the radio glue records
every APS frame in both directions *before* zigpy sees it, as a ``RawFrame``: addresses, the profile as
received (before the 0x0109 → 0x0104 remap), cluster, the raw bytes, link quality and a ``note`` saying
what the glue decided (routed to the OTA server, suppressed, ...).

Also home of the two small ZCL helpers the glue, the hub, the transcript and the emulated devices share,
so the header layout is written once. Both go through zigpy's ``ZCLHeader`` and remember the result: a
header is three (or five) octets, and a download repeats the same few hundred of them (one per command and
TSN), so each distinct header is parsed or built by zigpy once instead of once per frame (zigpy's generic
struct code binds a signature per field and cost more than everything else on the hub's path).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass, field
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

#: Profile ids the radio seam cares about.
ZDO_PROFILE_ID = 0x0000
HA_PROFILE_ID = 0x0104
SE_PROFILE_ID = 0x0109


class FrameDirection(enum.StrEnum):
    """``in``: received by the coordinator (from the DUT); ``out``: handed to the radio to transmit."""

    IN = "in"
    OUT = "out"


class AddressMode(enum.StrEnum):
    NWK = "nwk"
    IEEE = "ieee"
    GROUP = "group"
    BROADCAST = "broadcast"
    NONE = "none"


_MODES = {
    t.AddrMode.NWK: AddressMode.NWK,
    t.AddrMode.IEEE: AddressMode.IEEE,
    t.AddrMode.Group: AddressMode.GROUP,
    t.AddrMode.Broadcast: AddressMode.BROADCAST,
}


@dataclass(frozen=True, slots=True)
class FrameAddress:
    """One end of a frame: addressing mode, address (int for NWK/group/broadcast, EUI-64 text for IEEE)
    and APS endpoint."""

    mode: AddressMode
    address: int | str | None
    endpoint: int | None

    @classmethod
    def from_zigpy(cls, address: t.AddrModeAddress | None, endpoint: int | None) -> FrameAddress:
        """The address of a zigpy packet's end; short (NWK, group, broadcast) ones are shared objects."""
        ep = None if endpoint is None else int(endpoint)
        if address is None:
            return cls(AddressMode.NONE, None, ep)
        mode = _MODES.get(address.addr_mode, AddressMode.NONE)
        if mode is AddressMode.IEEE:
            return cls(mode, str(address.address), ep)
        key = (mode, int(address.address), ep)
        found = _SHORT_ADDRESSES.get(key)
        if found is None:
            if len(_SHORT_ADDRESSES) >= _SHORT_ADDRESSES_LIMIT:
                _SHORT_ADDRESSES.clear()
            found = _SHORT_ADDRESSES[key] = cls(*key)
        return found

    def __str__(self) -> str:
        where = (
            "?" if self.address is None else self.address if isinstance(self.address, str) else f"0x{self.address:04X}"
        )
        prefix = {AddressMode.GROUP: "group ", AddressMode.BROADCAST: "bcast "}.get(self.mode, "")
        return f"{prefix}{where}:{self.endpoint}"


#: Short addresses already seen: a transfer's thousands of frames share a handful of these objects.
_SHORT_ADDRESSES: dict[tuple[AddressMode, int, int | None], FrameAddress] = {}
_SHORT_ADDRESSES_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One APS frame as it crossed the radio seam (the transcript's unit of evidence).

    ``loop_time`` is the event loop's clock (virtual on the emulator): ``clock.now()`` plus the clock's
    origin. ``profile_id`` is the profile as received or sent, never the remapped one.
    """

    direction: FrameDirection
    loop_time: float
    src: FrameAddress
    dst: FrameAddress
    profile_id: int
    cluster_id: int
    data: bytes
    aps_counter: int
    lqi: int | None = None
    rssi: int | None = None
    note: str = ""
    #: What ``harness.transcript.decode`` made of the frame, kept so the transcript, the hub and the tunnel
    #: end decode it once between them (the transcript drops it again for frames long past). Not part of the
    #: frame: never compared, never shown.
    decoded: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_packet(
        cls,
        direction: FrameDirection,
        packet: t.ZigbeePacket,
        loop_time: float,
        note: str = "",
        data: bytes | None = None,
    ) -> RawFrame:
        """The record of ``packet``; ``data`` is its ZCL/ZDO octets when the caller serialised them already."""
        return cls(
            direction=direction,
            loop_time=loop_time,
            src=FrameAddress.from_zigpy(packet.src, packet.src_ep),
            dst=FrameAddress.from_zigpy(packet.dst, packet.dst_ep),
            profile_id=int(packet.profile_id),
            cluster_id=int(packet.cluster_id),
            data=packet.data.serialize() if data is None else data,
            aps_counter=int(packet.tsn),
            lqi=None if packet.lqi is None else int(packet.lqi),
            rssi=None if packet.rssi is None else int(packet.rssi),
            note=note,
        )

    @property
    def is_zdo(self) -> bool:
        return self.src.endpoint == 0 or self.dst.endpoint == 0

    def zcl_header(self) -> foundation.ZCLHeader | None:
        """The ZCL header, or None for ZDO frames and frames too short to hold one."""
        if self.is_zdo:
            return None
        parsed = parse_zcl_header(self.data)
        return None if parsed is None else parsed[0]

    def __repr__(self) -> str:
        # Short on purpose: reports (Allure) write repr() of everything they are handed.
        note = f" {self.note!r}" if self.note else ""
        return (
            f"RawFrame({self.direction.value} t={self.loop_time:.3f} {self.src}->{self.dst} "
            f"profile=0x{self.profile_id:04X} cluster=0x{self.cluster_id:04X} {self.data.hex()}{note})"
        )


#: Frame-control bit saying a manufacturer code follows (ZCL 2.4.1.1.2): the header is then 5 octets, not 3.
_MANUFACTURER_SPECIFIC = 0x04
#: Parsed headers by their octets. Shared objects: callers read them and never modify them.
_PARSED_HEADERS: dict[bytes, foundation.ZCLHeader] = {}
_PARSED_HEADERS_LIMIT = 8192


def zcl_header_length(data: bytes) -> int:
    """Octets of the ZCL header that starts ``data`` (from its frame-control octet; ``data`` not empty)."""
    return 5 if data[0] & _MANUFACTURER_SPECIFIC else 3


def parse_zcl_header(data: bytes) -> tuple[foundation.ZCLHeader, bytes] | None:
    """``(header, payload)`` or None when ``data`` cannot hold a ZCL header (truncated frame).

    The header object is shared by every frame with the same header octets: read it, never modify it.
    """
    if not data:
        return None
    length = zcl_header_length(data)
    key = bytes(data[:length])
    header = _PARSED_HEADERS.get(key)
    if header is None:
        try:
            header, rest = foundation.ZCLHeader.deserialize(key)
        except (ValueError, KeyError):
            return None
        if rest:  # pragma: no cover - a zigpy change of the header layout would land here
            raise RuntimeError(f"zigpy reads a ZCL header of {length - len(rest)} octets from {key.hex()}")
        if len(_PARSED_HEADERS) >= _PARSED_HEADERS_LIMIT:
            _PARSED_HEADERS.clear()
        _PARSED_HEADERS[key] = header
    return header, data[length:]


def is_zcl_reply(header: foundation.ZCLHeader) -> bool:
    """True for profile-wide responses (Read_Attributes_rsp, Default_Response, ...): frames that answer
    a request and never ask for a decision themselves."""
    if header.frame_control.frame_type != foundation.FrameType.GLOBAL_COMMAND:
        return False
    command = foundation.GENERAL_COMMANDS.get(header.command_id)  # type: ignore[call-overload]
    return command is not None and command.direction == foundation.Direction.Server_to_Client


def zcl_frame(
    command_id: int,
    payload: bytes,
    *,
    tsn: int,
    direction: foundation.Direction,
    cluster_specific: bool = True,
    manufacturer: int | None = None,
    disable_default_response: bool = False,
) -> bytes:
    """ZCL header + ``payload`` (already serialised, possibly malformed on purpose)."""
    header = _header_octets(command_id, tsn, direction, cluster_specific, manufacturer, disable_default_response)
    return header + bytes(payload)


@functools.lru_cache(maxsize=8192)
def _header_octets(
    command_id: int,
    tsn: int,
    direction: foundation.Direction,
    cluster_specific: bool,
    manufacturer: int | None,
    disable_default_response: bool,
) -> bytes:
    """The ZCL header's octets, built by zigpy once per distinct header."""
    frame_control = foundation.FrameControl(
        frame_type=(foundation.FrameType.CLUSTER_COMMAND if cluster_specific else foundation.FrameType.GLOBAL_COMMAND),
        is_manufacturer_specific=manufacturer is not None,
        direction=direction,
        disable_default_response=disable_default_response,
        reserved=0b000,
    )
    header = foundation.ZCLHeader(
        frame_control=frame_control, manufacturer=manufacturer, tsn=tsn, command_id=command_id
    )
    return header.serialize()
