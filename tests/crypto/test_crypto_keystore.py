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
from harness.crypto.keystore import KeyEntry, KeyKind, KeyNotFoundError, KeyRole, KeyStore
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


# --- a DCC Boxed folder as shipped: certificates, bare public keys and lone private keys ---------------------
# ../shared has no such folder, so these fixtures make one: the shipped folder holds, besides certificates with
# their keys, a bare public key (fffffffffffffffe-ka.pem is a PUBLIC KEY, no certificate) and private keys with
# no certificate beside them (domain.md §10).

BARE = "ff-ff-ff-ff-ff-ff-ff-fe"
BARE_WITH_KEY = "90-b3-d5-1f-30-00-00-08"
LONE_PRIVATE = "90-b3-d5-1f-30-00-00-09"


def _pem_public(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pem_private(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture
def shipped_dir(pki_dir: Path) -> Path:
    """The generated PKI folder plus the three other kinds of file a DCC Boxed folder ships."""
    keys = {name: ec.generate_private_key(ec.SECP256R1()) for name in (BARE, BARE_WITH_KEY, LONE_PRIVATE)}
    (pki_dir / "fffffffffffffffe-ka.pem").write_bytes(_pem_public(keys[BARE]))
    (pki_dir / "90b3d51f30000008-ka.pem").write_bytes(_pem_public(keys[BARE_WITH_KEY]))
    (pki_dir / "90b3d51f30000008-ka.key").write_bytes(_pem_private(keys[BARE_WITH_KEY]))
    (pki_dir / "90b3d51f30000009-ds.key").write_bytes(_pem_private(keys[LONE_PRIVATE]))
    return pki_dir


def test_a_shipped_folder_loads_every_kind(shipped_dir: Path, pki: TestPki) -> None:
    store = KeyStore.load(shipped_dir)
    assert len(store) == len(pki.keystore()) + 3
    assert [n for n in store.notes if "skipped" in n] == []
    bare, bare_with_key, lone = (
        store.entry(BARE, "ka"),
        store.entry(BARE_WITH_KEY, "ka"),
        store.entry(LONE_PRIVATE, "ds"),
    )
    assert (bare.kind, bare.has_private_key, bare.held) == (KeyKind.PUBLIC_KEY, False, "public key")
    assert (bare_with_key.kind, bare_with_key.held) == (KeyKind.PUBLIC_KEY, "public key + private key")
    assert (lone.kind, lone.held) == (KeyKind.PRIVATE_KEY, "private key")
    assert lone.public_key == store.private_key(LONE_PRIVATE, "ds").public_key()
    assert bare_with_key.public_key == store.private_key(BARE_WITH_KEY, "ka").public_key()
    assert store.entry(SUPPLIER, "ds").held == "certificate + private key"
    assert bare.source.endswith("fffffffffffffffe-ka.pem") and lone.source.endswith("90b3d51f30000009-ds.key")


def test_each_kind_does_its_job(shipped_dir: Path) -> None:
    """A bare public key verifies and agrees keys; a lone private key signs and its public key verifies."""
    store = KeyStore.load(shipped_dir)
    data = b"GB OTA conformance suite"
    signature = sign_raw(store.private_key(LONE_PRIVATE, "ds"), data)
    assert verify_raw(store.public_key(LONE_PRIVATE, "ds"), data, signature)
    mine = store.private_key(BARE_WITH_KEY, "ka")
    assert mine.exchange(ec.ECDH(), store.public_key(BARE, "ka"))
    for eui, role, what in ((BARE, "ka", "public key"), (LONE_PRIVATE, "ds", "private key")):
        with pytest.raises(KeyNotFoundError, match=f"only the {what}"):
            store.certificate(eui, role)
    with pytest.raises(KeyNotFoundError, match=r"no ka private key .* only the public key"):
        store.private_key(BARE, "ka")


def test_the_store_reports_which_roles_it_found(shipped_dir: Path) -> None:
    store = KeyStore.load(shipped_dir)
    found = store.roles_found()
    assert found["FF-FF-FF-FF-FF-FF-FF-FE"] == {"ka": "public key"}
    assert found["90-B3-D5-1F-30-00-00-09"] == {"ds": "private key"}
    assert found["90-B3-D5-1F-30-01-00-00"]["ds"] == "certificate + private key"
    summary = store.summary()
    assert "2 public keys" in summary and "1 private key" in summary and "certificates" in summary
    assert store.to_dict()["roles"] == found
    assert {e["kind"] for e in store.to_dict()["entries"]} == {"certificate", "public key", "private key"}


def test_a_shipped_folder_never_shows_its_private_keys(shipped_dir: Path) -> None:
    store = KeyStore.load(shipped_dir)
    texts = [repr(store), store.summary(), json.dumps(store.to_dict()), *store.notes]
    texts += [t for e in store.entries() for t in (repr(e), json.dumps(e.to_dict()))]
    secrets = _private_material(store)
    assert len(secrets) > 40
    for text in texts:
        assert "PRIVATE KEY" not in text and not any(secret in text for secret in secrets)


def test_a_bare_public_key_and_a_certificate_of_one_key_merge(pki: TestPki, tmp_path: Path) -> None:
    """The same key as a bare public key and as a certificate is one key; the certificate wins."""
    entry = pki.keystore().entry(SUPPLIER, "ka")
    (tmp_path / "90b3d51f30010000-ka.pem").write_bytes(
        entry.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    bare = KeyStore.load(tmp_path)
    certificate_only = KeyStore([KeyEntry(entry.eui, entry.role, entry.certificate, source="cert")])
    for merged in (bare.merge(certificate_only), certificate_only.merge(bare)):
        assert merged.entry(SUPPLIER, "ka").kind is KeyKind.CERTIFICATE
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ConfigurationError, match="different keys"):
        bare.merge(KeyStore([KeyEntry(entry.eui, entry.role, bare_public_key=other)]))


def test_an_entry_needs_a_key_and_one_public_part(pki: TestPki) -> None:
    entry = pki.keystore().entry(SUPPLIER, "ds")
    with pytest.raises(ConfigurationError, match="needs a certificate"):
        KeyEntry(entry.eui, entry.role)
    with pytest.raises(ConfigurationError, match="not both"):
        KeyEntry(entry.eui, entry.role, entry.certificate, bare_public_key=entry.public_key)
    with pytest.raises(ConfigurationError, match="does not belong to the public key"):
        KeyEntry(
            entry.eui,
            entry.role,
            None,
            entry.private_key,
            bare_public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        )


def test_a_public_key_file_that_is_unreadable_is_skipped(tmp_path: Path, pki: TestPki) -> None:
    (tmp_path / "fffffffffffffffe-ka.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    p384 = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "fffffffffffffffd-ka.pem").write_bytes(_pem_public(p384))  # type: ignore[arg-type]
    (tmp_path / "fffffffffffffffc-ka.pem").write_bytes(b"-----BEGIN SOMETHING-----\n-----END SOMETHING-----\n")
    (tmp_path / "90b3d51f30010000-ds.key").write_bytes(_pem_private(pki.keystore().private_key(SUPPLIER, "ds")))
    store = KeyStore.load(tmp_path)
    notes = " | ".join(store.notes)
    assert "fffffffffffffffe-ka.pem: skipped: not a readable PEM public key" in notes
    assert "fffffffffffffffd-ka.pem: skipped: the public key is not an EC P-256 key" in notes
    assert "fffffffffffffffc-ka.pem: skipped: holds neither a certificate nor a public key" in notes
    assert len(store) == 1 and "3 files skipped" in store.summary()


# --- broken input files: skipped with a note naming them, the rest of the folder loads ----------------------


def _error(directory: Path) -> str:
    with pytest.raises(ConfigurationError) as caught:
        KeyStore.load(directory)
    return str(caught.value)


def _skipped(directory: Path, name: str) -> tuple[KeyStore, str]:
    """Load a folder with one damaged file: (the store, the one note naming that file as skipped)."""
    store = KeyStore.load(directory)
    [note] = [n for n in store.notes if n.startswith(f"{directory / name}: skipped: ")]
    assert "Traceback" not in note
    return store, note


def test_missing_and_empty_directories(tmp_path: Path) -> None:
    assert "does not exist" in _error(tmp_path / "nowhere")
    (tmp_path / "README").write_text("no keys here")
    message = _error(tmp_path)
    assert str(tmp_path) in message and "no key files" in message
    assert "is not a directory" in _error(tmp_path / "README")


def test_a_folder_of_nothing_usable_is_refused(tmp_path: Path) -> None:
    (tmp_path / "90b3d51f30010000-ds.pem").write_bytes(b"garbage")
    message = _error(tmp_path)
    assert "no usable key" in message and "90b3d51f30010000-ds.pem" in message and "not a PEM file" in message


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
    """The certificate is skipped; its private key beside it stays usable as a lone private key."""
    (pki_dir / "90b3d51f30010000-ds.pem").write_bytes(content)
    store, note = _skipped(pki_dir, "90b3d51f30010000-ds.pem")
    assert problem in note
    assert store.entry(SUPPLIER, "ds").kind is KeyKind.PRIVATE_KEY
    with pytest.raises(KeyNotFoundError) as caught:
        store.certificate(SUPPLIER, "ds")
    assert "only the private key" in str(caught.value)


def test_a_skipped_file_is_named_when_its_key_is_looked_up(pki_dir: Path) -> None:
    (pki_dir / "00db1234567890b4-ds.key").unlink()
    (pki_dir / "00db1234567890b4-ds.pem").write_bytes(b"garbage")
    store, _ = _skipped(pki_dir, "00db1234567890b4-ds.pem")
    with pytest.raises(KeyNotFoundError) as caught:
        store.public_key("00-DB-12-34-56-78-90-B4", "ds")
    message = str(caught.value)
    assert "00db1234567890b4-ds.pem" in message and "skipped" in message and "not a PEM file" in message
    assert store.skipped("00db1234567890b4", "ds") == (
        f"{pki_dir / '00db1234567890b4-ds.pem'}: not a PEM file (no -----BEGIN line)",
    )


def test_corrupt_private_key(pki_dir: Path) -> None:
    (pki_dir / "90b3d51f30000002-ka.key").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    )
    store, note = _skipped(pki_dir, "90b3d51f30000002-ka.key")
    assert "not a readable PEM private key" in note
    assert store.entry("90-B3-D5-1F-30-00-00-02", "ka").kind is KeyKind.CERTIFICATE
    with pytest.raises(KeyNotFoundError, match=r"skipped .*90b3d51f30000002-ka\.key"):
        store.private_key("90-B3-D5-1F-30-00-00-02", "ka")


def test_mismatched_key_pair(pki_dir: Path) -> None:
    """A private key that does not belong to the certificate beside it is skipped; the certificate stays."""
    shutil.copy(pki_dir / "90b3d51f30000002-ka.key", pki_dir / "90b3d51f30010000-ka.key")
    store, note = _skipped(pki_dir, "90b3d51f30010000-ka.key")
    assert "90b3d51f30010000-ka.pem" in note and "does not belong" in note
    assert not store.has_private(SUPPLIER, "ka") and store.entry(SUPPLIER, "ka").kind is KeyKind.CERTIFICATE


def test_private_key_in_a_certificate_file_is_refused_without_echoing_it(pki_dir: Path) -> None:
    key_pem = (pki_dir / "90b3d51f30010000-ds.key").read_bytes()
    (pki_dir / "90b3d51f30010000-ds.pem").write_bytes(key_pem)
    store, note = _skipped(pki_dir, "90b3d51f30010000-ds.pem")
    assert "holds a private key" in note
    texts = [*store.notes, repr(store), json.dumps(store.to_dict())]
    assert not any(key_pem.decode().splitlines()[1] in text for text in texts)


def test_certificate_in_a_key_file(pki_dir: Path) -> None:
    shutil.copy(pki_dir / "90b3d51f30010000-ds.pem", pki_dir / "90b3d51f30010000-ds.key")
    store, note = _skipped(pki_dir, "90b3d51f30010000-ds.key")
    assert "holds no private key" in note
    assert not store.has_private(SUPPLIER, "ds")


def test_encrypted_private_key(pki_dir: Path, pki: TestPki) -> None:
    key = pki.keystore().private_key(SUPPLIER, "ds")
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (pki_dir / "90b3d51f30010000-ds.key").write_bytes(encrypted)
    _, note = _skipped(pki_dir, "90b3d51f30010000-ds.key")
    assert "encrypted" in note


@pytest.mark.parametrize(
    "key",
    [ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(65537, 1024)],
    ids=["p384", "rsa"],
)
def test_non_p256_private_key(pki_dir: Path, key: ec.EllipticCurvePrivateKey) -> None:
    (pki_dir / "90b3d51f30010000-ds.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    _, note = _skipped(pki_dir, "90b3d51f30010000-ds.key")
    assert "P-256" in note


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
    store, note = _skipped(pki_dir, "00db1234567890b4-ds.pem")
    assert "not an EC P-256 key" in note
    assert ("00db1234567890b4", "ds") not in store


def test_two_certificates_in_one_file(pki_dir: Path) -> None:
    first = pki_dir / "00db1234567890b4-ds.pem"
    first.write_bytes(first.read_bytes() + (pki_dir / "00db1234567890b4-ka.pem").read_bytes())
    _, note = _skipped(pki_dir, "00db1234567890b4-ds.pem")
    assert "2 certificates" in note


def test_file_names_differing_only_in_case(pki_dir: Path) -> None:
    shutil.copy(pki_dir / "00db1234567890b4-ds.pem", pki_dir / "00DB1234567890B4-DS.pem")
    store = KeyStore.load(pki_dir)
    assert any("skipped" in n and "differ only in case" in n for n in store.notes)
    assert store.entry("00db1234567890b4", "ds").kind is KeyKind.CERTIFICATE


def test_unreadable_file(pki_dir: Path) -> None:
    path = pki_dir / "00db1234567890b4-ds.pem"
    path.unlink()
    path.symlink_to(pki_dir / "missing-target.pem")
    _, note = _skipped(pki_dir, "00db1234567890b4-ds.pem")
    assert "cannot read it" in note


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
    with pytest.raises(ConfigurationError, match="two entries"):
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
