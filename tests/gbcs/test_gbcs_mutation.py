"""One changed octet anywhere in an RTDS APDU is never judged valid, and decoding never raises anything but
GbcsFormatError.

Every position of every vector gets ten substitutions: the eight single-bit flips, the complement and one
value from a seeded generator (deterministic, ~20 k decodes, a few seconds). `GBCS_EXHAUSTIVE=1` tries all 255
other values at every position instead (~450 k decodes, about two minutes).

With the key store, what protects each octet: the signature covers the General Signing APDU up to its
signature field; the MAC covers the whole wrapped APDU; the fixed octets of the General Ciphered wrapper
(header octets, security control, invocation counter) are field rules, as are the PRECOMMAND form (never a
valid device-bound message) and the signature and MAC requirements of each message; lengths and tags are
framing (unusable). A changed originator may name a party whose certificate is not in the store: that is
"unusable" (cannot judge), never valid.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest
from gbcs_rtds import RTDS_FILES, each, rtds

from harness.crypto.keystore import KeyStore
from harness.gbcs import GbcsFormatError, Verdict, decode_message

EXHAUSTIVE = os.environ.get("GBCS_EXHAUSTIVE") == "1"
_MASKS = (0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF)


def _substitutions(name: str, original: bytes, position: int) -> list[int]:
    """Replacement octets for one position (never the original octet)."""
    value = original[position]
    if EXHAUSTIVE:
        return [v for v in range(256) if v != value]
    rnd = random.Random(f"{name}:{position}")
    return [value ^ mask for mask in _MASKS] + [value ^ rnd.randrange(1, 256)]


@pytest.mark.parametrize("name", each(RTDS_FILES))
def test_no_single_octet_change_is_valid(name: str, vector_keys: KeyStore) -> None:
    original = rtds(name)
    outcomes: Counter[str] = Counter()
    valid = []
    for position in range(len(original)):
        for replacement in _substitutions(name, original, position):
            mutated = bytearray(original)
            mutated[position] = replacement
            try:
                verdict = decode_message(bytes(mutated), keys=vector_keys).verdict
            except GbcsFormatError:
                outcomes["cannot cut (unusable)"] += 1
                continue
            outcomes[verdict.value] += 1
            if verdict is Verdict.VALID:
                valid.append(f"octet {position}: 0x{original[position]:02X} -> 0x{replacement:02X}")
    assert valid == [], f"{name}: judged valid after a change ({outcomes})"
    assert outcomes["invalid"] > 0


def _judged_valid(data: bytes, keys: KeyStore) -> bool:
    try:
        return decode_message(data, keys=keys).verdict is Verdict.VALID
    except GbcsFormatError:
        return False


@pytest.mark.parametrize("name", each(RTDS_FILES))
def test_no_truncation_extension_or_dropped_octet_is_valid(name: str, vector_keys: KeyStore) -> None:
    """Cutting a signed APDU just before its signature field leaves the PRECOMMAND form: readable, invalid."""
    original = rtds(name)
    changed = [original[:cut] for cut in range(len(original))]
    changed += [original + extra for extra in (b"\x00", b"\x40", original[-1:])]
    changed += [original[:i] + original[i + 1 :] for i in range(len(original))]
    assert [c.hex() for c in changed if _judged_valid(c, vector_keys)] == []
