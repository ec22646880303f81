"""Fixtures for the radio-seam tests: a VirtualClock loop, the loopback app started through the factory,
a raw-frame recorder and a recording emulated node.

No pytest-asyncio: each test drives the clock's own loop with ``run(coro)``, which is
``loop.run_until_complete(clock.run_until_complete(coro, budget))`` — time moves only inside that verb.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.clock import Budget, VirtualClock
from harness.emulator import EmulatedZigbeeNode
from harness.radio import FrameDirection, HarnessAppMixin, RawFrame, start_app

#: Generous virtual budget for a whole test body (virtual seconds cost no wall time).
TEST_BUDGET = Budget("radio test", 3600)
JOIN_BUDGET = Budget("join and interview", 60)

NODE_IEEE = "00:0d:6f:00:0a:bc:de:01"
NODE_NWK = 0x4A21

Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture
def run(clock: VirtualClock) -> Runner:
    def _run(coro: Coroutine[Any, Any, Any], budget: Budget = TEST_BUDGET) -> Any:
        return clock.loop.run_until_complete(clock.run_until_complete(coro, budget))

    return _run


class Tap:
    """Records every RawFrame the glue reports, with small filters for assertions."""

    def __init__(self) -> None:
        self.frames: list[RawFrame] = []

    def __call__(self, frame: RawFrame) -> None:
        self.frames.append(frame)

    def select(
        self,
        direction: FrameDirection | None = None,
        cluster_id: int | None = None,
        since: int = 0,
    ) -> list[RawFrame]:
        return [
            f
            for f in self.frames[since:]
            if (direction is None or f.direction is direction) and (cluster_id is None or f.cluster_id == cluster_id)
        ]

    def mark(self) -> int:
        return len(self.frames)


class RecordingNode(EmulatedZigbeeNode):
    """A test PPMID-like node: records what it receives and offers an OTA client's requests."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[t.ZigbeePacket] = []
        self.cluster_commands: list[tuple[int, int, foundation.ZCLHeader, bytes]] = []

    def receive(self, packet: t.ZigbeePacket) -> None:
        self.received.append(packet)
        super().receive(packet)

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        self.cluster_commands.append((endpoint, cluster_id, hdr, payload))
        if cluster_id == Ota.cluster_id:
            return None  # an OTA client never Default-Responds to the server's responses
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)

    def query_next_image(self) -> int:
        """Send a Query Next Image Request (what a DUT does on its own schedule); returns the TSN."""
        body = Ota.ServerCommandDefs.query_next_image.schema(
            field_control=0,
            manufacturer_code=self.config["manufacturer_code"],
            image_type=self.get_attribute(Ota.cluster_id, "image_type_id", side=ClusterType.Client),
            current_file_version=self.get_attribute(Ota.cluster_id, "current_file_version", side=ClusterType.Client),
        )
        return self.send_command(Ota.cluster_id, Ota.ServerCommandDefs.query_next_image.id, body.serialize())

    def ota_commands_received(self) -> list[t.ZigbeePacket]:
        return [p for p in self.received if p.cluster_id == Ota.cluster_id]


NodeFactory = Callable[..., RecordingNode]
Joiner = Callable[[Any, EmulatedZigbeeNode], Coroutine[Any, Any, Device]]


@pytest.fixture
def make_node() -> NodeFactory:
    """``make_node(ieee=..., nwk=..., **EmulatedZigbeeNode options)`` → a RecordingNode."""

    def _make(ieee: str = NODE_IEEE, nwk: int = NODE_NWK, **kwargs: Any) -> RecordingNode:
        return RecordingNode(ieee, nwk, **kwargs)

    return _make


@pytest.fixture
def node(make_node: NodeFactory) -> RecordingNode:
    return make_node()


@pytest.fixture
def app(clock: VirtualClock, run: Runner) -> Iterator[HarnessAppMixin]:
    app = run(start_app("loopback", clock=clock))
    yield app
    run(app.shutdown())


@pytest.fixture
def tap(app: HarnessAppMixin) -> Tap:
    recorder = Tap()
    app.add_frame_listener(recorder)
    return recorder


@pytest.fixture
def join(clock: VirtualClock) -> Joiner:
    """``await join(app, node)``: attach and announce the node, then let zigpy's interview finish."""

    async def _join(app: Any, node: EmulatedZigbeeNode) -> Device:
        app.attach_node(node)
        node.announce()

        def initialized() -> bool:
            device = app.devices.get(node.ieee)
            return device is not None and device.is_initialized

        if not await clock.run_until(initialized, JOIN_BUDGET):
            raise AssertionError(f"{node} did not complete zigpy's interview within {JOIN_BUDGET}")
        return app.devices[node.ieee]

    return _join


@pytest.fixture
def joined(app: HarnessAppMixin, node: RecordingNode, join: Joiner, run: Runner, tap: Tap) -> Device:
    """The node joined and interviewed (the tap fixture records from before the join)."""
    return run(join(app, node))
