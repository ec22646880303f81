"""Key store: certificates, public keys and private keys indexed by (EUI-64, key role), read from a DCC Boxed
key folder as shipped.

The suite signs and MACs as the supplier and the DCC and checks what the device signs, so every step needs
"the DS key of 90-B3-D5-1F-30-01-00-00" without caring whether it came from the DCC's public test keys, a
vendor's directory or the per-run test PKI. A DCC Boxed folder holds certificates, bare public keys (a
`-----BEGIN PUBLIC KEY-----` in a `.pem`, e.g. `fffffffffffffffe-ka.pem`) and private keys with or without a
certificate beside them, in any combination (domain.md §10), so an entry is one of three kinds (`KeyKind`).
A file the store cannot read is skipped with a note naming it, and a lookup of a key it would have held says
so; only a folder that does not exist or holds nothing usable is refused. Private key material never appears
in a repr, a note or a report summary.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
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
from harness.files import KEY_LIMIT, FileRefused, read_regular


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

# DCC Boxed layout: <eui64 hex>-<role>.pem (certificate or bare public key) and the same stem with .key
# (PKCS#8 private key), each of them optional.
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


class KeyKind(StrEnum):
    """What a key store entry holds for its public part."""

    CERTIFICATE = "certificate"
    """An X.509 certificate (`.pem`), maybe with the private key (`.key`)."""
    PUBLIC_KEY = "public key"
    """A bare SubjectPublicKeyInfo (`.pem` holding `-----BEGIN PUBLIC KEY-----`), maybe with the private key."""
    PRIVATE_KEY = "private key"
    """A private key (`.key`) with neither certificate nor public key beside it; its public key is derived."""


@dataclass(frozen=True, slots=True, repr=False)
class KeyEntry:
    """One party's key of one role: a certificate or a bare public key, and/or the private key (held only for
    parties the suite plays, or shipped so by DCC Boxed).

    `source` says where the public part came from (the certificate or public key file; the key file for a
    lone private key) and `key_source` where the private key came from (a file path, or "generated test
    PKI"). Constructing an entry without any key, with both a certificate and a bare public key, or whose
    private key does not belong to its public part raises ConfigurationError naming the files.
    """

    eui: Eui64
    role: KeyRole
    certificate: x509.Certificate | None = None
    private_key: ec.EllipticCurvePrivateKey | None = field(default=None, compare=False)
    source: str = "in memory"
    key_source: str | None = None
    bare_public_key: ec.EllipticCurvePublicKey | None = None

    def __post_init__(self) -> None:
        if self.certificate is not None and self.bare_public_key is not None:
            raise ConfigurationError(f"{self.source}: an entry holds a certificate or a bare public key, not both")
        if self.certificate is None and self.bare_public_key is None and self.private_key is None:
            raise ConfigurationError(f"{self.source}: a key store entry needs a certificate, a public or a private key")
        public = self._declared_public_key()
        if public is not None and not _is_p256(public):
            raise ConfigurationError(f"{self.source}: the {self.kind.value}'s key is not {_P256}")
        if self.private_key is None:
            return
        key_source = self.key_source or self.source
        if not _is_p256(self.private_key):
            raise ConfigurationError(f"{key_source}: the private key is not {_P256}")
        if public is not None and self.private_key.public_key() != public:
            raise ConfigurationError(
                f"{key_source}: the private key does not belong to the {self.kind.value} {self.source} "
                f"({self.eui} {self.role})"
            )

    def _declared_public_key(self) -> Any:
        """The public key of the certificate or the bare public key, None for a lone private key."""
        if self.certificate is not None:
            return self.certificate.public_key()
        return self.bare_public_key

    @property
    def kind(self) -> KeyKind:
        if self.certificate is not None:
            return KeyKind.CERTIFICATE
        return KeyKind.PUBLIC_KEY if self.bare_public_key is not None else KeyKind.PRIVATE_KEY

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The certificate's public key, the bare public key, or the one of the lone private key (P-256, checked
        on construction)."""
        key = self._declared_public_key()
        if key is None:
            assert self.private_key is not None
            key = self.private_key.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    @property
    def has_private_key(self) -> bool:
        return self.private_key is not None

    @property
    def held(self) -> str:
        """What the entry holds, e.g. "certificate + private key", "public key", "private key"."""
        if self.kind is KeyKind.PRIVATE_KEY:
            return KeyKind.PRIVATE_KEY.value
        return self.kind.value + (" + private key" if self.has_private_key else "")

    def problems(self) -> tuple[str, ...]:
        """Deviations worth a note but not fatal: the certificate names another EUI-64 or has the wrong
        keyUsage for the role. (The DCC Boxed 90b3d51f30000007-ka.pem really names 90-B3-D5-1F-30-03-00-00.)
        Entries without a certificate have only their file name to say whose key they are: nothing to check.
        """
        if self.certificate is None:
            return ()
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
        summary: dict[str, Any] = {
            "eui64": str(self.eui),
            "role": self.role.value,
            "kind": self.kind.value,
            "has_private_key": self.has_private_key,
            "source": self.source,
            "public_key": self.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            ).hex(),
        }
        cert = self.certificate
        if cert is not None:
            summary |= {
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "serial_number": f"{cert.serial_number:x}",
                "not_before": cert.not_valid_before_utc.isoformat(),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "certificate_sha256": hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
            }
        return summary

    def __repr__(self) -> str:
        return f"KeyEntry({self.eui} {self.role.value}, {self.held}, source={self.source!r})"


class KeyNotFoundError(ConfigurationError, KeyError):
    """A key the run needs is not in the key store: a configuration problem, not a device failure."""

    def __str__(self) -> str:  # KeyError would print the repr of the message, quotes included.
        return str(self.args[0]) if self.args else ""


Ident: TypeAlias = tuple[Eui64, KeyRole]


class KeyStore:
    """Immutable index of KeyEntry by (EUI-64, role). Build with `load`, `TestPki.keystore()`, or from
    entries; combine with `merge`. `skipped` remembers, per (EUI-64, role), the files `load` could not use,
    so that a lookup of that key says why it is missing."""

    def __init__(
        self,
        entries: Iterable[KeyEntry] = (),
        *,
        source: str = "in memory",
        notes: Iterable[str] = (),
        skipped: Mapping[Ident, Iterable[str]] | None = None,
    ) -> None:
        self.source = source
        self._notes = tuple(notes)
        self._skipped = {ident: tuple(reasons) for ident, reasons in (skipped or {}).items()}
        self._entries: dict[Ident, KeyEntry] = {}
        for entry in entries:
            seen = self._entries.get((entry.eui, entry.role))
            if seen is not None:
                raise ConfigurationError(
                    f"key store {source}: two entries for {entry.eui} {entry.role}: {seen.source} and {entry.source}"
                )
            self._entries[entry.eui, entry.role] = entry

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> KeyStore:
        """Read a DCC Boxed key directory as shipped: <eui64>-<ds|ka|pp-ka>.pem (certificate or bare public key)
        and .key (private key), each optional.

        Other files are ignored and noted; files that cannot be read or used are skipped and noted, naming the
        file and why. ConfigurationError only when the directory is missing or nothing in it is usable.
        """
        root = Path(directory)
        if not root.is_dir():
            problem = "is not a directory" if root.exists() else "does not exist"
            raise ConfigurationError(f"key store {root}: {problem}")
        loader = _FolderLoader(root)
        if not loader.files:
            raise ConfigurationError(
                f"key store {root}: no key files found (expected <eui64>-<ds|ka|pp-ka>.pem certificates or public "
                "keys and .key private keys, e.g. 90b3d51f30010000-ds.pem)"
            )
        entries = loader.entries()
        if not entries:
            raise ConfigurationError(f"key store {root}: no usable key: " + "; ".join(loader.notes))
        return cls(entries, source=str(root), notes=loader.notes, skipped=loader.skipped)

    def merge(self, other: KeyStore, *, replace: bool = False) -> KeyStore:
        """A new store holding both stores' entries, e.g. the generated test PKI plus a vendor's directory.

        The same (EUI-64, role) with the same public key is one key: the entry holding more wins (a private key
        over none, a certificate over a bare key). With different public keys it is a ConfigurationError, unless
        `replace` lets `other` win (noted).
        """
        merged = dict(self._entries)
        notes = [*self._notes, *other._notes]
        for ident, theirs in other._entries.items():
            ours = merged.get(ident)
            if ours is None:
                merged[ident] = theirs
            elif ours.public_key == theirs.public_key:
                merged[ident] = _fuller(ours, theirs)
            else:
                if not replace:
                    raise ConfigurationError(
                        f"key stores {self.source} and {other.source} hold different keys for "
                        f"{ident[0]} {ident[1]}: {ours.source} and {theirs.source}"
                    )
                notes.append(f"{theirs.source}: replaces {ours.source} for {ident[0]} {ident[1]}")
                merged[ident] = theirs
        skipped = {**self._skipped}
        for ident, reasons in other._skipped.items():
            skipped[ident] = (*skipped.get(ident, ()), *reasons)
        return KeyStore(merged.values(), source=f"{self.source} + {other.source}", notes=notes, skipped=skipped)

    def skipped(self, eui: EuiLike, role: RoleLike) -> tuple[str, ...]:
        """The files `load` skipped for this key, each "path: why" (empty when none)."""
        return self._skipped.get((Eui64.parse(eui), KeyRole(role)), ())

    def _missing(self, text: str, ident: Ident) -> KeyNotFoundError:
        skipped = "".join(f"; skipped {note}" for note in self._skipped.get(ident, ()))
        return KeyNotFoundError(text + skipped)

    def entry(self, eui: EuiLike, role: RoleLike) -> KeyEntry:
        """The entry for (eui, role); KeyNotFoundError saying what is missing and from which store."""
        ident = (Eui64.parse(eui), KeyRole(role))
        try:
            return self._entries[ident]
        except KeyError:
            stem = key_file_stem(*ident)
            raise self._missing(
                f"key store {self.source} has no {ident[1]} key for {ident[0]} "
                f"(expected {stem}{CERTIFICATE_SUFFIX} or {stem}{PRIVATE_KEY_SUFFIX})",
                ident,
            ) from None

    def certificate(self, eui: EuiLike, role: RoleLike) -> x509.Certificate:
        """The X.509 certificate; KeyNotFoundError when the store holds only a bare public or a private key."""
        entry = self.entry(eui, role)
        if entry.certificate is None:
            raise KeyNotFoundError(
                f"key store {self.source} has no {entry.role} certificate for {entry.eui}: only the {entry.held} "
                f"{entry.source}"
            )
        return entry.certificate

    def public_key(self, eui: EuiLike, role: RoleLike) -> ec.EllipticCurvePublicKey:
        """The public key, from a certificate, a bare public key or a lone private key."""
        return self.entry(eui, role).public_key

    def private_key(self, eui: EuiLike, role: RoleLike) -> ec.EllipticCurvePrivateKey:
        """The private key of a party the suite plays; KeyNotFoundError when only its public part is held."""
        entry = self.entry(eui, role)
        if entry.private_key is None:
            expected = key_file_stem(entry.eui, entry.role) + PRIVATE_KEY_SUFFIX
            raise self._missing(
                f"key store {self.source} has no {entry.role} private key for {entry.eui}: only the {entry.held} "
                f"{entry.source} (expected {expected})",
                (entry.eui, entry.role),
            )
        return entry.private_key

    def has_private(self, eui: EuiLike, role: RoleLike) -> bool:
        ident = (Eui64.parse(eui), KeyRole(role))
        return ident in self._entries and self._entries[ident].has_private_key

    def entries(self) -> tuple[KeyEntry, ...]:
        """All entries, sorted by EUI-64 then role."""
        return tuple(self._entries[ident] for ident in sorted(self._entries))

    def roles_found(self) -> dict[str, dict[str, str]]:
        """Which roles the store found for each party: {"90-B3-D5-1F-30-00-00-02": {"ka": "certificate +
        private key", ...}, ...} (public facts only)."""
        found: dict[str, dict[str, str]] = {}
        for entry in self.entries():
            found.setdefault(str(entry.eui), {})[entry.role.value] = entry.held
        return found

    def summary(self) -> str:
        """One line: how many keys of which kinds, how many with a private key, how many files skipped."""
        kinds = {kind: sum(e.kind is kind for e in self._entries.values()) for kind in KeyKind}
        private = sum(e.has_private_key for e in self._entries.values())
        parts = [f"{count} {kind.value}{'s' if count != 1 else ''}" for kind, count in kinds.items() if count]
        skipped = sum(len(reasons) for reasons in self._skipped.values())
        text = f"{len(self)} keys of {len({e.eui for e in self._entries.values()})} parties ({', '.join(parts)}"
        text += f"; {private} with a private key)"
        return text + (f"; {skipped} file{'s' if skipped != 1 else ''} skipped" if skipped else "")

    @property
    def notes(self) -> tuple[str, ...]:
        """Ignored and skipped files, replaced entries and each entry's problems: for the run's report."""
        problems = (f"{e.source}: {p}" for e in self.entries() for p in e.problems())
        return (*self._notes, *problems)

    def to_dict(self) -> dict[str, Any]:
        """Report summary (public material only)."""
        return {
            "source": self.source,
            "summary": self.summary(),
            "roles": self.roles_found(),
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


def _fuller(ours: KeyEntry, theirs: KeyEntry) -> KeyEntry:
    """Of two entries for the same key, the one holding more: a private key first, then a certificate."""

    def weight(entry: KeyEntry) -> tuple[bool, bool]:
        return entry.has_private_key, entry.certificate is not None

    return theirs if weight(theirs) > weight(ours) else ours


# -- reading a folder -----------------------------------------------------------------------------------------
class _Unusable(Exception):
    """One file cannot be used; the message says why (never its content)."""


class _FolderLoader:
    """Reads every key file of one folder once, keeping what it can use and a note for everything else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notes: list[str] = []
        self.skipped: dict[Ident, list[str]] = {}
        self.files: dict[tuple[Eui64, KeyRole, str], Path] = {}
        for path in sorted(root.iterdir()):
            key = parse_key_file_name(path.name)
            if key is None or path.is_dir():
                self.notes.append(f"{path}: ignored (not a <eui64>-<ds|ka|pp-ka>.pem/.key file)")
            elif key in self.files:
                self._skip(key[:2], path, f"same key as {self.files[key]} (the names differ only in case)")
            else:
                self.files[key] = path

    def _skip(self, ident: Ident, path: Path, why: str) -> None:
        self.notes.append(f"{path}: skipped: {why}")
        self.skipped.setdefault(ident, []).append(f"{path}: {why}")

    def _read(self, ident: Ident, suffix: str) -> tuple[Any, Path | None]:
        """(what the file holds, its path), (None, None) when there is no such file, (None, path) if skipped."""
        path = self.files.get((*ident, suffix))
        if path is None:
            return None, None
        try:
            return (_read_public(path) if suffix == CERTIFICATE_SUFFIX else _read_private_key(path)), path
        except _Unusable as err:
            self._skip(ident, path, str(err))
            return None, path

    def entries(self) -> list[KeyEntry]:
        idents = sorted({(eui, role) for eui, role, _ in self.files})
        entries = []
        for ident in idents:
            public, public_path = self._read(ident, CERTIFICATE_SUFFIX)
            private, private_path = self._read(ident, PRIVATE_KEY_SUFFIX)
            entry = self._entry(ident, public, public_path, private, private_path)
            if entry is not None:
                entries.append(entry)
        return entries

    def _entry(
        self, ident: Ident, public: Any, public_path: Path | None, private: Any, private_path: Path | None
    ) -> KeyEntry | None:
        eui, role = ident
        certificate = public if isinstance(public, x509.Certificate) else None
        bare = public if isinstance(public, ec.EllipticCurvePublicKey) else None
        if public is not None and private is not None:
            try:
                return KeyEntry(eui, role, certificate, private, str(public_path), str(private_path), bare)
            except ConfigurationError as err:  # a private key that is not this public key's: keep the public
                assert private_path is not None
                self._skip(ident, private_path, str(err).removeprefix(f"{private_path}: "))
                private = None
        try:
            if public is not None:
                return KeyEntry(eui, role, certificate, None, str(public_path), None, bare)
            if private is not None:
                return KeyEntry(eui, role, None, private, str(private_path), str(private_path))
        except ConfigurationError as err:
            path = public_path if public is not None else private_path
            assert path is not None
            self._skip(ident, path, str(err).removeprefix(f"{path}: "))
        return None


def _read_pem(path: Path) -> bytes:
    try:
        data = read_regular(path, "key file", KEY_LIMIT)  # a FIFO or device named like a key is not opened
    except FileRefused as exc:
        raise _Unusable(exc.reason) from None
    if b"-----BEGIN " not in data:
        raise _Unusable("not a PEM file (no -----BEGIN line)")
    return data


def _read_public(path: Path) -> x509.Certificate | ec.EllipticCurvePublicKey:
    """A `.pem`: one certificate, or a bare public key. A private key filed as `.pem` is refused, never read:
    the folder's `.pem` files are shared as public."""
    data = _read_pem(path)
    if b"PRIVATE KEY-----" in data:
        raise _Unusable("holds a private key, where a certificate or public key was expected (private keys go in .key)")
    if b"-----BEGIN CERTIFICATE-----" in data:
        return _read_certificate(data)
    if b"-----BEGIN PUBLIC KEY-----" in data:
        key = _load_p256("public key", lambda: serialization.load_pem_public_key(data))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key
    raise _Unusable("holds neither a certificate nor a public key")


def _load_p256(
    what: str, load: Callable[[], Any], key_of: Callable[[Any], object] = lambda key: key, key_name: str = ""
) -> Any:
    """Run one of cryptography's PEM loaders: what it loaded, its key (`key_of`) checked to be P-256, or
    _Unusable saying why not."""
    try:
        loaded = load()
        key = key_of(loaded)  # a certificate parses its key lazily: an unsupported algorithm fails here
    except TypeError:  # cryptography's signal for "encrypted, and no password given"
        raise _Unusable(f"the {what} is encrypted; the key store needs it plain") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _Unusable(f"not a readable PEM {what} ({exc})") from None
    if not _is_p256(key):
        raise _Unusable(f"{key_name or 'the ' + what} is not {_P256}")
    return loaded


def _read_certificate(data: bytes) -> x509.Certificate:
    def load() -> x509.Certificate:
        certificates = x509.load_pem_x509_certificates(data)
        if len(certificates) != 1:
            raise _Unusable(f"holds {len(certificates)} certificates, expected exactly one")
        certificates[0].extensions  # noqa: B018 - parsed lazily; make a malformed extension fail here, not later
        return certificates[0]

    certificate = _load_p256("X.509 certificate", load, lambda c: c.public_key(), "the certificate's key")
    assert isinstance(certificate, x509.Certificate)
    return certificate


def _read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = _read_pem(path)
    if b"PRIVATE KEY-----" not in data:
        raise _Unusable("holds no private key, where a .key file should")
    key = _load_p256("private key", lambda: serialization.load_pem_private_key(data, password=None))
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key
