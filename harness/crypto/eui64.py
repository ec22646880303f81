"""EUI-64 identifiers: one value type, its text forms, and where GBCS certificates carry it.

GB smart metering names every party (devices and remote parties alike) by an EUI-64. The same identifier
shows up as "90-B3-D5-1F-30-01-00-00" in GBCS documents, "90b3d51f30010000" in DCC Boxed key file names,
"90:b3:d5:1f:30:01:00:00" in zigpy, reversed octets on the Zigbee wire, and two ASN.1 encodings inside
certificates. Keeping every conversion here means a comparison between any two of them is a comparison of
`Eui64` values, never of strings.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:  # imported on first use: it costs about 80 ms, which most commands never need
    import asn1tools

EUI64_LENGTH = 8

# Two hex digits per octet, with no separator or one separator ("-", ":" or " ") used between all octets.
_TEXT_FORM = re.compile(r"[0-9A-Fa-f]{2}(?P<sep>[-: ]?)[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){6}")

HARDWARE_MODULE_NAME_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
"""id-on-hardwareModuleName (RFC 4108): the SAN otherName that carries a GBCS device's EUI-64."""

GBCS_DEVICE_HW_TYPE_OID = x509.ObjectIdentifier("1.2.826.0.1.8641679.1.2.2.1")
"""hwType seen in every DCC Boxed / RTDS device certificate (the SMKI arc 1.2.826.0.1.8641679)."""

_HARDWARE_MODULE_NAME_ASN1 = """
GBCS-Certificates DEFINITIONS IMPLICIT TAGS ::= BEGIN
HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }
END
"""


@dataclass(frozen=True, slots=True, order=True)
class Eui64:
    """An EUI-64 in the order people write it (most significant octet first); hashable and sortable."""

    octets: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.octets, bytes) or len(self.octets) != EUI64_LENGTH:
            raise ValueError(f"an EUI-64 is {EUI64_LENGTH} octets, got {self.octets!r}")

    @classmethod
    def parse(cls, value: EuiLike) -> Eui64:
        """Accept every form the suite meets: dashed, colon, bare hex text, 8 octets, or an integer."""
        if isinstance(value, Eui64):
            return value
        if isinstance(value, bytes | bytearray):
            return cls(bytes(value))
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < 1 << 64:
                raise ValueError(f"EUI-64 integer out of range: {value:#x}")
            return cls(value.to_bytes(EUI64_LENGTH, "big"))
        if isinstance(value, str):
            text = value.strip()
            if _TEXT_FORM.fullmatch(text):
                return cls(bytes.fromhex(re.sub(r"[-: ]", "", text)))
            raise ValueError(
                f"not an EUI-64: {value!r} (expected 16 hex digits, e.g. 90-B3-D5-1F-30-01-00-00, "
                "90b3d51f30010000 or 90:b3:d5:1f:30:01:00:00)"
            )
        raise TypeError(f"cannot make an EUI-64 from {type(value).__name__}")

    @classmethod
    def from_little_endian(cls, data: bytes) -> Eui64:
        """Zigbee frames carry EUI-64s least significant octet first."""
        return cls(bytes(reversed(data)))

    def little_endian(self) -> bytes:
        """The Zigbee on-air order (reversed)."""
        return bytes(reversed(self.octets))

    @property
    def hex(self) -> str:
        """Lowercase hex without separators: the DCC Boxed key file name stem."""
        return self.octets.hex()

    @property
    def dashed(self) -> str:
        """Uppercase, dash-separated: how GBCS documents and DUIS print an EUI-64."""
        return self.octets.hex("-").upper()

    @property
    def colon(self) -> str:
        """Lowercase, colon-separated: the form zigpy parses and prints."""
        return self.octets.hex(":")

    def __int__(self) -> int:
        return int.from_bytes(self.octets, "big")

    def __bytes__(self) -> bytes:
        return self.octets

    def __str__(self) -> str:
        return self.dashed

    def __repr__(self) -> str:
        return f"Eui64('{self.dashed}')"


EuiLike: TypeAlias = Eui64 | str | bytes | bytearray | int
"""Anything `Eui64.parse` accepts; lookups take it so callers need not convert first."""


@functools.cache
def _asn1() -> asn1tools.compiler.Specification:
    """Compiled on first use and then reused (compiling costs ~20 ms, importing asn1tools ~80 ms)."""
    import asn1tools

    return asn1tools.compile_string(_HARDWARE_MODULE_NAME_ASN1, "der")


def hardware_module_name(eui: Eui64, hw_type: x509.ObjectIdentifier = GBCS_DEVICE_HW_TYPE_OID) -> x509.OtherName:
    """The SAN entry of a GBCS device certificate: HardwareModuleName{hwType, hwSerialNum = EUI-64}.

    cryptography has no public ASN.1 encoder for an otherName's value, so asn1tools encodes the DER.
    """
    der = _asn1().encode("HardwareModuleName", {"hwType": hw_type.dotted_string, "hwSerialNum": eui.octets})
    return x509.OtherName(HARDWARE_MODULE_NAME_OID, der)


def x500_unique_identifier(eui: Eui64) -> x509.NameAttribute[bytes]:
    """The subject attribute of a GBCS organisation certificate: x500UniqueIdentifier BIT STRING(EUI-64).

    cryptography's only way to put a BIT STRING into a Name is its private `_ASN1Type` (the version is
    pinned in pyproject; `tests/crypto` compares the result byte for byte with a DCC Boxed certificate).
    It writes the value as the raw BIT STRING contents, so the leading "unused bits" octet (0) is part of
    the value, exactly as it reads it back.
    """
    return x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, b"\x00" + eui.octets, _ASN1Type.BitString)


def san_eui64(certificate: x509.Certificate) -> Eui64 | None:
    """The EUI-64 in the HardwareModuleName SAN (device certificates), or None when there is none.

    Raises ValueError when the SAN entry is there but is not a well-formed HardwareModuleName.
    """
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    names = [n for n in san.get_values_for_type(x509.OtherName) if n.type_id == HARDWARE_MODULE_NAME_OID]
    if not names:
        return None
    if len(names) > 1:
        raise ValueError(f"the SAN holds {len(names)} HardwareModuleName entries, expected one")
    spec = _asn1()
    import asn1tools  # loaded by _asn1()

    try:
        decoded, length = spec.decode_with_length("HardwareModuleName", names[0].value)
    except asn1tools.Error as exc:
        raise ValueError(f"the SAN HardwareModuleName is not valid DER: {exc}") from exc
    if length != len(names[0].value):
        raise ValueError("the SAN HardwareModuleName has trailing octets after its DER SEQUENCE")
    serial = decoded["hwSerialNum"]
    if len(serial) != EUI64_LENGTH:
        raise ValueError(f"the SAN hwSerialNum is {len(serial)} octets, an EUI-64 is {EUI64_LENGTH}")
    return Eui64(serial)


def subject_eui64(certificate: x509.Certificate) -> Eui64 | None:
    """The EUI-64 in the subject's x500UniqueIdentifier (organisation certificates), or None.

    Raises ValueError when the attribute is there but does not hold a whole-octet 8-octet BIT STRING.
    """
    attributes = certificate.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    if not attributes:
        return None
    if len(attributes) > 1:
        raise ValueError(f"the subject holds {len(attributes)} x500UniqueIdentifier attributes, expected one")
    value = attributes[0].value
    if not isinstance(value, bytes) or len(value) != EUI64_LENGTH + 1 or value[0] != 0:
        raise ValueError("the subject x500UniqueIdentifier is not an 8-octet BIT STRING")
    return Eui64(value[1:])


def certificate_eui64(certificate: x509.Certificate) -> Eui64 | None:
    """The EUI-64 a GBCS certificate names: the SAN HardwareModuleName (device certificates), else the
    subject x500UniqueIdentifier (organisation certificates); None when it names none."""
    from_san = san_eui64(certificate)
    return from_san if from_san is not None else subject_eui64(certificate)
