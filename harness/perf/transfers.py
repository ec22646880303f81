"""One OTA transfer to the reference PPMID on the loopback radio, served either by the suite or by zigpy.

Why two servers on one set-up: a benchmark figure taken on a shared machine says little on its own; the
same transfer served by zigpy's own OTA server (``zigpy.ota.manager``), in the same process, on the same
radio, to the same emulated device, is the reference that makes it a ratio a reader can trust.

- ``suite``: the full conformance path: DUT adapter, the CH hub and its ``OtaServer``, the transcript
  recording every frame, the radio glue, zigpy, the loopback radio;
- ``zigpy``: the glue in its reference mode (``GlueMode.REFERENCE``: only the Smart Energy profile remap),
  so zigpy parses the device's requests and its OTA manager answers them; nothing is recorded.

Both start with an Image Notify and end when the server has answered the Upgrade End Request.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import zigpy.ota
import zigpy.ota.manager
import zigpy.ota.providers
from zigpy.ota.image import HueSBLOTAImage, OTAImageHeader

from harness.clock import Budget, VirtualClock
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.dut import DutAdapter
from harness.dut.images import ScenarioImage, ScenarioImages
from harness.ota.factory import ImageSpec, build_image
from harness.perf.airtime import transcript_air_s
from harness.perf.probe import BlockAnswerProbe
from harness.profile import Profile, load_run_profile
from harness.radio.glue import GlueMode
from harness.transcript import Direction

BLOCK_SIZE = 48
#: Room the OTA header and the GB signature need around the payload, so the whole file fits its size.
_FILE_OVERHEAD = 200
#: Generous virtual budgets: a transfer on the virtual clock costs wall time only for the work done.
_JOIN = Budget("bench join", 60)
_DOWNLOAD = Budget("bench download", 48 * 3600)


class Server(enum.StrEnum):
    SUITE = "suite"
    ZIGPY = "zigpy"


@dataclass(frozen=True)
class TransferResult:
    """What one transfer cost: wall and CPU seconds of the process, blocks served, modelled air time."""

    server: Server
    octets: int
    blocks: int
    wall_s: float
    cpu_s: float
    virtual_s: float
    air_s: float | None  # from the transcript: only the suite records one

    @property
    def round_trips_per_s(self) -> float:
        return self.blocks / self.wall_s if self.wall_s else 0.0


class BenchSetup:
    """The profile, keys and image of one size, shared by every transfer of that size."""

    def __init__(self, file_octets: int, pki: TestPki | None = None) -> None:
        self.profile: Profile = load_run_profile(
            None,
            {
                "pixit.ota.max_block_size": str(BLOCK_SIZE),
                "pixit.dut.storage_capacity": str(max(file_octets, 262144)),
            },
        )
        self.pki = pki or TestPki.generate()
        self.keystore: KeyStore = self.pki.keystore()
        images = ScenarioImages(self.profile, self.pki, self.keystore)
        spec = ImageSpec(
            manufacturer_code=int(self.profile.pixit_value("dut.manufacturer_code")),
            image_type=int(self.profile.pixit_value("dut.image_type")),
            file_version=images.running_version + 1,
            payload_size=file_octets - _FILE_OVERHEAD,
            layout=images.layout,
        )
        manufacturer_key = self.keystore.private_key(self.pki.party("manufacturer").eui, "ds")
        data = build_image(spec, manufacturer_key=manufacturer_key)
        self.image = ScenarioImage(
            data, spec.manufacturer_code, spec.image_type, spec.file_version, f"bench {len(data)} octets"
        )


async def transfer(
    clock: VirtualClock, setup: BenchSetup, server: Server, probe: BlockAnswerProbe | None = None
) -> TransferResult:
    """Start a fresh adapter and emulated PPMID, join, and time one whole transfer served by ``server``."""
    dut = DutAdapter(setup.profile, clock, setup.keystore)
    await dut.start()
    try:
        device = await dut.join(_JOIN)
        probe = probe or BlockAnswerProbe()
        probe.install(dut.app)
        try:
            if server is Server.SUITE:
                return await _suite(clock, dut, setup.image, probe)
            return await _zigpy(clock, dut, device, setup.image, probe)
        finally:
            probe.remove()
    finally:
        await dut.stop()


async def _suite(clock: VirtualClock, dut: DutAdapter, image: ScenarioImage, probe: BlockAnswerProbe) -> TransferResult:
    assert dut.hub is not None
    dut.hub.hold(image.held())
    transcript = dut.transcript
    mark = transcript.mark()
    blocks_before = len(probe.latencies)
    wall, cpu, virtual = time.perf_counter(), time.process_time(), clock.now()
    await dut.hub.notify_image(unicast=True)
    end = await transcript.wait_for(
        lambda e: e.direction is Direction.TO_DUT and e.is_ota and e.matches("upgrade_end_response"),
        _DOWNLOAD,
        since=mark,
    )
    wall, cpu, virtual = time.perf_counter() - wall, time.process_time() - cpu, clock.now() - virtual
    if end is None:
        raise RuntimeError("the suite's transfer did not reach the Upgrade End Response")
    air = transcript_air_s(transcript.since(mark))
    blocks = len(probe.latencies) - blocks_before
    return TransferResult(Server.SUITE, len(image.data), blocks, wall, cpu, virtual, air)


async def _zigpy(
    clock: VirtualClock, dut: DutAdapter, device: object, image: ScenarioImage, probe: BlockAnswerProbe
) -> TransferResult:
    assert dut.app is not None
    dut.app.set_mode(GlueMode.REFERENCE)
    # A GB body is not a list of Zigbee sub-elements, so zigpy's OTAImage does not read it; HueSBLOTAImage is
    # zigpy's own container for "an OTA header, then octets served as they are", which is all a server needs.
    header, body = OTAImageHeader.deserialize(image.data)
    firmware = HueSBLOTAImage(header=header, data=body)
    if firmware.serialize() != image.data:
        raise RuntimeError("zigpy does not read the bench image back octet for octet")
    metadata = zigpy.ota.providers.BaseOtaImageMetadata(
        file_version=image.file_version, manufacturer_id=image.manufacturer_code, image_type=image.image_type
    )
    ota_image = zigpy.ota.OtaImageWithMetadata(metadata=metadata, firmware=firmware)
    blocks_before = len(probe.latencies)
    device.ota_in_progress = True  # type: ignore[attr-defined]  # as Device.update_firmware does
    wall, cpu, virtual = time.perf_counter(), time.process_time(), clock.now()
    try:
        status = await clock.run_until_complete(
            zigpy.ota.manager.update_firmware(device, ota_image),
            _DOWNLOAD,
            "zigpy's OTA transfer",  # type: ignore[arg-type]
        )
    finally:
        device.ota_in_progress = False  # type: ignore[attr-defined]
    wall, cpu, virtual = time.perf_counter() - wall, time.process_time() - cpu, clock.now() - virtual
    blocks = len(probe.latencies) - blocks_before
    if blocks * BLOCK_SIZE < len(image.data):
        raise RuntimeError(f"zigpy's transfer ended after {blocks} blocks with status {status!r}")
    return TransferResult(Server.ZIGPY, len(image.data), blocks, wall, cpu, virtual, None)
