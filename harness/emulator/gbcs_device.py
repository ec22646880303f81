"""The GBCS side of an emulated HAN device: CS09 Firmware Activation Alerts and CS08 Read Firmware Version.

Why a separate module: the PPMID (CS09 and CS08) and later the HCALCS (CS08) answer the same messages the same
way, so the device classes only feed it versions and hand it the APDUs their tunnel delivers
(domain.md §2.3-2.5, §10). Keys: the device's own DS private key signs alerts, its KA private key and the
ACB's KA public key MAC CS08 responses and check CS08 commands; all are looked up by EUI-64 in the key store.

Deviations (fault knobs, ``harness.emulator.faults``) are read from ``faults`` by attribute name, so the
module stays usable with any object that has the GBCS knobs' fields.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.gbcs import (
    DCC_BOXED_ACB,
    CraFlag,
    GbcsFormatError,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    PayloadError,
    compute_mac,
    decode_apdu,
    encode_apdu,
    encode_payload,
    sign,
    verify_mac,
)

LOGGER = logging.getLogger(__name__)

CS09_MESSAGE_CODE = 0x012B  # RTDS 4.5.0 sample (domain.md §2.3)
CS08_MESSAGE_CODE = 0x0129
CS09_ALERT_CODE = 0x8F8B
ACTIVATION_SUCCESS = 0
ACTIVATION_FAILURE = 1
READ_SUCCESS = 0

#: GBCS's epoch for the emulator's wall clock when the host clock gives only seconds since start [I].
_EPOCH = dt.datetime(2026, 1, 1)


class GbcsDevice:
    """One device's GBCS application: builds CS09 alerts, answers CS08 commands.

    ``send`` puts an APDU towards the CH (the tunnel's ``put``); ``now_s`` gives the device's clock in seconds
    (used for the alert's GeneralizedTime from ``_EPOCH``).
    """

    def __init__(
        self,
        eui64: Eui64 | str,
        keystore: KeyStore,
        send: Callable[[bytes], Any],
        *,
        faults: Any = None,
        acb: Eui64 | str = DCC_BOXED_ACB,
        now_s: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.eui64 = Eui64.parse(eui64)
        self.acb = Eui64.parse(acb)
        self.send = send
        self.faults = faults
        self.now_s = now_s
        self.ds_private: ec.EllipticCurvePrivateKey = keystore.private_key(self.eui64, KeyRole.DS)
        self.ka_private: ec.EllipticCurvePrivateKey = keystore.private_key(self.eui64, KeyRole.KA)
        self.acb_ka_public: ec.EllipticCurvePublicKey = keystore.public_key(self.acb, KeyRole.KA)
        self.counter = int(self.now_s() * 1000) + 1  # alerts use the device's own counter, strictly increasing
        #: Evidence for tests: CS08 commands refused (bad MAC, unreadable) and alerts sent.
        self.refused: list[str] = []
        self.alerts: list[bytes] = []

    def _fault(self, name: str) -> bool:
        return bool(getattr(self.faults, name, False))

    def _next_counter(self) -> int:
        self.counter += 1
        return self.counter

    # -- CS09 -------------------------------------------------------------------------------------------
    def activation_alert(self, version: int, success: bool, previous_version: int | None = None) -> bytes:
        """The CS09 alert after an activation attempt (PZ-22, PZ-23), sent through ``send``; returns it."""
        reported = version
        if success and self._fault("cs09_reports_old_version") and previous_version is not None:
            reported = previous_version
        result = ACTIVATION_SUCCESS if success or self._fault("cs09_failure_claims_success") else ACTIVATION_FAILURE
        when = (_EPOCH + dt.timedelta(seconds=self.now_s())).replace(microsecond=0)
        payload = encode_payload(
            CS09_MESSAGE_CODE,
            CraFlag.ALERT,
            {
                "alertCode": CS09_ALERT_CODE,
                "executionDateTime": when,
                "firmwareVersion": reported.to_bytes(4, "big"),
                "activateImage": result,
            },
        )
        header = GeneralBlockHeader(CraFlag.ALERT, self._next_counter(), self.eui64, self.acb, CS09_MESSAGE_CODE)
        unsigned = GeneralSigning(header, payload, b"")
        if self._fault("cs09_bad_signature"):
            signed = sign(unsigned, self.ds_private)
            assert signed.signature is not None
            signed = signed.with_signature(bytes([signed.signature[0] ^ 0xFF]) + signed.signature[1:])
        else:
            signed = sign(unsigned, self.ds_private)
        apdu = encode_apdu(signed)
        self.alerts.append(apdu)
        self.send(apdu)
        return apdu

    # -- CS08 -------------------------------------------------------------------------------------------
    def on_apdu(self, data: bytes, running_version: int, reported_version: int | None = None) -> bytes | None:
        """Handle one APDU from the CH; a CS08 command gets its response (sent and returned).

        ``reported_version`` is what a stale device would report (knob cs08-stale-version). A command whose
        MAC does not verify gets no response and changes nothing [I, domain.md §10].
        """
        try:
            apdu = decode_apdu(data)
        except GbcsFormatError as err:
            self.refused.append(f"unreadable: {err}")
            return None
        header = apdu.header
        if header.message_code != CS08_MESSAGE_CODE or header.cra_flag != CraFlag.COMMAND:
            self.refused.append(f"not a CS08 command: 0x{header.message_code:04X} CRA {header.cra_flag}")
            return None
        if header.recipient != self.eui64:
            self.refused.append(f"addressed to {header.recipient}")
            return None
        if not isinstance(apdu, GeneralCiphered):
            self.refused.append("CS08 command without MAC")
            return None
        if not self._fault("cs08_ignores_mac") and not verify_mac(apdu, self.ka_private, self.acb_ka_public):
            self.refused.append("CS08 command MAC does not verify")
            return None
        version = running_version
        if self._fault("cs08_stale_version") and reported_version is not None:
            version = reported_version
        try:
            payload = encode_payload(
                CS08_MESSAGE_CODE,
                CraFlag.RESPONSE,
                {
                    "firmwareVersion": _version_octets(version, self._fault("cs08_short_version")),
                    "responseCode": READ_SUCCESS,
                },
            )
        except PayloadError as err:  # pragma: no cover - our own value
            LOGGER.error("CS08 response payload: %s", err)
            return None
        # As the RTDS CS08 response: to the ACB, with the supplementary remote party and its counter echoed.
        signed = GeneralSigning(header.response_header(echo_supplementary=True), payload, b"")
        mac = compute_mac(signed, self.ka_private, self.acb_ka_public)
        if self._fault("cs08_bad_response_mac"):
            mac = mac[:-1] + bytes([mac[-1] ^ 0xFF])
        response = GeneralCiphered(signed=signed, mac=mac)
        octets = encode_apdu(response)
        self.send(octets)
        return octets


__all__ = ["GbcsDevice"]


def _version_octets(version: int, short: bool) -> bytes:
    """The 4-octet firmware version (CS-18); knob cs08-short-version drops its first octet."""
    octets = version.to_bytes(4, "big")
    return octets[1:] if short else octets
