"""Radios that break the way a bench breaks, for the lab-fault tests (no hardware needed).

They are loaded by the run exactly as a vendor's radio would be, ``--radio tests.lab.lab_radios:Class``
(the subprocess runs with the project root on PYTHONPATH). The loopback-derived ones host the reference
emulator on the virtual clock; ``SocketRadio`` is a "real" radio that opens its TCP port itself.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar
from urllib.parse import urlsplit

import zigpy.application
import zigpy.exceptions
import zigpy.types as t

from harness.crypto.eui64 import Eui64
from harness.emulator import EmulatedZigbeeNode
from harness.radio.glue import OTA_CLUSTER_ID
from harness.radio.loopback import LoopbackApp

IMAGE_BLOCK_RESPONSE = 0x05


class FailingLoopback(LoopbackApp):
    """A coordinator that refuses to start (as a stick in bootloader mode or with a dead firmware does)."""

    async def connect(self) -> None:
        raise ConnectionRefusedError(111, "the test coordinator refuses to start on purpose")


class DroppingLoopback(LoopbackApp):
    """A coordinator that disappears in the middle of a transfer: after ``DROP_AFTER`` Image Block Responses
    it reports the connection lost (zigpy's ``connection_lost``), fails every later send and hears nothing."""

    DROP_AFTER = 3

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        self.blocks_sent = 0
        self.lost = False

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        if self.lost:
            raise zigpy.exceptions.DeliveryError("test radio: the coordinator is gone")
        if _is_image_block_response(packet):
            self.blocks_sent += 1
            if self.blocks_sent > self.DROP_AFTER:
                self.lost = True
                self.connection_lost(ConnectionResetError("serial port closed: the test coordinator was unplugged"))
                raise zigpy.exceptions.DeliveryError("test radio: the coordinator is gone")
        await super().send_packet(packet)

    def node_transmit(self, packet: t.ZigbeePacket) -> None:
        if not self.lost:
            super().node_transmit(packet)


class DeafLoopback(LoopbackApp):
    """A coordinator that never hears the DUT (wrong channel, DUT out of range, install code not accepted):
    its announce never arrives, so the DUT never joins."""

    def node_transmit(self, packet: t.ZigbeePacket) -> None:
        return None


class SocketRadio(zigpy.application.ControllerApplication):
    """A network coordinator at ``socket://host:port`` that opens the TCP connection itself and waits for the
    coordinator's first octet: against a closed port starting fails at once, against a silent listener it
    never finishes (budgets.start ends it). Either must end as the lab's ERROR, never a hang."""

    async def connect(self) -> None:
        where = urlsplit(self.config["device"]["path"])
        reader, writer = await asyncio.open_connection(where.hostname, where.port)
        try:
            if not await reader.read(1):
                raise ConnectionResetError("the coordinator closed the connection")
        finally:
            writer.close()
        raise NotImplementedError("SocketRadio speaks no coordinator protocol")

    async def disconnect(self) -> None:
        return None

    async def start_network(self) -> None:
        raise NotImplementedError

    async def force_remove(self, dev: Any) -> None:
        raise NotImplementedError

    async def add_endpoint(self, descriptor: Any) -> None:
        raise NotImplementedError

    async def permit_ncp(self, time_s: int = 60) -> None:
        raise NotImplementedError

    async def permit_with_link_key(self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60) -> None:
        raise NotImplementedError

    async def write_network_info(self, *, network_info: Any, node_info: Any) -> None:
        raise NotImplementedError

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        raise NotImplementedError

    async def reset_network_info(self) -> None:
        raise NotImplementedError

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        raise NotImplementedError


def _is_image_block_response(packet: t.ZigbeePacket) -> bool:
    data = packet.data.serialize()
    if packet.cluster_id != OTA_CLUSTER_ID or len(data) < 3:
        return False
    command_at = 4 if data[0] & 0x04 else 2  # manufacturer-specific frames carry a 2-octet code first
    return len(data) > command_at and data[command_at] == IMAGE_BLOCK_RESPONSE


class KeyRecordingLoopback(LoopbackApp):
    """The loopback radio, recording each ``permit_with_link_key`` (what an install-code join asks of a stick)."""

    calls: ClassVar[list[tuple[t.EUI64, t.KeyData, int]]] = []

    async def permit_with_link_key(self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60) -> None:
        KeyRecordingLoopback.calls.append((node, link_key, time_s))


class LabNode(EmulatedZigbeeNode):
    """A plain emulated DUT for the in-process adapter tests (PIXIT ``emulator.device_class`` =
    ``lab_radios:LabNode``): the profile's identity and OTA client endpoint, no OTA client logic, no keys."""

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any) -> LabNode:
        pixit = profile.pixit_value
        return cls(
            Eui64.parse(pixit("dut.eui64")).colon,
            0x4A21,
            endpoint_id=int(pixit("dut.endpoint")),
            manufacturer_code=int(pixit("dut.manufacturer_code")),
            image_type=int(pixit("dut.image_type")),
            file_version=int(pixit("dut.current_file_version")),
        )

    def boot(self) -> None:
        self.announce()
