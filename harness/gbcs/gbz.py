"""GBZ (Zigbee-form) payload of the Firmware Distribution Receipt Alert: 0x8F72 verified / 0x8F1C failed.

A Zigbee-side device (GSME, and the default assumed for an HCALCS) reports the Manufacturer Image hash it
calculated on receipt in GBZ form, not ASN.1 DER, so this codec is construct, like the rest of the suite's
binary formats. Layout [C-data, RTDS 4.5.0 FDRA-ZigBee; field names after the DCC's gbcs-parser `zigbee.ts`]:
profile id 0x0109, component count 1, alert code, time (seconds since 2000-01-01 UTC), then a DLMS-style
octet string (tag 0x09, length 0x20) holding the 32-octet hash; all big-endian.
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


RECEIPT_ALERT_FORMAT = Struct(
    "profileId" / Int16ub,
    "componentCount" / Int8ub,
    "alertCode" / Int16ub,
    "timestamp" / _GbzTime(Int32ub),
    Const(_OCTET_STRING_TAG),
    "calculatedManufacturerHash" / Prefixed(Int8ub, GreedyBytes),
    Terminated,
)
_FIELDS = ("profileId", "componentCount", "alertCode", "timestamp", "calculatedManufacturerHash")
#: The same alert with no data after the time: how the suite's HCALCS sends 0x8F43 "Change in the executing
#: firmware version" [I: the form and message code of that alert for an HCALCS are unknown, digest §8.2 HG-19].
ALERT_WITHOUT_DATA_FORMAT = Struct(
    "profileId" / Int16ub,
    "componentCount" / Int8ub,
    "alertCode" / Int16ub,
    "timestamp" / _GbzTime(Int32ub),
    Terminated,
)
#: Alert codes whose GBZ alert carries the Manufacturer Image hash.
RECEIPT_ALERT_CODES = frozenset({0x8F72, 0x8F1C})


class GbzReceiptAlert:
    """Codec of the GBZ Firmware Distribution Receipt Alert payload; values are plain dicts of `_FIELDS`."""

    name = "GbzFirmwareDistributionReceiptAlert"

    def __repr__(self) -> str:
        return "GbzReceiptAlert()"

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            parsed = RECEIPT_ALERT_FORMAT.parse(bytes(data))
        except (ConstructError, OverflowError, ValueError) as err:
            try:
                parsed = ALERT_WITHOUT_DATA_FORMAT.parse(bytes(data))
            except (ConstructError, OverflowError, ValueError):
                raise PayloadError(f"not a {self.name}: {_first_line(err)}") from None
        return {key: parsed.get(key) for key in _FIELDS}

    def encode(self, value: dict[str, Any]) -> bytes:
        form = ALERT_WITHOUT_DATA_FORMAT if value.get("calculatedManufacturerHash") is None else RECEIPT_ALERT_FORMAT
        try:
            return form.build(value)
        except (ConstructError, OverflowError, ValueError, TypeError, AttributeError, KeyError) as err:
            raise PayloadError(f"cannot encode {self.name}: {_first_line(err)}") from None

    def defects(self, value: dict[str, Any]) -> list[str]:
        """Values the layout fixes; the alert code is checked by the message table."""
        found = []
        if value["profileId"] != GBZ_PROFILE_ID:
            found.append(f"{self.name}.profileId is 0x{value['profileId']:04X}, GBZ uses 0x{GBZ_PROFILE_ID:04X}")
        if value["componentCount"] != 1:
            found.append(f"{self.name}.componentCount is {value['componentCount']}, the receipt alert has one")
        digest = value["calculatedManufacturerHash"]
        if digest is None:
            if value["alertCode"] in RECEIPT_ALERT_CODES:
                found.append(f"{self.name}: alert 0x{value['alertCode']:04X} carries no Manufacturer Image hash")
            return found
        hash_length = len(digest)
        if hash_length != RECEIPT_HASH_LENGTH:
            found.append(f"{self.name}.calculatedManufacturerHash has {hash_length} octets, a SHA-256 has 32")
        return found

    def describe(self, value: dict[str, Any]) -> JsonValue:
        code = value["alertCode"]
        return {
            "profileId": f"0x{value['profileId']:04X}",
            "componentCount": value["componentCount"],
            "alertCode": {"value": code, "name": alert_code_name(code), "hex": f"0x{code:04X}"},
            "timestamp": format_time(value["timestamp"]),
            "calculatedManufacturerHash": None
            if value["calculatedManufacturerHash"] is None
            else bytes(value["calculatedManufacturerHash"]).hex().upper(),
        }


def _first_line(err: Exception) -> str:
    """construct prefixes its messages with a path line; the operator needs the last, concrete line."""
    return str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__


RECEIPT_ALERT = GbzReceiptAlert()
