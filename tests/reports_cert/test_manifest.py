"""The signed manifest: every file's hash under a per-run key; `verify` finds any edit, addition, removal or
signature tampering, through the library and through `ota-conformance verify` (exit codes of CheckExit)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from cert_fakerun import PLOT, RUN_ID, SUITE_VERSION
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.cli import main
from harness.errors import InputError
from harness.exitcodes import CheckExit
from harness.reports.manifest import (
    CERTIFICATE_NAME,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    FileStatus,
    RunKey,
    file_entries,
    verify_run_dir,
    write_manifest,
)


def _verify(run_dir: Path, capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    code = main(["verify", str(run_dir), *options])
    out = capsys.readouterr()
    return code, out.out + out.err


def _statuses(run_dir: Path) -> dict[str, FileStatus]:
    return {f.path: f.status for f in verify_run_dir(run_dir).files}


def test_the_manifest_lists_every_file_but_itself_and_its_signature(signed_template: Path) -> None:
    manifest = json.loads((signed_template / MANIFEST_NAME).read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(signed_template).as_posix() for p in signed_template.rglob("*") if p.is_file()}
    assert listed == on_disk - {MANIFEST_NAME, SIGNATURE_NAME}
    assert {"certification.html", CERTIFICATE_NAME, "conformance.json", PLOT} <= listed
    assert manifest["files"] == file_entries(signed_template)
    assert (manifest["run_id"], manifest["suite_version"]) == (RUN_ID, SUITE_VERSION)


def test_a_signed_run_verifies(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _verify(signed_run, capsys)
    assert code == CheckExit.VALID
    assert "OK        signature" in out
    assert f"OK        {PLOT}" in out
    assert "VALID: the signature and all" in out
    # a per-run key: every output says what it does not prove
    assert "UNVERIFIED signer: a key made for the run (integrity only: proves no one's identity)" in out


def test_an_edited_file_is_invalid(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = signed_run / "conformance.json"
    path.write_text(path.read_text().replace('"FAIL"', '"PASS"'))
    code, out = _verify(signed_run, capsys, "--quiet")
    assert code == CheckExit.INVALID
    assert "CHANGED   conformance.json: manifest:" in out
    assert "OK        signature" in out  # the manifest itself is intact
    assert "OK        junit.xml" not in out  # --quiet shows only the problems
    assert "INVALID: 1 problem(s)" in out


def test_a_same_size_edit_is_found_by_its_hash(signed_run: Path) -> None:
    path = signed_run / PLOT
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    assert _statuses(signed_run)[PLOT] is FileStatus.CHANGED


def test_a_removed_file_is_invalid(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed_run / "junit.xml").unlink()
    code, out = _verify(signed_run, capsys)
    assert code == CheckExit.INVALID
    assert "MISSING   junit.xml: listed in the manifest, not in the run directory" in out


def test_an_added_file_is_invalid(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (signed_run / "allure-results" / "2-result.json").write_text("{}")
    code, out = _verify(signed_run, capsys)
    assert code == CheckExit.INVALID
    assert "EXTRA     allure-results/2-result.json: in the run directory, not in the manifest" in out


def test_a_tampered_signature_is_invalid(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    signature = bytearray((signed_run / SIGNATURE_NAME).read_bytes())
    signature[-3] ^= 0x01
    (signed_run / SIGNATURE_NAME).write_bytes(bytes(signature))
    code, out = _verify(signed_run, capsys)
    assert code == CheckExit.INVALID
    assert "INVALID   signature: manifest.sig is not a signature of manifest.json" in out


def test_a_manifest_rewritten_to_match_an_edit_breaks_the_signature(signed_run: Path) -> None:
    path = signed_run / "junit.xml"
    path.write_text("<testsuites><testcase/></testsuites>\n")
    manifest = json.loads((signed_run / MANIFEST_NAME).read_text())
    manifest["files"] = file_entries(signed_run)
    (signed_run / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    result = verify_run_dir(signed_run)
    assert not result.problems  # every hash matches the forged manifest...
    assert not result.signature_valid and not result.valid  # ...whose signature does not


def test_a_directory_re_signed_with_another_key_does_not_match_the_recorded_certificate(signed_run: Path) -> None:
    manifest = json.loads((signed_run / MANIFEST_NAME).read_text())
    write_manifest(signed_run, RunKey.generate(RUN_ID, SUITE_VERSION), run_id=RUN_ID, suite_version=SUITE_VERSION)
    result = verify_run_dir(signed_run)
    assert result.valid  # self-consistent: only the fingerprint received elsewhere tells the keys apart
    assert result.certificate["fingerprint_sha256"] != manifest["certificate_sha256"]


def write_format_1_manifest(run_dir: Path, key: RunKey, run_id: str) -> None:
    """A manifest as the suite wrote it before owned keys (format 1: a per-run key naming the run)."""
    from cryptography.hazmat.primitives import serialization

    from harness.reports.manifest import certificate_fingerprint

    (run_dir / CERTIFICATE_NAME).write_bytes(key.certificate.public_bytes(serialization.Encoding.PEM))
    for name in (MANIFEST_NAME, SIGNATURE_NAME):
        (run_dir / name).unlink(missing_ok=True)
    manifest = {
        "format": "gb-ota-conformance/manifest/1",
        "run_id": run_id,
        "suite_version": SUITE_VERSION,
        "created_utc": "2026-01-01T00:00:00+00:00",
        "hash": "sha256",
        "signature": "ECDSA P-256 with SHA-256 over the bytes of manifest.json, DER, in manifest.sig",
        "certificate": CERTIFICATE_NAME,
        "certificate_sha256": certificate_fingerprint(key.certificate),
        "files": file_entries(run_dir),
    }
    data = (json.dumps(manifest, indent=2) + "\n").encode()
    (run_dir / MANIFEST_NAME).write_bytes(data)
    (run_dir / SIGNATURE_NAME).write_bytes(key.sign(data))


def test_a_run_signed_in_the_old_format_still_verifies(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_format_1_manifest(signed_run, RunKey.generate(RUN_ID, SUITE_VERSION), RUN_ID)
    code, out = _verify(signed_run, capsys)
    assert code == CheckExit.VALID, out
    assert "integrity only: proves no one's identity" in out
    (signed_run / "junit.xml").write_text("<edited/>")
    assert _verify(signed_run, capsys)[0] == CheckExit.INVALID


def test_an_old_format_certificate_of_another_run_is_invalid(signed_run: Path) -> None:
    write_format_1_manifest(signed_run, RunKey.generate("another-run", SUITE_VERSION), RUN_ID)
    result = verify_run_dir(signed_run)
    assert not result.signature_valid and "does not name run" in result.signature_detail


@pytest.mark.parametrize("name", [SIGNATURE_NAME, CERTIFICATE_NAME])
def test_a_missing_signature_or_certificate_is_invalid(signed_run: Path, name: str) -> None:
    (signed_run / name).unlink()
    result = verify_run_dir(signed_run)
    assert not result.signature_valid and name in result.signature_detail and "missing" in result.signature_detail


def test_an_entry_leaving_the_run_directory_is_never_opened(signed_run: Path) -> None:
    manifest = json.loads((signed_run / MANIFEST_NAME).read_text())
    manifest["files"].append({"path": "../../etc/passwd", "size": 1, "sha256": "00"})
    (signed_run / MANIFEST_NAME).write_text(json.dumps(manifest))
    checks = verify_run_dir(signed_run).files
    assert [c.status for c in checks if "passwd" in c.path] == [FileStatus.BAD_ENTRY]


def test_no_manifest_is_unusable(fake_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _verify(fake_run, capsys)
    assert code == CheckExit.UNUSABLE
    assert "manifest.json does not exist" in out and "ota-conformance report" in out
    assert "Traceback" not in out
    code, out = _verify(tmp_path / "nowhere", capsys)
    assert code == CheckExit.UNUSABLE and "is not a directory" in out


@pytest.mark.parametrize("content", ["{broken", '{"format": "something else", "files": []}', '{"format": 1}'])
def test_an_unreadable_manifest_is_unusable(fake_run: Path, content: str) -> None:
    (fake_run / MANIFEST_NAME).write_text(content)
    with pytest.raises(InputError):
        verify_run_dir(fake_run)


def test_the_private_key_is_never_written(signed_template: Path) -> None:
    for path in signed_template.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    assert RunKey.generate(RUN_ID, SUITE_VERSION).__repr__().count("private") == 0


def test_a_key_signs_once() -> None:
    key = RunKey.generate(RUN_ID, SUITE_VERSION)
    key.sign(b"manifest")
    key.discard()
    with pytest.raises(RuntimeError, match="discarded"):
        key.sign(b"another manifest")


def test_the_certificate_names_the_run_and_says_it_is_a_test_key(signed_template: Path) -> None:
    certificate = x509.load_pem_x509_certificate((signed_template / CERTIFICATE_NAME).read_bytes())
    subject = certificate.subject
    assert subject == certificate.issuer  # self-signed
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == f"TEST run key {RUN_ID}"
    assert SUITE_VERSION in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert "test only" in subject.rfc4514_string()
    assert isinstance(certificate.public_key().curve, ec.SECP256R1)
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature_independently(signed_template: Path, tmp_path: Path) -> None:
    public = tmp_path / "key.pub"
    subprocess.run(
        ["openssl", "x509", "-in", str(signed_template / CERTIFICATE_NAME), "-pubkey", "-noout", "-out", str(public)],
        check=True,
    )
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", str(public), "-signature", SIGNATURE_NAME, MANIFEST_NAME],
        cwd=signed_template,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "Verified OK" in result.stdout
