"""Shared by the GBCS tests: where the RTDS 4.5.0 vectors are, which files the folder holds, and how to read one.

A plain module (imported by name, as pytest puts this folder on sys.path) because fixtures cannot be used in
`parametrize` lists. The file list is the folder's listing, not a list of names: a sample added to
../shared/vectors/rtds-4.5.0 is decoded, mutated and fuzzed by the tests without editing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from harness.gbcs import octets_from_hex

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"
RTDS = VECTORS / "rtds-4.5.0"
KEYS = VECTORS / "keys"
ABSENT = f"RTDS 4.5.0 vectors not found at {RTDS} (../shared is not part of the repository)"

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
ACB = "90-B3-D5-1F-30-00-00-02"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"

#: How many files ../shared/vectors/rtds-4.5.0 holds today; fewer means samples went missing.
EXPECTED_RTDS_FILE_COUNT = 16

RTDS_FILES: tuple[str, ...] = tuple(sorted(p.name for p in RTDS.glob("*.HEX"))) if RTDS.is_dir() else ()
MESSAGE_FILES = tuple(name for name in RTDS_FILES if "PRECOMMAND" not in name)
PRECOMMAND_FILES = tuple(name for name in RTDS_FILES if "PRECOMMAND" in name)
CS06_CASES = ("IMMEDIATE_SUCCESS", "IMMEDIATE_ERROR", "FUTURE_DATED_SUCCESS")


def each(names: Iterable[str]) -> list[Any]:
    """`parametrize` values for a list of RTDS files: one skipped case, with the reason, when there are none."""
    return list(names) or [pytest.param("", marks=pytest.mark.skip(reason=ABSENT))]


def is_precommand(name: str) -> bool:
    return "PRECOMMAND" in name


def rtds_path(name: str) -> Path:
    """An RTDS file; skips the test with the reason when ../shared is absent."""
    if not RTDS.is_dir():
        pytest.skip(ABSENT)
    path = RTDS / name
    if not path.is_file():
        pytest.skip(f"RTDS vector {path} not found")
    return path


def rtds(name: str) -> bytes:
    """The APDU octets of an RTDS .HEX file."""
    return octets_from_hex(rtds_path(name).read_text(encoding="ascii"))
