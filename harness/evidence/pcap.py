"""A scenario's traffic as a pcapng capture (IEEE 802.15.4 with FCS) that Wireshark and tshark dissect.

Why: a certification body, a vendor or a regulator reading a verdict wants the frames in the tool they
already trust, not only the suite's own transcript. The radio seam sees APS frames (addresses, endpoints,
profile, cluster, the ZCL or ZDO octets), not what the radio put on the air, so the capture is a
*reconstruction*: each transmitted transcript frame becomes an 802.15.4 MAC data frame (PAN ID, short
addresses, FCS), a Zigbee NWK data header and an APS data header, all built with scapy's
``scapy.layers.dot15d4`` / ``scapy.layers.zigbee`` layers, carrying the transcript's octets verbatim. No
NWK or APS security is reconstructed (a real Smart Energy HAN encrypts both), so the payload is readable;
the section header comment says so, and names the suite, the scenario, the DUT and the clock the
timestamps come from.

An APS frame too long for one 127-octet PSDU (a tunnel TransferData carrying a GBCS APDU, say) is split
into APS fragments (extended header: first block carries the block count, later blocks their number, all
under one APS counter), as a radio would send it; Wireshark reassembles them. Frames the suite malformed on
purpose carry a packet comment starting ``MALFORMED ON PURPOSE``, so an expert error on such a packet is
explained and one on any other packet is a finding.

Speed: a full scapy build costs about 1 ms a frame, too slow for the thousands of frames of a download.
Headers are therefore built by scapy once per layer and flow (MAC: PAN ID and addresses; NWK: addresses;
APS: endpoints, cluster, profile, fragment block) and cached; per frame only the three sequence octets the
headers carry (MAC sequence number, NWK sequence number, APS counter) are set and the FCS is computed by
scapy's ``Dot15d4FCS.compute_fcs``. A test checks the result equals scapy's full build octet for octet.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scapy.layers.dot15d4 import Dot15d4Data, Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload, ZigbeeNWK
from scapy.packet import Packet, Raw
from scapy.utils import PcapNgWriter

from harness import __version__
from harness.evidence.bounds import evidence_limit
from harness.perf.airtime import MAX_PSDU
from harness.radio.frames import FrameDirection
from harness.reports.evidence_paths import evidence_dir, item_scenario_name
from harness.transcript import Direction, Party, Role, TranscriptEntry

LOGGER = logging.getLogger(__name__)

#: LINKTYPE_IEEE802_15_4_WITHFCS: tshark dissects it as "IEEE 802.15.4 Wireless PAN" and checks the FCS.
LINKTYPE_IEEE802_15_4_WITHFCS = 195
FCS_OCTETS = 2
#: The file name of the capture inside the scenario's evidence folder.
CAPTURE_FILENAME = "capture.pcapng"
#: Marks a packet comment of a frame the suite malformed on purpose (tests and readers search for it).
MALFORMED_ON_PURPOSE = "MALFORMED ON PURPOSE"
#: The phrase the CH, the adapter and the rogue node put in the decision of a frame malformed on purpose.
_ON_PURPOSE_PHRASE = "malformed on purpose"

NWK_RADIUS = 30  # 2 × a typical nwkMaxDepth of 15
MAC_BROADCAST = 0xFFFF
NWK_BROADCAST_RX_ON = 0xFFFD  # group frames go to every node with its receiver on
UNKNOWN_NWK = 0xFFFE  # "no short address": used when the transcript has none for a party
APS_FC_ACK_REQUEST = 0x4  # scapy's APS frame_control flags: ack_format 1, security 2, ack_req 4, extended_hdr 8
APS_FC_EXTENDED_HEADER = 0x8
APS_UNICAST, APS_BROADCAST, APS_GROUP = 0, 2, 3
APS_FIRST_BLOCK, APS_LATER_BLOCK = 1, 2
#: Offset of the sequence number inside a Zigbee NWK header (frame control 2, dst 2, src 2, radius 1).
NWK_SEQ_OFFSET = 7
#: Offset of the sequence number inside an 802.15.4 MAC header (frame control 2).
MAC_SEQ_OFFSET = 2
EPB_INBOUND, EPB_OUTBOUND = 1, 2
#: Octets a pcapng enhanced packet block adds to its packet and comment (block header, padding, options).
_PACKET_OVERHEAD = 48

_FCS = Dot15d4FCS()


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """What the section header says about the capture (and the PAN ID the frames carry)."""

    suite: str
    scenario: str
    dut_eui64: str | None
    pan_id: int | None
    channel: int | None = None
    clock: str = "virtual"  # "virtual" (emulator) or "real" (hardware run)
    feature: str = ""


@dataclass(frozen=True, slots=True)
class CaptureFrame:
    """One 802.15.4 frame of the capture: the PSDU (MAC header to FCS), when, and its packet comment."""

    psdu: bytes
    timestamp: float  # POSIX seconds (the transcript's UTC, on the run's clock)
    comment: str
    entry_index: int
    block: int = 0  # APS fragment number, 0-based (0 for an unfragmented frame)
    blocks: int = 1  # APS fragments of this transcript frame
    epb_direction: int | None = None  # pcapng EPB flags: 1 inbound (to the coordinator), 2 outbound
    malformed_on_purpose: bool = False


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What was written (for the evidence record and for tests)."""

    path: Path | None
    frames: int
    fragmented_entries: int
    largest_psdu: int
    omitted_suppressed: int
    malformed_on_purpose: int


@dataclass(frozen=True, slots=True)
class _HeaderKey:
    """Every header field of one flow except the three per-frame sequence octets."""

    pan_id: int
    mac_src: int
    mac_dst: int
    nwk_src: int
    nwk_dst: int
    unicast: bool
    delivery_mode: int
    dst_endpoint: int
    group: int
    cluster: int
    profile: int
    src_endpoint: int
    fragmentation: int = 0  # 0 none, 1 first block, 2 a later block
    block_number: int = 0  # block count in the first block, the block's number in a later one


def is_malformed_on_purpose(entry: TranscriptEntry) -> bool:
    """Sent by the suite with a decision saying the frame is malformed on purpose (the CH's injected faults
    and raw frames; the rogue node or the adapter when their note says so)."""
    return entry.decided_by != "" and _ON_PURPOSE_PHRASE in entry.decision.lower()


# ---------------------------------------------------------------------------------------------------------
# Frames


def _mac_layer(key: _HeaderKey, seq: int) -> Packet:
    """The 802.15.4 data frame header (2003 frame version, PAN ID compression, short addresses)."""
    return Dot15d4FCS(
        fcf_frametype=1,
        fcf_ackreq=int(key.unicast),
        fcf_panidcompress=1,
        fcf_destaddrmode=2,
        fcf_srcaddrmode=2,
        fcf_framever=0,
        seqnum=seq,
    ) / Dot15d4Data(dest_panid=key.pan_id, dest_addr=key.mac_dst, src_addr=key.mac_src)


def _nwk_layer(key: _HeaderKey, seq: int) -> ZigbeeNWK:
    """The Zigbee PRO NWK data header, security off, no extended addresses."""
    return ZigbeeNWK(
        frametype=0,
        proto_version=2,
        discover_route=1 if key.unicast else 0,
        flags=0,
        destination=key.nwk_dst,
        source=key.nwk_src,
        radius=NWK_RADIUS,
        seqnum=seq,
    )


def _aps_layer(key: _HeaderKey, counter: int) -> ZigbeeAppDataPayload:
    """The APS data header, security off; the extended header when the frame is one APS fragment."""
    control = (APS_FC_ACK_REQUEST if key.unicast else 0) | (APS_FC_EXTENDED_HEADER if key.fragmentation else 0)
    fields: dict[str, Any] = {
        "frame_control": control,
        "delivery_mode": key.delivery_mode,
        "aps_frametype": 0,
        "cluster": key.cluster,
        "profile": key.profile,
        "src_endpoint": key.src_endpoint,
        "counter": counter,
    }
    if key.delivery_mode == APS_GROUP:
        fields["group_addr"] = key.group
    else:
        fields["dst_endpoint"] = key.dst_endpoint
    if key.fragmentation:
        fields.update(fragmentation=key.fragmentation, block_number=key.block_number)
    return ZigbeeAppDataPayload(**fields)


def scapy_frame(key: _HeaderKey, *, mac_seq: int, nwk_seq: int, aps_counter: int, payload: bytes) -> Packet:
    """The full scapy packet of one frame (the reference the cached fast path must equal)."""
    return _mac_layer(key, mac_seq) / _nwk_layer(key, nwk_seq) / _aps_layer(key, aps_counter) / Raw(load=payload)


# Each layer is cached on the fields it depends on only: the APS header (endpoints, cluster, profile) is the
# same in every scenario, while the MAC and NWK headers change with each scenario's PAN ID and addresses.
_MAC_FIELDS = ("pan_id", "mac_src", "mac_dst", "unicast")
_NWK_FIELDS = ("nwk_src", "nwk_dst", "unicast")
_APS_FIELDS = (
    "unicast",
    "delivery_mode",
    "dst_endpoint",
    "group",
    "cluster",
    "profile",
    "src_endpoint",
    "fragmentation",
    "block_number",
)


def _only(key: _HeaderKey, names: tuple[str, ...]) -> _HeaderKey:
    """``key`` with every field but ``names`` zeroed (a cache key for one layer)."""
    return _HeaderKey(**{name: getattr(key, name) if name in names else 0 for name in _HeaderKey.__dataclass_fields__})


@functools.lru_cache(maxsize=1024)
def _mac_octets(key: _HeaderKey) -> bytes:
    return bytes(_mac_layer(key, 0))[:-FCS_OCTETS]


@functools.lru_cache(maxsize=1024)
def _nwk_octets(key: _HeaderKey) -> bytes:
    return bytes(_nwk_layer(key, 0))


@functools.lru_cache(maxsize=1024)
def _aps_octets(key: _HeaderKey) -> bytes:
    return bytes(_aps_layer(key, 0))


@functools.lru_cache(maxsize=1024)
def _header(key: _HeaderKey) -> tuple[bytes, int, int]:
    """(header octets without FCS, offset of the NWK sequence number, offset of the APS counter)."""
    mac = _mac_octets(_only(key, _MAC_FIELDS))
    nwk = _nwk_octets(_only(key, _NWK_FIELDS))
    aps = _aps_octets(_only(key, _APS_FIELDS))
    extended = 2 if key.fragmentation else 0  # extended frame control + block number follow the counter
    return mac + nwk + aps, len(mac) + NWK_SEQ_OFFSET, len(mac) + len(nwk) + len(aps) - extended - 1


def _psdu(key: _HeaderKey, mac_seq: int, nwk_seq: int, aps_counter: int, payload: bytes) -> bytes:
    header, nwk_seq_at, counter_at = _header(key)
    frame = bytearray(header)
    frame[MAC_SEQ_OFFSET] = mac_seq & 0xFF
    frame[nwk_seq_at] = nwk_seq & 0xFF
    frame[counter_at] = aps_counter & 0xFF
    frame += payload
    return bytes(frame) + _FCS.compute_fcs(bytes(frame))


def _room(key: _HeaderKey) -> int:
    """Octets of APS payload one PSDU holds under this header."""
    return MAX_PSDU - len(_header(key)[0]) - FCS_OCTETS


def _nwk(party: Party | None) -> int:
    return UNKNOWN_NWK if party is None or party.nwk is None else int(party.nwk)


def _flow(entry: TranscriptEntry, pan_id: int) -> _HeaderKey:
    src, dst = entry.src, entry.dst
    role = dst.role if dst is not None else Role.OTHER
    nwk_src = _nwk(src)
    group = 0
    if role is Role.BROADCAST:
        mode, nwk_dst, mac_dst = APS_BROADCAST, _nwk(dst), MAC_BROADCAST
    elif role is Role.GROUP:
        mode, nwk_dst, mac_dst, group = APS_GROUP, NWK_BROADCAST_RX_ON, MAC_BROADCAST, _nwk(dst)
    else:
        mode, nwk_dst = APS_UNICAST, _nwk(dst)
        mac_dst = nwk_dst
    return _HeaderKey(
        pan_id=pan_id,
        mac_src=nwk_src,
        mac_dst=mac_dst,
        nwk_src=nwk_src,
        nwk_dst=nwk_dst,
        unicast=mode == APS_UNICAST,
        delivery_mode=mode,
        dst_endpoint=_endpoint(dst),
        group=group,
        cluster=int(entry.cluster_id or 0),
        profile=int(entry.profile_id or 0),
        src_endpoint=_endpoint(src),
    )


def _endpoint(party: Party | None) -> int:
    return 0 if party is None or party.endpoint is None else int(party.endpoint)


def _comment(entry: TranscriptEntry, on_purpose: bool) -> str:
    what = entry.command or f"{entry.cluster} frame"
    parts = [f"transcript #{entry.index}: {entry.direction.value} {what}"]
    if entry.decision:
        parts.append(f"{entry.decided_by or 'suite'}: {entry.decision}")
    elif entry.note:
        parts.append(f"glue: {entry.note}")
    if entry.decided_by == "rogue":
        parts.insert(0, "STIMULUS FROM THE ROGUE NODE (not the CH)")
    if entry.malformed and not on_purpose:
        parts.insert(0, f"MALFORMED (not marked on purpose; the transcript could not decode it: {entry.error})")
    if on_purpose:
        parts.insert(0, f"{MALFORMED_ON_PURPOSE} (a stimulus of the suite; an expert error here is expected)")
    if entry.delivery_error:
        parts.append(f"UNDELIVERED: the radio reported {entry.delivery_error}")
    return "; ".join(parts)


def _epb_direction(entry: TranscriptEntry) -> int | None:
    frame = entry.frame
    if frame is not None:
        if frame.direction is FrameDirection.IN:
            return EPB_INBOUND
        return EPB_OUTBOUND if entry.src is not None and entry.src.role is Role.CH else None
    return EPB_INBOUND if entry.direction is Direction.FROM_DUT else None


def capture_frames(entries: Iterable[TranscriptEntry], pan_id: int | None) -> list[CaptureFrame]:
    """The 802.15.4 frames of every transmitted transcript frame, in transcript order (APS-fragmented where
    one PSDU is too small). Suppressed frames never reached the air and are left out."""
    pan = MAC_BROADCAST if pan_id is None else int(pan_id)
    mac_seq: dict[int, int] = {}
    nwk_seq: dict[int, int] = {}
    frames: list[CaptureFrame] = []
    for entry in entries:
        if not entry.is_frame or not entry.transmitted:
            continue
        key = _flow(entry, pan)
        payload = entry.raw
        counter = int(entry.aps_counter or 0)
        on_purpose = is_malformed_on_purpose(entry)
        comment = _comment(entry, on_purpose)
        timestamp = entry.utc.timestamp()
        direction = _epb_direction(entry)
        pieces = [(key, payload)] if len(payload) <= _room(key) else _fragments(key, payload)
        for block, (piece_key, piece) in enumerate(pieces):
            mac_seq[key.mac_src] = mac_seq.get(key.mac_src, -1) + 1  # every fragment is its own MAC and
            nwk_seq[key.nwk_src] = nwk_seq.get(key.nwk_src, -1) + 1  # NWK frame, under one APS counter
            note = ""
            if len(pieces) > 1:
                note = f"; APS fragment {block + 1} of {len(pieces)} ({len(payload)} octets reassembled)"
                if not key.unicast:
                    note += "; NB: Zigbee fragments unicast frames only"
            frames.append(
                CaptureFrame(
                    psdu=_psdu(piece_key, mac_seq[key.mac_src], nwk_seq[key.nwk_src], counter, piece),
                    timestamp=timestamp,
                    comment=comment + note,
                    entry_index=entry.index,
                    block=block,
                    blocks=len(pieces),
                    epb_direction=direction,
                    malformed_on_purpose=on_purpose,
                )
            )
    return frames


def _fragments(key: _HeaderKey, payload: bytes) -> list[tuple[_HeaderKey, bytes]]:
    """APS fragmentation: equal blocks of the most one PSDU holds under the extended header."""
    first = _with_block(key, APS_FIRST_BLOCK, 1)
    room = min(_room(first), _room(_with_block(key, APS_LATER_BLOCK, 1)))
    blocks = math.ceil(len(payload) / room)
    if blocks > 0xFF:
        raise ValueError(f"an APS frame of {len(payload)} octets needs {blocks} fragments; at most 255 exist")
    chunks = [payload[i : i + room] for i in range(0, len(payload), room)]
    return [(_with_block(key, APS_FIRST_BLOCK, blocks), chunks[0])] + [
        (_with_block(key, APS_LATER_BLOCK, number), chunk) for number, chunk in enumerate(chunks[1:], start=1)
    ]


def _with_block(key: _HeaderKey, fragmentation: int, block_number: int) -> _HeaderKey:
    return dataclasses.replace(key, fragmentation=fragmentation, block_number=block_number)


# ---------------------------------------------------------------------------------------------------------
# The file


def section_comment(context: CaptureContext, frames: Sequence[CaptureFrame], omitted: int, capped: int = 0) -> str:
    """The section header comment: what the file is, what it is not, and which clock stamped it."""
    pan = "unknown" if context.pan_id is None else f"0x{context.pan_id:04X}"
    channel = "" if context.channel is None else f", channel {context.channel}"
    if context.clock == "virtual":
        clock = (
            "the emulator's virtual clock (simulated time from the run's virtual UTC origin; the loopback link "
            "has zero latency, so a request and its answer may share a timestamp; modelled air time is "
            "reported separately by harness.perf.airtime)"
        )
    else:
        clock = "the real-time clock of the run (the time the frame crossed the radio seam)"
    lines = [
        f"{context.suite}: evidence capture",
        f"Scenario: {context.scenario}",
        *([f"Feature: {context.feature}"] if context.feature else []),
        f"DUT EUI-64: {context.dut_eui64 or 'unknown'}",
        f"PAN ID {pan}{channel}; coordinator (the suite's CH) NWK 0x0000",
        "RECONSTRUCTED AND UNENCRYPTED: not sniffed from the air. Each APS frame the suite's radio glue tapped "
        "is rebuilt as an IEEE 802.15.4 data frame (short addresses, single hop, FCS computed), a Zigbee NWK "
        "data header and an APS data header, WITHOUT the NWK and APS security a Smart Energy HAN uses; the "
        "APS payload (ZCL / ZDO octets) is verbatim. MAC and NWK sequence numbers are counted per source; the "
        "APS counter is the transcript's. MAC and APS acknowledgements are not shown.",
        "APS frames longer than one 127-octet PSDU are split into APS fragments (extended header) as a radio "
        "sends them; Wireshark reassembles them.",
        f"Timestamps: {clock}.",
        f"Frames: {len(frames)} packets; {omitted} frame(s) the glue suppressed (never transmitted) are omitted.",
        *(
            [f"The last {capped} packet(s) are left out: the capture is capped by PIXIT limits.evidence_octets."]
            if capped
            else []
        ),
        f"Packet comments give the transcript index and the suite's decision; '{MALFORMED_ON_PURPOSE}' marks "
        "a frame the suite malformed on purpose (its expert errors are expected).",
    ]
    return "\n".join(lines)


class _CaptureWriter(PcapNgWriter):
    """scapy's pcapng writer with a section header comment and application name (scapy writes neither)."""

    def __init__(self, filename: str, comment: str, application: str) -> None:
        super().__init__(filename)
        self.linktype = LINKTYPE_IEEE802_15_4_WITHFCS
        self._shb_options = [(1, comment.encode("utf-8")), (4, application.encode("utf-8"))]

    def _write_block_shb(self) -> None:  # scapy 2.8.0 API (pinned in pyproject.toml)
        body = self.endian_magic + struct.pack(self.endian + "HHq", 1, 0, -1)
        options = b"".join(
            struct.pack(self.endian + "HH", code, len(value)) + self._add_padding(value)
            for code, value in self._shb_options
        )
        options += struct.pack(self.endian + "HH", 0, 0)
        self.f.write(self.build_block(b"\x0a\x0d\x0d\x0a", body, options=options))


@dataclass(slots=True)
class _Record:
    """What scapy's ``write_packet`` reads from a packet: its octets, time, comments and direction."""

    psdu: bytes
    time: float
    comments: list[bytes]
    direction: int | None

    def __bytes__(self) -> bytes:
        return self.psdu


def write_capture(
    path: Path | str,
    entries: Iterable[TranscriptEntry],
    context: CaptureContext,
    max_octets: int | None = None,
    frames: Sequence[CaptureFrame] | None = None,
) -> CaptureResult:
    """Write ``entries`` (a transcript's) as a pcapng file at ``path``, its packets up to about ``max_octets``
    (the first ones: their numbers stay those of ``capture_frames``); returns what was written. ``frames``:
    ``capture_frames(entries, context.pan_id)`` when the caller built them already."""
    entries = list(entries)
    if frames is None:
        frames = capture_frames(entries, context.pan_id)
    capped = 0
    if max_octets is not None:
        kept, size = 0, 0
        for frame in frames:
            size += len(frame.psdu) + len(frame.comment) + _PACKET_OVERHEAD
            if size > max_octets:
                break
            kept += 1
        frames, capped = frames[:kept], len(frames) - kept
    omitted = sum(1 for e in entries if e.is_frame and not e.transmitted)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    application = f"gb-ota-conformance {__version__} (harness.evidence.pcap, scapy)"
    with _CaptureWriter(str(path), section_comment(context, frames, omitted, capped), application) as writer:
        writer.write_header(None)
        for frame in frames:
            writer.write_packet(_Record(frame.psdu, frame.timestamp, [frame.comment.encode()], frame.epb_direction))
    return CaptureResult(
        path=path,
        frames=len(frames),
        fragmented_entries=len({f.entry_index for f in frames if f.blocks > 1}),
        largest_psdu=max((len(f.psdu) for f in frames), default=0),
        omitted_suppressed=omitted,
        malformed_on_purpose=len({f.entry_index for f in frames if f.malformed_on_purpose}),
    )


def write_scenario_capture(
    entries: Iterable[TranscriptEntry],
    run_dir: Path | str,
    run_key: str,
    context: CaptureContext,
    max_octets: int | None = None,
    frames: Sequence[CaptureFrame] | None = None,
) -> CaptureResult:
    """``RUN_DIR/evidence/<slug of run_key>/capture.pcapng``: ``run_key`` is the pytest item name, the key every
    evidence writer shares (``harness.reports.evidence_paths``)."""
    path = evidence_dir(run_dir, run_key) / CAPTURE_FILENAME
    return write_capture(path, entries, context, max_octets, frames)


def capture_evidence(
    item: Any, dut: Any, run_dir: Path | str | None, frames: Sequence[CaptureFrame] | None = None
) -> list[tuple[str, object]]:
    """The end-of-scenario hook: write the capture of ``dut``'s transcript for pytest ``item`` and return the
    user properties to record (``evidence:capture``, a path relative to the run directory). Nothing without
    a run directory. A capture that cannot be written is recorded as ``evidence:capture_error`` and logged:
    missing evidence is reported, it never changes the device's verdict."""
    if not run_dir:
        return []
    run_key = str(getattr(item, "name", "scenario"))
    scenario = item_scenario_name(item) or run_key
    feature = next((str(value) for key, value in getattr(item, "user_properties", []) if key == "feature"), "")
    try:
        network = getattr(getattr(dut.app, "state", None), "network_info", None)
        context = CaptureContext(
            suite=f"GB OTA conformance suite (gb-ota-conformance {__version__})",
            scenario=scenario,
            feature=feature,
            dut_eui64=str(dut.dut_eui64.dashed) if dut.dut_eui64 is not None else None,
            pan_id=None if network is None else int(network.pan_id),
            channel=None if network is None else int(network.channel),
            clock="virtual" if dut.clock.virtual else "real",
        )
        limit = evidence_limit(dut)
        result = write_scenario_capture(dut.transcript.entries, run_dir, run_key, context, limit, frames)
    except Exception as err:  # evidence trouble is reported, never turned into the device's verdict
        LOGGER.exception("the capture of %r could not be written", scenario)
        return [("evidence:capture_error", f"{type(err).__name__}: {err}")]
    assert result.path is not None
    return [("evidence:capture", result.path.relative_to(Path(run_dir)).as_posix())]


__all__ = [
    "CAPTURE_FILENAME",
    "LINKTYPE_IEEE802_15_4_WITHFCS",
    "MALFORMED_ON_PURPOSE",
    "CaptureContext",
    "CaptureFrame",
    "CaptureResult",
    "capture_evidence",
    "capture_frames",
    "is_malformed_on_purpose",
    "scapy_frame",
    "section_comment",
    "write_capture",
    "write_scenario_capture",
]
