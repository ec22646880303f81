"""Host-side block-answer latency: wall time from an Image Block Request reaching the coordinator to its
Image Block Response being handed to the radio.

Why at the radio's two edges: that is the time a real Communications Hub's host spends on a block (the
glue's tap, the transcript, the hub's decision, the send path, and any garbage-collection pause in
between), whatever serves it: the suite's hub or zigpy's own OTA server. On hardware the hub must answer
within a few milliseconds, so the tail (p99.9, max) matters more than the median.

The probe wraps two methods of one application *instance* (``packet_received``, where a radio hands a
received frame to the host, and the loopback radio's ``_deliver``, where the host's frame goes on the
air), so nothing in the suite knows it is being measured. It also counts the full garbage collections
that ran meanwhile (``gc.callbacks``): the pauses the tail is made of.
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Sequence
from typing import Any

import zigpy.types as t
from zigpy.zcl.clusters.general import Ota

OTA_CLUSTER_ID = Ota.cluster_id
IMAGE_BLOCK_REQUEST = Ota.ServerCommandDefs.image_block.id
IMAGE_BLOCK_RESPONSE = Ota.ClientCommandDefs.image_block_response.id
_MANUFACTURER_SPECIFIC = 0x04


def _tsn_and_command(data: bytes) -> tuple[int, int] | None:
    # Hand-read on purpose: the probe must cost next to nothing per frame, and the two octets it needs sit
    # at fixed places of the ZCL header (after the frame control and, when present, the manufacturer code).
    offset = 3 if data and data[0] & _MANUFACTURER_SPECIFIC else 1
    return (data[offset], data[offset + 1]) if len(data) > offset + 1 else None


class BlockAnswerProbe:
    """Latencies (seconds of wall time) of every answered Image Block Request on one application."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        #: The same spans in CPU time of the thread serving them: what is left of the wall-time figures when
        #: the machine is shared (the other programs' time slices are not in it, the host's own work is).
        self.cpu_latencies: list[float] = []
        self._collections: list[float] = []  # perf_counter() at the start of each full garbage collection
        self._first_request: float | None = None
        self._last_response: float | None = None
        self._pending: dict[int, tuple[float, float]] = {}  # TSN -> (wall, thread CPU) when the request arrived
        self._undo: list[tuple[Any, str]] = []

    def _on_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info.get("generation") == 2:
            self._collections.append(time.perf_counter())

    @property
    def full_collections(self) -> int:
        """Full (generation 2) garbage collections that started between the first block request and the
        last block response: while blocks were being served."""
        first, last = self._first_request, self._last_response
        if first is None or last is None:
            return 0
        return sum(first <= moment <= last for moment in self._collections)

    def install(self, app: Any) -> None:
        """Wrap ``app``'s receive and radio-delivery methods (the loopback radio's ``_deliver``)."""
        received, deliver = app.packet_received, app._deliver
        pending, latencies, cpu_latencies = self._pending, self.latencies, self.cpu_latencies
        wall, cpu = time.perf_counter, time.thread_time

        def packet_received(packet: t.ZigbeePacket) -> None:
            if packet.cluster_id == OTA_CLUSTER_ID:
                found = _tsn_and_command(packet.data.serialize())
                if found is not None and found[1] == IMAGE_BLOCK_REQUEST:
                    pending[found[0]] = (wall(), cpu())
                    if self._first_request is None:
                        self._first_request = pending[found[0]][0]
            received(packet)

        def _deliver(attached: Any, packet: t.ZigbeePacket, direction: Any, callback: Any) -> None:
            if packet.cluster_id == OTA_CLUSTER_ID:
                found = _tsn_and_command(packet.data.serialize())
                if found is not None and found[1] == IMAGE_BLOCK_RESPONSE:
                    started = pending.pop(found[0], None)
                    if started is not None:
                        self._last_response = now = wall()
                        latencies.append(now - started[0])
                        cpu_latencies.append(cpu() - started[1])
            deliver(attached, packet, direction, callback)

        app.packet_received, app._deliver = packet_received, _deliver
        self._undo = [(app, "packet_received"), (app, "_deliver")]
        gc.callbacks.append(self._on_collection)

    def remove(self) -> None:
        for app, name in self._undo:
            vars(app).pop(name, None)
        self._undo = []
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_collection)

    def summary_ms(self, cpu: bool = False) -> dict[str, float | int]:
        """p50, p99, p99.9 and max in milliseconds (wall time, or the thread's CPU time), how many blocks
        they are over and how many full collections ran meanwhile."""
        ordered = sorted(self.cpu_latencies if cpu else self.latencies)
        return {
            "blocks": len(ordered),
            "full_collections": self.full_collections,
            "p50": round(percentile(ordered, 50) * 1000, 3),
            "p99": round(percentile(ordered, 99) * 1000, 3),
            "p999": round(percentile(ordered, 99.9) * 1000, 3),
            "max": round((ordered[-1] if ordered else math.nan) * 1000, 3),
        }


def percentile(ordered: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of an already sorted sequence (NaN when it is empty)."""
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(round(pct / 100 * len(ordered), 6)))  # round: 99.9 / 100 * 1000 is 999.0000000000001
    return ordered[min(rank, len(ordered)) - 1]
