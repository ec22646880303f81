"""End to end on the loopback radio: a test-only emulated device runs the initiator's side of CBKE (with the
stand-in engine's fake MACs, NOT cryptographically valid) against ``attach_key_establishment`` on the real
radio glue, so the SE-profile 0x0800 frames go through the tap, zigpy's remap and ``send_raw_zcl``."""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from typing import Any, ClassVar

import pytest
from cbke_support import DEVICE, Initiator
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.ch.key_establishment import Outcome, StandInCbkeEngine, attach_key_establishment
from harness.clock import Budget, VirtualClock
from harness.emulator import EmulatedZigbeeNode
from harness.radio import HarnessAppMixin, start_app
from harness.transcript import Direction, Transcript
from harness.zigbee.key_establishment import (
    KE_TO_CLIENT,
    KE_TO_SERVER,
    KEY_ESTABLISHMENT_CLUSTER_ID,
    SmartEnergyKeyEstablishment,
    TerminateStatus,
)

BUDGET = Budget("CBKE loopback test", 600)
NODE_NWK = 0x5B07
INITIATE = KE_TO_SERVER.initiate_key_establishment_request.id


class CbkeNode(EmulatedZigbeeNode):
    """Test-only initiator: Initiate → (response) Ephemeral → (response) Confirm, recording what came back."""

    CLIENT_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Ota, SmartEnergyKeyEstablishment)
    SERVER_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Basic,)

    def __init__(self, *args: Any, initiator: Initiator, suite: int | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.initiator = initiator
        self.suite = suite
        self.received: list[tuple[int, bytes]] = []
        self.default_responses = 0

    def start_cbke(self) -> None:
        self.send_command(KEY_ESTABLISHMENT_CLUSTER_ID, INITIATE, self.initiator.initiate(suite=self.suite))

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if cluster_id != KEY_ESTABLISHMENT_CLUSTER_ID:
            return super().on_cluster_command(endpoint, cluster_id, hdr, payload)
        self.received.append((hdr.command_id, bytes(payload)))
        if hdr.command_id == KE_TO_CLIENT.initiate_key_establishment_response.id:
            self.send_command(cluster_id, KE_TO_SERVER.ephemeral_data_request.id, self.initiator.ephemeral())
        elif hdr.command_id == KE_TO_CLIENT.ephemeral_data_response.id:
            self.send_command(cluster_id, KE_TO_SERVER.confirm_key_data_request.id, self.initiator.confirm())
        return None

    def on_default_response(self, endpoint: int, cluster_id: int, hdr: Any, command: Any) -> None:
        self.default_responses += 1


@pytest.fixture
def run(clock: VirtualClock):
    def _run(coro: Coroutine[Any, Any, Any]) -> Any:
        return clock.loop.run_until_complete(clock.run_until_complete(coro, BUDGET))

    return _run


@pytest.fixture
def app(clock: VirtualClock, run) -> Iterator[HarnessAppMixin]:
    app = run(start_app("loopback", clock=clock))
    yield app
    run(app.shutdown())


def _join(app: Any, clock: VirtualClock, run, node: EmulatedZigbeeNode) -> None:
    app.attach_node(node)
    node.announce()

    def initialized() -> bool:
        device = app.devices.get(node.ieee)
        return device is not None and device.is_initialized

    assert run(clock.run_until(initialized, Budget("join and interview", 60))), "node did not join"


@pytest.mark.parametrize("suite", [None, 0x0001], ids=["suite2-established", "suite1-refused"])
def test_cbke_over_the_loopback_radio(app, clock, run, suite):
    node = CbkeNode(DEVICE.colon, NODE_NWK, initiator=Initiator(), suite=suite)
    _join(app, clock, run, node)
    transcript = Transcript(clock, dut_eui64=DEVICE)
    transcript.attach(app)
    ch = attach_key_establishment(app, clock, StandInCbkeEngine(), transcript=transcript)
    try:
        node.start_cbke()
        assert run(clock.run_until(lambda: bool(ch.results), Budget("CBKE", 60)))
        run(clock.run_for(1.0))
    finally:
        ch.stop()
    if suite is None:
        assert ch.established(DEVICE) and [c for c, _ in node.received] == [0x00, 0x01, 0x02]
        assert node.received[-1][1] == node.initiator.macv
    else:
        assert ch.results[-1].outcome is Outcome.TERMINATED
        assert node.received == [
            (KE_TO_CLIENT.terminate_key_establishment.id, bytes([TerminateStatus.UNSUPPORTED_SUITE, 30, 0x02, 0x00]))
        ]
    assert node.default_responses == 0, "neither zigpy nor the CH adds a Default Response to CBKE commands"
    cbke = [e for e in transcript.entries if e.is_frame and e.cluster_id == KEY_ESTABLISHMENT_CLUSTER_ID]
    replies = [e for e in cbke if e.direction is Direction.TO_DUT]
    assert replies and all(e.decision.startswith("CBKE: ") and e.in_reply_to is not None for e in replies)
    assert all(not e.malformed and e.cluster == "SmartEnergyKeyEstablishment" for e in cbke)
