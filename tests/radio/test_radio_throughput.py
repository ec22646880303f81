"""Throughput of the full emulator path, measured and recorded, never asserted (wall time varies by host).

Run with ``-s`` to see the numbers; they are also attached as ``record_property`` values.
"""

from __future__ import annotations

import time

from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.clock import Budget
from harness.emulator import EmulatedZigbeeNode

ROUND_TRIPS = 1000
BLOCK_SIZE = 64
DOWNLOAD_BUDGET = Budget("1000 emulated block round trips", 600)

BLOCK_REQUEST = Ota.ServerCommandDefs.image_block
BLOCK_RESPONSE = Ota.ClientCommandDefs.image_block_response


class BlockClient(EmulatedZigbeeNode):
    """Requests image blocks back to back, the way an OTA client downloads."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.offset = 0
        self.blocks = 0

    def request_block(self) -> None:
        body = BLOCK_REQUEST.schema(
            field_control=0,
            manufacturer_code=0x1234,
            image_type=0,
            file_version=2,
            file_offset=self.offset,
            maximum_data_size=BLOCK_SIZE,
        )
        self.send_command(Ota.cluster_id, BLOCK_REQUEST.id, body.serialize(), disable_default_response=True)

    def on_cluster_command(self, endpoint, cluster_id, hdr, payload):
        if cluster_id == Ota.cluster_id and hdr.command_id == BLOCK_RESPONSE.id:
            response, _ = BLOCK_RESPONSE.schema.deserialize(payload)
            self.offset += len(response.image_data)
            self.blocks += 1
            if self.blocks < ROUND_TRIPS:
                self.request_block()
            return None
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)


def _report(record_property, name: str, count: int, wall: float, virtual: float) -> None:
    rate = count / wall
    record_property(f"{name}_per_s", round(rate))
    print(f"\n{name}: {count} round trips in {wall:.3f} s wall ({rate:,.0f}/s), {virtual:.3f} s virtual")


def test_measure_image_block_round_trips_through_the_full_path(app, join, run, clock, record_property):
    node = BlockClient("00:0d:6f:00:0a:bc:de:0b", 0x0B0B)
    device = run(join(app, node))
    image = bytes(range(256)) * (ROUND_TRIPS * BLOCK_SIZE // 256)

    async def ota_server(packet, frame) -> None:
        header = frame.zcl_header()
        request, _ = BLOCK_REQUEST.schema.deserialize(frame.data[3:])
        data = image[request.file_offset : request.file_offset + request.maximum_data_size]
        body = BLOCK_RESPONSE.schema(
            status=foundation.Status.SUCCESS,
            manufacturer_code=request.manufacturer_code,
            image_type=request.image_type,
            file_version=request.file_version,
            file_offset=request.file_offset,
            image_data=data,
        )
        await app.send_ota_frame(device, BLOCK_RESPONSE.name, body.serialize(), tsn=header.tsn)

    app.set_ota_handler(ota_server)
    start_virtual = clock.now()
    wall = time.perf_counter()
    node.request_block()
    assert run(clock.run_until(lambda: node.blocks >= ROUND_TRIPS, DOWNLOAD_BUDGET))
    wall = time.perf_counter() - wall
    assert node.offset == ROUND_TRIPS * BLOCK_SIZE
    _report(record_property, "image_block_round_trips", ROUND_TRIPS, wall, clock.now() - start_virtual)


def test_measure_zigpy_read_attribute_round_trips(joined, node, run, clock, record_property):
    """CH-initiated requests through zigpy's request/response matching.

    The value changes on every read: zigpy's TSN wraps every 256 requests, and a response byte-identical to
    one within the last 10 s is dropped by its duplicate filter (the request then times out and is retried,
    28 s later). With zero link latency all 1000 reads happen at one virtual instant, so identical answers
    would hit that filter; a real device answering identical reads 256 transactions apart within 10 s would
    too.
    """
    ota = joined.endpoints[1].out_clusters[Ota.cluster_id]

    async def reads() -> None:
        for version in range(ROUND_TRIPS):
            node.set_attribute(Ota.cluster_id, "current_file_version", version, side=ClusterType.Client)
            success, _ = await ota.read_attributes(["current_file_version"])
            assert success == {"current_file_version": version}

    start_virtual = clock.now()
    wall = time.perf_counter()
    run(reads())
    wall = time.perf_counter() - wall
    _report(record_property, "zigpy_read_attribute_round_trips", ROUND_TRIPS, wall, clock.now() - start_virtual)
