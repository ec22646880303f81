"""A loopback radio whose air takes time (``--radio harness.radio.slow_link:SlowLinkLoopback``): the power-loss
tests and the variation self-check's benches with a power switch that cuts late.

On the plain loopback a download takes no virtual time, so nothing can happen between the suite's decision to
cut the power and a switch's delayed cut but the whole rest of the download. With 50 ms per frame each way a
2 KiB image takes about 4 s, so a switch that cuts 2 s after its command interrupts the download half-way,
after the device has requested more blocks: the situation of a real bench (issue 10).
"""

from __future__ import annotations

from typing import Any

from harness.radio.loopback import LinkModel, LoopbackApp

FRAME_DELAY_S = 0.05


def _slow(packet: Any, direction: Any) -> float:
    return FRAME_DELAY_S


class SlowLinkLoopback(LoopbackApp):
    """The loopback radio with every frame delayed by ``FRAME_DELAY_S`` (deterministic)."""

    def attach_node(self, node: Any, *, link: LinkModel | None = None) -> None:
        super().attach_node(node, link=link or _slow)
