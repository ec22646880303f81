"""Generated test PKI: certificate shapes mirror the DCC Boxed ones, chains verify, files round-trip."""

from __future__ import annotations

import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

from harness.crypto.ecdsa import sign_raw, verify_raw
from harness.crypto.eui64 import Eui64, san_eui64, subject_eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.crypto.pki import (
    DEFAULT_PARTIES,
    DEVICE_POLICY_OID,
    MARKER_FILE,
    MARKER_TEXT,
    ORGANISATION_POLICY_OID,
    Party,
    PartyKind,
    TestPki,
    key_identifier,
)
from harness.errors import ConfigurationError

NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _ten_parties() -> list[Party]:
    devices = [Party(f"device{n}", f"00-DB-12-34-56-78-91-{n:02X}", PartyKind.DEVICE) for n in range(4)]
    return [*DEFAULT_PARTIES, *devices]


def test_generation_is_fast_enough_for_every_session() -> None:
    TestPki.generate()  # warm up (first use of the OpenSSL EC code)
    started = time.perf_counter()
    pki = TestPki.generate(_ten_parties())
    elapsed = time.perf_counter() - started
    assert len(pki.parties) == 10
    assert elapsed < 0.5, f"generating 10 parties took {elapsed:.3f} s"


def test_default_parties(pki: TestPki) -> None:
    assert pki.party("supplier").eui == Eui64.parse("90-B3-D5-1F-30-01-00-00")
    assert pki.party("acb").eui == Eui64.parse("90-B3-D5-1F-30-00-00-02")
    for name in ("ch", "ppmid", "hcalcs"):
        assert pki.party(name).kind is PartyKind.DEVICE
    assert pki.party("manufacturer").roles == (KeyRole.DS,)
    store = pki.keystore()
    assert all(store.has_private(p.eui, r) for p in pki.parties for r in p.roles)
    assert len(store) == sum(len(p.roles) for p in pki.parties)
    assert store.notes == ()  # every generated certificate names its own EUI-64 and has the right keyUsage
    with pytest.raises(KeyError, match="ppmid"):
        pki.party("esme")


def _extension_shape(certificate: x509.Certificate) -> list[tuple[str, bool]]:
    return sorted((e.oid.dotted_string, e.critical) for e in certificate.extensions)


def test_device_certificates_mirror_the_dcc_ones(pki: TestPki, vector_store: KeyStore) -> None:
    dcc = vector_store.certificate("00db1234567890a4", "ds")
    for role in (KeyRole.DS, KeyRole.KA):
        ours = pki.keystore().certificate(pki.party("ppmid").eui, role)
        assert _extension_shape(ours) == _extension_shape(dcc)
        assert ours.subject == x509.Name([]) == dcc.subject
        assert ours.not_valid_after_utc == NO_EXPIRY == dcc.not_valid_after_utc
        assert san_eui64(ours) == pki.party("ppmid").eui
        usage = ours.extensions.get_extension_for_class(x509.KeyUsage).value
        assert (usage.digital_signature, usage.key_agreement) == (role is KeyRole.DS, role is KeyRole.KA)
        policies = ours.extensions.get_extension_for_class(x509.CertificatePolicies).value
        assert [p.policy_identifier for p in policies] == [DEVICE_POLICY_OID]


def test_organisation_certificates_mirror_the_dcc_ones(pki: TestPki, vector_store: KeyStore) -> None:
    dcc = vector_store.certificate("90b3d51f30010000", "ds")
    ours = pki.keystore().certificate("90b3d51f30010000", "ds")
    assert _extension_shape(ours) == _extension_shape(dcc)
    assert [a.oid for a in ours.subject] == [a.oid for a in dcc.subject]  # CN, OU, x500UniqueIdentifier
    assert ours.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "02"
    assert ours.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "07"
    assert subject_eui64(ours) == subject_eui64(dcc) == Eui64.parse("90b3d51f30010000")
    acb = pki.keystore().certificate("90-B3-D5-1F-30-00-00-02", "ka")
    assert acb.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "04"
    policies = acb.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [ORGANISATION_POLICY_OID]
    assert acb.not_valid_after_utc == NO_EXPIRY


def test_key_identifiers_are_derived_like_the_dcc_ones(vector_store: KeyStore, pki: TestPki) -> None:
    for store in (vector_store, pki.keystore()):
        for entry in store.entries():
            ski = entry.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            assert ski.digest == key_identifier(entry.public_key), entry


def test_every_chain_verifies(pki: TestPki) -> None:
    for entry in pki.entries():
        leaf, issuing_ca, root = pki.chain(entry.eui, entry.role)
        leaf.verify_directly_issued_by(issuing_ca)
        issuing_ca.verify_directly_issued_by(root)
        root.verify_directly_issued_by(root)
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        issuer_ski = issuing_ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == issuer_ski.digest
    device_leaf, device_ca, _ = pki.chain(pki.party("hcalcs").eui, "ka")
    assert device_ca == pki.device_ca.certificate
    with pytest.raises(ValueError):
        device_leaf.verify_directly_issued_by(pki.organisation_ca.certificate)


def test_ca_certificates(pki: TestPki) -> None:
    for ca in pki.ca_certificates:
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca
        assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ExtensionOID.AUTHORITY_KEY_IDENTIFIER not in [e.oid for e in pki.root.certificate.extensions]


def test_write_then_load_round_trips(pki: TestPki, tmp_path: Path) -> None:
    directory = pki.write(tmp_path / "keys")
    loaded = KeyStore.load(directory)
    generated = pki.keystore()
    assert [(e.eui, e.role) for e in loaded.entries()] == [(e.eui, e.role) for e in generated.entries()]
    for ours, theirs in zip(generated.entries(), loaded.entries(), strict=True):
        assert theirs.certificate == ours.certificate
        assert theirs.private_key is not None and ours.private_key is not None
        assert theirs.private_key.private_numbers() == ours.private_key.private_numbers()
        assert theirs.source == str(directory / f"{ours.eui.hex}-{ours.role}.pem")
    assert MARKER_TEXT in (directory / MARKER_FILE).read_text(encoding="utf-8")
    assert not [n for n in loaded.notes if "ignored" not in n]  # only the marker and CA files are ignored


def test_written_files(pki: TestPki, pki_dir: Path) -> None:
    key_files = sorted(pki_dir.glob("*.key"))
    assert len(key_files) == len(pki.entries())
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in key_files)
    holding_private = [p for p in pki_dir.iterdir() if b"PRIVATE KEY" in p.read_bytes()]
    assert sorted(holding_private) == key_files  # CA private keys are never written
    root = x509.load_pem_x509_certificate((pki_dir / "ca-root.pem").read_bytes())
    assert root == pki.root.certificate


def test_write_refuses_a_directory_it_did_not_make(pki: TestPki, tmp_path: Path) -> None:
    (tmp_path / "vendor-key.pem").write_text("someone else's")
    with pytest.raises(ConfigurationError, match=MARKER_FILE):
        pki.write(tmp_path)
    assert (tmp_path / "vendor-key.pem").read_text() == "someone else's"


def test_rewriting_removes_the_previous_runs_keys(pki: TestPki, tmp_path: Path) -> None:
    pki.write(tmp_path)
    smaller = TestPki.generate([Party("only", "00-DB-12-34-56-78-92-01", PartyKind.DEVICE, ["ds"])])
    smaller.write(tmp_path)
    assert [(str(e.eui), e.role.value) for e in KeyStore.load(tmp_path).entries()] == [
        ("00-DB-12-34-56-78-92-01", "ds")
    ]


def test_seeded_generation_is_reproducible() -> None:
    def fingerprint(pki: TestPki) -> list[bytes]:
        certificates = [*pki.ca_certificates, *(e.certificate for e in pki.entries())]
        keys = [e.private_key for e in pki.entries() if e.private_key is not None]
        return [c.public_bytes(serialization.Encoding.DER) for c in certificates] + [
            k.private_numbers().private_value.to_bytes(32, "big") for k in keys
        ]

    assert fingerprint(TestPki.generate(seed=7)) == fingerprint(TestPki.generate(seed=7))
    assert fingerprint(TestPki.generate(seed=7)) != fingerprint(TestPki.generate(seed=8))
    assert fingerprint(TestPki.generate()) != fingerprint(TestPki.generate())


def test_ecdh_between_generated_key_agreement_keys_agrees(pki: TestPki) -> None:
    store = pki.keystore()
    acb, ppmid = pki.party("acb").eui, pki.party("ppmid").eui
    z_acb = store.private_key(acb, "ka").exchange(ec.ECDH(), store.public_key(ppmid, "ka"))
    z_device = store.private_key(ppmid, "ka").exchange(ec.ECDH(), store.public_key(acb, "ka"))
    assert z_acb == z_device and len(z_acb) == 32
    supplier = pki.party("supplier").eui
    z_pp = store.private_key(supplier, "pp-ka").exchange(ec.ECDH(), store.public_key(ppmid, "ka"))
    assert z_pp != z_acb


def test_generated_signing_key_verifies_with_its_certificate(pki: TestPki) -> None:
    store = pki.keystore()
    manufacturer = pki.party("manufacturer").eui
    image = bytes(range(256)) * 64
    signature = sign_raw(store.private_key(manufacturer, "ds"), image)
    assert verify_raw(store.certificate(manufacturer, "ds").public_key(), image, signature)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("parties", "problem"),
    [
        (
            [
                Party("a", "00-DB-12-34-56-78-92-01", "device"),
                Party("a", "00-DB-12-34-56-78-92-02", "device"),
            ],
            "name",
        ),
        ([Party("a", "00-DB-12-34-56-78-92-01", "device"), Party("b", "00db123456789201", "device")], "eui"),
    ],
    ids=["same-name", "same-eui"],
)
def test_parties_must_be_distinct(parties: list[Party], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        TestPki.generate(parties)


def test_party_validation() -> None:
    with pytest.raises(ValueError, match="empty subject"):
        Party("ch", "00-DB-12-34-56-78-90-B2", PartyKind.DEVICE, common_name="CH")
    with pytest.raises(ValueError, match="distinct"):
        Party("x", "00-DB-12-34-56-78-90-B2", PartyKind.DEVICE, ["ds", "ds"])
    with pytest.raises(ValueError):
        Party("x", "not an eui", PartyKind.DEVICE)
    with pytest.raises(ValueError):
        Party("x", "90-B3-D5-1F-30-01-00-00", PartyKind.ORGANISATION, ["sign"])


def test_pytest_does_not_collect_the_pki_class() -> None:
    assert TestPki.__test__ is False
