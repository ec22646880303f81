"""Key store: certificates and private keys indexed by (EUI-64, key role), read from the DCC Boxed layout.

The suite signs and MACs as the supplier and the DCC and checks what the device signs, so every step needs
"the DS key of 90-B3-D5-1F-30-01-00-00" without caring whether it came from the DCC's public test keys, a
vendor's directory or the per-run test PKI. Broken input files stop the run with a ConfigurationError that
names the file; private key material never appears in a repr, a note or a report summary.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.eui64 import Eui64, EuiLike, certificate_eui64
from harness.errors import ConfigurationError


class KeyRole(StrEnum):
    """Which of a party's key pairs: GBCS gives each party separate signing and key-agreement keys."""

    DS = "ds"
    """Digital signing (ECDSA): signed commands, responses, alerts and firmware images."""
    KA = "ka"
    """Key agreement (ECDH): the MAC and encryption keys of GBCS messages."""
    PP_KA = "pp-ka"
    """A supplier's prepayment key-agreement key (the DCC Boxed "-pp-ka" files), separate from its KA key."""

    @property
    def needs_key_agreement(self) -> bool:
        """Whether the certificate's keyUsage must be keyAgreement (else digitalSignature)."""
        return self is not KeyRole.DS


RoleLike: TypeAlias = KeyRole | str

CERTIFICATE_SUFFIX = ".pem"
PRIVATE_KEY_SUFFIX = ".key"

# DCC Boxed layout: <eui64 hex>-<role>.pem (certificate) and the same stem with .key (PKCS#8 private key).
_KEY_FILE = re.compile(r"(?P<eui>[0-9a-f]{16})-(?P<role>ds|ka|pp-ka)(?P<suffix>\.pem|\.key)", re.IGNORECASE)


def key_file_stem(eui: Eui64, role: KeyRole) -> str:
    """File name without suffix in the DCC Boxed layout, e.g. "90b3d51f30010000-ds"."""
    return f"{eui.hex}-{role.value}"


def parse_key_file_name(name: str) -> tuple[Eui64, KeyRole, str] | None:
    """(EUI-64, role, ".pem" or ".key") for a DCC Boxed key file name (any case), else None."""
    match = _KEY_FILE.fullmatch(name)
    if match is None:
        return None
    return Eui64.parse(match["eui"]), KeyRole(match["role"].lower()), match["suffix"].lower()


_P256 = "an EC P-256 key (GBCS uses P-256 only)"


def _is_p256(key: object) -> bool:
    return isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(
        key.curve, ec.SECP256R1
    )


@dataclass(frozen=True, slots=True, repr=False)
class KeyEntry:
    """One party's key of one role: its certificate (always) and private key (only for parties we play).

    `source` says where the certificate came from and `key_source` where the private key came from (a file
    path, or "generated test PKI"). Constructing an entry whose private key does not belong to the
    certificate raises ConfigurationError naming both.
    """

    eui: Eui64
    role: KeyRole
    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey | None = field(default=None, compare=False)
    source: str = "in memory"
    key_source: str | None = None

    def __post_init__(self) -> None:
        if not _is_p256(self.certificate.public_key()):
            raise ConfigurationError(f"{self.source}: the certificate's key is not {_P256}")
        if self.private_key is None:
            return
        key_source = self.key_source or self.source
        if not _is_p256(self.private_key):
            raise ConfigurationError(f"{key_source}: the private key is not {_P256}")
        if self.private_key.public_key() != self.certificate.public_key():
            raise ConfigurationError(
                f"{key_source}: the private key does not belong to the certificate {self.source} "
                f"({self.eui} {self.role})"
            )

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The certificate's public key (P-256, checked on construction)."""
        key = self.certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    @property
    def has_private_key(self) -> bool:
        return self.private_key is not None

    def problems(self) -> tuple[str, ...]:
        """Deviations worth a note but not fatal: the certificate names another EUI-64 or has the wrong
        keyUsage for the role. (The DCC Boxed 90b3d51f30000007-ka.pem really names 90-B3-D5-1F-30-03-00-00.)
        """
        found: list[str] = []
        try:
            named = certificate_eui64(self.certificate)
        except ValueError as exc:
            found.append(f"cannot read the certificate's EUI-64: {exc}")
        else:
            if named is None:
                found.append("the certificate names no EUI-64 (no HardwareModuleName SAN, no x500UniqueIdentifier)")
            elif named != self.eui:
                found.append(f"the certificate names EUI-64 {named}, the entry is filed under {self.eui}")
        try:
            usage = self.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            found.append("the certificate has no keyUsage extension")
        else:
            wanted, ok = (
                ("keyAgreement", usage.key_agreement)
                if self.role.needs_key_agreement
                else ("digitalSignature", usage.digital_signature)
            )
            if not ok:
                found.append(f"a {self.role} certificate without keyUsage {wanted}")
        return tuple(found)

    def to_dict(self) -> dict[str, Any]:
        """Report summary: identity and public facts only (whether a private key is held, never the key)."""
        cert = self.certificate
        return {
            "eui64": str(self.eui),
            "role": self.role.value,
            "has_private_key": self.has_private_key,
            "source": self.source,
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "serial_number": f"{cert.serial_number:x}",
            "not_before": cert.not_valid_before_utc.isoformat(),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "certificate_sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
            "public_key": self.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            ).hex(),
        }

    def __repr__(self) -> str:
        held = "with private key" if self.has_private_key else "certificate only"
        return f"KeyEntry({self.eui} {self.role.value}, {held}, source={self.source!r})"


class KeyNotFoundError(ConfigurationError, KeyError):
    """A key the run needs is not in the key store: a configuration problem, not a device failure."""

    def __str__(self) -> str:  # KeyError would print the repr of the message, quotes included.
        return str(self.args[0]) if self.args else ""


class KeyStore:
    """Immutable index of KeyEntry by (EUI-64, role). Build with `load`, `TestPki.keystore()`, or from
    entries; combine with `merge`."""

    def __init__(
        self, entries: Iterable[KeyEntry] = (), *, source: str = "in memory", notes: Iterable[str] = ()
    ) -> None:
        self.source = source
        self._notes = tuple(notes)
        self._entries: dict[tuple[Eui64, KeyRole], KeyEntry] = {}
        for entry in entries:
            seen = self._entries.get((entry.eui, entry.role))
            if seen is not None:
                raise ConfigurationError(
                    f"key store {source}: two certificates for {entry.eui} {entry.role}: {seen.source} and "
                    f"{entry.source}"
                )
            self._entries[entry.eui, entry.role] = entry

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> KeyStore:
        """Read a DCC Boxed key directory: <eui64>-<ds|ka|pp-ka>.pem certificates, optional .key beside them.

        Other files are ignored and noted. Raises ConfigurationError naming the file for anything broken.
        """
        root = Path(directory)
        if not root.is_dir():
            problem = "is not a directory" if root.exists() else "does not exist"
            raise ConfigurationError(f"key store {root}: {problem}")
        files: dict[tuple[Eui64, KeyRole, str], Path] = {}
        notes: list[str] = []
        for path in sorted(root.iterdir()):
            key = parse_key_file_name(path.name)
            if key is None or path.is_dir():
                notes.append(f"{path}: ignored (not a <eui64>-<ds|ka|pp-ka>.pem/.key file)")
                continue
            if key in files:
                raise ConfigurationError(f"{path}: same key as {files[key]} (the names differ only in case)")
            files[key] = path
        if not files:
            raise ConfigurationError(
                f"key store {root}: no key files found (expected <eui64>-<ds|ka|pp-ka>.pem certificates, "
                "e.g. 90b3d51f30010000-ds.pem)"
            )
        entries = []
        for (eui, role, suffix), path in files.items():
            if suffix == CERTIFICATE_SUFFIX:
                key_path = files.get((eui, role, PRIVATE_KEY_SUFFIX))
                entries.append(
                    KeyEntry(
                        eui,
                        role,
                        _read_certificate(path),
                        _read_private_key(key_path) if key_path else None,
                        source=str(path),
                        key_source=str(key_path) if key_path else None,
                    )
                )
            elif (eui, role, CERTIFICATE_SUFFIX) not in files:
                expected = key_file_stem(eui, role) + CERTIFICATE_SUFFIX
                raise ConfigurationError(f"{path}: private key without its certificate {expected} beside it")
        return cls(entries, source=str(root), notes=notes)

    def merge(self, other: KeyStore, *, replace: bool = False) -> KeyStore:
        """A new store holding both stores' entries, e.g. the generated test PKI plus a vendor's directory.

        The same (EUI-64, role) with the same certificate is one key: the entry holding a private key wins.
        With different certificates it is a ConfigurationError, unless `replace` lets `other` win (noted).
        """
        merged = dict(self._entries)
        notes = [*self._notes, *other._notes]
        for ident, theirs in other._entries.items():
            ours = merged.get(ident)
            if ours is None or (ours.certificate == theirs.certificate and not ours.has_private_key):
                merged[ident] = theirs
            elif ours.certificate != theirs.certificate:
                if not replace:
                    raise ConfigurationError(
                        f"key stores {self.source} and {other.source} hold different certificates for "
                        f"{ident[0]} {ident[1]}: {ours.source} and {theirs.source}"
                    )
                notes.append(f"{theirs.source}: replaces {ours.source} for {ident[0]} {ident[1]}")
                merged[ident] = theirs
        return KeyStore(merged.values(), source=f"{self.source} + {other.source}", notes=notes)

    def entry(self, eui: EuiLike, role: RoleLike) -> KeyEntry:
        """The entry for (eui, role); KeyNotFoundError saying what is missing and from which store."""
        ident = (Eui64.parse(eui), KeyRole(role))
        try:
            return self._entries[ident]
        except KeyError:
            raise KeyNotFoundError(
                f"no {ident[1]} certificate for {ident[0]} in key store {self.source} "
                f"(expected {key_file_stem(*ident)}{CERTIFICATE_SUFFIX})"
            ) from None

    def certificate(self, eui: EuiLike, role: RoleLike) -> x509.Certificate:
        return self.entry(eui, role).certificate

    def public_key(self, eui: EuiLike, role: RoleLike) -> ec.EllipticCurvePublicKey:
        return self.entry(eui, role).public_key

    def private_key(self, eui: EuiLike, role: RoleLike) -> ec.EllipticCurvePrivateKey:
        """The private key of a party the suite plays; KeyNotFoundError when only its certificate is held."""
        entry = self.entry(eui, role)
        if entry.private_key is None:
            expected = key_file_stem(entry.eui, entry.role) + PRIVATE_KEY_SUFFIX
            raise KeyNotFoundError(
                f"no {entry.role} private key for {entry.eui} in key store {self.source}: only the "
                f"certificate {entry.source} (expected {expected})"
            )
        return entry.private_key

    def has_private(self, eui: EuiLike, role: RoleLike) -> bool:
        ident = (Eui64.parse(eui), KeyRole(role))
        return ident in self._entries and self._entries[ident].has_private_key

    def entries(self) -> tuple[KeyEntry, ...]:
        """All entries, sorted by EUI-64 then role."""
        return tuple(self._entries[ident] for ident in sorted(self._entries))

    @property
    def notes(self) -> tuple[str, ...]:
        """Ignored files, replaced entries and each entry's problems: for the run's report."""
        problems = (f"{e.source}: {p}" for e in self.entries() for p in e.problems())
        return (*self._notes, *problems)

    def to_dict(self) -> dict[str, Any]:
        """Report summary (public material only)."""
        return {
            "source": self.source,
            "entries": [e.to_dict() for e in self.entries()],
            "notes": list(self.notes),
        }

    def __contains__(self, ident: object) -> bool:
        if not isinstance(ident, tuple) or len(ident) != 2:
            return False
        try:
            return (Eui64.parse(ident[0]), KeyRole(ident[1])) in self._entries
        except (TypeError, ValueError):
            return False

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        private = sum(e.has_private_key for e in self._entries.values())
        return f"KeyStore({self.source!r}, {len(self)} entries, {private} with private key)"


def _read_pem(path: Path, *, private: bool) -> bytes:
    """The file's bytes, checked to be PEM of the right kind: a private key filed as a certificate would
    otherwise be shared as if it were public."""
    what = "a private key" if private else "a certificate"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read {what}: {exc.strerror}") from exc
    if b"-----BEGIN " not in data:
        raise ConfigurationError(f"{path}: not a PEM file (no -----BEGIN line); expected {what}")
    holds_private = b"PRIVATE KEY-----" in data
    if holds_private != private:
        found = "a private key" if holds_private else "no private key"
        raise ConfigurationError(f"{path}: holds {found}, expected {what}")
    return data


def _read_certificate(path: Path) -> x509.Certificate:
    data = _read_pem(path, private=False)
    try:
        certificates = x509.load_pem_x509_certificates(data)
        if len(certificates) != 1:
            raise ConfigurationError(f"{path}: holds {len(certificates)} certificates, expected exactly one")
        certificate = certificates[0]
        certificate.extensions  # noqa: B018 - parsed lazily; make a malformed extension fail here, not later
        certificate.public_key()  # an unsupported curve or algorithm fails here
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(f"{path}: not a readable X.509 certificate ({exc})") from exc
    return certificate  # KeyEntry checks that the key is P-256


def _read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read_pem(path, private=True)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # cryptography's signal for "encrypted, and no password given"
        raise ConfigurationError(f"{path}: the private key is encrypted; the key store needs it plain") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigurationError(f"{path}: not a readable PEM private key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ConfigurationError(f"{path}: the private key is not {_P256}")
    return key  # KeyEntry checks the curve and that it matches the certificate
