"""The suite's Communications Hub as Zigbee OTA Upgrade server (cluster 0x0019, server side).

Transport-agnostic: ``OtaServer`` turns each client request (a parsed zigpy command schema) into a
``Decision``: the response to send (a zigpy command schema or raw ZCL payload bytes), an optional delay, or
nothing at all, always with the policy note that explains it. The radio glue sends decisions and the
transcript records them, so every frame the CH sent carries the reason it was sent.

Compliant behaviour is the default and is what the CH's own obligations require (unit-tested in
``tests/ch``): PZ-05 (QNIR answered with the held image's identity and size), PZ-06 (NO_IMAGE_AVAILABLE for
an image it does not hold), PZ-08 (each block echoes the offset and identity and carries at most
MaxDataSize octets equal to the file at that offset), PZ-10 (no data for an unknown file), PZ-19 (a PPMID
gets an UpgradeTime that lets it activate). Scenarios program deviations per request with ``Rule``s.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

Status = foundation.Status

#: UpgradeTime meaning "wait for a further Upgrade End Response from the server" (ZCL OTA).
UPGRADE_TIME_WAIT = 0xFFFFFFFF

#: Largest block payload a CH will put in one Image Block Response unless a rule says otherwise. With NWK
#: and APS security a 127-octet frame leaves about 56 octets (digest §5); the client's MaxDataSize rules.
DEFAULT_MAX_BLOCK = 64


class Activation(enum.Enum):
    """How the CH answers a successful Upgrade End Request."""

    NOW = "now"  # UpgradeTime = CurrentTime: activate now (PPMID, CH-managed activation: PZ-19 [I])
    LATER = "later"  # UpgradeTime = CurrentTime + delay_s
    WAIT = "wait"  # UpgradeTime = 0xFFFFFFFF: wait for a later "upgrade now" (HCALCS: HG-03)
    RELATIVE = "relative"  # CurrentTime = 0, UpgradeTime = delay_s (relative form)


@dataclass(frozen=True)
class HeldImage:
    """An OTA file the CH holds for distribution, and which devices it may serve it to."""

    data: bytes
    manufacturer_code: int
    image_type: int
    file_version: int
    min_hw_version: int | None = None
    max_hw_version: int | None = None
    devices: frozenset[str] | None = None  # EUI-64s (canonical lower-case hex) or None = any device
    activation: Activation = Activation.NOW
    activation_delay_s: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def identity(self) -> tuple[int, int, int]:
        return (self.manufacturer_code, self.image_type, self.file_version)


class Action(enum.Enum):
    """What a rule makes the CH do with one request instead of the compliant answer."""

    SERVE = "serve"  # the compliant answer
    NO_IMAGE = "no-image"  # NO_IMAGE_AVAILABLE
    NOT_AUTHORIZED = "not-authorized"
    ABORT = "abort"
    WAIT_FOR_DATA = "wait-for-data"  # params: wait_s, minimum_block_period (ms or s per the device)
    DROP = "drop"  # no response at all (lost frame)
    DELAY = "delay"  # the compliant answer, sent after params["delay_s"]
    WRONG_OFFSET = "wrong-offset"  # SUCCESS with file_offset shifted by params["shift"]
    OVERSIZED = "oversized"  # SUCCESS with more data than MaxDataSize
    WRONG_IDENTITY = "wrong-identity"  # answer with params (manufacturer_code/image_type/file_version)
    WRONG_SIZE = "wrong-size"  # QNIR SUCCESS advertising params["image_size"]
    RAW = "raw"  # send params["payload"] bytes as the command's payload (malformed frames)
    LYING_LENGTH = "lying-length"  # SUCCESS for the requested block whose DataSize claims more octets than follow


@dataclass
class Rule:
    """Programs one deviation. Matches the n-th request of its kind (0-based), an offset, or a predicate;
    applies ``times`` times (None = for ever).

    ``offset`` names an octet of the file: the rule matches the Image Block Request whose block holds it
    (FileOffset ≤ offset < FileOffset + MaxDataSize), so "the request at offset 96" means the same block for a
    device that asks for 48 octets at a time (offset 96) and for one that asks for 40 (offset 80)."""

    action: Action
    nth: int | None = None
    offset: int | None = None
    when: Callable[[Any], bool] | None = None
    times: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)
    used: int = 0

    def matches(self, index: int, command: Any) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.nth is not None and index != self.nth:
            return False
        if self.offset is not None and not _request_holds(command, self.offset):
            return False
        return self.when is None or bool(self.when(command))


def block_holds(file_offset: int, maximum_data_size: int, offset: int) -> bool:
    """The block an Image Block Request asks for (FileOffset, MaxDataSize) holds octet ``offset`` of the file."""
    return file_offset <= offset < file_offset + max(1, maximum_data_size)


def _request_holds(command: Any, offset: int) -> bool:
    start = getattr(command, "file_offset", None)
    return start is not None and block_holds(int(start), int(getattr(command, "maximum_data_size", 1)), offset)


@dataclass
class Decision:
    """What the CH does with one request, and why (recorded in the transcript)."""

    command: str | None  # Ota client command name (e.g. "image_block_response"), None = send nothing
    note: str
    schema: Any = None  # a zigpy command schema instance
    raw_payload: bytes | None = None  # replaces the schema's serialisation (malformed on purpose)
    delay_s: float = 0.0
    malformed: bool = False

    @property
    def sends(self) -> bool:
        return self.command is not None

    def payload(self) -> bytes:
        if self.raw_payload is not None:
            return self.raw_payload
        return self.schema.serialize()


def _schema(name: str, **fields: Any) -> Any:
    return getattr(Ota.ClientCommandDefs, name).schema(**fields)


class OtaServer:
    """The CH's OTA server state: held images, per-kind request counters and the programmed rules."""

    def __init__(self, utc_now: Callable[[], int]) -> None:
        self._utc_now = utc_now
        self.images: list[HeldImage] = []
        self.rules: dict[str, list[Rule]] = {"query": [], "block": [], "page": [], "end": []}
        self.counts: dict[str, int] = {"query": 0, "block": 0, "page": 0, "end": 0}

    # -- programming -------------------------------------------------------------------------------------
    def hold(self, image: HeldImage) -> None:
        """Hold an image for distribution; it supersedes a held image with the same mfr / image type."""
        self.images = [i for i in self.images if (i.manufacturer_code, i.image_type) != image.identity()[:2]] + [image]

    def discard_all(self) -> None:
        self.images.clear()

    def program(self, kind: str, rule: Rule) -> None:
        self.rules[kind].append(rule)

    def _rule(self, kind: str, command: Any) -> Rule | None:
        index = self.counts[kind]
        self.counts[kind] += 1
        for rule in self.rules[kind]:
            if rule.matches(index, command):
                rule.used += 1
                return rule
        return None

    def _find(self, device: str, manufacturer_code: int, image_type: int) -> HeldImage | None:
        for image in self.images:
            if (image.manufacturer_code, image.image_type) != (manufacturer_code, image_type):
                continue
            if image.devices is not None and device not in image.devices:
                continue
            return image
        return None

    def _find_exact(self, device: str, command: Any) -> HeldImage | None:
        image = self._find(device, command.manufacturer_code, command.image_type)
        if image is None or image.file_version != command.file_version:
            return None
        return image

    # -- requests -----------------------------------------------------------------------------------------
    def on_query(self, device: str, command: Any) -> Decision:
        """Query Next Image Request → Query Next Image Response (PZ-05, PZ-06)."""
        rule = self._rule("query", command)
        image = self._find(device, command.manufacturer_code, command.image_type)
        if rule is not None and rule.action is not Action.SERVE:
            return self._deviate_query(rule, image)
        if image is None:
            return Decision(
                "query_next_image_response",
                "served: no image held for this device, manufacturer code and image type",
                _schema("query_next_image_response", status=Status.NO_IMAGE_AVAILABLE),
            )
        return Decision(
            "query_next_image_response",
            f"served: image {image.file_version:#010x} ({image.size} octets)",
            self._qnir_success(image),
        )

    def _qnir_success(self, image: HeldImage, **overrides: Any) -> Any:
        fields = {
            "status": Status.SUCCESS,
            "manufacturer_code": image.manufacturer_code,
            "image_type": image.image_type,
            "file_version": image.file_version,
            "image_size": image.size,
        }
        fields.update(overrides)
        return _schema("query_next_image_response", **fields)

    def _deviate_query(self, rule: Rule, image: HeldImage | None) -> Decision:
        note = f"injected fault: {rule.action.value}"
        if rule.action in (Action.NO_IMAGE, Action.NOT_AUTHORIZED, Action.ABORT):
            status = {
                Action.NO_IMAGE: Status.NO_IMAGE_AVAILABLE,
                Action.NOT_AUTHORIZED: Status.NOT_AUTHORIZED,
                Action.ABORT: Status.ABORT,
            }[rule.action]
            return Decision("query_next_image_response", note, _schema("query_next_image_response", status=status))
        if rule.action is Action.DROP:
            return Decision(None, "dropped: no response (injected)")
        if rule.action is Action.RAW:
            return Decision("query_next_image_response", note, raw_payload=rule.params["payload"], malformed=True)
        if image is None:
            raise ValueError(f"rule {rule.action.value} needs a held image for this device")
        if rule.action is Action.WRONG_IDENTITY:
            return Decision("query_next_image_response", note, self._qnir_success(image, **rule.params))
        if rule.action is Action.WRONG_SIZE:
            return Decision(
                "query_next_image_response",
                note,
                self._qnir_success(image, image_size=rule.params["image_size"]),
            )
        if rule.action is Action.DELAY:
            return Decision(
                "query_next_image_response",
                f"delayed by {rule.params['delay_s']} s (injected)",
                self._qnir_success(image),
                delay_s=float(rule.params["delay_s"]),
            )
        raise ValueError(f"action {rule.action.value} does not apply to Query Next Image")

    def on_block(self, device: str, command: Any) -> Decision:
        """Image Block Request → Image Block Response (PZ-08, PZ-10; throttling PZ-09)."""
        rule = self._rule("block", command)
        image = self._find_exact(device, command)
        if image is None:
            return Decision(
                "image_block_response",
                "served: ABORT, the CH holds no such file for this device (PZ-10)",
                _schema("image_block_response", status=Status.ABORT),
            )
        if rule is None or rule.action is Action.SERVE:
            return self._block(image, command, "served")
        return self._deviate_block(rule, image, command)

    def _block(
        self,
        image: HeldImage,
        command: Any,
        note: str,
        *,
        offset_shift: int = 0,
        extra: int = 0,
        delay_s: float = 0.0,
        **identity: Any,
    ) -> Decision:
        offset = command.file_offset
        size = min(int(command.maximum_data_size), DEFAULT_MAX_BLOCK) + extra
        data = image.data[offset : offset + size] if offset < image.size else b""
        fields = {
            "status": Status.SUCCESS,
            "manufacturer_code": image.manufacturer_code,
            "image_type": image.image_type,
            "file_version": image.file_version,
            "file_offset": offset + offset_shift,
            "image_data": data,
        }
        fields.update(identity)
        return Decision(
            "image_block_response",
            f"{note}: offset {offset + offset_shift}, {len(data)} octets",
            _schema("image_block_response", **fields),
            delay_s=delay_s,
        )

    def _deviate_block(self, rule: Rule, image: HeldImage, command: Any) -> Decision:
        action, params = rule.action, rule.params
        note = f"injected fault: {action.value}"
        if action is Action.DROP:
            return Decision(None, f"dropped: block at offset {command.file_offset} not answered (injected)")
        if action is Action.DELAY:
            return self._block(image, command, f"delayed by {params['delay_s']} s", delay_s=float(params["delay_s"]))
        if action is Action.WAIT_FOR_DATA:
            now = self._utc_now()
            return Decision(
                "image_block_response",
                f"throttled: WAIT_FOR_DATA for {params.get('wait_s', 0)} s",
                _schema(
                    "image_block_response",
                    status=Status.WAIT_FOR_DATA,
                    current_time=now,
                    request_time=now + int(params.get("wait_s", 0)),
                    minimum_block_period=int(params.get("minimum_block_period", 0)),
                ),
            )
        if action in (Action.ABORT, Action.NO_IMAGE):
            status = Status.ABORT if action is Action.ABORT else Status.NO_IMAGE_AVAILABLE
            return Decision("image_block_response", note, _schema("image_block_response", status=status))
        if action is Action.WRONG_OFFSET:
            return self._block(image, command, note, offset_shift=int(params.get("shift", 1)))
        if action is Action.OVERSIZED:
            return self._block(image, command, note, extra=int(params.get("extra", 1)))
        if action is Action.WRONG_IDENTITY:
            return self._block(image, command, note, **params)
        if action is Action.RAW:
            return Decision("image_block_response", note, raw_payload=params["payload"], malformed=True)
        if action is Action.LYING_LENGTH:
            return Decision("image_block_response", note, raw_payload=self._lying_block(image, command), malformed=True)
        raise ValueError(f"action {action.value} does not apply to Image Block Request")

    @staticmethod
    def _lying_block(image: HeldImage, command: Any) -> bytes:
        """A SUCCESS Image Block Response for exactly the requested block whose DataSize claims the whole block
        (the request's MaxDataSize, at most ``DEFAULT_MAX_BLOCK``) while only a third of it follows (CS-14).
        Hand-built: zigpy's schema serialises DataSize from the data it is given, so it cannot lie."""
        claimed = max(2, min(int(command.maximum_data_size), DEFAULT_MAX_BLOCK))
        offset = int(command.file_offset)
        carried = image.data[offset : offset + claimed // 3]
        return (
            bytes([Status.SUCCESS])
            + image.manufacturer_code.to_bytes(2, "little")
            + image.image_type.to_bytes(2, "little")
            + image.file_version.to_bytes(4, "little")
            + offset.to_bytes(4, "little")
            + bytes([claimed])
            + carried
        )

    def on_page(self, device: str, command: Any) -> list[Decision]:
        """Image Page Request → consecutive Image Block Responses covering PageSize, ResponseSpacing apart."""
        self.counts["page"] += 1
        image = self._find_exact(device, command)
        if image is None:
            return [
                Decision(
                    "image_block_response",
                    "served: ABORT, no such file (PZ-10)",
                    _schema("image_block_response", status=Status.ABORT),
                )
            ]
        decisions: list[Decision] = []
        end = min(image.size, command.file_offset + command.page_size)
        offset = command.file_offset
        spacing = command.response_spacing / 1000.0
        while offset < end:
            step = min(int(command.maximum_data_size), DEFAULT_MAX_BLOCK, end - offset)
            block = _PageBlock(command, offset, step)
            decision = self._block(image, block, "served (page)", delay_s=spacing * len(decisions))
            decisions.append(decision)
            offset += step
        return decisions

    def on_upgrade_end(self, device: str, command: Any) -> Decision:
        """Upgrade End Request → Upgrade End Response with the held image's activation (PZ-19, HG-03)."""
        rule = self._rule("end", command)
        if command.status != Status.SUCCESS:
            return Decision(
                None, f"device reported {Status(command.status).name}: transfer failed, nothing to activate"
            )
        if rule is not None and rule.action is Action.DROP:
            return Decision(None, "dropped: Upgrade End Request not answered (injected)")
        if rule is not None and rule.action is Action.RAW:
            return Decision(
                "upgrade_end_response",
                "injected fault: raw",
                raw_payload=rule.params["payload"],
                malformed=True,
            )
        image = self._find_exact(device, command)
        if image is None:
            return Decision(None, "no such file held for this device: Upgrade End Request ignored")
        activation = Activation(rule.params["activation"]) if rule and "activation" in rule.params else image.activation
        delay = int(rule.params.get("delay_s", image.activation_delay_s)) if rule else image.activation_delay_s
        identity = dict(rule.params.get("identity", {})) if rule else {}
        return self.upgrade_end_response(image, activation, delay, note_prefix="served", **identity)

    def upgrade_end_response(
        self,
        image: HeldImage,
        activation: Activation,
        delay_s: int = 0,
        note_prefix: str = "unsolicited",
        **identity: Any,
    ) -> Decision:
        """An Upgrade End Response, solicited or not (an unsolicited one is the server's "upgrade now")."""
        now = self._utc_now()
        current, upgrade = {
            Activation.NOW: (now, now),
            Activation.LATER: (now, now + delay_s),
            Activation.WAIT: (now, UPGRADE_TIME_WAIT),
            Activation.RELATIVE: (0, delay_s),
        }[activation]
        fields = {
            "manufacturer_code": image.manufacturer_code,
            "image_type": image.image_type,
            "file_version": image.file_version,
            "current_time": current,
            "upgrade_time": upgrade,
        }
        fields.update(identity)
        return Decision(
            "upgrade_end_response",
            f"{note_prefix}: activation {activation.value} (CurrentTime {current}, UpgradeTime {upgrade:#x})",
            _schema("upgrade_end_response", **fields),
        )

    def image_notify(
        self, image: HeldImage | None, *, payload_type: int = 3, jitter: int = 100, **overrides: Any
    ) -> Decision:
        """An Image Notify (unicast or broadcast is the transport's choice)."""
        fields: dict[str, Any] = {"payload_type": payload_type, "query_jitter": jitter}
        if image is not None:
            fields.update(
                manufacturer_code=image.manufacturer_code,
                image_type=image.image_type,
                new_file_version=image.file_version,
            )
        fields.update(overrides)
        return Decision(
            "image_notify",
            f"stimulus: Image Notify (payload type {payload_type}, jitter {jitter})",
            _schema("image_notify", **fields),
        )


@dataclass(frozen=True)
class _PageBlock:
    """An Image Page Request seen as the Image Block Request of one of its blocks."""

    page: Any
    file_offset: int
    maximum_data_size: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)
