"""The CH's CBKE responder state machine with the stand-in engine (NOT cryptographically valid): the happy
path, and every Terminate status, sequence error and deadline it owns."""

from __future__ import annotations

import pytest
from cbke_support import (
    CONFIRM,
    DEVICE,
    DEVICE_CONFIRM_S,
    DEVICE_EPHEMERAL_S,
    EPHEMERAL,
    INITIATE,
    OTHER_DEVICE,
    TERMINATE,
    FakeTime,
    Initiator,
    full_exchange,
    responder,
    run,
)

from harness.ch.key_establishment import Outcome, Phase, Reply, StandInCbkeEngine, stand_in_certificate
from harness.crypto.eui64 import Eui64
from harness.zigbee.key_establishment import (
    KE_TO_CLIENT,
    SUITE_1,
    ImplicitCertificate,
    KeyEstablishmentSuite,
    TerminateStatus,
)

PARTNER = DEVICE.dashed
MARGIN = 10.0  # CbkeConfig.timeout_margin_s default


def terminate_fields(reply: Reply) -> tuple[TerminateStatus, int, KeyEstablishmentSuite]:
    assert reply.command_id == KE_TO_CLIENT.terminate_key_establishment.id, reply.note
    value, rest = KE_TO_CLIENT.terminate_key_establishment.schema.deserialize(reply.payload)
    assert rest == b""
    return value.status_code, value.wait_time, value.key_establishment_suite


async def send(ch, command: int, payload: bytes, tsn: int = 1, who: Eui64 = DEVICE) -> list[Reply]:
    return await ch.on_command(who.dashed, command, payload, tsn, who)


def test_a_full_exchange_establishes_the_link_key():
    time, device = FakeTime(), Initiator()
    ch, exchange = run(full_exchange(time, device))
    (_, initiate), (_, ephemeral), (_, confirm) = exchange
    response, _ = KE_TO_CLIENT.initiate_key_establishment_response.schema.deserialize(initiate.payload)
    assert response.key_establishment_suite == KeyEstablishmentSuite.CBKE_ECMQV_283K1
    assert (response.ephemeral_data_generate_time, response.confirm_key_generate_time) == (10, 10)
    assert bytes(response.identity) == ch.engine.certificate and len(response.identity) == 74
    assert ephemeral.command_id == KE_TO_CLIENT.ephemeral_data_response.id and len(ephemeral.payload) == 37
    assert confirm.command_id == KE_TO_CLIENT.confirm_key_data_response.id and confirm.payload == device.macv
    assert [reply.tsn for _, reply in exchange] == [0x21, 0x22, 0x23], "each reply carries its request's TSN"
    assert [(r.outcome, r.status) for r in ch.results] == [(Outcome.ESTABLISHED, None)]
    assert ch.engine.stored == [True] and ch.phase is Phase.IDLE and ch.deadline is None


def test_the_deadlines_are_the_devices_advertised_times_plus_the_margin():
    time, device = FakeTime(100.0), Initiator()
    ch = responder(time)
    run(send(ch, INITIATE, device.initiate()))
    assert ch.deadline == 100.0 + DEVICE_EPHEMERAL_S + MARGIN
    time.value = 103.0
    run(send(ch, EPHEMERAL, device.ephemeral()))
    assert ch.deadline == 103.0 + DEVICE_CONFIRM_S + MARGIN


@pytest.mark.parametrize("suite", [0x0001, 0x0003, 0x0004, 0x0000], ids=["suite1", "both-bits", "unknown", "none"])
def test_a_suite_the_ch_does_not_support_is_terminated_unsupported_suite(suite):
    ch = responder(FakeTime())
    (reply,) = run(send(ch, INITIATE, Initiator().initiate(suite=suite)))
    assert terminate_fields(reply) == (TerminateStatus.UNSUPPORTED_SUITE, 30, KeyEstablishmentSuite.CBKE_ECMQV_283K1)
    assert ch.results[-1].status is TerminateStatus.UNSUPPORTED_SUITE and ch.phase is Phase.IDLE


def test_suite_1_is_accepted_when_the_ch_and_its_engine_run_suite_1():
    time, device = FakeTime(), Initiator(suite=SUITE_1)
    ch = responder(time, StandInCbkeEngine(SUITE_1), suites=KeyEstablishmentSuite.CBKE_ECMQV_163K1)
    (reply,) = run(send(ch, INITIATE, device.initiate()))
    assert reply.command_id == KE_TO_CLIENT.initiate_key_establishment_response.id and len(reply.payload) == 4 + 48


@pytest.mark.parametrize("length", [0, 48, 73, 75])
def test_a_certificate_of_the_wrong_length_is_terminated_bad_message(length):
    ch = responder(FakeTime())
    (reply,) = run(send(ch, INITIATE, Initiator().initiate(identity=bytes(length))))
    assert terminate_fields(reply)[0] is TerminateStatus.BAD_MESSAGE
    assert "74 octets" in ch.results[-1].note


def test_a_truncated_initiate_request_is_terminated_bad_message():
    (reply,) = run(send(responder(FakeTime()), INITIATE, b"\x02\x00\x05"))
    assert terminate_fields(reply)[0] is TerminateStatus.BAD_MESSAGE


def test_an_untrusted_issuer_is_terminated_unknown_issuer():
    device = Initiator(certificate=stand_in_certificate(subject=DEVICE, issuer="11-22-33-44-55-66-77-88"))
    ch = responder(FakeTime())
    (reply,) = run(send(ch, INITIATE, device.initiate()))
    assert terminate_fields(reply)[0] is TerminateStatus.UNKNOWN_ISSUER
    assert "11-22-33-44-55-66-77-88" in ch.results[-1].note


def test_a_configured_issuer_list_replaces_the_chs_own_issuer():
    other_ca = Eui64.parse("11-22-33-44-55-66-77-88")
    device = Initiator(certificate=stand_in_certificate(subject=DEVICE, issuer=other_ca))
    (reply,) = run(send(responder(FakeTime(), trusted_issuers=(other_ca,)), INITIATE, device.initiate()))
    assert reply.command_id == KE_TO_CLIENT.initiate_key_establishment_response.id


def _cert_with(**fields) -> bytes:
    good = ImplicitCertificate.parse(stand_in_certificate(subject=DEVICE), Initiator().suite)
    return ImplicitCertificate(**{**{f: getattr(good, f) for f in good.__slots__}, **fields}).serialize()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"subject": OTHER_DEVICE}, "is not the sender"),
        ({"curve": 0x0C}, "curve 0x0C"),
        ({"hash_id": 0x01}, "hash 0x01"),
        ({"cert_type": 0x01}, "type 0x01"),
        ({"key_usage": 0x80}, "lacks key agreement"),
    ],
    ids=["subject", "curve", "hash", "type", "usage"],
)
def test_a_certificate_unfit_for_this_device_is_terminated_invalid_certificate(fields, why):
    ch = responder(FakeTime())
    (reply,) = run(send(ch, INITIATE, Initiator(certificate=_cert_with(**fields)).initiate()))
    assert terminate_fields(reply)[0] is TerminateStatus.INVALID_CERTIFICATE
    assert why in ch.results[-1].note


@pytest.mark.parametrize(
    ("before", "command"),
    [([], EPHEMERAL), ([], CONFIRM), ([INITIATE], CONFIRM), ([INITIATE], INITIATE), ([INITIATE, EPHEMERAL], EPHEMERAL)],
    ids=["ephemeral-first", "confirm-first", "confirm-before-ephemeral", "initiate-twice", "ephemeral-twice"],
)
def test_a_command_out_of_sequence_is_terminated_bad_message(before, command):
    device = Initiator()
    payloads = {INITIATE: device.initiate(), EPHEMERAL: device.ephemeral(), CONFIRM: device.confirm()}
    ch = responder(FakeTime())
    for earlier in before:
        run(send(ch, earlier, payloads[earlier]))
    (reply,) = run(send(ch, command, payloads[command], tsn=9))
    assert terminate_fields(reply)[0] is TerminateStatus.BAD_MESSAGE and reply.tsn == 9
    assert "out of sequence" in ch.results[-1].note and ch.phase is Phase.IDLE
    assert ch.engine.stored == ([False] if before else []), "temporary data dropped, link key not kept"


@pytest.mark.parametrize(("command", "payload"), [(EPHEMERAL, bytes(22)), (EPHEMERAL, bytes(38)), (CONFIRM, bytes(15))])
def test_ephemeral_data_or_mac_of_the_wrong_size_is_terminated_bad_message(command, payload):
    device, ch = Initiator(), responder(FakeTime())
    run(send(ch, INITIATE, device.initiate()))
    if command == CONFIRM:
        run(send(ch, EPHEMERAL, device.ephemeral()))
    (reply,) = run(send(ch, command, payload))
    assert terminate_fields(reply)[0] is TerminateStatus.BAD_MESSAGE


def test_a_wrong_macu_is_terminated_bad_key_confirm_and_the_key_is_discarded():
    device, ch = Initiator(), responder(FakeTime())
    run(send(ch, INITIATE, device.initiate()))
    run(send(ch, EPHEMERAL, device.ephemeral()))
    (reply,) = run(send(ch, CONFIRM, device.confirm(macu=bytes(16))))
    assert terminate_fields(reply)[0] is TerminateStatus.BAD_KEY_CONFIRM
    assert ch.engine.stored == [False]


@pytest.mark.parametrize("stalled_in", [Phase.AWAIT_EPHEMERAL, Phase.AWAIT_CONFIRM])
def test_a_device_that_stalls_past_its_budget_times_out_without_a_frame(stalled_in):
    time, device = FakeTime(), Initiator()
    ch = responder(time)
    run(send(ch, INITIATE, device.initiate()))
    if stalled_in is Phase.AWAIT_CONFIRM:
        run(send(ch, EPHEMERAL, device.ephemeral()))
    assert ch.phase is stalled_in
    budget = (DEVICE_EPHEMERAL_S if stalled_in is Phase.AWAIT_EPHEMERAL else DEVICE_CONFIRM_S) + MARGIN
    time.value = budget - 0.001
    assert run(ch.expire()) is None and ch.phase is stalled_in, "not before the deadline"
    time.value = budget
    result = run(ch.expire())
    assert result is not None and result.outcome is Outcome.TIMED_OUT and ch.phase is Phase.IDLE
    assert ch.engine.stored == [False]
    (late,) = run(send(ch, EPHEMERAL if stalled_in is Phase.AWAIT_EPHEMERAL else CONFIRM, device.ephemeral()))
    assert terminate_fields(late)[0] is TerminateStatus.BAD_MESSAGE, "a late frame has no session to join"


def test_a_second_device_is_told_no_resources_while_the_first_carries_on():
    time, first, second = FakeTime(), Initiator(), Initiator(eui64=OTHER_DEVICE)
    ch = responder(time)
    run(send(ch, INITIATE, first.initiate()))
    (busy,) = run(send(ch, INITIATE, second.initiate(), who=OTHER_DEVICE))
    assert terminate_fields(busy)[0] is TerminateStatus.NO_RESOURCES
    assert run(send(ch, EPHEMERAL, second.ephemeral(), who=OTHER_DEVICE)) == [], "not the partner's exchange"
    run(send(ch, EPHEMERAL, first.ephemeral()))
    (done,) = run(send(ch, CONFIRM, first.confirm()))
    assert done.command_id == KE_TO_CLIENT.confirm_key_data_response.id
    assert ch.results[-1].outcome is Outcome.ESTABLISHED and ch.results[-1].partner == PARTNER


@pytest.mark.parametrize("step", ["certificate", "ephemeral", "macs"])
def test_an_engine_failure_is_terminated_no_resources_and_noted_as_the_labs(step):
    device, ch = Initiator(), responder(FakeTime())
    ch.engine.fail_next = step
    replies = run(send(ch, INITIATE, device.initiate()))
    if step != "certificate":
        replies = run(send(ch, EPHEMERAL, device.ephemeral()))
    if step == "macs":
        replies = run(send(ch, CONFIRM, device.confirm()))
    assert terminate_fields(replies[0])[0] is TerminateStatus.NO_RESOURCES
    assert ch.lab_notes == [f"stand-in engine told to fail at {step}"]


def test_a_terminate_from_the_device_ends_the_session_silently():
    device, ch = Initiator(), responder(FakeTime())
    run(send(ch, INITIATE, device.initiate()))
    assert run(send(ch, TERMINATE, device.terminate(0x02))) == []
    assert ch.results[-1].outcome is Outcome.PARTNER_TERMINATED and "BAD_KEY_CONFIRM" in ch.results[-1].note
    assert ch.phase is Phase.IDLE and ch.engine.stored == [False]


def test_unknown_commands_are_left_to_the_binding():
    assert run(send(responder(FakeTime()), 0x07, b"")) == []


def test_a_device_slower_than_it_advertised_but_within_the_margin_is_observed_not_refused():
    time, device = FakeTime(), Initiator()
    ch = responder(time)
    run(send(ch, INITIATE, device.initiate()))
    time.value += DEVICE_EPHEMERAL_S + 2.0
    run(send(ch, EPHEMERAL, device.ephemeral()))
    time.value += DEVICE_CONFIRM_S - 1.0
    (reply,) = run(send(ch, CONFIRM, device.confirm()))
    assert reply.command_id == KE_TO_CLIENT.confirm_key_data_response.id
    assert ch.observations == [
        f"{PARTNER} sent its Ephemeral Data Request 7.0 s after the CH's reply; it advertised {DEVICE_EPHEMERAL_S} s"
    ]


class SlowEngine(StandInCbkeEngine):
    """Stand-in whose ephemeral key takes 12 s of (fake) time: more than the 10 s the CH advertises."""

    def __init__(self, time: FakeTime) -> None:
        super().__init__()
        self.time = time

    async def generate_ephemeral_key(self) -> bytes:
        self.time.value += 12.0
        return await super().generate_ephemeral_key()


def test_a_ch_slower_than_it_advertised_is_a_lab_note_not_the_devices_fault():
    time, device = FakeTime(), Initiator()
    ch = responder(time, SlowEngine(time))
    run(send(ch, INITIATE, device.initiate()))
    (reply,) = run(send(ch, EPHEMERAL, device.ephemeral()))
    assert reply.command_id == KE_TO_CLIENT.ephemeral_data_response.id
    assert ch.lab_notes == ["the CH's ephemeral key generation took 12.0 s, more than the 10 s it advertised"]
    assert ch.deadline == 12.0 + DEVICE_CONFIRM_S + MARGIN, "the device's budget starts when the CH replied"


def test_an_unusable_ch_certificate_is_no_resources_and_a_lab_note():
    engine = StandInCbkeEngine(certificate=bytes(10))
    ch = responder(FakeTime(), engine)
    (reply,) = run(send(ch, INITIATE, Initiator().initiate()))
    assert terminate_fields(reply)[0] is TerminateStatus.NO_RESOURCES
    assert "own certificate is unusable" in ch.lab_notes[0]
