"""GBCS message security: the originator's ECDSA signature, the MAC key derivation and GMAC, and which
party's key plays which role.

Why one module: the suite both checks what a device signs and MACs and produces what the supplier and the
DCC would send, and the two must use the same octets; every "what is covered" rule lives here once.

Facts [R, DCC gbcs-parser `crypto.ts`/`parser.ts`, HenryGiraldo/gbcs `python/gbcs.py`; C-data: they
reproduce every signature and MAC of RTDS 4.5.0 in ../shared/vectors, domain.md §10]:

- Signature: ECDSA P-256/SHA-256, raw r||s, over the General Signing APDU without its 0xDF tag and without
  its signature field (length octet and signature), i.e. the PRECOMMAND form minus its first octet.
- MAC key: Z = ECDH(KA private, peer KA public); key = SHA-256(00000001 || Z || OtherInfo)[:16] with the
  33-octet OtherInfo = 60 85 74 06 08 03 00 || originator || 09 || CRA flag || originator counter ||
  recipient, all from the wrapped header (SP 800-56A concatenation KDF, one round).
- MAC: AES-128-GCM with no plaintext, IV = originator || 00000000, AAD = 11 00 00 00 00 00 || the whole
  wrapped 0xDF APDU including its signature field; the first 12 tag octets.
- Key pair, by direction: a command reaches the device through the DCC's Access Control Broker, so its MAC
  pairs the ACB's KA key with the device's (the recipient), even when the header's originator is the
  supplier (CS06); a response or alert pairs the device's KA key (the originator) with the KA key of the
  recipient the header names (the ACB for CS08, the supplier for ECS52, the network operator for ECS17b).
  The originator only enters the KDF OtherInfo and the IV.
"""

from __future__ import annotations

import hmac
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.utils import CryptographyDeprecationWarning

from harness.crypto.ecdsa import RAW_SIGNATURE_LENGTH, sign_raw, verify_raw
from harness.crypto.eui64 import Eui64, EuiLike, certificate_eui64
from harness.crypto.keystore import KeyNotFoundError, KeyRole, KeyStore
from harness.gbcs.apdu import (
    MAC_LENGTH,
    TRANSACTION_ID_LENGTH,
    Apdu,
    CraFlag,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    encode_general_signing,
    signing_part,
)

DCC_BOXED_ACB = Eui64.parse("90-B3-D5-1F-30-00-00-02")
"""The DCC Access Control Broker of DCC Boxed and RTDS 4.5.0; a real deployment passes its own ACB."""

KDF_ALGORITHM_ID = bytes.fromhex("60857406080300")
MAC_AAD_PREFIX = bytes.fromhex("110000000000")
"""Fixed: the APDU's own 5-octet security header in its place gives a wrong MAC on every RTDS vector."""
MAC_KEY_LENGTH = 16
_IV_SUFFIX = bytes(4)


# -- signatures ---------------------------------------------------------------------------------------
def signed_octets(apdu: GeneralSigning) -> bytes:
    """What the originator's signature covers: the APDU without 0xDF and without its signature field."""
    return encode_general_signing(apdu.with_signature(None))[1:]


def sign(apdu: GeneralSigning, private_key: ec.EllipticCurvePrivateKey) -> GeneralSigning:
    """The same APDU carrying a fresh (randomised) signature of its originator's DS key."""
    return apdu.with_signature(sign_raw(private_key, signed_octets(apdu)))


def verify_signature(apdu: GeneralSigning, public_key: ec.EllipticCurvePublicKey) -> bool:
    """True when the APDU carries a signature that verifies with `public_key`."""
    return bool(apdu.signature) and verify_raw(public_key, signed_octets(apdu), apdu.signature or b"")


# -- MAC ----------------------------------------------------------------------------------------------
def kdf_other_info(header: GeneralBlockHeader) -> bytes:
    """The 33-octet KDF OtherInfo of a MAC: algorithm id, originator, transaction id (09 CRA counter),
    recipient."""
    transaction_id = bytes([TRANSACTION_ID_LENGTH, header.cra_flag]) + header.originator_counter.to_bytes(8, "big")
    return KDF_ALGORITHM_ID + header.originator.octets + transaction_id + header.recipient.octets


def derive_mac_key(
    private_key: ec.EllipticCurvePrivateKey, peer_public_key: ec.EllipticCurvePublicKey, header: GeneralBlockHeader
) -> bytes:
    """ECDH then the one-round SHA-256 concatenation KDF: the 16-octet AES key of this message's MAC."""
    shared = private_key.exchange(ec.ECDH(), peer_public_key)
    kdf = ConcatKDFHash(algorithm=hashes.SHA256(), length=MAC_KEY_LENGTH, otherinfo=kdf_other_info(header))
    return kdf.derive(shared)


def gmac(key: bytes, iv: bytes, aad: bytes) -> bytes:
    """AES-GCM over no plaintext: the first MAC_LENGTH octets of the tag over `aad`."""
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    encryptor.finalize()
    return encryptor.tag[:MAC_LENGTH]


def compute_mac(
    signed: GeneralSigning, private_key: ec.EllipticCurvePrivateKey, peer_public_key: ec.EllipticCurvePublicKey
) -> bytes:
    """The MAC a General Ciphered wrapper of `signed` carries (either side of the key pair can compute it)."""
    key = derive_mac_key(private_key, peer_public_key, signed.header)
    iv = signed.header.originator.octets + _IV_SUFFIX
    return gmac(key, iv, MAC_AAD_PREFIX + encode_general_signing(signed))


def wrap(
    signed: GeneralSigning, private_key: ec.EllipticCurvePrivateKey, peer_public_key: ec.EllipticCurvePublicKey
) -> GeneralCiphered:
    """A General Ciphered APDU around `signed` with its MAC (the ACB's step for a Critical command)."""
    return GeneralCiphered(signed=signed, mac=compute_mac(signed, private_key, peer_public_key))


def verify_mac(
    apdu: GeneralCiphered, private_key: ec.EllipticCurvePrivateKey, peer_public_key: ec.EllipticCurvePublicKey
) -> bool:
    return hmac.compare_digest(compute_mac(apdu.signed, private_key, peer_public_key), apdu.mac)


# -- key roles ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyRef:
    """One party's key of one role, e.g. the supplier's DS key."""

    eui: Eui64
    role: KeyRole

    def __str__(self) -> str:
        return f"{self.eui} {self.role.value}"


@dataclass(frozen=True, slots=True)
class KeyRoles:
    """Which keys secure one message: the originator signs; the MAC remote party (the ACB for a command, the
    recipient for a response or alert) and the device share the MAC key."""

    signer: KeyRef
    mac_remote_party: KeyRef
    mac_device: KeyRef


def key_roles(header: GeneralBlockHeader, acb: EuiLike = DCC_BOXED_ACB) -> KeyRoles:
    """The device is the recipient of a command and the originator of a response or alert (or of a message
    whose CRA flag GBCS does not define, which the judge reports anyway)."""
    signer = KeyRef(header.originator, KeyRole.DS)
    if header.cra_flag == CraFlag.COMMAND:
        return KeyRoles(signer, KeyRef(Eui64.parse(acb), KeyRole.KA), KeyRef(header.recipient, KeyRole.KA))
    return KeyRoles(signer, KeyRef(header.recipient, KeyRole.KA), KeyRef(header.originator, KeyRole.KA))


def mac_key_pair(keys: KeyStore, roles: KeyRoles) -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey]:
    """(private, peer public) for the MAC: the remote party's private key when the store holds it (the suite
    plays the DCC or the recipient), else the device's (an emulated device). KeyNotFoundError when neither
    private key is held, or the other side's public key is missing."""
    for mine, theirs in ((roles.mac_remote_party, roles.mac_device), (roles.mac_device, roles.mac_remote_party)):
        if keys.has_private(mine.eui, mine.role):
            return keys.private_key(mine.eui, mine.role), keys.public_key(theirs.eui, theirs.role)
    skipped = [note for ref in (roles.mac_remote_party, roles.mac_device) for note in keys.skipped(ref.eui, ref.role)]
    raise KeyNotFoundError(
        f"it needs the KA private key of {roles.mac_remote_party.eui} or of {roles.mac_device.eui}, and key "
        f"store {keys.source} holds neither" + "".join(f"; skipped {note}" for note in skipped)
    )


def protect(
    unsigned: GeneralSigning, keys: KeyStore, *, acb: EuiLike = DCC_BOXED_ACB, signed: bool = True, mac: bool = True
) -> Apdu:
    """Sign as the header's originator (its DS private key) and, if `mac`, wrap and MAC with the KA pair of
    `key_roles` (`mac_key_pair`: the remote party's private key when held, as for a command the suite sends as
    the DCC; else the device's, as an emulated device answering). `signed=False` leaves signature length 0x00
    (CS08)."""
    roles = key_roles(unsigned.header, acb)
    message = (
        sign(unsigned, keys.private_key(roles.signer.eui, roles.signer.role))
        if signed
        else unsigned.with_signature(b"")
    )
    return wrap(message, *mac_key_pair(keys, roles)) if mac else message


# -- verdicts -----------------------------------------------------------------------------------------
class Check(StrEnum):
    """Outcome of one cryptographic check."""

    VALID = "valid"
    INVALID = "invalid"
    ABSENT = "absent"
    """The message carries none (signature length 0x00, or not General Ciphered)."""
    NOT_CHECKED = "not checked"
    """No key store was given: structure only."""
    KEY_MISSING = "key missing"
    """A key store was given but lacks a key the check needs (or holds it in a file it could not read), so the
    message cannot be judged; rendered as "not checked: no key for ..."."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check.value, "detail": self.detail}

    @property
    def text(self) -> str:
        """One line for people, e.g. "valid (verifies with 90-B3-D5-1F-30-01-00-00 ds)" or "not checked: no key
        for 00-DB-12-34-56-78-90-A0 ds (...)"."""
        if self.check is Check.KEY_MISSING:
            return f"not checked: {self.detail}"
        return f"{self.check.value} ({self.detail})"


def check_signature(apdu: Apdu, keys: KeyStore | None) -> CheckResult:
    """Verify the originator's signature with its DS public key (certificate or bare key) from `keys`."""
    signed = signing_part(apdu)
    signer = key_roles(signed.header).signer
    if not signed.signature:
        return CheckResult(Check.ABSENT, "no signature field" if signed.signature is None else "signature length 0")
    if keys is None:
        return CheckResult(Check.NOT_CHECKED, f"no key store given; signer {signer}")
    if len(signed.signature) != RAW_SIGNATURE_LENGTH:
        return CheckResult(Check.INVALID, f"{len(signed.signature)}-octet signature, GBCS uses {RAW_SIGNATURE_LENGTH}")
    try:
        public_key = keys.public_key(signer.eui, signer.role)
    except KeyNotFoundError as err:
        return CheckResult(Check.KEY_MISSING, f"no key for {signer}: {err}")
    if verify_signature(signed, public_key):
        return CheckResult(Check.VALID, f"verifies with {signer}")
    return CheckResult(Check.INVALID, f"does not verify with {signer}")


def check_mac(apdu: Apdu, keys: KeyStore | None, acb: EuiLike = DCC_BOXED_ACB) -> CheckResult:
    """Recompute the MAC of a General Ciphered APDU from the KA pair `key_roles` names, with `keys`."""
    if not isinstance(apdu, GeneralCiphered):
        return CheckResult(Check.ABSENT, "General Signing only: no MAC")
    roles = key_roles(apdu.header, acb)
    pair = f"{roles.mac_remote_party} with {roles.mac_device}"
    if keys is None:
        return CheckResult(Check.NOT_CHECKED, f"no key store given; key pair {pair}")
    try:
        private_key, peer_public_key = mac_key_pair(keys, roles)
    except KeyNotFoundError as err:
        return CheckResult(Check.KEY_MISSING, f"no key for the MAC pair {pair}: {err}")
    if verify_mac(apdu, private_key, peer_public_key):
        return CheckResult(Check.VALID, f"matches, key pair {pair}")
    return CheckResult(Check.INVALID, f"does not match, key pair {pair}")


# -- the supplementary remote party's key-agreement certificate ---------------------------------------------
def remote_party_certificate(header: GeneralBlockHeader) -> x509.Certificate | None:
    """The supplementary remote party's key-agreement certificate Other Information carries (ECS21b), read
    with `cryptography`; None when there is none. ValueError when its octets are no DER X.509 certificate."""
    octets = header.supplementary_remote_party_certificate
    if octets is None:
        return None
    try:
        with warnings.catch_warnings():  # what cryptography only warns about today (a serial that is not
            warnings.simplefilter("error", CryptographyDeprecationWarning)  # positive) it will refuse tomorrow
            certificate = x509.load_der_x509_certificate(octets)
            describe_certificate(certificate)  # fields are parsed lazily: make a malformed one fail here
    except Exception as err:  # cryptography's lazy parsing of hostile DER raises ValueError,
        # InvalidVersion, UnsupportedAlgorithm and even TypeError (a BIT STRING under another OID): all mean
        # "not a readable certificate" to the judge, which reports it as a defect of the message.
        raise ValueError(str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}") from None
    return certificate


def describe_certificate(certificate: x509.Certificate) -> dict[str, Any]:
    """Public facts of a certificate for a report: subject, the EUI-64 it names, issuer, serial, validity."""
    try:
        named = certificate_eui64(certificate)
    except ValueError:
        named = None
    return {
        "subject": certificate.subject.rfc4514_string(),
        "eui64": str(named) if named else None,
        "issuer": certificate.issuer.rfc4514_string(),
        "serial_number": f"{certificate.serial_number:X}",
        "not_before": certificate.not_valid_before_utc.isoformat(),
        "not_after": certificate.not_valid_after_utc.isoformat(),
    }
