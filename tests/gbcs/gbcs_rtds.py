"""Shared by the GBCS tests: where the RTDS 4.5.0 vectors are, which files there are, and how to read one.

A plain module (imported by name, as pytest puts this folder on sys.path) because fixtures cannot be used in
`parametrize` lists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.gbcs import octets_from_hex

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
RTDS = VECTORS / "rtds-4.5.0"
KEYS = VECTORS / "keys"

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
ACB = "90-B3-D5-1F-30-00-00-02"

# Every RTDS file this suite knows; a missing one skips the tests that need it.
RTDS_FILES = (
    "CCS08_NA_NA_ALERT_GBCS.HEX",
    "CS06_11.3_FUTURE_DATED_SUCCESS_COMMAND_GBCS.HEX",
    "CS06_11.3_FUTURE_DATED_SUCCESS_PRECOMMAND_GBCS.HEX",
    "CS06_11.3_FUTURE_DATED_SUCCESS_RESPONSE_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_ERROR_COMMAND_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_ERROR_PRECOMMAND_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX",
    "CS06_11.3_IMMEDIATE_SUCCESS_RESPONSE_GBCS.HEX",
    "CS08_11.2_SUCCESS_COMMAND_GBCS.HEX",
    "CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX",
    "FDRA-ZigBee_NA_8F72_ALERT_GBCS.HEX",
)
MESSAGE_FILES = tuple(name for name in RTDS_FILES if "PRECOMMAND" not in name)
PRECOMMAND_FILES = tuple(name for name in RTDS_FILES if "PRECOMMAND" in name)
CS06_CASES = ("IMMEDIATE_SUCCESS", "IMMEDIATE_ERROR", "FUTURE_DATED_SUCCESS")


def is_precommand(name: str) -> bool:
    return "PRECOMMAND" in name


def rtds_path(name: str) -> Path:
    """An RTDS file; skips the test with the reason when ../shared is absent."""
    if not RTDS.is_dir():
        pytest.skip(f"RTDS 4.5.0 vectors not found at {RTDS} (../shared is not part of the repository)")
    path = RTDS / name
    if not path.is_file():
        pytest.skip(f"RTDS vector {path} not found")
    return path


def rtds(name: str) -> bytes:
    """The APDU octets of an RTDS .HEX file."""
    return octets_from_hex(rtds_path(name).read_text(encoding="ascii"))
