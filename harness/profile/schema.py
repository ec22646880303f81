"""Every PICS and PIXIT item a DUT profile may hold, declared once.

Why one table: the loader validates profiles against it, scenario selection refuses `@pics:` tags that name
items not in it, and the reference section of `profiles/README.md` is generated from it, so the three cannot
drift apart. ISO/IEC 9646 vocabulary: PICS items are what the device claims to support (booleans that select
scenarios); PIXIT items are the values the tests need (identities, image paths, time budgets, ...).

Where the PICS names come from (searched 2025 for the official proforma, ZigBee doc 09-5284-10):

- The proforma itself, "ZigBee Document 09-5284-10 ZigBee OTA Cluster PICS" ("Over-the-air Bootload Cluster
  Protocol Implementation Conformance Statement (PICS)", revision 10, 6 April 2016) has a public copy at
  https://vdocuments.net/over-the-air-bootload-cluster-pics.html, but only its title page and legal notice
  could be read; its item tables could not.
- The item names are visible in the PICS declaration that the Exegin Zigbee stack ships in its OTA header,
  e.g. STMicroelectronics/STM32CubeWB `Middlewares/ST/STM32_WPAN/zigbee/stack/include/zcl/zcl.ota.h`
  ("PICS.ZCL.OTA" comment). They follow the ZCL PICS convention:
    OTA.S / OTA.C                     server / client side of the OTA Upgrade cluster implemented
    OTA.C.Axxxx                       client attribute 0xXXXX supported (e.g. OTA.C.A0009 MinimumBlockPeriod)
    OTA.C.Cnn.Tx / OTA.C.Cnn.Rsp      client generates / acts on command 0xNN:
                                      C00 Image Notify (Rsp), C01 Query Next Image Request (Tx),
                                      C03 Image Block Request (Tx), C04 Image Page Request (Tx),
                                      C06 Upgrade End Request (Tx),
                                      C08 Query Device Specific File Request (Tx),
                                      C02/C05/C07/C09 the matching responses (Rsp)
    OTA.S.Cnn.Rsp / OTA.S.Cnn.Tx      the same for the server
    OUPC0a, OUPC0b, OUPC1..OUPC12     client "OTA Upgrade Policies"; OUPS1..OUPS5 server policies
    INPT01..INPT03                    Image Notify payload types 1..3
    OUI1, OUI2a, OUI2b; OOMTC6/OOMTS6 OTA upgrade image items; (meaning not given)
  The Exegin list gives the meaning of OUPC/OUPS/INPT/OUI/OOMT items only as "See Test Spec". One meaning
  is documented elsewhere: Nordic's nRF5 SDK (`zb_zcl_ota_upgrade_addons.h`) says OUPC9 requires the
  periodic OTA server discovery interval to be below 24 hours. Because the other policy meanings could not be
  confirmed, this schema does not reuse OUPC/OUPS names; it reuses only the command-level names whose
  meaning is certain.
- Everything the proforma does not cover (GB behaviour, GBCS use cases, test-setup capabilities) has our own
  names, prefixed `GB.` so nobody mistakes them for ZigBee items.
"""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from zigpy.util import convert_install_code

from harness.crypto.eui64 import Eui64
from harness.files import KEY_LIMIT, OTA_IMAGE_LIMIT, PROFILE_LIMIT, size_text

PicsSource = Literal["proforma", "own"]
Required = Literal["no", "always", "external-radio", "vendor-images"]

LOOPBACK_RADIO = "loopback"
"""The radio name of the built-in reference emulator's radio."""
LOOPBACK_RADIOS = (LOOPBACK_RADIO, "harness.radio.loopback:LoopbackApp")
"""The name and the module:Class of the loopback radio: both host the reference emulator."""


def is_loopback(radio: str) -> bool:
    """True for the built-in emulator's radio, whichever way it is named, and for a ``module:Class`` radio
    derived from it (a test bench's lossy or failing loopback): those host the reference emulator."""
    if radio in LOOPBACK_RADIOS:
        return True
    cls = radio_class(radio)
    if cls is None:
        return False
    from harness.radio.loopback import LoopbackApp  # the radio package does not import profiles: no cycle

    return issubclass(cls, LoopbackApp)


@cache
def radio_class(radio: str) -> type | None:
    """The class a ``module:Class`` radio names, or None (a radio library's name, or a class that cannot be
    imported: the run then treats it as an external radio, and the radio factory reports the import problem)."""
    if not re.fullmatch(_CLASS_REF, radio):
        return None
    module_name, _, class_name = radio.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name, None)
    except Exception:
        return None
    return cls if isinstance(cls, type) else None


PROFORMA_REFERENCE = (
    "ZigBee 09-5284-10 OTA Cluster PICS, item name as declared in the Exegin stack's PICS list (STM32CubeWB zcl.ota.h)"
)
OWN_REFERENCE = "own item of this suite (no proforma item found)"


class ValueProblem(ValueError):
    """A value does not fit its type. The message states what was expected and what was seen."""


#: How much of a rejected value a message quotes (a profile may hold a value of a megabyte).
_SEEN_CHARS = 80


def seen(value: Any) -> str:
    """How a rejected value is quoted in messages: its repr (shortened) and its YAML-level type."""
    if value is None:
        return "null"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    shown = repr(value) if not isinstance(value, int) or value.bit_length() < 256 else f"<{value.bit_length()}-bit>"
    shown = shown if len(shown) <= _SEEN_CHARS else f"{shown[: _SEEN_CHARS - 1]}… ({len(shown)} characters)"
    return f"{shown} ({kind.get(type(value), type(value).__name__)})"


def _mismatch(expected: str, value: Any) -> ValueProblem:
    return ValueProblem(f"expected {expected}, got {seen(value)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ----------------------------------------------------------------------------------------------------
# Value types


@dataclass(frozen=True)
class ValueType:
    """How one kind of PIXIT value is written in a profile, checked, and shown in reports."""

    textual: ClassVar[bool] = False
    """True when a command-line override is taken verbatim rather than read as a YAML scalar."""

    @property
    def expected(self) -> str:
        """What a valid value looks like, for messages and the README."""
        raise NotImplementedError

    def parse(self, value: Any, base_dir: Path | None = None) -> Any:
        """Return the checked value or raise ValueProblem. `base_dir` anchors relative paths."""
        raise NotImplementedError

    def render(self, value: Any) -> Any:
        """The JSON/YAML-serialisable form used in reports."""
        return value


@dataclass(frozen=True)
class IntType(ValueType):
    minimum: int | None = None
    maximum: int | None = None

    @property
    def expected(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"an integer from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"an integer ≥ {self.minimum}"
        return "an integer"

    def parse(self, value: Any, base_dir: Path | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _mismatch(self.expected, value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise _mismatch(self.expected, value)
        return value


_HEX_TEXT = re.compile(r"0[xX][0-9a-fA-F]+(?:_?[0-9a-fA-F]+)*")


@dataclass(frozen=True)
class HexIntType(ValueType):
    """An integer usually written in hex (codes, versions): accepts 0x.. strings and plain integers."""

    bits: int = 16
    maximum: int | None = None

    @property
    def limit(self) -> int:
        return self.maximum if self.maximum is not None else (1 << self.bits) - 1

    @property
    def expected(self) -> str:
        article = "an" if self.bits == 8 else "a"
        return f"{article} {self.bits}-bit value, 0x.. or an integer, at most {self.render(self.limit)}"

    def parse(self, value: Any, base_dir: Path | None = None) -> int:
        number: int
        if isinstance(value, str) and _HEX_TEXT.fullmatch(value.strip()):
            number = int(value.strip().replace("_", ""), 16)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise _mismatch(self.expected, value)
        if not 0 <= number <= self.limit:
            raise _mismatch(self.expected, value)
        return number

    def render(self, value: Any) -> Any:
        return None if value is None else f"0x{value:0{self.bits // 4}X}"


_RESERVED_EUI64 = (0, (1 << 64) - 1)


@dataclass(frozen=True)
class Eui64Type(ValueType):
    """An IEEE EUI-64 in any form `harness.crypto.eui64.Eui64` reads; reports show the GBCS dashed form."""

    @property
    def expected(self) -> str:
        return "an EUI-64 of 8 octets, e.g. 00-DB-12-34-56-78-90-A4, 00:db:12:34:56:78:90:a4 or 00db1234567890a4"

    def parse(self, value: Any, base_dir: Path | None = None) -> Eui64:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _mismatch(self.expected, value)
        try:
            eui = Eui64.parse(value)
        except (TypeError, ValueError):
            raise _mismatch(self.expected, value) from None
        if int(eui) in _RESERVED_EUI64:
            raise ValueProblem(f"{seen(value)} is a reserved value, not a device address")
        return eui

    def render(self, value: Any) -> Any:
        return None if value is None else str(value)


@dataclass(frozen=True)
class PathType(ValueType):
    """A file or directory path; relative paths are relative to the profile file that names them."""

    textual: ClassVar[bool] = True
    must_be: Literal["file", "dir"] | None = None
    max_size: int | None = None
    """For a file: the most octets it may have (``harness.files``' limit for its kind), checked at load."""

    @property
    def expected(self) -> str:
        what = {"file": "the path of an existing regular file", "dir": "the path of an existing directory"}.get(
            self.must_be or "", "a path"
        )
        return what if self.max_size is None else f"{what} of at most {size_text(self.max_size)}"

    def parse(self, value: Any, base_dir: Path | None = None) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise _mismatch(self.expected, value)
        path = Path(value.strip()).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = Path(os.path.normpath(base_dir / path))
        if self.must_be == "file" and not path.is_file():
            raise ValueProblem(f"no such file: {path}" if not path.exists() else f"{path} is not a regular file")
        if self.must_be == "file" and self.max_size is not None and (size := path.stat().st_size) > self.max_size:
            raise ValueProblem(f"{path} is {size} octets, more than the {size_text(self.max_size)} allowed here")
        if self.must_be == "dir" and not path.is_dir():
            raise ValueProblem(f"no such directory: {path}")
        return path

    def render(self, value: Any) -> Any:
        return None if value is None else str(value)


@dataclass(frozen=True)
class DevicePathType(PathType):
    """A coordinator's serial device path, or a URI (socket://host:port, tcp://…, rfc2217://…) kept as
    written: zigpy opens both through serialx, and a URI is not a file path to resolve."""

    @property
    def expected(self) -> str:
        return "a serial device path or a URI such as socket://host:port"

    def parse(self, value: Any, base_dir: Path | None = None) -> Path | str:
        if isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S+$", value.strip()):
            return value.strip()
        return super().parse(value, base_dir)


@dataclass(frozen=True)
class InstallCodeType(ValueType):
    """A Zigbee install code: 6, 8, 12 or 16 octets followed by their CRC-16 (X.25, low octet first), in
    hex with optional separators. Checked with zigpy's own conversion, which derives the link key the
    coordinator admits the device with (AES-MMO hash of code and CRC)."""

    textual: ClassVar[bool] = True

    @property
    def expected(self) -> str:
        return (
            "an install code in hex: 8, 10, 14 or 18 octets including the CRC-16 in its last two, as printed on "
            "the device (e.g. 83FE D340 7A93 9723 A5C6 39B2 6916 D505 C3B5)"
        )

    def parse(self, value: Any, base_dir: Path | None = None) -> bytes:
        if not isinstance(value, str):
            raise _mismatch(self.expected, value)
        digits = re.sub(r"[\s:-]", "", value.strip())
        if not re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", digits):
            raise _mismatch(self.expected, value)
        code = bytes.fromhex(digits)
        if len(code) not in (8, 10, 14, 18):
            raise ValueProblem(f"{seen(value)} has {len(code)} octets; an install code has 8, 10, 14 or 18")
        try:
            convert_install_code(code)
        except ValueError:
            crc = code[-2:].hex().upper()
            raise ValueProblem(
                f"{seen(value)}: the CRC in its last two octets ({crc}) does not match the code; "
                "check for a mistyped digit"
            ) from None
        return code

    def render(self, value: Any) -> Any:
        """Masked: reports travel to test houses, and the code admits a device to a network."""
        if value is None:
            return None
        digits = bytes(value).hex().upper()
        return f"{digits[:4]}…{digits[-4:]} ({len(value)} octets with CRC, masked)"


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)")


def parse_duration(text: str) -> float | None:
    """Seconds in "30s", "5m", "2h", "1h30m", "250ms" or "90"; None when the text is not a duration."""
    text = text.strip()
    if re.fullmatch(r"\d+(?:\.\d*)?", text):
        return float(text)
    total, position = 0.0, 0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None:
            return None
        total += float(part.group(1)) * _DURATION_UNITS[part.group(2)]
        position = part.end()
    return total if text else None


def format_seconds(seconds: float) -> str:
    """The shortest exact human form of a duration, for the README and messages."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


#: How deep a profile may nest collections: the schema needs 4 levels (pixit.budgets.join, a list of knobs);
#: a deeper file is a mistake or an attack on the recursive YAML composer (248 levels crashed it).
MAX_NESTING = 16
#: The longest wait a profile may set (every budget is one wait of one step): a day. A longer value is a
#: typo (a unit forgotten) that would hold a bench for weeks; no device behaviour the suite times takes longer.
MAX_DURATION_S = 86400.0


@dataclass(frozen=True)
class DurationType(ValueType):
    """A time budget in seconds: numbers are seconds; strings may use ms, s, m, h, d."""

    maximum: float | None = MAX_DURATION_S

    @property
    def expected(self) -> str:
        limit = f" of at most {format_seconds(self.maximum)}" if self.maximum is not None else ""
        return f'a duration{limit} such as 30, "30s", "5m", "2h" or "1h30m"'

    def parse(self, value: Any, base_dir: Path | None = None) -> float:
        if _is_number(value):
            seconds = float(value)
        elif isinstance(value, str):
            parsed = parse_duration(value)
            if parsed is None:
                raise _mismatch(self.expected, value)
            seconds = parsed
        else:
            raise _mismatch(self.expected, value)
        if not math.isfinite(seconds) or seconds < 0 or (self.maximum is not None and seconds > self.maximum):
            raise _mismatch(self.expected, value)
        return seconds

    def render(self, value: Any) -> Any:
        return None if value is None else (int(value) if float(value).is_integer() else value)


@dataclass(frozen=True)
class EnumType(ValueType):
    choices: tuple[str, ...] = ()

    @property
    def expected(self) -> str:
        return "one of " + ", ".join(self.choices)

    def parse(self, value: Any, base_dir: Path | None = None) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        problem = _mismatch(self.expected, value)
        close = difflib.get_close_matches(str(value), self.choices, n=1) if isinstance(value, str) else []
        if close:
            raise ValueProblem(f"{problem}; did you mean {close[0]!r}?")
        raise problem


@dataclass(frozen=True)
class BoolType(ValueType):
    @property
    def expected(self) -> str:
        return "true or false"

    def parse(self, value: Any, base_dir: Path | None = None) -> bool:
        if not isinstance(value, bool):
            raise _mismatch(self.expected, value)
        return value


@dataclass(frozen=True)
class StrType(ValueType):
    """Free text, or text of a given shape (`pattern`, explained by `shape`)."""

    textual: ClassVar[bool] = True
    pattern: str | None = None
    shape: str = "a non-empty string"

    @property
    def expected(self) -> str:
        return self.shape

    def parse(self, value: Any, base_dir: Path | None = None) -> str:
        if not isinstance(value, str) or (self.pattern is None and not value.strip()):
            raise _mismatch(self.expected, value)
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise _mismatch(self.expected, value)
        return value


@dataclass(frozen=True)
class StrListType(ValueType):
    """A list of names (YAML sequence); a single name or an empty value is not accepted silently."""

    pattern: str = r"[A-Za-z_][\w.-]*"

    @property
    def expected(self) -> str:
        return "a list of names, e.g. [stall_after_block, restart_from_zero]"

    def parse(self, value: Any, base_dir: Path | None = None) -> list[str]:
        if not isinstance(value, list) or not all(
            isinstance(entry, str) and re.fullmatch(self.pattern, entry) for entry in value
        ):
            raise _mismatch(self.expected, value)
        return list(value)


_CLASS_REF = r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*"
CLASS_REF = StrType(pattern=_CLASS_REF, shape="module:Class, e.g. vendor_pkg.emulator:AcmePpmid")
RADIO = StrType(
    pattern=rf"[A-Za-z][\w-]*|{_CLASS_REF}",
    shape="a radio name (loopback, ezsp, znp, deconz, ...) or module:Class of a zigpy ControllerApplication",
)

# ----------------------------------------------------------------------------------------------------
# Item declarations


@dataclass(frozen=True)
class PicsItem:
    """A capability the device (or the test setup) claims: declared true or false, or left undeclared."""

    name: str
    description: str
    source: PicsSource
    requirements: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Items that must not be declared false when this one is declared true (proforma-style predicates)."""
    assumption: bool = False
    """The behaviour rests on an inference [I] or an open question [U] of the domain digest."""

    @property
    def reference(self) -> str:
        return PROFORMA_REFERENCE if self.source == "proforma" else OWN_REFERENCE


@dataclass(frozen=True)
class PixitItem:
    """A value the tests need, with its type, default and meaning. `name` is the dotted path under `pixit`."""

    name: str
    type: ValueType
    description: str
    default: Any = None
    """Written as in a profile (e.g. "30s", "0x00CF"); None means "no value" (optional or required)."""
    unit: str = ""
    required: Required = "no"
    """always: every profile states it; external-radio: every profile whose radio is not the loopback radio (or
    derived from it) states it; vendor-images: every profile whose images come from the vendor (images.source)."""
    required_if_pics: str | None = None
    """Also required when this PICS item is declared true and the radio can power-cycle only by command."""
    requirements: tuple[str, ...] = ()
    assumption: bool = False

    def default_value(self) -> Any:
        """The parsed default (paths stay relative to the working directory)."""
        return None if self.default is None else self.type.parse(self.default)


def _pics(*items: PicsItem) -> dict[str, PicsItem]:
    return {item.name: item for item in items}


def _pixit(*items: PixitItem) -> dict[str, PixitItem]:
    return {item.name: item for item in items}


PICS_ITEMS: Mapping[str, PicsItem] = _pics(
    # --- items named as in the ZigBee OTA Cluster PICS proforma (09-5284-10) ---
    PicsItem(
        "OTA.C",
        "The device implements the client side of the OTA Upgrade cluster (0x0019).",
        "proforma",
        ("PZ-05", "PZ-08", "PZ-13", "PZ-24", "PZ-25", "HG-03", "CS-06"),
    ),
    PicsItem(
        "OTA.C.C00.Rsp",
        "The client acts on a received Image Notify; a unicast Image Notify makes it send Query Next Image Request.",
        "proforma",
        ("PZ-27",),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "OTA.C.C03.Tx",
        "The client downloads with Image Block Request (0x03).",
        "proforma",
        ("PZ-08", "PZ-09", "PZ-11", "PZ-12", "PZ-31", "CS-16", "CS-17"),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "OTA.C.C04.Tx",
        "The client downloads with Image Page Request (0x04).",
        "proforma",
        ("PZ-08",),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "OTA.C.C08.Tx",
        "The client sends Query Device Specific File Request (0x08).",
        "proforma",
        (),
        depends_on=("OTA.C",),
    ),
    # --- our own OTA client items ---
    PicsItem(
        "GB.OTA.C.IMAGE_NOTIFY_BROADCAST",
        "The client acts on a broadcast Image Notify (jitter 1-100, matching manufacturer/type, newer "
        "version) and ignores invalid ones.",
        "own",
        ("PZ-27",),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "GB.OTA.C.UPGRADE_TIME_HOLD",
        "Given UpgradeTime 0xFFFFFFFF in an Upgrade End Response, the client does not activate until a later "
        "Upgrade End Response of the server tells it to (and never before a future UpgradeTime).",
        "own",
        ("PZ-21", "HG-03"),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "GB.OTA.C.UPGRADE_END_REASK",
        "While waiting after UpgradeTime 0xFFFFFFFF, the client re-sends Upgrade End Request at least every "
        "60 minutes.",
        "own",
        ("PZ-21",),
        depends_on=("OTA.C",),
    ),
    PicsItem(
        "GB.OTA.C.RESUME_DOWNLOAD",
        "An interrupted download resumes from FileOffset (or restarts from 0) without the device leaving the HAN.",
        "own",
        ("PZ-26",),
        depends_on=("OTA.C",),
        assumption=True,
    ),
    PicsItem(
        "GB.DEVICE.SLEEPY",
        "The device is a sleepy end device: it polls its parent and cannot receive unsolicited frames at "
        "once (GBCS: 'a PPMID may be sleepy').",
        "own",
        ("PZ-09", "PZ-27"),
    ),
    PicsItem(
        "GB.MFR_SIGNATURE.EMULATOR_CONVENTION",
        "The Manufacturer Image carries a manufacturer signature in the reference emulator's convention, so "
        "the suite can build validly and badly signed images itself (from the vendor's images with "
        "images.vendor_signing_key). False for a device with its own format: the scenarios that need the "
        "convention are not applicable; the others run on the vendor's images (images.source vendor).",
        "own",
        ("PZ-13", "PZ-14", "CS-08"),
        assumption=True,
    ),
    # --- PPMID (GBCS) ---
    PicsItem(
        "GB.PPMID.VERIFIED_IMAGE_SURVIVES_POWER_CYCLE",
        "A downloaded, verified image awaiting activation survives a power cycle: after boot the PPMID "
        "re-sends Upgrade End Request instead of downloading again or activating unprompted.",
        "own",
        ("PZ-32",),
        depends_on=("OTA.C",),
        assumption=True,
    ),
    PicsItem(
        "GB.PPMID.CS09",
        "After activation the PPMID sends the CS09 PPMID Firmware Activation Alert (0x8F8B).",
        "own",
        ("PZ-22", "PZ-23"),
    ),
    PicsItem(
        "GB.PPMID.CS08",
        "The PPMID answers CS08 Read PPMID/HCALCS Firmware Version (message code 0x0129).",
        "own",
        ("PZ-28", "PZ-29"),
    ),
    # --- HCALCS (GBCS) ---
    PicsItem(
        "GB.HCALCS.CS06",
        "The HCALCS activates firmware on CS06 Activate Firmware (message code 0x0012).",
        "own",
        ("HG-06", "HG-07", "HG-08", "HG-09", "HG-10", "HG-11", "HG-15", "HG-16", "HG-20"),
    ),
    PicsItem(
        "GB.HCALCS.CS06_FUTURE_DATED",
        "The HCALCS accepts a future-dated CS06 and reports its execution with alert 0x8F66/0x8F67.",
        "own",
        ("HG-12", "HG-13"),
        depends_on=("GB.HCALCS.CS06",),
    ),
    PicsItem(
        "GB.HCALCS.CS06_CANCELLATION",
        "A pending future-dated CS06 can be cancelled (CS06 again with executionDateTime 99991231235959Z).",
        "own",
        ("HG-14",),
        depends_on=("GB.HCALCS.CS06_FUTURE_DATED",),
    ),
    PicsItem(
        "GB.HCALCS.CS08",
        "The HCALCS answers CS08 Read PPMID/HCALCS Firmware Version (message code 0x0129).",
        "own",
        ("HG-17",),
    ),
    PicsItem(
        "GB.HCALCS.ALERT_8F43",
        "The HCALCS raises alert 0x8F43 'Change in the executing firmware version' after activation.",
        "own",
        ("HG-19",),
        assumption=True,
    ),
    # --- test-setup capabilities (adapter), declared per bench ---
    PicsItem(
        "GB.ADAPTER.POWER_CYCLE",
        "The test setup can power-cycle the device (the emulator always can; on hardware see PIXIT "
        "adapter.power_cycle_command).",
        "own",
        ("PZ-26", "PZ-32", "CS-10"),
    ),
    PicsItem(
        "GB.ADAPTER.ROGUE_NODE",
        "The test setup can run a second, rogue node on the HAN to send OTA frames that do not come from "
        "the Communications Hub.",
        "own",
        ("CS-11", "CS-12"),
    ),
)

#: Old PICS item names a profile may still declare, and the items each stands for (a declared value goes to
#: every one of them the profile does not declare itself; the loader warns). Feature tags use the new names.
DEPRECATED_PICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # One item bundled two behaviours, so a device with only one could not declare itself honestly.
        "GB.OTA.C.UPGRADE_TIME_WAIT": ("GB.OTA.C.UPGRADE_TIME_HOLD", "GB.OTA.C.UPGRADE_END_REASK"),
    }
)
BUDGET_UNIT = "s"

PIXIT_ITEMS: Mapping[str, PixitItem] = _pixit(
    # --- radio and its serial port ---
    PixitItem(
        "radio",
        RADIO,
        "Zigbee radio under zigpy: 'loopback' runs the reference emulator; a radio library (ezsp, znp, deconz, "
        "xbee, zigate) a real coordinator; a module:Class a vendor's radio or simulation.",
        default=LOOPBACK_RADIO,
    ),
    PixitItem(
        "clock",
        EnumType(choices=("auto", "virtual", "real")),
        "The run's clock. virtual: time jumps to the next timer, so hours cost milliseconds; for the loopback "
        "radio and any module:Class radio whose device schedules on the running asyncio loop (no threads, no "
        "time.time(); docs/hardware.md), never for a radio library. real: the wall clock. auto: virtual on the "
        "loopback radio and its subclasses, real on every other radio. `ota-conformance run --clock` overrides it.",
        default="auto",
    ),
    PixitItem(
        "device_path",
        DevicePathType(),
        "Serial device of the coordinator (e.g. /dev/ttyUSB0) or a URI (socket://host:port; a simulation takes "
        "any URI it understands, e.g. sim://bench).",
        required="external-radio",
    ),
    PixitItem(
        "baud_rate",
        IntType(minimum=1, maximum=12_000_000),
        "Serial baud rate of the coordinator.",
        default=115200,
        unit="baud",
    ),
    PixitItem(
        "flow_control",
        EnumType(choices=("none", "hardware", "software")),
        "Serial flow control of the coordinator: none, hardware (RTS/CTS) or software (XON/XOFF). ezsp "
        "(bellows) cannot run without flow control and xbee always uses XON/XOFF: see docs/hardware.md.",
        default="none",
    ),
    # --- the device under test ---
    PixitItem("dut.eui64", Eui64Type(), "EUI-64 of the device under test.", required="always"),
    PixitItem("dut.endpoint", IntType(minimum=1, maximum=240), "Endpoint of the device's OTA client.", default=1),
    PixitItem(
        "dut.install_code",
        InstallCodeType(),
        "Install code of the device (with its CRC): the coordinator admits only this EUI-64, with the link "
        "key derived from the code. Unset: plain permit joining (the emulator, or a device that is already "
        "on the bench's network).",
    ),
    PixitItem(
        "dut.manufacturer_code",
        HexIntType(bits=16),
        "Zigbee manufacturer code the device reports in Query Next Image Request.",
        required="always",
        requirements=("CS-06",),
    ),
    PixitItem(
        "dut.image_type",
        HexIntType(bits=16, maximum=0xFFBF),
        "OTA image type of the device's firmware (manufacturer-specific range).",
        required="always",
        requirements=("CS-06",),
    ),
    PixitItem(
        "dut.current_file_version",
        HexIntType(bits=32),
        "File version of the firmware the device runs before the test.",
        required="always",
        requirements=("CS-18", "PZ-24"),
    ),
    PixitItem(
        "dut.hardware_version",
        HexIntType(bits=16),
        "Hardware version (version<<8 | revision) the device reports; unset if it reports none.",
        requirements=("PZ-07",),
    ),
    PixitItem(
        "dut.storage_capacity",
        IntType(minimum=1, maximum=0xFFFFFFFF),
        "Largest OTA file the device can store; unset if the vendor does not state it.",
        unit="octets",
        requirements=("CS-15",),
    ),
    PixitItem(
        "dut.downgrade_policy",
        EnumType(choices=("reject-lower", "reject-lower-or-equal", "allow")),
        "What the device does with an image whose file version is lower (or equal) to the running one.",
        required="always",
        requirements=("CS-20",),
        assumption=True,
    ),
    PixitItem(
        "dut.min_block_period_unit",
        EnumType(choices=("ms", "s")),
        "Unit in which the device reads MinimumBlockPeriod (ms: cluster revisions 1 and 3; s: revision 2, SE 1.2b).",
        default="ms",
        required="external-radio",
        requirements=("CS-17",),
        assumption=True,
    ),
    PixitItem(
        "dut.retry_limit",
        IntType(minimum=0, maximum=255),
        "Times the device re-requests the same offset after a lost Image Block Response before it aborts.",
        default=3,
        unit="requests",
        requirements=("PZ-31",),
    ),
    PixitItem(
        "dut.blocks_before_rejection",
        IntType(minimum=0, maximum=OTA_IMAGE_LIMIT),
        "Most Image Block Requests a device may send for an image it must reject (the 60-octet header "
        "takes 2 blocks of 48).",
        default=2,
        unit="blocks",
        requirements=("CS-03", "CS-04", "CS-05", "CS-06", "CS-15"),
    ),
    # --- the suite's OTA server (the Communications Hub it plays) ---
    PixitItem(
        "ota.max_block_size",
        IntType(minimum=1, maximum=255),
        "Most image data the suite's OTA server puts in one Image Block Response.",
        default=48,
        unit="octets",
        requirements=("PZ-08", "CS-21"),
    ),
    # --- keys and images ---
    PixitItem(
        "keys.store",
        PathType(must_be="dir"),
        "Key store directory (files named by EUI-64, -ds/-ka, .key/.pem); unset: the suite's test PKI.",
    ),
    PixitItem(
        "images.source",
        EnumType(choices=("auto", "suite", "vendor")),
        "Where the scenarios' images come from. suite: built and signed by the suite under the reference "
        "emulators' convention (docs/ota-images.md), for devices that trust the run's test keys. vendor: the "
        "files of images.* in the vendor's own format and keys (variants the suite can derive without keys are "
        "derived from them). auto: suite on the loopback radio and its subclasses, vendor on every other radio.",
        default="auto",
    ),
    PixitItem(
        "images.newer",
        PathType(must_be="file", max_size=OTA_IMAGE_LIMIT),
        "Vendor-signed OTA file with a newer version for this device (vendor images).",
        required="vendor-images",
        requirements=("PZ-13", "HG-04"),
    ),
    PixitItem(
        "images.older",
        PathType(must_be="file", max_size=OTA_IMAGE_LIMIT),
        "Vendor-signed OTA file with a version strictly lower than the running one, for the downgrade case "
        "(CS-20); optional. An image of the running version is never used as older (see images.running).",
        requirements=("CS-20",),
    ),
    PixitItem(
        "images.running",
        PathType(must_be="file", max_size=OTA_IMAGE_LIMIT),
        "Vendor-signed OTA file of the version the device runs (dut.current_file_version), for CS-20's "
        "same-version case; optional.",
        requirements=("CS-20",),
    ),
    PixitItem(
        "images.second_newer",
        PathType(must_be="file", max_size=OTA_IMAGE_LIMIT),
        "A second vendor-signed OTA file newer than the running version whose Manufacturer Image differs from "
        "images.newer's, for a second distribution that replaces the held image (HG-20); optional.",
        requirements=("HG-20",),
    ),
    PixitItem(
        "images.failing_activation",
        PathType(must_be="file", max_size=OTA_IMAGE_LIMIT),
        "Vendor-signed OTA file (next version) that the device accepts but cannot activate, for the "
        "activation-failure cases; optional. The emulator builds its own (docs/ota-images.md §3.1).",
        requirements=("HG-10", "PZ-23"),
    ),
    PixitItem(
        "images.vendor_signing_key",
        PathType(must_be="file", max_size=KEY_LIMIT),
        "Vendor test key for manufacturer signatures (PEM), so the suite can sign its own images; optional.",
        requirements=("CS-08",),
    ),
    # --- time budgets: every wait of the suite is one of these ---
    PixitItem(
        "budgets.join",
        DurationType(),
        "Device joins the HAN and completes its interview.",
        default="2m",
        unit=BUDGET_UNIT,
    ),
    PixitItem(
        "budgets.query_after_notify",
        DurationType(),
        "Query Next Image Request after an Image Notify (sleepy devices: at least one poll period).",
        default="1m",
        unit=BUDGET_UNIT,
        requirements=("PZ-27",),
    ),
    PixitItem(
        "budgets.block_response_wait",
        DurationType(),
        "Next Image Block Request after a response, or a re-request after a withheld one.",
        default="30s",
        unit=BUDGET_UNIT,
        requirements=("PZ-09", "PZ-31"),
    ),
    PixitItem(
        "budgets.post_download_verification",
        DurationType(),
        "Upgrade End Request after the last block (device verifies the image; 30 s to 30 min seen).",
        default="5m",
        unit=BUDGET_UNIT,
        requirements=("PZ-13", "PZ-14", "HG-04"),
    ),
    PixitItem(
        "budgets.activation",
        DurationType(),
        "Device runs the new firmware after it was told to activate.",
        default="5m",
        unit=BUDGET_UNIT,
        requirements=("PZ-22", "PZ-24", "HG-11"),
    ),
    PixitItem(
        "budgets.upgrade_end_reask",
        DurationType(maximum=3600),
        "Device re-sends Upgrade End Request after UpgradeTime 0xFFFFFFFF (ZCL: at most 60 minutes).",
        default="60m",
        unit=BUDGET_UNIT,
        requirements=("PZ-21",),
    ),
    PixitItem(
        "budgets.wait_for_data_limit",
        DurationType(),
        "Device gives up after repeated WAIT_FOR_DATA answers (its configured limit).",
        default="1h",
        unit=BUDGET_UNIT,
        requirements=("CS-16",),
        assumption=True,
    ),
    PixitItem(
        "budgets.gbcs_response",
        DurationType(),
        "Device answers a GBCS command (CS06, CS08) through the tunnel.",
        default="1m",
        unit=BUDGET_UNIT,
        requirements=("HG-08", "HG-17", "PZ-28"),
    ),
    PixitItem(
        "budgets.alert",
        DurationType(),
        "Device sends an expected GBCS alert (receipt 0x8F72/0x8F1C, 0x00CA, CS09, 0x8F43).",
        default="5m",
        unit=BUDGET_UNIT,
        requirements=("HG-04", "HG-12", "PZ-22", "HG-19"),
    ),
    # --- waits of the bench itself (the coordinator, the power switch), not of the device ---
    PixitItem(
        "budgets.start",
        DurationType(),
        "Coordinator opens its port and starts (or restores) its network.",
        default="60s",
        unit=BUDGET_UNIT,
    ),
    PixitItem(
        "budgets.stop",
        DurationType(),
        "Coordinator shuts down after a scenario.",
        default="30s",
        unit=BUDGET_UNIT,
    ),
    PixitItem(
        "budgets.coordinator_command",
        DurationType(),
        "Coordinator carries out one command (permit joining, install the DUT's link key).",
        default="30s",
        unit=BUDGET_UNIT,
    ),
    PixitItem(
        "budgets.power_cycle_command",
        DurationType(),
        "adapter.power_cycle_command runs to completion.",
        default="2m",
        unit=BUDGET_UNIT,
        requirements=("PZ-26", "PZ-32", "CS-10"),
    ),
    PixitItem(
        "budgets.attribute_read",
        DurationType(),
        "Device answers a ZCL Read Attributes of the adapter (zigpy's own timeout and retries fit inside).",
        default="90s",
        unit=BUDGET_UNIT,
    ),
    # --- bounds on a scenario's traffic (harness/dut/traffic.py) ---
    PixitItem(
        "limits.frames_margin",
        IntType(minimum=100, maximum=10_000_000),
        "Frames each way a scenario allows beyond the traffic it expects: for each image the CH offers, "
        "ImageSize ÷ the block size × (dut.retry_limit + 1), plus one for each request of the suite (status "
        "reads, stimuli), plus limits.frames_per_minute and the tunnel polls of tunnel.poll_interval for each "
        "minute. Past the sum the device flooded the hub: FAIL, and the "
        "run goes on.",
        default=1000,
        unit="frames",
        requirements=("CS-22",),
        assumption=True,
    ),
    PixitItem(
        "limits.frames_per_minute",
        IntType(minimum=0, maximum=100_000),
        "Frames each way a scenario allows per minute of its clock time besides its downloads and its tunnel "
        "polls (counted from tunnel.poll_interval): attribute reports, periodic queries and re-asks. On the "
        "virtual clock a flood stops time, so this never hides one there.",
        default=6,
        unit="frames per minute",
        requirements=("CS-22",),
        assumption=True,
    ),
    PixitItem(
        "limits.octets_per_frame",
        IntType(minimum=128, maximum=65_535),
        "Longest frame (ZCL or ZDO octets) the hub takes from the device: the CH's tunnel MaxIncomingTransfer"
        "Size (1500) plus headers, rounded up. A longer frame is recorded cut, routed nowhere, and fails the "
        "scenario (the device flooded the hub).",
        default=2048,
        unit="octets",
        requirements=("CS-22",),
        assumption=True,
    ),
    PixitItem(
        "limits.evidence_octets",
        IntType(minimum=1 << 20, maximum=1 << 34),
        "Largest evidence file of one scenario (transcript.txt, capture.pcapng, the Allure transcript "
        "attachments): past it the file keeps its beginning and end and says how much it left out.",
        default=16 << 20,
        unit="octets",
    ),
    # --- GBCS transport assumptions (domain digest §11) ---
    PixitItem(
        "tunnel.get_code",
        HexIntType(bits=8),
        "First TransferData octet of a GET (device asks for pending commands).",
        default="0x01",
        assumption=True,
    ),
    PixitItem(
        "tunnel.get_response_code",
        HexIntType(bits=8),
        "First TransferData octet of a GET-RESPONSE (CH delivers a command).",
        default="0x02",
        assumption=True,
    ),
    PixitItem(
        "tunnel.put_code",
        HexIntType(bits=8),
        "First TransferData octet of a PUT (device sends a response or alert).",
        default="0x03",
        assumption=True,
    ),
    PixitItem(
        "tunnel.protocol_id",
        IntType(minimum=0, maximum=255),
        "Smart Energy Tunneling protocol id of GBCS (6 = GB-HRGP).",
        default=6,
        assumption=True,
    ),
    PixitItem(
        "tunnel.poll_interval",
        DurationType(),
        "How often the device polls the tunnel with GET when nothing is pending: a command reaches it up to "
        "this long after the CH queued it, so the suite waits that long for the fetch and measures GBCS "
        "response budgets from the GET that returned the command.",
        default="30s",
        unit=BUDGET_UNIT,
        requirements=("HG-17", "PZ-28"),
    ),
    # --- HCALCS specifics ---
    PixitItem(
        "hcalcs.receipt_alert_message_code",
        HexIntType(bits=16),
        "GBCS message code of the HCALCS Firmware Distribution Receipt Alert (GBZ form like a GSME, always "
        "carrying the Manufacturer Image hash).",
        default="0x00CF",
        requirements=("HG-04", "HG-05"),
        assumption=True,
    ),
    PixitItem(
        "hcalcs.alert_8f43_message_code",
        HexIntType(bits=16),
        "GBCS message code under which the HCALCS sends alert 0x8F43 (if PICS GB.HCALCS.ALERT_8F43): a GBZ "
        "alert without data; alerts outside a use case travel as Generic Non-Critical (0x1001) or Critical "
        "(0x1000) Alerts, which the DCC's parser decodes.",
        default="0x1001",
        requirements=("HG-19",),
        assumption=True,
    ),
    PixitItem(
        "hcalcs.load_switch_attribute",
        StrType(pattern=r"[A-Za-z_]\w*", shape="a zigpy attribute name, e.g. on_off"),
        "zigpy attribute name the adapter reads for the load-switch state kept across activation.",
        default="on_off",
        requirements=("HG-18",),
        assumption=True,
    ),
    # --- adapter (test bench) ---
    PixitItem(
        "adapter.power_cycle_command",
        StrType(),
        "Shell command that power-cycles the device (e.g. a switchable USB hub or relay; its timing contract is "
        "in docs/hardware.md). On the loopback radio it drives the emulators' power switch.",
        required_if_pics="GB.ADAPTER.POWER_CYCLE",
        requirements=("PZ-26", "PZ-32", "CS-10"),
    ),
    PixitItem(
        "adapter.power_off_latency",
        DurationType(),
        "Time from the start of adapter.power_cycle_command until the device's supply is off. Unset: the suite "
        "finds the instant from the transcript (the device's last frame before the silence that ends in its "
        "rejoin); either way the statement records how it was found.",
        unit=BUDGET_UNIT,
        requirements=("PZ-26", "PZ-32", "CS-10"),
    ),
    PixitItem(
        "adapter.state_dir",
        PathType(),
        "Directory for state kept between runs on hardware: zigpy's database (the DUT found again by its "
        "EUI-64) and network-backup.json (channel, PAN IDs, keys); the loopback keeps none.",
        default="reports/state",
    ),
    # --- reference emulator ---
    PixitItem(
        "emulator.device_class",
        CLASS_REF,
        "module:Class of a vendor's own device model to run on the loopback radio; unset: the built-in "
        "emulator of the role.",
    ),
    PixitItem(
        "emulator.faults",
        StrListType(),
        "Fault knobs switched on in the emulator, to prove the suite detects each deviation.",
        default=[],
    ),
    PixitItem(
        "emulator.power_off_latency",
        DurationType(),
        "The emulators' power switch (loopback radio, driven by adapter.power_cycle_command): how long after "
        "the command the emulated device loses its power, as a slow relay would.",
        default="0s",
        unit=BUDGET_UNIT,
    ),
    PixitItem(
        "emulator.vendor_public_key",
        PathType(must_be="file", max_size=KEY_LIMIT),
        "Public key (PEM) of the vendor-style manufacturer signature (harness/emulator/vendor_image.py) the "
        "reference emulators check instead of the suite's convention: the vendor-image path, whose images "
        "(images.*, images.source vendor) the suite cannot sign. Unset: the suite's convention.",
    ),
)

DEVICE_ITEMS: Mapping[str, PixitItem] = _pixit(
    PixitItem(
        "role",
        EnumType(choices=("ppmid", "hcalcs")),
        "Device role: selects the feature folder and the built-in emulator.",
        required="always",
    ),
    PixitItem(
        "description",
        StrType(pattern=r"(?s).*", shape="free text"),
        "Free text naming the device, firmware and bench.",
        default="",
    ),
)

SECTIONS: tuple[str, ...] = ("device", "pics", "pixit")


@cache
def pixit_groups() -> frozenset[str]:
    """Dotted names of PIXIT groups (e.g. "budgets"), derived from the item names."""
    return frozenset(name.rsplit(".", 1)[0] for name in PIXIT_ITEMS if "." in name)


def children(prefix: str) -> list[str]:
    """The names directly under a PIXIT group ("" = the top of `pixit`)."""
    start = f"{prefix}." if prefix else ""
    names = {name[len(start) :].split(".", 1)[0] for name in PIXIT_ITEMS if name.startswith(start)}
    return sorted(names)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate for a misspelt name (difflib; case-insensitive exact match first)."""
    pool = list(candidates)
    for candidate in pool:
        if candidate.lower() == word.lower():
            return candidate
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return close[0] if close else None


# ----------------------------------------------------------------------------------------------------
# Generated documentation


README_BEGIN = "<!-- BEGIN GENERATED: harness/profile/schema.py reference_markdown() -->"
README_END = "<!-- END GENERATED -->"


def _requirement_list(ids: tuple[str, ...]) -> str:
    return ", ".join(ids) if ids else "—"


def _default_text(item: PixitItem) -> str:
    if item.default is None:
        return "—"
    value = item.type.render(item.default_value())
    if isinstance(item.type, DurationType):
        return format_seconds(float(value))
    return f"`{value}`" if value not in ("", []) else f"`{item.default!r}`"


def _required_text(item: PixitItem) -> str:
    text = {"no": "", "always": "yes", "external-radio": "external radio", "vendor-images": "vendor images"}[
        item.required
    ]
    if item.required_if_pics:
        text = f"if {item.required_if_pics} and the radio power-cycles only by command"
    return text or "—"


def _row(cells: Iterable[str]) -> str:
    """A Markdown table row; pipes inside cells are escaped so they do not split the row."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def trust_markdown() -> str:
    """What a profile is allowed to do and what the loader refuses: the first part of the generated reference."""
    return "\n".join(
        [
            "### A profile is code",
            "",
            "Trust a profile as you would trust a script: run only profiles you wrote or reviewed. Loading one "
            "imports the Python module its `module:Class` items name (`radio`, `emulator.device_class`), and a run "
            "executes `adapter.power_cycle_command` in a shell. What the loader refuses, so that a broken or hostile "
            "file costs a message and exit 2, never memory, time or a traceback:",
            "",
            f"- a file that is not a regular file, or larger than {size_text(PROFILE_LIMIT)}, or not UTF-8;",
            "- YAML aliases (`*name`), collections nested more than 16 levels deep, characters YAML does not allow "
            "(control characters), numbers Python will not convert (more than 4,300 digits);",
            f"- a value outside its range (the Type column below): every duration is at most "
            f"{format_seconds(MAX_DURATION_S)}; files named by `images.*` at most {size_text(OTA_IMAGE_LIMIT)}, key "
            f"files at most {size_text(KEY_LIMIT)};",
            "- a fault knob (`emulator.faults`) the device class does not declare through its `fault_names()` "
            "class method (a vendor's `emulator.device_class` declares its own).",
            "",
        ]
    )


def reference_markdown() -> str:
    """The item reference of profiles/README.md; a test checks that the README carries exactly this."""
    lines = [
        trust_markdown(),
        "### PICS items",
        "",
        "Source: *proforma* = name of the ZigBee OTA Cluster PICS (09-5284-10); *own* = this suite's item.",
        "[I] = the behaviour rests on an inference or open question of the domain digest (scenarios are "
        "tagged `@assumption`).",
        "",
        "| Item | Source | Gates | Meaning |",
        "|---|---|---|---|",
    ]
    for pics in PICS_ITEMS.values():
        meaning = pics.description + (" [I]" if pics.assumption else "")
        if pics.depends_on:
            meaning += f" Needs {', '.join(pics.depends_on)}."
        lines.append(_row((f"`{pics.name}`", pics.source, _requirement_list(pics.requirements), meaning)))
    lines += ["", "Deprecated names, still accepted in a profile with a warning (not in feature tags):", ""]
    lines += [
        f"- `{old}`: stands for {' and '.join(f'`{name}`' for name in new)}; a declared value goes to each of them "
        "the profile does not declare itself."
        for old, new in DEPRECATED_PICS.items()
    ]
    lines += [
        "",
        "### PIXIT items",
        "",
        "Durations are in seconds in reports. Required with an *external radio* = when `radio` is not the "
        "loopback radio (nor derived from it); with *vendor images* = when `images.source` resolves to vendor.",
        "",
        "| Item | Type | Default | Unit | Required | Gates | Meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for section, items in (("device", DEVICE_ITEMS), ("pixit", PIXIT_ITEMS)):
        for item in items.values():
            meaning = item.description + (" [I]" if item.assumption else "")
            cells = (
                f"`{section}.{item.name}`",
                item.type.expected,
                _default_text(item),
                item.unit or "—",
                _required_text(item),
                _requirement_list(item.requirements),
                meaning,
            )
            lines.append(_row(cells))
    return "\n".join(lines) + "\n"


def replace_generated(text: str) -> str:
    """`text` (a README) with its generated section replaced by the current reference."""
    head, begin, rest = text.partition(README_BEGIN)
    _, end, tail = rest.partition(README_END)
    if not begin or not end:
        raise ValueError(f"README lacks the markers {README_BEGIN!r} ... {README_END!r}")
    return f"{head}{README_BEGIN}\n{reference_markdown()}{README_END}{tail}"


README_PATH = Path(__file__).resolve().parents[2] / "profiles" / "README.md"


def write_readme(path: str | Path = README_PATH) -> bool:
    """Regenerate the README reference section in place; True when the file changed."""
    readme = Path(path)
    old = readme.read_text(encoding="utf-8")
    new = replace_generated(old)
    if new != old:
        readme.write_text(new, encoding="utf-8")
    return new != old
