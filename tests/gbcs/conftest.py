"""Fixtures for the GBCS codec tests: the RTDS 4.5.0 APDUs and the DCC Boxed keys (skipped when absent), and
a seeded test PKI for messages nobody else wrote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gbcs_rtds import KEYS, RTDS_FILES, rtds

import harness.cli
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki


@pytest.fixture(scope="session")
def vector_keys() -> KeyStore:
    """The DCC Boxed / RTDS key store (certificates, and private keys of the remote parties)."""
    if not KEYS.is_dir():
        pytest.skip(f"DCC Boxed test keys not found at {KEYS} (../shared is not part of the repository)")
    return KeyStore.load(KEYS)


@pytest.fixture(scope="session")
def pki() -> TestPki:
    """Seeded, so a failure reproduces; the signatures themselves are still randomised."""
    return TestPki.generate(seed="tests/gbcs")


@pytest.fixture
def cli() -> Callable[..., int]:
    """`ota-conformance` in-process."""

    def run(*argv: str | Path) -> int:
        return harness.cli.main([str(a) for a in argv])

    return run


@pytest.fixture(scope="session")
def rtds_vectors() -> dict[str, bytes]:
    """Every RTDS APDU by file name (for hypothesis tests, which cannot take per-example fixtures)."""
    return {name: rtds(name) for name in RTDS_FILES}
