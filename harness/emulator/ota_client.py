"""A strict Zigbee OTA Upgrade cluster *client* state machine, with GB behaviour, for emulated devices.

Why a component and not a device: the PPMID emulator hosts it today and the HCALCS emulator will host it
tomorrow (same download, different activation trigger and signature), so the state machine only needs an
``EmulatedZigbeeNode`` to talk through, a verifier to judge the finished file and two callbacks (persisted,
activated). Behaviour follows the digest (domain.md §3.3-3.6, §8.1, §8.3) and Silicon Labs' reference
client where the digest cites it; choices the digest marks [I]/[U] are named in ``OtaClientConfig`` and in
docs/architecture.md ("Reference emulator").

States (``Phase``) and the ImageUpgradeStatus they show::

    IDLE ──query──▶ QUERYING ──acceptable offer──▶ DOWNLOADING ──last octet──▶ VERIFYING ──pass──┐
    Normal          Normal                         Download in progress        (unchanged)       │ UER SUCCESS
      ▲                                                                                          ▼
      └─reboot── ACTIVATING ◀── COUNT_DOWN ◀── UpgradeTime now / later ── AWAITING_END_RESPONSE
                                (Count down)                               (Download complete)
                                     ▲                                            │ UpgradeTime 0xFFFFFFFF
                                     └──── "upgrade now" ──── WAITING_TO_UPGRADE ◀┘ (Waiting to upgrade;
                                                                                    UER re-sent)

Every failure (verification, retry limit, wait-for-data limit, server ABORT) returns to IDLE with the old
firmware still running (CS-09). The only time source is the node's clock: timers are ``loop.call_later``.

Persistence: the client keeps its non-volatile memory (``OtaNvm``) apart from its RAM state and writes it at
named points (``PersistPoint``) only, calling ``on_persist`` each time, so a power cut at any point loses
exactly what a real device would lose. The received octets live in one ``bytearray`` that grows by
appending; a record stores the persisted length, so persisting a block costs O(1).

Incoming frames are decoded by the strict, bounds-checked decoders below (not zigpy's schemas, which ignore
length lies in optional fields and make WAIT_FOR_DATA's optional MinimumBlockPeriod mandatory): anything
that does not decode is MALFORMED_COMMAND and changes nothing (CS-14).
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import logging
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import zigpy.types as t
from cryptography.hazmat.primitives.asymmetric import ec
from zigpy.zcl import ClusterType, foundation
from zigpy.zcl.clusters.general import Ota

from harness.emulator.faults import COMPLIANT, FaultSet
from harness.emulator.node import COORDINATOR_NWK, EmulatedZigbeeNode
from harness.errors import ConfigurationError, HarnessError
from harness.ota.errors import ImageFormatError
from harness.ota.format import Layout, OtaHeader, detect_layout, known_header_length, parse_body, parse_header
from harness.ota.manufacturer import (
    ManufacturerStatus,
    ManufacturerVerdict,
    activation_fails,
    verify_manufacturer_image,
)
from harness.ota.validate import GB_HEADER_LENGTH, FindingCode, Profile, validate_image
from harness.radio.frames import zcl_frame

LOGGER = logging.getLogger(__name__)

Status = foundation.Status
UpgradeStatus = Ota.ImageUpgradeStatus
OTA_CLUSTER = Ota.cluster_id

#: Wildcards of the identity fields (ZCL OTA): they match anything in an Upgrade End Response.
WILDCARD_MANUFACTURER = 0xFFFF
WILDCARD_IMAGE_TYPE = 0xFFFF
WILDCARD_FILE_VERSION = 0xFFFFFFFF
#: UpgradeTime "wait for a further Upgrade End Response before upgrading".
UPGRADE_TIME_WAIT = 0xFFFFFFFF
#: DownloadedFileVersion when no image is held (ZCL default).
NO_DOWNLOADED_VERSION = 0xFFFFFFFF
ZIGBEE_STACK_PRO = 0x0002

_SC = Ota.ClientCommandDefs  # server → client (what we receive)
_CS = Ota.ServerCommandDefs  # client → server (what we send)


class DowngradePolicy(enum.StrEnum):
    """PIXIT ``dut.downgrade_policy`` (CS-20, [U]: Zigbee permits downgrades, GB practice unknown)."""

    REJECT_LOWER = "reject-lower"
    REJECT_LOWER_OR_EQUAL = "reject-lower-or-equal"
    ALLOW = "allow"


class BlockPeriodUnit(enum.StrEnum):
    """PIXIT ``dut.min_block_period_unit``: ms for cluster revisions 1 and 3, s for revision 2 (CS-17)."""

    MS = "ms"
    S = "s"


class PersistPoint(enum.StrEnum):
    """Where the client writes its non-volatile memory (each is a power-cut point of the sweep)."""

    DOWNLOAD_START = "download-start"  # identity and size of the file being downloaded
    BLOCK_STORED = "block-stored"  # one more block and the new FileOffset
    DOWNLOAD_COMPLETE = "download-complete"  # all ImageSize octets stored, not yet verified
    IMAGE_VERIFIED = "image-verified"  # verified image held for activation (before UER SUCCESS)
    DOWNLOAD_DISCARDED = "download-discarded"  # partial or failed image dropped
    ACTIVATION_PENDING = "activation-pending"  # the server's Upgrade End Response was accepted
    ACTIVATION_START = "activation-start"  # the image swap begins
    ACTIVATION_DONE = "activation-done"  # the new version is the running one


class Phase(enum.Enum):
    """The client's RAM state (lost on a power cycle; ``start`` rebuilds it from the NVM)."""

    IDLE = "idle"
    QUERYING = "querying"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    AWAITING_END_RESPONSE = "awaiting-end-response"
    WAITING_TO_UPGRADE = "waiting-to-upgrade"
    COUNT_DOWN = "count-down"
    ACTIVATING = "activating"


class ImageIdentity(NamedTuple):
    """Manufacturer code, image type and file version: what names one OTA file."""

    manufacturer_code: int
    image_type: int
    file_version: int

    def accepts(self, other: ImageIdentity) -> bool:
        """``other`` names this file, field by field or by the wildcard (Upgrade End Response rule, PZ-20)."""
        return (
            other.manufacturer_code in (self.manufacturer_code, WILDCARD_MANUFACTURER)
            and other.image_type in (self.image_type, WILDCARD_IMAGE_TYPE)
            and other.file_version in (self.file_version, WILDCARD_FILE_VERSION)
        )

    def __str__(self) -> str:
        return f"{self.manufacturer_code:04X}/{self.image_type:04X}/{self.file_version:08X}"


def version_allowed(policy: DowngradePolicy, running: int, offered: int) -> bool:
    """Whether the version policy lets ``offered`` replace ``running``. The running version itself is never
    downloaded again, whatever the policy (ZCL client rule), so reject-lower and reject-lower-or-equal only
    differ in name for this client."""
    if offered == running:
        return False
    return offered > running or policy is DowngradePolicy.ALLOW


# -- strict decoders of the server's commands ------------------------------------------------------------
class MalformedFrame(ValueError):
    """A server command whose payload does not decode (too short, a length field that lies, ...)."""


_NOTIFY_EXTRA = (0, 2, 4, 8)  # octets after PayloadType+QueryJitter for payload types 0..3
_IDENTITY = struct.Struct("<HHI")
_QNIR_SUCCESS = struct.Struct("<HHII")
_BLOCK_SUCCESS = struct.Struct("<HHIIB")
_WAIT_FOR_DATA = struct.Struct("<II")
_MIN_BLOCK_PERIOD = struct.Struct("<H")
_END_RESPONSE = struct.Struct("<HHIII")


@dataclass(frozen=True, slots=True)
class ImageNotify:
    payload_type: int
    query_jitter: int
    manufacturer_code: int | None = None
    image_type: int | None = None
    new_file_version: int | None = None


@dataclass(frozen=True, slots=True)
class QueryResponse:
    status: int
    identity: ImageIdentity | None = None
    image_size: int | None = None


@dataclass(frozen=True, slots=True)
class BlockResponse:
    status: int
    identity: ImageIdentity | None = None
    file_offset: int | None = None
    data: bytes = b""
    current_time: int | None = None
    request_time: int | None = None
    minimum_block_period: int | None = None


@dataclass(frozen=True, slots=True)
class EndResponse:
    identity: ImageIdentity
    current_time: int
    upgrade_time: int


def decode_image_notify(payload: bytes) -> ImageNotify:
    if len(payload) < 2:
        raise MalformedFrame(f"Image Notify of {len(payload)} octets (at least 2)")
    payload_type, jitter = payload[0], payload[1]
    if payload_type >= len(_NOTIFY_EXTRA):
        raise MalformedFrame(f"Image Notify payload type {payload_type} is not 0-3")
    need = 2 + _NOTIFY_EXTRA[payload_type]
    if len(payload) < need:
        raise MalformedFrame(f"Image Notify type {payload_type} needs {need} octets, got {len(payload)}")
    fields: dict[str, int] = {}
    if payload_type >= 1:
        fields["manufacturer_code"] = int.from_bytes(payload[2:4], "little")
    if payload_type >= 2:
        fields["image_type"] = int.from_bytes(payload[4:6], "little")
    if payload_type >= 3:
        fields["new_file_version"] = int.from_bytes(payload[6:10], "little")
    return ImageNotify(payload_type, jitter, **fields)


def decode_query_response(payload: bytes) -> QueryResponse:
    if not payload:
        raise MalformedFrame("empty Query Next Image Response")
    status = payload[0]
    if status != Status.SUCCESS:
        return QueryResponse(status)
    if len(payload) < 1 + _QNIR_SUCCESS.size:
        raise MalformedFrame(f"Query Next Image Response SUCCESS of {len(payload)} octets (at least 13)")
    mfr, image_type, version, size = _QNIR_SUCCESS.unpack_from(payload, 1)
    return QueryResponse(status, ImageIdentity(mfr, image_type, version), size)


def decode_block_response(payload: bytes) -> BlockResponse:
    if not payload:
        raise MalformedFrame("empty Image Block Response")
    status = payload[0]
    if status == Status.SUCCESS:
        if len(payload) < 1 + _BLOCK_SUCCESS.size:
            raise MalformedFrame(f"Image Block Response SUCCESS of {len(payload)} octets (at least 14)")
        mfr, image_type, version, offset, size = _BLOCK_SUCCESS.unpack_from(payload, 1)
        start = 1 + _BLOCK_SUCCESS.size
        if len(payload) - start < size:
            raise MalformedFrame(f"DataSize {size} but only {len(payload) - start} data octets in the frame")
        data = payload[start : start + size]
        return BlockResponse(status, ImageIdentity(mfr, image_type, version), offset, data)
    if status == Status.WAIT_FOR_DATA:
        if len(payload) < 1 + _WAIT_FOR_DATA.size:
            raise MalformedFrame(f"Image Block Response WAIT_FOR_DATA of {len(payload)} octets (at least 9)")
        current, request = _WAIT_FOR_DATA.unpack_from(payload, 1)
        period = None
        if len(payload) >= 1 + _WAIT_FOR_DATA.size + _MIN_BLOCK_PERIOD.size:
            (period,) = _MIN_BLOCK_PERIOD.unpack_from(payload, 1 + _WAIT_FOR_DATA.size)
        return BlockResponse(status, current_time=current, request_time=request, minimum_block_period=period)
    return BlockResponse(status)


def decode_end_response(payload: bytes) -> EndResponse:
    if len(payload) < _END_RESPONSE.size:
        raise MalformedFrame(f"Upgrade End Response of {len(payload)} octets (at least 16)")
    mfr, image_type, version, current, upgrade = _END_RESPONSE.unpack_from(payload)
    return EndResponse(ImageIdentity(mfr, image_type, version), current, upgrade)


# -- the hot path of a download ---------------------------------------------------------------------------
# One Image Block Request out and one Image Block Response in per block: building and parsing their ZCL
# headers with zigpy's generic structs costs more than the rest of the client together, so these two frames
# take a fast path. Nothing is re-invented: the frame control octets come from ``zcl_frame`` itself and the
# block request layout is checked against zigpy's schema below, at import.
_IMAGE_BLOCK = struct.Struct("<BHHIIB")
#: Frame control of our requests (cluster-specific, client→server, Default Response disabled).
REQUEST_FRAME_CONTROL = zcl_frame(
    0, b"", tsn=0, direction=foundation.Direction.Client_to_Server, disable_default_response=True
)[0]
#: Frame control of a plain server response (cluster-specific, server→client, Default Response disabled).
RESPONSE_FRAME_CONTROL = zcl_frame(
    0, b"", tsn=0, direction=foundation.Direction.Server_to_Client, disable_default_response=True
)[0]
IMAGE_BLOCK_RESPONSE_ID = Ota.ClientCommandDefs.image_block_response.id


def encode_image_block_request(identity: ImageIdentity, offset: int, max_size: int) -> bytes:
    """Image Block Request payload without optional fields (field control 0)."""
    return _IMAGE_BLOCK.pack(
        0, identity.manufacturer_code, identity.image_type, identity.file_version, offset, max_size
    )


def _check_fast_encoder() -> None:
    sample = Ota.ServerCommandDefs.image_block.schema(
        field_control=0,
        manufacturer_code=0x121D,
        image_type=0x0084,
        file_version=0x01020304,
        file_offset=0x00A1B2C3,
        maximum_data_size=48,
    )
    fast = encode_image_block_request(ImageIdentity(0x121D, 0x0084, 0x01020304), 0x00A1B2C3, 48)
    if fast != sample.serialize():  # pragma: no cover - a zigpy change would land here
        raise RuntimeError("the fast Image Block Request encoder disagrees with zigpy's schema")


_check_fast_encoder()


# -- configuration -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OtaClientConfig:
    """Identity and behaviour of the client. Values come from the DUT profile
    (``PpmidEmulator.from_profile``); the timing defaults marked [I] are the emulator's own choices
    (docs/architecture.md)."""

    manufacturer_code: int
    image_type: int
    current_file_version: int
    hardware_version: int | None = None
    """Sent in Query Next Image Request and checked against the header's range; None = not reported."""
    storage_capacity: int | None = None
    """Largest OTA file the client stores (CS-15); None = unlimited."""
    downgrade_policy: DowngradePolicy = DowngradePolicy.REJECT_LOWER_OR_EQUAL
    min_block_period_unit: BlockPeriodUnit = BlockPeriodUnit.MS
    retry_limit: int = 3
    """Re-requests of one offset after lost responses before Upgrade End Request ABORT (PZ-31)."""
    max_block_size: int = 48
    """MaxDataSize of every Image Block Request."""
    request_timeout_s: float = 5.0
    """[I] Per-request timeout (Query Next Image, Image Block); Silicon Labs uses about 3 s."""
    wait_for_data_limit_s: float = 3600.0
    """Consecutive WAIT_FOR_DATA waiting after which the download is abandoned (CS-16)."""
    upgrade_end_reask_s: float = 3240.0
    """Re-send period of Upgrade End Request while waiting after UpgradeTime 0xFFFFFFFF (PZ-21, ≤ 60 min)."""
    upgrade_end_retry_s: float = 600.0
    """[I] Re-send period of Upgrade End Request while no valid Upgrade End Response arrives."""
    query_interval_s: float = 86400.0
    """[I] Period of the unprompted Query Next Image Request (the digest leaves discovery open)."""
    notify_jitter_s: float = 1.0
    """[I] Largest random delay between an Image Notify and the query it causes."""
    resume_query_delay_s: float = 5.0
    """[I] Delay after boot before the query that resumes a persisted partial download."""
    end_request_after_boot_s: float = 2.0
    """[I] Delay after boot before re-sending Upgrade End Request for a verified image (PZ-32)."""
    verification_s: float = 5.0
    """[I] Virtual time the image verification takes after the last octet."""
    activation_delay_s: float = 3.0
    """[I] Delay before an immediate activation, so APS/ZCL responses still flow (Silicon Labs uses ≥ 3 s)."""
    activation_s: float = 1.0
    """[I] Time the image swap takes (between the activation-start and activation-done persistence points)."""
    resume_download: bool = True
    """PZ-26 choice: resume a download interrupted by a power cycle from FileOffset (False: start again)."""

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.max_block_size <= 255:
            problems.append(f"max_block_size {self.max_block_size} is not 1-255")
        if self.retry_limit < 0:
            problems.append(f"retry_limit {self.retry_limit} is negative")
        if self.upgrade_end_reask_s > 3600:
            problems.append(f"upgrade_end_reask_s {self.upgrade_end_reask_s} exceeds ZCL's 60 minutes")
        for name in ("request_timeout_s", "upgrade_end_reask_s", "upgrade_end_retry_s", "query_interval_s"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive")
        if problems:
            raise ConfigurationError("OTA client configuration: " + "; ".join(problems))
        object.__setattr__(self, "downgrade_policy", DowngradePolicy(self.downgrade_policy))
        object.__setattr__(self, "min_block_period_unit", BlockPeriodUnit(self.min_block_period_unit))

    @property
    def identity(self) -> tuple[int, int]:
        return (self.manufacturer_code, self.image_type)


#: Re-send Upgrade End Request at this fraction of PIXIT budgets.upgrade_end_reask, so the evidence of "at least
#: every 60 minutes" never sits exactly on the boundary.
REASK_FRACTION = 0.9

#: Default period of Upgrade End Request re-sends while no valid Upgrade End Response arrives [I].
DEFAULT_UPGRADE_END_RETRY_S = 600.0


def ota_config_from_profile(pixit: Callable[[str], Any], overrides: dict[str, Any]) -> OtaClientConfig:
    """The OTA client a DUT profile declares (PIXIT ``dut.*``, ``ota.max_block_size``, ``budgets.*``), for every
    emulator built on ``OtaClient``; ``overrides`` (popped from) replace fields, e.g. the [I] timers.

    One mapping for both emulators: the HCALCS once read only the identity from its profile and kept the
    defaults for the rest, so a profile declaring another retry limit, downgrade policy or wait-for-data limit
    described a device that did not exist (found by the variation self-check)."""
    reask = REASK_FRACTION * min(float(pixit("budgets.upgrade_end_reask")), 3600.0)
    fields: dict[str, Any] = {
        "manufacturer_code": pixit("dut.manufacturer_code"),
        "image_type": pixit("dut.image_type"),
        "current_file_version": pixit("dut.current_file_version"),
        "hardware_version": pixit("dut.hardware_version"),
        "storage_capacity": pixit("dut.storage_capacity"),
        "downgrade_policy": pixit("dut.downgrade_policy"),
        "min_block_period_unit": pixit("dut.min_block_period_unit"),
        "retry_limit": pixit("dut.retry_limit"),
        "max_block_size": pixit("ota.max_block_size"),
        "wait_for_data_limit_s": float(pixit("budgets.wait_for_data_limit")),
        "upgrade_end_reask_s": reask,
        "upgrade_end_retry_s": min(DEFAULT_UPGRADE_END_RETRY_S, reask),
    }
    names = {f.name for f in dataclasses.fields(OtaClientConfig)}
    fields.update({k: overrides.pop(k) for k in list(overrides) if k in names})
    return OtaClientConfig(**fields)


# -- image verification ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    signature: bool = False
    """The failure is the manufacturer signature's (not the file format, identity or version)."""


class ManufacturerCheck(Protocol):
    """Judges the manufacturer signature inside a Manufacturer Image for the identity it must be valid for: the
    suite's convention (default) or another format (``harness.emulator.vendor_image``)."""

    def __call__(
        self, manufacturer_image: bytes, manufacturer_code: int, image_type: int, file_version: int
    ) -> ManufacturerVerdict: ...


class ImageVerifier(Protocol):
    """Judges a complete downloaded file offered as ``expected``; the PPMID and HCALCS differ here."""

    def __call__(self, data: bytes, expected: ImageIdentity, running_version: int) -> Verdict: ...


#: Findings a device that skips the header checks (fault accept-bad-header) does not look at.
_HEADER_FINDINGS = frozenset(
    {
        FindingCode.BAD_MAGIC,
        FindingCode.UNSUPPORTED_HEADER_VERSION,
        FindingCode.FILE_SHORTER_THAN_HEADER,
        FindingCode.HEADER_LENGTH_SHORT,
        FindingCode.UNKNOWN_HEADER_EXTENSION,
        FindingCode.TOTAL_SIZE_SMALLER_THAN_HEADER,
        FindingCode.FILE_TRUNCATED,
        FindingCode.TRAILING_BYTES,
    }
)


#: Header defects a device can see as soon as the header has arrived, before the rest of the file.
_EARLY_HEADER_FINDINGS = frozenset(
    {
        FindingCode.BAD_MAGIC,
        FindingCode.UNSUPPORTED_HEADER_VERSION,
        FindingCode.HEADER_LENGTH_SHORT,
        FindingCode.UNKNOWN_HEADER_EXTENSION,
    }
)


@dataclass(frozen=True)
class GbImageVerifier:
    """The GB checks of a downloaded file (CS-03..CS-08, CS-15, CS-20, PZ-13/14): the strict validator with
    the GB profile, the manufacturer signature under the suite's convention (an assumption,
    docs/ota-images.md §3), the identity the server offered, the hardware range and the version policy."""

    manufacturer_public_key: ec.EllipticCurvePublicKey
    hardware_version: int | None = None
    storage_capacity: int | None = None
    downgrade_policy: DowngradePolicy = DowngradePolicy.REJECT_LOWER_OR_EQUAL
    faults: FaultSet = field(default=COMPLIANT)
    manufacturer_check: ManufacturerCheck | None = None
    """Another manufacturer-signature format to check instead of the suite's convention (the vendor-image
    path: ``harness.emulator.vendor_image``); None: the convention with ``manufacturer_public_key``."""

    def __call__(self, data: bytes, expected: ImageIdentity, running_version: int) -> Verdict:
        faults = self.faults
        report = validate_image(
            data,
            profile=Profile.GB,
            manufacturer_public_key=None if self.manufacturer_check else self.manufacturer_public_key,
            max_image_size=None if faults.accept_oversized_image else self.storage_capacity,
        )
        # The manufacturer signature is judged below from its verdict, not from the report's finding.
        ignored = {FindingCode.MANUFACTURER_SIGNATURE}
        header, signature = report.header, report.manufacturer_signature
        if self.manufacturer_check is not None and header is not None and report.manufacturer_image is not None:
            signature = self.verify_manufacturer(report.manufacturer_image, header)
        if faults.accept_bad_header:
            ignored |= _HEADER_FINDINGS
            header, signature = self._lenient(data)
        defects = [f for f in report.defects if f.code not in ignored]
        if defects:
            return Verdict(False, "; ".join(f"{f.code}: {f.reason}" for f in defects))
        if faults.require_zigbee_subelements and report.layout is not Layout.ZIGBEE:
            return Verdict(False, f"no Zigbee Upgrade Image sub-element (layout {report.layout})")
        problem = self._signature_problem(signature)
        if problem is not None:
            return Verdict(False, f"manufacturer signature: {problem}", signature=True)
        if header is None:
            return Verdict(False, "no readable OTA header")
        found = ImageIdentity(header.manufacturer_code, header.image_type, header.file_version)
        if found != expected:
            return Verdict(False, f"header identity {found} differs from the offered {expected}")
        hw, low, high = self.hardware_version, header.min_hw_version, header.max_hw_version
        if hw is not None and low is not None and high is not None and not low <= hw <= high:
            return Verdict(False, f"hardware version 0x{hw:04X} outside the header's {low:#06x}-{high:#06x}")
        if not faults.accept_downgrade and not version_allowed(
            self.downgrade_policy, running_version, found.file_version
        ):
            return Verdict(False, f"version {found.file_version:08X} refused by policy {self.downgrade_policy}")
        return Verdict(True, "valid GB image, manufacturer signature verifies")

    def header_problem(self, prefix: bytes, expected: ImageIdentity, advertised_size: int) -> str | None:
        """The early check a device makes once the OTA header has arrived (CS-03/04/05): magic, header
        version and length, Total Image Size against the size the server advertised, and identity. None
        when the header is acceptable so far; the full verification still runs after the last block."""
        if self.faults.accept_bad_header:
            return None
        report = validate_image(prefix, profile=Profile.GB)
        header = report.header
        early = [f for f in report.defects if f.code in _EARLY_HEADER_FINDINGS]
        if early:
            return "; ".join(f"{f.code}: {f.reason}" for f in early)
        if header is None:
            return None  # not enough octets yet
        if header.total_image_size != advertised_size:
            return f"Total Image Size {header.total_image_size} differs from the advertised {advertised_size}"
        found = ImageIdentity(header.manufacturer_code, header.image_type, header.file_version)
        if found != expected:
            return f"header identity {found} differs from the offered {expected}"
        return None

    def _signature_problem(self, signature: ManufacturerVerdict | None) -> str | None:
        faults = self.faults
        if faults.accept_tampered_image:
            return None
        if signature is None:
            return "no Manufacturer Image to check"
        if signature.ok:
            return None
        if faults.accept_unsigned_image and signature.status is ManufacturerStatus.MISSING_TRAILER:
            return None
        return signature.reason

    def _lenient(self, data: bytes) -> tuple[OtaHeader | None, ManufacturerVerdict | None]:
        """What a device that trusts the fixed 60-octet GB header sees (fault accept-bad-header): no magic,
        Header Length or Total Image Size checks; the body is everything after octet 60. It still checks
        the manufacturer signature of what it finds there."""
        try:
            header = parse_header(data, honour_length=False)
            start = header.header_length
            if not known_header_length(header.field_control) <= start <= len(data):
                start = GB_HEADER_LENGTH
            body = data[start:]
            image = parse_body(body, detect_layout(body)).manufacturer_image
        except ImageFormatError:
            return None, None
        if image is None:
            return header, None
        return header, self.verify_manufacturer(image, header)

    def verify_manufacturer(self, image: bytes, header: OtaHeader) -> ManufacturerVerdict:
        """The manufacturer signature of ``image`` for the header's identity, in the format this device uses."""
        identity = (header.manufacturer_code, header.image_type, header.file_version)
        if self.manufacturer_check is not None:
            return self.manufacturer_check(image, *identity)
        return verify_manufacturer_image(image, *identity, self.manufacturer_public_key)


# -- persisted state ------------------------------------------------------------------------------------
@dataclass
class Download:
    """A file being downloaded: the octets received so far (``data`` only grows, by appending)."""

    identity: ImageIdentity
    size: int
    data: bytearray = field(default_factory=bytearray)
    header_checked: bool = False

    @property
    def offset(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class PendingImage:
    """A verified file held for activation."""

    identity: ImageIdentity
    data: bytes


@dataclass(frozen=True)
class OtaNvm:
    """What survives a power cycle. ``download_length`` is how many octets of ``download.data`` were
    persisted (the bytearray may have grown since)."""

    running_version: int
    download: Download | None = None
    download_length: int = 0
    pending: PendingImage | None = None
    activating: bool = False

    def to_json(self) -> dict[str, Any]:
        download = None
        if self.download is not None:
            download = {
                "identity": list(self.download.identity),
                "size": self.download.size,
                "data": bytes(self.download.data[: self.download_length]).hex(),
            }
        pending = None
        if self.pending is not None:
            pending = {"identity": list(self.pending.identity), "data": self.pending.data.hex()}
        return {
            "running_version": self.running_version,
            "download": download,
            "pending": pending,
            "activating": self.activating,
        }

    @classmethod
    def from_json(cls, state: dict[str, Any]) -> OtaNvm:
        download = pending = None
        if state.get("download"):
            d = state["download"]
            download = Download(ImageIdentity(*d["identity"]), int(d["size"]), bytearray.fromhex(d["data"]))
        if state.get("pending"):
            p = state["pending"]
            pending = PendingImage(ImageIdentity(*p["identity"]), bytes.fromhex(p["data"]))
        return cls(
            running_version=int(state["running_version"]),
            download=download,
            download_length=0 if download is None else download.offset,
            pending=pending,
            activating=bool(state.get("activating", False)),
        )


# -- the state machine ---------------------------------------------------------------------------------
PersistCallback = Callable[[PersistPoint], None]
ActivatedCallback = Callable[[int], None]


class OtaClient:
    """The OTA client of one emulated node (cluster 0x0019, client side).

    The host node forwards every OTA cluster command to ``handle`` and calls ``start`` when it boots and
    ``stop`` when it loses power. ``on_persist(point)`` is called after each NVM write; ``on_activated(v)``
    after the new version became the running one (the host reboots into it).
    """

    def __init__(
        self,
        node: EmulatedZigbeeNode,
        config: OtaClientConfig,
        verifier: ImageVerifier,
        *,
        faults: FaultSet = COMPLIANT,
        on_persist: PersistCallback | None = None,
        on_activated: ActivatedCallback | None = None,
        rng: random.Random | None = None,
        trust_centre_ieee: t.EUI64 | None = None,
        nvm: OtaNvm | None = None,
    ) -> None:
        self.node = node
        self.config = config
        self.verifier = verifier
        self.faults = faults
        self.on_persist = on_persist
        self.on_activated = on_activated
        #: Called instead of ``on_activated`` when a fault knob only claims the activation (GBCS alert hooks).
        self.on_activation_claimed: ActivatedCallback | None = None
        #: Called with the version that could not be started when an activation fails (HG-10, PZ-23).
        self.on_activation_failed: ActivatedCallback | None = None
        self.rng = rng or random.Random(0)
        self.trust_centre_ieee = trust_centre_ieee
        self.nvm = nvm or OtaNvm(running_version=config.current_file_version)
        # RAM state, rebuilt by start() from the NVM.
        self.phase = Phase.IDLE
        self.running_version = self.nvm.running_version
        self.download: Download | None = None
        self.pending: PendingImage | None = None
        self.stopped = True
        self._timer: asyncio.TimerHandle | None = None
        self._query_timer: asyncio.TimerHandle | None = None
        self._notify_timer: asyncio.TimerHandle | None = None
        self._retries = 0
        #: Restarts from offset 0 (knob restart-from-zero-after-lost-block): they count as re-requests, so the
        #: knob's one defect is where it resumes, not a download retried for ever (which would flood the hub).
        self._restarts = 0
        self._waited_for_data = 0.0
        self._block_period_s = 0.0
        self._last_request_at = float("-inf")
        self._premature_sent = False
        self._response_seen = False  # some Image Block Response arrived for the outstanding request
        self._end_request_tsn: int | None = None
        self._attrs = node.attributes[(ClusterType.Client, OTA_CLUSTER)]

    # -- power --------------------------------------------------------------------------------------------
    @property
    def clock(self) -> Any:
        clock = self.node.clock
        if clock is None:
            raise RuntimeError(f"{self.node!r} is not attached to a radio (no clock)")
        return clock

    def load(self, nvm: OtaNvm) -> None:
        """Take ``nvm`` as the non-volatile memory and rebuild the RAM state and attributes from it (no
        timers: ``start`` does that). Octets received after the last write are lost, as in a power cut."""
        self.nvm = nvm
        self.running_version = nvm.running_version
        self.download = None
        if nvm.download is not None:
            kept = nvm.download
            del kept.data[nvm.download_length :]
            self.download = Download(kept.identity, kept.size, kept.data)
        self.pending = nvm.pending
        self.phase = Phase.IDLE
        self._block_period_s = 0.0
        self._last_request_at = float("-inf")
        self._set(Ota.AttributeDefs.minimum_block_req_delay, 0)
        self._set(Ota.AttributeDefs.current_zigbee_stack_version, ZIGBEE_STACK_PRO)
        self._set(Ota.AttributeDefs.upgrade_activation_policy, Ota.UpgradeActivationPolicy.OTA_server_allowed)
        # GB: the CH manages activation, so a client never activates just because no response came.
        self._set(Ota.AttributeDefs.upgrade_timeout_policy, Ota.UpgradeTimeoutPolicy.Do_not_apply_after_timeout)
        self._sync_attributes()

    def start(self) -> None:
        """Boot: finish or undo an interrupted activation, rebuild RAM from the NVM, resume, start polling."""
        self.stop()
        self.stopped = False
        self.load(self.nvm)
        if self.nvm.activating and not self._recover_activation():
            return
        self._sync_attributes()
        self._query_timer = self._later(self.config.query_interval_s, self._periodic_query)
        if self.pending is not None:
            self.phase = Phase.AWAITING_END_RESPONSE
            self._schedule(self.config.end_request_after_boot_s, self._reask_end)
        elif self.download is not None:
            if not self.config.resume_download:
                self._discard("download restarts after a power cycle (resume disabled)")
            elif self.faults.resume_from_wrong_offset:
                gap = min(self.config.max_block_size, self.download.size - self.download.offset)
                self.download.data.extend(bytes(gap))
            self._schedule(self.config.resume_query_delay_s, self.query)

    def _recover_activation(self) -> bool:
        """The power went during the image swap: the boot loader re-verifies the held image and completes
        the swap, or keeps the old image (CS-10). With non-atomic-activation the half-written image never
        boots."""
        if self.faults.non_atomic_activation:
            LOGGER.warning("%r: power lost during activation, half-written image: device dead", self.node)
            self.node.silent = True
            self.stopped = True
            return False
        pending = self.pending
        verdict = (
            self.verifier(pending.data, pending.identity, self.running_version)
            if pending is not None
            else Verdict(False, "no image held")
        )
        if pending is not None and verdict.ok:
            self.running_version = pending.identity.file_version
            self.pending = None
            self._write(PersistPoint.ACTIVATION_DONE)
        else:
            self.pending = None
            self._write(PersistPoint.DOWNLOAD_DISCARDED)
        return True

    def stop(self) -> None:
        """Power off: every timer stops; nothing more is sent."""
        self.stopped = True
        for timer in (self._timer, self._query_timer, self._notify_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._query_timer = self._notify_timer = None

    # -- timers -------------------------------------------------------------------------------------------
    def _later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle | None:
        if self.stopped:
            return None
        return self.clock.loop.call_later(max(0.0, delay), self._guarded, callback)

    def _guarded(self, callback: Callable[[], None]) -> None:
        if not self.stopped and not self.node.silent:
            callback()

    def _schedule(self, delay: float, callback: Callable[[], None]) -> None:
        """The state machine's one pending action (a timeout, a wait, the next step); replaces the last."""
        self._cancel()
        self._timer = self._later(delay, callback)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- attributes and persistence -----------------------------------------------------------------------
    def _set(self, attribute: foundation.ZCLAttributeDef, value: Any) -> None:
        self._attrs[attribute.id] = attribute.type(value)

    def _set_status(self, status: UpgradeStatus) -> None:
        if self.faults.status_stuck and status != UpgradeStatus.Normal:
            status = UpgradeStatus.Download_in_progress
        self._set(Ota.AttributeDefs.image_upgrade_status, status)

    def _sync_attributes(self) -> None:
        """OTA attributes as the RAM state says (after boot, activation or a discarded download)."""
        self._set(Ota.AttributeDefs.current_file_version, self.running_version)
        if self.pending is not None:
            self._set(Ota.AttributeDefs.downloaded_file_version, self.pending.identity.file_version)
            self._set(Ota.AttributeDefs.file_offset, len(self.pending.data))
            self._set_status(UpgradeStatus.Download_complete)
        elif self.download is not None:
            self._set(Ota.AttributeDefs.downloaded_file_version, self.download.identity.file_version)
            self._set(Ota.AttributeDefs.file_offset, self.download.offset)
            self._set_status(UpgradeStatus.Download_in_progress)
        else:
            self._set(Ota.AttributeDefs.downloaded_file_version, NO_DOWNLOADED_VERSION)
            self._set(Ota.AttributeDefs.file_offset, 0)
            self._set_status(UpgradeStatus.Normal)

    def _write(self, point: PersistPoint, *, activating: bool = False) -> None:
        """Write the NVM from the RAM state, then tell the host (its hook may cut the power right here)."""
        pending = self.pending
        if pending is not None and self.faults.lose_image_on_power_cycle and not activating:
            pending = None
        download = self.download
        self.nvm = OtaNvm(
            running_version=self.running_version,
            # A new record sharing the octets: a later change of RAM's record does not reach the NVM.
            download=None if download is None else Download(download.identity, download.size, download.data),
            download_length=0 if download is None else download.offset,
            pending=pending,
            activating=activating,
        )
        if self.on_persist is not None:
            self.on_persist(point)

    # -- frames in ----------------------------------------------------------------------------------------
    def from_trust_centre(self, packet: t.ZigbeePacket | None) -> bool:
        """OTA server commands count only from the CH: NWK 0x0000 or the trust centre's IEEE (CS-11/12)."""
        src = None if packet is None else packet.src
        if src is None:
            return False
        if src.addr_mode == t.AddrMode.NWK:
            return src.address == COORDINATOR_NWK
        if src.addr_mode == t.AddrMode.IEEE:
            return self.trust_centre_ieee is not None and src.address == self.trust_centre_ieee
        return False

    def handle(self, packet: t.ZigbeePacket | None, hdr: foundation.ZCLHeader, payload: bytes) -> Status | None:
        """One OTA cluster command from a server. Returns the status for the ZCL Default Response rules
        (None = no Default Response: ignored, or answered by a command)."""
        if self.stopped:
            return None
        if not self.from_trust_centre(packet) and not self.faults.accept_rogue_server:
            LOGGER.debug("%r ignores OTA command 0x%02X from %s", self.node, hdr.command_id, packet)
            return None
        if hdr.manufacturer is not None:
            return Status.UNSUP_MANUF_CLUSTER_COMMAND
        command = hdr.command_id
        try:
            if command == _SC.image_block_response.id:
                return self._on_block_response(decode_block_response(payload))
            if command == _SC.image_notify.id:
                broadcast = packet is not None and packet.dst.addr_mode in (
                    t.AddrMode.Broadcast,
                    t.AddrMode.Group,
                )
                return self._on_image_notify(decode_image_notify(payload), broadcast)
            if command == _SC.query_next_image_response.id:
                return self._on_query_response(decode_query_response(payload))
            if command == _SC.upgrade_end_response.id:
                return self._on_end_response(decode_end_response(payload), hdr.tsn)
        except MalformedFrame as err:
            LOGGER.debug("%r: malformed OTA command 0x%02X: %s", self.node, command, err)
            if command == _SC.image_block_response.id:
                self._response_seen = True
            if self.faults.crash_on_malformed_frame:
                self.node.silent = True  # the MALFORMED_COMMAND answer still goes out, then nothing more
                self.stop()
            return Status.MALFORMED_COMMAND
        if command == _SC.query_specific_file_response.id:
            return None  # never asked for: nothing to do
        return Status.UNSUP_CLUSTER_COMMAND

    def handle_block_response_fast(self, packet: t.ZigbeePacket, payload: bytes) -> bool:
        """The download's hot path (the host matched a plain Image Block Response header): True when handled
        exactly as ``handle`` would (no Default Response is due), False to let ``handle`` take the frame."""
        if self.stopped or not self.from_trust_centre(packet):
            return False
        try:
            rsp = decode_block_response(payload)
        except MalformedFrame:
            return False
        self._on_block_response(rsp)
        return True

    def _note_server(self) -> None:
        if self.trust_centre_ieee is not None:
            self._set(Ota.AttributeDefs.upgrade_server_id, self.trust_centre_ieee)

    # -- discovery ---------------------------------------------------------------------------------------
    def _periodic_query(self) -> None:
        self._query_timer = self._later(self.config.query_interval_s, self._periodic_query)
        if self.phase is Phase.IDLE:
            self.query()

    def _on_image_notify(self, notify: ImageNotify, broadcast: bool) -> Status | None:
        if not broadcast:
            if self.faults.ignore_unicast_image_notify:
                return None
            self._query_soon("unicast Image Notify")
            return None
        if self.faults.ignore_broadcast_image_notify:
            return None
        if not self.faults.query_on_any_broadcast_notify:
            if not 1 <= notify.query_jitter <= 100:
                return None
            own_mfr, own_type = self.config.identity
            if notify.manufacturer_code not in (None, own_mfr, WILDCARD_MANUFACTURER):
                return None
            if notify.image_type not in (None, own_type, WILDCARD_IMAGE_TYPE):
                return None
            if notify.new_file_version == self.running_version:
                return None
            if self.rng.randint(1, 100) > notify.query_jitter:
                return None
        self._query_soon("broadcast Image Notify")
        return None

    def _query_soon(self, why: str) -> None:
        if self.phase is not Phase.IDLE or self._notify_timer is not None:
            return
        LOGGER.debug("%r queries after %s", self.node, why)

        def fire() -> None:
            self._notify_timer = None
            if self.phase is Phase.IDLE:
                self.query()

        self._notify_timer = self._later(self.rng.uniform(0.0, self.config.notify_jitter_s), fire)

    def query(self) -> None:
        """Send Query Next Image Request now (the periodic poll, an Image Notify, or a resume after boot)."""
        if self.stopped or self.phase not in (Phase.IDLE, Phase.QUERYING):
            return
        cfg = self.config
        fields: dict[str, Any] = {
            "field_control": 0,
            "manufacturer_code": cfg.manufacturer_code,
            "image_type": cfg.image_type,
            "current_file_version": self.running_version,
        }
        if cfg.hardware_version is not None:
            fields["field_control"] = Ota.QueryNextImageCommand.FieldControl.HardwareVersion
            fields["hardware_version"] = cfg.hardware_version
        self._send(_CS.query_next_image, _CS.query_next_image.schema(**fields).serialize())
        self.phase = Phase.QUERYING
        self._schedule(cfg.request_timeout_s, self._query_timeout)

    def _query_timeout(self) -> None:
        if self.phase is Phase.QUERYING:
            self.phase = Phase.IDLE  # a persisted partial download stays for the next query

    def _on_query_response(self, rsp: QueryResponse) -> Status | None:
        if self.phase is not Phase.QUERYING:
            return None  # unsolicited: nothing asked
        self._cancel()
        self.phase = Phase.IDLE
        self._note_server()
        if rsp.status != Status.SUCCESS or rsp.identity is None or rsp.image_size is None:
            if self.download is not None:
                self._discard("the server no longer offers the partial download")
            if self.faults.requery_without_pause and rsp.status == Status.NO_IMAGE_AVAILABLE:
                self.query()
            return None
        identity, size = rsp.identity, rsp.image_size
        cfg, faults = self.config, self.faults
        if identity.manufacturer_code != cfg.manufacturer_code and not faults.ignore_manufacturer_code:
            return self._refuse(Status.INVALID_FIELD, f"manufacturer code {identity.manufacturer_code:04X}")
        if identity.image_type != cfg.image_type and not faults.ignore_image_type:
            return self._refuse(Status.INVALID_FIELD, f"image type {identity.image_type:04X}")
        if size == 0:
            return self._refuse(Status.INVALID_FIELD, "ImageSize 0")
        capacity = cfg.storage_capacity
        if capacity is not None and size > capacity and not faults.accept_oversized_image:
            return self._refuse(Status.INSUFFICIENT_SPACE, f"ImageSize {size} > storage {capacity}")
        policy = cfg.downgrade_policy
        if not faults.accept_downgrade and not version_allowed(policy, self.running_version, identity.file_version):
            self._refuse(None, f"version {identity.file_version:08X} (policy {policy})")
            return Status.SUCCESS
        self._begin_download(identity, size)
        return None

    def _refuse(self, status: Status | None, why: str) -> Status | None:
        LOGGER.debug("%r refuses the offered image: %s", self.node, why)
        if self.download is not None:
            self._discard("the server offers another file than the partial download")
        return status

    # -- download ----------------------------------------------------------------------------------------
    def _begin_download(self, identity: ImageIdentity, size: int) -> None:
        download = self.download
        if download is None or download.identity != identity or download.size != size:
            if download is not None:
                self._discard("the server offers another file than the partial download")
            self.download = Download(identity, size)
            self._write(PersistPoint.DOWNLOAD_START)
        self.phase = Phase.DOWNLOADING
        self._retries = self._restarts = 0
        self._waited_for_data = 0.0
        self._premature_sent = False
        self._set(Ota.AttributeDefs.downloaded_file_version, identity.file_version)
        self._set(Ota.AttributeDefs.file_offset, self.download.offset)
        self._set_status(UpgradeStatus.Download_in_progress)
        if self.download.offset >= size:
            self._download_complete()
        else:
            self._request_block()

    def _request_block(self) -> None:
        """Ask for the block at FileOffset, no sooner than MinimumBlockPeriod after the previous request."""
        earliest = self._last_request_at + self._block_period_s
        now = self.clock.loop.time()
        if now < earliest:
            self._schedule(earliest - now, self._send_block_request)
        else:
            self._send_block_request()

    def _send_block_request(self) -> None:
        download = self.download
        if self.phase is not Phase.DOWNLOADING or download is None:
            return
        size = self.config.max_block_size
        if self.faults.premature_upgrade_end and not self._premature_sent and download.offset + size >= download.size:
            self._premature_sent = True
            self._send_end_request(Status.SUCCESS, download.identity)
        if not self.stopped and not self.node.silent:
            payload = encode_image_block_request(download.identity, download.offset, size)
            header = bytes((REQUEST_FRAME_CONTROL, self.node.next_tsn(), _CS.image_block.id))
            self.node.transmit(OTA_CLUSTER, header + payload)
        self._last_request_at = self.clock.loop.time()
        self._response_seen = False
        self._schedule(self.config.request_timeout_s, self._block_timeout)

    def _block_timeout(self) -> None:
        """No usable answer in time (lost, late, dropped or malformed): the same offset again (PZ-31)."""
        download = self.download
        if self.phase is not Phase.DOWNLOADING or download is None:
            return
        self._retries += 1
        if self._retries + self._restarts > self.config.retry_limit:
            self._abort(f"no block at offset {download.offset} after {self.config.retry_limit} re-requests")
            return
        lost = not self._response_seen  # nothing at all came back (not: something came and was dropped)
        if lost and self.faults.restart_from_zero_after_lost_block:
            self._restarts += 1
            download.data = bytearray()
            self._set(Ota.AttributeDefs.file_offset, 0)
        elif lost and self.faults.skip_offset_after_lost_block:
            download.data.extend(bytes(min(self.config.max_block_size, download.size - download.offset)))
            self._set(Ota.AttributeDefs.file_offset, download.offset)
            if download.offset >= download.size:
                self._download_complete()
                return
        self._request_block()

    def _on_block_response(self, rsp: BlockResponse) -> Status | None:
        download = self.download
        if self.phase is not Phase.DOWNLOADING or download is None:
            return None
        self._response_seen = True
        status = rsp.status
        if status == Status.SUCCESS:
            return self._on_block(download, rsp)
        if status == Status.WAIT_FOR_DATA:
            self._on_wait_for_data(rsp)
            return None
        if status in (Status.ABORT, Status.NO_IMAGE_AVAILABLE):
            self._cancel()
            self._discard(f"the server answered {Status(status).name}")
            if self.faults.brick_on_failed_update:
                self._brick()
            return None
        return None  # an unknown status: not an answer; the timeout re-requests

    def _on_block(self, download: Download, rsp: BlockResponse) -> Status | None:
        faults = self.faults
        assert rsp.identity is not None
        data = rsp.data
        if rsp.identity != download.identity and not faults.accept_wrong_identity_block:
            return None  # PZ-12: another file's data is dropped
        if rsp.file_offset != download.offset and not faults.accept_wrong_offset:
            return None  # PZ-11: not the offset asked for
        if len(data) > self.config.max_block_size and not faults.accept_oversized_block:
            return None  # PZ-12: more than MaxDataSize
        if not data or download.offset + len(data) > download.size:
            return None  # no progress, or past the advertised ImageSize (never write past the slot)
        self._cancel()
        download.data += data
        self._retries = 0
        self._waited_for_data = 0.0
        self._attrs[Ota.AttributeDefs.file_offset.id] = t.uint32_t(download.offset)
        self._write(PersistPoint.BLOCK_STORED)
        if self.stopped or self.download is not download:
            return None  # the power went at that write
        if not download.header_checked and download.offset >= GB_HEADER_LENGTH:
            download.header_checked = True
            problem = self.verifier.header_problem(bytes(download.data), download.identity, download.size)
            if problem is not None:
                self._reject_early(download, problem)
                return None
        if download.offset >= download.size:
            self._download_complete()
        else:
            self._request_block()
        return None

    def _reject_early(self, download: Download, problem: str) -> None:
        """A header that is already wrong ends the download at once: INVALID_IMAGE, discard, Normal."""
        LOGGER.debug("%r rejects %s from its header: %s", self.node, download.identity, problem)
        self._cancel()
        self._send_end_request(Status.INVALID_IMAGE, download.identity)
        self._discard(f"header check failed: {problem}")
        if self.faults.brick_on_failed_update:
            self._brick()

    def _block_period(self, raw: int) -> float:
        unit = self.config.min_block_period_unit
        if self.faults.wrong_min_block_period_unit:
            unit = BlockPeriodUnit.S if unit is BlockPeriodUnit.MS else BlockPeriodUnit.MS
        return raw / 1000.0 if unit is BlockPeriodUnit.MS else float(raw)

    def _on_wait_for_data(self, rsp: BlockResponse) -> None:
        """PZ-09: wait RequestTime − CurrentTime seconds plus MinimumBlockPeriod, then ask for the same
        offset; CS-16: give up when consecutive waiting would reach the wait-for-data limit."""
        self._cancel()
        faults = self.faults
        assert rsp.current_time is not None and rsp.request_time is not None
        wait = max(0, rsp.request_time - rsp.current_time)
        ignore_period = faults.ignore_minimum_block_period or faults.ignore_wait_for_data
        if faults.ignore_wait_for_data:
            wait = self.config.request_timeout_s
        period = 0.0
        if rsp.minimum_block_period is not None and not ignore_period:
            period = self._block_period(rsp.minimum_block_period)
            self._block_period_s = period
            self._set(Ota.AttributeDefs.minimum_block_req_delay, rsp.minimum_block_period)
        total = wait + period
        limit = self.config.wait_for_data_limit_s
        if not faults.hang_on_wait_for_data and self._waited_for_data + total >= limit:
            self._abort(f"WAIT_FOR_DATA would reach the {limit:g} s limit")
            return
        self._waited_for_data += total
        self._schedule(total, self._send_block_request)

    def _abort(self, why: str) -> None:
        """The client gives up: Upgrade End Request ABORT, partial image dropped, Normal (PZ-31, CS-16)."""
        download = self.download
        LOGGER.debug("%r aborts the download: %s", self.node, why)
        self._cancel()
        if download is not None:
            self._send_end_request(Status.ABORT, download.identity)
        self._discard(why)

    def _discard(self, why: str) -> None:
        LOGGER.debug("%r discards its download: %s", self.node, why)
        self.download = None
        self._block_period_s = 0.0
        self.phase = Phase.IDLE
        self._sync_attributes()
        self._write(PersistPoint.DOWNLOAD_DISCARDED)

    def _download_complete(self) -> None:
        self._cancel()
        self.phase = Phase.VERIFYING
        self._write(PersistPoint.DOWNLOAD_COMPLETE)
        self._schedule(self.config.verification_s, self._verify)

    # -- verification and Upgrade End --------------------------------------------------------------------
    def _verify(self) -> None:
        download = self.download
        if self.phase is not Phase.VERIFYING or download is None:
            return
        verdict = self.verifier(bytes(download.data), download.identity, self.running_version)
        if verdict.ok:
            self.pending = PendingImage(download.identity, bytes(download.data))
            self.download = None
            self.phase = Phase.AWAITING_END_RESPONSE
            self._set_status(UpgradeStatus.Download_complete)
            self._write(PersistPoint.IMAGE_VERIFIED)
            if self.stopped:
                return
            self._send_end_request(Status.SUCCESS, download.identity)
            self._schedule(self.config.upgrade_end_retry_s, self._reask_end)
            return
        LOGGER.debug("%r: image %s fails verification: %s", self.node, download.identity, verdict.reason)
        lie = self.faults.success_for_invalid_image and verdict.signature
        self._send_end_request(Status.SUCCESS if lie else Status.INVALID_IMAGE, download.identity)
        self._discard(f"verification failed: {verdict.reason}")
        if self.faults.brick_on_failed_update:
            self._brick()

    def _brick(self) -> None:
        """Fault brick-on-failed-update: the device stops answering anything."""
        self.node.silent = True
        self.stop()

    def _send_end_request(self, status: Status, identity: ImageIdentity) -> None:
        body = _CS.upgrade_end.schema(
            status=status,
            manufacturer_code=identity.manufacturer_code,
            image_type=identity.image_type,
            file_version=identity.file_version,
        )
        self._end_request_tsn = self._send(_CS.upgrade_end, body.serialize())

    def _reask_end(self) -> None:
        """Upgrade End Request SUCCESS again: no valid answer yet, or waiting after 0xFFFFFFFF (PZ-21)."""
        pending = self.pending
        if pending is None or self.phase not in (Phase.AWAITING_END_RESPONSE, Phase.WAITING_TO_UPGRADE):
            return
        self._send_end_request(Status.SUCCESS, pending.identity)
        if self.phase is Phase.WAITING_TO_UPGRADE:
            if not self.faults.no_upgrade_end_reask:
                self._schedule(self.config.upgrade_end_reask_s, self._reask_end)
        else:
            self._schedule(self.config.upgrade_end_retry_s, self._reask_end)

    def _on_end_response(self, rsp: EndResponse, tsn: int | None = None) -> Status | None:
        pending = self.pending
        faults = self.faults
        waiting = (Phase.AWAITING_END_RESPONSE, Phase.WAITING_TO_UPGRADE, Phase.COUNT_DOWN)
        if pending is None or self.phase not in waiting:
            return None  # nothing waits for activation: ignored
        if faults.ignore_upgrade_now and self.phase is Phase.WAITING_TO_UPGRADE and tsn != self._end_request_tsn:
            return None  # fault: an unsolicited response is not taken as "upgrade now"
        matches = (
            rsp.identity == pending.identity
            if faults.reject_wildcard_upgrade_end_response
            else (pending.identity.accepts(rsp.identity))
        )
        if not matches and not faults.accept_mismatched_upgrade_end_response:
            return Status.INVALID_VALUE  # PZ-20; the re-ask timer keeps running
        self._note_server()
        current, upgrade = rsp.current_time, rsp.upgrade_time
        if upgrade == UPGRADE_TIME_WAIT and not self.faults.activate_on_wait_upgrade_time:
            self.phase = Phase.WAITING_TO_UPGRADE
            self._set_status(UpgradeStatus.Waiting_to_upgrade)
            self._write(PersistPoint.ACTIVATION_PENDING)
            if self.stopped:
                return Status.SUCCESS
            if self.faults.no_upgrade_end_reask:
                self._cancel()
            else:
                self._schedule(self.config.upgrade_end_reask_s, self._reask_end)
            return Status.SUCCESS
        # CurrentTime 0: UpgradeTime is relative ([I]); 0xFFFFFFFF gets here only with a fault knob.
        relative = upgrade if current == 0 else upgrade - current
        delay = 0 if upgrade == UPGRADE_TIME_WAIT else relative
        if self.faults.activate_before_upgrade_time:
            delay = min(delay, 0)
        self.phase = Phase.COUNT_DOWN
        if delay > 0:
            self._set_status(UpgradeStatus.Count_down)
        # non-atomic-activation: the running image is overwritten from the moment the time is known.
        self._write(PersistPoint.ACTIVATION_PENDING, activating=faults.non_atomic_activation)
        if self.stopped:
            return Status.SUCCESS
        self._schedule(delay if delay > 0 else self.config.activation_delay_s, self._begin_activation)
        return Status.SUCCESS

    # -- activation ----------------------------------------------------------------------------------------
    def _begin_activation(self) -> None:
        if self.pending is None or self.phase is not Phase.COUNT_DOWN:
            return
        self.phase = Phase.ACTIVATING
        self._write(PersistPoint.ACTIVATION_START, activating=True)
        if self.stopped:
            return
        self._schedule(self.config.activation_s, self._finish_activation)

    def _finish_activation(self) -> None:
        pending = self.pending
        if pending is None or self.phase is not Phase.ACTIVATING:
            return
        new_version = pending.identity.file_version
        self.pending = None
        self.phase = Phase.IDLE
        if _cannot_start(pending.data):  # the old firmware keeps running (docs/ota-images.md §3.1)
            self._sync_attributes()
            self._write(PersistPoint.ACTIVATION_DONE)
            if not self.stopped and self.on_activation_failed is not None:
                self.on_activation_failed(new_version)
            return
        if self.faults.report_new_version_without_activating:
            self._sync_attributes()
            self._set(Ota.AttributeDefs.current_file_version, new_version)  # the lie: nothing was swapped
            self._write(PersistPoint.ACTIVATION_DONE)
            if self.on_activation_claimed is not None:
                self.on_activation_claimed(new_version)  # the device's GBCS side tells the same lie (CS09)
            return
        self.running_version = new_version
        self._sync_attributes()
        self._write(PersistPoint.ACTIVATION_DONE)
        if not self.stopped and self.on_activated is not None:
            self.on_activated(new_version)

    # -- transmit ------------------------------------------------------------------------------------------
    def _send(self, command: foundation.ZCLCommandDef, payload: bytes) -> int | None:
        """Send a request to the server (the coordinator); its TSN, or None when powered off."""
        if self.stopped or self.node.silent:
            return None
        return self.node.send_command(OTA_CLUSTER, command.id, payload, disable_default_response=True)

    def __repr__(self) -> str:
        offset = None if self.download is None else self.download.offset
        return f"<OtaClient {self.phase.value} running={self.running_version:08X} offset={offset}>"


def _cannot_start(data: bytes) -> bool:
    """The emulators' activation-failure convention: the Upgrade Image begins with the marker."""
    try:
        start = parse_header(data).header_length
    except HarnessError:
        return False
    return activation_fails(data[start:])
