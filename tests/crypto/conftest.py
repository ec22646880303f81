"""Fixtures for the crypto tests: the DCC Boxed vectors (skipped when absent) and one generated PKI."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """../shared/vectors: present in the project workspace, absent in a user's fresh clone."""
    if not VECTORS.is_dir():
        pytest.skip(f"test vectors not found at {VECTORS} (../shared is not part of the repository)")
    return VECTORS


@pytest.fixture(scope="session")
def vector_keys_dir(vectors_dir: Path) -> Path:
    keys = vectors_dir / "keys"
    if not keys.is_dir():
        pytest.skip(f"DCC Boxed test keys not found at {keys}")
    return keys


@pytest.fixture(scope="session")
def vector_store(vector_keys_dir: Path) -> KeyStore:
    return KeyStore.load(vector_keys_dir)


@pytest.fixture(scope="session")
def pki() -> TestPki:
    """One generated PKI per session, as the suite itself does."""
    return TestPki.generate()


@pytest.fixture()
def pki_dir(pki: TestPki, tmp_path: Path) -> Path:
    """The generated PKI written in the DCC Boxed layout, for tests that damage files."""
    return pki.write(tmp_path / "keys")
