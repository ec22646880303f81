"""``attach_key_establishment``: the responder on a radio app's raw tap, answering through ``send_raw_zcl`` and
timing out on the (virtual) clock. The app is a stand-in exposing just the three members the binding uses
(``add_frame_listener``, ``get_device``, ``send_raw_zcl``), so no zigpy interview is involved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import zigpy.types as t
from cbke_support import CONFIRM, DEVICE, DEVICE_EPHEMERAL_S, EPHEMERAL, INITIATE, Initiator, client_frame
from zigpy.zcl import foundation

from harness.ch.key_establishment import ChKeyEstablishment, Outcome, StandInCbkeEngine, attach_key_establishment
from harness.clock import VirtualClock
from harness.radio.frames import (
    SE_PROFILE_ID,
    AddressMode,
    FrameAddress,
    FrameDirection,
    RawFrame,
    parse_zcl_header,
    zcl_frame,
)
from harness.transcript import Transcript
from harness.zigbee.key_establishment import KE_TO_CLIENT, KEY_ESTABLISHMENT_CLUSTER_ID, TerminateStatus

DEVICE_NWK = 0x5B07


@dataclass
class FakeDevice:
    ieee: t.EUI64 = field(default_factory=lambda: t.EUI64.convert(DEVICE.colon))


@dataclass
class FakeApp:
    device: FakeDevice = field(default_factory=FakeDevice)
    listeners: list[Callable[[RawFrame], None]] = field(default_factory=list)
    sent: list[tuple[int, int, bytes, int | None]] = field(default_factory=list)

    def add_frame_listener(self, listener: Callable[[RawFrame], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def get_device(self, nwk: Any = None, ieee: Any = None) -> FakeDevice:
        if nwk == DEVICE_NWK or ieee == self.device.ieee:
            return self.device
        raise KeyError(nwk or ieee)

    async def send_raw_zcl(self, device: Any, dst_ep: int, cluster_id: int, data: bytes, *, profile_id: Any = None):
        self.sent.append((dst_ep, cluster_id, data, profile_id))

    def deliver(self, data: bytes, *, src: int = DEVICE_NWK, dst_mode: AddressMode = AddressMode.NWK) -> None:
        frame = RawFrame(
            FrameDirection.IN,
            0.0,
            FrameAddress(AddressMode.NWK, src, 1),
            FrameAddress(dst_mode, 0x0000 if dst_mode is AddressMode.NWK else 0xFFFD, 3),
            SE_PROFILE_ID,
            KEY_ESTABLISHMENT_CLUSTER_ID,
            data,
            aps_counter=1,
        )
        for listener in list(self.listeners):
            listener(frame)


@pytest.fixture
def bound(clock: VirtualClock) -> Iterator[tuple[FakeApp, ChKeyEstablishment]]:
    app = FakeApp()
    ch = attach_key_establishment(app, clock, StandInCbkeEngine())  # type: ignore[arg-type]
    yield app, ch
    ch.stop()
    assert app.listeners == []


def _pass(clock: VirtualClock, seconds: float) -> None:
    clock.loop.run_until_complete(clock.run_for(seconds))


def _sent_commands(app: FakeApp) -> list[tuple[int, int, int]]:
    """(command id, tsn, direction) of every frame sent, after checking endpoint, cluster and profile."""
    out = []
    for endpoint, cluster, data, profile in app.sent:
        assert (endpoint, cluster, profile) == (1, KEY_ESTABLISHMENT_CLUSTER_ID, SE_PROFILE_ID)
        parsed = parse_zcl_header(data)
        assert parsed is not None
        header = parsed[0]
        assert header.frame_control.frame_type == foundation.FrameType.CLUSTER_COMMAND
        out.append((header.command_id, header.tsn, int(header.frame_control.direction)))
    return out


def test_a_full_exchange_over_the_tap_establishes_the_link_key(clock, bound):
    app, ch = bound
    device = Initiator()
    for tsn, (command, payload) in enumerate(
        [(INITIATE, device.initiate()), (EPHEMERAL, device.ephemeral()), (CONFIRM, device.confirm())], start=1
    ):
        app.deliver(client_frame(command, payload, tsn))
        _pass(clock, 1.0)
    assert _sent_commands(app) == [(0x00, 1, 1), (0x01, 2, 1), (0x02, 3, 1)], "server→client replies, same TSNs"
    assert app.sent[-1][2][3:] == device.macv
    assert ch.established(DEVICE) and ch.results[-1].outcome is Outcome.ESTABLISHED


def test_a_stalled_device_times_out_on_the_clock(clock, bound):
    app, ch = bound
    app.deliver(client_frame(INITIATE, Initiator().initiate(), 1))
    _pass(clock, DEVICE_EPHEMERAL_S + 10.0 - 0.5)
    assert ch.results == [] and ch.responder.deadline is not None
    _pass(clock, 1.0)
    assert [r.outcome for r in ch.results] == [Outcome.TIMED_OUT] and ch.responder.deadline is None
    assert len(app.sent) == 1, "no frame on timeout"


def test_a_bad_suite_over_the_tap_is_answered_with_terminate(clock, bound):
    app, _ = bound
    app.deliver(client_frame(INITIATE, Initiator().initiate(suite=0x0001), 7))
    _pass(clock, 1.0)
    assert _sent_commands(app) == [(KE_TO_CLIENT.terminate_key_establishment.id, 7, 1)]
    assert app.sent[0][2][3] == TerminateStatus.UNSUPPORTED_SUITE


@pytest.mark.parametrize(
    "deliver",
    [
        pytest.param(
            lambda app: app.deliver(client_frame(INITIATE, Initiator().initiate(), 1), src=0x1234), id="unknown"
        ),
        pytest.param(
            lambda app: app.deliver(client_frame(INITIATE, Initiator().initiate(), 1), dst_mode=AddressMode.BROADCAST),
            id="broadcast",
        ),
        pytest.param(
            lambda app: app.deliver(
                zcl_frame(0, Initiator().initiate(), tsn=1, direction=foundation.Direction.Server_to_Client)
            ),
            id="server-to-client",
        ),
        pytest.param(
            lambda app: app.deliver(
                zcl_frame(
                    0x0B, b"\x00\x00", tsn=1, direction=foundation.Direction.Server_to_Client, cluster_specific=False
                )
            ),
            id="profile-wide",
        ),
        pytest.param(lambda app: app.deliver(b"\x01"), id="truncated"),
    ],
)
def test_frames_that_are_not_a_devices_cbke_request_are_left_alone(clock, bound, deliver):
    app, ch = bound
    deliver(app)
    _pass(clock, 1.0)
    assert app.sent == [] and ch.results == []


def test_a_timeout_is_recorded_in_the_transcript_as_a_decision(clock):
    app, transcript = FakeApp(), Transcript(clock, dut_eui64=DEVICE)
    ch = attach_key_establishment(app, clock, StandInCbkeEngine(), transcript=transcript)  # type: ignore[arg-type]
    try:
        app.deliver(client_frame(INITIATE, Initiator().initiate(), 1))
        _pass(clock, DEVICE_EPHEMERAL_S + 10.0 + 1.0)
    finally:
        ch.stop()
    (decision,) = [e for e in transcript.entries if not e.is_frame]
    assert decision.decision.startswith(f"CBKE: {DEVICE.dashed} timed out: no Ephemeral Data Request")


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (client_frame(0x07, b"", 5), foundation.Status.UNSUP_CLUSTER_COMMAND),
        (
            zcl_frame(0x00, b"", tsn=5, direction=foundation.Direction.Client_to_Server, manufacturer=0x1234),
            foundation.Status.UNSUP_MANUF_CLUSTER_COMMAND,
        ),
    ],
    ids=["unknown-command", "manufacturer-specific"],
)
def test_an_unknown_command_gets_a_default_response_and_no_session(clock, bound, data, status):
    app, ch = bound
    app.deliver(data)
    _pass(clock, 1.0)
    assert _sent_commands_any(app) == [(foundation.GeneralCommand.Default_Response, 5, 1)]
    body, _ = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Default_Response].schema.deserialize(
        parse_zcl_header(app.sent[0][2])[1]
    )
    assert body.status == status and ch.results == [] and ch.responder.phase.value == "idle"


def _sent_commands_any(app: FakeApp) -> list[tuple[int, int, int]]:
    out = []
    for _, _, data, _ in app.sent:
        header = parse_zcl_header(data)[0]
        out.append((header.command_id, header.tsn, int(header.frame_control.direction)))
    return out
