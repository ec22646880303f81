"""Bounded work per scenario, whatever the device does: caps on its traffic, and a judge of what nobody asked.

Why: a conformance suite meets broken devices by design. A device that answers every frame with a frame, floods
the hub or sends frames longer than the protocol ever needs would make the suite's work, memory and evidence
grow without bound; and on the virtual clock a flood keeps the loop busy, so time never advances and no budget
ever expires. So the caps count frames and octets, never seconds (design notes: "whatever a DUT sends, the
suite's work per scenario must be bounded").

**Caps** (``TrafficGuard``, the radio glue's frame guard: it sees every frame before anything else does):

- frames each way per scenario: the traffic the scenario expects plus a margin. For every image the CH offered
  (a Query Next Image Response SUCCESS), its blocks (ImageSize ÷ the block size: ``ota.max_block_size``, or the
  device's smaller MaximumDataSize) × (``dut.retry_limit`` + 1), counted again for an offer after the device
  downloaded that image whole (as many block requests as it has blocks, then its Upgrade End Request): a device
  may download again what the CH offers again, but asking again without downloading raises nothing, and the
  cap grows only with traffic the device really asked for; one for each request the suite itself sent
  the device (the status reads, the stimuli: each may be answered); ``limits.frames_per_minute`` and the
  device's tunnel GETs (60 ÷ ``tunnel.poll_interval``) for each minute of scenario time; and
  ``limits.frames_margin``. The limit is recomputed only when a counter passes it, so the check per frame is
  one comparison;
- octets per frame (``limits.octets_per_frame``): a longer frame is recorded cut and routed nowhere;
- the suite's own frames: twice the frame cap (its answers multiply only for Image Page Requests);
- octets from the device per scenario: one 127-octet PSDU for each frame allowed;
- transcript entries (``Transcript.max_entries``): three for each frame allowed each way, a backstop the caps
  above keep it under (its overflow is a harness defect, ERROR);
- evidence files: ``limits.evidence_octets`` each (``harness.evidence.bounds``).

At a cap the scenario ends FAIL under CS-22 with "the device flooded the hub: N frames in T s" (or octets):
every wait of the scenario raises the failure (``Clock.fail_waits``), the suite stops answering (the glue
records its frames as not sent) and stops listening to the device (its frames are counted, never recorded or
routed), so the run goes on with the next scenario on a calm radio and loop. A flood from other nodes is no
verdict on the device (INCONCLUSIVE).

**Judge** (a transcript listener): frames the device sends that nobody asked for, read narrowly (issue 14) so
that normal HAN traffic (attribute reports, Time, Price and Metering reads, tunnel GETs, Device_annce) is
recorded and never judged:

- a profile-wide response (Default Response, Read_Attributes_rsp, ...) whose cluster and TSN match no frame the
  suite sent the device in this scenario (not judged before the suite sent anything: it may answer a frame of
  an earlier scenario), or only frames that ask for no such answer (ZCL, domain digest §3.6 [C, S22]): a
  Default Response of the suite, a broadcast (no Default Response), a frame that disabled the Default Response
  (one with SUCCESS);
- a Read Attributes Response carrying an attribute the request did not ask for;
- an OTA or tunnel command a client never sends: a server-to-client command, a command id the cluster does not
  define (manufacturer-specific ones excepted), tunnel flow control (the CH never grants it).

Requests for images the CH did not offer, or on tunnels it does not know, are *not* judged: a real device
resumes a download or keeps a tunnel across scenarios and runs, and the hub answers those as a CH would.
Each unsolicited frame is counted (the statement's ``unsolicited_frames``) and recorded as a decision; the
first fails the scenario under CS-22 and mutes the suite's answers, so no exchange outlives its verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.clock import Clock
from harness.perf.airtime import MAX_PSDU
from harness.profile import Profile
from harness.radio.frames import ZDO_PROFILE_ID
from harness.transcript import Direction, EntryKind, Role, Transcript, TranscriptEntry
from harness.verdicts import Inconclusive, LabError, TrafficFailure, failure_message, no_verdict_message
from harness.zigbee.tunneling import TO_SERVER, TUNNELING_CLUSTER_ID, SmartEnergyTunneling

#: The requirement every judgement here is about (harness/requirements/catalogue.yaml).
REQUIREMENT = "CS-22"
#: Transcript entries allowed per frame allowed each way (the frame, its answer, a decision about it).
ENTRIES_PER_FRAME = 3
#: The suite's own frames allowed per frame allowed: its answers track the device's frames, so a ping-pong trips
#: on the device's count; only an answer that multiplies (Image Page Responses) can reach this one.
ANSWERS_PER_FRAME = 2
#: How many unsolicited frames the evidence describes (all are counted).
UNSOLICITED_SHOWN = 10

OTA_CLUSTER_ID = Ota.cluster_id
_OTA_CLIENT_COMMANDS = frozenset(Ota.server_commands)  # what an OTA client sends (client → server)
_TUNNEL_CLIENT_COMMANDS = frozenset(SmartEnergyTunneling.server_commands)
#: The clients the judge reads commands of: cluster -> (its name, the device's role, the commands it sends).
_CLIENTS: dict[int, tuple[str, str, frozenset[int]]] = {
    OTA_CLUSTER_ID: ("OTA", "an OTA client", _OTA_CLIENT_COMMANDS),
    TUNNELING_CLUSTER_ID: ("tunnel", "a tunnel client", _TUNNEL_CLIENT_COMMANDS),
}
_TUNNEL_FLOW_CONTROL = frozenset({TO_SERVER.ack_transfer_data.id, TO_SERVER.ready_data.id})
_TRANSFER_REQUESTS = frozenset({Ota.ServerCommandDefs.image_block.id, Ota.ServerCommandDefs.image_page.id})
_OFFER = Ota.ClientCommandDefs.query_next_image_response.id
_DOWNLOAD_ENDED = Ota.ServerCommandDefs.upgrade_end.id
_READ_ATTRIBUTES = foundation.GeneralCommand.Read_Attributes
_READ_ATTRIBUTES_RSP = foundation.GeneralCommand.Read_Attributes_rsp
_DEFAULT_RESPONSE = foundation.GeneralCommand.Default_Response
_SUCCESS = foundation.Status.SUCCESS

# What a frame the suite sent allows the device to answer (ZCL; domain digest §3.6 [C, S22]): a unicast request
# any answer, a Default Response included; one that disables the Default Response an answer, or a Default
# Response with an error status only; a broadcast or group frame no Default Response; a Default Response nothing.
_ANY_DEFAULT_RESPONSE = 1
_ERROR_DEFAULT_RESPONSE = 2
_BROADCAST = 4
_RESPONSE = 8


@dataclass(frozen=True)
class TrafficLimits:
    """The caps' parameters, from the profile's PIXIT (``limits.*``, ``ota.max_block_size``, ``dut.retry_limit``)."""

    frames_margin: int
    frames_per_minute: int
    octets_per_frame: int
    evidence_octets: int
    block_size: int
    retry_limit: int
    #: The device's tunnel GETs per minute, from its declared ``tunnel.poll_interval``: a device polling every 5 s
    #: sends 12 a minute, as it declared, over and above ``frames_per_minute`` (a compliant PPMID doing so FAILed
    #: CS-22 after three hours of an UpgradeTime 0xFFFFFFFF wait).
    tunnel_polls_per_minute: float = 0.0

    @classmethod
    def from_profile(cls, profile: Profile) -> TrafficLimits:
        value = profile.pixit_value
        poll = value("tunnel.poll_interval")
        return cls(
            frames_margin=int(value("limits.frames_margin")),
            frames_per_minute=int(value("limits.frames_per_minute")),
            octets_per_frame=int(value("limits.octets_per_frame")),
            evidence_octets=int(value("limits.evidence_octets")),
            block_size=int(value("ota.max_block_size")),
            retry_limit=int(value("dut.retry_limit")),
            tunnel_polls_per_minute=60.0 / float(poll) if poll else 0.0,
        )

    @property
    def background_per_minute(self) -> float:
        """Frames each way a minute besides the downloads: ``frames_per_minute`` and the declared tunnel polls."""
        return self.frames_per_minute + self.tunnel_polls_per_minute

    def frames(self, blocks: int, asked: int, seconds: float) -> int:
        """Frames allowed each way for downloads of ``blocks`` blocks, ``asked`` requests of the suite (each may
        be answered: the status reads, the stimuli) and ``seconds`` of scenario time."""
        background = int(max(0.0, seconds) / 60.0 * self.background_per_minute)
        return self.frames_margin + blocks * (self.retry_limit + 1) + asked + background


class TrafficGuard:
    """The caps and the judge of one scenario (see the module docstring); ``reset`` moves it to the next one.

    Wiring (``DutAdapter``): ``app.set_guard(guard)`` (``admit``, ``send``) and the transcript's listener
    (``on_entry``, added by ``reset``).
    """

    def __init__(self, limits: TrafficLimits, clock: Clock, transcript: Transcript) -> None:
        self.limits = limits
        self.clock = clock
        self._remove_listener: Callable[[], None] | None = None
        self.reset(transcript)

    # -- life cycle ---------------------------------------------------------------------------------------
    def reset(self, transcript: Transcript) -> None:
        """Fresh counters for the scenario recorded in ``transcript``."""
        self.detach()
        self.transcript = transcript
        self._remove_listener = transcript.add_listener(self.on_entry)
        transcript.on_overflow = self._overflowed
        self.started = self.clock.now()
        self.frames_in = self.octets_in = self.frames_out = self.from_dut = 0
        self.dropped_frames = self.dropped_octets = 0
        self.unsolicited = 0
        self.unsolicited_notes: list[str] = []
        #: The scenario's verdict from the device's traffic (a TrafficFailure, or no verdict), once it has one.
        self.failure: Exception | None = None
        self._build: Callable[[], Exception] | None = None
        self.muted = False  # the suite answers the device no more
        self.quarantined = False  # the hub listens to the device no more
        #: How many downloads of every image offered the cap allows, by identity (its ImageSize last): offering
        #: the same file again allows no more traffic (its download's retries are in the cap already), so a
        #: device cannot raise its cap by asking again; only an offer after the device downloaded it whole
        #: (``_ended``: every block asked for, then its Upgrade End Request) allows one download more.
        self._downloads: dict[tuple[Any, ...], int] = {}  # (mfr, type, version, ImageSize) -> downloads allowed
        self._ended: set[tuple[Any, ...]] = set()  # (manufacturer code, image type, file version)
        self._blocks_asked: dict[tuple[Any, ...], int] = {}  # block requests per file since its offer counted
        self._asked = 0  # requests the suite sent the device (reads, stimuli): each may be answered
        self._block = self.limits.block_size
        #: (cluster, TSN) of the frames the suite sent the device -> what answers they allow (``_answers_allowed``).
        self._sent: dict[tuple[int, int], int] = {}
        self._reads: dict[tuple[int, int], TranscriptEntry] = {}  # the Read Attributes requests among them
        self._pending: Callable[[TranscriptEntry], None] | None = None  # a cap passed: trips on the next frame
        self._recompute()

    def detach(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    # -- the glue's frame guard (every frame, both ways: keep these cheap) ---------------------------------
    def admit(self, packet: t.ZigbeePacket, data: bytes) -> bytes | None:
        """An incoming frame: counted; cut when longer than the hub takes; dropped once the device flooded it."""
        octets = len(data)
        if self.quarantined:
            self.dropped_frames += 1
            self.dropped_octets += octets
            return None
        self.frames_in += 1
        self.octets_in += octets
        if octets > self.limits.octets_per_frame:
            if self._pending is None and self.failure is None:
                self._pending = lambda entry: self._flooded_by_a_frame(entry, octets)
            return data[: self.limits.octets_per_frame]
        if self.frames_in > self._limit or self.octets_in > self._octet_limit:
            self._recheck()
        return data

    def send(self, data: bytes) -> bool:
        """An outgoing frame: counted; False (not sent) once the scenario has its verdict."""
        self.frames_out += 1
        if self.frames_out > self._answer_limit:
            self._recheck()
        return not self.muted

    # -- the transcript's listener -------------------------------------------------------------------------
    def on_entry(self, entry: TranscriptEntry) -> None:
        if entry.kind is not EntryKind.FRAME:
            return
        if self._pending is not None:
            trip, self._pending = self._pending, None
            trip(entry)
        direction = entry.direction
        if direction is Direction.TO_DUT:
            self._note_sent(entry)
        elif direction is Direction.FROM_DUT:
            self.from_dut += 1
            if not self.quarantined:
                self._judge(entry)

    def _note_sent(self, entry: TranscriptEntry) -> None:
        zcl = entry.zcl
        if entry.in_reply_to is None and not (entry.is_zcl_reply or _is_zdo_response(entry)):
            self._asked += 1  # a request of the suite's own: the device may answer it
            self._recompute()
        if zcl is None:
            return
        key = (entry.cluster_id or 0, zcl.tsn)
        self._sent[key] = self._sent.get(key, 0) | _answers_allowed(entry, zcl)
        if zcl.frame_type == "global":
            if entry.command_id == _READ_ATTRIBUTES:
                self._reads[key] = entry
        elif entry.command_id == _OFFER and entry.cluster_id == OTA_CLUSTER_ID and entry.delivered:
            fields = entry.fields
            if fields.get("status") == foundation.Status.SUCCESS and fields.get("image_size"):
                size = int(fields["image_size"])
                identity = (fields.get("manufacturer_code"), fields.get("image_type"), fields.get("file_version"), size)
                if identity not in self._downloads or identity[:3] in self._ended:
                    self._downloads[identity] = self._downloads.get(identity, 0) + 1
                    self._ended.discard(identity[:3])
                    self._blocks_asked[identity[:3]] = 0
                    self._recompute()

    # -- the judge ------------------------------------------------------------------------------------------
    def _judge(self, entry: TranscriptEntry) -> None:
        zcl = entry.zcl
        if zcl is None:  # ZDO, or too short for a ZCL header
            return
        if zcl.frame_type == "global":
            if entry.is_zcl_reply:
                self._judge_reply(entry, (entry.cluster_id or 0, zcl.tsn))
            return
        if zcl.manufacturer_specific:
            return
        cluster, command = entry.cluster_id, entry.command_id
        client = _CLIENTS.get(cluster or 0)
        if client is None:
            return
        name, role, commands = client
        if not zcl.client_to_server:
            self._unsolicited(entry, f"the {name} server command {entry.command}: the device is {role}")
        elif command not in commands:
            self._unsolicited(entry, f"{name} command 0x{command or 0:02X}, which the {name} cluster does not define")
        elif cluster == TUNNELING_CLUSTER_ID:
            if command in _TUNNEL_FLOW_CONTROL:
                self._unsolicited(entry, f"tunnel {entry.command}: flow control the CH never granted")
        elif command in _TRANSFER_REQUESTS:
            self._note_block_size(entry)
            file = _file_of(entry)
            if file in self._blocks_asked:
                self._blocks_asked[file] += 1
        elif command == _DOWNLOAD_ENDED and not entry.malformed:
            self._note_download_ended(_file_of(entry))

    def _judge_reply(self, entry: TranscriptEntry, key: tuple[int, int]) -> None:
        if not self._sent:
            return  # nothing sent yet in this scenario: it may answer a frame of an earlier one
        allowed = self._sent.get(key)
        what = f"a {entry.command} on {entry.cluster} with TSN {key[1]}"
        if allowed is None:
            self._unsolicited(entry, f"{what}, answering no frame the suite sent it")
            return
        if entry.command_id == _DEFAULT_RESPONSE:
            status = entry.fields.get("status")
            if not allowed & _ANY_DEFAULT_RESPONSE and not (allowed & _ERROR_DEFAULT_RESPONSE and status != _SUCCESS):
                self._unsolicited(entry, f"{what} ({_status(status)}), answering {_asked_none(allowed)}")
            return
        if not allowed & (_ANY_DEFAULT_RESPONSE | _ERROR_DEFAULT_RESPONSE):
            self._unsolicited(entry, f"{what}, answering {_asked_none(allowed)}")
            return
        request = self._reads.get(key)
        if entry.command_id != _READ_ATTRIBUTES_RSP or request is None or entry.malformed or request.malformed:
            return
        asked = {int(a) for a in request.fields.get("attribute_ids", ())}
        answered = [int(record.attrid) for record in entry.fields.get("status_records", ())]
        extra = sorted(set(answered) - asked)
        if extra:
            self._unsolicited(
                entry,
                f"a Read Attributes Response on {entry.cluster} with attribute {_ids(extra)}, which the request "
                f"(#{request.index}) did not ask for (it asked for {_ids(sorted(asked))})",
            )

    def _note_download_ended(self, file: tuple[Any, ...]) -> None:
        """An Upgrade End Request: after a whole download of an offered file, its next offer counts again."""
        sizes = [key[3] for key in self._downloads if key[:3] == file]
        if sizes and self._blocks_asked.get(file, 0) >= math.ceil(max(sizes) / self._block):
            self._ended.add(file)

    def _note_block_size(self, entry: TranscriptEntry) -> None:
        """A device asking for smaller blocks than the CH serves needs more requests: the cap follows it."""
        size = entry.fields.get("maximum_data_size")
        if size and int(size) < self._block:
            self._block = int(size)
            self._recompute()

    def _unsolicited(self, entry: TranscriptEntry, what: str) -> None:
        self.unsolicited += 1
        if len(self.unsolicited_notes) < UNSOLICITED_SHOWN:
            self.unsolicited_notes.append(f"#{entry.index}: {what}")
        self.transcript.record_decision(
            f"judged ({REQUIREMENT}): unsolicited: {what}", in_reply_to=entry.index, direction=Direction.FROM_DUT
        )
        if self.failure is None:
            message = failure_message(
                "the device to send only what it is asked and the requests of its own flows (CS-22)",
                f"{what} (frame #{entry.index})",
            )
            self._trip(lambda: TrafficFailure(message, (REQUIREMENT,), frame=entry), quarantine=False)

    # -- the caps --------------------------------------------------------------------------------------------
    @property
    def frame_cap(self) -> int:
        """Frames allowed each way now (they grow with the CH's offers and with scenario time)."""
        return self.limits.frames(self._offered_blocks(), self._asked, self.clock.now() - self.started)

    def _offered_blocks(self) -> int:
        """Blocks of every download the CH's offers allow (see ``_downloads``)."""
        return sum(math.ceil(key[3] / self._block) * count for key, count in self._downloads.items())

    def _recompute(self) -> None:
        self._limit = self.frame_cap
        self._octet_limit = self._limit * MAX_PSDU
        self._answer_limit = ANSWERS_PER_FRAME * self._limit
        self.transcript.max_entries = ENTRIES_PER_FRAME * 2 * self._limit

    def _recheck(self) -> None:
        """A counter passed the limit last computed: compute it again (time went on, offers came); still past
        it, the next recorded frame trips the flood."""
        if self.quarantined or self._pending is not None:
            return
        self._recompute()
        if self.frames_in > self._limit:
            self._pending = lambda entry: self._flooded(entry, f"{self.frames_in:,} frames", "frames")
        elif self.octets_in > self._octet_limit:
            self._pending = lambda entry: self._flooded(entry, f"{self.octets_in:,} octets", "octets")
        elif self.frames_out > self._answer_limit:
            self._pending = lambda entry: self._flooded(entry, f"{self.frames_out:,} frames of answers", "answers")

    def _flooded(self, entry: TranscriptEntry, amount: str, what: str) -> None:
        cap = {
            "frames": f"at most {self._limit:,} frames",
            "octets": f"at most {self._octet_limit:,} octets ({MAX_PSDU} for each frame allowed)",
            "answers": f"at most {self._answer_limit:,} frames of the suite's answers (twice the frame cap)",
        }[what]
        observed = (
            f"{self.frames_in:,} frames ({self.octets_in:,} octets) from the radio, {self.from_dut:,} of them from "
            f"the device, and {self.frames_out:,} frames the suite sent; the hub stops answering and listening to "
            "the device for the rest of the scenario"
        )
        self._flood_verdict(entry, amount, f"{cap} {self._expected()}", observed, by_device=self._device_dominates())

    def _flooded_by_a_frame(self, entry: TranscriptEntry, octets: int) -> None:
        self._flood_verdict(
            entry,
            f"a frame of {octets:,} octets",
            f"no frame longer than {self.limits.octets_per_frame:,} octets (PIXIT limits.octets_per_frame)",
            f"frame #{entry.index} of {octets:,} octets (recorded cut); the hub stops answering and listening to "
            "the device for the rest of the scenario",
            by_device=entry.direction is Direction.FROM_DUT,
        )

    def _flood_verdict(
        self, entry: TranscriptEntry, amount: str, expected: str, observed: str, *, by_device: bool
    ) -> None:
        elapsed = f"{self.clock.now() - self.started:.3f} s" + (" of virtual time" if self.clock.virtual else "")
        if by_device:
            message = f"the device flooded the hub: {amount} in {elapsed}; " + failure_message(expected, observed)
            self._trip(lambda: TrafficFailure(message, (REQUIREMENT,), frame=entry), quarantine=True)
            return
        problem = f"nodes other than the device flooded the hub: {amount} in {elapsed} ({observed})"
        action = "take the other nodes off the test network (or raise PIXIT limits.frames_margin), then re-run"
        self._trip(lambda: Inconclusive(no_verdict_message(problem, action)), quarantine=True)

    def _expected(self) -> str:
        """How the frame cap was derived, for the failure message."""
        limits = self.limits
        minutes = (self.clock.now() - self.started) / 60.0
        blocks = self._offered_blocks()
        downloads = sum(self._downloads.values())
        return (
            f"in this scenario: {len(self._downloads)} image(s) offered for {downloads} download(s), {blocks:,} blocks "
            f"of {self._block} octets × "
            f"{limits.retry_limit + 1} attempts, {self._asked:,} requests of the suite (status reads, stimuli), "
            f"{minutes:.1f} min × {limits.background_per_minute:.3g}/min (limits.frames_per_minute and the tunnel "
            f"polls of tunnel.poll_interval), margin {limits.frames_margin:,}; a device that "
            "needs more raises PIXIT limits.frames_margin"
        )

    def _device_dominates(self) -> bool:
        return self.from_dut * 2 >= self.frames_in

    def _overflowed(self) -> None:
        """The transcript reached its backstop although no cap tripped: the suite's own defect."""
        if self.failure is None:
            problem = (
                f"the transcript reached its cap of {self.transcript.max_entries:,} entries with {self.frames_in:,} "
                f"frames received and {self.frames_out:,} sent (caps {self._limit:,} each way)"
            )
            error = no_verdict_message(problem, "report this as a harness defect with the run's evidence")
            self._trip(lambda: LabError(error), quarantine=True)

    def _trip(self, build: Callable[[], Exception], *, quarantine: bool) -> None:
        """The scenario has its verdict: every wait raises it, the suite answers no more (and, after a flood,
        listens no more)."""
        if self.failure is None:
            self._build = build
            self.failure = build()
            self.clock.fail_waits(build)
        self.muted = True
        self.quarantined = self.quarantined or quarantine

    # -- evidence --------------------------------------------------------------------------------------------
    def evidence(self) -> dict[str, Any]:
        """What the statement records of the scenario's traffic (evidence key ``traffic``)."""
        return {
            "frames_received": self.frames_in,
            "frames_from_device": self.from_dut,
            "octets_received": self.octets_in,
            "frames_sent": self.frames_out,
            "frame_cap": self.frame_cap,
            "octets_per_frame_cap": self.limits.octets_per_frame,
            "dropped_frames": self.dropped_frames,
            "dropped_octets": self.dropped_octets,
            "transcript_entries_omitted": self.transcript.omitted,
            "unsolicited_frames": self.unsolicited,
            "unsolicited": list(self.unsolicited_notes),
            "verdict": None if self.failure is None else str(self.failure),
        }


def _file_of(entry: TranscriptEntry) -> tuple[Any, ...]:
    """(manufacturer code, image type, file version) a device's OTA request names (None where malformed)."""
    fields = entry.fields
    return (fields.get("manufacturer_code"), fields.get("image_type"), fields.get("file_version"))


def _answers_allowed(entry: TranscriptEntry, zcl: Any) -> int:
    """What the device may answer to ``entry`` (a ZCL frame the suite sent it): one of the flags above."""
    if entry.is_zcl_reply and entry.command_id == _DEFAULT_RESPONSE:
        return _RESPONSE  # ZCL: nothing answers a Default Response (other responses follow their DDR bit)
    if entry.dst is not None and entry.dst.role in (Role.BROADCAST, Role.GROUP):
        return _BROADCAST
    return _ERROR_DEFAULT_RESPONSE if zcl.disable_default_response else _ANY_DEFAULT_RESPONSE


def _asked_none(allowed: int) -> str:
    """Why the frames with that TSN asked for no such answer, in words."""
    if allowed & _ERROR_DEFAULT_RESPONSE:
        return "a frame of the suite that disabled the Default Response on success"
    if allowed & _BROADCAST:
        return "a broadcast (ZCL: no Default Response to a broadcast)"
    return "a Default Response of the suite (ZCL: nothing answers a Default Response)"


def _status(status: Any) -> str:
    return getattr(status, "name", None) or str(status)


def _is_zdo_response(entry: TranscriptEntry) -> bool:
    """ZDO responses have the request's cluster id with bit 15 set (Node_Desc_rsp 0x8002, ...)."""
    return entry.zcl is None and (entry.cluster_id or 0) & 0x8000 != 0 and entry.profile_id == ZDO_PROFILE_ID


def _ids(ids: Iterable[int]) -> str:
    return ", ".join(f"0x{i:04X}" for i in ids) or "none"


__all__ = ["REQUIREMENT", "TrafficGuard", "TrafficLimits"]
