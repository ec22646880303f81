"""A small test-only emulated PPMID for the adapter, hub and transcript tests (the real emulator is
``harness.emulator.ppmid``). Registered through the profile PIXIT ``emulator.device_class`` as
``dut_test_node:ScriptedPpmid``, exactly as a vendor's own device model would be; the tests script its
OTA requests instead of running an OTA client."""

from __future__ import annotations

from typing import Any

import zigpy.types as t
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.crypto.eui64 import Eui64
from harness.emulator import EmulatedZigbeeNode
from harness.profile import Profile, load_run_profile
from harness.radio.loopback import LoopbackApp

REQ = Ota.ServerCommandDefs
NODE_NWK = 0x4A21
TEST_NODE = "dut_test_node:ScriptedPpmid"
#: File version of the image the tests hold (newer than the profile's running 0x01020300).
IMAGE_VERSION = 0x01020400


def make_profile(**overrides: Any) -> Profile:
    """The default profile with the test node as emulator, plus dotted-key overrides."""
    return load_run_profile(None, {"pixit.emulator.device_class": TEST_NODE, **overrides})


class ScriptedPpmid(EmulatedZigbeeNode):
    """Records what it receives; ``query_next_image``/``image_block``/... send what a DUT would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[t.ZigbeePacket] = []
        #: (header, payload) of every OTA cluster command received, in order.
        self.ota_commands: list[tuple[foundation.ZCLHeader, bytes]] = []
        self.default_responses: list[tuple[int, foundation.ZCLHeader, foundation.CommandSchema]] = []
        self.boots = 0
        self.powered_off = False

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any) -> ScriptedPpmid:
        pixit = profile.pixit_value
        return cls(
            Eui64.parse(pixit("dut.eui64")).colon,
            NODE_NWK,
            endpoint_id=int(pixit("dut.endpoint")),
            manufacturer_code=int(pixit("dut.manufacturer_code")),
            image_type=int(pixit("dut.image_type")),
            file_version=int(pixit("dut.current_file_version")),
        )

    def boot(self) -> None:
        self.boots += 1
        self.announce()

    def power_off(self) -> None:
        self.powered_off = True

    def receive(self, packet: t.ZigbeePacket) -> None:
        self.received.append(packet)
        super().receive(packet)

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if cluster_id == Ota.cluster_id:
            self.ota_commands.append((hdr, payload))
            return None
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)

    def on_default_response(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, command: foundation.CommandSchema
    ) -> None:
        self.default_responses.append((cluster_id, hdr, command))

    # -- scripted OTA client requests ----------------------------------------------------------------------
    @property
    def identity(self) -> dict[str, int]:
        return {
            "manufacturer_code": self.config["manufacturer_code"],
            "image_type": int(self.get_attribute(Ota.cluster_id, "image_type_id", side=ClusterType.Client)),
        }

    def query_next_image(self) -> int:
        body = REQ.query_next_image.schema(
            field_control=0,
            current_file_version=int(
                self.get_attribute(Ota.cluster_id, "current_file_version", side=ClusterType.Client)
            ),
            **self.identity,
        )
        return self.send_command(Ota.cluster_id, REQ.query_next_image.id, body.serialize())

    def image_block(self, offset: int, version: int, size: int = 48) -> int:
        body = REQ.image_block.schema(
            field_control=0, file_version=version, file_offset=offset, maximum_data_size=size, **self.identity
        )
        return self.send_command(Ota.cluster_id, REQ.image_block.id, body.serialize())

    def image_page(self, offset: int, version: int, page_size: int, spacing_ms: int, size: int = 48) -> int:
        body = REQ.image_page.schema(
            field_control=0,
            file_version=version,
            file_offset=offset,
            maximum_data_size=size,
            page_size=page_size,
            response_spacing=spacing_ms,
            **self.identity,
        )
        return self.send_command(Ota.cluster_id, REQ.image_page.id, body.serialize())

    def upgrade_end(self, version: int, status: foundation.Status = foundation.Status.SUCCESS) -> int:
        body = REQ.upgrade_end.schema(status=status, file_version=version, **self.identity)
        return self.send_command(Ota.cluster_id, REQ.upgrade_end.id, body.serialize())

    def ota_raw(self, command_id: int, payload: bytes) -> int:
        return self.send_command(Ota.cluster_id, command_id, payload)


class SilentPpmid(ScriptedPpmid):
    """Powered but never joins (its boot announces nothing): a DUT that does not join."""

    def boot(self) -> None:
        self.boots += 1


class BrokenRadio(LoopbackApp):
    """A radio whose serial port cannot be opened."""

    async def connect(self) -> None:
        raise OSError(2, "could not open port /dev/ttyFAKE: No such file or directory")


class OtherEndpointPpmid(ScriptedPpmid):
    """Carries its OTA client on endpoint 1 whatever the profile says (a wrong pixit.dut.endpoint)."""

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any) -> ScriptedPpmid:
        return cls(Eui64.parse(profile.pixit_value("dut.eui64")).colon, NODE_NWK, endpoint_id=1)


class ChattyPpmid(ScriptedPpmid):
    """A download in progress: an Image Block Request every second while powered, from offset 0 at each boot
    (what a device does between the suite's decision to cut its power and the actual loss of power)."""

    PERIOD_S = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: Any = None

    def boot(self) -> None:
        super().boot()
        self._tick(0)

    def _tick(self, offset: int) -> None:
        if self.powered_off or self.clock is None:
            return
        self.image_block(offset, IMAGE_VERSION)
        self._timer = self.clock.loop.call_later(self.PERIOD_S, self._tick, offset + 48)

    def power_off(self) -> None:
        super().power_off()
        if self._timer is not None:
            self._timer.cancel()


class UnannouncedChattyPpmid(ChattyPpmid):
    """Rejoins without a Device_annce (as a device rejoining its parent silently may)."""

    def boot(self) -> None:
        self.boots += 1
        self._tick(0)
