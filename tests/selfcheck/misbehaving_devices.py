"""Devices that misbehave the way issue 14 found, for ``test_misbehaving_devices.py``: loaded by a run through
PIXIT ``emulator.device_class``, as a vendor's own device model would be. Test-only: the reference emulators
never do any of this (their one traffic knob is ``requery-without-pause``).

Each is the reference PPMID plus one misbehaviour that starts as soon as it joins, so every scenario meets it:

- ``FloodingPpmid``: sends Query Next Image Requests back to back for ever (never waiting for time to pass);
- ``OversizedFramesPpmid``: answers every frame with a 1 MiB attribute report;
- ``PingPongPpmid``: answers every unicast ZCL frame with a Default Response SUCCESS that does not disable the
  Default Response, Default Responses and responses included (a Communications Hub that answered it would never
  stop);
- ``RandomFramesPpmid``: sends a random frame after every frame it receives (OTA, tunnel or Basic cluster,
  random octets, seeded: the same run every time);
- ``WrongAttributesPpmid``: answers every Read Attributes with one more attribute than it was asked for.
"""

from __future__ import annotations

import random
from typing import Any

import zigpy.types as t
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Basic, Ota

from harness.emulator.ppmid import PpmidEmulator
from harness.radio.frames import parse_zcl_header, zcl_frame
from harness.zigbee.tunneling import TUNNELING_CLUSTER_ID

GC = foundation.GeneralCommand
#: The attribute nobody asks for (a manufacturer-range id on the Basic and OTA clusters).
UNASKED_ATTRIBUTE = 0x8700
OVERSIZED_OCTETS = 1 << 20


class FloodingPpmid(PpmidEmulator):
    """Sends Query Next Image Requests back to back, each as soon as the last one is out, until powered off."""

    def boot(self) -> None:
        super().boot()
        self._flood()

    def _flood(self) -> None:
        if not self.powered or self.clock is None:
            return
        self.query_now_raw()
        self.clock.loop.call_soon(self._flood)

    def query_now_raw(self) -> None:
        payload = Ota.ServerCommandDefs.query_next_image.schema(
            field_control=0,
            manufacturer_code=self.ota.config.manufacturer_code,
            image_type=self.ota.config.image_type,
            current_file_version=self.ota.running_version,
        ).serialize()
        self.send_command(Ota.cluster_id, Ota.ServerCommandDefs.query_next_image.id, payload)


class OversizedFramesPpmid(PpmidEmulator):
    """Answers every frame it receives with an attribute report of 1 MiB (a length no Zigbee frame can have)."""

    def receive(self, packet: t.ZigbeePacket) -> None:
        super().receive(packet)
        if self.powered and packet.dst_ep != 0:
            report = bytes(4) + bytes(OVERSIZED_OCTETS)
            self.send_command(Basic.cluster_id, GC.Report_Attributes, report, cluster_specific=False)


class PingPongPpmid(PpmidEmulator):
    """Answers every ZCL frame it receives, Default Responses included, with a Default Response SUCCESS of its own
    that asks for a Default Response back."""

    def receive(self, packet: t.ZigbeePacket) -> None:
        super().receive(packet)
        parsed = parse_zcl_header(packet.data.serialize()) if packet.dst_ep != 0 else None
        if not self.powered or parsed is None or packet.dst.addr_mode != t.AddrMode.NWK:
            return  # a broadcast answered would be judged as that, not as the ping-pong
        header = parsed[0]
        body = foundation.GENERAL_COMMANDS[GC.Default_Response].schema(
            command_id=header.command_id, status=foundation.Status.SUCCESS
        )
        data = zcl_frame(
            GC.Default_Response,
            body.serialize(),
            tsn=header.tsn,
            direction=header.direction.flip(),
            cluster_specific=False,
            disable_default_response=False,
        )
        self.transmit(packet.cluster_id, data, dst_ep=packet.src_ep, src_ep=packet.dst_ep)


class RandomFramesPpmid(PpmidEmulator):
    """Sends a random frame after every frame it receives (seeded from its address: the same frames every run)."""

    CLUSTERS = (Ota.cluster_id, TUNNELING_CLUSTER_ID, Basic.cluster_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._junk = random.Random(int(self.ieee.serialize()[::-1].hex(), 16))

    def receive(self, packet: t.ZigbeePacket) -> None:
        super().receive(packet)
        if self.powered and packet.dst_ep != 0:
            junk = self._junk
            data = bytes(junk.getrandbits(8) for _ in range(junk.randint(1, 40)))
            self.transmit(junk.choice(self.CLUSTERS), data)


class WrongAttributesPpmid(PpmidEmulator):
    """Answers every Read Attributes with the attributes asked for and one more (0x8700) nobody asked for."""

    def _on_general_command(
        self, cluster_id: int, side: ClusterType, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if hdr.command_id != GC.Read_Attributes:
            return super()._on_general_command(cluster_id, side, hdr, payload)
        request, _ = foundation.GENERAL_COMMANDS[GC.Read_Attributes].schema.deserialize(payload)
        records = [self._read_record(cluster_id, side, attrid) for attrid in request.attribute_ids]
        records.append(
            foundation.ReadAttributeRecord(
                attrid=UNASKED_ATTRIBUTE,
                status=foundation.Status.SUCCESS,
                value=foundation.TypeValue(foundation.DataTypeId.uint8, t.uint8_t(5)),
            )
        )
        body = foundation.GENERAL_COMMANDS[GC.Read_Attributes_rsp].schema(status_records=records)
        self.respond(hdr, GC.Read_Attributes_rsp, body.serialize(), cluster_specific=False)
        return None
