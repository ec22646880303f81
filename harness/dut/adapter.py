"""The DUT adapter: the one object steps use to reach the device under test, emulator or hardware.

Why one adapter for both: a scenario must run the same code against the reference emulator and against a
real device. So the adapter never asks "is this the emulator?"; it asks the radio's capabilities
(``harness.dut.capabilities``): a radio that *hosts* emulated devices gets one built from the profile, a
radio that can *power-cycle* by snapshot does it that way, and so on. Everything else (starting zigpy,
joining, reading attributes, the CH, the transcript) is identical.

What it owns, per run: the zigpy application (through ``harness.radio.factory``, with the glue), the
scenario's ``Transcript`` (attached to the glue's raw tap), the ``CommunicationsHub`` (the glue's OTA
handler) and, on a radio that hosts them, the emulated DUT (class from PIXIT ``emulator.device_class``,
default by role, loaded by name so nothing here depends on the emulator package) and the rogue node.

Every method is a coroutine that lets time run only through clock verbs with a named budget, so a step
calls ``runner.run(adapter.join())`` and the wait is virtual on the emulator and real on hardware.
Trouble is reported as a verdict, never as a traceback: the radio or the bench failing is ERROR
(``LabError``), a DUT that does not join or answer is INCONCLUSIVE (a precondition, not an OTA FAIL),
and a capability the bench lacks is NOT_APPLICABLE. Each message says what happened and what to check.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import importlib
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import zigpy.config as conf
import zigpy.types as t
from zigpy.device import Device
from zigpy.util import convert_install_code
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.hub import DELIVERY_ERRORS, CommunicationsHub
from harness.ch.tunnel import ChTunnelEnd
from harness.cli.power_switch import ADDRESS_ENV, DEVICE_ENV, OFF_SECONDS_ENV
from harness.clock import Budget, BudgetExpired, Clock, format_duration
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.dut.capabilities import (
    PowerCycle,
    RadioCapabilities,
    RogueNode,
    capabilities_for,
    pics_mismatches,
    power_cycle_method,
    require_capability,
    require_radio,
)
from harness.dut.traffic import TrafficGuard, TrafficLimits
from harness.errors import ConfigurationError
from harness.profile import Profile
from harness.profile.device_class import DEFAULT_EMULATORS as DEFAULT_EMULATORS
from harness.profile.device_class import emulator_class_spec
from harness.radio.factory import default_config, load_radio, radio_config, start_app
from harness.radio.glue import HarnessAppMixin
from harness.radio.state import NetworkStateDir
from harness.transcript import Direction, Transcript, TranscriptEntry
from harness.verdicts import (
    TIMING_TOLERANCE_S,
    DeviceFailure,
    Inconclusive,
    LabError,
    LabFault,
    NotApplicable,
    failure_message,
    no_verdict_message,
)
from harness.zigbee.tunneling import TunnelConfig

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


def _is_announcement(entry: TranscriptEntry) -> bool:
    """The device's Device_annce: it (re)joined, so it has power again."""
    return entry.direction is Direction.FROM_DUT and entry.matches("Device_annce")


#: How the PIXIT budgets of the bench itself (not of the device) are named in messages.
_BUDGET_LABELS: dict[str, str] = {
    "start": "coordinator start",
    "stop": "coordinator shutdown",
    "coordinator_command": "coordinator command",
    "power_cycle_command": "power-cycle command",
    "attribute_read": "ZCL attribute read",
}

#: The DUT's OTA requests that mark a step of a download (an upgrade-status sample is taken at each).
_DOWNLOAD_STEPS = frozenset({"query_next_image", "image_block", "image_page", "upgrade_end"})

_START_ACTION = (
    "check that the coordinator is connected and powered, that pixit.device_path, pixit.baud_rate and "
    "pixit.flow_control match it, and that no other program (ZHA, Zigbee2MQTT, another run) holds the "
    "port; then re-run"
)


class HostedDevice(Protocol):
    """What the adapter needs from an emulated device class (the emulator package's construction
    contract): built from the profile, rebuilt from its persisted bytes, booted on the radio."""

    ieee: Any
    nwk: Any

    @classmethod
    def from_profile(cls, profile: Profile, keystore: KeyStore) -> HostedDevice: ...

    @classmethod
    def restore(cls, data: bytes, **overrides: Any) -> HostedDevice: ...

    def snapshot(self) -> bytes: ...

    def boot(self) -> Any: ...


class PowerLossSource(enum.StrEnum):
    """How the instant the device lost power was found (the statement records it with each power cycle)."""

    ADAPTER = "cut by the adapter"  # the loopback's snapshot: the adapter cut the power itself
    RADIO = "reported by the radio"  # the radio's in-process power_cycle returned the instant
    PIXIT_LATENCY = "pixit adapter.power_off_latency"  # the declared delay after the command started
    EVIDENCE = "evidence"  # the device's last frame before the silence that ended in its rejoin
    HOOK_END = "end of the power hook"  # no rejoin announced, no latency declared


@dataclass(frozen=True)
class _PowerLoss:
    mark: int  # first transcript entry after the loss
    time: float  # clock time of the loss
    source: PowerLossSource
    detail: str


@dataclass(frozen=True)
class PowerCycleResult:
    """One power cycle: how it was done, whether the device came back, and from which transcript entry on
    (``loss_mark``, the entry after the loss) everything happened after the device lost power."""

    method: PowerCycle
    back: bool
    loss_mark: int
    loss_time: float
    source: PowerLossSource
    detail: str

    def as_evidence(self) -> dict[str, Any]:
        return {
            "method": self.method.value,
            "device_back": self.back,
            "power_lost_at_s": round(self.loss_time, 3),
            "instant_source": self.source.value,
            "instant_detail": self.detail,
        }


class AttributeValues(dict[str, Any]):
    """Attribute values by the names asked for; ``failures`` holds the status of those not returned."""

    def __init__(self, values: dict[str, Any], failures: dict[str, foundation.Status]) -> None:
        super().__init__(values)
        self.failures = failures

    def __repr__(self) -> str:
        failed = f", failures={ {k: v.name for k, v in self.failures.items()} }" if self.failures else ""
        return f"AttributeValues({dict(self)}{failed})"


@dataclass(frozen=True)
class Evidence:
    """What a scenario leaves for the report: the transcript as text and JSON, and its summary."""

    text: str
    json: str
    summary: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<Evidence {self.summary.get('entries', 0)} entries>"


class DutAdapter:
    """The device under test as the steps see it (see the module docstring)."""

    def __init__(self, profile: Profile, clock: Clock, keystore: KeyStore) -> None:
        self.profile = profile
        self.clock = clock
        self.keystore = keystore
        self.radio = str(profile.pixit_value("radio"))
        self.dut_eui64 = Eui64.parse(profile.pixit_value("dut.eui64"))
        self.endpoint = int(profile.pixit_value("dut.endpoint"))
        self.transcript = Transcript(clock, dut_eui64=self.dut_eui64, name=profile.name)
        #: The caps on the scenario's traffic and the judge of frames nobody asked for (``harness.dut.traffic``).
        self.traffic = TrafficGuard(TrafficLimits.from_profile(profile), clock, self.transcript)
        self.app: HarnessAppMixin | None = None
        self.hub: CommunicationsHub | None = None
        #: The emulated DUT on a radio that hosts one (replaced by a new object at each power cycle).
        self.node: Any = None
        self.rogue: RogueNode | None = None
        self._gbcs: ChTunnelEnd | None = None
        self._capabilities: RadioCapabilities | None = None
        self._watched: list[int] = []
        self._watch_misses = 0
        self._unwatch: Callable[[], None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        #: On hardware: where zigpy's database and the network backup live (``adapter.state_dir``).
        self.state: NetworkStateDir | None = None
        #: Why the radio was lost during this run (zigpy's connection_lost), else None.
        self.radio_lost: Exception | None = None
        #: Whether the DUT answered since this adapter started (a DUT known from the database must prove it).
        self._dut_confirmed = False
        #: The power cycles of this adapter's scenario (evidence for the statement).
        self.power_cycles: list[PowerCycleResult] = []
        #: Address of the emulators' power switch a power-cycle command drives (loopback radio), else "".
        self._power_switch = ""

    # -- capabilities --------------------------------------------------------------------------------------
    @property
    def capabilities(self) -> RadioCapabilities:
        """This radio's row of the capability table (a ``module:Class`` radio is imported to find it)."""
        if self._capabilities is None:
            caps = capabilities_for(self.radio)
            if caps.radio == "custom":
                caps = capabilities_for(self._radio_class())
            self._capabilities = caps
        return self._capabilities

    def capability_problems(self) -> list[str]:
        """PICS items the profile declares true that this bench cannot do (empty when consistent)."""
        return pics_mismatches(self.capabilities, self.profile)

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the coordinator with the glue, attach the transcript and the CH, and on a radio that
        hosts emulated devices build, attach and boot the DUT. Idempotent. A lab error here (coordinator
        absent, radio library or emulator missing) is a ``LabFault``: no scenario could get past it."""
        try:
            await self._start()
        except LabFault:
            raise
        except LabError as err:
            raise LabFault(err.detail) from err

    async def _start(self) -> None:
        if self.app is not None:
            return
        _quiet_zigpy()
        caps = self.capabilities
        node = self._build_emulated_device() if caps.hosts_emulator else None
        config = self._zigpy_config(caps)
        app = await self._start_radio(config)
        self.app = app
        self.radio_lost = None
        app.add_listener(_RadioWatch(self))
        self.transcript.attach(app)
        app.set_guard(self.traffic)
        self._save_network_state(app)
        self.hub = CommunicationsHub(app, self.clock, self.transcript, dut_eui64=self.dut_eui64)
        self._start_gbcs(app)
        await self._start_power_switch(app)
        if node is not None:
            self.node = node
            try:
                app.attach_node(node)  # type: ignore[attr-defined]
                await self._boot(node)
            except Exception as err:
                await self.stop()
                if isinstance(err, DeviceFailure):  # judged from its traffic while it booted (a flood)
                    raise
                raise LabError(
                    no_verdict_message(
                        f"the emulated DUT {type(node).__name__} could not be attached and booted "
                        f"({type(err).__name__}: {err})",
                        "report this as a harness defect with the run's evidence",
                    )
                ) from err

    async def stop(self) -> None:
        """Detach everything and shut the coordinator down. Idempotent; shutdown trouble is logged only."""
        app, self.app = self.app, None
        if app is None:
            return
        self.clock.fail_waits(None)  # the scenario's verdict is taken; its own shutdown must wait
        self.unwatch_upgrade_status()
        if self.hub is not None:
            self.hub.stop()
        if self._gbcs is not None:
            self._gbcs.stop()
            self._gbcs = None
        self.transcript.detach()
        app.set_guard(None)
        self.traffic.detach()
        if self.capabilities.hosts_emulator:
            for node in (self.node, self.rogue):
                if node is not None:
                    _power_off(node)
                    app.detach_node(node)  # type: ignore[attr-defined]
        self.rogue = None
        try:
            await self.clock.run_until_complete(app.shutdown(), self._budget("stop"), "the coordinator to shut down")
        except Exception as err:
            LOGGER.warning("coordinator shutdown failed: %s: %s", type(err).__name__, err)

    async def _start_power_switch(self, app: HarnessAppMixin) -> None:
        """On a radio that serves the emulators' power switch (the loopback), start it when power cycles go
        through a command, with the emulator's configured latency (``harness.radio.power_switch``)."""
        start = getattr(app, "start_power_switch", None)
        if start is None or power_cycle_method(self.capabilities, self.profile) is not PowerCycle.COMMAND:
            return
        self._power_switch = await start(float(self.profile.pixit_value("emulator.power_off_latency")))

    def begin_scenario(self, name: str) -> Transcript:
        """A fresh transcript and CH state (no images, rules or counters) for the next scenario."""
        self.unwatch_upgrade_status()
        transcript = Transcript(self.clock, dut_eui64=self.dut_eui64, name=name)
        if self.app is not None:
            self.transcript.detach()
            transcript.attach(self.app)
        if self.rogue is not None:
            self.rogue.register(transcript)
        if self.hub is not None:
            self.hub.reset(transcript)
        if self._gbcs is not None:
            self._gbcs.transcript = transcript
        self.traffic.reset(transcript)
        self.transcript = transcript
        return transcript

    # -- GBCS transport ------------------------------------------------------------------------------------
    def _start_gbcs(self, app: HarnessAppMixin) -> ChTunnelEnd:
        """The CH's tunnel end on the coordinator, serving the DUT (started with the radio, so a device that
        requests its tunnel right after joining is granted one)."""
        if self._gbcs is None:
            self._gbcs = ChTunnelEnd(
                app,
                self.clock,
                TunnelConfig.from_profile(self.profile),
                transcript=self.transcript,
                dut_eui64=self.dut_eui64,
                receive_budget=Budget("GBCS response", float(self.profile.pixit_value("budgets.gbcs_response"))),
            )
        return self._gbcs

    @property
    def gbcs(self) -> ChTunnelEnd:
        """The GBCS transport to the DUT (``GbcsTransport``: ``send_to_device`` / ``receive``), recording in
        the scenario's transcript. Only after ``start()``."""
        if self.app is None:
            raise RuntimeError("the DUT adapter is not started: no GBCS transport yet")
        return self._start_gbcs(self.app)

    # -- joining -------------------------------------------------------------------------------------------
    @property
    def device(self) -> Device | None:
        """zigpy's record of the DUT, once it has announced itself."""
        if self.app is None:
            return None
        return self.app.devices.get(t.EUI64.convert(self.dut_eui64.colon))

    @property
    def joined(self) -> bool:
        """Announced and interviewed, the interview's last step (its OTA read and Image Notify) included."""
        device = self.device
        return device is not None and device.is_initialized and not device.initializing

    async def join(self, budget: Budget | None = None) -> Device:
        """Permit joining and wait for the DUT (by EUI-64) to announce itself and finish zigpy's interview,
        within ``budgets.join``; then check that its endpoint carries the OTA client cluster."""
        app = self._require_started()
        budget = budget or self._budget("join")
        if self.joined and not self._dut_confirmed and not self.capabilities.hosts_emulator:
            # Known from the bench's database (an earlier run): found again if it answers, else it rejoins.
            mark = self.transcript.mark()
            self._dut_confirmed = await self.is_operational(self._budget("attribute_read"))
            if not self._dut_confirmed:
                await self._permit_joining(app, budget)
                heard = await self.transcript.wait_for(lambda e: e.direction is Direction.FROM_DUT, budget, since=mark)
                if heard is None:
                    raise self._join_failure(budget)
        if not self.joined:
            await self._permit_joining(app, budget)
            if not await self.clock.run_until(lambda: self.joined, budget):
                raise self._join_failure(budget)
        self._dut_confirmed = True
        device = self.device
        assert device is not None
        self._check_endpoint(device)
        return device

    async def _permit_joining(self, app: HarnessAppMixin, budget: Budget) -> None:
        """Open the network for the DUT: for its EUI-64 with its install code's link key when the profile
        gives one (ERROR on a radio that cannot), else for anyone."""
        seconds = _permit_seconds(budget)
        install_code = self.profile.pixit_value("dut.install_code")
        if install_code is not None:
            require_radio(self.capabilities, "install_code_join", "joining the DUT with pixit.dut.install_code")
            what = f"permit joining for {self.dut_eui64} with its install-code link key"
            command = app.permit_with_link_key(
                node=t.EUI64.convert(self.dut_eui64.colon),
                link_key=convert_install_code(bytes(install_code)),
                time_s=max(30, seconds),  # zigpy-xbee refuses a shorter join window
            )
            self.transcript.record_decision(what, by="adapter", direction=Direction.OTHER)
        else:
            what, command = "permit joining", app.permit(seconds)
        try:
            await self.clock.run_until_complete(command, self._budget("coordinator_command"), what)
        except (LabError, Inconclusive, DeviceFailure):  # a DeviceFailure: judged from its traffic meanwhile
            raise
        except Exception as err:
            raise LabError(
                no_verdict_message(
                    f"the coordinator did not open the network for joining ({type(err).__name__}: {err})",
                    _START_ACTION,
                )
            ) from err

    def _join_failure(self, budget: Budget) -> Inconclusive:
        heard = bool(self.transcript.from_dut())
        if not heard and self.device is None:
            others = self._other_devices()
            seen = f"; devices that did join: {', '.join(others)}" if others else ""
            problem = (
                f"the DUT {self.dut_eui64} did not join within {budget}: no frame from it reached the coordinator{seen}"
            )
            action = (
                "check that the DUT is powered and in range and that its install code or link key is "
                "provisioned on the coordinator; reset the DUT so that it joins; check pixit.dut.eui64; "
                "then re-run"
            )
        else:
            problem = (
                f"the DUT {self.dut_eui64} announced itself, but zigpy's interview (descriptors, Basic and "
                f"OTA attributes) did not complete within {budget}"
            )
            action = "check the radio link quality (LQI in the transcript) and that the DUT answers ZDO "
            action += "descriptor requests; then re-run"
        return Inconclusive(no_verdict_message(problem, action))

    def _other_devices(self) -> list[str]:
        assert self.app is not None
        coordinator = self.app.state.node_info.ieee
        return [
            Eui64.parse(str(ieee)).dashed
            for ieee in self.app.devices
            if ieee != coordinator and Eui64.parse(str(ieee)) != self.dut_eui64
        ]

    def _check_endpoint(self, device: Device) -> None:
        endpoint = device.endpoints.get(self.endpoint)
        if endpoint is not None and Ota.cluster_id in getattr(endpoint, "out_clusters", {}):
            return
        endpoints = sorted(e for e in device.endpoints if e != 0)
        raise Inconclusive(
            no_verdict_message(
                f"the DUT {self.dut_eui64} joined, but endpoint {self.endpoint} carries no OTA client "
                f"cluster (its endpoints: {endpoints})",
                "check pixit.dut.endpoint against the device's Simple Descriptors, then re-run",
            )
        )

    # -- reading the device --------------------------------------------------------------------------------
    async def read_attributes(
        self, cluster: str | int | type[Cluster], names: Sequence[str | int], budget: Budget | None = None
    ) -> AttributeValues:
        """Read ``names`` from the DUT's ``cluster`` ("ota" = its OTA client, "basic", an id or a zigpy
        cluster class) on its endpoint. A read the DUT does not answer is INCONCLUSIVE."""
        target = self._cluster(self._require_joined(), cluster)
        label = f"{type(target).__name__} {', '.join(map(str, names))}"
        return await self._read(target, names, budget or self._budget("attribute_read"), f"read {label}")

    async def _read(self, target: Cluster, names: Sequence[str | int], budget: Budget, note: str) -> AttributeValues:
        """One Read Attributes, its answer taken from the radio tap (``Transcript.zcl_reply``).

        Why not zigpy's own reply matching alone: zigpy drops a frame identical to one it received within
        10 s, and once the device's 8-bit ZCL sequence number wraps, the answer to a repeated read is exactly
        such a frame (same TSN, same value). The read would then hang for zigpy's 28 s timeout and a
        short-lived state would go unseen. zigpy still sends the request (its attribute definitions, its TSN
        counter, so no request of its own shares the TSN), and the tap sees every answer. A DUT that does not
        answer within ``budget`` is INCONCLUSIVE (a real radio may lose frames; the DUT is not judged on it).
        """
        definitions = [target.find_attribute(name) for name in names]
        tsn = int(target.endpoint.device.get_sequence())
        mark = self.transcript.mark()
        what = f"Read Attributes {type(target).__name__} {', '.join(map(str, names))}"
        with self.transcript.attribute(note, by="adapter"):
            request = asyncio.ensure_future(target.read_attributes_raw([d.id for d in definitions], tsn=tsn))
        reply: list[TranscriptEntry] = []

        def answered() -> bool:
            found = self.transcript.zcl_reply(target.cluster_id, tsn, since=mark)
            if found is not None:
                reply.append(found)
            return found is not None or request.done()

        try:
            await self.clock.run_until(answered, budget)
        finally:
            if not request.done():
                request.cancel()  # answered on the tap (zigpy dropped it as a repeat), or out of budget
        error = request.exception() if request.done() and not request.cancelled() else None
        if reply:
            return _attribute_values(names, definitions, reply[0], what)
        if request.done() and not request.cancelled() and error is None:
            # zigpy matched an answer the tap did not show: cannot happen with the glue in front of zigpy
            return _attribute_values(names, definitions, request.result(), what)
        cause = f"{type(error).__name__}: {error}" if error is not None else f"BudgetExpired: {budget}"
        if error is not None and not isinstance(error, DELIVERY_ERRORS):
            raise LabError(no_verdict_message(f"zigpy failed to send {what} ({cause})", _HARNESS_DEFECT)) from error
        raise _no_answer(what, budget, cause)

    async def send_command(
        self, cluster: str | int | type[Cluster], command: str, budget: Budget | None = None, **fields: Any
    ) -> None:
        """Send the ZCL command ``command`` (zigpy's name, e.g. "on" of the On/Off cluster) to the DUT's
        ``cluster`` and wait for its answer: a stimulus the DUT does not acknowledge is INCONCLUSIVE."""
        target = self._cluster(self._require_joined(), cluster)
        label = f"{type(target).__name__} {command}"
        answer = await self._ask(f"command {label}", getattr(target, command)(**fields), budget, label)
        status = getattr(answer, "status", foundation.Status.SUCCESS)
        if status != foundation.Status.SUCCESS:
            raise Inconclusive(
                no_verdict_message(f"the DUT refused {label} with status {status!r}", "check the device, then re-run")
            )

    async def _ask(self, note: str, request: Awaitable[T], budget: Budget | None, what: str) -> T:
        """One ZCL request to the DUT, attributed in the transcript, within ``budget`` (default
        ``budgets.attribute_read``): a DUT that does not answer is INCONCLUSIVE, never a FAIL."""
        budget = budget or self._budget("attribute_read")
        with self.transcript.attribute(note, by="adapter"):
            try:
                return await self.clock.run_until_complete(request, budget, what)
            except (BudgetExpired, *DELIVERY_ERRORS) as err:
                raise _no_answer(what, budget, f"{type(err).__name__}: {err}") from None

    async def is_operational(self, budget: Budget | None = None) -> bool:
        """True when the DUT answers a Basic Read Attributes within ``budget`` (any answer counts)."""
        try:
            await self.read_attributes("basic", ["zcl_version"], budget)
        except Inconclusive:
            return False
        return True

    async def read_ota_attribute(self, name: str, budget: Budget | None = None) -> Any:
        """One attribute of the DUT's OTA client. Not reporting it (an error status) is the DUT's FAIL: the
        steps read only attributes a GB OTA client must report (CurrentFileVersion, ImageUpgradeStatus)."""
        values = await self.read_attributes("ota", [name], budget)
        if name not in values:
            status = values.failures.get(name)
            raise DeviceFailure(
                failure_message(
                    f"the DUT to report its OTA client attribute {name}",
                    f"Read Attributes status {status.name if status is not None else 'none (attribute missing)'}",
                )
            )
        return values[name]

    async def assert_operational(self, budget: Budget | None = None) -> None:
        """FAIL unless the DUT, joined when the scenario began, still answers a Basic Read Attributes.

        A DUT that announces itself (Device_annce) while the read waits was restarting (its activation's reboot,
        say): the read was lost, not ignored, so it is asked once more before any verdict (a compliant PPMID
        whose activation after a power cycle rebooted it just as the suite asked got a false CS-10 FAIL)."""
        budget = budget or self._budget("attribute_read")
        mark = self.transcript.mark()
        operational = await self.is_operational(budget)
        if not operational and self._announced_since(mark):
            self.transcript.record_decision(
                "the DUT announced itself (restarted) while the read waited: it is read once more",
                by="adapter",
                direction=Direction.OTHER,
            )
            operational = await self.is_operational(budget)
        if not operational:
            raise DeviceFailure(
                failure_message(
                    f"the DUT to answer a Basic Read Attributes within {budget}",
                    "no answer (see the transcript: the request was handed to the radio); it stopped working",
                ),
                budget=budget,
                stimulus="a Basic Read Attributes",  # the report shows that request's frame and the budget's end
            )

    def _announced_since(self, mark: int) -> bool:
        return any(_is_announcement(e) for e in self.transcript.since(mark))

    def watch_upgrade_status(self) -> None:
        """Sample ImageUpgradeStatus now and at each OTA request of the DUT (one read in flight at a time),
        so the samples follow the download's steps whatever its speed; ``watched_upgrade_statuses()``."""
        self._require_joined()
        self.unwatch_upgrade_status()
        self._watched = []
        self._watch_misses = 0
        self._unwatch = self.transcript.add_listener(self._on_watched_entry)
        self._sample_upgrade_status()

    def watched_upgrade_statuses(self) -> list[int]:
        """ImageUpgradeStatus values read since ``watch_upgrade_status()``, in order."""
        return list(self._watched)

    def unwatch_upgrade_status(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None

    def _on_watched_entry(self, entry: TranscriptEntry) -> None:
        if entry.direction is Direction.FROM_DUT and entry.is_ota and entry.command in _DOWNLOAD_STEPS:
            self._sample_upgrade_status()

    def _sample_upgrade_status(self) -> None:
        if self._watch_task is None or self._watch_task.done():
            self._watch_task = self.clock.loop.create_task(self._read_upgrade_status(), name="harness-watch")

    async def _read_upgrade_status(self) -> None:
        device = self.device
        if device is None:
            return
        cluster = self._cluster(device, "ota")
        try:
            values = await self._read(
                cluster, ["image_upgrade_status"], self._budget("attribute_read"), "watch ImageUpgradeStatus"
            )
        except (Inconclusive, LabError):
            self._watch_misses += 1  # this sample is lost; the next download step takes the next one
            return
        if "image_upgrade_status" in values:
            self._watched.append(int(values["image_upgrade_status"]))

    @property
    def watch_misses(self) -> int:
        """Samples of ``watch_upgrade_status`` that got no answer within ``budgets.attribute_read``."""
        return self._watch_misses

    def _cluster(self, device: Device, cluster: str | int | type[Cluster]) -> Cluster:
        cluster_id = _cluster_id(cluster)
        endpoints = [device.endpoints.get(self.endpoint)] + [
            ep for eid, ep in sorted(device.endpoints.items()) if eid not in (0, self.endpoint)
        ]
        for endpoint in endpoints:
            if endpoint is None:
                continue
            found = endpoint.in_clusters.get(cluster_id) or endpoint.out_clusters.get(cluster_id)
            if found is not None:
                return found
        raise Inconclusive(
            no_verdict_message(
                f"the DUT declares no cluster 0x{cluster_id:04X} ({cluster}) on any endpoint",
                "check the profile (pixit.dut.endpoint) and the device's Simple Descriptors, then re-run",
            )
        )

    # -- acting on the device ------------------------------------------------------------------------------
    async def power_cycle(self, *, off_for: float = 0.0, budget: Budget | None = None) -> PowerCycleResult:
        """Cut the DUT's power for ``off_for`` seconds and restore it; the result says whether it was heard from
        again within ``budgets.join`` (the scenario judges a device that does not come back) and from which
        transcript entry on everything happened after the power loss, and how that instant was found.

        The way (``power_cycle_method``): the radio's own in-process ``power_cycle(off_s)`` (a simulation),
        else ``pixit.adapter.power_cycle_command`` (a bench's switch; on the loopback radio it drives the
        emulators' power switch), else the loopback's snapshot (the device rebuilt from its persisted bytes).
        Why the instant matters: a switch may cut some time after the command starts, and what the device did
        meanwhile happened *before* the power cycle (PZ-26 counts the blocks requested after it).
        """
        require_capability("GB.ADAPTER.POWER_CYCLE", self.capabilities, self.profile)
        app = self._require_started()
        budget = budget or self._budget("join")
        method = power_cycle_method(self.capabilities, self.profile)
        if method is PowerCycle.SNAPSHOT:
            loss = await self._power_cycle_snapshot(app, off_for)
        elif method is PowerCycle.IN_PROCESS:
            loss = await self._power_cycle_in_process(app, off_for, budget)
        else:
            loss = await self._power_cycle_command(off_for, budget)
        timed = loss.source in (PowerLossSource.PIXIT_LATENCY, PowerLossSource.RADIO)
        # The device's frames already in the air at the cut reach the hub up to one crossing of the link later,
        # and a declared switch latency may be a little short of the real one (the judge's timing tolerance):
        # frames of the device that soon after, before it announces itself again, were sent before the cut.
        in_flight_until = loss.time + max(self.transcript.block_round_trip(), TIMING_TOLERANCE_S)
        heard = await self.transcript.wait_for(
            lambda e: e.direction is Direction.FROM_DUT and (e.time > in_flight_until or _is_announcement(e)),
            budget,
            since=loss.mark,
        )
        loss = dataclasses.replace(loss, mark=self._after_in_flight(loss, timed, in_flight_until))
        result = PowerCycleResult(method, heard is not None, loss.mark, loss.time, loss.source, loss.detail)
        self.transcript.record_decision(
            f"power lost at t={loss.time:.3f} s ({loss.source.value}: {loss.detail})",
            by="adapter",
            direction=Direction.OTHER,
        )
        self.power_cycles.append(result)
        if self.capabilities.hosts_emulator:
            self.node = app.node(t.EUI64.convert(self.dut_eui64.colon)) or self.node  # type: ignore[attr-defined]
        return result

    async def _power_cycle_snapshot(self, app: HarnessAppMixin, off_for: float) -> _PowerLoss:
        """The loopback's own cut: exact, the adapter cuts at this instant."""
        mark, at = self.transcript.mark(), self.clock.now()
        await self.clock.run_until_complete(
            app.power_cycle_node(  # type: ignore[attr-defined]
                t.EUI64.convert(self.dut_eui64.colon), off_for, on_event=self._record_power_event
            ),
            Budget("power cycle", off_for + self._budget("power_cycle_command").seconds),
            "the emulated device's power cycle",
        )
        return _PowerLoss(mark, at, PowerLossSource.ADAPTER, "the adapter cut the emulated device's power itself")

    async def _power_cycle_in_process(self, app: Any, off_for: float, budget: Budget) -> _PowerLoss:
        """The radio's ``power_cycle(off_s)`` coroutine: it may return the loop time of the cut; if not, the
        instant is found in the transcript, as for a command."""
        mark, at = self.transcript.mark(), self.clock.now()
        self.transcript.record_decision(
            f"power cycle by the radio's power_cycle({off_for:g})", by="adapter", direction=Direction.OTHER
        )
        hook = Budget("power cycle", off_for + self._budget("power_cycle_command").seconds)
        try:
            cut = await self.clock.run_until_complete(app.power_cycle(off_for), hook, "the radio's power_cycle")
        except DeviceFailure:  # judged from the device's traffic meanwhile (harness.dut.traffic)
            raise
        except Exception as err:
            raise LabError(
                no_verdict_message(
                    f"the radio's power_cycle({off_for:g}) failed ({_describe(err)})",
                    "check the radio class's power_cycle (docs/hardware.md), then re-run",
                )
            ) from err
        if isinstance(cut, int | float):
            at_cut = self.clock.now() - (self.clock.loop.time() - float(cut))
            return _PowerLoss(mark, at_cut, PowerLossSource.RADIO, "the loop time of the cut its power_cycle returned")
        return await self._loss_from_evidence(mark, at, self.transcript.mark(), self.clock.now(), budget)

    async def _power_cycle_command(self, off_for: float, budget: Budget) -> _PowerLoss:
        """``pixit.adapter.power_cycle_command``, run to completion (with the virtual clock held: another
        process cannot follow it). The cut is at ``adapter.power_off_latency`` after its start when the profile
        declares it, else where the transcript shows it (``_loss_from_evidence``)."""
        command = str(self.profile.pixit_value("adapter.power_cycle_command"))
        mark, at = self.transcript.mark(), self.clock.now()
        self.transcript.record_decision(f"power cycle by command {command!r}", by="adapter", direction=Direction.OTHER)
        env = {**os.environ, OFF_SECONDS_ENV: f"{off_for:g}", DEVICE_ENV: self.dut_eui64.dashed}
        if self._power_switch:
            env[ADDRESS_ENV] = self._power_switch
        action = "check pixit.adapter.power_cycle_command and the switch it drives, then re-run"
        try:
            process = await asyncio.create_subprocess_shell(
                command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
            )
        except OSError as err:
            problem = f"the power-cycle command {command!r} did not start ({err})"
            raise LabError(no_verdict_message(problem, action)) from None
        try:
            output, _ = await self.clock.run_held(
                process.communicate(), self._budget("power_cycle_command"), "the power-cycle command"
            )
        except BaseException as err:
            with contextlib.suppress(ProcessLookupError):
                process.kill()  # never leave a switch command running behind the scenario
            await process.communicate()  # to the end of its output, so nothing of it outlives the loop
            if not isinstance(err, BudgetExpired):
                raise
            raise LabError(
                no_verdict_message(f"the power-cycle command {command!r} did not run to completion ({err})", action)
            ) from None
        if process.returncode != 0:
            tail = output.decode(errors="replace").strip()[-400:]
            raise LabError(
                no_verdict_message(
                    f"the power-cycle command {command!r} exited with status {process.returncode}: {tail}", action
                )
            )
        latency = self.profile.pixit_value("adapter.power_off_latency")
        if latency is None:
            return await self._loss_from_evidence(mark, at, self.transcript.mark(), self.clock.now(), budget)
        cut = at + float(latency)
        if self.clock.now() < cut:
            await self.clock.run_for(cut - self.clock.now())
        detail = f"{format_duration(float(latency))} after the command started"
        return _PowerLoss(mark, cut, PowerLossSource.PIXIT_LATENCY, detail)

    async def _loss_from_evidence(self, mark: int, at: float, end_mark: int, end: float, budget: Budget) -> _PowerLoss:
        """Where the transcript shows the power went: the device's last frame before the silence that ends in its
        rejoin (its Device_annce). Without a rejoin announcement, the end of the power hook (the hook is then
        assumed to return only once the power is back: docs/hardware.md)."""
        rejoin = await self.transcript.wait_for(_is_announcement, budget, since=mark)
        if rejoin is None:
            return _PowerLoss(
                end_mark,
                end,
                PowerLossSource.HOOK_END,
                "the device announced no rejoin within the join budget and no adapter.power_off_latency is declared",
            )
        before = [e for e in self.transcript.from_dut(since=mark) if e.index < rejoin.index]
        if not before:
            return _PowerLoss(
                mark,
                at,
                PowerLossSource.EVIDENCE,
                f"no frame from the device between the power hook and its rejoin at t={rejoin.time:.3f} s",
            )
        last = before[-1]
        detail = (
            f"its last frame {last.command or last.cluster} at t={last.time:.3f} s, its rejoin at t={rejoin.time:.3f} s"
        )
        return _PowerLoss(last.index + 1, last.time, PowerLossSource.EVIDENCE, detail)

    def _after_in_flight(self, loss: _PowerLoss, timed: bool, in_flight_until: float) -> int:
        """The first entry after the cut: past the entries of its very instant when it is timed (only the
        device's last frames can be there: it needs time to boot again), and past the device's frames in the
        air at the cut (``in_flight_until``, before its Device_annce). On a 50-ms link a PPMID that asked for
        its next block just before the cut, and resumed there, FAILed PZ-26; so did one whose switch, declared
        at 0 ms, cut 1 ms later."""
        mark = self._first_after(loss.time, loss.mark) if timed else loss.mark
        for entry in self.transcript.since(loss.mark):
            if entry.time > in_flight_until or _is_announcement(entry):
                break
            if entry.is_frame and entry.direction is Direction.FROM_DUT:
                mark = max(mark, entry.index + 1)
        return mark

    def _first_after(self, time: float, since: int) -> int:
        """The first transcript entry (from ``since``) later than ``time``: entries before it are before the cut
        (at the cut's very instant only the device's last frames can be: it needs time to boot again)."""
        for entry in self.transcript.since(since):
            if entry.time > time:
                return entry.index
        return self.transcript.mark()

    def _record_power_event(self, what: str) -> None:
        self.transcript.record_decision(what, by="adapter", direction=Direction.OTHER)

    async def rogue_node(self) -> RogueNode:
        """A second node on the DUT's network that can send OTA server frames from a non-coordinator
        address (Image Notify, Query Next Image / Image Block / Upgrade End Responses)."""
        require_capability("GB.ADAPTER.ROGUE_NODE", self.capabilities, self.profile)
        app = self._require_started()
        if self.rogue is None:
            rogue = RogueNode(app, transcript=lambda: self.transcript, target=self._rogue_target)
            app.attach_node(rogue)  # type: ignore[attr-defined]
            rogue.register(self.transcript)
            self.rogue = rogue
        return self.rogue

    def _rogue_target(self) -> tuple[Device, int]:
        return self._require_joined(), self.endpoint

    # -- evidence ------------------------------------------------------------------------------------------
    def evidence(self) -> Evidence:
        """The scenario's transcript (text for Allure, JSON for tools) and its summary."""
        summary = self.transcript.summary()
        if self.hub is not None and self.hub.errors:
            summary["ch_errors"] = list(self.hub.errors)
        return Evidence(self.transcript.to_text(), self.transcript.to_json(), summary)

    # -- internals -----------------------------------------------------------------------------------------
    def _budget(self, name: str) -> Budget:
        return Budget(_BUDGET_LABELS.get(name, name), float(self.profile.pixit_value(f"budgets.{name}")))

    def _on_radio_lost(self, exc: Exception) -> None:
        """zigpy reported the radio gone: record it, and end the scenario's current wait as ERROR at once, so
        the lost radio is never judged as the device's silence (a FAIL by the budget rule)."""
        if self.app is None or self.radio_lost is not None:
            return
        self.radio_lost = exc
        problem = (
            f"the {self.radio} coordinator was lost during the scenario ({type(exc).__name__}: {exc}); the "
            "transcript up to the loss is kept as evidence"
        )
        action = (
            "check the coordinator's cable, power and port (e.g. the kernel log for a USB disconnect) and that "
            "no other program opened it, then re-run"
        )
        self.transcript.record_decision(
            f"radio lost: {type(exc).__name__}: {exc}", by="adapter", direction=Direction.OTHER
        )
        # The waits in progress end now, and any the scenario starts later, until the adapter stops.
        self.clock.fail_waits(lambda: LabError(no_verdict_message(problem, action)))

    def _save_network_state(self, app: HarnessAppMixin) -> None:
        """On hardware, write the network backup JSON next to zigpy's database (trouble is logged only: the
        database already holds the same backup)."""
        if self.state is None:
            return
        try:
            summary = self.state.save(app)
        except Exception as err:
            LOGGER.warning("network backup %s not written: %s: %s", self.state.backup_path, type(err).__name__, err)
            return
        LOGGER.info("network state in %s: %s", self.state.directory, summary)

    def _require_started(self) -> HarnessAppMixin:
        if self.app is None:
            raise LabError(
                no_verdict_message(
                    "the DUT adapter is not started", "report this as a harness defect (start() comes first)"
                )
            )
        return self.app

    def _require_joined(self) -> Device:
        self._require_started()
        device = self.device
        if device is None or not self.joined:
            raise Inconclusive(
                no_verdict_message(
                    f"the DUT {self.dut_eui64} has not joined the coordinator",
                    "make the DUT join first (the scenario's Background), then re-run",
                )
            )
        return device

    def _radio_class(self) -> type:
        try:
            return load_radio(self.radio)
        except ConfigurationError as err:
            raise LabError(
                no_verdict_message(
                    f"the radio {self.radio!r} cannot be used: {err}",
                    "fix pixit.radio in the profile (or install the radio's package), then re-run",
                )
            ) from None

    def _zigpy_config(self, caps: RadioCapabilities) -> dict[str, Any]:
        """The loopback keeps no state; a real coordinator gets its port settings and zigpy's database in
        ``adapter.state_dir`` (``harness.radio.state``). A simulation on the virtual clock keeps none either:
        zigpy's database works in a thread of its own, which virtual time cannot wait for."""
        if caps.hosts_emulator:
            return default_config("loopback://")
        path = self._device_path()
        try:
            if not self.clock.virtual:
                self.state = NetworkStateDir(Path(self.profile.pixit_value("adapter.state_dir")))
            return radio_config(
                self.radio,
                path,
                baud_rate=int(self.profile.pixit_value("baud_rate")),
                flow_control=str(self.profile.pixit_value("flow_control")),
                database_path=None if self.state is None else self.state.prepare(),
            )
        except ConfigurationError as err:
            raise LabError(
                no_verdict_message(
                    str(err), "fix the profile (pixit.flow_control, pixit.adapter.state_dir), then re-run"
                )
            ) from None

    def _device_path(self) -> str:
        value = self.profile.pixit_value("device_path")
        if value is None:
            raise LabError(
                no_verdict_message(
                    f"radio {self.radio!r} needs the coordinator's device path, and pixit.device_path is not set",
                    "set pixit.device_path (e.g. /dev/serial/by-id/... or socket://host:port), then re-run",
                )
            )
        path = str(value)
        if "://" not in path and not os.path.exists(path):
            raise LabError(
                no_verdict_message(
                    f"the coordinator's device path {path} does not exist",
                    "plug the coordinator in and check pixit.device_path (stable names are under "
                    "/dev/serial/by-id/), then re-run",
                )
            )
        return path

    async def _start_radio(self, config: dict[str, Any]) -> HarnessAppMixin:
        where = config[conf.CONF_DEVICE][conf.CONF_DEVICE_PATH]
        try:
            return await self.clock.run_until_complete(
                start_app(self.radio, config, clock=self.clock, before_startup=self._seed_network_state),
                self._budget("start"),
                "the coordinator to start",
            )
        except ConfigurationError as err:
            raise LabError(
                no_verdict_message(
                    f"the radio {self.radio!r} cannot be used: {err}",
                    "fix pixit.radio in the profile (or install the radio's package), then re-run",
                )
            ) from None
        except BudgetExpired:
            problem = f"the {self.radio} coordinator at {where} did not finish starting within {self._budget('start')}"
            raise LabError(no_verdict_message(problem, _START_ACTION)) from None
        except Exception as err:
            problem = f"the {self.radio} coordinator at {where} failed to start ({_describe(err)})"
            raise LabError(no_verdict_message(problem, _START_ACTION)) from err

    def _seed_network_state(self, app: HarnessAppMixin) -> None:
        if self.state is not None and self.state.seed(app):
            LOGGER.info("network restored from %s (zigpy's database held no backup)", self.state.backup_path)

    def _build_emulated_device(self) -> HostedDevice:
        spec = emulator_class_spec(self.profile.role, self.profile.pixit_values)
        if not spec:
            raise LabError(
                no_verdict_message(
                    f"no emulator exists for role {self.profile.role!r}",
                    "set pixit.emulator.device_class to a module:Class, then re-run",
                )
            )
        cls = _load_class(str(spec))
        try:
            device = cls.from_profile(self.profile, self.keystore)
        except (LabError, Inconclusive, NotApplicable):
            raise
        except Exception as err:
            raise LabError(
                no_verdict_message(
                    f"the emulator {spec} could not be built from profile {self.profile.name} "
                    f"({type(err).__name__}: {err})",
                    "check the profile's pixit.dut.* values and pixit.emulator.*, then re-run",
                )
            ) from err
        if Eui64.parse(str(device.ieee)) != self.dut_eui64:
            raise LabError(
                no_verdict_message(
                    f"the emulator {spec} built a device with EUI-64 {Eui64.parse(str(device.ieee))}, but the "
                    f"profile's DUT is {self.dut_eui64}",
                    "make the emulator class take its EUI-64 from pixit.dut.eui64, then re-run",
                )
            )
        return device

    async def _boot(self, node: Any) -> None:
        result = node.boot()
        if inspect.isawaitable(result):
            await self.clock.run_until_complete(result, self._budget("join"), "the emulated DUT to boot")

    def __repr__(self) -> str:
        state = "joined" if self.joined else "started" if self.app is not None else "stopped"
        return f"<DutAdapter {self.profile.role} radio={self.radio} dut={self.dut_eui64} {state}>"


def _describe(err: BaseException) -> str:
    """``Type: message`` of an error and of its causes: zigpy re-raises a refused or vanished port as a bare
    TransientConnectionError, whose own message is empty; the cause says what the operator must fix."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen and len(parts) < 4:
        seen.add(id(current))
        text = str(current).strip()
        parts.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return ", caused by ".join(parts)


class _RadioWatch:
    """zigpy application listener (its ``connection_lost`` event) kept apart from the adapter, so no other
    zigpy event name can reach an adapter method by accident."""

    def __init__(self, adapter: DutAdapter) -> None:
        self._adapter = adapter

    def connection_lost(self, exc: Exception) -> None:
        # Radio libraries may report from their own serial thread: act on the clock's loop.
        self._adapter.clock.loop.call_soon_threadsafe(self._adapter._on_radio_lost, exc)


def _load_class(spec: str) -> Any:
    """``module:Class`` by importlib (the emulator package is never imported statically from here)."""
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as err:
        raise LabError(
            no_verdict_message(
                f"the emulator class {spec!r} cannot be loaded ({type(err).__name__}: {err})",
                "fix pixit.emulator.device_class (module:Class on the Python path), then re-run",
            )
        ) from None
    if not (hasattr(cls, "from_profile") and hasattr(cls, "restore") and hasattr(cls, "boot")):
        raise LabError(
            no_verdict_message(
                f"the emulator class {spec!r} lacks from_profile/restore/boot",
                "point pixit.emulator.device_class at an emulated device class, then re-run",
            )
        )
    return cls


def _cluster_id(cluster: str | int | type[Cluster]) -> int:
    if isinstance(cluster, int):
        return cluster
    if isinstance(cluster, type):
        return int(cluster.cluster_id)
    wanted = cluster.strip().lower()
    for cluster_id, cls in Cluster._registry.items():
        if wanted in (str(cls.ep_attribute).lower(), cls.__name__.lower()):
            return int(cluster_id)
    raise ValueError(f"unknown cluster {cluster!r} (use a zigpy ep_attribute such as 'ota' or 'basic')")


def _permit_seconds(budget: Budget) -> int:
    """zigpy permits joining for 1..254 s at a time."""
    return int(min(254, max(1, budget.seconds)))


def _power_off(node: Any) -> None:
    """Stop a detached device's own timers, if it has any (the PPMID's OTA client does): otherwise the
    discarded object could keep transmitting under the address its successor uses."""
    power_off = getattr(node, "power_off", None)
    if callable(power_off):
        power_off()


_HARNESS_DEFECT = "report this as a harness defect with the run's evidence"


def _no_answer(what: str, budget: Budget, cause: str) -> Inconclusive:
    """A request the DUT did not answer: no verdict on the device (a precondition, or a lost frame)."""
    return Inconclusive(
        no_verdict_message(
            f"the DUT did not answer {what} within {budget} ({cause})",
            "check that the DUT is powered and joined (see the transcript), then re-run",
        )
    )


def _attribute_values(
    names: Sequence[str | int], definitions: Sequence[foundation.ZCLAttributeDef], reply: Any, what: str
) -> AttributeValues:
    """The values of a Read Attributes answer (a transcript entry or zigpy's parsed response), typed by the
    attributes' zigpy definitions and keyed by the names asked for; an attribute the DUT left out of its
    answer is in neither part (``read_ota_attribute`` reports it as missing)."""
    if isinstance(reply, TranscriptEntry):
        if reply.malformed or reply.parsed is None:
            raise Inconclusive(
                no_verdict_message(
                    f"the DUT's answer to {what} does not decode ({reply.error or reply.command})",
                    "see the transcript entry of the answer",
                )
            )
        reply = reply.parsed
    by_id = {int(d.id): (str(name), d) for name, d in zip(names, definitions, strict=True)}
    records = reply.status_records if hasattr(reply, "status_records") else None
    if records is None:  # a Default Response: one status for the whole request
        status = foundation.Status(getattr(reply, "status", foundation.Status.FAILURE))
        return AttributeValues({}, {name: status for name, _ in by_id.values()})
    values: dict[str, Any] = {}
    failures: dict[str, foundation.Status] = {}
    for record in records:
        if int(record.attrid) not in by_id:
            continue
        name, definition = by_id[int(record.attrid)]
        if record.status == foundation.Status.SUCCESS:
            values[name] = _typed(definition, record.value)
        else:
            failures[name] = foundation.Status(record.status)
    return AttributeValues(values, failures)


def _typed(definition: foundation.ZCLAttributeDef, type_value: Any) -> Any:
    """A value as zigpy's ``read_attributes`` returns it: in the attribute's declared type, untyped ``dataN``
    octets re-read with that type (the conversion is private in zigpy, so it is restated here)."""
    value = getattr(type_value, "value", type_value)
    if value is None:
        return None
    try:
        if isinstance(value, t.FixedList):
            typed, _ = definition.type.deserialize(value.serialize())
            return typed
        return definition.type(value)
    except (TypeError, ValueError):
        return value  # a value outside the declared type stays as the DUT sent it: evidence, not a crash


def _quiet_zigpy() -> None:
    """zigpy at DEBUG halves the emulator's speed; default it to WARNING unless someone chose a level."""
    logger = logging.getLogger("zigpy")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
