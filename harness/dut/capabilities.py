"""What the test setup can do to the DUT beyond talking Zigbee, per radio: one table, mirrored by PICS.

Why a table: some scenarios need the bench to act on the device (cut its power at a persistence point, put
a rogue OTA server on its network). Whether that is possible depends on the radio, not on the scenario:
the loopback radio hosts the reference emulator, which can be rebuilt from the bytes it persisted and can
share its network with a rogue node; a real coordinator can do neither by itself (power cycling needs the
profile's ``adapter.power_cycle_command``). Scenarios needing a capability carry the PICS item that
mirrors it (``GB.ADAPTER.POWER_CYCLE``, ``GB.ADAPTER.ROGUE_NODE``), so a profile that declares it false
never runs them; when one runs anyway the adapter says NOT_APPLICABLE with the reason, and a profile that
claims a capability its setup lacks is a lab error, never the device's FAIL.

Also here: ``RogueNode``, the second node the loopback radio can host.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Self

import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import Activation, HeldImage, OtaServer
from harness.clock import Clock
from harness.crypto.eui64 import Eui64
from harness.profile import Profile
from harness.radio.factory import RADIOS
from harness.radio.frames import SE_PROFILE_ID, zcl_frame
from harness.radio.glue import OTA_CLUSTER_ID, HarnessAppMixin
from harness.transcript import Role, Transcript, TranscriptEntry
from harness.verdicts import LabError, NotApplicable, no_verdict_message


class PowerCycle(enum.StrEnum):
    SNAPSHOT = "snapshot"  # the emulated device is discarded and rebuilt from the bytes it persisted
    COMMAND = "command"  # the profile's adapter.power_cycle_command switches the device's supply
    IN_PROCESS = "in-process"  # the radio's application offers power_cycle(off_s): a simulation switches itself
    NONE = "none"


@dataclass(frozen=True)
class RadioCapabilities:
    """What the bench can do with one radio."""

    radio: str
    hosts_emulator: bool  # emulated devices live on this radio (attach_node / detach_node)
    power_cycle: PowerCycle
    rogue_node: bool  # a second, non-coordinator node can send OTA server frames to the DUT
    raw_frames: bool  # arbitrary (malformed) ZCL bytes can be sent through zigpy's send_packet
    install_code_join: bool = False  # permit joining for one EUI-64 with the link key of its install code
    key_establishment: bool = False  # CBKE with the DUT, and the derived APS link key used by the coordinator
    note: str = ""
    install_code_note: str = ""  # how the radio library does (or fails to do) an install-code join


#: What each capability means, in the order of the guide's table (docs/hardware.md is generated from this).
CAPABILITY_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "hosts_emulator": "hosts the reference emulator",
        "power_cycle": "power cycle",
        "rogue_node": "rogue node",
        "raw_frames": "raw frames",
        "install_code_join": "install-code join",
        "key_establishment": "key establishment (CBKE)",
    }
)

_HARDWARE_NOTE = (
    "real coordinator: power cycling only through pixit.adapter.power_cycle_command; no rogue node "
    "(it would need a second coordinator on the HAN)"
)
_NO_CBKE = "no zigpy radio library installs a CBKE-derived APS link key in the coordinator"


def _hardware(name: str, install_code: bool, how: str) -> RadioCapabilities:
    return RadioCapabilities(name, False, PowerCycle.COMMAND, False, True, install_code, False, _HARDWARE_NOTE, how)


#: THE table. Radio names are those of ``harness.radio.factory.RADIOS``. The install-code column is read from
#: each library's ``permit_with_link_key`` (versions pinned in RADIOS); none of it is verified on hardware here.
CAPABILITIES: Mapping[str, RadioCapabilities] = MappingProxyType(
    {
        "loopback": RadioCapabilities(
            "loopback",
            hosts_emulator=True,
            power_cycle=PowerCycle.SNAPSHOT,
            rogue_node=True,
            raw_frames=True,
            install_code_join=True,
            key_establishment=True,
            note="reference emulator: rebuilt from its persisted bytes; rogue node on the same air",
            install_code_note="accepted; link keys are not modelled (an emulated node joins by announcing)",
        ),
        "ezsp": _hardware("ezsp", True, "bellows adds a transient link key and sets the install-code join policy"),
        "znp": _hardware("znp", True, "zigpy-znp sends Z-Stack 3 BDBAddInstallCode (key derived from the code)"),
        "deconz": _hardware("deconz", True, "zigpy-deconz writes the link key parameter for the EUI-64"),
        "xbee": _hardware(
            "xbee", True, "zigpy-xbee registers the joining device with its key (join window 30 s to 65535 s)"
        ),
        "zigate": _hardware(
            "zigate",
            False,
            "zigpy-zigate cannot join with a link key: its permit_with_link_key only logs a warning, so the "
            "DUT would never be admitted",
        ),
    }
)

#: A ``module:Class`` radio that is neither in the table nor derived from a radio in it: assumed to implement
#: zigpy's permit_with_link_key (the abstract API); the join budget catches one that does not.
CUSTOM_RADIO = _hardware("custom", True, "zigpy's permit_with_link_key, as the class implements it")


def require_radio(capabilities: RadioCapabilities, column: str, needed_for: str) -> None:
    """ERROR (the lab's, never the device's) when the radio lacks a capability a scenario needs."""
    if getattr(capabilities, column):
        return
    why = capabilities.install_code_note if column == "install_code_join" else ""
    if column == "key_establishment":
        why = _NO_CBKE
    raise LabError(
        no_verdict_message(
            f"{needed_for} needs {CAPABILITY_COLUMNS[column]}, which radio {capabilities.radio!r} cannot do"
            + (f" ({why})" if why else ""),
            "run this scenario on a coordinator that can (see the capability table in docs/hardware.md), "
            "or remove what needs it from the profile, then re-run",
        )
    )


def capability_table_markdown() -> str:
    """The capability table of docs/hardware.md (a test checks the guide carries exactly this)."""
    header = ["radio", "library", *CAPABILITY_COLUMNS.values()]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, caps in CAPABILITIES.items():
        library = RADIOS[name][1] or "built in"
        cells = [f"`{name}`", f"`{library}`" if RADIOS[name][1] else library]
        for column in CAPABILITY_COLUMNS:
            value = getattr(caps, column)
            cells.append(value.value if isinstance(value, PowerCycle) else ("yes" if value else "no"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- `{name}` install-code join: {caps.install_code_note}." for name, caps in CAPABILITIES.items()]
    return "\n".join(lines) + "\n"


#: PICS item -> the capability it mirrors.
PICS_CAPABILITIES: Mapping[str, str] = MappingProxyType(
    {"GB.ADAPTER.POWER_CYCLE": "power cycle", "GB.ADAPTER.ROGUE_NODE": "rogue node"}
)


#: A ``module:Class`` radio whose application offers the in-process ``power_cycle(off_s)`` coroutine.
SIMULATION_RADIO = dataclasses.replace(
    CUSTOM_RADIO,
    power_cycle=PowerCycle.IN_PROCESS,
    note="a vendor's radio class: the device power-cycled by its own power_cycle(off_s); no rogue node",
)


def capabilities_for(radio: str | type) -> RadioCapabilities:
    """Capabilities of a radio by table name, or of a radio class (or a subclass of a table radio). A radio
    class offering the in-process ``power_cycle(off_s)`` coroutine power-cycles its device itself."""
    if isinstance(radio, str):
        if radio.strip().lower() in CAPABILITIES:
            return CAPABILITIES[radio.strip().lower()]
        specs = {spec: name for name, (spec, _) in RADIOS.items()}
        return CAPABILITIES[specs[radio]] if radio in specs else CUSTOM_RADIO
    specs = {spec: name for name, (spec, _) in RADIOS.items()}
    for klass in radio.__mro__:
        name = specs.get(f"{klass.__module__}:{klass.__qualname__}")
        if name is not None:
            return CAPABILITIES[name]
    return SIMULATION_RADIO if inspect.iscoroutinefunction(getattr(radio, "power_cycle", None)) else CUSTOM_RADIO


def power_cycle_method(capabilities: RadioCapabilities, profile: Profile) -> PowerCycle:
    """How the adapter power-cycles the device, in this order: the radio's own in-process ``power_cycle``
    (a simulation); the profile's ``adapter.power_cycle_command`` (a bench's switch; on the loopback radio it
    drives the emulators' power switch); the loopback's snapshot. NONE when the bench has no way."""
    if capabilities.power_cycle is PowerCycle.IN_PROCESS:
        return PowerCycle.IN_PROCESS
    if profile.pixit_value("adapter.power_cycle_command"):
        return PowerCycle.COMMAND
    if capabilities.power_cycle is PowerCycle.SNAPSHOT:
        return PowerCycle.SNAPSHOT
    return PowerCycle.NONE


def setup_supports(item: str, capabilities: RadioCapabilities, profile: Profile) -> tuple[bool, str]:
    """Whether this bench (radio plus profile) supports the capability behind PICS ``item``, and why not."""
    if item == "GB.ADAPTER.POWER_CYCLE":
        if power_cycle_method(capabilities, profile) is not PowerCycle.NONE:
            return True, ""
        if capabilities.power_cycle is PowerCycle.COMMAND:
            return False, (
                f"radio {capabilities.radio!r} can power-cycle the device only through "
                "pixit.adapter.power_cycle_command, which the profile does not set"
            )
        return False, f"radio {capabilities.radio!r} cannot power-cycle the device"
    if item == "GB.ADAPTER.ROGUE_NODE":
        if capabilities.rogue_node:
            return True, ""
        return False, f"radio {capabilities.radio!r} cannot add a rogue node to the HAN ({capabilities.note})"
    raise KeyError(f"{item} is not a test-setup capability (known: {', '.join(PICS_CAPABILITIES)})")


def pics_mismatches(capabilities: RadioCapabilities, profile: Profile) -> list[str]:
    """Capabilities the profile declares (PICS true) that this bench does not have."""
    problems = []
    for item in PICS_CAPABILITIES:
        supported, why = setup_supports(item, capabilities, profile)
        if profile.pics(item) is True and not supported:
            problems.append(f"the profile declares {item} true, but {why}")
    return problems


def require_capability(item: str, capabilities: RadioCapabilities, profile: Profile) -> None:
    """Return if the bench can do it; NOT_APPLICABLE if the profile does not claim it; ERROR if it does."""
    supported, why = setup_supports(item, capabilities, profile)
    if supported:
        return
    if profile.pics(item) is True:
        raise LabError(
            no_verdict_message(
                f"the profile declares {item} true, but {why}",
                f"declare {item} false in the profile, or give the bench what it needs, then re-run",
            )
        )
    raise NotApplicable(f"this test setup has no {PICS_CAPABILITIES[item]}: {why} (PICS {item})")


# ---------------------------------------------------------------------------------------------------------
# The rogue node


class RogueNode:
    """A second node on the loopback HAN that plays an OTA server the DUT must not trust.

    It is attached to the loopback radio like any emulated device, but does not join through zigpy (a
    rogue needs no interview). Its frames cross the loopback's one shared air through the radio's transmit
    path with the rogue's own source address, so the DUT receives them from a non-coordinator NWK address,
    and the transcript records them (``decided_by`` "rogue", source role ``rogue``).
    """

    def __init__(
        self,
        app: HarnessAppMixin,
        *,
        transcript: Callable[[], Transcript],
        target: Callable[[], tuple[Device, int]],
        ieee: str = "00:0d:6f:00:0b:ad:0b:ad",
        nwk: int = 0x0BAD,
        endpoint: int = 1,
    ) -> None:
        self.app = app
        self.ieee = t.EUI64.convert(ieee)
        self.nwk = t.NWK(nwk)
        self.endpoint = endpoint
        #: Frames the radio delivered to the rogue (coordinator broadcasts and anything addressed to it).
        self.received: list[t.ZigbeePacket] = []
        self._transcript = transcript
        self._target = target
        self._tsn = 0
        self._aps = 0
        self.clock: Clock | None = None

    @property
    def eui64(self) -> Eui64:
        return Eui64.parse(str(self.ieee))

    # -- what the loopback radio needs (EmulatedDevice protocol) -------------------------------------------
    def bind(self, transmit: Callable[[t.ZigbeePacket], None], clock: Clock) -> None:
        self.clock = clock

    def receive(self, packet: t.ZigbeePacket) -> None:
        self.received.append(packet)

    def snapshot(self) -> bytes:
        return b""  # nothing persisted: a rogue is rebuilt from scratch

    @classmethod
    def restore(cls, data: bytes, **overrides: Any) -> Self:
        raise NotImplementedError("a rogue node is not power-cycled")

    # -- OTA server frames -------------------------------------------------------------------------------
    async def send(
        self, command: str | int, payload: bytes, *, tsn: int | None = None, note: str = ""
    ) -> TranscriptEntry | None:
        """Send an OTA server→client ``command`` (payload bytes as given) to the DUT; returns its entry."""
        device, endpoint = self._target()
        command_id = getattr(Ota.ClientCommandDefs, command).id if isinstance(command, str) else command
        self._tsn = (self._tsn + 1) & 0xFF
        self._aps = (self._aps + 1) & 0xFF
        data = zcl_frame(
            command_id,
            payload,
            tsn=self._tsn if tsn is None else tsn,
            direction=foundation.Direction.Server_to_Client,
            disable_default_response=True,
        )
        dut_endpoint = device.endpoints.get(endpoint)
        packet = t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=self.nwk),
            src_ep=self.endpoint,
            dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=device.nwk),
            dst_ep=endpoint,
            tsn=self._aps,
            profile_id=getattr(dut_endpoint, "profile_id", None) or SE_PROFILE_ID,
            cluster_id=OTA_CLUSTER_ID,
            data=t.SerializableBytes(data),
        )
        transcript = self._transcript()
        label = command if isinstance(command, str) else f"0x{command:02X}"
        with (
            transcript.attribute(
                note or f"{label} from a non-coordinator address (not from the CH)", by="rogue"
            ) as attribution,
            self.app.suite_ota_transmit(),
        ):
            try:
                await self.app.send_packet(packet)
            except Exception as err:
                transcript.mark_undelivered(attribution, f"{type(err).__name__}: {err}")
        return attribution.entries[-1] if attribution.entries else None

    async def send_command(self, command: str, **fields: Any) -> TranscriptEntry | None:
        """A well-formed OTA server→client command built with zigpy's schema (``fields`` as named there)."""
        payload = getattr(Ota.ClientCommandDefs, command).schema(**fields).serialize()
        return await self.send(command, payload)

    async def image_notify(
        self, image: HeldImage | None = None, *, payload_type: int | None = None, jitter: int = 100, **overrides: Any
    ) -> TranscriptEntry | None:
        """Image Notify for ``image`` (payload type 3 with its identity; 0 without an image)."""
        payload_type = (3 if image is not None else 0) if payload_type is None else payload_type
        decision = self._server().image_notify(image, payload_type=payload_type, jitter=jitter, **overrides)
        return await self.send("image_notify", decision.payload())

    async def query_next_image_response(self, image: HeldImage | None = None, **fields: Any) -> TranscriptEntry | None:
        """SUCCESS advertising ``image`` (``fields`` override), or exactly ``fields`` without an image."""
        if image is not None:
            fields = {
                "status": foundation.Status.SUCCESS,
                "manufacturer_code": image.manufacturer_code,
                "image_type": image.image_type,
                "file_version": image.file_version,
                "image_size": image.size,
                **fields,
            }
        return await self.send_command("query_next_image_response", **fields)

    async def image_block_response(self, **fields: Any) -> TranscriptEntry | None:
        return await self.send_command("image_block_response", **fields)

    async def upgrade_end_response(
        self, image: HeldImage, activation: Activation = Activation.NOW, delay: int = 0, **identity: Any
    ) -> TranscriptEntry | None:
        """The rogue's "upgrade now" (or later) for ``image``, built as the CH would build it."""
        decision = self._server().upgrade_end_response(image, activation, delay, note_prefix="rogue", **identity)
        return await self.send("upgrade_end_response", decision.payload())

    def _server(self) -> OtaServer:
        """The CH's own payload builder, on the rogue's clock (no images, rules or state of the CH's)."""
        assert self.clock is not None, "the rogue node is not attached to a radio"
        return OtaServer(utc_now=self.clock.zigbee_utc)

    def register(self, transcript: Transcript) -> None:
        """Make ``transcript`` name this node's frames as the rogue's."""
        transcript.register_party(self.eui64, Role.ROGUE, nwk=int(self.nwk))

    def __repr__(self) -> str:
        return f"<RogueNode {self.eui64} nwk=0x{int(self.nwk):04X}>"
