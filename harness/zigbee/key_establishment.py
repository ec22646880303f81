"""The Smart Energy Key Establishment cluster (0x0800): CBKE's four commands each way, and the certificates.

Why here: zigpy 2.4 declares ``smartenergy.KeyEstablishment`` with no attributes and no commands, so zigpy
drops every CBKE frame as unparsable and the transcript cannot name them. ``SmartEnergyKeyEstablishment``
subclasses it with the tables below, written with zigpy's own ``ZCLCommandDef`` mechanism (as
``harness.zigbee.tunneling`` does for 0x0704); importing this module re-registers 0x0800 with zigpy's cluster
registry, zigpy itself is untouched.

Sources [R: ZSE 1.x (07-5356) Annex C, Key Establishment cluster; cross-checked, not copied, against
Wireshark ``epan/dissectors/packet-zbee-zcl-se.c`` (``dissect_zcl_ke_*``, the dissector tshark runs in
``tests/zigbee_cbke``), the Ember ``plugin/key-establishment/key-establishment.c`` and bellows 1.2.1
``ezsp/v4/commands.py`` / ``types/named.py`` (certificate, key and SMAC sizes)]:

- attribute 0x0000 KeyEstablishmentSuite, on the server and (same id) on the client: the suites supported,
  bit 0 = suite 1 (CBKE-ECMQV, sect163k1), bit 1 = suite 2 (CBKE-ECMQV, sect283k1). Ember writes it as
  enum16 (ZCL type 0x31); declared here as bitmap16 (0x19): same two octets on the air, the ZCL type only
  shows in a Read Attributes response [U which one the spec's table names].
- client→server (the device, the initiator): 0x00 Initiate Key Establishment Request (suite 2 octets LE,
  Ephemeral Data Generate Time u8 s, Confirm Key Generate Time u8 s, Identity = the implicit certificate,
  48 octets for suite 1, 74 for suite 2); 0x01 Ephemeral Data Request (QEU: 22 / 37 octets);
  0x02 Confirm Key Data Request (MACU, 16 octets); 0x03 Terminate Key Establishment (status u8,
  wait time u8 s, suite 2 octets LE).
- server→client (the CH, the responder): the same four shapes: 0x00 Initiate Key Establishment Response
  (the responder's certificate), 0x01 Ephemeral Data Response (QEV), 0x02 Confirm Key Data Response (MACV),
  0x03 Terminate Key Establishment.

The Identity and the ephemeral data are declared as "rest of frame" (``t.Bytes``): their length depends on
the suite named in another field (or in an earlier frame), which a zigpy schema cannot express. The state
machine (``harness.ch.key_establishment``) checks the lengths with ``SuiteSpec``. GB uses suite 2 [I: GBCS
devices carry sect283k1 certificates; the project's domain digest names CBKE but not the suite].
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import KeyEstablishment
from zigpy.zcl.foundation import BaseAttributeDefs, BaseCommandDefs, ZCLAttributeDef, ZCLCommandDef

from harness.crypto.eui64 import Eui64

KEY_ESTABLISHMENT_CLUSTER_ID: Final = 0x0800
#: Octets of the Secure Message Authentication Code (MACU / MACV), both suites.
MAC_OCTETS: Final = 16


class KeyEstablishmentSuite(t.bitmap16):
    """The suite bits (attribute 0x0000 and every command's suite field)."""

    CBKE_ECMQV_163K1 = 0x0001  # crypto suite 1
    CBKE_ECMQV_283K1 = 0x0002  # crypto suite 2 (GB)


class TerminateStatus(t.enum8):
    """Terminate Key Establishment status codes (0x00 is reserved)."""

    UNKNOWN_ISSUER = 0x01
    BAD_KEY_CONFIRM = 0x02
    BAD_MESSAGE = 0x03
    NO_RESOURCES = 0x04
    UNSUPPORTED_SUITE = 0x05
    INVALID_CERTIFICATE = 0x06


class Mac(t.FixedList, item_type=t.uint8_t, length=MAC_OCTETS):
    """MACU / MACV: 16 octets."""


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """The sizes one suite fixes: certificate (Identity field), ephemeral public key, private key."""

    suite: KeyEstablishmentSuite
    curve: str
    certificate_octets: int
    ephemeral_key_octets: int


SUITES: Final[dict[int, SuiteSpec]] = {
    KeyEstablishmentSuite.CBKE_ECMQV_163K1: SuiteSpec(KeyEstablishmentSuite.CBKE_ECMQV_163K1, "sect163k1", 48, 22),
    KeyEstablishmentSuite.CBKE_ECMQV_283K1: SuiteSpec(KeyEstablishmentSuite.CBKE_ECMQV_283K1, "sect283k1", 74, 37),
}
SUITE_1: Final = SUITES[KeyEstablishmentSuite.CBKE_ECMQV_163K1]
SUITE_2: Final = SUITES[KeyEstablishmentSuite.CBKE_ECMQV_283K1]

_INITIATE = {
    "key_establishment_suite": KeyEstablishmentSuite,
    "ephemeral_data_generate_time": t.uint8_t,
    "confirm_key_generate_time": t.uint8_t,
    "identity": t.Bytes,
}
_TERMINATE = {"status_code": TerminateStatus, "wait_time": t.uint8_t, "key_establishment_suite": KeyEstablishmentSuite}


class SmartEnergyKeyEstablishment(KeyEstablishment):
    """zigpy's empty KeyEstablishment cluster with its ZSE commands declared (registers itself for 0x0800)."""

    class AttributeDefs(BaseAttributeDefs):
        key_establishment_suite: Final = ZCLAttributeDef(
            id=0x0000, type=KeyEstablishmentSuite, access="r", mandatory=True
        )
        cluster_revision: Final = foundation.ZCL_CLUSTER_REVISION_ATTR
        reporting_status: Final = foundation.ZCL_REPORTING_STATUS_ATTR

    class ServerCommandDefs(BaseCommandDefs):
        initiate_key_establishment_request: Final = ZCLCommandDef(id=0x00, schema=_INITIATE)
        ephemeral_data_request: Final = ZCLCommandDef(id=0x01, schema={"ephemeral_data": t.Bytes})
        confirm_key_data_request: Final = ZCLCommandDef(id=0x02, schema={"secure_message_authentication_code": Mac})
        terminate_key_establishment: Final = ZCLCommandDef(id=0x03, schema=_TERMINATE)

    class ClientCommandDefs(BaseCommandDefs):
        initiate_key_establishment_response: Final = ZCLCommandDef(id=0x00, schema=_INITIATE)
        ephemeral_data_response: Final = ZCLCommandDef(id=0x01, schema={"ephemeral_data": t.Bytes})
        confirm_key_data_response: Final = ZCLCommandDef(id=0x02, schema={"secure_message_authentication_code": Mac})
        terminate_key_establishment: Final = ZCLCommandDef(id=0x03, schema=_TERMINATE)

    def handle_cluster_request(self, hdr: foundation.ZCLHeader, args: Any, **kwargs: Any) -> None:
        """Silent on purpose: the suite's CH answers CBKE from the raw tap; zigpy must not add a Default
        Response of its own to frames it happens to parse."""


KE_TO_SERVER = SmartEnergyKeyEstablishment.ServerCommandDefs
KE_TO_CLIENT = SmartEnergyKeyEstablishment.ClientCommandDefs


# -- certificates ----------------------------------------------------------------------------------------------

#: Suite 2 certificate constants [R: ZSE Annex C; the values Wireshark names].
CERT_TYPE_NO_EXTENSIONS: Final = 0x00
CURVE_SECT283K1: Final = 0x0D
HASH_AES_MMO: Final = 0x08
KEY_USAGE_KEY_AGREEMENT: Final = 0x08
KEY_USAGE_DIGITAL_SIGNATURE: Final = 0x80
#: Valid To value meaning "does not expire".
VALID_TO_NEVER: Final = 0xFFFFFFFF

_SUITE2 = struct.Struct(">B8sBB8s5sI8sB37s")
_SUITE1 = struct.Struct(">22s8s8s10s")


@dataclass(frozen=True, slots=True)
class ImplicitCertificate:
    """The fields of an ECQV implicit certificate as the Identity field carries them (big-endian EUI-64s).

    Suite 2 (74 octets): type, serial, curve, hash, issuer, valid-from (40-bit UTC seconds), valid-to
    (seconds after valid-from), subject, key usage, public key reconstruction data (37). Suite 1 (48): public
    key reconstruction data (22), subject, issuer, profile attribute data (10). Parsing checks sizes only;
    whether the fields make sense is the responder's decision.
    """

    suite: SuiteSpec
    subject: Eui64
    issuer: Eui64
    public_key_reconstruction: bytes
    serial: int = 0
    cert_type: int = CERT_TYPE_NO_EXTENSIONS
    curve: int = CURVE_SECT283K1
    hash_id: int = HASH_AES_MMO
    valid_from: int = 0
    valid_to: int = VALID_TO_NEVER
    key_usage: int = KEY_USAGE_KEY_AGREEMENT
    profile_attribute_data: bytes = bytes(10)

    @classmethod
    def parse(cls, identity: bytes, suite: SuiteSpec) -> ImplicitCertificate:
        """ValueError when ``identity`` is not exactly ``suite.certificate_octets`` long."""
        if len(identity) != suite.certificate_octets:
            raise ValueError(
                f"suite {int(suite.suite)} certificate is {suite.certificate_octets} octets, got {len(identity)}"
            )
        if suite is SUITE_1:
            recon, subject, issuer, profile = _SUITE1.unpack(identity)
            return cls(suite, Eui64(subject), Eui64(issuer), recon, profile_attribute_data=profile)
        ctype, serial, curve, hash_id, issuer, vfrom, vto, subject, usage, recon = _SUITE2.unpack(identity)
        return cls(
            suite,
            Eui64(subject),
            Eui64(issuer),
            recon,
            serial=int.from_bytes(serial, "big"),
            cert_type=ctype,
            curve=curve,
            hash_id=hash_id,
            valid_from=int.from_bytes(vfrom, "big"),
            valid_to=vto,
            key_usage=usage,
        )

    def serialize(self) -> bytes:
        if self.suite is SUITE_1:
            return _SUITE1.pack(
                self.public_key_reconstruction, self.subject.octets, self.issuer.octets, self.profile_attribute_data
            )
        return _SUITE2.pack(
            self.cert_type,
            self.serial.to_bytes(8, "big"),
            self.curve,
            self.hash_id,
            self.issuer.octets,
            self.valid_from.to_bytes(5, "big"),
            self.valid_to,
            self.subject.octets,
            self.key_usage,
            self.public_key_reconstruction,
        )


def initiate_payload(
    suite: KeyEstablishmentSuite | int,
    ephemeral_data_generate_time: int,
    confirm_key_generate_time: int,
    identity: bytes,
) -> bytes:
    """The Initiate Key Establishment Request / Response payload (same layout both ways)."""
    return KE_TO_SERVER.initiate_key_establishment_request.schema(
        key_establishment_suite=KeyEstablishmentSuite(suite),
        ephemeral_data_generate_time=ephemeral_data_generate_time,
        confirm_key_generate_time=confirm_key_generate_time,
        identity=t.Bytes(identity),
    ).serialize()


def terminate_payload(status: TerminateStatus | int, wait_time: int, suite: KeyEstablishmentSuite | int) -> bytes:
    """The Terminate Key Establishment payload (same layout both ways)."""
    return KE_TO_SERVER.terminate_key_establishment.schema(
        status_code=TerminateStatus(status), wait_time=wait_time, key_establishment_suite=KeyEstablishmentSuite(suite)
    ).serialize()
