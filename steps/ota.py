"""Steps for the OTA features: the Communications Hub's stimuli and the judgements on what the device did.

Sentences name "the PPMID", "the HCALCS" or "the device"; all three mean the device under test. Givens
program the suite's Communications Hub, Whens let time run inside clock verbs, Thens judge only the
transcript and ZCL reads. Failure messages say what was expected and what was observed; a missing
observation is FAIL only when the transcript shows that the device received the stimulus (the budget rule
of ``harness.verdicts``), otherwise INCONCLUSIVE. Before a FAIL a Then-step also checks that the stimulus was
the one the scenario means, against what the device itself reported (``_offer_problem``,
``_notify_problem``, ``_require_declared_version``): when it was not, the suite or the profile is at fault
(ERROR). Judgements of what the device did after a stimulus look at ``Transcript.answer_window``, which ends
at the device's next query. Each Then-step declares what it can check (``@checks``) for step-level
attribution; a check may narrow it (``DeviceFailure(..., requirements)``).
"""

from __future__ import annotations

import contextlib
from itertools import pairwise

from pytest_bdd import given, parsers, then, when
from zigpy.zcl import foundation

from harness.bdd.checks import checks
from harness.bdd.loop import sync_step
from harness.ch.ota_server import UPGRADE_TIME_WAIT, Action, Activation, Rule, block_holds
from harness.clock import Budget
from harness.dut.images import ScenarioImage
from harness.ota.identity import (
    WILDCARD_FILE_VERSION,
    WILDCARD_IMAGE_TYPE,
    WILDCARD_MANUFACTURER_CODE,
    other_file_version,
    other_image_type,
    other_manufacturer_code,
)
from harness.transcript import Direction, TranscriptEntry
from harness.verdicts import (
    TIMING_TOLERANCE_S,
    DeviceFailure,
    Inconclusive,
    LabError,
    expired_budget_signal,
    failure_message,
    no_verdict_message,
    stimulus_missing,
    wrong_stimulus,
)
from steps.context import ScenarioState

DUT = r"the (?:PPMID|HCALCS|device)"
DUTS = r"the (?:PPMID|HCALCS|device)'s"
Status = foundation.Status
#: What "sends an Upgrade End Request with status X" checks, by the status it expects (first: its own).
UPGRADE_END_BY_STATUS: dict[str, tuple[str, ...]] = {
    "SUCCESS": ("PZ-13", "CS-07", "CS-14", "CS-17", "PZ-09", "PZ-11", "PZ-12", "PZ-26", "PZ-31", "PZ-32"),
    "INVALID_IMAGE": ("PZ-14", "PZ-13", "CS-03", "CS-04", "CS-05", "CS-08"),
    "ABORT": ("PZ-31",),
}
UPGRADE_END_REQUIREMENTS = tuple(dict.fromkeys(r for reqs in UPGRADE_END_BY_STATUS.values() for r in reqs))
#: "Runs the new firmware version": the download was stored right, verified and activated when told.
NEW_VERSION_REQUIREMENTS = ("PZ-24", "HG-11", "HG-12", "CS-07", "PZ-11", "PZ-12", "PZ-20", "PZ-21", "PZ-26", "PZ-31")
#: "Is still operational": the device answers on the HAN whatever it was sent.
STILL_OPERATIONAL = ("CS-09", "CS-14", "CS-16")
#: "Still runs its old firmware version": nothing was activated that must not be.
NOT_ACTIVATED = (
    "CS-09",
    "CS-03",
    "CS-04",
    "CS-05",
    "CS-06",
    "CS-08",
    "CS-12",
    "CS-15",
    "CS-20",
    "PZ-14",
    "PZ-20",
    "PZ-21",
    "PZ-23",
    "PZ-32",
    "HG-03",
    "HG-05",
    "HG-07",
    "HG-09",
    "HG-10",
    "HG-13",
    "HG-14",
    "HG-15",
    "HG-20",
)
OLD_VERSION_REQUIREMENTS = tuple(dict.fromkeys(STILL_OPERATIONAL + NOT_ACTIVATED))
#: How often "runs the new firmware version" re-reads CurrentFileVersion while the device activates.
ACTIVATION_POLL_S = 5.0
_DURATION_UNITS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600, "hours": 3600}


def _seconds(amount: str, unit: str) -> float:
    return float(amount) * _DURATION_UNITS[unit]


def _hex(value: int) -> str:
    return f"{value:#010x}"


# -- Given: joining and images ---------------------------------------------------------------------------
@given(parsers.re(rf"{DUT} has joined the Communications Hub's network"))
@sync_step
async def joined(scenario_state: ScenarioState) -> None:
    state = scenario_state
    await state.dut.join(state.budget("join"))
    state.start_mark = state.transcript.mark()


@given("the Communications Hub holds a valid image of the next firmware version")
def hold_newer(scenario_state: ScenarioState) -> None:
    hold_image(scenario_state, scenario_state.images.newer())


@given("the Communications Hub holds a valid image of a lower firmware version")
def hold_older(scenario_state: ScenarioState) -> None:
    hold_image(scenario_state, scenario_state.images.older())


@given("the Communications Hub holds a valid image of the running firmware version")
def hold_same(scenario_state: ScenarioState) -> None:
    hold_image(scenario_state, scenario_state.images.same())


@given("the Communications Hub holds an image of the next firmware version without a manufacturer signature")
def hold_unsigned(scenario_state: ScenarioState) -> None:
    hold_image(scenario_state, scenario_state.images.unsigned())


@given(parsers.parse('the Communications Hub holds the image variant "{name}" of the next firmware version'))
def hold_variant(scenario_state: ScenarioState, name: str) -> None:
    hold_image(scenario_state, scenario_state.images.variant(name))


def hold_image(state: ScenarioState, image: ScenarioImage) -> None:
    """The CH holds ``image`` for the DUT (an HCALCS is told to wait for CS06: UpgradeTime 0xFFFFFFFF)."""
    state.image = image
    state.dut.hub.hold(image.held(Activation.WAIT if state.profile.role == "hcalcs" else Activation.NOW))


# -- Given: how the Communications Hub answers -----------------------------------------------------------
@given(parsers.re(r"the Communications Hub advertises the image with another (?P<what>manufacturer code|image type)"))
def advertise_other_identity(scenario_state: ScenarioState, what: str) -> None:
    """CS-06's stimulus: the offer carries another identity (``harness.ota.identity``); ``_offer_problem``
    checks it against the identity the device itself queried with."""
    image = scenario_state.image
    field = "manufacturer_code" if what == "manufacturer code" else "image_type"
    other = other_manufacturer_code if field == "manufacturer_code" else other_image_type
    scenario_state.offer_differs_in = field
    params = {field: other(getattr(image, field))}
    scenario_state.dut.hub.program("query", Rule(Action.WRONG_IDENTITY, times=None, params=params))


@given(parsers.re(rf"the Communications Hub advertises the image with a size larger than {DUTS} storage"))
def advertise_oversized(scenario_state: ScenarioState) -> None:
    capacity = int(scenario_state.profile.pixit_value("dut.storage_capacity"))
    if capacity >= 0xFFFFFFFF:
        raise wrong_stimulus(
            f"no ImageSize is larger than the declared storage capacity {capacity} octets",
            "check pixit.dut.storage_capacity (at most 4,294,967,294 octets make this scenario meaningful)",
        )
    scenario_state.dut.hub.program(
        "query", Rule(Action.WRONG_SIZE, times=None, params={"image_size": min(capacity + 1, 0xFFFFFFFF)})
    )


@given(
    parsers.re(
        r"the Communications Hub answers the Image Block Request at offset (?P<offset>\d+) with data for "
        r"offset (?P<other>\d+)"
    )
)
def block_wrong_offset(scenario_state: ScenarioState, offset: str, other: str) -> None:
    _block_rule(scenario_state, Action.WRONG_OFFSET, int(offset), shift=int(other) - int(offset))


@given(
    parsers.re(
        r"the Communications Hub answers the Image Block Request at offset (?P<offset>\d+) with (?P<extra>\d+) "
        r"octets more than requested"
    )
)
def block_oversized(scenario_state: ScenarioState, offset: str, extra: str) -> None:
    _block_rule(scenario_state, Action.OVERSIZED, int(offset), extra=int(extra))


@given(
    parsers.re(
        r"the Communications Hub answers the Image Block Request at offset (?P<offset>\d+) for another file version"
    )
)
def block_other_file(scenario_state: ScenarioState, offset: str) -> None:
    version = other_file_version(scenario_state.image.file_version)
    _block_rule(scenario_state, Action.WRONG_IDENTITY, int(offset), file_version=version)


@given(
    parsers.re(
        r"the Communications Hub answers the Image Block Request at offset (?P<offset>\d+) with WAIT_FOR_DATA for "
        r"(?P<amount>\d+) (?P<unit>seconds?)(?: and a MinimumBlockPeriod of (?P<period>\d+) seconds?)?"
    )
)
def block_wait_for_data(scenario_state: ScenarioState, offset: str, amount: str, unit: str, period: str | None) -> None:
    params: dict[str, int] = {"wait_s": int(_seconds(amount, unit))}
    if period is not None:
        # The field's unit depends on the cluster revision the device implements (CS-17): declared in PIXIT.
        per_unit = 1000 if scenario_state.profile.pixit_value("dut.min_block_period_unit") == "ms" else 1
        params["minimum_block_period"] = int(period) * per_unit
    _block_rule(scenario_state, Action.WAIT_FOR_DATA, int(offset), **params)


@given(
    parsers.re(
        r"the Communications Hub answers every Image Block Request from offset (?P<offset>\d+) with WAIT_FOR_DATA "
        r"for (?P<amount>\d+) seconds"
    )
)
def block_wait_forever(scenario_state: ScenarioState, offset: str, amount: str) -> None:
    start = int(offset)
    scenario_state.dut.hub.program(
        "block",
        Rule(
            Action.WAIT_FOR_DATA,
            when=lambda command: command.file_offset >= start,
            times=None,
            params={"wait_s": int(amount)},
        ),
    )


@given(parsers.re(r"the Communications Hub does not answer the first Image Block Request at offset (?P<offset>\d+)"))
def block_lost_once(scenario_state: ScenarioState, offset: str) -> None:
    _block_rule(scenario_state, Action.DROP, int(offset))


@given(parsers.re(r"the Communications Hub never answers Image Block Requests at offset (?P<offset>\d+)"))
def block_lost_always(scenario_state: ScenarioState, offset: str) -> None:
    scenario_state.dut.hub.program("block", Rule(Action.DROP, offset=int(offset), times=None))


@given(
    parsers.re(
        r"the Communications Hub delays its answer to the Image Block Request at offset (?P<offset>\d+) by "
        r"(?P<amount>\d+) seconds"
    )
)
def block_late(scenario_state: ScenarioState, offset: str, amount: str) -> None:
    _block_rule(scenario_state, Action.DELAY, int(offset), delay_s=int(amount))


@given(parsers.re(r"the Communications Hub aborts the download at offset (?P<offset>\d+)"))
def block_abort(scenario_state: ScenarioState, offset: str) -> None:
    scenario_state.dut.hub.program("block", Rule(Action.ABORT, offset=int(offset), times=None))


@given(
    parsers.re(
        r"the Communications Hub answers the Image Block Request at offset (?P<offset>\d+) with a data length "
        r"longer than the frame"
    )
)
def block_length_lies(scenario_state: ScenarioState, offset: str) -> None:
    """CS-14: the answer to the request holding ``offset`` claims the whole block in DataSize, a third follows."""
    _block_rule(scenario_state, Action.LYING_LENGTH, int(offset))


def _block_rule(state: ScenarioState, action: Action, offset: int, **params: int | bytes) -> None:
    """Program the CH's answer to "the Image Block Request at offset N": the device's request whose block holds
    octet N (``Rule.offset``), whatever block size the device uses; the Then-steps judge that request."""
    state.dut.hub.program("block", Rule(action, offset=offset, params=dict(params)))


@given(parsers.re(r"the Communications Hub answers the next Query Next Image Request with a truncated frame"))
def query_truncated(scenario_state: ScenarioState) -> None:
    image = scenario_state.image
    payload = bytes([Status.SUCCESS]) + image.manufacturer_code.to_bytes(2, "little") + b"\x84"
    scenario_state.dut.hub.program("query", Rule(Action.RAW, nth=0, params={"payload": payload}))


@given(
    parsers.re(
        r"the Communications Hub answers the Upgrade End Request with (?:an )?UpgradeTime "
        r"(?P<when>0xFFFFFFFF|(?P<amount>\d+) (?P<unit>hours?|minutes?|seconds?) ahead)"
    )
)
def upgrade_time(scenario_state: ScenarioState, when: str, amount: str | None, unit: str | None) -> None:
    if when == "0xFFFFFFFF":
        params: dict[str, object] = {"activation": Activation.WAIT.value}
    else:
        params = {"activation": Activation.LATER.value, "delay_s": int(_seconds(amount, unit))}
    scenario_state.dut.hub.program("end", Rule(Action.SERVE, times=None, params=params))


@given("the Communications Hub answers the Upgrade End Request for another file version")
def upgrade_end_other_file(scenario_state: ScenarioState) -> None:
    version = other_file_version(scenario_state.image.file_version)
    scenario_state.dut.hub.program(
        "end", Rule(Action.SERVE, times=None, params={"identity": {"file_version": version}})
    )


@given("the Communications Hub answers the Upgrade End Request with the wildcard identity")
def upgrade_end_wildcard(scenario_state: ScenarioState) -> None:
    identity = {
        "manufacturer_code": WILDCARD_MANUFACTURER_CODE,
        "image_type": WILDCARD_IMAGE_TYPE,
        "file_version": WILDCARD_FILE_VERSION,
    }
    scenario_state.dut.hub.program("end", Rule(Action.SERVE, times=None, params={"identity": identity}))


@given("the Communications Hub answers the Upgrade End Request with a truncated frame")
def upgrade_end_truncated(scenario_state: ScenarioState) -> None:
    payload = scenario_state.image.manufacturer_code.to_bytes(2, "little") + b"\x00"
    scenario_state.dut.hub.program("end", Rule(Action.RAW, times=None, params={"payload": payload}))


# -- When ------------------------------------------------------------------------------------------------
@when(parsers.re(rf"the Communications Hub notifies {DUT} by unicast Image Notify"))
@sync_step
async def notify_unicast(scenario_state: ScenarioState) -> None:
    await scenario_state.dut.hub.notify_image(unicast=True)


@when(
    parsers.re(
        r"the Communications Hub broadcasts an Image Notify with jitter (?P<jitter>\d+) for "
        r"(?P<identity>the new image|another manufacturer code|another image type|the running firmware version)"
    )
)
@sync_step
async def notify_broadcast(scenario_state: ScenarioState, jitter: str, identity: str) -> None:
    image = scenario_state.image
    overrides = {
        "the new image": {},
        "another manufacturer code": {"manufacturer_code": other_manufacturer_code(image.manufacturer_code)},
        "another image type": {"image_type": other_image_type(image.image_type)},
        "the running firmware version": {"new_file_version": scenario_state.old_version},
    }[identity]
    scenario_state.notify_relation = _NOTIFY_RELATIONS.get(identity)
    await scenario_state.dut.hub.notify_image(unicast=False, payload_type=3, jitter=int(jitter), **overrides)


#: What a broadcast Image Notify the device must ignore means, against the device's own query: (the notify's
#: field, the query's field, whether they must be equal). A device that queries after it shows its identity;
#: if that contradicts the stimulus, the stimulus was not what the scenario means (``_notify_problem``).
_NOTIFY_RELATIONS: dict[str, tuple[str, str, bool]] = {
    "another manufacturer code": ("manufacturer_code", "manufacturer_code", False),
    "another image type": ("image_type", "image_type", False),
    "the running firmware version": ("new_file_version", "current_file_version", True),
}


def _notify_problem(state: ScenarioState, notify: TranscriptEntry, query: TranscriptEntry) -> str:
    """Why a broadcast Image Notify was not the one the scenario means, judged by the query the device sent."""
    if state.notify_relation is None:
        return ""
    notify_field, query_field, equal = state.notify_relation
    sent, own = notify.fields.get(notify_field), query.fields.get(query_field)
    if sent is None or own is None or (int(sent) == int(own)) == equal:
        return ""
    meant = "its running version" if equal else f"another {query_field.replace('_', ' ')}"
    return (
        f"the Image Notify at t={notify.time:.3f} s was meant to carry {meant}, but it carries {notify_field} "
        f"{int(sent):#x} and the device's query says its {query_field} is {int(own):#x}; check the profile's "
        "pixit.dut.* identity against what the device reports"
    )


@when(parsers.re(rf"{DUT} downloads the image(?P<watching> while the suite watches its upgrade status)?"))
@sync_step
async def download(scenario_state: ScenarioState, watching: str | None) -> None:
    await run_download(scenario_state, watch_status=bool(watching))


async def run_download(state: ScenarioState, *, watch_status: bool = False) -> None:
    """Notify the DUT by unicast Image Notify and let it download until its Upgrade End Request."""
    mark = state.transcript.mark()
    if watch_status:
        state.dut.watch_upgrade_status()
    await state.dut.hub.notify_image(unicast=True)
    await state.transcript.wait_for(
        lambda e: _is_request(e, "upgrade_end"),
        state.download_budget(extra_s=_injected_wait_s(state)),
        since=mark,
    )
    await state.clock.run_for(1.0)  # let the Communications Hub's answer reach the device


def _injected_wait_s(state: ScenarioState) -> float:
    """Time the scenario's own programmed throttling and delays add to a download."""
    return sum(
        float(rule.params.get("wait_s", 0)) + float(rule.params.get("delay_s", 0))
        for rule in state.dut.hub.server.rules["block"]
    )


@when(parsers.re(rf"{DUT} is notified of the image and the (?P<name>retry budget|block response budget) passes"))
@sync_step
async def notified_and_wait(scenario_state: ScenarioState, name: str) -> None:
    state = scenario_state
    await state.dut.hub.notify_image(unicast=True)
    per_block = float(state.profile.pixit_value("budgets.block_response_wait"))
    retries = int(state.profile.pixit_value("dut.retry_limit")) + 1
    extra = {"retry budget": retries * per_block, "block response budget": per_block}[name]
    await state.clock.run_for(state.download_budget().seconds + extra)


@when(parsers.re(rf"{DUT} is notified of the image and the wait-for-data limit passes"))
@sync_step
async def notified_and_wait_for_data_limit(scenario_state: ScenarioState) -> None:
    """CS-16's stimulus: endless WAIT_FOR_DATA. Time runs until the device has answered it (gave up with an
    Upgrade End Request, went quiet for a whole wait, or started another attempt with a query), at most until
    the horizon of ``_give_up_times``; so the Then-step reads its status right after it gave up, before a
    periodic query of its own (and the CH's renewed offer) starts another download."""
    state = scenario_state
    mark = state.transcript.mark()
    await state.dut.hub.notify_image(unicast=True)
    first = await state.transcript.wait_for(_is_wait_for_data, state.download_budget(), since=mark)
    if first is None:
        return  # the Then-step says why there is no verdict
    _, horizon = _give_up_times(state, first)
    cursor, period = first.index, _wait_seconds(first) + _slack(state)
    while (left := horizon - state.clock.now()) > 0:
        quiet = Budget("a whole WAIT_FOR_DATA period without a request", min(period, left))
        request = await state.transcript.wait_for(_is_ota_request, quiet, since=cursor + 1)
        if request is None or not request.matches("image_block"):
            return  # quiet (gave up silently, or the horizon), an Upgrade End Request, or a new query
        cursor = request.index


def _slack(state: ScenarioState) -> float:
    return float(state.profile.pixit_value("budgets.block_response_wait"))


def _is_wait_for_data(entry: TranscriptEntry) -> bool:
    """A WAIT_FOR_DATA Image Block Response the radio took for the DUT (the stimulus of PZ-09 and CS-16)."""
    return (
        entry.direction is Direction.TO_DUT
        and entry.matches("image_block_response")
        and entry.delivered
        and entry.fields.get("status") == Status.WAIT_FOR_DATA
    )


def _wait_seconds(response: TranscriptEntry) -> float:
    """How long a WAIT_FOR_DATA response asks the device to wait (RequestTime - CurrentTime)."""
    return float(int(response.fields.get("request_time", 0)) - int(response.fields.get("current_time", 0)))


def _give_up_times(state: ScenarioState, first: TranscriptEntry) -> tuple[float, float]:
    """CS-16's two instants after the first WAIT_FOR_DATA: by ``deadline`` the device must have stopped
    requesting blocks of this download (its declared limit, plus the wait it may still be in when the limit
    comes, plus the block-response slack); until ``horizon`` (one more wait later) the suite watches, long
    enough to see one more request of a device that keeps going."""
    limit = float(state.profile.pixit_value("budgets.wait_for_data_limit"))
    wait = _wait_seconds(first)
    deadline = first.time + limit + wait + _slack(state)
    return deadline, deadline + wait + _slack(state)


def _is_ota_request(entry: TranscriptEntry) -> bool:
    return entry.direction is Direction.FROM_DUT and entry.is_ota and entry.is_cluster_command and not entry.malformed


@when(parsers.re(r"(?P<amount>\d+) (?P<unit>hours?|minutes?|seconds?) pass(?:es)?"))
@sync_step
async def time_passes(scenario_state: ScenarioState, amount: str, unit: str) -> None:
    await scenario_state.clock.run_for(_seconds(amount, unit))


@when(parsers.re(r"the (?P<name>activation|query) budget passes"))
@sync_step
async def budget_passes(scenario_state: ScenarioState, name: str) -> None:
    key = {"activation": "activation", "query": "query_after_notify"}[name]
    await scenario_state.clock.run_for(scenario_state.budget(key).seconds)


@when(parsers.re(rf"the Communications Hub tells {DUT} to upgrade now"))
@sync_step
async def upgrade_now(scenario_state: ScenarioState) -> None:
    await scenario_state.dut.hub.send_upgrade_end_response(Activation.NOW)


@when(parsers.re(rf"{DUT} is power-cycled(?: when its download has reached offset (?P<offset>\d+))?$"))
@sync_step
async def power_cycle(scenario_state: ScenarioState, offset: str | None) -> None:
    state = scenario_state
    if offset is not None:
        target = int(offset)
        await state.dut.hub.notify_image(unicast=True)
        reached = await state.transcript.wait_for(
            lambda e: _is_request(e, "image_block") and int(e.fields.get("file_offset", -1)) >= target,
            state.download_budget(),
            since=state.start_mark,
        )
        if reached is None:
            raise _no_download(state, f"a block request at offset {target} or beyond")
    await _power_cycle(state)


async def _power_cycle(state: ScenarioState) -> None:
    """Power-cycle the device and remember the instant it lost power (``power_cycle_mark``) and the offsets it
    had requested before it: a switch may cut some time after the suite decided, and what the device did
    meanwhile happened before the power cycle, not after it (PZ-26)."""
    cycle = await state.dut.power_cycle()
    state.power_cycle_mark = cycle.loss_mark
    state.offsets_before_power_cycle = [
        int(e.fields["file_offset"])
        for e in state.transcript.ota_requests("image_block", since=state.start_mark)
        if e.index < state.power_cycle_mark and not e.malformed and "file_offset" in e.fields
    ]
    await state.dut.join(state.budget("join"))


@when(parsers.re(rf"{DUT} is power-cycled as soon as the Communications Hub has told it to activate"))
@sync_step
async def power_cycle_on_activation(scenario_state: ScenarioState) -> None:
    state = scenario_state
    told = await state.transcript.wait_for(
        lambda e: e.direction is Direction.TO_DUT and e.matches("upgrade_end_response") and e.transmitted,
        state.budget("activation"),
        since=state.start_mark,
    )
    if told is None:
        raise _no_download(state, "the Communications Hub's Upgrade End Response")
    state.activation_told_mark = told.index
    await _power_cycle(state)


@when(parsers.re(rf"a rogue node sends {DUT} a unicast Image Notify"))
@sync_step
async def rogue_notify(scenario_state: ScenarioState) -> None:
    state = scenario_state
    state.start_mark = state.transcript.mark()
    rogue = await state.dut.rogue_node()
    await rogue.image_notify(state.image.held())


@when(parsers.re(rf"a rogue node tells {DUT} to upgrade now"))
@sync_step
async def rogue_upgrade_now(scenario_state: ScenarioState) -> None:
    rogue = await scenario_state.dut.rogue_node()
    await rogue.upgrade_end_response(scenario_state.image.held(), Activation.NOW)


# -- Then: queries and downloads -------------------------------------------------------------------------
def _is_request(entry: TranscriptEntry, command: str) -> bool:
    return (
        entry.direction is Direction.FROM_DUT
        and entry.cluster_id == 0x0019
        and entry.matches(command)
        and not entry.malformed
    )


def _offers(state: ScenarioState) -> list[TranscriptEntry]:
    """The Query Next Image Responses offering an image (SUCCESS) that reached the DUT: the download stimulus."""
    return state.transcript.delivered_to_dut(
        "query_next_image_response", state.start_mark, predicate=lambda e: e.fields.get("status") == Status.SUCCESS
    )


def _was_offered(state: ScenarioState) -> bool:
    """Did the device receive a Query Next Image Response offering the image (the download stimulus)?"""
    return bool(_offers(state))


#: The offer's fields, the device's Query Next Image Request fields they answer, the profile's PIXIT.
_OFFER_FIELDS = (
    ("manufacturer_code", "manufacturer_code", "dut.manufacturer_code"),
    ("image_type", "image_type", "dut.image_type"),
    ("file_version", "current_file_version", "dut.current_file_version"),
)


def _offer_problem(state: ScenarioState, offer: TranscriptEntry) -> str:
    """Why an offer is not the stimulus the scenario means, or "" when it is.

    The scenario builds its offer from the profile (the next version, a lower one, the running one, another
    manufacturer code ...). It means that offer only if the device's own Query Next Image Request agrees
    with the profile: an offer that is "another manufacturer code" or "the next version" against the profile
    but the device's own code or an older version against what the device reports is the suite's (or the
    profile's) mistake, whatever the device then does.
    """
    query = state.transcript.request_answered(offer)
    if query is None or query.malformed:
        return ""
    first = _first_query(state) or query
    for offered_name, reported_name, pixit in _OFFER_FIELDS:
        # The running version is the one the device reported when the scenario began: once it has updated in
        # the scenario it rightly reports the new one, and the CH offering that again is no mistake of the profile.
        source = first if reported_name == "current_file_version" else query
        offered, reported = offer.fields.get(offered_name), source.fields.get(reported_name)
        declared = state.profile.pixit_value(pixit)
        if None in (offered, reported, declared):
            continue
        offered, reported, declared = int(offered), int(reported), int(declared)
        if _order(offered, declared) != _order(offered, reported):
            return (
                f"the profile declares {pixit} {declared:#x}, but the device reports {reported_name} {reported:#x} "
                f"in its Query Next Image Request at t={source.time:.3f} s, so the offered {offered_name} "
                f"{offered:#x} is not the offer the scenario means"
            )
    field = state.offer_differs_in
    if field is not None and offer.fields.get(field) == query.fields.get(field):
        return (
            f"the scenario offers another {field.replace('_', ' ')}, but the offer at t={offer.time:.3f} s carries "
            f"{int(offer.fields[field]):#06x}, the device's own (a harness defect: report it)"
        )
    return ""


def _first_query(state: ScenarioState) -> TranscriptEntry | None:
    """The device's first well-formed Query Next Image Request of the scenario."""
    return next(
        (e for e in state.transcript.ota_requests("query_next_image", state.start_mark) if not e.malformed), None
    )


def _order(a: int, b: int) -> int:
    return (a > b) - (a < b)


def _require_offered(state: ScenarioState, what: str) -> None:
    """A judgement on the download needs a download: without the offer there is no verdict, and an offer that
    is not what the scenario means (``_offer_problem``) is the suite's or the profile's ERROR."""
    offers = _offers(state)
    if not offers:
        raise Inconclusive(
            f"cannot judge {what}: the device never received a Query Next Image Response offering the image. "
            "ACTION: check that the device queries after a unicast Image Notify (see the discovery scenarios)."
        )
    _require_offer_as_specified(state, offers)


def _require_offer_as_specified(state: ScenarioState, offers: list[TranscriptEntry]) -> None:
    for offer in offers:
        if problem := _offer_problem(state, offer):
            raise wrong_stimulus(
                problem, "fix the profile's pixit.dut.* values to what the device reports, then re-run"
            )


def _no_download(
    state: ScenarioState, expected: str, requirements: tuple[str, ...] = ()
) -> DeviceFailure | Inconclusive:
    """The budget rule for a download step: FAIL if the device was offered the image, else no verdict."""
    offers = _offers(state)
    _require_offer_as_specified(state, offers)
    return expired_budget_signal(
        budget=state.download_budget(),
        expected=expected,
        stimulus="a Query Next Image Response offering the image",
        stimulus_received=bool(offers),
        requirements=requirements,
    )


def _require_block_stimulus(state: ScenarioState) -> None:
    """The scenario's programmed Image Block Responses (a wrong offset, a lost or late block, WAIT_FOR_DATA
    ...) are its stimulus: one the CH never applied (the device never asked for that offset, e.g. with
    another block size) leaves nothing to judge."""
    for rule in state.dut.hub.server.rules["block"]:
        if rule.used == 0:
            where = f" at offset {rule.offset}" if rule.offset is not None else ""
            raise stimulus_missing(
                f"the Image Block Response the scenario programs ({rule.action.value}{where}): the device never "
                "requested that offset",
                "check the device's block size and ota.max_block_size against the offsets the scenario names",
            )


def _first_request_at(state: ScenarioState, offset: int) -> TranscriptEntry | None:
    """The device's first Image Block Request whose block holds octet ``offset`` (what "the request at offset N"
    of a feature means, as the CH's rules match it: ``harness.ch.ota_server.block_holds``)."""
    return next(
        (
            e
            for e in state.transcript.ota_requests("image_block", state.start_mark)
            if not e.malformed and block_holds(_offset(e), int(e.fields.get("maximum_data_size", 1)), offset)
        ),
        None,
    )


def _block_at(state: ScenarioState, offset: int) -> str:
    """How a message names the block of "offset N": the offset itself, or the device's block holding it."""
    request = _first_request_at(state, offset)
    start = offset if request is None else _offset(request)
    return f"offset {start}" if start == offset else f"offset {start} (its block holding octet {offset})"


def _offset(entry: TranscriptEntry) -> int:
    return int(entry.fields.get("file_offset", -1))


def _answer_to(state: ScenarioState, request: TranscriptEntry) -> TranscriptEntry | None:
    """The CH's Image Block Response to ``request`` that reached the DUT (None: dropped or undelivered)."""
    return next(
        (
            e
            for e in state.transcript.delivered_to_dut("image_block_response", request.index)
            if e.in_reply_to == request.index
        ),
        None,
    )


def _block_requests_in(window: list[TranscriptEntry]) -> list[TranscriptEntry]:
    return [e for e in window if _is_request(e, "image_block")]


@then(parsers.re(rf"{DUT} sends a Query Next Image Request for its own identity"))
@checks("PZ-27")
@sync_step
async def sends_query(scenario_state: ScenarioState) -> None:
    state = scenario_state
    budget = state.budget("query_after_notify")
    query = await state.transcript.wait_for(
        lambda e: _is_request(e, "query_next_image"), budget, since=state.start_mark
    )
    if query is None:
        raise expired_budget_signal(
            budget=budget,
            expected="a Query Next Image Request",
            stimulus="the Image Notify",
            stimulus_received=state.transcript.received_stimulus("image_notify", since=state.start_mark),
        )
    observed = (query.fields.get("manufacturer_code"), query.fields.get("image_type"))
    declared = (
        int(state.profile.pixit_value("dut.manufacturer_code")),
        int(state.profile.pixit_value("dut.image_type")),
    )
    if observed != declared:
        # The suite knows the device's identity only from the profile: a query for another one means the bench
        # is configured for another device (or firmware), and every offer built from the profile is wrong too.
        raise LabError(
            no_verdict_message(
                f"the device queries for manufacturer code / image type {observed[0]:#06x} / {observed[1]:#06x}, "
                f"but the profile declares {declared[0]:#06x} / {declared[1]:#06x}",
                "fix pixit.dut.manufacturer_code and pixit.dut.image_type to what the device reports, then re-run",
            )
        )


@then(parsers.re(rf"{DUT} does not send a Query Next Image Request within the query budget"))
@checks("PZ-27", "CS-12")
@sync_step
async def no_query(scenario_state: ScenarioState) -> None:
    state = scenario_state
    budget = state.budget("query_after_notify")
    await state.clock.run_for(budget.seconds)
    notifies = state.transcript.delivered_to_dut("image_notify", state.start_mark)
    if not notifies:
        raise stimulus_missing("the Image Notify", "check the radio link, then re-run")
    stimulus = notifies[0]
    answers = [
        e
        for e in state.transcript.select(since=stimulus.index, predicate=lambda e: _is_request(e, "query_next_image"))
        if e.time <= stimulus.time + budget.seconds
    ]
    if answers and (problem := _notify_problem(state, stimulus, answers[0])):
        raise wrong_stimulus(problem, "fix the profile's pixit.dut.* identity, then re-run")
    assert not answers, failure_message(
        f"no Query Next Image Request within {budget} of an Image Notify the device must ignore "
        f"(t={stimulus.time:.3f} s)",
        f"a Query Next Image Request at t={answers[0].time:.3f} s" if answers else "",
    )


@then(parsers.re(rf"{DUT} does not request any block of the image"))
@checks("CS-06", "CS-15", "CS-20")
@sync_step
async def no_blocks(scenario_state: ScenarioState) -> None:
    state = scenario_state
    await state.clock.run_for(state.budget("query_after_notify").seconds + state.budget("block_response_wait").seconds)
    _require_offered(state, "whether it downloads the image it was offered")
    blocks = state.transcript.block_offsets(since=state.start_mark)
    assert not blocks, failure_message(
        "no Image Block Request", f"{len(blocks)} Image Block Requests, first at offset {blocks[0]}"
    )


@then(parsers.re(rf"{DUT} treats the older image as its declared downgrade policy says"))
@checks("CS-20")
@sync_step
async def downgrade_policy(scenario_state: ScenarioState) -> None:
    state = scenario_state
    policy = state.profile.pixit_value("dut.downgrade_policy")
    await state.clock.run_for(state.download_budget().seconds)
    _require_offered(state, "what it does with an older image")
    blocks = state.transcript.block_offsets(since=state.start_mark)
    if policy == "allow":
        assert blocks, failure_message("the older image downloaded (declared policy: allow)", "no Image Block Request")
        return
    assert not blocks, failure_message(
        f"no download of an older image (declared policy: {policy})", f"{len(blocks)} Image Block Requests"
    )
    await _operational_on(state, state.old_version)


@then(
    parsers.re(rf"{DUT} sends an Upgrade End Request with status (?P<status>[A-Z_]+)(?P<after> after the power cycle)?")
)
@checks(*UPGRADE_END_REQUIREMENTS)
@sync_step
async def sends_upgrade_end(scenario_state: ScenarioState, status: str, after: str | None) -> None:
    state = scenario_state
    since = state.power_cycle_mark if after else state.start_mark
    request = await state.transcript.wait_for(
        lambda e: _is_request(e, "upgrade_end"),
        state.download_budget(extra_s=_injected_wait_s(state)),
        since=since,
    )
    about = UPGRADE_END_BY_STATUS.get(status, ())
    if request is None:
        raise _no_download(state, f"an Upgrade End Request with status {status}", requirements=about)
    _require_offered(state, "the status of its Upgrade End Request")
    observed = Status(request.fields.get("status")).name
    if observed != status:
        raise DeviceFailure(
            failure_message(f"Upgrade End Request status {status}", f"status {observed} at t={request.time:.3f} s"),
            about,
        )


def _walk_download(state: ScenarioState, until_index: int | None = None) -> tuple[int, list[str]]:
    """Replay the download in transcript order as a compliant client sees it.

    Returns how many octets the device had validly received, and every request that left a gap (asked
    beyond what it had) or went back (asked for data it already had). A re-request of the offset it is
    waiting for is neither.
    """
    received, problems = 0, []
    for entry in state.transcript.since(state.start_mark):
        if until_index is not None and entry.index >= until_index:
            break
        if not entry.is_frame or entry.cluster_id != 0x0019 or entry.malformed:
            continue
        if _is_request(entry, "image_block"):
            offset = int(entry.fields["file_offset"])
            if offset > received:
                problems.append(f"a request at offset {offset} while only {received} octets had arrived (a gap)")
            elif offset < received:
                problems.append(f"a request at offset {offset} after {received} octets had arrived (went back)")
        elif entry.direction is Direction.TO_DUT and entry.matches("image_block_response") and entry.transmitted:
            data = entry.fields.get("image_data") or b""
            if entry.fields.get("status") == Status.SUCCESS and int(entry.fields.get("file_offset", -1)) == received:
                received += len(data)
    return received, problems


@then(parsers.re(rf"{DUT} requested every octet of the image in order before that Upgrade End Request"))
@checks("PZ-13")
def requested_in_order(scenario_state: ScenarioState) -> None:
    state = scenario_state
    end = state.transcript.last("upgrade_end", direction=Direction.FROM_DUT, since=state.start_mark)
    if end is None:
        raise _no_download(state, "an Upgrade End Request after the download")
    received, problems = _walk_download(state, until_index=end.index)
    assert not problems, failure_message("every block requested in order, without gaps", problems[0])
    size = len(state.image.data)
    assert received >= size, failure_message(
        f"all {size} octets received before the Upgrade End Request", f"only {received} octets had arrived"
    )


@then(parsers.re(rf"{DUTS} block requests never went back to an earlier offset nor skipped one"))
@checks("PZ-31")
def no_back_no_skip(scenario_state: ScenarioState) -> None:
    _require_offered(scenario_state, "the order of block requests")
    _require_block_stimulus(scenario_state)
    _, problems = _walk_download(scenario_state)
    if not scenario_state.transcript.block_offsets(since=scenario_state.start_mark):
        raise _no_download(scenario_state, "Image Block Requests")
    assert not problems, failure_message("requests that neither restart nor skip after a late response", problems[0])


def _bad_answer_at(state: ScenarioState, offset: int, what: str) -> tuple[TranscriptEntry, TranscriptEntry]:
    """The device's first request for the block holding ``offset`` and the CH's programmed (wrong, throttling)
    answer to it that reached the DUT: the stimulus of a step about what the device does next."""
    _require_offered(state, what)
    _require_block_stimulus(state)
    request = _first_request_at(state, offset)
    answer = None if request is None else _answer_to(state, request)
    if request is None or answer is None:
        raise stimulus_missing(
            f"the Communications Hub's programmed answer to its Image Block Request at offset {offset}"
        )
    return request, answer


@then(parsers.re(rf"{DUT} requests offset (?P<offset>\d+) again"))
@checks("PZ-11", "PZ-12", "CS-14")
def requests_again(scenario_state: ScenarioState, offset: str) -> None:
    """Within the attempt the bad answer belongs to: a new download after a query of its own is no re-request."""
    state = scenario_state
    request, bad = _bad_answer_at(state, int(offset), "the re-request of a bad block")
    target = _offset(request)
    again = [e for e in _block_requests_in(state.transcript.answer_window(bad.index)) if _offset(e) == target]
    assert again, failure_message(
        f"{_block_at(state, int(offset))} requested again after the bad response at t={bad.time:.3f} s",
        "no such request before the download ended or the device queried again",
    )


@then(parsers.re(rf"{DUTS} next block request after the lost one is for offset (?P<offset>\d+) again"))
@checks("PZ-31")
def next_after_lost(scenario_state: ScenarioState, offset: str) -> None:
    state = scenario_state
    _require_offered(state, "the re-request of a lost block")
    _require_block_stimulus(state)
    lost = _first_request_at(state, int(offset))
    if lost is None:
        raise stimulus_missing(f"a lost Image Block Response (the device never requested offset {offset})")
    target = _offset(lost)
    following = _block_requests_in(state.transcript.answer_window(lost.index))[1:2]
    assert [_offset(e) for e in following] == [target], failure_message(
        f"{_block_at(state, int(offset))} requested again after its response was lost",
        f"next request for offset {_offset(following[0])}" if following else "no further request in that download",
    )


@then(parsers.re(rf"{DUT} never requested an offset beyond (?P<offset>\d+)"))
@checks("PZ-31", "CS-09")
def never_beyond(scenario_state: ScenarioState, offset: str) -> None:
    """Beyond the block holding ``offset`` (the one the CH stopped answering): the device has no data from there."""
    state = scenario_state
    offsets = state.transcript.block_offsets(since=state.start_mark)
    if not offsets:
        raise _no_download(state, "Image Block Requests")
    _require_offered(state, "how far it downloads")
    _require_block_stimulus(state)
    stopped = _first_request_at(state, int(offset))
    limit = int(offset) if stopped is None else _offset(stopped)
    assert max(offsets) <= limit, failure_message(
        f"no request beyond {_block_at(state, int(offset))} (it has no data from there)",
        f"a request at offset {max(offsets)}",
    )


@then(parsers.re(rf"{DUT} waits at least (?P<seconds>\d+) seconds before requesting offset (?P<offset>\d+) again"))
@checks("PZ-09")
def waits_before_retry(scenario_state: ScenarioState, seconds: str, offset: str) -> None:
    """PZ-09: measured from the WAIT_FOR_DATA response (the device's wait starts when it receives it), to its
    next request for that offset in the same download."""
    state = scenario_state
    request, throttle = _bad_answer_at(state, int(offset), "the wait before the next request")
    target = _offset(request)
    again = [e for e in _block_requests_in(state.transcript.answer_window(throttle.index)) if _offset(e) == target]
    assert again, failure_message(
        f"{_block_at(state, int(offset))} requested again after WAIT_FOR_DATA", "no second request in that download"
    )
    waited = again[0].time - throttle.time
    assert waited >= float(seconds) - TIMING_TOLERANCE_S, failure_message(
        f"at least {seconds} s after the WAIT_FOR_DATA at t={throttle.time:.3f} s before the next request",
        f"{waited:.3f} s",
    )


@then(parsers.re(rf"{DUTS} block requests after offset (?P<offset>\d+) are at least (?P<seconds>\d+) seconds apart"))
@checks("PZ-09", "CS-17")
def spaced_requests(scenario_state: ScenarioState, offset: str, seconds: str) -> None:
    state = scenario_state
    request, throttle = _bad_answer_at(state, int(offset), "the spacing of block requests")
    requests = [
        e for e in _block_requests_in(state.transcript.answer_window(throttle.index)) if _offset(e) > _offset(request)
    ]
    assert len(requests) >= 2, failure_message("several block requests after the throttled one", f"{len(requests)}")
    gaps = [b.time - a.time for a, b in pairwise(requests)]
    assert min(gaps) >= float(seconds) - TIMING_TOLERANCE_S, failure_message(
        f"block requests at least {seconds} s apart (MinimumBlockPeriod)", f"a gap of {min(gaps):.3f} s"
    )


@then(parsers.re(rf"{DUT} has stopped the download and reports the Normal upgrade status"))
@checks("CS-16")
@sync_step
async def stopped_download(scenario_state: ScenarioState) -> None:
    """CS-16, judged on what the device did in answer to the WAIT_FOR_DATA responses (``answer_window``): it
    waited as each one asked (tolerating them), stopped requesting blocks by its declared limit, and reports
    Normal once it gave up. A later query of its own starts another attempt, which is not judged here."""
    state = scenario_state
    _require_offered(state, "how it answers an endless WAIT_FOR_DATA")
    first = next((e for e in state.transcript.since(state.start_mark) if _is_wait_for_data(e)), None)
    if first is None:
        raise stimulus_missing("a WAIT_FOR_DATA Image Block Response")
    window = state.transcript.answer_window(first.index)
    requests = [e for e in window if _is_request(e, "image_block")]
    for response in (e for e in window if _is_wait_for_data(e)):
        following = next((r for r in requests if r.index > response.index), None)
        waited = None if following is None else following.time - response.time
        asked = _wait_seconds(response)
        assert waited is None or waited >= asked - TIMING_TOLERANCE_S, failure_message(
            f"no Image Block Request until RequestTime, {asked:g} s after the WAIT_FOR_DATA at t={response.time:.3f} s",
            f"a request at offset {following.fields.get('file_offset')} after {waited:.3f} s",  # type: ignore[union-attr]
        )
    deadline, _ = _give_up_times(state, first)
    late = [r for r in requests if r.time > deadline]
    limit = float(state.profile.pixit_value("budgets.wait_for_data_limit"))
    assert not late, failure_message(
        f"the download abandoned within the declared wait-for-data limit ({limit:g} s, PIXIT "
        f"budgets.wait_for_data_limit) of the first WAIT_FOR_DATA at t={first.time:.3f} s",
        f"still requesting blocks at t={late[0].time:.3f} s ({len(late)} requests after t={deadline:.3f} s)",
    )
    status = int(await state.dut.read_ota_attribute("image_upgrade_status", state.budget("block_response_wait")))
    if status != 0 and len(window) < len(state.transcript.since(first.index)):
        query = state.transcript[first.index + len(window)]
        raise Inconclusive(
            no_verdict_message(
                f"ImageUpgradeStatus is {status} now, but the device began another attempt with a query at "
                f"t={query.time:.3f} s before its status after giving up could be read",
                "re-run; if it repeats, compare the device's query interval with the wait-for-data limit",
            )
        )
    assert status == 0, failure_message("ImageUpgradeStatus Normal (0) after abandoning the download", f"{status}")


@then(parsers.re(rf"after the power cycle {DUT} continued from the start or from an offset it had already received"))
@checks("PZ-26")
def continued_after_power_cycle(scenario_state: ScenarioState) -> None:
    state = scenario_state
    after = state.transcript.block_offsets(since=state.power_cycle_mark)
    if not after:
        received, _ = _walk_download(state, until_index=state.power_cycle_mark)
        if state.image is not None and received >= len(state.image.data):
            raise Inconclusive(
                no_verdict_message(
                    f"the power cycle did not interrupt the download: all {received} octets had arrived before "
                    "the device lost power (see the power cycle in the transcript), so there was nothing to resume",
                    "make the power switch cut sooner after its command (a shorter relay delay), then re-run",
                )
            )
        raise _no_download(state, "Image Block Requests after the power cycle")
    reached = max(state.offsets_before_power_cycle, default=0)
    assert after[0] <= reached, failure_message(
        f"the download continued at offset 0 or at most {reached} (what it had received)",
        f"first request after the power cycle at offset {after[0]}",
    )


@then(parsers.re(rf"{DUT} did not request any block after the power cycle"))
@checks("PZ-32")
def no_block_after_power_cycle(scenario_state: ScenarioState) -> None:
    after = scenario_state.transcript.block_offsets(since=scenario_state.power_cycle_mark)
    assert not after, failure_message(
        "no new download of an image already verified", f"{len(after)} block requests after the power cycle"
    )


@then(parsers.re(rf"{DUT} sent an Upgrade End Request at least once every 60 minutes while waiting"))
@checks("PZ-21")
def reasks(scenario_state: ScenarioState) -> None:
    """PZ-21: from the Upgrade End Response with UpgradeTime 0xFFFFFFFF that reached it (the stimulus) until
    now, no gap between its Upgrade End Requests longer than ``budgets.upgrade_end_reask``.

    The device's own timer starts when the hub's answer reaches it, which the transcript shows only as the
    hub sending it, and its next request arrives after crossing the air again: a device that re-asks exactly
    on its period is seen a round trip later. The allowance is that round trip as this link shows it
    (``Transcript.block_round_trip``), plus the coordinator's timestamp spread."""
    state = scenario_state
    waits = state.transcript.delivered_to_dut(
        "upgrade_end_response", state.start_mark, predicate=lambda e: e.fields.get("upgrade_time") == UPGRADE_TIME_WAIT
    )
    if not waits:
        if not state.transcript.ota_requests("upgrade_end", since=state.start_mark):
            raise _no_download(state, "an Upgrade End Request")
        raise stimulus_missing("an Upgrade End Response with UpgradeTime 0xFFFFFFFF")
    ends = [e for e in state.transcript.ota_requests("upgrade_end", since=waits[0].index) if not e.malformed]
    times = [waits[0].time] + [e.time for e in ends] + [state.clock.now()]
    longest = max(b - a for a, b in pairwise(times))
    limit = float(state.profile.pixit_value("budgets.upgrade_end_reask"))
    round_trip = state.transcript.block_round_trip(since=state.start_mark)
    assert longest <= limit + round_trip + TIMING_TOLERANCE_S, failure_message(
        f"an Upgrade End Request at least every {limit / 60:g} min after UpgradeTime 0xFFFFFFFF at "
        f"t={waits[0].time:.3f} s (allowing the link's round trip of {round_trip:.3f} s)",
        f"{longest / 60:.1f} min ({longest:.3f} s) without one ({len(ends)} requests)",
    )


@then(parsers.re(rf"{DUTS} upgrade status went through Normal, Download in progress, Download complete and Normal"))
@checks("PZ-25")
@sync_step
async def status_sequence(scenario_state: ScenarioState) -> None:
    state = scenario_state
    _require_offered(state, "the upgrade status during a download")
    await state.clock.run_for(state.budget("activation").seconds)
    final = await state.dut.read_ota_attribute("image_upgrade_status", state.budget("block_response_wait"))
    seen = [*state.dut.watched_upgrade_statuses(), int(final)]
    distinct = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    expected = [0, 1, 2]
    position = 0
    for value in distinct:
        if position < len(expected) and value == expected[position]:
            position += 1
    if position < len(expected) and state.dut.watch_misses:
        raise Inconclusive(
            no_verdict_message(
                f"the upgrade status samples {distinct} miss a state, and {state.dut.watch_misses} samples got no "
                "answer within the attribute-read budget (lost frames), so the missing state may have gone unseen",
                "check the radio link (LQI in the transcript), then re-run",
            )
        )
    assert position == len(expected) and distinct[-1] == 0, failure_message(
        "ImageUpgradeStatus Normal (0) → Download in progress (1) → Download complete (2) → … → Normal (0)",
        f"the sequence {distinct}",
    )


# -- Then: firmware and health ---------------------------------------------------------------------------
async def _operational_on(state: ScenarioState, version: int) -> int:
    """Check the device answers a Basic read and reports ``version``; returns the version it reports."""
    budget = Budget("ZCL read", float(state.profile.pixit_value("budgets.block_response_wait")))
    try:
        await state.dut.assert_operational(budget)
    except DeviceFailure as failure:
        raise DeviceFailure(failure.detail, STILL_OPERATIONAL) from None
    running = int(await state.dut.read_ota_attribute("current_file_version", budget))
    if running != version and version == state.old_version:
        _require_declared_version(state, running)
    if running != version:
        about = NOT_ACTIVATED if version == state.old_version else NEW_VERSION_REQUIREMENTS
        raise DeviceFailure(failure_message(f"CurrentFileVersion {_hex(version)}", _hex(running)), about)
    return running


def _require_declared_version(state: ScenarioState, running: int) -> None:
    """The old version is the profile's ``dut.current_file_version``. A device that reported another version
    before the scenario changed anything, or that never requested a block (so cannot run anything new), runs
    what it ran: the profile is wrong, not the device."""
    first = next((e for e in state.transcript.ota_requests("query_next_image") if not e.malformed), None)
    reported = None if first is None else first.fields.get("current_file_version")
    action = "fix pixit.dut.current_file_version to the version the device runs, then re-run"
    declared = f"the profile declares dut.current_file_version {_hex(state.old_version)}, but the device"
    if first is not None and reported is not None and int(reported) != state.old_version:
        where = f"in its first Query Next Image Request (t={first.time:.3f} s)"
        raise wrong_stimulus(f"{declared} reported {_hex(int(reported))} {where}", action)
    if reported is None and not state.transcript.block_offsets():
        raise wrong_stimulus(f"{declared} runs {_hex(running)} and downloaded nothing in this scenario", action)


async def _wait_for_version(state: ScenarioState, version: int) -> None:
    """Activation includes a reboot: poll CurrentFileVersion for at most the activation budget, then judge."""
    _require_offered(state, "the firmware version after an update")
    deadline = state.clock.now() + state.budget("activation").seconds
    while state.clock.now() < deadline:
        with contextlib.suppress(Inconclusive):
            running = await state.dut.read_ota_attribute("current_file_version", state.budget("block_response_wait"))
            if int(running) == version:
                break
        await state.clock.run_for(ACTIVATION_POLL_S)
    await _operational_on(state, version)


@then(parsers.re(rf"{DUT} runs the new firmware version"))
@checks(*NEW_VERSION_REQUIREMENTS)
@sync_step
async def runs_new(scenario_state: ScenarioState) -> None:
    await _wait_for_version(scenario_state, scenario_state.image.file_version)


@then(parsers.re(rf"{DUT} reports the new firmware version in its attributes and in its next query"))
@checks("PZ-24")
@sync_step
async def reports_new_everywhere(scenario_state: ScenarioState) -> None:
    """PZ-24: CurrentFileVersion is the new version, and so is the version the device says it runs when it
    next queries (a device that only rewrote the attribute still queries with the old one)."""
    state = scenario_state
    new = state.image.file_version
    await _wait_for_version(state, new)
    mark = state.transcript.mark()
    await state.dut.hub.notify_image(unicast=True)
    query = await state.transcript.wait_for(
        lambda e: _is_request(e, "query_next_image"), state.budget("query_after_notify"), since=mark
    )
    if query is None:
        raise expired_budget_signal(
            budget=state.budget("query_after_notify"),
            expected="a Query Next Image Request after activation",
            stimulus="the Image Notify",
            stimulus_received=state.transcript.received_stimulus("image_notify", since=mark),
        )
    queried = int(query.fields["current_file_version"])
    assert queried == new, failure_message(
        f"the Query Next Image Request after activation to carry CurrentFileVersion {_hex(new)}", _hex(queried)
    )


@then(parsers.re(rf"{DUT} (?:still runs|is still operational on) its old firmware version"))
@checks(*OLD_VERSION_REQUIREMENTS)
@sync_step
async def runs_old(scenario_state: ScenarioState) -> None:
    await _operational_on(scenario_state, scenario_state.old_version)


@then(parsers.re(rf"{DUT} is operational and runs either its old or the new firmware version"))
@checks("CS-10", "CS-09")
@sync_step
async def runs_valid(scenario_state: ScenarioState) -> None:
    """CS-10, when the power loss came during the activation: a device that had already activated and rejoined
    before its power went (a power switch slower than the activation) was not tested, whatever it runs now."""
    state = scenario_state
    _require_cut_during_activation(state)
    budget = Budget("ZCL read", float(state.profile.pixit_value("budgets.block_response_wait")))
    await state.dut.assert_operational(budget)
    running = int(await state.dut.read_ota_attribute("current_file_version", budget))
    allowed = {state.old_version, state.image.file_version}
    assert running in allowed, failure_message(
        f"CurrentFileVersion {_hex(state.old_version)} or {_hex(state.image.file_version)}", _hex(running)
    )


def _require_cut_during_activation(state: ScenarioState) -> None:
    """INCONCLUSIVE when the device rejoined (its activation reboot) after it was told to activate and before the
    instant it lost power (not its rejoin after the power cycle, which may come at that very instant)."""
    told = state.activation_told_mark
    if told is None or not state.dut.power_cycles:
        return
    lost_at = state.dut.power_cycles[-1].loss_time
    rejoined = next(
        (
            e
            for e in state.transcript.since(told)
            if e.time < lost_at and e.direction is Direction.FROM_DUT and e.matches("Device_annce")
        ),
        None,
    )
    if rejoined is not None:
        raise Inconclusive(
            no_verdict_message(
                f"the device rejoined at t={rejoined.time:.3f} s, after it was told to activate and before it lost "
                f"power at t={lost_at:.3f} s: it had finished its activation, so the power loss interrupted nothing",
                "use a power switch that cuts sooner after its command (adapter.power_cycle_command, "
                "adapter.power_off_latency), then re-run",
            )
        )
