"""The scenario transcript: every frame between the suite and the DUT, decoded, with the reason it was sent.

Why: a verdict is only as good as its evidence. The transcript is fed by the radio glue's raw frame tap,
which sees every APS frame in both directions *before* zigpy can drop, remap or answer it, so frames zigpy
ignores (Smart Energy profile, unparsable, repeats within 10 s) and frames the glue suppressed (zigpy's
interview Image Notify) are all here. Each frame becomes one ``TranscriptEntry``: addresses resolved to
EUI-64s where known, the profile as it crossed the air (0x0109, never the remapped 0x0104), the ZCL
header, the command decoded with zigpy's own schemas (a frame that does not decode is recorded as
``malformed`` with the error; decoding never raises) and the raw bytes.

Frames the suite sends carry the *decision* behind them: the Communications Hub (``harness.ch.hub``) and
the DUT adapter wrap each send in ``Transcript.attribute(note)``, a context variable the tap listener reads,
so every frame the CH sent says whether it was served, throttled, delayed, a stimulus or an injected fault.
Decisions that send nothing (a dropped request) are entries of kind ``decision``.

Then-steps read the transcript through the query helpers (``ota_requests``, ``block_offsets``,
``received_stimulus`` ...); reports get ``to_text()`` (one line per entry), ``to_json()`` and ``summary()``.
Every new entry calls ``clock.notify()``, so a ``clock.run_until`` predicate over the transcript is
re-checked at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import functools
import json
import logging
import sys
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import zigpy.types as t
import zigpy.zdo.types as zdo_t
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.general import Ota

import harness.zigbee  # noqa: F401  (registers the Smart Energy Tunneling commands, so GBCS frames decode)
from harness.clock import Budget, Clock
from harness.crypto.eui64 import Eui64
from harness.radio.frames import (
    HA_PROFILE_ID,
    SE_PROFILE_ID,
    ZDO_PROFILE_ID,
    AddressMode,
    FrameAddress,
    FrameDirection,
    RawFrame,
    is_zcl_reply,
    parse_zcl_header,
    zcl_header_length,
)
from harness.radio.glue import SUPPRESSED_NOTES

LOGGER = logging.getLogger(__name__)

OTA_CLUSTER_ID = Ota.cluster_id
COORDINATOR_NWK = 0x0000

PROFILE_NAMES: dict[int, str] = {
    ZDO_PROFILE_ID: "ZDO",
    HA_PROFILE_ID: "HA",
    SE_PROFILE_ID: "SE",
    0xC05E: "ZLL",
    0xA1E0: "GP",
}

#: Fields shown in hex in the text rendering (identities and versions read better that way).
_HEX_FIELDS = frozenset(
    {
        "manufacturer_code",
        "image_type",
        "file_version",
        "current_file_version",
        "new_file_version",
        "hardware_version",
        "command_id",
        "attrid",
    }
)
#: Octets of raw data shown per line in ``to_text`` (``to_json`` keeps everything).
_TEXT_RAW_OCTETS = 32


class Direction(enum.StrEnum):
    """Seen from the DUT: what it was sent, what it sent, or traffic between other parties."""

    TO_DUT = "to DUT"
    FROM_DUT = "from DUT"
    OTHER = "other"


class EntryKind(enum.StrEnum):
    FRAME = "frame"  # one APS frame that crossed the radio seam (or was suppressed there)
    DECISION = "decision"  # a decision of the suite that sent nothing (dropped, ignored, scheduled)


class Role(enum.StrEnum):
    CH = "CH"
    DUT = "DUT"
    ROGUE = "rogue"
    BROADCAST = "broadcast"
    GROUP = "group"
    OTHER = ""


@dataclass(frozen=True, slots=True)
class Party:
    """One end of a frame: NWK address, EUI-64 when known, endpoint, and the role it plays in the test."""

    role: Role
    nwk: int | None
    eui64: str | None  # GBCS dashed form, e.g. 00-DB-12-34-56-78-90-A4
    endpoint: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "role": self.role.value,
            "nwk": None if self.nwk is None else f"0x{self.nwk:04X}",
            "eui64": self.eui64,
            "endpoint": self.endpoint,
        }

    def __str__(self) -> str:
        where = "?" if self.nwk is None else f"0x{self.nwk:04X}"
        if self.role in (Role.BROADCAST, Role.GROUP):
            return f"{self.role.value} {where}:{self.endpoint}"
        who = f"{self.role.value} " if self.role is not Role.OTHER else ""
        eui = f" ({self.eui64})" if self.eui64 and self.role is not Role.CH else ""
        return f"{who}{where}{eui}:{self.endpoint}"


@dataclass(frozen=True, slots=True)
class ZclHeaderInfo:
    """The ZCL header as plain values (for reports and for steps that check header bits)."""

    tsn: int
    frame_type: str  # "cluster" | "global"
    direction: str  # "client->server" | "server->client"
    manufacturer_specific: bool
    manufacturer_code: int | None
    disable_default_response: bool

    @classmethod
    def from_zigpy(cls, header: foundation.ZCLHeader) -> ZclHeaderInfo:
        control = header.frame_control
        return cls(
            tsn=int(header.tsn),
            frame_type="cluster" if control.is_cluster else "global",
            direction=(
                "client->server" if control.direction == foundation.Direction.Client_to_Server else "server->client"
            ),
            manufacturer_specific=bool(control.is_manufacturer_specific),
            manufacturer_code=None if header.manufacturer is None else int(header.manufacturer),
            disable_default_response=bool(control.disable_default_response),
        )

    @property
    def client_to_server(self) -> bool:
        return self.direction == "client->server"

    def as_dict(self) -> dict[str, Any]:
        return {
            "tsn": self.tsn,
            "frame_type": self.frame_type,
            "direction": self.direction,
            "manufacturer_specific": self.manufacturer_specific,
            "manufacturer_code": self.manufacturer_code,
            "disable_default_response": self.disable_default_response,
        }


# ---------------------------------------------------------------------------------------------------------
# Decoding (shared with the CH hub and the tunnel end, so a request is parsed one way only, and once)


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one frame says: cluster, header, command and fields, or why it could not be decoded."""

    cluster: str
    tsn: int | None = None
    header: foundation.ZCLHeader | None = None
    zcl: ZclHeaderInfo | None = None
    command_id: int | None = None
    command: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # zigpy-typed values (enums, bytes, EUI64)
    parsed: Any = None  # the zigpy command schema instance (ZCL) or argument list (ZDO)
    malformed: bool = False
    error: str = ""
    trailing: bytes = b""


@dataclass(frozen=True, slots=True)
class FrameHead:
    """What a frame's header says (cluster, command, ZCL header), without reading its payload.

    Why apart from ``Decoded``: queries, the hub and the report's filters read these for every frame, the
    payload only for a few; and a download repeats the same few hundred headers (one per command and TSN)
    thousands of times, so one ``FrameHead`` per distinct cluster and header octets is shared by every
    frame that carries them (``zcl_head``).
    """

    cluster: str
    command_id: int | None = None
    command: str = ""
    tsn: int | None = None
    header: foundation.ZCLHeader | None = None
    zcl: ZclHeaderInfo | None = None
    definition: Any = None  # zigpy's ZCLCommandDef of the command, when the cluster and command are known
    error: str = ""  # why the payload is not decoded (unknown cluster or command, too short), or ""
    length: int = 0  # octets of the ZCL header: the payload starts there


def cluster_name(cluster_id: int, zdo: bool = False) -> str:
    """zigpy's class name of a cluster ("Ota", "Basic"), "ZDO", or the id in hex."""
    if zdo:
        return "ZDO"
    cls = Cluster._registry.get(cluster_id)
    return cls.__name__ if cls is not None else f"0x{cluster_id:04X}"


_HEADS: dict[tuple[int, bytes], FrameHead] = {}
_HEADS_LIMIT = 8192


def zcl_head(cluster_id: int, data: bytes) -> FrameHead:
    """The head of the ZCL frame ``data`` of cluster ``cluster_id`` (shared; never raises)."""
    octets = bytes(data[: zcl_header_length(data)]) if data else b""
    key = (cluster_id, octets)
    head = _HEADS.get(key)
    if head is None:
        if len(_HEADS) >= _HEADS_LIMIT:
            _HEADS.clear()
        head = _HEADS[key] = _zcl_head(cluster_id, octets)
    return head


def _zcl_head(cluster_id: int, octets: bytes) -> FrameHead:
    name = cluster_name(cluster_id)
    parsed_header = parse_zcl_header(octets)
    if parsed_header is None:
        return FrameHead(name, error="too short for a ZCL header")
    header = parsed_header[0]
    info = ZclHeaderInfo.from_zigpy(header)
    base = {
        "cluster": name,
        "tsn": info.tsn,
        "header": header,
        "zcl": info,
        "command_id": int(header.command_id),
        "length": len(octets),
    }
    if header.frame_control.is_cluster:
        if header.frame_control.is_manufacturer_specific:
            return FrameHead(**base, command=f"manufacturer-specific 0x{header.command_id:02X}")
        cls = Cluster._registry.get(cluster_id)
        if cls is None:
            return FrameHead(**base, command=f"0x{header.command_id:02X}", error="unknown cluster")
        commands = cls.server_commands if info.client_to_server else cls.client_commands
        definition = commands.get(header.command_id)
    else:
        definition = foundation.GENERAL_COMMANDS.get(header.command_id)  # type: ignore[call-overload]
    if definition is None:
        return FrameHead(**base, command=f"0x{header.command_id:02X}", error="unknown command")
    return FrameHead(**base, command=definition.name, definition=definition)


def decode(frame: RawFrame) -> Decoded:
    """Decode one frame with zigpy's schemas. Never raises: a frame that does not decode is ``malformed``.

    Once per frame: the result is kept on the frame (``RawFrame.decoded``) until the transcript forgets it.
    """
    found = frame.decoded
    if found is None:
        found = _decode(frame)
        object.__setattr__(frame, "decoded", found)  # the frame's memo, not part of the frame (see RawFrame)
    return found


def _decode(frame: RawFrame) -> Decoded:
    try:
        return _decode_zdo(frame) if frame.is_zdo else _decode_zcl(frame)
    except Exception as err:  # a decoder bug must not lose the frame
        LOGGER.debug("decoder failed on %r", frame, exc_info=True)
        return Decoded(cluster_name(frame.cluster_id, frame.is_zdo), malformed=True, error=f"decoder failed: {err!r}")


def _decode_zdo(frame: RawFrame) -> Decoded:
    name = "ZDO"
    try:
        command = zdo_t.ZDOCmd(frame.cluster_id)
    except ValueError:
        return Decoded(name, command=f"ZDO 0x{frame.cluster_id:04X}", error="unknown ZDO command")
    if not frame.data:
        return Decoded(name, command_id=int(command), command=command.name, malformed=True, error="empty")
    if command not in zdo_t.CLUSTERS:
        return Decoded(name, command_id=int(command), command=command.name, error="no schema for this command")
    tsn, rest = frame.data[0], frame.data[1:]
    names, types = zdo_t.CLUSTERS[command]
    values: list[Any] = []
    for index, value_type in enumerate(types):
        try:
            value, rest = value_type.deserialize(rest)
        except Exception as err:
            # A response whose status is not SUCCESS legitimately stops after the status (and address).
            status_failed = bool(values) and names[0] == "Status" and values[0] != zdo_t.Status.SUCCESS
            if status_failed:
                break
            return Decoded(
                name,
                tsn=tsn,
                command_id=int(command),
                command=command.name,
                fields=dict(zip(names, values, strict=False)),
                parsed=values,
                malformed=True,
                error=f"field {names[index]!r}: {err}",
            )
        values.append(value)
    return Decoded(
        name,
        tsn=tsn,
        command_id=int(command),
        command=command.name,
        fields=dict(zip(names, values, strict=False)),
        parsed=values,
        trailing=rest,
    )


def _decode_zcl(frame: RawFrame) -> Decoded:
    head = zcl_head(frame.cluster_id, frame.data)
    if head.header is None:
        return Decoded(head.cluster, malformed=True, error=head.error)
    base = {
        "cluster": head.cluster,
        "tsn": head.tsn,
        "header": head.header,
        "zcl": head.zcl,
        "command_id": head.command_id,
        "command": head.command,
    }
    if head.definition is None:
        return Decoded(**base, error=head.error)
    parsed, fields, trailing, error = _payload(head.definition.schema, bytes(frame.data[head.length :]))
    if error is not None:
        return Decoded(**base, malformed=True, error=error)
    return Decoded(**base, fields=dict(fields), parsed=parsed, trailing=trailing)


@functools.lru_cache(maxsize=1024)
def _payload(schema: Any, octets: bytes) -> tuple[Any, dict[str, Any], bytes, str | None]:
    """A ZCL command payload through zigpy's schema: (parsed, fields, trailing octets, error or None).

    Memoised because devices repeat frames octet for octet (a tunnel poll every few seconds of hours of
    virtual time: 3,000 in one scenario) and the schema's parse is the dearest part of a decode. The parsed
    object is shared by the frames that carry those octets: read it, never change it (each ``Decoded`` gets
    its own ``fields`` dict).
    """
    try:
        parsed, rest = schema.deserialize(octets)
    except Exception as err:
        return None, {}, b"", str(err) or repr(err)
    if hasattr(parsed, "as_dict"):
        fields = {k: v for k, v in parsed.as_dict().items() if v is not None and not k.startswith("_")}
    else:
        fields = {"value": parsed}
    return parsed, fields, bytes(rest), None


def _head_of(decoded: Decoded) -> FrameHead:
    """The head of a frame decoded whole (ZDO frames: their header is their first octet)."""
    return FrameHead(
        decoded.cluster,
        command_id=decoded.command_id,
        command=decoded.command,
        tsn=decoded.tsn,
        header=decoded.header,
        zcl=decoded.zcl,
        error=decoded.error,
    )


def _plain(value: Any) -> Any:
    """A decoded zigpy value as plain JSON-able data (enums by name, EUI-64s dashed, octets in hex)."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, enum.Flag):
        return int(value)
    if isinstance(value, enum.Enum):
        name = value.name or ""
        return int(value.value) if name.startswith("undefined_") or not name else name
    # The common scalars before EUI64 (a list), whose isinstance check goes through zigpy's slower metaclass.
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, t.EUI64):
        return Eui64.parse(str(value)).dashed
    if hasattr(value, "as_dict"):  # zigpy structs and command schemas (some of which are tuples)
        return {k: _plain(v) for k, v in value.as_dict().items() if v is not None and not k.startswith("_")}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, type):
        return value.__name__
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items() if not k.startswith("_") and v is not None}
    return repr(value)


# ---------------------------------------------------------------------------------------------------------
# Entries


class _Recorded:
    """What the frame entries of one transcript share: the clock (their ``utc``) and the decodes they keep.

    Why a ring of decodes: a decoded frame (zigpy's command object and its fields) costs several times the
    entry itself, and a long download records tens of thousands of frames, most of them never read again
    field by field. So entries keep the decodes of the last ``DECODED_KEPT`` frames decoded; an older one is
    decoded again when it is read again (the same octets, the same result).
    """

    DECODED_KEPT = 4096

    __slots__ = ("_decoded", "clock")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._decoded: deque[RawFrame] = deque()

    def decoded(self, frame: RawFrame) -> Decoded:
        found = frame.decoded
        if found is None:
            found = decode(frame)
            kept = self._decoded
            kept.append(frame)
            if len(kept) > self.DECODED_KEPT:
                object.__setattr__(kept.popleft(), "decoded", None)  # the frame's memo (see RawFrame)
        return found

    def forget(self) -> None:
        """Drop every decode kept (they are made again when read again)."""
        while self._decoded:
            object.__setattr__(self._decoded.popleft(), "decoded", None)


@dataclass(frozen=True, slots=True)
class _Given:
    """The frame- and payload-level values of an entry built from given values (decisions), not from a frame."""

    fields: dict[str, Any]
    profile_id: int | None
    data: bytes  # the raw octets (named as on RawFrame)
    aps_counter: int | None
    lqi: int | None
    rssi: int | None
    malformed: bool
    error: str
    trailing: bytes
    decoded: Decoded | None


class TranscriptEntry:
    """One frame (or frameless decision) of a scenario, in the order it happened.

    A frame's entry is lean (a 1 MiB download records some 44,000 of them): it keeps the ``RawFrame`` and
    what the transcript decided about it (direction, parties, the decision behind it) and reads everything
    else from the frame: the header-level attributes (``cluster``, ``command``, ``command_id``, ``zcl``,
    ``tsn``) from a ``FrameHead`` shared by every frame with the same header, the payload-level ones
    (``fields``, ``malformed``, ``error``, ``trailing``, ``parsed``, ``decoded``) decoded with zigpy's
    schemas on first use. ``TranscriptEntry(...)`` with every value given (as decisions are built) keeps the
    values as given.
    """

    __slots__ = (
        "_given",
        "_head",
        "_recorded",
        "_utc",
        "cluster_id",
        "decided_by",
        "decision",
        "delivery_error",
        "direction",
        "dst",
        "frame",
        "in_reply_to",
        "index",
        "kind",
        "note",
        "src",
        "time",
        "transmitted",
    )

    index: int
    kind: EntryKind
    time: float  # clock.now(): seconds since the run's clock origin (virtual on the emulator)
    direction: Direction
    src: Party | None
    dst: Party | None
    cluster_id: int | None
    note: str  # the radio glue's note (routed to the OTA server, suppressed, ...)
    decision: str  # the suite's reason for a frame it sent, or the decision of a decision entry
    decided_by: str  # "CH", "adapter", "rogue", "zigpy" (frames the suite did not originate)
    transmitted: bool  # False: suppressed by the glue, never handed to the radio
    delivery_error: str  # the radio reported that the frame was not delivered
    in_reply_to: int | None  # index of the request a decision answers
    frame: RawFrame | None

    def __init__(
        self,
        index: int,
        kind: EntryKind,
        time: float,
        utc: datetime,
        direction: Direction,
        src: Party | None,
        dst: Party | None,
        profile_id: int | None,
        cluster_id: int | None,
        cluster: str,
        command_id: int | None,
        command: str,
        fields: dict[str, Any],
        zcl: ZclHeaderInfo | None = None,
        tsn: int | None = None,
        raw: bytes = b"",
        aps_counter: int | None = None,
        lqi: int | None = None,
        rssi: int | None = None,
        note: str = "",
        decision: str = "",
        decided_by: str = "",
        transmitted: bool = True,
        delivery_error: str = "",
        malformed: bool = False,
        error: str = "",
        trailing: bytes = b"",
        in_reply_to: int | None = None,
        decoded: Decoded | None = None,
        frame: RawFrame | None = None,
    ) -> None:
        self.index, self.kind, self.time, self.direction = index, kind, time, direction
        self.src, self.dst, self.cluster_id = src, dst, cluster_id
        self.note, self.decision, self.decided_by = note, decision, decided_by
        self.transmitted, self.delivery_error, self.in_reply_to, self.frame = (
            transmitted,
            delivery_error,
            in_reply_to,
            frame,
        )
        header = None if decoded is None else decoded.header
        self._head = FrameHead(cluster, command_id=command_id, command=command, tsn=tsn, header=header, zcl=zcl)
        self._recorded: _Recorded | None = None
        self._utc: datetime | None = utc
        self._given: _Given | None = _Given(
            fields, profile_id, raw, aps_counter, lqi, rssi, malformed, error, trailing, decoded
        )

    @classmethod
    def _of_frame(
        cls,
        recorded: _Recorded,
        index: int,
        time: float,
        direction: Direction,
        src: Party,
        dst: Party,
        head: FrameHead,
        frame: RawFrame,
        *,
        decision: str,
        decided_by: str,
        transmitted: bool,
        in_reply_to: int | None,
    ) -> TranscriptEntry:
        """A frame's entry: everything the frame says is read from it when asked (see the class docstring)."""
        entry = cls.__new__(cls)
        entry.index, entry.kind, entry.time, entry.direction = index, EntryKind.FRAME, time, direction
        entry.src, entry.dst, entry.cluster_id = src, dst, frame.cluster_id
        entry.note, entry.decision, entry.decided_by = frame.note, decision, decided_by
        entry.transmitted, entry.delivery_error, entry.in_reply_to, entry.frame = (
            transmitted,
            "",
            in_reply_to,
            frame,
        )
        entry._head, entry._recorded, entry._utc, entry._given = head, recorded, None, None
        return entry

    # -- what the frame says ------------------------------------------------------------------------------
    @property
    def utc(self) -> datetime:
        if self._utc is None:
            assert self._recorded is not None
            self._utc = self._recorded.clock.utc_at(self.time)
        return self._utc

    @property
    def cluster(self) -> str:
        return self._head.cluster

    @property
    def command_id(self) -> int | None:
        return self._head.command_id

    @property
    def command(self) -> str:
        return self._head.command

    @property
    def zcl(self) -> ZclHeaderInfo | None:
        return self._head.zcl

    @property
    def tsn(self) -> int | None:
        return self._head.tsn

    @property
    def _on_air(self) -> RawFrame | _Given:
        """Where the frame-level values are: the frame, or the values given."""
        return self._given if self._given is not None else self.frame  # type: ignore[return-value]

    @property
    def _payload(self) -> Decoded | _Given:
        """Where the payload-level values are: the frame's decode (made on first use), or the values given."""
        return self._given if self._given is not None else self.decoded  # type: ignore[return-value]

    @property
    def profile_id(self) -> int | None:
        """As received or sent (0x0109 stays 0x0109)."""
        return self._on_air.profile_id

    @property
    def raw(self) -> bytes:
        return self._on_air.data

    @property
    def aps_counter(self) -> int | None:
        return self._on_air.aps_counter

    @property
    def lqi(self) -> int | None:
        return self._on_air.lqi

    @property
    def rssi(self) -> int | None:
        return self._on_air.rssi

    @property
    def decoded(self) -> Decoded | None:
        """zigpy's objects for this frame (decoded on first use); None for a decision."""
        if self._given is not None:
            return self._given.decoded
        assert self._recorded is not None and self.frame is not None
        return self._recorded.decoded(self.frame)

    @property
    def fields(self) -> dict[str, Any]:
        """Decoded, zigpy-typed (Status enums, bytes, EUI64); rendered plain in reports."""
        return self._payload.fields

    @property
    def malformed(self) -> bool:
        return self._payload.malformed

    @property
    def error(self) -> str:
        return self._payload.error

    @property
    def trailing(self) -> bytes:
        return self._payload.trailing

    # -- predicates used by the query helpers ------------------------------------------------------------
    @property
    def is_frame(self) -> bool:
        return self.kind is EntryKind.FRAME

    @property
    def is_ota(self) -> bool:
        return self.cluster_id == OTA_CLUSTER_ID and self.profile_id != ZDO_PROFILE_ID

    @property
    def is_zcl_reply(self) -> bool:
        """A profile-wide response (Default Response, Read_Attributes_rsp, ...): it answers a request."""
        head = self._head
        return (
            head.header is not None
            and head.zcl is not None
            and head.zcl.frame_type == "global"
            and is_zcl_reply(head.header)
        )

    @property
    def is_cluster_command(self) -> bool:
        zcl = self._head.zcl
        return zcl is not None and zcl.frame_type == "cluster"

    @property
    def delivered(self) -> bool:
        """Handed to the radio and not reported undelivered: the DUT may have received it."""
        return self.kind is EntryKind.FRAME and self.transmitted and not self.delivery_error

    @property
    def parsed(self) -> Any:
        """The zigpy command schema instance (ZCL) or argument list (ZDO); None when it did not decode."""
        decoded = self.decoded
        return None if decoded is None else decoded.parsed

    @property
    def raw_hex(self) -> str:
        return self.raw.hex()

    def matches(self, command: str | int | None) -> bool:
        if command is None:
            return True
        if isinstance(command, int):
            return self._head.command_id == command
        return self._head.command == command

    # -- rendering ---------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind.value,
            "time": round(self.time, 6),
            "utc": self.utc.isoformat(timespec="milliseconds"),
            "direction": self.direction.value,
            "src": None if self.src is None else dict(_as_dict(self.src)),
            "dst": None if self.dst is None else dict(_as_dict(self.dst)),
            "profile": None if self.profile_id is None else f"0x{self.profile_id:04X}",
            "cluster_id": None if self.cluster_id is None else f"0x{self.cluster_id:04X}",
            "cluster": self.cluster,
            "zcl": None if self.zcl is None else dict(_as_dict(self.zcl)),
            "tsn": self.tsn,
            "command_id": self.command_id,
            "command": self.command,
            "fields": _plain(self.fields),
            "raw": self.raw_hex,
            "aps_counter": self.aps_counter,
            "lqi": self.lqi,
            "rssi": self.rssi,
            "note": self.note,
            "decision": self.decision,
            "decided_by": self.decided_by,
            "transmitted": self.transmitted,
            "delivery_error": self.delivery_error,
            "malformed": self.malformed,
            "error": self.error,
            "trailing": self.trailing.hex(),
            "in_reply_to": self.in_reply_to,
        }

    def to_line(self) -> str:
        """One human-readable line (the Allure attachment is these lines)."""
        stamp = f"#{self.index:04d} +{self.time:10.3f}s {self.utc.strftime('%H:%M:%S.%f')[:-3]}"
        if self.kind is EntryKind.DECISION:
            about = f" re #{self.in_reply_to}" if self.in_reply_to is not None else ""
            what = f" {self.command}" if self.command else ""
            return f"{stamp} {'decision':>8} ({self.decided_by}){about}{what}: {self.decision}"
        profile = PROFILE_NAMES.get(self.profile_id or 0, f"0x{self.profile_id:04X}")
        header = ""
        if self.zcl is not None:
            header = _header_text(self.zcl)
        elif self.tsn is not None:
            header = f" [tsn={self.tsn}]"
        fields = ", ".join(f"{k}={_text_value(k, _plain(v))}" for k, v in self.fields.items())
        body = f"{self.command}({fields})"
        if self.malformed:
            body += f" MALFORMED: {self.error}"
        elif self.error:
            body += f" ({self.error})"
        if self.trailing:
            body += f" +{len(self.trailing)} trailing octets"
        raw = self.raw[:_TEXT_RAW_OCTETS].hex() + ("…" if len(self.raw) > _TEXT_RAW_OCTETS else "")
        tags = []
        if not self.transmitted:
            tags.append("NOT SENT")
        if self.delivery_error:
            tags.append(f"UNDELIVERED: {self.delivery_error}")
        reason = self.decision or self.note
        if reason:
            tags.append(f"{self.decided_by + ': ' if self.decided_by else ''}{reason}")
        suffix = "".join(f" [{tag}]" for tag in tags)
        return (
            f"{stamp} {self.direction.value:>8} {_text(self.src)} -> {_text(self.dst)} {profile} "
            f"{self.cluster}{header} {body} raw={raw}{suffix}"
        )

    def __repr__(self) -> str:
        return f"<TranscriptEntry #{self.index} {self.direction.value} {self.command or self.kind.value}>"


@functools.lru_cache(maxsize=1024)
def _as_dict(value: Party | ZclHeaderInfo) -> dict[str, Any]:
    """``value.as_dict()`` once per distinct party or header (a transcript repeats a few of them); callers
    copy it."""
    return value.as_dict()


@functools.lru_cache(maxsize=1024)
def _text(party: Party | None) -> str:
    return str(party)


@functools.lru_cache(maxsize=1024)
def _header_text(zcl: ZclHeaderInfo) -> str:
    """The ZCL header as ``to_line`` shows it (once per distinct header)."""
    bits = [f"tsn={zcl.tsn}", "cl" if zcl.frame_type == "cluster" else "gen"]
    bits.append("c>s" if zcl.client_to_server else "s>c")
    if zcl.manufacturer_specific:
        bits.append(f"mfr=0x{zcl.manufacturer_code or 0:04X}")
    if zcl.disable_default_response:
        bits.append("noDR")
    return " [" + " ".join(bits) + "]"


def _text_value(name: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and name in _HEX_FIELDS:
        return f"0x{value:X}"
    if name == "image_data" and isinstance(value, str):
        octets = len(value) // 2
        return f"<{octets} octets {value[:16]}{'…' if octets > 8 else ''}>"
    return str(value)


@dataclass
class Attribution:
    """The decision behind the frames sent inside ``Transcript.attribute`` (and which entries they are)."""

    transcript: Transcript
    note: str
    by: str
    in_reply_to: int | None
    entries: list[TranscriptEntry] = field(default_factory=list)


_ATTRIBUTION: contextvars.ContextVar[Attribution | None] = contextvars.ContextVar(
    "harness_transcript_attribution", default=None
)

EntryListener = Callable[[TranscriptEntry], None]


# ---------------------------------------------------------------------------------------------------------
# The transcript


class Transcript:
    """Every frame of one scenario, in order, with the decisions behind what the suite sent."""

    def __init__(self, clock: Clock, *, dut_eui64: Eui64 | str | None = None, name: str = "") -> None:
        self.clock = clock
        self.name = name
        self.dut_eui64: str | None = None if dut_eui64 is None else Eui64.parse(dut_eui64).dashed
        self._entries: list[TranscriptEntry] = []
        self._listeners: list[EntryListener] = []
        self._app: Any = None
        self._remove_tap: Callable[[], None] | None = None
        self._learned: dict[int, str] = {}  # NWK -> EUI-64 from Device_annce frames
        self._roles: dict[str, Role] = {}  # EUI-64 -> role (the rogue node, ...)
        #: Resolved parties by address (only those whose EUI-64 is known: an unknown one may become known);
        #: emptied whenever what resolves them changes (a Device_annce, a registered party, re-attaching).
        self._parties: dict[FrameAddress, Party] = {}
        self._ch_parties: dict[int | None, Party] = {}  # the CH as the source of its own frames, by endpoint
        self._recorded = _Recorded(clock)
        #: A backstop on the transcript's size (``harness.dut.traffic`` sets it from the scenario's caps): entries
        #: past it are counted in ``omitted``, not kept, and ``on_overflow`` is called once.
        self.max_entries: int = sys.maxsize
        self.omitted = 0
        self.on_overflow: Callable[[], None] | None = None

    # -- wiring ------------------------------------------------------------------------------------------
    def attach(self, app: Any) -> None:
        """Record every frame ``app`` (a ``HarnessAppMixin``) taps; resolve addresses through its tables."""
        self.detach()
        self._app = app
        self._forget_parties()
        self._remove_tap = app.add_frame_listener(self.record_frame)

    def detach(self) -> None:
        if self._remove_tap is not None:
            self._remove_tap()
            self._remove_tap = None

    def register_party(self, eui64: Eui64 | str, role: Role, *, nwk: int | None = None) -> None:
        """Name a node's role (e.g. the rogue node) so its frames say who sent them; ``nwk`` is its
        address when zigpy does not know the node (it never joined through zigpy)."""
        eui = Eui64.parse(eui64).dashed
        self._roles[eui] = role
        if nwk is not None:
            self._learned[nwk] = eui
        self._forget_parties()

    def add_listener(self, listener: EntryListener) -> Callable[[], None]:
        """Call ``listener(entry)`` for every new entry; returns the function removing it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @contextlib.contextmanager
    def attribute(self, note: str, *, by: str = "CH", in_reply_to: int | None = None) -> Iterator[Attribution]:
        """Frames sent inside this block (by the current task and tasks it starts) carry ``note``."""
        attribution = Attribution(self, note, by, in_reply_to)
        token = _ATTRIBUTION.set(attribution)
        try:
            yield attribution
        finally:
            _ATTRIBUTION.reset(token)

    # -- recording ---------------------------------------------------------------------------------------
    def record_frame(self, frame: RawFrame) -> TranscriptEntry:
        """The glue's frame listener: one entry per frame. Never raises on a strange frame.

        Only the header is read here (the payload is decoded when someone reads it), except for ZDO frames,
        whose Device_annce teaches the transcript a device's addresses.
        """
        if frame.is_zdo:
            decoded = self._recorded.decoded(frame)
            head = _head_of(decoded)
            if decoded.command == "Device_annce" and not decoded.malformed:
                nwk, ieee = decoded.parsed[0], decoded.parsed[1]
                self._learned[int(nwk)] = Eui64.parse(str(ieee)).dashed
                self._forget_parties()
        else:
            head = zcl_head(frame.cluster_id, frame.data)
        outgoing = frame.direction is FrameDirection.OUT
        if outgoing and frame.src.mode is AddressMode.NONE:
            src = self._ch_party(frame.src.endpoint)
        else:
            src = self._party(frame.src)
        dst = self._party(frame.dst)
        transmitted = frame.note not in SUPPRESSED_NOTES
        if not outgoing:
            direction = Direction.FROM_DUT if src.role is Role.DUT else Direction.OTHER
        else:
            to_dut = dst.role in (Role.DUT, Role.BROADCAST, Role.GROUP)
            direction = Direction.TO_DUT if to_dut else Direction.OTHER
        decision, decided_by, in_reply_to = "", "", None
        attribution = _ATTRIBUTION.get()
        if outgoing:
            if attribution is not None and attribution.transcript is self:
                decision, decided_by, in_reply_to = attribution.note, attribution.by, attribution.in_reply_to
            elif not transmitted:
                decision, decided_by = frame.note, "CH"  # the glue suppressed it on the CH's behalf
            elif frame.cluster_id == OTA_CLUSTER_ID and not frame.is_zdo:
                decision = f"allowed: zigpy {head.command or 'frame'} (profile-wide request, not an OTA command)"
                decided_by = "zigpy"
            else:
                decided_by = "zigpy"
        entry = TranscriptEntry._of_frame(
            self._recorded,
            len(self._entries),
            self.clock.now(),
            direction,
            src,
            dst,
            head,
            frame,
            decision=decision,
            decided_by=decided_by,
            transmitted=transmitted,
            in_reply_to=in_reply_to,
        )
        if attribution is not None and attribution.transcript is self and outgoing:
            attribution.entries.append(entry)
        return self._append(entry)

    def record_decision(
        self,
        note: str,
        *,
        by: str = "CH",
        in_reply_to: int | None = None,
        command: str = "",
        direction: Direction = Direction.TO_DUT,
    ) -> TranscriptEntry:
        """A decision that sends no frame (dropped, ignored, scheduled for later)."""
        request = self._entries[in_reply_to] if in_reply_to is not None else None
        entry = TranscriptEntry(
            index=len(self._entries),
            kind=EntryKind.DECISION,
            time=self.clock.now(),
            utc=self.clock.utcnow(),
            direction=direction,
            src=request.dst if request is not None else None,
            dst=request.src if request is not None else None,
            profile_id=None,
            cluster_id=request.cluster_id if request is not None else None,
            cluster=request.cluster if request is not None else "",
            command_id=None,
            command=command or (request.command if request is not None else ""),
            fields={},
            tsn=request.tsn if request is not None else None,
            decision=note,
            decided_by=by,
            in_reply_to=in_reply_to,
        )
        return self._append(entry)

    def release(self) -> None:
        """The scenario is over and its evidence written: drop the entries and their decodes, so that whatever
        still holds the transcript (a report plugin keeps the failure's traceback, whose frames hold it, for the
        whole session) holds no traffic. A run of many FAILs (a device that floods every scenario) would
        otherwise keep every scenario's traffic in memory. The entries omitted stay counted."""
        self._recorded.forget()
        self._entries = []

    def mark_undelivered(self, attribution: Attribution, error: str) -> None:
        """The radio reported that the frames sent under ``attribution`` did not reach their destination."""
        for entry in attribution.entries:
            entry.delivery_error = error

    def entry_for(self, frame: RawFrame) -> TranscriptEntry | None:
        """The entry recorded for ``frame`` (the glue taps before it routes, so it is usually the last)."""
        for entry in reversed(self._entries[-64:]):
            if entry.frame is frame:
                return entry
        return None

    def _append(self, entry: TranscriptEntry) -> TranscriptEntry:
        if len(self._entries) >= self.max_entries:
            self.omitted += 1
            if self.omitted == 1 and self.on_overflow is not None:
                self.on_overflow()
            return entry
        self._entries.append(entry)
        for listener in list(self._listeners):
            try:
                listener(entry)
            except Exception:
                LOGGER.exception("transcript listener %r failed on %r", listener, entry)
        self.clock.notify()
        return entry

    # -- address resolution ------------------------------------------------------------------------------
    def _party(self, address: FrameAddress) -> Party:
        party = self._parties.get(address)
        if party is None:
            party = self._resolve(address)
            if party.eui64 is not None or party.role in (Role.BROADCAST, Role.GROUP):
                self._parties[address] = party
        return party

    def _forget_parties(self) -> None:
        self._parties.clear()
        self._ch_parties.clear()

    def _ch_party(self, endpoint: int | None) -> Party:
        """The CH as the source of a frame it sends (the radio fills in the coordinator's address)."""
        party = self._ch_parties.get(endpoint)
        if party is None:
            party = Party(Role.CH, COORDINATOR_NWK, self._coordinator_eui(), endpoint)
            if party.eui64 is not None:
                self._ch_parties[endpoint] = party
        return party

    def _resolve(self, address: FrameAddress) -> Party:
        endpoint = address.endpoint
        if address.mode is AddressMode.BROADCAST:
            return Party(Role.BROADCAST, _int(address.address), None, endpoint)
        if address.mode is AddressMode.GROUP:
            return Party(Role.GROUP, _int(address.address), None, endpoint)
        if address.mode is AddressMode.IEEE:
            eui = Eui64.parse(str(address.address)).dashed
            return Party(self._role(None, eui), self._nwk_of(eui), eui, endpoint)
        nwk = _int(address.address)
        eui = self._eui_of(nwk)
        return Party(self._role(nwk, eui), nwk, eui, endpoint)

    def _role(self, nwk: int | None, eui: str | None) -> Role:
        if eui is not None and eui == self.dut_eui64:
            return Role.DUT
        if eui is not None and eui in self._roles:
            return self._roles[eui]
        if nwk == COORDINATOR_NWK or (eui is not None and eui == self._coordinator_eui()):
            return Role.CH
        return Role.OTHER

    def _coordinator_eui(self) -> str | None:
        try:
            return Eui64.parse(str(self._app.state.node_info.ieee)).dashed
        except Exception:
            return None

    def _eui_of(self, nwk: int | None) -> str | None:
        if nwk is None:
            return None
        if nwk in self._learned:
            return self._learned[nwk]
        if nwk == COORDINATOR_NWK:
            return self._coordinator_eui()
        try:
            return Eui64.parse(str(self._app.get_device(nwk=t.NWK(nwk)).ieee)).dashed
        except Exception:
            return None

    def _nwk_of(self, eui: str) -> int | None:
        for nwk, known in self._learned.items():
            if known == eui:
                return nwk
        try:
            return int(self._app.get_device(ieee=t.EUI64.convert(Eui64.parse(eui).colon)).nwk)
        except Exception:
            return None

    # -- queries -----------------------------------------------------------------------------------------
    @property
    def entries(self) -> list[TranscriptEntry]:
        """A snapshot of every entry (safe to read from another thread)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[TranscriptEntry]:
        return iter(list(self._entries))

    def __getitem__(self, index: int) -> TranscriptEntry:
        return self._entries[index]

    def mark(self) -> int:
        """A position to query from later (``since(mark)``, ``since=`` of the helpers)."""
        return len(self._entries)

    def since(self, mark: int | None) -> list[TranscriptEntry]:
        return list(self._entries[mark or 0 :])

    def select(
        self,
        *,
        direction: Direction | None = None,
        cluster_id: int | None = None,
        command: str | int | None = None,
        since: int | None = None,
        kind: EntryKind | None = EntryKind.FRAME,
        predicate: Callable[[TranscriptEntry], bool] | None = None,
    ) -> list[TranscriptEntry]:
        """Entries matching every given filter, in order (frames only unless ``kind`` says otherwise)."""
        return [
            e
            for e in self.since(since)
            if (kind is None or e.kind is kind)
            and (direction is None or e.direction is direction)
            and (cluster_id is None or e.cluster_id == cluster_id)
            and e.matches(command)
            and (predicate is None or predicate(e))
        ]

    def ota_requests(self, command: str | int | None = None, since: int | None = None) -> list[TranscriptEntry]:
        """OTA client→server cluster commands the DUT sent (malformed ones included, flagged)."""
        return self.select(
            direction=Direction.FROM_DUT,
            cluster_id=OTA_CLUSTER_ID,
            command=command,
            since=since,
            predicate=lambda e: e.is_cluster_command and e.zcl is not None and e.zcl.client_to_server,
        )

    def block_round_trip(self, since: int | None = None) -> float:
        """The shortest time the link took from an Image Block Response the hub delivered to the device's next
        block request: the answer crossing the air, the device turning round, its request crossing back (0 when
        nothing shows it)."""
        turns: list[float] = []
        sent: float | None = None
        for entry in self.since(since):
            if entry.direction is Direction.FROM_DUT and entry.is_ota and entry.matches("image_block"):
                if not entry.malformed and sent is not None:
                    turns.append(entry.time - sent)
                sent = None
            elif entry.direction is Direction.TO_DUT and entry.matches("image_block_response") and entry.delivered:
                sent = entry.time
        return max(0.0, min(turns, default=0.0))

    def ota_responses(
        self, command: str | int | None = None, since: int | None = None, *, include_suppressed: bool = False
    ) -> list[TranscriptEntry]:
        """OTA server→client cluster commands sent to the DUT (by default only those handed to the radio)."""
        return self.select(
            direction=Direction.TO_DUT,
            cluster_id=OTA_CLUSTER_ID,
            command=command,
            since=since,
            predicate=lambda e: (
                e.is_cluster_command
                and e.zcl is not None
                and not e.zcl.client_to_server
                and (include_suppressed or e.transmitted)
            ),
        )

    def from_dut(
        self, command: str | int | None = None, since: int | None = None, *, cluster_id: int | None = None
    ) -> list[TranscriptEntry]:
        return self.select(direction=Direction.FROM_DUT, cluster_id=cluster_id, command=command, since=since)

    def to_dut(
        self, command: str | int | None = None, since: int | None = None, *, cluster_id: int | None = None
    ) -> list[TranscriptEntry]:
        return self.select(direction=Direction.TO_DUT, cluster_id=cluster_id, command=command, since=since)

    def decisions(self, since: int | None = None) -> list[TranscriptEntry]:
        return self.select(since=since, kind=EntryKind.DECISION)

    def last(
        self,
        command: str | int | None = None,
        *,
        direction: Direction | None = None,
        since: int | None = None,
        kind: EntryKind | None = EntryKind.FRAME,
    ) -> TranscriptEntry | None:
        found = self.select(direction=direction, command=command, since=since, kind=kind)
        return found[-1] if found else None

    def count(
        self,
        command: str | int | None = None,
        *,
        direction: Direction | None = None,
        since: int | None = None,
    ) -> int:
        return len(self.select(direction=direction, command=command, since=since))

    def block_offsets(self, since: int | None = None) -> list[int]:
        """The file offsets of the DUT's Image Block Requests, in the order it asked for them."""
        return [
            int(e.fields["file_offset"])
            for e in self.ota_requests("image_block", since)
            if not e.malformed and "file_offset" in e.fields
        ]

    def delivered_to_dut(
        self,
        command: str | int,
        since: int | None = None,
        *,
        predicate: Callable[[TranscriptEntry], bool] | None = None,
    ) -> list[TranscriptEntry]:
        """Frames of ``command`` the suite handed to the radio for the DUT and the radio did not report
        undelivered (a stimulus the DUT may be judged on), in order, optionally filtered by ``predicate``."""
        return [e for e in self.to_dut(command, since) if e.delivered and (predicate is None or predicate(e))]

    def answer_window(self, start: int) -> list[TranscriptEntry]:
        """What the DUT did in answer to the stimulus at ``start``: the entries from there up to, not
        including, the DUT's next Query Next Image Request.

        Why the query ends it: a query starts another attempt (the device's periodic query, or its query after
        giving up), and the CH may offer the image again; what that attempt does is no answer to the stimulus.
        A judgement of "gives up", "stops" or "asks again" that looked past it would blame (or excuse) the
        device for what a later query started.
        """
        window: list[TranscriptEntry] = []
        for entry in self._entries[start:]:
            if (
                entry.index > start
                and entry.direction is Direction.FROM_DUT
                and entry.is_ota
                and entry.is_cluster_command
                and entry.matches("query_next_image")
            ):
                break
            window.append(entry)
        return window

    def request_answered(self, response: TranscriptEntry) -> TranscriptEntry | None:
        """The DUT's request a response of the suite answered (``in_reply_to``), if recorded."""
        index = response.in_reply_to
        return None if index is None or not 0 <= index < len(self._entries) else self._entries[index]

    def zcl_reply(self, cluster_id: int, tsn: int, since: int | None = None) -> TranscriptEntry | None:
        """The DUT's first profile-wide reply (Read_Attributes_rsp, Default_Response, ...) with ``tsn`` on
        ``cluster_id`` from ``since``: what answered a request of the suite, seen on the radio tap, so a reply
        zigpy drops as a repeat (same octets within 10 s once the 8-bit TSN wrapped) is still found."""
        for entry in self._entries[since or 0 :]:
            if (
                entry.direction is Direction.FROM_DUT
                and entry.cluster_id == cluster_id
                and entry.tsn == tsn
                and entry.decoded is not None
                and entry.decoded.header is not None
                and is_zcl_reply(entry.decoded.header)
            ):
                return entry
        return None

    def received_stimulus(self, kind: str | int, since: int | None = None, *, by: str | None = None) -> bool:
        """Did the DUT receive ``kind`` (a command name such as "image_notify"), sent by ``by`` ("CH",
        "rogue"; None = anyone)? Suppressed and undelivered frames do not count. The budget rule of
        ``harness.verdicts`` rests on this."""
        return any(e.delivered and (by is None or e.decided_by == by) for e in self.to_dut(kind, since))

    async def wait_for(
        self,
        predicate: Callable[[TranscriptEntry], bool],
        budget: Budget | float,
        *,
        since: int | None = None,
    ) -> TranscriptEntry | None:
        """The first entry (from ``since``) matching ``predicate``; time runs for at most ``budget``."""
        cursor = since or 0
        found: list[TranscriptEntry] = []

        def check() -> bool:
            nonlocal cursor
            entries = self._entries
            while cursor < len(entries):
                entry = entries[cursor]
                cursor += 1
                if predicate(entry):
                    found.append(entry)
                    return True
            return False

        await self.clock.run_until(check, budget)
        return found[0] if found else None

    # -- rendering ---------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """Counts for reports: commands by direction, decisions, malformed and suppressed frames."""
        by_direction: dict[str, Counter[str]] = {d.value: Counter() for d in Direction}
        decisions: Counter[str] = Counter()
        malformed = suppressed = undelivered = 0
        for entry in self.entries:
            if entry.kind is EntryKind.DECISION:
                decisions[entry.decision.split(":", 1)[0]] += 1
                continue
            by_direction[entry.direction.value][entry.command or f"{entry.cluster} frame"] += 1
            malformed += entry.malformed
            suppressed += not entry.transmitted
            undelivered += bool(entry.delivery_error)
        return {
            "entries": len(self._entries),
            "frames": {d: dict(sorted(c.items())) for d, c in by_direction.items() if c},
            "decisions": dict(sorted(decisions.items())),
            "malformed": malformed,
            "suppressed": suppressed,
            "undelivered": undelivered,
            **({"omitted": self.omitted} if self.omitted else {}),
        }

    def to_text(self) -> str:
        return self.text_title() + "".join(entry.to_line() + "\n" for entry in self.entries)

    def text_title(self) -> str:
        """The first line of ``to_text()``."""
        return f"Transcript {self.name!r}, DUT {self.dut_eui64 or '?'}: {len(self._entries)} entries\n"

    def to_dicts(self) -> list[dict[str, Any]]:
        return [entry.as_dict() for entry in self.entries]

    def to_json(self, indent: int | None = None) -> str:
        document = {
            "transcript": self.name,
            "dut_eui64": self.dut_eui64,
            "summary": self.summary(),
            "entries": self.to_dicts(),
        }
        return json.dumps(document, indent=indent, default=str)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Transcript{name} {len(self._entries)} entries>"


def _int(value: int | str | None) -> int | None:
    return value if isinstance(value, int) else None


def entries_text(entries: Sequence[TranscriptEntry]) -> str:
    """Lines of a few entries (for failure messages that quote the evidence)."""
    return "\n".join(entry.to_line() for entry in entries)


__all__ = [
    "Attribution",
    "Decoded",
    "Direction",
    "EntryKind",
    "Party",
    "Role",
    "Transcript",
    "TranscriptEntry",
    "ZclHeaderInfo",
    "cluster_name",
    "decode",
    "entries_text",
]
