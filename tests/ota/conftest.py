"""Fixtures for the OTA image tests: the DCC Boxed sample images (skipped when absent) and fixed test keys."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import harness.cli
from harness.ota import ImageSpec, Layout, VariantContext, build_image

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VECTORS = PROJECT_ROOT / ".." / "shared" / "vectors"

ESME_SAMPLE = "dccboxed-sr11.1-esme-sample.ota"
PPMID_SAMPLE = "dccboxed-sr11.4-ppmid-sample.ota"
SUPPLIER_EUI = "90b3d51f30010000"  # DCC Boxed Import Supplier: signed the SR 11.1 sample
ESME_MI_SHA256 = "7542f475e3f12eae887d81e32c46d313741d67076b13caec2f82e00ba5e1bb36"

DEVICE_HW_VERSION = 0x0100
RUNNING_VERSION = 0x00020000


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """../shared/vectors: present in the project workspace, absent in a user's fresh clone."""
    if not VECTORS.is_dir():
        pytest.skip(f"test vectors not found at {VECTORS.resolve()} (../shared is not part of the repository)")
    return VECTORS


def _vector(vectors_dir: Path, *parts: str) -> Path:
    path = vectors_dir.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"test vector {path} not found")
    return path


@pytest.fixture(scope="session")
def esme_hash() -> bytes:
    """SHA-256 of the SR 11.1 sample's Manufacturer Image (domain.md §2.2, verified there)."""
    return bytes.fromhex(ESME_MI_SHA256)


@pytest.fixture(scope="session")
def esme_sample(vectors_dir: Path) -> bytes:
    return _vector(vectors_dir, "images", ESME_SAMPLE).read_bytes()


@pytest.fixture(scope="session")
def ppmid_sample(vectors_dir: Path) -> bytes:
    return _vector(vectors_dir, "images", PPMID_SAMPLE).read_bytes()


@pytest.fixture(scope="session")
def dcc_supplier_cert_path(vectors_dir: Path) -> Path:
    return _vector(vectors_dir, "keys", f"{SUPPLIER_EUI}-ds.pem")


@pytest.fixture(scope="session")
def dcc_supplier_key_path(vectors_dir: Path) -> Path:
    return _vector(vectors_dir, "keys", f"{SUPPLIER_EUI}-ds.key")


@pytest.fixture(scope="session")
def dcc_supplier_public(dcc_supplier_cert_path: Path) -> ec.EllipticCurvePublicKey:
    key = x509.load_pem_x509_certificate(dcc_supplier_cert_path.read_bytes()).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


@pytest.fixture(scope="session")
def dcc_supplier_key(dcc_supplier_key_path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(dcc_supplier_key_path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _fixed_key(secret: int) -> ec.EllipticCurvePrivateKey:
    """Fixed test keys keep runs reproducible (ECDSA signatures themselves still vary)."""
    return ec.derive_private_key(secret, ec.SECP256R1())


@pytest.fixture(scope="session")
def supplier_key() -> ec.EllipticCurvePrivateKey:
    return _fixed_key(0x5151)


@pytest.fixture(scope="session")
def manufacturer_key() -> ec.EllipticCurvePrivateKey:
    return _fixed_key(0x3A3A)


@pytest.fixture(scope="session")
def other_key() -> ec.EllipticCurvePrivateKey:
    return _fixed_key(0x0B0B)


@pytest.fixture(scope="session")
def spec() -> ImageSpec:
    return ImageSpec(manufacturer_code=0x1234, image_type=0x0084, file_version=0x00030000, payload_size=700)


@pytest.fixture(scope="session")
def factory_image(
    spec: ImageSpec, supplier_key: ec.EllipticCurvePrivateKey, manufacturer_key: ec.EllipticCurvePrivateKey
) -> bytes:
    """A gb-signed image whose Manufacturer Image follows the GBMS convention."""
    return build_image(spec, supplier_key=supplier_key, manufacturer_key=manufacturer_key)


@pytest.fixture(scope="session")
def factory_unsigned(spec: ImageSpec, manufacturer_key: ec.EllipticCurvePrivateKey) -> bytes:
    """A gb-unsigned (PPMID-style) image with a GBMS manufacturer signature."""
    return build_image(dataclasses.replace(spec, layout=Layout.GB_UNSIGNED), manufacturer_key=manufacturer_key)


@pytest.fixture(scope="session")
def full_context(
    supplier_key: ec.EllipticCurvePrivateKey,
    manufacturer_key: ec.EllipticCurvePrivateKey,
    other_key: ec.EllipticCurvePrivateKey,
) -> VariantContext:
    return VariantContext(
        device_hw_version=DEVICE_HW_VERSION,
        running_version=RUNNING_VERSION,
        supplier_key=supplier_key,
        manufacturer_key=manufacturer_key,
        other_key=other_key,
    )


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def pem_files(
    tmp_path: Path,
    supplier_key: ec.EllipticCurvePrivateKey,
    manufacturer_key: ec.EllipticCurvePrivateKey,
    other_key: ec.EllipticCurvePrivateKey,
) -> dict[str, Path]:
    """PEM files of the fixed test keys: private (PKCS#8) and public (SubjectPublicKeyInfo)."""
    files: dict[str, Path] = {}
    for name, key in (("supplier", supplier_key), ("manufacturer", manufacturer_key), ("other", other_key)):
        files[f"{name}-private"] = _write_pem(
            tmp_path / f"{name}.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        files[f"{name}-public"] = _write_pem(
            tmp_path / f"{name}.pub",
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        )
    return files


@pytest.fixture
def cli() -> Callable[..., int]:
    """`ota-conformance` in-process."""

    def run(*argv: str | Path) -> int:
        return harness.cli.main([str(a) for a in argv])

    return run
