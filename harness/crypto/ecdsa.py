"""ECDSA P-256 / SHA-256 with GBCS's raw r||s (32 + 32 octets) signature encoding.

`cryptography` signs and verifies DER signatures; GBCS and GB OTA images carry the raw concatenation, so
this module is the single place that converts between the two.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

RAW_SIGNATURE_LENGTH = 64
_HALF = RAW_SIGNATURE_LENGTH // 2


def sign_raw(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign `data` with ECDSA P-256/SHA-256 and return the 64-octet r||s form."""
    r, s = decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(_HALF, "big") + s.to_bytes(_HALF, "big")


def verify_raw(public_key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    """True when `signature` (64-octet r||s) is a valid ECDSA P-256/SHA-256 signature of `data`.

    Any malformed signature (wrong length, r or s zero or out of range) is simply False.
    """
    if len(signature) != RAW_SIGNATURE_LENGTH:
        return False
    r = int.from_bytes(signature[:_HALF], "big")
    s = int.from_bytes(signature[_HALF:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
