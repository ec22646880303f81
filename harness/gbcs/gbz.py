"""GBZ (Zigbee-form) alert payloads: the Firmware Distribution Receipt Alert (0x8F72 verified / 0x8F1C failed,
with the hash) and the generic GBZ alert of the Generic Critical / Non-Critical Alerts (0x1000 / 0x1001).

A Zigbee-side device (GSME, and the default assumed for an HCALCS) reports in GBZ form, not ASN.1 DER, so these
codecs are construct, like the rest of the suite's binary formats. Layout [C-data, RTDS 4.5.0 FDRA-ZigBee; R,
the DCC's gbcs-parser `zigbee.ts`/`parser.ts`; domain.md §10]: profile id 0x0109 (`01 09`), component count,
alert code, time (seconds since 2000-01-01 UTC), then what the alert carries, all big-endian:

- the receipt alert (message code 0x00CF) always a DLMS-style octet string (tag 0x09, length 0x20) holding the
  32-octet hash;
- a generic alert, optional use-case specific data (none for 0x8F43 "Change in the executing firmware
  version", the HCALCS's alert of HG-19).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from construct import (
    Adapter,
    Const,
    ConstructError,
    GreedyBytes,
    Int8ub,
    Int16ub,
    Int32ub,
    Prefixed,
    Struct,
    Terminated,
)

from harness.gbcs.payloads import JsonValue, PayloadError, alert_code_name, format_time

GBZ_PROFILE_ID = 0x0109
"""The Smart Energy profile id every GBZ payload starts with."""

RECEIPT_HASH_LENGTH = 32
GBZ_EPOCH = dt.datetime(2000, 1, 1)
"""GBZ times count seconds from 2000-01-01 00:00:00 UTC (the Zigbee UTCTime epoch)."""

_OCTET_STRING_TAG = b"\x09"


class _GbzTime(Adapter):
    """Seconds since 2000-01-01 UTC <-> naive UTC datetime (the form asn1tools uses for GeneralizedTime)."""

    def _decode(self, obj: int, context: Any, path: str) -> dt.datetime:
        return GBZ_EPOCH + dt.timedelta(seconds=obj)

    def _encode(self, obj: dt.datetime, context: Any, path: str) -> int:
        return int((obj.replace(tzinfo=None) - GBZ_EPOCH).total_seconds())


_ALERT_HEADER = (
    "profileId" / Int16ub,
    "componentCount" / Int8ub,
    "alertCode" / Int16ub,
    "timestamp" / _GbzTime(Int32ub),
)
RECEIPT_ALERT_FORMAT = Struct(
    *_ALERT_HEADER,
    Const(_OCTET_STRING_TAG),
    "calculatedManufacturerHash" / Prefixed(Int8ub, GreedyBytes),
    Terminated,
)
GENERIC_ALERT_FORMAT = Struct(*_ALERT_HEADER, "data" / GreedyBytes)
_HEADER_FIELDS = ("profileId", "componentCount", "alertCode", "timestamp")
_PARSE_ERRORS = (ConstructError, OverflowError, ValueError)
_BUILD_ERRORS = (ConstructError, OverflowError, ValueError, TypeError, AttributeError, KeyError)


def is_gbz_alert(payload: bytes) -> bool:
    """Whether a payload starts like a GBZ alert (profile id 0x0109), as the DCC's parser tells GBZ alerts
    from DLMS ones under a message code it has no layout for."""
    return payload[:2] == GBZ_PROFILE_ID.to_bytes(2, "big")


class _GbzAlertCodec:
    """What both GBZ alert codecs share: parse/build through one construct format, the fixed profile id, and
    the describe form of the common header. Values are plain dicts of `fields`."""

    name: str
    format: Struct
    fields: tuple[str, ...]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            parsed = self.format.parse(bytes(data))
        except _PARSE_ERRORS as err:
            raise PayloadError(f"not a {self.name}: {_first_line(err)}") from None
        return {key: parsed.get(key) for key in self.fields}

    def encode(self, value: dict[str, Any]) -> bytes:
        try:
            return bytes(self.format.build(value))
        except _BUILD_ERRORS as err:
            raise PayloadError(f"cannot encode {self.name}: {_first_line(err)}") from None

    def defects(self, value: dict[str, Any]) -> list[str]:
        """Values the layout fixes; the alert code is checked by the message table."""
        if value["profileId"] != GBZ_PROFILE_ID:
            return [f"{self.name}.profileId is 0x{value['profileId']:04X}, GBZ uses 0x{GBZ_PROFILE_ID:04X}"]
        return []

    def describe(self, value: dict[str, Any]) -> JsonValue:
        code = value["alertCode"]
        return {
            "profileId": f"0x{value['profileId']:04X}",
            "componentCount": value["componentCount"],
            "alertCode": {"value": code, "name": alert_code_name(code), "hex": f"0x{code:04X}"},
            "timestamp": format_time(value["timestamp"]),
        }


class GbzReceiptAlert(_GbzAlertCodec):
    """The GBZ Firmware Distribution Receipt Alert payload: the header and the 32-octet hash, always."""

    name = "GbzFirmwareDistributionReceiptAlert"
    format = RECEIPT_ALERT_FORMAT
    fields = (*_HEADER_FIELDS, "calculatedManufacturerHash")

    def defects(self, value: dict[str, Any]) -> list[str]:
        found = super().defects(value)
        if value["componentCount"] != 1:
            found.append(f"{self.name}.componentCount is {value['componentCount']}, the receipt alert has one")
        hash_length = len(value["calculatedManufacturerHash"])
        if hash_length != RECEIPT_HASH_LENGTH:
            found.append(f"{self.name}.calculatedManufacturerHash has {hash_length} octets, a SHA-256 has 32")
        return found

    def describe(self, value: dict[str, Any]) -> JsonValue:
        digest = bytes(value["calculatedManufacturerHash"]).hex().upper()
        return {**super().describe(value), "calculatedManufacturerHash": digest}


class GbzAlert(_GbzAlertCodec):
    """A generic GBZ alert payload (Generic Critical / Non-Critical Alert): the header and optional use-case
    specific data, kept as octets (b"" when none). The component count is not judged: what it counts when an
    alert carries no component is not settled by a public source [U]."""

    name = "GbzAlert"
    format = GENERIC_ALERT_FORMAT
    fields = (*_HEADER_FIELDS, "data")

    def describe(self, value: dict[str, Any]) -> JsonValue:
        data = bytes(value["data"])
        return {**super().describe(value), "data": data.hex().upper() or None}


def _first_line(err: Exception) -> str:
    """construct prefixes its messages with a path line; the operator needs the last, concrete line."""
    return str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__


RECEIPT_ALERT = GbzReceiptAlert()
GENERIC_ALERT = GbzAlert()
