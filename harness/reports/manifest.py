"""The signed manifest of a run directory: which files the run produced, and proof they are unchanged.

``manifest.json`` lists every file of the directory (relative path, size, SHA-256) but itself and its signature
``manifest.sig``: a signature over the exact bytes of ``manifest.json`` by the key of ``manifest.cert.pem``
(``harness.reports.signing``: ECDSA P-256 as DER, or RSA PKCS #1 v1.5, both with SHA-256). Nothing inside the
directory is left out of the check. Derived views (the report a later ``ota-conformance report`` writes with
another key, ``make report``'s Allure site) go to a sibling directory with a manifest of its own whose
``derived_from`` names the run and the SHA-256 of the run's manifest.

What this proves: a file edited, added or removed after signing, and a signature that does not belong to the
manifest. Who signed it is proved only by a key someone owns and a reader pins: ``verify RUN_DIR --trust
CERT_OR_SHA256_FINGERPRINT`` passes only for a manifest signed by that certificate. A manifest signed by a
per-run key proves integrity only: anyone can make a new key and sign a forged directory.

Independent check with OpenSSL (both key types; prints ``Verified OK``)::

    openssl x509 -in manifest.cert.pem -pubkey -noout > key.pub
    openssl dgst -sha256 -verify key.pub -signature manifest.sig manifest.json
    openssl x509 -in manifest.cert.pem -noout -fingerprint -sha256   # compare with the one you trust

Formats: ``manifest/2`` (signer, algorithm, history, derived_from) is written; ``manifest/1`` (a per-run
ECDSA key whose certificate's CN names the run) still verifies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from harness.errors import InputError, UsageError
from harness.files import (
    KEY_LIMIT,
    MANIFEST_LIMIT,
    FileRefused,
    links_and_specials,
    open_regular,
    read_regular,
    refuse_links,
    write_regular,
)
from harness.reports.signing import (
    ECDSA_P256_SHA256,
    INTEGRITY_ONLY,
    RunKey,
    SigningKey,
    algorithm_of,
    common_name,
    verify_with,
)

MANIFEST_FORMAT_1 = "gb-ota-conformance/manifest/1"
MANIFEST_FORMAT = "gb-ota-conformance/manifest/2"
READABLE_MANIFEST_FORMATS = (MANIFEST_FORMAT_1, MANIFEST_FORMAT)
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
CERTIFICATE_NAME = "manifest.cert.pem"
#: Files the manifest cannot cover: itself and the signature over it.
UNCOVERED = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
#: The OpenSSL commands that check a manifest without this suite (shown in every report).
OPENSSL_COMMANDS = (
    f"openssl x509 -in {CERTIFICATE_NAME} -pubkey -noout > key.pub",
    f"openssl dgst -sha256 -verify key.pub -signature {SIGNATURE_NAME} {MANIFEST_NAME}",
    f"openssl x509 -in {CERTIFICATE_NAME} -noout -fingerprint -sha256",
)
_ALGORITHM_TEXT = {
    ECDSA_P256_SHA256: "ECDSA P-256 with SHA-256 (DER)",
    "rsa-pkcs1v15-sha256": "RSA PKCS #1 v1.5 with SHA-256",
}

__all__ = [
    "CERTIFICATE_NAME",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "OPENSSL_COMMANDS",
    "SIGNATURE_NAME",
    "FileStatus",
    "RunKey",
    "Verification",
    "certificate_fingerprint",
    "certificate_summary",
    "derived_from_run",
    "file_entries",
    "manifest_sha256",
    "parse_trust",
    "read_manifest",
    "sign_derived",
    "verify_run_dir",
    "write_manifest",
]


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


def signer_summary(key: SigningKey) -> dict[str, Any]:
    """What the manifest and the reports say about a signing key before it signs."""
    return {
        **certificate_summary(key.certificate),
        "kind": "owned" if key.owned else "per-run",
        "algorithm": key.algorithm,
        "algorithm_text": _ALGORITHM_TEXT[key.algorithm],
        "identity": "the holder of this certificate's key" if key.owned else INTEGRITY_ONLY,
    }


# -- writing -------------------------------------------------------------------------------------------
def _covered_files(run_dir: Path) -> Iterator[Path]:
    """Every regular file under ``run_dir`` the manifest covers, in path order; symbolic links are neither
    followed nor listed (``harness.files.links_and_specials`` reports them)."""
    found = []
    for root, _, files in os.walk(run_dir, followlinks=False):
        for name in files:
            path = Path(root) / name
            if stat.S_ISREG(path.lstat().st_mode) and path.relative_to(run_dir).as_posix() not in UNCOVERED:
                found.append(path)
    yield from sorted(found)


def _sha256(path: Path) -> str:
    """SHA-256 of a regular file, streamed; FileRefused for a symbolic link, FIFO, device or missing file."""
    with open_regular(path, "run file", follow_symlinks=False) as (stream, _):
        return hashlib.file_digest(stream, "sha256").hexdigest()


def manifest_sha256(run_dir: Path) -> str | None:
    """SHA-256 of the directory's manifest.json (what a derived directory records), None without one."""
    try:
        return _sha256(run_dir / MANIFEST_NAME)
    except FileRefused:
        return None


def derived_from_run(run_dir: Path) -> dict[str, Any]:
    """What a directory derived from a run (a report or a site written beside it) records about the run: its id,
    where it is relative to the derived directory, and its manifest's SHA-256 and signer (None when unsigned)."""
    manifest: Any = {}
    with contextlib.suppress(FileRefused, ValueError):
        manifest = _json(read_regular(run_dir / MANIFEST_NAME, "manifest", MANIFEST_LIMIT, follow_symlinks=False))
    if not isinstance(manifest, dict):
        manifest = {}
    return {
        "run_id": manifest.get("run_id", run_dir.name),
        "run_dir": f"../{run_dir.name}",
        "manifest_sha256": manifest_sha256(run_dir),
        "signer_certificate_sha256": manifest.get("certificate_sha256"),
    }


def sign_derived(directory: Path, run_dir: Path, suite_version: str) -> Path:
    """Sign a directory derived from ``run_dir`` with a key made for it (integrity only), naming the run."""
    derived_from = derived_from_run(run_dir)
    key = RunKey.generate(str(derived_from["run_id"]), suite_version)
    return write_manifest(
        directory, key, run_id=str(derived_from["run_id"]), suite_version=suite_version, derived_from=derived_from
    )


def file_entries(run_dir: Path) -> list[dict[str, Any]]:
    """Relative path, size and SHA-256 of every file the manifest covers, in path order."""
    return [
        {"path": path.relative_to(run_dir).as_posix(), "size": path.stat().st_size, "sha256": _sha256(path)}
        for path in _covered_files(run_dir)
    ]


def write_manifest(
    run_dir: Path,
    key: SigningKey,
    *,
    run_id: str,
    suite_version: str,
    history: list[Mapping[str, Any]] | None = None,
    derived_from: Mapping[str, Any] | None = None,
) -> Path:
    """Write the certificate, then the manifest over every file (the certificate included), then the
    signature; a per-run key is discarded afterwards. Call it last: a file written later is reported as extra.

    ``history``: earlier signatures of this directory (``report`` re-signing with the same key records one);
    ``derived_from``: the run a derived directory was made from (its id, path and manifest SHA-256).
    """
    refuse_links(run_dir, "directory to sign", "remove it: a signed directory holds regular files only")
    write_regular(run_dir / CERTIFICATE_NAME, key.certificate.public_bytes(serialization.Encoding.PEM), "certificate")
    for name in UNCOVERED:  # a previous manifest must not survive half-replaced
        (run_dir / name).unlink(missing_ok=True)
    signer = signer_summary(key)
    manifest = {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "suite_version": suite_version,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "hash": "sha256",
        "signature": f"{signer['algorithm_text']} over the bytes of {MANIFEST_NAME}, in {SIGNATURE_NAME}",
        "signature_algorithm": key.algorithm,
        "signer": {k: signer[k] for k in ("kind", "subject", "fingerprint_sha256", "identity")},
        "certificate": CERTIFICATE_NAME,
        "certificate_sha256": signer["fingerprint_sha256"],
        "history": [dict(h) for h in history or []],
        "derived_from": dict(derived_from) if derived_from else None,
        "files": file_entries(run_dir),
    }
    data = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    write_regular(run_dir / MANIFEST_NAME, data, "manifest")
    write_regular(run_dir / SIGNATURE_NAME, key.sign(data), "signature")
    key.discard()
    return run_dir / MANIFEST_NAME


# -- verifying -----------------------------------------------------------------------------------------
class FileStatus(StrEnum):
    OK = "OK"
    CHANGED = "CHANGED"
    MISSING = "MISSING"
    EXTRA = "EXTRA"
    BAD_ENTRY = "BAD_ENTRY"
    NOT_REGULAR = "NOT_REGULAR"  # a symbolic link, FIFO, socket, device or empty directory: never followed or read


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: FileStatus
    detail: str = ""


@dataclass
class Verification:
    """The verdict on a run directory: the signature, the signer against a trusted certificate, each file."""

    manifest: dict[str, Any]
    signature_valid: bool
    signature_detail: str
    files: list[FileCheck]
    certificate: dict[str, str] | None = None
    #: None: no --trust given (the signer is unverified); True/False: signed by the trusted certificate or not.
    trusted: bool | None = None
    trust_detail: str = ""
    #: A derived directory's link to its run: (ok, detail); None for a run directory.
    derived: tuple[bool, str] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[FileCheck]:
        return [f for f in self.files if f.status is not FileStatus.OK]

    @property
    def per_run_key(self) -> bool:
        signer = self.manifest.get("signer")
        kind = signer.get("kind") if isinstance(signer, Mapping) else None
        return self.manifest.get("format") == MANIFEST_FORMAT_1 or kind != "owned"

    @property
    def valid(self) -> bool:
        return (
            self.signature_valid
            and not self.problems
            and self.trusted is not False
            and (self.derived is None or self.derived[0])
        )


def read_manifest(run_dir: Path) -> tuple[bytes, dict[str, Any]]:
    """The manifest's bytes and content; InputError when there is nothing usable to verify."""
    if not run_dir.is_dir():
        raise InputError(f"{run_dir} is not a directory. ACTION: give the run directory (reports/<run-id>).")
    path = run_dir / MANIFEST_NAME
    if not path.is_file():
        from harness.cli.hints import command

        raise InputError(
            f"{path} does not exist: this run directory was never signed. "
            f"ACTION: run `{command('report', run_dir)}` to write the report and its manifest."
        )
    data = read_regular(path, "manifest", MANIFEST_LIMIT, follow_symlinks=False)  # FileRefused: exit 2
    try:
        manifest = _json(data)
    except ValueError as err:
        raise InputError(f"{path} is not JSON ({err}); it cannot be verified.") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_MANIFEST_FORMATS:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise InputError(f"{path}: expected format {MANIFEST_FORMAT!r}, found {_short(found)}; not a run manifest.")
    if not isinstance(manifest.get("files"), list):
        raise InputError(f"{path}: the manifest has no list of files; it cannot be verified.")
    return data, manifest


def _json(data: bytes) -> Any:
    """JSON from a file someone else may have made: ValueError (never RecursionError) for anything unreadable."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text: {err.reason} at offset {err.start}") from None


def _short(value: object, limit: int = 120) -> str:
    """A value from a file, quoted for a message: its repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def _check_signature(run_dir: Path, data: bytes, manifest: dict[str, Any]) -> tuple[bool, str, dict | None]:
    cert_path, sig_path = run_dir / CERTIFICATE_NAME, run_dir / SIGNATURE_NAME
    if not os.path.lexists(sig_path):
        return False, f"{SIGNATURE_NAME} is missing: the manifest is unsigned", None
    if not os.path.lexists(cert_path):
        return False, f"{CERTIFICATE_NAME} is missing: the signature cannot be checked", None
    try:
        signature = read_regular(sig_path, "signature", KEY_LIMIT, follow_symlinks=False)
        pem = read_regular(cert_path, "certificate", KEY_LIMIT, follow_symlinks=False)
    except FileRefused as err:
        return False, f"{err}: the signature cannot be checked", None
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as err:
        return False, f"{CERTIFICATE_NAME} is not a PEM certificate ({err})", None
    summary = certificate_summary(certificate)
    public_key = certificate.public_key()
    algorithm = algorithm_of(public_key)
    old_format = manifest.get("format") == MANIFEST_FORMAT_1
    if algorithm is None or (old_format and algorithm != ECDSA_P256_SHA256):
        accepted = "an ECDSA P-256 key" if old_format else "an ECDSA P-256 or RSA (2048 bits or more) key"
        return False, f"{CERTIFICATE_NAME} does not hold {accepted}", summary
    if not old_format and manifest.get("signature_algorithm") != algorithm:
        named = manifest.get("signature_algorithm")
        return False, f"the manifest names algorithm {named}, the certificate's key is {algorithm}", summary
    try:
        verify_with(public_key, signature, data)  # type: ignore[arg-type]
    except InvalidSignature:
        return (
            False,
            f"{SIGNATURE_NAME} is not a signature of {MANIFEST_NAME} by the key of {CERTIFICATE_NAME}",
            summary,
        )
    if manifest.get("certificate_sha256") != summary["fingerprint_sha256"]:
        named = _short(manifest.get("certificate_sha256"))
        return False, f"the manifest names certificate {named}, not this one", summary
    if old_format:  # format 1: the per-run certificate names the run
        run_id = str(manifest.get("run_id"))
        names = [a.value for a in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if names != [common_name(run_id)]:
            return False, f"the certificate's subject ({summary['subject']}) does not name run {run_id}", summary
    return True, f"{_ALGORITHM_TEXT[algorithm]} by {summary['subject']}", summary


def _safe_relative(path: object) -> str | None:
    """The entry's path if it stays inside the run directory, else None (never opened)."""
    if not isinstance(path, str) or not path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path:
        return None
    return pure.as_posix()


def _check_entry(run_dir: Path, entry: object, specials: Mapping[str, str]) -> FileCheck:
    """One manifest entry against the directory. Nothing is followed: an entry that is (or is reached
    through) a symbolic link, FIFO or device is NOT_REGULAR, and a file whose size differs is CHANGED unread."""
    if not isinstance(entry, dict) or (rel := _safe_relative(entry.get("path"))) is None:
        return FileCheck(_short(entry), FileStatus.BAD_ENTRY, "not a relative path inside the run directory")
    parts = PurePosixPath(rel).parts
    through = next((p for i in range(1, len(parts) + 1) if (p := "/".join(parts[:i])) in specials), None)
    if through is not None:
        reached = "is" if through == rel else f"is reached through {through}, which is"
        return FileCheck(rel, FileStatus.NOT_REGULAR, f"{reached} {specials[through]}: not followed or read")
    listed = f"manifest: {_short(entry.get('size'))} octets, SHA-256 {_short(entry.get('sha256'))}"
    try:
        with open_regular(run_dir / rel, "run file", follow_symlinks=False) as (stream, size):
            if size != entry.get("size"):
                return FileCheck(rel, FileStatus.CHANGED, f"{listed}; now: {size} octets (not hashed)")
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
    except FileRefused as err:
        if os.path.lexists(run_dir / rel):  # False also for a name the file system cannot hold
            return FileCheck(rel, FileStatus.NOT_REGULAR, f"{err.reason}; listed in the manifest")
        return FileCheck(rel, FileStatus.MISSING, "listed in the manifest, not in the run directory")
    if digest != entry.get("sha256"):
        return FileCheck(rel, FileStatus.CHANGED, f"{listed}; now: {size} octets, SHA-256 {digest}")
    return FileCheck(rel, FileStatus.OK)


_HEX = re.compile(r"[0-9a-f]{64}")


def parse_trust(value: str) -> str:
    """``--trust``: a pinned certificate (PEM or DER file) or its SHA-256 fingerprint (hex, colons optional),
    as the colon-separated upper-case fingerprint; UsageError for anything else."""
    path = Path(value)
    if path.exists():
        data = read_regular(path, "certificate to trust", KEY_LIMIT, error=UsageError)
        try:
            certificate = (
                x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
            )
        except ValueError as err:
            raise UsageError(f"--trust {value}: not an X.509 certificate (PEM or DER): {err}") from None
        return certificate_fingerprint(certificate)
    digits = value.strip().lower().replace(":", "").removeprefix("sha256=").replace("sha256 fingerprint=", "")
    if not _HEX.fullmatch(digits):
        raise UsageError(
            f"--trust {value!r}: give the signer's certificate file or its SHA-256 fingerprint (64 hex digits, "
            f"colons allowed; `{OPENSSL_COMMANDS[2]}` prints it)"
        )
    return bytes.fromhex(digits).hex(":").upper()


def _check_trust(certificate: dict[str, str] | None, trusted: str) -> tuple[bool, str]:
    if certificate is None:
        return False, "no certificate to compare with the trusted one"
    if certificate["fingerprint_sha256"] == trusted:
        return True, f"signed by the trusted certificate {trusted}"
    return False, f"signed by {certificate['fingerprint_sha256']}, not by the trusted certificate {trusted}"


def _check_derived(run_dir: Path, derived_from: Mapping[str, Any]) -> tuple[bool, str]:
    """A derived directory names the run and its manifest's SHA-256: the run beside it must still match."""
    relative = _safe_relative(str(derived_from.get("run_dir", "")).removeprefix("../"))
    run = run_dir.parent / relative if relative else None
    digest = manifest_sha256(run) if run is not None else None
    if digest is None:
        return True, f"derived from run {derived_from.get('run_id')}; that run directory is not beside it (not checked)"
    if digest != derived_from.get("manifest_sha256"):
        return False, (
            f"derived from run {derived_from.get('run_id')}, whose manifest is no longer the one it was made from "
            f"(SHA-256 {digest}, recorded {derived_from.get('manifest_sha256')})"
        )
    return True, f"derived from run {derived_from.get('run_id')}: its manifest matches (verify that run as well)"


def verify_run_dir(run_dir: Path, trust: str | None = None) -> Verification:
    """Check the signature and every file against the manifest, and with ``trust`` (a fingerprint from
    ``parse_trust``) that the signer is that certificate; InputError if there is no usable manifest."""
    data, manifest = read_manifest(run_dir)
    signature_valid, signature_detail, certificate = _check_signature(run_dir, data, manifest)
    specials = {path.relative_to(run_dir).as_posix(): kind for path, kind in links_and_specials(run_dir)}
    checks = [_check_entry(run_dir, entry, specials) for entry in manifest["files"]]
    listed = {c.path for c in checks if c.status is not FileStatus.BAD_ENTRY}
    checks += [
        FileCheck(rel, FileStatus.EXTRA, "in the run directory, not in the manifest")
        for rel in (p.relative_to(run_dir).as_posix() for p in _covered_files(run_dir))
        if rel not in listed
    ]
    checks += [
        FileCheck(rel, FileStatus.NOT_REGULAR, f"{kind}, not in the manifest (a signed directory holds files only)")
        for rel, kind in specials.items()
        if rel not in listed and rel not in UNCOVERED
    ]
    result = Verification(manifest, signature_valid, signature_detail, checks, certificate)
    if trust is not None:
        result.trusted, result.trust_detail = _check_trust(certificate, trust)
    elif result.per_run_key:
        result.trust_detail = f"a key made for the run ({INTEGRITY_ONLY})"
    else:
        result.trust_detail = "pass --trust CERT_OR_SHA256_FINGERPRINT to check that the key is the one you expect"
    if isinstance(manifest.get("derived_from"), Mapping):
        result.derived = _check_derived(run_dir, manifest["derived_from"])
    history = manifest.get("history")
    for entry in history if isinstance(history, list) else []:
        if isinstance(entry, Mapping):
            result.notes.append(
                f"{entry.get('event', 'signed')} on {entry.get('utc')} (earlier manifest SHA-256 "
                f"{entry.get('previous_manifest_sha256')})"
            )
    return result
