"""The key that signs a run's manifest: one the test house or vendor owns, or a key made for the run.

Why two kinds: a signature proves who signed only when the key belongs to someone. ``--signing-key PEM
--signing-cert PEM`` (or the environment variables below) give the owner's key and certificate; ``run`` and
``report`` sign with it, and ``verify --trust CERT_OR_FINGERPRINT`` checks that the manifest was signed by
exactly that certificate. Without one the run keeps its per-run key (``RunKey``: made for the run, used once,
never written anywhere), which proves that no file changed after signing and nothing about who signed: every
output says "integrity only: proves no one's identity".

Accepted keys: ECDSA P-256 (signature: DER ECDSA with SHA-256) and RSA of 2048 bits or more (PKCS #1 v1.5
with SHA-256), both checkable with ``openssl dgst -sha256 -verify`` (see ``harness.reports.manifest``). An
encrypted key's passphrase is read from ``OTA_CONFORMANCE_SIGNING_PASSPHRASE``, never from the command line.
The certificate's subject need not name the run; its public key must be the key's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from harness.crypto.pki import _key_usage, key_identifier
from harness.errors import UsageError
from harness.files import KEY_LIMIT, read_regular

KEY_ENV = "OTA_CONFORMANCE_SIGNING_KEY"
CERT_ENV = "OTA_CONFORMANCE_SIGNING_CERT"
PASSPHRASE_ENV = "OTA_CONFORMANCE_SIGNING_PASSPHRASE"
#: What every output says of a manifest signed by a per-run key.
INTEGRITY_ONLY = "integrity only: proves no one's identity"
ECDSA_P256_SHA256 = "ecdsa-p256-sha256"
RSA_PKCS1V15_SHA256 = "rsa-pkcs1v15-sha256"
MIN_RSA_BITS = 2048
#: Validity of the per-run certificate. Verification ignores it (the key signs once, at the end of the run);
#: it is set only because X.509 needs one, long enough for a report archived for years.
CERTIFICATE_LIFETIME = dt.timedelta(days=3653)

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class SigningKey(Protocol):
    """What signs a manifest: a certificate, an algorithm name, whether someone owns the key."""

    certificate: x509.Certificate
    owned: bool

    @property
    def algorithm(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def discard(self) -> None: ...


def algorithm_of(public_key: object) -> str | None:
    """The manifest signature algorithm for a certificate's public key, None when it is not accepted."""
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return ECDSA_P256_SHA256
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= MIN_RSA_BITS:
        return RSA_PKCS1V15_SHA256
    return None


def sign_with(private_key: PrivateKey, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return private_key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_with(public_key: PublicKey, signature: bytes, data: bytes) -> None:
    """Raise cryptography's InvalidSignature unless ``signature`` is the key's over ``data``."""
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


# -- the per-run key -----------------------------------------------------------------------------------
def common_name(run_id: str) -> str:
    """The per-run certificate's CN: names the run (X.509 allows 64 characters) and says it is a test key."""
    return f"TEST run key {run_id}"[:64]


@dataclass
class RunKey:
    """A run's signing key and its self-signed certificate, held in memory only."""

    certificate: x509.Certificate
    _private_key: ec.EllipticCurvePrivateKey | None = field(repr=False)
    owned: bool = False

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

    @property
    def algorithm(self) -> str:
        return ECDSA_P256_SHA256

    def sign(self, data: bytes) -> bytes:
        if self._private_key is None:
            raise RuntimeError("the run key was discarded after signing; generate a new one")
        return sign_with(self._private_key, data)

    def discard(self) -> None:
        """Drop the private key: one key signs one manifest."""
        self._private_key = None


# -- a key someone owns --------------------------------------------------------------------------------
@dataclass
class OwnedKey:
    """The test house's or vendor's key and certificate (loaded from PEM files; never written anywhere)."""

    certificate: x509.Certificate
    _private_key: PrivateKey = field(repr=False)
    key_path: Path
    certificate_path: Path
    owned: bool = True

    @property
    def algorithm(self) -> str:
        algorithm = algorithm_of(self.certificate.public_key())
        assert algorithm is not None  # checked on load
        return algorithm

    def sign(self, data: bytes) -> bytes:
        return sign_with(self._private_key, data)

    def discard(self) -> None:
        """Nothing to do: the key stays the owner's, in their file."""


def _read(path: Path, what: str) -> bytes:
    return read_regular(path, what, KEY_LIMIT, error=UsageError)


def load_owned_key(key_path: Path, certificate_path: Path) -> OwnedKey:
    """The owner's key and certificate; UsageError naming what is wrong and what to do."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    pem = _read(key_path, "signing key")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase.encode() if passphrase else None)
    except TypeError:
        raise UsageError(
            f"the signing key {key_path} is encrypted. ACTION: put its passphrase in the environment variable "
            f"{PASSPHRASE_ENV} (never on the command line)."
        ) from None
    except (ValueError, UnsupportedAlgorithm) as err:
        hint = " (wrong passphrase?)" if passphrase else ""
        raise UsageError(f"the signing key {key_path} is not a readable PEM private key{hint}: {err}") from None
    cert_pem = _read(certificate_path, "signing certificate")
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as err:
        raise UsageError(f"the signing certificate {certificate_path} is not a PEM X.509 certificate: {err}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) or algorithm_of(key.public_key()) is None:
        raise UsageError(
            f"the signing key {key_path} is neither ECDSA P-256 nor RSA of {MIN_RSA_BITS} bits or more: "
            "give one of those (openssl verifies both with `openssl dgst -sha256 -verify`)."
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        raise UsageError(
            f"the signing certificate {certificate_path} is not the certificate of the key {key_path} (their "
            "public keys differ). ACTION: give the certificate issued for this key."
        )
    return OwnedKey(certificate, key, key_path, certificate_path)


def add_signing_options(parser: argparse.ArgumentParser) -> None:
    """``--signing-key`` and ``--signing-cert`` (``run`` and ``report``)."""
    parser.add_argument(
        "--signing-key",
        type=Path,
        metavar="PEM",
        help=f"sign the manifest with your own key, ECDSA P-256 or RSA (default: ${KEY_ENV}; without one a key "
        f"is made for the run: {INTEGRITY_ONLY}); an encrypted key's passphrase is read from ${PASSPHRASE_ENV}",
    )
    parser.add_argument(
        "--signing-cert",
        type=Path,
        metavar="PEM",
        help=f"the certificate of --signing-key (default: ${CERT_ENV})",
    )


def signing_key_from_args(args: argparse.Namespace) -> OwnedKey | None:
    """The owned key named by the options or the environment, None for none; UsageError for half of one."""
    key = args.signing_key or (Path(os.environ[KEY_ENV]) if os.environ.get(KEY_ENV) else None)
    cert = args.signing_cert or (Path(os.environ[CERT_ENV]) if os.environ.get(CERT_ENV) else None)
    if key is None and cert is None:
        return None
    if key is None or cert is None:
        missing = "--signing-key (or $" + KEY_ENV + ")" if key is None else "--signing-cert (or $" + CERT_ENV + ")"
        raise UsageError(f"a signing key needs its certificate and the certificate its key: {missing} is missing")
    return load_owned_key(key, cert)


__all__ = [
    "CERT_ENV",
    "ECDSA_P256_SHA256",
    "INTEGRITY_ONLY",
    "KEY_ENV",
    "PASSPHRASE_ENV",
    "RSA_PKCS1V15_SHA256",
    "OwnedKey",
    "RunKey",
    "SigningKey",
    "add_signing_options",
    "algorithm_of",
    "common_name",
    "load_owned_key",
    "signing_key_from_args",
    "verify_with",
]
