"""Per-scenario fixtures: the DUT adapter on the run's clock, the images, and what the scenario remembers.

Every scenario gets a fresh adapter (a fresh network on the emulator), so scenarios never see each other's
state; the event loop, clock, profile and key store are the run's. At the end of the scenario the
transcript is attached to Allure and its summary and the blocks the device consumed are recorded as
evidence for the conformance statement.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from harness.bdd.loop import LoopRunner
from harness.clock import Budget, Clock
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.dut import DutAdapter
from harness.dut.images import ScenarioImage, ScenarioImages
from harness.evidence.bounds import bounded_transcript_json, bounded_transcript_text
from harness.evidence.record import release_scenario, scenario_evidence
from harness.gbcs.commands import DccCommands
from harness.profile import Profile
from harness.progress import MODELLED_PROPERTY, watch_transcript
from harness.pytest_plugin import record_failure_after_steps
from harness.reports.statement import dut_seen_evidence
from harness.reports.transfer_plot import record_transfer_plots
from harness.transcript import Transcript
from harness.verdicts import FAILURE_KEY


@dataclass
class ScenarioState:
    """What a scenario remembers between its steps (kept small: Allure prints its repr)."""

    dut: DutAdapter
    images: ScenarioImages
    old_version: int
    image: ScenarioImage | None = None
    start_mark: int = 0
    power_cycle_mark: int | None = None
    offsets_before_power_cycle: list[int] = field(default_factory=list)
    activation_told_mark: int | None = None
    #: The identity field ("manufacturer_code", "image_type") the scenario's offer must not share with the
    #: device's own query (CS-06); checked before the device is judged on what it did with the offer.
    offer_differs_in: str | None = None
    #: How a broadcast Image Notify the device must ignore relates to its own identity (``steps.ota``).
    notify_relation: tuple[str, str, bool] | None = None
    #: GBCS: the firmware version of the last CS09 alert received, and the last decoded APDU judged.
    cs09_version: int | None = None
    gbcs_message: object | None = None
    #: The last GBCS command the suite queued, and how many fetches the tunnel had seen then (``steps.gbcs``).
    gbcs_command: bytes | None = None
    gbcs_mark: int = 0
    #: HCALCS: the CS06 commands sent (for replays) and their originator counters, the execution time of the
    #: last future-dated one, and the first image of a scenario that distributes two.
    cs06_sent: list[bytes] = field(default_factory=list)
    cs06_counters: list[int] = field(default_factory=list)
    execute_at: datetime | None = None
    first_image: ScenarioImage | None = None
    _dcc: DccCommands | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"<ScenarioState image={self.image!r}>"

    @property
    def transcript(self) -> Transcript:
        return self.dut.transcript

    @property
    def profile(self) -> Profile:
        return self.dut.profile

    @property
    def clock(self) -> Clock:
        return self.dut.clock

    @property
    def dcc(self) -> DccCommands:
        """The suite as supplier and DCC Access Control Broker, sending to the device under test."""
        if self._dcc is None:
            self._dcc = DccCommands(self.dut.keystore, self.dut.dut_eui64, self.clock.utcnow)
        return self._dcc

    def budget(self, name: str) -> Budget:
        """A named PIXIT time budget (``budgets.<name>``)."""
        return Budget(name.replace("_", " "), float(self.profile.pixit_value(f"budgets.{name}")))

    def download_budget(self, extra_s: float = 0.0) -> Budget:
        """Enough for every block of the image at the per-block budget, plus verification."""
        size = len(self.image.data) if self.image else 0
        block = int(self.profile.pixit_value("ota.max_block_size"))
        per_block = float(self.profile.pixit_value("budgets.block_response_wait"))
        retries = int(self.profile.pixit_value("dut.retry_limit")) + 1
        seconds = (
            float(self.profile.pixit_value("budgets.query_after_notify"))
            + (math.ceil(size / block) + retries) * per_block
            + float(self.profile.pixit_value("budgets.post_download_verification"))
            + extra_s
        )
        return Budget("download", seconds)


@pytest.fixture
def scenario_state(
    request: pytest.FixtureRequest,
    profile: Profile,
    clock: Clock,
    runner: LoopRunner,
    keystore: KeyStore,
    test_pki: TestPki,
) -> Iterator[ScenarioState]:
    dut = DutAdapter(profile, clock, keystore)
    try:
        runner.run(dut.start())
    except BaseException:
        runner.run(dut.stop())  # what did start (a radio, a device) must not outlive the scenario
        raise
    state = ScenarioState(
        dut=dut,
        images=ScenarioImages(profile, test_pki, keystore),
        old_version=int(profile.pixit_value("dut.current_file_version")),
    )
    stop_watching, started = watch_transcript(dut.transcript), clock.now()  # live transfer % (progress)
    try:
        yield state
    finally:
        stop_watching()
        request.node.user_properties.append((MODELLED_PROPERTY, round(clock.now() - started, 3)))
        late = _traffic_verdict_after_steps(request, dut, clock)
        _record_evidence(request, state)
        runner.run(dut.stop())
        release_scenario(request.node, dut)
    if late is not None:
        raise late


def _traffic_verdict_after_steps(request: pytest.FixtureRequest, dut: DutAdapter, clock: Clock) -> Exception | None:
    """The verdict the device's traffic gave once every step had passed (a frame nobody asked for after the
    last wait): raised from the teardown, so the scenario does not PASS over it (``harness.dut.traffic``)."""
    failure = dut.traffic.failure
    if failure is None or FAILURE_KEY in request.node.stash:  # no verdict, or a step already ended the scenario
        return None
    record_failure_after_steps(request.node, failure, clock.now())
    return failure


def _record_evidence(request: pytest.FixtureRequest, state: ScenarioState) -> None:
    """Evidence for the statement: blocks consumed, and for a rejection the device could decide from the
    offer or the OTA header alone, the comparison with PIXIT ``dut.blocks_before_rejection``.

    No requirement makes early rejection mandatory, so the limit is reported, not judged.
    """
    transcript = state.transcript
    blocks = len(transcript.ota_requests("image_block", since=state.start_mark))
    request.node.user_properties.append(("evidence:blocks_consumed", blocks))
    ends = transcript.ota_requests("upgrade_end", since=state.start_mark)
    rejected = any(e.fields.get("status") not in (None, 0) for e in ends)
    offered = any(
        e.delivered and e.fields.get("status") == 0
        for e in transcript.to_dut("query_next_image_response", since=state.start_mark)
    )
    if rejected or (offered and blocks == 0):
        evidence: dict[str, object] = {"blocks_consumed": blocks}
        if blocks == 0 or (state.image is not None and state.image.header_defect):
            # Decidable from the offer or the header alone: compare with the device's declared limit.
            limit = int(state.profile.pixit_value("dut.blocks_before_rejection"))
            evidence.update(pixit_limit=limit, within_limit=blocks <= limit)
        request.node.user_properties.append(("evidence:rejection", evidence))
    if state.dut.power_cycles:  # when each power loss was, and how the instant was found
        request.node.user_properties.append(
            ("evidence:power_cycles", [c.as_evidence() for c in state.dut.power_cycles])
        )
    request.node.user_properties.append(("evidence:transcript_summary", transcript.summary()))
    request.node.user_properties.append(("evidence:traffic", state.dut.traffic.evidence()))
    request.node.user_properties.append(("evidence:dut_seen", dut_seen_evidence(transcript, state.dut.device)))
    write_evidence_files(request, state)


def write_evidence_files(request: pytest.FixtureRequest, state: ScenarioState) -> None:
    """The scenario's evidence files and attachments: capture.pcapng, transcript.txt, for a FAIL its decisive
    frame and violation.png, transfer plots, the Allure transcript. About a third of a run's CPU; none of it
    changes a verdict (the self-check's warm runs leave it out: ``tests/selfcheck/verdicts_only.py``)."""
    transcript = state.transcript
    run_dir = request.config.getoption("--run-dir", None)
    files = scenario_evidence(request.node, state.dut, run_dir)
    request.node.user_properties.extend(files)
    if run_dir and request.config.getoption("--transfer-plots") == "on":  # plain test runs skip the drawing
        clock = "virtual" if state.clock.virtual else "real"
        if plots := record_transfer_plots(transcript, Path(run_dir), request.node.name, clock=clock):
            request.node.user_properties.append(("evidence:transfer_plots", plots))
    with contextlib.suppress(ImportError):
        import allure

        # The transcript.txt just written (frame numbers and times of the capture, bounded like the capture)
        # when there is one: rendering the transcript again would cost as much as writing it.
        written = dict(files).get("evidence:transcript")
        limit = state.dut.traffic.limits.evidence_octets
        text = allure.attachment_type.TEXT
        if run_dir and written:
            allure.attach.file(Path(run_dir) / str(written), name="transcript", attachment_type=text)
        else:
            allure.attach(bounded_transcript_text(transcript, limit), name="transcript", attachment_type=text)
        summary = dict(request.node.user_properties).get("evidence:transcript_summary")  # made just before
        document = bounded_transcript_json(transcript, limit, summary)
        allure.attach(document, name="transcript.json", attachment_type=allure.attachment_type.JSON)
