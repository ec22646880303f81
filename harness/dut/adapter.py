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
from harness.clock import Budget, BudgetExpired, Clock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.dut.capabilities import (
    PowerCycle,
    RadioCapabilities,
    RogueNode,
    capabilities_for,
    pics_mismatches,
    require_capability,
    require_radio,
)
from harness.errors import ConfigurationError
from harness.profile import Profile
from harness.radio.factory import default_config, load_radio, radio_config, start_app
from harness.radio.glue import HarnessAppMixin
from harness.radio.state import NetworkStateDir
from harness.transcript import Direction, Transcript, TranscriptEntry
from harness.verdicts import (
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

#: The built-in emulator of each role, as ``module:Class`` (PIXIT ``emulator.device_class`` overrides it).
DEFAULT_EMULATORS: dict[str, str] = {
    "ppmid": "harness.emulator.ppmid:PpmidEmulator",
    "hcalcs": "harness.emulator.hcalcs:HcalcsEmulator",
}

#: How the PIXIT budgets of the bench itself (not of the device) are named in messages.
_BUDGET_LABELS: dict[str, str] = {
    "start": "coordinator start",
    "stop": "coordinator shutdown",
    "coordinator_command": "coordinator command",
    "power_cycle_command": "power-cycle command",
    "attribute_read": "ZCL attribute read",
}

#: After the radio was lost, how often (clock seconds) a wait the scenario starts is failed as ERROR.
_LOST_RECHECK_S = 0.05

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
        self.app: HarnessAppMixin | None = None
        self.hub: CommunicationsHub | None = None
        #: The emulated DUT on a radio that hosts one (replaced by a new object at each power cycle).
        self.node: Any = None
        self.rogue: RogueNode | None = None
        self._gbcs: ChTunnelEnd | None = None
        self._capabilities: RadioCapabilities | None = None
        self._watched: list[int] = []
        self._unwatch: Callable[[], None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        #: On hardware: where zigpy's database and the network backup live (``adapter.state_dir``).
        self.state: NetworkStateDir | None = None
        #: Why the radio was lost during this run (zigpy's connection_lost), else None.
        self.radio_lost: Exception | None = None
        #: Whether the DUT answered since this adapter started (a DUT known from the database must prove it).
        self._dut_confirmed = False

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
        self._save_network_state(app)
        self.hub = CommunicationsHub(app, self.clock, self.transcript, dut_eui64=self.dut_eui64)
        self._start_gbcs(app)
        if node is not None:
            self.node = node
            try:
                app.attach_node(node)  # type: ignore[attr-defined]
                await self._boot(node)
            except Exception as err:
                await self.stop()
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
        self.unwatch_upgrade_status()
        if self.hub is not None:
            self.hub.stop()
        if self._gbcs is not None:
            self._gbcs.stop()
            self._gbcs = None
        self.transcript.detach()
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
        except (LabError, Inconclusive):
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
        success, failure = await self._ask(
            f"read {label}", target.read_attributes(list(names), allow_cache=False), budget, f"Read Attributes {label}"
        )
        return AttributeValues(
            {str(k): v for k, v in success.items()}, {str(k): foundation.Status(v) for k, v in failure.items()}
        )

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
                raise Inconclusive(
                    no_verdict_message(
                        f"the DUT did not answer {what} within {budget} ({type(err).__name__}: {err})",
                        "check that the DUT is powered and joined (see the transcript), then re-run",
                    )
                ) from None

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
        """FAIL unless the DUT, joined when the scenario began, still answers a Basic Read Attributes."""
        budget = budget or self._budget("attribute_read")
        if not await self.is_operational(budget):
            raise DeviceFailure(
                failure_message(
                    f"the DUT to answer a Basic Read Attributes within {budget}",
                    "no answer (see the transcript: the request was handed to the radio); it stopped working",
                ),
                budget=budget,
                stimulus="a Basic Read Attributes",  # the report shows that request's frame and the budget's end
            )

    def watch_upgrade_status(self) -> None:
        """Sample ImageUpgradeStatus now and at each OTA request of the DUT (one read in flight at a time),
        so the samples follow the download's steps whatever its speed; ``watched_upgrade_statuses()``."""
        self._require_joined()
        self.unwatch_upgrade_status()
        self._watched = []
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
        with self.transcript.attribute("watch ImageUpgradeStatus", by="adapter"):
            try:
                success, _ = await cluster.read_attributes(["image_upgrade_status"], allow_cache=False)
            except DELIVERY_ERRORS:
                return
        if "image_upgrade_status" in success:
            self._watched.append(int(success["image_upgrade_status"]))

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
    async def power_cycle(self, *, off_for: float = 0.0, budget: Budget | None = None) -> bool:
        """Cut the DUT's power for ``off_for`` seconds and restore it; True when it is heard from again
        within ``budgets.join`` (the scenario judges a device that does not come back).

        Emulated: the device object is discarded and a new one is rebuilt from the bytes it persisted
        (``restore``), then attached and booted. Hardware: ``pixit.adapter.power_cycle_command``.
        """
        require_capability("GB.ADAPTER.POWER_CYCLE", self.capabilities, self.profile)
        self._require_started()
        budget = budget or self._budget("join")
        if self.capabilities.power_cycle is PowerCycle.SNAPSHOT:
            mark = await self._power_cycle_emulated(off_for)
        else:
            mark = await self._power_cycle_command(off_for)
        heard = await self.transcript.wait_for(lambda e: e.direction is Direction.FROM_DUT, budget, since=mark)
        return heard is not None

    async def _power_cycle_emulated(self, off_for: float) -> int:
        app, old = self.app, self.node
        assert app is not None and old is not None
        data = old.snapshot()
        _power_off(old)
        app.detach_node(old)  # type: ignore[attr-defined]
        self.transcript.record_decision(
            f"power off ({len(data)} persisted octets kept)", by="adapter", direction=Direction.OTHER
        )
        if off_for > 0:
            await self.clock.run_for(off_for)
        new = type(old).restore(data)
        app.attach_node(new)  # type: ignore[attr-defined]
        self.node = new
        mark = self.transcript.mark()
        self.transcript.record_decision(
            "power on (device rebuilt from its persisted bytes)", by="adapter", direction=Direction.OTHER
        )
        await self._boot(new)
        return mark

    async def _power_cycle_command(self, off_for: float) -> int:
        command = str(self.profile.pixit_value("adapter.power_cycle_command"))
        mark = self.transcript.mark()
        self.transcript.record_decision(f"power cycle by command {command!r}", by="adapter", direction=Direction.OTHER)
        env = {**os.environ, "OTA_POWER_OFF_SECONDS": f"{off_for:g}"}
        try:
            process = await asyncio.create_subprocess_shell(
                command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
            )
            output, _ = await self.clock.run_until_complete(
                process.communicate(), self._budget("power_cycle_command"), "the power-cycle command"
            )
        except (OSError, BudgetExpired) as err:
            raise LabError(
                no_verdict_message(
                    f"the power-cycle command {command!r} did not run to completion ({err})",
                    "check pixit.adapter.power_cycle_command and the switch it drives, then re-run",
                )
            ) from None
        if process.returncode != 0:
            tail = output.decode(errors="replace").strip()[-400:]
            raise LabError(
                no_verdict_message(
                    f"the power-cycle command {command!r} exited with status {process.returncode}: {tail}",
                    "check pixit.adapter.power_cycle_command and the switch it drives, then re-run",
                )
            )
        return mark

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
        self._abort_waits_while_lost(lambda: LabError(no_verdict_message(problem, action)))

    def _abort_waits_while_lost(self, error: Callable[[], Exception]) -> None:
        """Fail the waits in progress now, and any the scenario starts later, until the adapter stops: a
        timer re-checks every ``_LOST_RECHECK_S`` of clock time (it fires only while a wait lets time run)."""
        if self.app is None or self.radio_lost is None:
            return
        self.clock.abort(error())
        self.clock.loop.call_later(_LOST_RECHECK_S, self._abort_waits_while_lost, error)

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
        ``adapter.state_dir`` (``harness.radio.state``)."""
        if caps.hosts_emulator:
            return default_config("loopback://")
        path = self._device_path()
        try:
            self.state = NetworkStateDir(Path(self.profile.pixit_value("adapter.state_dir")))
            return radio_config(
                self.radio,
                path,
                baud_rate=int(self.profile.pixit_value("baud_rate")),
                flow_control=str(self.profile.pixit_value("flow_control")),
                database_path=self.state.prepare(),
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
        spec = self.profile.pixit_value("emulator.device_class") or DEFAULT_EMULATORS.get(self.profile.role)
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


def _quiet_zigpy() -> None:
    """zigpy at DEBUG halves the emulator's speed; default it to WARNING unless someone chose a level."""
    logger = logging.getLogger("zigpy")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
