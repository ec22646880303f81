"""The signed manifest of a run directory: which files the run produced, and proof they are unchanged.

``manifest.json`` lists every file of the run directory (relative path, size, SHA-256) but itself and its
signature ``manifest.sig`` (a DER ECDSA P-256 / SHA-256 signature over the exact bytes of ``manifest.json``).
The key is generated for the run, used once and discarded: it is never written anywhere. Its self-signed
certificate, ``manifest.cert.pem``, names the run and the suite version and says it is a per-run test key.

What this proves: a file edited, added or removed after signing, and a signature that does not belong to
the manifest. What it cannot prove on its own: who signed. Anyone can make a new key and sign a forged
directory; a reader trusts the run only if the certificate's SHA-256 fingerprint matches the one received
with the report through another channel (e.g. quoted in the submission e-mail).

Independent check with OpenSSL::

    openssl x509 -in manifest.cert.pem -pubkey -noout > key.pub
    openssl dgst -sha256 -verify key.pub -signature manifest.sig manifest.json
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.crypto.pki import _key_usage, key_identifier
from harness.errors import InputError

MANIFEST_FORMAT = "gb-ota-conformance/manifest/1"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
CERTIFICATE_NAME = "manifest.cert.pem"
#: Files the manifest cannot cover: itself and the signature over it.
UNCOVERED = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
#: Validity of the per-run certificate. Verification ignores it (the key signs once, at the end of the run);
#: it is set only because X.509 needs one, long enough for a report archived for years.
CERTIFICATE_LIFETIME = dt.timedelta(days=3653)


# -- the per-run key -----------------------------------------------------------------------------------
@dataclass
class RunKey:
    """A run's signing key and its self-signed certificate, held in memory only."""

    certificate: x509.Certificate
    _private_key: ec.EllipticCurvePrivateKey | None = field(repr=False)

    @classmethod
    def generate(cls, run_id: str, suite_version: str) -> RunKey:
        """A fresh P-256 key and a certificate whose subject names the run and marks the key as a test key."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name(run_id)),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"GB OTA conformance suite {suite_version}"[:64]),
                x509.NameAttribute(
                    NameOID.ORGANIZATIONAL_UNIT_NAME, "per-run manifest signing key, test only, not a trust anchor"
                ),
            ]
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CERTIFICATE_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier(key_identifier(key.public_key())), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def sign(self, data: bytes) -> bytes:
        if self._private_key is None:
            raise RuntimeError("the run key was discarded after signing; generate a new one")
        return self._private_key.sign(data, ec.ECDSA(hashes.SHA256()))

    def discard(self) -> None:
        """Drop the private key: one key signs one manifest."""
        self._private_key = None


def common_name(run_id: str) -> str:
    """The certificate's CN: names the run (X.509 allows 64 characters) and says the key is a test key."""
    return f"TEST run key {run_id}"[:64]


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 over the certificate's DER, as colon-separated hex (what OpenSSL's -fingerprint prints)."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def certificate_summary(certificate: x509.Certificate) -> dict[str, str]:
    """What a report shows of the signing certificate."""
    return {
        "subject": certificate.subject.rfc4514_string(),
        "fingerprint_sha256": certificate_fingerprint(certificate),
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
        "pem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


# -- writing -------------------------------------------------------------------------------------------
def _covered_files(run_dir: Path) -> Iterator[Path]:
    for path in sorted(run_dir.rglob("*")):
        if path.is_file() and path.relative_to(run_dir).as_posix() not in UNCOVERED:
            yield path


def _sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def file_entries(run_dir: Path) -> list[dict[str, Any]]:
    """Relative path, size and SHA-256 of every file the manifest covers, in path order."""
    return [
        {"path": path.relative_to(run_dir).as_posix(), "size": path.stat().st_size, "sha256": _sha256(path)}
        for path in _covered_files(run_dir)
    ]


def write_manifest(run_dir: Path, key: RunKey, *, run_id: str, suite_version: str) -> Path:
    """Write the certificate, then the manifest over every file (the certificate included), then the
    signature; the key is discarded afterwards. Call it last: a file written later is reported as extra."""
    (run_dir / CERTIFICATE_NAME).write_bytes(key.certificate.public_bytes(serialization.Encoding.PEM))
    for name in UNCOVERED:  # a previous manifest must not survive half-replaced
        (run_dir / name).unlink(missing_ok=True)
    manifest = {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "suite_version": suite_version,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hash": "sha256",
        "signature": f"ECDSA P-256 with SHA-256 over the bytes of {MANIFEST_NAME}, DER, in {SIGNATURE_NAME}",
        "certificate": CERTIFICATE_NAME,
        "certificate_sha256": certificate_fingerprint(key.certificate),
        "files": file_entries(run_dir),
    }
    data = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    (run_dir / MANIFEST_NAME).write_bytes(data)
    (run_dir / SIGNATURE_NAME).write_bytes(key.sign(data))
    key.discard()
    return run_dir / MANIFEST_NAME


# -- verifying -----------------------------------------------------------------------------------------
class FileStatus(StrEnum):
    OK = "OK"
    CHANGED = "CHANGED"
    MISSING = "MISSING"
    EXTRA = "EXTRA"
    BAD_ENTRY = "BAD_ENTRY"


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: FileStatus
    detail: str = ""


@dataclass
class Verification:
    """The verdict on a run directory: the signature, then each file."""

    manifest: dict[str, Any]
    signature_valid: bool
    signature_detail: str
    files: list[FileCheck]
    certificate: dict[str, str] | None = None

    @property
    def problems(self) -> list[FileCheck]:
        return [f for f in self.files if f.status is not FileStatus.OK]

    @property
    def valid(self) -> bool:
        return self.signature_valid and not self.problems


def _load_manifest(run_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """The manifest's bytes and content; InputError when there is nothing usable to verify."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a directory. ACTION: give the run directory (reports/<run-id>).")
    path = run_dir / MANIFEST_NAME
    if not path.is_file():
        raise InputError(
            f"{path} does not exist: this run directory was never signed. "
            f"ACTION: run `ota-conformance report {run_dir}` to write the report and its manifest."
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path} cannot be read ({err}).") from None
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path} is not JSON ({err}); it cannot be verified.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise InputError(f"{path}: expected format {MANIFEST_FORMAT!r}, found {found!r}; not a run manifest.")
    if not isinstance(manifest.get("files"), list):
        raise InputError(f"{path}: the manifest has no list of files; it cannot be verified.")
    return data, manifest


def _check_signature(run_dir: Path, data: bytes, manifest: dict[str, Any]) -> tuple[bool, str, dict | None]:
    cert_path, sig_path = run_dir / CERTIFICATE_NAME, run_dir / SIGNATURE_NAME
    if not sig_path.is_file():
        return False, f"{SIGNATURE_NAME} is missing: the manifest is unsigned", None
    if not cert_path.is_file():
        return False, f"{CERTIFICATE_NAME} is missing: the signature cannot be checked", None
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError as err:
        return False, f"{CERTIFICATE_NAME} is not a PEM certificate ({err})", None
    summary = certificate_summary(certificate)
    public_key = certificate.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
        return False, f"{CERTIFICATE_NAME} does not hold an ECDSA P-256 key", summary
    try:
        public_key.verify(sig_path.read_bytes(), data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return (
            False,
            f"{SIGNATURE_NAME} is not a signature of {MANIFEST_NAME} by the key of {CERTIFICATE_NAME}",
            summary,
        )
    if manifest.get("certificate_sha256") != summary["fingerprint_sha256"]:
        return False, f"the manifest names certificate {manifest.get('certificate_sha256')}, not this one", summary
    run_id = str(manifest.get("run_id"))
    names = [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [common_name(run_id)]:
        return False, f"the certificate's subject ({summary['subject']}) does not name run {run_id}", summary
    return True, f"ECDSA P-256 by {summary['subject']}", summary


def _safe_relative(path: object) -> str | None:
    """The entry's path if it stays inside the run directory, else None (never opened)."""
    if not isinstance(path, str) or not path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        return None
    return pure.as_posix()


def _check_entry(run_dir: Path, entry: object) -> FileCheck:
    if not isinstance(entry, dict) or (rel := _safe_relative(entry.get("path"))) is None:
        return FileCheck(str(entry), FileStatus.BAD_ENTRY, "not a relative path inside the run directory")
    path = run_dir / rel
    if not path.is_file():
        return FileCheck(rel, FileStatus.MISSING, "listed in the manifest, not in the run directory")
    size, digest = path.stat().st_size, _sha256(path)
    if digest != entry.get("sha256") or size != entry.get("size"):
        return FileCheck(
            rel,
            FileStatus.CHANGED,
            f"manifest: {entry.get('size')} octets, SHA-256 {entry.get('sha256')}; "
            f"now: {size} octets, SHA-256 {digest}",
        )
    return FileCheck(rel, FileStatus.OK)


def verify_run_dir(run_dir: Path) -> Verification:
    """Check the signature and every file against the manifest; InputError if there is no usable manifest."""
    data, manifest = _load_manifest(run_dir)
    signature_valid, signature_detail, certificate = _check_signature(run_dir, data, manifest)
    checks = [_check_entry(run_dir, entry) for entry in manifest["files"]]
    listed = {c.path for c in checks if c.status is not FileStatus.BAD_ENTRY}
    checks += [
        FileCheck(rel, FileStatus.EXTRA, "in the run directory, not in the manifest")
        for rel in (p.relative_to(run_dir).as_posix() for p in _covered_files(run_dir))
        if rel not in listed
    ]
    return Verification(manifest, signature_valid, signature_detail, checks, certificate)
