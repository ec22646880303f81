"""The commands the suite sends as the DCC side: CS06 Activate Firmware and CS08 Read Firmware Version.

Why here and not in the steps: the suite plays the supplier (who signs CS06) and the DCC's Access Control
Broker (who wraps it in General Ciphered and MACs it, and MACs CS08 on the supplier's behalf) exactly as the
RTDS 4.5.0 samples show (domain digest §2.4, §10; docs/gbcs.md). Scenarios need the compliant command and
each deliberate defect of it (another signer, a corrupted signature or MAC, no MAC, a reused or older
counter, a payload counter that disagrees with the header), so they are all built in one place.

Originator counters: a device accepts a supplier command only when its counter exceeds the last one it
accepted, for its whole life. A real HCALCS on the bench keeps its counter from night to night, so counters
are taken from the run's UTC clock (microseconds since 2000-01-01, strictly increasing within a run) rather
than from a fixed start: on the virtual clock they are deterministic, on the real clock always newer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.gbcs.apdu import CraFlag, GeneralBlockHeader, GeneralCiphered, GeneralSigning, encode_apdu
from harness.gbcs.messages import encode_payload
from harness.gbcs.security import DCC_BOXED_ACB, protect, sign, wrap

CS06_MESSAGE_CODE = 0x0012
CS08_MESSAGE_CODE = 0x0129
#: The supplier of the DCC Boxed samples and of the suite's test PKI (``harness.crypto.pki`` "supplier").
DEFAULT_SUPPLIER = Eui64.parse("90-B3-D5-1F-30-01-00-00")
#: executionDateTime that cancels a pending future-dated CS06 (RTDS 4.5.0 CANCELLATION case).
CANCELLATION_TIME = dt.datetime(9999, 12, 31, 23, 59, 59)
_COUNTER_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class Cs06Defect(enum.Enum):
    """One deliberate defect of a CS06 (each one a reason for the device to refuse it: HG-07)."""

    NONE = "none"
    SIGNED_BY_ANOTHER_PARTY = "signed by another party"  # a valid signature, by a key the device does not trust
    CORRUPTED_SIGNATURE = "corrupted signature"  # the supplier's signature with one octet changed
    CORRUPTED_MAC = "corrupted MAC"  # the ACB's MAC with one octet changed
    NO_MAC = "no MAC"  # the supplier-signed command without the ACB's General Ciphered wrapper
    PAYLOAD_COUNTER_DIFFERS = "payload counter differs"  # payload originatorCounter != header counter (HG-06)


@dataclass
class DccCommands:
    """Builds the supplier/ACB commands for one device from a key store holding the supplier's DS private
    key and the ACB's KA private key (the suite's test PKI, or a test house's store)."""

    keystore: KeyStore
    device: Eui64
    now: Callable[[], dt.datetime]
    supplier: Eui64 = DEFAULT_SUPPLIER
    acb: Eui64 = field(default_factory=lambda: Eui64.parse(DCC_BOXED_ACB))
    last_counter: int = 0

    def next_counter(self) -> int:
        """A fresh originator counter: the clock in microseconds since 2000, above every one issued before."""
        now = self.now()
        now = now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
        self.last_counter = max(self.last_counter + 1, int((now - _COUNTER_EPOCH).total_seconds() * 1_000_000))
        return self.last_counter

    # -- CS06 ----------------------------------------------------------------------------------------------
    def cs06(
        self,
        image_hash: bytes,
        *,
        execute_at: dt.datetime | None = None,
        counter: int | None = None,
        defect: Cs06Defect = Cs06Defect.NONE,
    ) -> bytes:
        """CS06 Activate Firmware (0x0012): supplier-signed, ACB-MACed General Ciphered (RTDS 4.5.0 11.3_CS06).

        ``counter`` reuses a given originator counter (a replay or an older counter); by default a fresh one."""
        counter = self.next_counter() if counter is None else counter
        value: dict[str, Any] = {"manufacturerImageHash": bytes(image_hash), "originatorCounter": counter}
        if defect is Cs06Defect.PAYLOAD_COUNTER_DIFFERS:
            value["originatorCounter"] = counter + 1
        if execute_at is not None:  # a naive time is UTC, as asn1tools gives GeneralizedTime
            utc = execute_at.astimezone(dt.UTC) if execute_at.tzinfo is not None else execute_at
            value["executionDateTime"] = utc.replace(tzinfo=None, microsecond=0)
        header = GeneralBlockHeader(CraFlag.COMMAND, counter, self.supplier, self.device, CS06_MESSAGE_CODE)
        unsigned = GeneralSigning(header, encode_payload(CS06_MESSAGE_CODE, CraFlag.COMMAND, value))
        if defect is Cs06Defect.NO_MAC:
            return encode_apdu(protect(unsigned, self.keystore, acb=self.acb, mac=False))
        if defect is Cs06Defect.SIGNED_BY_ANOTHER_PARTY:
            signed = sign(unsigned, ec.generate_private_key(ec.SECP256R1()))  # a key nobody trusts
        else:
            signed = sign(unsigned, self.keystore.private_key(self.supplier, KeyRole.DS))
        if defect is Cs06Defect.CORRUPTED_SIGNATURE:
            assert signed.signature is not None
            signed = signed.with_signature(_flip_last(signed.signature))
        ciphered = wrap(
            signed,
            self.keystore.private_key(self.acb, KeyRole.KA),
            self.keystore.public_key(self.device, KeyRole.KA),
        )
        if defect is Cs06Defect.CORRUPTED_MAC:
            ciphered = dataclasses.replace(ciphered, mac=_flip_last(ciphered.mac))
        return encode_apdu(ciphered)

    def cs06_cancellation(self) -> bytes:
        """The CS06 that cancels a pending future-dated activation: executionDateTime 9999-12-31T23:59:59Z
        (the RTDS cancellation case, whose hash is all zeros)."""
        return self.cs06(bytes(32), execute_at=CANCELLATION_TIME)

    # -- CS08 ----------------------------------------------------------------------------------------------
    def cs08(self, *, corrupt_mac: bool = False) -> bytes:
        """CS08 Read Firmware Version as the ACB sends it (RTDS 4.5.0): ACB originator, the supplier as the
        supplementary remote party, NULL payload, no signature, ACB/device MAC."""
        counter = self.next_counter()
        header = GeneralBlockHeader(
            CraFlag.COMMAND,
            counter,
            self.acb,
            self.device,
            CS08_MESSAGE_CODE,
            supplementary_remote_party=self.supplier,
            supplementary_remote_party_counter=counter,
        )
        unsigned = GeneralSigning(header, encode_payload(CS08_MESSAGE_CODE, CraFlag.COMMAND, None), b"")
        apdu = protect(unsigned, self.keystore, acb=self.acb, signed=False, mac=True)
        assert isinstance(apdu, GeneralCiphered)
        if corrupt_mac:
            apdu = dataclasses.replace(apdu, mac=_flip_last(apdu.mac))
        return encode_apdu(apdu)


def _flip_last(octets: bytes) -> bytes:
    return octets[:-1] + bytes([octets[-1] ^ 0xFF])
