"""Steps about the device's traffic as a whole (CS-22): what it sends beyond what it is asked.

The judgement itself runs in every scenario (``harness.dut.traffic``: the caps and the judge of frames nobody
asked for end the scenario the moment they trip); the steps here only provoke the exchanges where a device most
easily overdoes it and state the verdict of a scenario in which nothing tripped.
"""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from harness.bdd.checks import checks
from harness.bdd.loop import sync_step
from harness.verdicts import stimulus_missing
from steps.context import ScenarioState
from steps.ota import DUT, DUTS

#: What "reads the device's Basic and OTA client attributes" asks for (several at once: a device that answers
#: with attributes nobody asked for shows it here).
BASIC_READ = ("zcl_version", "manufacturer", "model", "power_source")
OTA_READ = ("current_file_version", "image_upgrade_status", "manufacturer_id", "image_type_id")


@given(parsers.re(r"the Communications Hub holds no image for the device"))
def holds_no_image(scenario_state: ScenarioState) -> None:
    scenario_state.dut.hub.discard_all()


@when(parsers.re(rf"the Communications Hub notifies {DUT} by unicast Image Notify with query jitter only"))
@sync_step
async def notify_without_image(scenario_state: ScenarioState) -> None:
    await scenario_state.dut.hub.notify_image(unicast=True, payload_type=0)


@when(parsers.re(rf"the Communications Hub reads {DUTS} Basic and OTA client attributes"))
@sync_step
async def read_several(scenario_state: ScenarioState) -> None:
    await scenario_state.dut.read_attributes("basic", BASIC_READ)
    await scenario_state.dut.read_attributes("ota", OTA_READ)


@then(parsers.re(rf"{DUT} answered only what it was asked and asked no more than its flows need"))
@checks("CS-22")
@sync_step
async def only_what_it_was_asked(scenario_state: ScenarioState) -> None:
    """PASS when the device was asked (it queried after the Image Notify and answered the reads) and the traffic
    guard found nothing all scenario long; its verdict, if it has one no wait raised yet, is raised here."""
    state = scenario_state
    failure = state.clock.failure
    if failure is not None:
        raise failure
    if not state.transcript.delivered_to_dut("image_notify", state.start_mark):
        raise stimulus_missing("the Image Notify", "check the radio link, then re-run")
    if not state.transcript.ota_requests("query_next_image", since=state.start_mark):
        raise stimulus_missing(
            "an answer to a Query Next Image Request (it sent none after the unicast Image Notify)",
            "check that the device queries after a unicast Image Notify (PICS OTA.C.C00.Rsp), then re-run",
        )
