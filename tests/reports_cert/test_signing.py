"""A signature someone owns: `report` (and `run`, through the same code) sign with the test house's key when
given one; `verify --trust` passes only for that key; `report` never replaces a run's signature silently; the
signature checks with openssl; without a key every output says "integrity only"."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cert_fakerun import RUN_ID
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from harness.cli import main
from harness.exitcodes import CheckExit
from harness.reports.certification import HTML_NAME, PDF_NAME, derived_dir, report_run, write_certification
from harness.reports.manifest import (
    CERTIFICATE_NAME,
    MANIFEST_NAME,
    OPENSSL_COMMANDS,
    SIGNATURE_NAME,
    manifest_sha256,
    parse_trust,
    verify_run_dir,
)
from harness.reports.signing import CERT_ENV, KEY_ENV, PASSPHRASE_ENV, load_owned_key

PASSPHRASE = "correct horse battery staple"  # a test key's passphrase, made for this test


def _owned(tmp_path: Path, kind: str, *, name: str = "Acme Test House", passphrase: str | None = None):
    """A test key of ``kind`` (ec or rsa) and its self-signed certificate, written as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} (TEST key)")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    key_path, cert_path = tmp_path / f"{kind}-{name[:4]}.key.pem", tmp_path / f"{kind}-{name[:4]}.cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _fingerprint(cert_path: Path) -> str:
    return x509.load_pem_x509_certificate(cert_path.read_bytes()).fingerprint(hashes.SHA256()).hex(":").upper()


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_an_owned_key_signs_and_verify_trusts_only_it(
    kind: str, fake_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, cert = _owned(tmp_path, kind)
    write_certification(fake_run, pdf=False)  # the run's end: signed by a per-run key
    code, out = _cli(capsys, "report", fake_run, "--no-pdf", "--signing-key", key, "--signing-cert", cert)
    assert code == 0, out
    assert "Signed by CN=Acme Test House (TEST key)" in out and "integrity only" not in out
    # the run had no signature of this key: the report went beside it, the run was signed before by a run key
    files = verify_run_dir(derived_dir(fake_run), parse_trust(str(cert)))
    assert files.valid and files.trusted
    assert "Signed by CN=Acme Test House" in (derived_dir(fake_run) / HTML_NAME).read_text()
    for trust in (cert, _fingerprint(cert), _fingerprint(cert).replace(":", "").lower()):
        code, out = _cli(capsys, "verify", derived_dir(fake_run), "--trust", trust)
        assert code == CheckExit.VALID and "TRUSTED   signer: signed by the trusted certificate" in out, out
    _, other_cert = _owned(tmp_path, kind, name="Someone Else")
    code, out = _cli(capsys, "verify", derived_dir(fake_run), "--trust", other_cert)
    assert code == CheckExit.INVALID and "not by the trusted certificate" in out
    code, out = _cli(capsys, "verify", derived_dir(fake_run))
    assert code == CheckExit.VALID and "UNVERIFIED signer: pass --trust" in out


def test_the_run_key_says_integrity_only_everywhere(fake_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(capsys, "report", fake_run, "--no-pdf")
    assert code == 0 and "integrity only: proves no one's identity" in out
    page = (fake_run / HTML_NAME).read_text()
    assert "integrity only: proves no one&#39;s identity" in page or "integrity only: proves no one's identity" in page
    code, out = _cli(capsys, "verify", fake_run)
    assert code == CheckExit.VALID and "integrity only: proves no one's identity" in out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
@pytest.mark.parametrize("kind", ["ec", "rsa"])
def test_openssl_verifies_the_manifest_with_the_documented_commands(kind: str, fake_run: Path, tmp_path: Path) -> None:
    key, cert = _owned(tmp_path, kind)
    write_certification(fake_run, key=load_owned_key(key, cert), pdf=False)
    script = "\n".join(OPENSSL_COMMANDS)  # exactly what the report and the manifest's docstring print
    result = subprocess.run(["sh", "-e", "-c", script], cwd=fake_run, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Verified OK" in result.stdout
    assert _fingerprint(cert) in result.stdout.replace("sha256 Fingerprint=", "").upper()
    (fake_run / MANIFEST_NAME).write_text((fake_run / MANIFEST_NAME).read_text().replace("junit", "JUNIT"))
    tampered = subprocess.run(["sh", "-c", script], cwd=fake_run, capture_output=True, text=True, check=False)
    assert "Verification failure" in tampered.stdout + tampered.stderr


def test_an_encrypted_key_takes_its_passphrase_from_the_environment(
    fake_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key, cert = _owned(tmp_path, "ec", passphrase=PASSPHRASE)
    write_certification(fake_run, pdf=False)
    monkeypatch.setenv(KEY_ENV, str(key))
    monkeypatch.setenv(CERT_ENV, str(cert))
    code, out = _cli(capsys, "report", fake_run, "--no-pdf")
    assert code == 2 and f"put its passphrase in the environment variable {PASSPHRASE_ENV}" in out
    assert "Traceback" not in out
    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    code, out = _cli(capsys, "report", fake_run, "--no-pdf")
    assert code == 2 and "wrong passphrase?" in out
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    code, out = _cli(capsys, "report", fake_run, "--no-pdf")
    assert code == 0 and "Signed by CN=Acme Test House" in out, out
    assert PASSPHRASE not in (derived_dir(fake_run) / MANIFEST_NAME).read_text()


def test_a_certificate_of_another_key_or_half_a_key_is_a_usage_error(
    fake_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = _owned(tmp_path, "ec")
    _, other_cert = _owned(tmp_path, "ec", name="Other")
    code, out = _cli(capsys, "report", fake_run, "--signing-key", key, "--signing-cert", other_cert)
    assert code == 2 and "is not the certificate of the key" in out
    code, out = _cli(capsys, "report", fake_run, "--signing-key", key)
    assert code == 2 and "--signing-cert" in out
    small = rsa.generate_private_key(65537, 1024)
    (tmp_path / "small.pem").write_bytes(
        small.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    code, out = _cli(capsys, "report", fake_run, "--signing-key", tmp_path / "small.pem", "--signing-cert", other_cert)
    assert code == 2 and "neither ECDSA P-256 nor RSA of 2048 bits" in out
    assert not (fake_run / MANIFEST_NAME).exists()  # nothing was signed
    code, out = _cli(capsys, "run", "--signing-key", key, "--signing-cert", other_cert, "--reports-dir", tmp_path / "r")
    assert code == 2 and "is not the certificate of the key" in out and not (tmp_path / "r").exists()


def test_report_with_the_same_key_re_signs_the_run_and_records_it(fake_run: Path, tmp_path: Path) -> None:
    key, cert = _owned(tmp_path, "ec")
    owned = load_owned_key(key, cert)
    write_certification(fake_run, key=owned, pdf=False)  # what `run --signing-key` does at its end
    first = json.loads((fake_run / MANIFEST_NAME).read_text())
    first_digest = manifest_sha256(fake_run)
    files = report_run(fake_run, key=load_owned_key(key, cert), pdf=False)
    assert files.resigned and not files.derived and files.directory == fake_run
    manifest = json.loads((fake_run / MANIFEST_NAME).read_text())
    (entry,) = manifest["history"]
    assert entry["previous_manifest_sha256"] == first_digest and entry["previous_created_utc"] == first["created_utc"]
    assert "re-signed" in entry["event"]
    result = verify_run_dir(fake_run, parse_trust(str(cert)))
    assert result.valid and any("re-signed" in note for note in result.notes)
    assert "re-signed by `ota-conformance report`" in (fake_run / HTML_NAME).read_text()
    assert not derived_dir(fake_run).exists()


@pytest.mark.parametrize("with_key", [False, True], ids=["no-key", "another-key"])
def test_report_with_another_key_or_none_writes_beside_the_run(fake_run: Path, tmp_path: Path, with_key: bool) -> None:
    write_certification(fake_run, pdf=False)  # the run's end: a per-run key, gone afterwards
    before = (fake_run / MANIFEST_NAME).read_bytes(), (fake_run / SIGNATURE_NAME).read_bytes()
    key = load_owned_key(*_owned(tmp_path, "rsa")) if with_key else None
    files = report_run(fake_run, key=key, pdf=False)
    assert files.derived and files.directory == derived_dir(fake_run) == fake_run.with_name(f"{RUN_ID}.report")
    assert ((fake_run / MANIFEST_NAME).read_bytes(), (fake_run / SIGNATURE_NAME).read_bytes()) == before
    assert verify_run_dir(fake_run).valid  # the run is untouched
    derived = verify_run_dir(files.directory)
    assert derived.valid and derived.derived is not None and "its manifest matches" in derived.derived[1]
    manifest = json.loads((files.directory / MANIFEST_NAME).read_text())
    assert manifest["derived_from"]["manifest_sha256"] == manifest_sha256(fake_run)
    page = (files.directory / HTML_NAME).read_text()
    assert f'href="../{RUN_ID}/evidence/a-tampered-image/capture.pcapng"' in page  # evidence stays in the run
    assert {p.name for p in files.directory.iterdir()} == {HTML_NAME, MANIFEST_NAME, SIGNATURE_NAME, CERTIFICATE_NAME}


def test_an_edited_run_gets_no_report_and_its_derived_report_stops_verifying(
    fake_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old bug: edit conformance.json, run `report`, and `verify` said VALID."""
    write_certification(fake_run, pdf=False)
    report_run(fake_run, pdf=False)
    statement = fake_run / "conformance.json"
    statement.write_text(statement.read_text().replace('"FAIL"', '"PASS"'))
    code, out = _cli(capsys, "report", fake_run, "--no-pdf")
    assert code == CheckExit.INVALID and "does not match its signed manifest" in out and "verify" in out
    assert _cli(capsys, "verify", fake_run)[0] == CheckExit.INVALID
    (fake_run / MANIFEST_NAME).write_text((fake_run / MANIFEST_NAME).read_text().replace("sha256", "SHA256", 1))
    code, out = _cli(capsys, "verify", derived_dir(fake_run))
    assert code == CheckExit.INVALID and "no longer the one it was made from" in out


def test_a_pdf_made_later_never_changes_the_run(fake_run: Path) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:
        pytest.skip(f"WeasyPrint cannot write PDFs here: {err}")
    write_certification(fake_run, pdf=False)
    signed = {p: p.read_bytes() for p in fake_run.rglob("*") if p.is_file()}
    files = report_run(fake_run, pdf=True)
    assert files.pdf == derived_dir(fake_run) / PDF_NAME and files.pdf.read_bytes().startswith(b"%PDF")
    assert {p: p.read_bytes() for p in fake_run.rglob("*") if p.is_file()} == signed
    assert verify_run_dir(fake_run).valid and verify_run_dir(derived_dir(fake_run)).valid


def test_trust_takes_a_certificate_or_a_fingerprint_and_nothing_else(tmp_path: Path) -> None:
    from harness.errors import UsageError

    _, cert = _owned(tmp_path, "ec")
    der = tmp_path / "cert.der"
    der.write_bytes(x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER))
    assert parse_trust(str(cert)) == parse_trust(str(der)) == _fingerprint(cert)
    for bad in ("deadbeef", "not a file", str(tmp_path / "key.txt")):
        with pytest.raises(UsageError, match="SHA-256 fingerprint"):
            parse_trust(bad)
