"""Fixtures for the GBCS tunnel tests: the loopback radio on a VirtualClock, the CH tunnel end, a raw tap,
and a small test-only emulated HAN device that embeds the real ``TunnelClient``.

No pytest-asyncio: ``run(coro)`` drives the clock's loop inside ``clock.run_until_complete``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from zigpy.device import Device
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.ch.tunnel import ChTunnelEnd
from harness.clock import Budget, VirtualClock
from harness.emulator import EmulatedZigbeeNode
from harness.emulator.tunnel_client import TunnelClient
from harness.radio import FrameDirection, HarnessAppMixin, RawFrame, start_app
from harness.radio.frames import parse_zcl_header
from harness.transcript import Transcript
from harness.zigbee import TUNNELING_CLUSTER_ID, SmartEnergyTunneling, TunnelConfig

TEST_BUDGET = Budget("tunnel test", 3600)
JOIN_BUDGET = Budget("join and interview", 60)
GRANT_BUDGET = Budget("tunnel grant", 60)
NODE_IEEE = "00:0d:6f:00:0a:bc:de:07"
NODE_NWK = 0x5B07

Runner = Callable[..., Any]


@pytest.fixture
def run(clock: VirtualClock) -> Runner:
    def _run(coro: Coroutine[Any, Any, Any], budget: Budget = TEST_BUDGET) -> Any:
        return clock.loop.run_until_complete(clock.run_until_complete(coro, budget))

    return _run


class TunnelNode(EmulatedZigbeeNode):
    """Test-only HAN device: a tunnel client whose APDUs land in ``apdus`` (or go to ``on_apdu``)."""

    CLIENT_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Ota, SmartEnergyTunneling)
    SERVER_CLUSTERS: ClassVar[tuple[type[Cluster], ...]] = (Basic,)

    def __init__(
        self, *args: Any, tunnel_config: TunnelConfig | None = None, poll_interval_s: float | None = 30.0, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.apdus: list[bytes] = []
        self.on_apdu: Callable[[bytes], None] | None = None
        self.tunnel = TunnelClient(self, self._apdu, tunnel_config, poll_interval_s=poll_interval_s)

    def _apdu(self, apdu: bytes) -> None:
        self.apdus.append(apdu)
        if self.on_apdu is not None:
            self.on_apdu(apdu)

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if cluster_id == TUNNELING_CLUSTER_ID:
            return self.tunnel.handle(hdr, payload)
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)


@dataclass(frozen=True)
class TunnelFrame:
    """A tapped 0x0704 frame decoded with the suite's cluster definitions (``harness.zigbee``)."""

    frame: RawFrame
    header: foundation.ZCLHeader
    command: str
    args: Any

    @property
    def gbcs_data(self) -> bytes:
        return bytes(self.args.data)


class Tap:
    """Records every RawFrame; ``tunnel(...)`` decodes the 0x0704 ones independently of the CH end."""

    def __init__(self) -> None:
        self.frames: list[RawFrame] = []

    def __call__(self, frame: RawFrame) -> None:
        self.frames.append(frame)

    def mark(self) -> int:
        return len(self.frames)

    def tunnel(
        self, direction: FrameDirection | None = None, command: str | None = None, since: int = 0
    ) -> list[TunnelFrame]:
        out = []
        for frame in self.frames[since:]:
            if frame.cluster_id != TUNNELING_CLUSTER_ID or (direction is not None and frame.direction is not direction):
                continue
            parsed = parse_zcl_header(frame.data)
            if parsed is None or not parsed[0].frame_control.is_cluster:
                continue
            header, payload = parsed
            to_server = header.frame_control.direction == foundation.Direction.Client_to_Server
            table = SmartEnergyTunneling.server_commands if to_server else SmartEnergyTunneling.client_commands
            definition = table[header.command_id]
            try:
                args, _ = definition.schema.deserialize(payload)
            except ValueError:
                args = None
            if command is None or definition.name == command:
                out.append(TunnelFrame(frame, header, definition.name, args))
        return out

    def general(self, direction: FrameDirection, since: int = 0) -> list[tuple[RawFrame, foundation.ZCLHeader, Any]]:
        """Profile-wide 0x0704 frames (Default Responses), decoded."""
        out = []
        for frame in self.frames[since:]:
            if frame.cluster_id != TUNNELING_CLUSTER_ID or frame.direction is not direction:
                continue
            parsed = parse_zcl_header(frame.data)
            if parsed is None or parsed[0].frame_control.is_cluster:
                continue
            header, payload = parsed
            args, _ = foundation.GENERAL_COMMANDS[header.command_id].schema.deserialize(payload)
            out.append((frame, header, args))
        return out


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
def transcript(app: HarnessAppMixin, clock: VirtualClock, tap: Tap) -> Transcript:
    transcript = Transcript(clock, dut_eui64=NODE_IEEE)
    transcript.attach(app)
    return transcript


@pytest.fixture
def config() -> TunnelConfig:
    return TunnelConfig()


@pytest.fixture
def ch(
    app: HarnessAppMixin, clock: VirtualClock, transcript: Transcript, config: TunnelConfig
) -> Iterator[ChTunnelEnd]:
    end = ChTunnelEnd(app, clock, config, transcript=transcript, dut_eui64=NODE_IEEE)
    yield end
    end.stop()


@pytest.fixture
def make_node(config: TunnelConfig) -> Callable[..., TunnelNode]:
    def _make(ieee: str = NODE_IEEE, nwk: int = NODE_NWK, **kwargs: Any) -> TunnelNode:
        kwargs.setdefault("tunnel_config", config)
        return TunnelNode(ieee, nwk, **kwargs)

    return _make


@pytest.fixture
def node(make_node: Callable[..., TunnelNode]) -> TunnelNode:
    return make_node()


async def join(app: Any, clock: VirtualClock, node: EmulatedZigbeeNode) -> Device:
    """Attach and announce ``node``, then let zigpy's interview finish."""
    app.attach_node(node)
    node.announce()

    def initialized() -> bool:
        device = app.devices.get(node.ieee)
        return device is not None and device.is_initialized

    if not await clock.run_until(initialized, JOIN_BUDGET):
        raise AssertionError(f"{node} did not complete zigpy's interview within {JOIN_BUDGET}")
    return app.devices[node.ieee]


@pytest.fixture
def granted(app: HarnessAppMixin, clock: VirtualClock, ch: ChTunnelEnd, node: TunnelNode, run: Runner) -> TunnelNode:
    """The node joined, requested a tunnel and was granted one."""

    async def _go() -> None:
        await join(app, clock, node)
        node.tunnel.start()
        await ch.wait_granted(GRANT_BUDGET)
        await clock.run_until(lambda: node.tunnel.granted, GRANT_BUDGET)

    run(_go())
    return node
