"""DER payloads of the GBCS firmware messages, compiled by asn1tools from the one module `firmware.asn`.

Why asn1tools and a strict wrapper: asn1tools decodes BER leniently (it accepts a non-minimal INTEGER and
ignores octets after the outer TLV), while a conformance judge must accept exactly the DER a device may send.
`Asn1Payload.decode` therefore rejects trailing octets and anything that does not re-encode to the same
octets, so every payload it accepts round-trips byte for byte. Size and range constraints are checked
separately (`defects`), so an out-of-range value is reported as a defect of a readable payload and negative
payloads can still be built.

Values are asn1tools' Python form: dict for a SEQUENCE, (alternative, value) for a CHOICE, None for NULL,
int, bytes, and naive UTC datetime for a GeneralizedTime.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import asn1tools

from harness.errors import HarnessError

ASN1_FILE = Path(__file__).with_name("firmware.asn")

PayloadValue: TypeAlias = Any
"""asn1tools' Python form of a payload (see the module docstring), or a dict for a GBZ payload."""

JsonValue: TypeAlias = Any
"""What `describe` returns: dicts, lists, str, int, bool and None only."""

# asn1tools raises its own Error for malformed input, but some malformed octets reach plain Python errors
# inside its decoders; all of them mean "not this type", so the wrapper maps them to PayloadError.
_DECODE_ERRORS = (asn1tools.Error, ValueError, TypeError, IndexError, KeyError, OverflowError, AttributeError)


class PayloadError(HarnessError):
    """The payload octets are not the DER encoding of the expected type (or a value cannot be encoded)."""


class PayloadCodec(Protocol):
    """What the message table needs from a payload codec, DER or GBZ."""

    name: str

    def decode(self, data: bytes) -> PayloadValue: ...

    def encode(self, value: PayloadValue) -> bytes: ...

    def defects(self, value: PayloadValue) -> list[str]: ...

    def describe(self, value: PayloadValue) -> JsonValue: ...


@functools.cache
def _module() -> tuple[dict[str, Any], asn1tools.compiler.Specification]:
    """(the parsed type definitions, the compiled DER codec): parsed once, compiled from the same parse."""
    parsed = asn1tools.parse_files([str(ASN1_FILE)])
    (module,) = parsed.values()
    return module["types"], asn1tools.compile_dict(parsed, "der")


def type_names() -> tuple[str, ...]:
    """Every type defined in firmware.asn."""
    return tuple(_module()[0])


def _resolve(spec: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Follow type references to the defining spec; also return the referenced type's name, if any."""
    types = _module()[0]
    name = None
    while spec["type"] in types:
        name = spec["type"]
        definition = types[name]
        spec = {**definition, **{k: v for k, v in spec.items() if k not in ("type", "name")}}
    return spec, name


def named_numbers(type_name: str) -> dict[int, str]:
    """Value -> name of an INTEGER type with named numbers, e.g. `named_numbers("AlertCode")`."""
    spec, _ = _resolve({"type": type_name})
    return {value: name for name, value in spec.get("named-numbers", {}).items()}


def alert_code_name(code: int) -> str | None:
    """The name firmware.asn gives an alert code (None for codes outside the firmware set)."""
    return named_numbers("AlertCode").get(code)


def format_time(value: dt.datetime) -> str:
    """ISO 8601 with a Z: GBCS times are UTC (GeneralizedTime ...Z, GBZ seconds since 2000)."""
    return value.replace(tzinfo=None).isoformat() + "Z"


def _describe(spec: dict[str, Any], value: PayloadValue) -> JsonValue:
    spec, type_name = _resolve(spec)
    kind = spec["type"]
    if kind == "SEQUENCE":
        return {m["name"]: _describe(m, value[m["name"]]) for m in spec["members"] if m["name"] in value}
    if kind == "CHOICE":
        alternative, inner = value
        member = next(m for m in spec["members"] if m["name"] == alternative)
        return {alternative: _describe(member, inner)}
    if kind == "INTEGER" and "named-numbers" in spec:
        names = {v: k for k, v in spec["named-numbers"].items()}
        described = {"value": value, "name": names.get(value)}
        return {**described, "hex": f"0x{value:04X}"} if type_name == "AlertCode" else described
    if kind == "OCTET STRING":
        return bytes(value).hex().upper()
    if kind == "GeneralizedTime":
        return format_time(value)
    return value  # NULL (None) and plain INTEGER


def is_named_integer(described: JsonValue) -> bool:
    """Whether a `describe` node is a named INTEGER: {"value": int, "name": str | None[, "hex": str]}."""
    return isinstance(described, dict) and "value" in described and "name" in described


def _named_integers(described: JsonValue, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted path, node) of every named INTEGER in a `describe` result."""
    if is_named_integer(described):
        return [(path, described)]
    if not isinstance(described, dict):
        return []
    return [hit for key, inner in described.items() for hit in _named_integers(inner, f"{path}.{key}".lstrip("."))]


@functools.cache
def _assigned_names() -> frozenset[str]:
    """The names assigned in firmware.asn (``Name ::= ...`` at the start of a line), read without compiling
    it: the module's payload constants are made at import, and the compile (about 60 ms) waits for the first
    payload actually decoded or encoded."""
    return frozenset(re.findall(r"^([A-Za-z][\w-]*)\s*::=", ASN1_FILE.read_text(encoding="utf-8"), re.MULTILINE))


class Asn1Payload:
    """One type of firmware.asn as a strict DER codec."""

    def __init__(self, type_name: str) -> None:
        if type_name not in _assigned_names():
            raise KeyError(f"{type_name} is not defined in {ASN1_FILE.name}")
        self.name = type_name

    def __repr__(self) -> str:
        return f"Asn1Payload({self.name!r})"

    def decode(self, data: bytes) -> PayloadValue:
        """The value of exactly these DER octets; PayloadError for anything else."""
        spec = _module()[1]
        try:
            value, length = spec.decode_with_length(self.name, bytes(data))
        except _DECODE_ERRORS as err:
            raise PayloadError(f"not a DER {self.name}: {err}") from None
        if length != len(data):
            raise PayloadError(f"{len(data) - length} octet(s) after the DER {self.name}")
        if self.encode(value) != bytes(data):
            raise PayloadError(f"a {self.name} but not in DER form (non-minimal length or integer, or similar)")
        return value

    def encode(self, value: PayloadValue) -> bytes:
        """DER octets of `value`, constraints unchecked (a negative payload may break them on purpose)."""
        try:
            return bytes(_module()[1].encode(self.name, value))
        except _DECODE_ERRORS as err:
            raise PayloadError(f"cannot encode {self.name}: {err}") from None

    def defects(self, value: PayloadValue) -> list[str]:
        """The first size or range constraint the value breaks (asn1tools stops at the first one), and every
        enumerated INTEGER holding a value GBCS gives no name. Alert codes are left to the message table,
        which knows the codes each message may carry."""
        found = []
        try:
            _module()[1].encode(self.name, value, check_constraints=True)
        except _DECODE_ERRORS as err:
            found.append(str(err))
        found += [
            f"{self.name}.{path}: {named['value']} is none of the values GBCS names"
            for path, named in _named_integers(self.describe(value))
            if named["name"] is None and "hex" not in named
        ]
        return found

    def describe(self, value: PayloadValue) -> JsonValue:
        """JSON-able view: octet strings in hex, times in ISO form, named integers with their names."""
        return _describe({"type": self.name}, value)


ACTIVATE_FIRMWARE_COMMAND = Asn1Payload("ActivateFirmwareCommand")
ACTIVATE_FIRMWARE_RESPONSE = Asn1Payload("ActivateFirmwareResponse")
FUTURE_DATED_ACTIVATION_ALERT = Asn1Payload("FutureDatedFirmwareActivationAlert")
READ_FIRMWARE_VERSION_COMMAND = Asn1Payload("ReadFirmwareVersionCommand")
READ_FIRMWARE_VERSION_RESPONSE = Asn1Payload("ReadFirmwareVersionResponse")
FIRMWARE_ACTIVATION_ALERT = Asn1Payload("FirmwareActivationAlert")
FIRMWARE_TRANSFER_ALERT = Asn1Payload("FirmwareTransferAlert")
