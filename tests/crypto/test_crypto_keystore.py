"""Key store: the DCC Boxed vector keys, broken input files, merging, and no private key in any output."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.crypto.ecdsa import sign_raw, verify_raw
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyEntry, KeyNotFoundError, KeyRole, KeyStore
from harness.crypto.pki import Party, PartyKind, TestPki
from harness.errors import ConfigurationError

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
REMOTE_PARTY_KEYS = {
    "90b3d51f30000001": ("ds",),
    "90b3d51f30000002": ("ds", "ka"),
    "90b3d51f30000004": ("ds",),
    "90b3d51f30000007": ("ds", "ka"),
    "90b3d51f30010000": ("ds", "ka", "pp-ka"),
    "90b3d51f30010008": ("ds", "ka"),
    "90b3d51f30020000": ("ds", "ka"),
    "90b3d51f30030000": ("ds", "ka", "pp-ka"),
}
DEVICES = [f"00db1234567890a{n}" for n in range(8)]


# --- the DCC Boxed vector keys ------------------------------------------------------------------------


def test_every_vector_key_is_indexed(vector_store: KeyStore) -> None:
    expected = {(Eui64.parse(e), KeyRole(r)) for e, roles in REMOTE_PARTY_KEYS.items() for r in roles}
    expected |= {(Eui64.parse(d), KeyRole(r)) for d in DEVICES for r in ("ds", "ka")}
    assert {(e.eui, e.role) for e in vector_store.entries()} == expected
    assert len(vector_store) == len(expected) == 32


def test_remote_parties_have_matching_private_keys(vector_store: KeyStore) -> None:
    for eui, roles in REMOTE_PARTY_KEYS.items():
        for role in roles:
            assert vector_store.has_private(eui, role)
            private = vector_store.private_key(eui, role)
            assert private.public_key() == vector_store.public_key(eui, role)


def test_devices_have_certificates_only(vector_store: KeyStore, vector_keys_dir: Path) -> None:
    for device in DEVICES:
        assert not vector_store.has_private(device, "ds")
        with pytest.raises(KeyNotFoundError) as caught:
            vector_store.private_key(device, KeyRole.KA)
        message = str(caught.value)
        assert str(Eui64.parse(device)) in message and " ka " in message
        assert str(vector_keys_dir) in message and f"{device}-ka.key" in message


def test_missing_key_error_is_both_keyerror_and_configuration_error(vector_store: KeyStore) -> None:
    with pytest.raises(KeyError) as caught:
        vector_store.certificate("01-02-03-04-05-06-07-08", "ds")
    assert isinstance(caught.value, ConfigurationError)
    assert "0102030405060708-ds.pem" in str(caught.value) and str(vector_store.source) in str(caught.value)
    assert not str(caught.value).startswith("'")  # KeyError would quote its message


def test_lookups_accept_any_eui_form(vector_store: KeyStore) -> None:
    forms = [SUPPLIER, "90b3d51f30010000", "90:b3:d5:1f:30:01:00:00", Eui64.parse(SUPPLIER)]
    certificates = {vector_store.certificate(f, "ds").fingerprint(hashes.SHA256()) for f in forms}
    assert len(certificates) == 1
    assert (SUPPLIER, "pp-ka") in vector_store and ("nonsense", "ds") not in vector_store


def test_vector_supplier_key_signs_and_its_certificate_verifies(vector_store: KeyStore) -> None:
    data = b"GB OTA conformance suite"
    signature = sign_raw(vector_store.private_key(SUPPLIER, "ds"), data)
    assert verify_raw(vector_store.public_key(SUPPLIER, "ds"), data, signature)
    assert not verify_raw(vector_store.public_key(SUPPLIER, "ka"), data, signature)


def test_dcc_sample_image_signature_verifies_with_the_supplier_certificate(
    vector_store: KeyStore, vectors_dir: Path
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.1-esme-sample.ota"
    if not image.is_file():
        pytest.skip(f"{image} not found")
    data = image.read_bytes()
    manufacturer_image, signature = data[60:295], data[297:361]
    assert verify_raw(vector_store.public_key(SUPPLIER, "ds"), manufacturer_image, signature)


def test_misfiled_vector_certificate_is_noted(vector_store: KeyStore) -> None:
    [note] = [n for n in vector_store.notes if "90b3d51f30000007-ka.pem" in n]
    assert "90-B3-D5-1F-30-03-00-00" in note and "90-B3-D5-1F-30-00-00-07" in note


# --- broken input files -------------------------------------------------------------------------------


def _error(directory: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        KeyStore.load(directory)
    return str(caught.value)


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    assert "does not exist" in _error(tmp_path / "nowhere")
    (tmp_path / "README").write_text("no keys here")
    message = _error(tmp_path)
    assert str(tmp_path) in message and "no key files" in message
    assert "is not a directory" in _error(tmp_path / "README")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\x30\x82\x01\x00garbage", "not a PEM file"),
        (
            b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
            "not a readable",
        ),
        (b"-----BEGIN CERTIFICATE-----\ntruncated", "not a readable"),
        (b"", "not a PEM file"),
    ],
    ids=["der-garbage", "bad-der-in-pem", "truncated", "empty"],
)
def test_corrupt_certificate(pki_dir: Path, content: bytes, problem: str) -> None:
    (pki_dir / "90b3d51f30010000-ds.pem").write_bytes(content)
    message = _error(pki_dir)
    assert "90b3d51f30010000-ds.pem" in message and problem in message
    assert "Traceback" not in message


def test_corrupt_private_key(pki_dir: Path) -> None:
    (pki_dir / "90b3d51f30000002-ka.key").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    )
    message = _error(pki_dir)
    assert "90b3d51f30000002-ka.key" in message and "not a readable PEM private key" in message


def test_mismatched_key_pair(pki_dir: Path) -> None:
    shutil.copy(pki_dir / "90b3d51f30000002-ka.key", pki_dir / "90b3d51f30010000-ka.key")
    message = _error(pki_dir)
    assert "90b3d51f30010000-ka.key" in message and "90b3d51f30010000-ka.pem" in message
    assert "does not belong" in message


def test_private_key_without_certificate(pki_dir: Path) -> None:
    (pki_dir / "90b3d51f30010000-ds.pem").unlink()
    message = _error(pki_dir)
    assert "90b3d51f30010000-ds.key" in message and "without its certificate" in message


def test_private_key_in_a_certificate_file_is_refused_without_echoing_it(pki_dir: Path) -> None:
    key_pem = (pki_dir / "90b3d51f30010000-ds.key").read_bytes()
    (pki_dir / "90b3d51f30010000-ds.pem").write_bytes(key_pem)
    message = _error(pki_dir)
    assert "90b3d51f30010000-ds.pem" in message and "holds a private key" in message
    assert key_pem.decode().splitlines()[1] not in message


def test_certificate_in_a_key_file(pki_dir: Path) -> None:
    shutil.copy(pki_dir / "90b3d51f30010000-ds.pem", pki_dir / "90b3d51f30010000-ds.key")
    assert "holds no private key" in _error(pki_dir)


def test_encrypted_private_key(pki_dir: Path, pki: TestPki) -> None:
    key = pki.keystore().private_key(SUPPLIER, "ds")
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (pki_dir / "90b3d51f30010000-ds.key").write_bytes(encrypted)
    message = _error(pki_dir)
    assert "90b3d51f30010000-ds.key" in message and "encrypted" in message


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 1024)],
    ids=["p384", "rsa"],
)
def test_non_p256_private_key(pki_dir: Path, key: ec.EllipticCurvePrivateKey) -> None:
    (pki_dir / "90b3d51f30010000-ds.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    message = _error(pki_dir)
    assert "90b3d51f30010000-ds.key" in message and "P-256" in message


def test_non_p256_certificate(pki_dir: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2030, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    (pki_dir / "00db1234567890b4-ds.key").unlink()
    (pki_dir / "00db1234567890b4-ds.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    message = _error(pki_dir)
    assert "00db1234567890b4-ds.pem" in message and "not an EC P-256 key" in message


def test_two_certificates_in_one_file(pki_dir: Path) -> None:
    first = pki_dir / "00db1234567890b4-ds.pem"
    first.write_bytes(first.read_bytes() + (pki_dir / "00db1234567890b4-ka.pem").read_bytes())
    message = _error(pki_dir)
    assert "00db1234567890b4-ds.pem" in message and "2 certificates" in message


def test_file_names_differing_only_in_case(pki_dir: Path) -> None:
    shutil.copy(pki_dir / "00db1234567890b4-ds.pem", pki_dir / "00DB1234567890B4-DS.pem")
    assert "differ only in case" in _error(pki_dir)


def test_unreadable_file(pki_dir: Path) -> None:
    path = pki_dir / "00db1234567890b4-ds.pem"
    path.unlink()
    path.symlink_to(pki_dir / "missing-target.pem")
    message = _error(pki_dir)
    assert str(path) in message and "cannot read a certificate" in message


def test_unknown_files_are_noted_not_fatal(pki_dir: Path) -> None:
    (pki_dir / "notes.txt").write_text("hello")
    (pki_dir / "90b3d51f30010000-xx.pem").write_text("unknown role")
    (pki_dir / "old").mkdir()
    store = KeyStore.load(pki_dir)
    for name in ("notes.txt", "90b3d51f30010000-xx.pem", "old", "ca-root.pem"):
        assert any(f"{pki_dir / name}: ignored" in note for note in store.notes), name


def test_wrong_key_usage_and_eui_are_noted(pki_dir: Path) -> None:
    os.replace(pki_dir / "00db1234567890b4-ds.pem", pki_dir / "00db1234567890b9-ka.pem")
    os.replace(pki_dir / "00db1234567890b4-ds.key", pki_dir / "00db1234567890b9-ka.key")
    notes = [n for n in KeyStore.load(pki_dir).notes if "00db1234567890b9-ka.pem" in n]
    assert any("without keyUsage keyAgreement" in n for n in notes)
    assert any("names EUI-64 00-DB-12-34-56-78-90-B4" in n for n in notes)


# --- in-memory stores and merging ----------------------------------------------------------------------


def test_in_memory_entry_with_a_foreign_private_key(pki: TestPki) -> None:
    entry = pki.keystore().entry(SUPPLIER, "ds")
    with pytest.raises(ConfigurationError, match="does not belong"):
        KeyEntry(entry.eui, entry.role, entry.certificate, ec.generate_private_key(ec.SECP256R1()))


def test_duplicate_in_memory_entries(pki: TestPki) -> None:
    entry = pki.keystore().entry(SUPPLIER, "ds")
    with pytest.raises(ConfigurationError, match="two certificates"):
        KeyStore([entry, entry], source="test")


def test_merge_with_a_vendor_directory(pki: TestPki, tmp_path: Path) -> None:
    vendor = TestPki.generate([Party("dut", "00-11-22-33-44-55-66-77", PartyKind.DEVICE)], seed="vendor")
    vendor.write(tmp_path)
    for key in tmp_path.glob("*.key"):  # a vendor hands over certificates only
        key.unlink()
    merged = pki.keystore().merge(KeyStore.load(tmp_path))
    assert len(merged) == len(pki.keystore()) + 2
    assert merged.has_private(SUPPLIER, "ds") and not merged.has_private("00-11-22-33-44-55-66-77", "ds")
    assert str(tmp_path) in merged.source and pki.keystore().source in merged.source


def test_merge_prefers_the_entry_with_a_private_key(pki: TestPki) -> None:
    full = pki.keystore().entry(SUPPLIER, "ds")
    public_only = KeyStore([KeyEntry(full.eui, full.role, full.certificate, source="certificate only")])
    for merged in (public_only.merge(pki.keystore()), pki.keystore().merge(public_only)):
        assert merged.has_private(SUPPLIER, "ds")


def test_merge_conflict_names_both_sources(pki: TestPki, vector_store: KeyStore) -> None:
    with pytest.raises(ConfigurationError) as caught:
        pki.keystore().merge(vector_store)
    message = str(caught.value)
    assert "90b3d51f30000002-ds.pem" in message or "90b3d51f30010000-ds.pem" in message
    assert pki.keystore().source in message and vector_store.source in message


def test_merge_replace_lets_the_other_store_win(pki: TestPki, vector_store: KeyStore) -> None:
    merged = pki.keystore().merge(vector_store, replace=True)
    assert merged.certificate(SUPPLIER, "ds") == vector_store.certificate(SUPPLIER, "ds")
    assert merged.has_private("00-DB-12-34-56-78-90-B4", "ka")  # generated devices are kept
    assert any("replaces" in n and "90b3d51f30010000-ds.pem" in n for n in merged.notes)


# --- private key material never leaks ----------------------------------------------------------------


def _private_material(store: KeyStore) -> list[str]:
    secrets = []
    for entry in store.entries():
        if entry.private_key is None:
            continue
        scalar = entry.private_key.private_numbers().private_value
        pem = entry.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        secrets += [f"{scalar:064x}", f"{scalar:064X}", str(scalar), *pem.decode().splitlines()[1:-1]]
    return secrets


@pytest.mark.parametrize("which", ["vectors", "generated"])
def test_reports_never_contain_private_keys(which: str, request: pytest.FixtureRequest) -> None:
    if which == "vectors":
        store: KeyStore = request.getfixturevalue("vector_store")
    else:
        store = request.getfixturevalue("pki").keystore()
    texts = [repr(store), str(store), json.dumps(store.to_dict()), *store.notes]
    texts += [t for e in store.entries() for t in (repr(e), str(e), json.dumps(e.to_dict()))]
    secrets = _private_material(store)
    assert secrets
    for text in texts:
        assert "PRIVATE KEY" not in text
        for secret in secrets:
            assert secret not in text
    summary = store.to_dict()["entries"]
    assert [e["has_private_key"] for e in summary] == [e.has_private_key for e in store.entries()]


def test_pki_reprs_never_contain_private_keys(pki: TestPki) -> None:
    texts = [repr(pki), repr(pki.root), repr(pki.organisation_ca), repr(pki.device_ca)]
    scalars = [f"{ca.private_key.private_numbers().private_value:x}" for ca in (pki.root, pki.device_ca)]
    for text in texts:
        assert "PRIVATE KEY" not in text and not any(s in text for s in scalars)
