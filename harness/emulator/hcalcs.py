"""The reference HCALCS: a Load Control Device (0x0504) that downloads over Zigbee OTA and activates on CS06.

Why: every HCALCS scenario must PASS against a compliant device and FAIL, for the right HG requirement,
against each deviation of ``harness.emulator.hcalcs_faults``. Two layers:

- ``HcalcsGbcs``: the GBCS device logic, radio-free and clock-free (time is passed in): the receipt alert
  after a download (HG-04/05), CS06 in the order of domain digest §2.4/§10 (HG-07..HG-15), CS08 (HG-17),
  the load-switch state (HG-18) and the NVM (``HcalcsNvm``: held image, counters, pending future-dated
  command). Every APDU it sends goes to ``put``.
- ``HcalcsEmulator``: an ``EmulatedZigbeeNode`` composing an ``OtaClient`` (verifier
  ``SupplierImageVerifier``: gb-signed layout, supplier ARP signature over the Manufacturer Image with the
  supplier DS certificate as trust anchor), a ``TunnelClient`` (GBCS over ZSE Tunneling, domain digest §11)
  and an ``HcalcsGbcs``; from_profile/boot/snapshot/restore as the PPMID.

Declared assumptions [I] (domain digest §10): a CS06 failing authentication (signature, MAC, counter) gets no
response and no alert; a new future-dated CS06 replaces a pending one; a cancellation (executionDateTime
99991231235959Z) is answered with the NULL "accepted" response; a future-dated CS06 whose time has passed
runs at once after its NULL response; CS06/CS08 responses echo the command's originator counter (RTDS);
alerts use the device's own counter and go to the supplier. Its messages look like the RTDS device messages
(domain.md §10): the CS08 response echoes the supplementary remote party and its counter, the CS06 response's
DLMS date-time has deviation 0x8000 and clock status 0xFF, and the 0x8F43 alert (HG-19) is a GBZ alert without
data under PIXIT hcalcs.alert_8f43_message_code (the Generic Non-Critical Alert 0x1001 by default).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import zigpy.types as t
from cryptography.hazmat.primitives.asymmetric import ec
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Basic, OnOff, Ota

from harness.clock import Clock
from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyRole, KeyStore
from harness.emulator.faults import FaultSet
from harness.emulator.hcalcs_faults import HCALCS_FAULTS, HcalcsFaultSet, parse_hcalcs_faults
from harness.emulator.node import COORDINATOR_NWK, EmulatedZigbeeNode, Transmit, default_nwk
from harness.emulator.ota_client import (
    DowngradePolicy,
    GbImageVerifier,
    ImageIdentity,
    ManufacturerCheck,
    OtaClient,
    OtaClientConfig,
    OtaNvm,
    PersistPoint,
    Phase,
    Verdict,
    ota_config_from_profile,
    version_allowed,
)
from harness.emulator.tunnel_client import TunnelClient
from harness.emulator.vendor_image import VendorSignatureCheck, vendor_public_key_pem
from harness.errors import ConfigurationError
from harness.gbcs import (
    CraFlag,
    DlmsDateTime,
    GbcsFormatError,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    PayloadError,
    decode_apdu,
    encode_apdu,
    encode_payload,
    sign,
    verify_mac,
    verify_signature,
    wrap,
)
from harness.gbcs.commands import CANCELLATION_TIME
from harness.gbcs.gbz import GBZ_PROFILE_ID, GENERIC_ALERT, RECEIPT_ALERT
from harness.gbcs.payloads import ACTIVATE_FIRMWARE_COMMAND
from harness.gbcs.security import DCC_BOXED_ACB
from harness.ota.format import Layout
from harness.ota.manufacturer import activation_fails
from harness.ota.validate import FindingCode, validate_image
from harness.profile import Profile
from harness.radio.loopback import COORDINATOR_IEEE
from harness.zigbee import SmartEnergyTunneling, TunnelConfig

LOGGER = logging.getLogger(__name__)

#: Smart Energy device id of a Load Control Device (domain digest §11).
LOAD_CONTROL_DEVICE_ID = 0x0504
#: The test PKI's supplier (its DS certificate is the HCALCS's supplier trust anchor).
SUPPLIER_EUI = Eui64.parse("90-B3-D5-1F-30-01-00-00")

CS06 = 0x0012
FUTURE_DATED_ALERT = 0x00CA
CS08 = 0x0129
DEFAULT_RECEIPT_ALERT_CODE = 0x00CF
#: The Generic Non-Critical Alert: how an alert outside a use case travels (domain.md §10; PIXIT
#: hcalcs.alert_8f43_message_code).
DEFAULT_8F43_ALERT_CODE = 0x1001

ALERT_VERIFICATION_OK = 0x8F72
ALERT_VERIFICATION_FAILED = 0x8F1C
ALERT_FUTURE_DATED_OK = 0x8F66
ALERT_FUTURE_DATED_FAILED = 0x8F67
ALERT_FIRMWARE_CHANGED = 0x8F43


class ResponseCode:
    """activateImageResponseCode values (domain digest §2.4)."""

    SUCCESS = 0
    NO_IMAGE_HELD = 1
    HASH_MISMATCH = 2
    ACTIVATION_FAILURE = 3


#: What accept-bad-supplier-signature overlooks in the validator's report.
_SIGNATURE_FINDINGS = frozenset({FindingCode.SIGNATURE_INVALID})
GBZ_EPOCH = dt.datetime(2000, 1, 1)


def naive_utc(value: dt.datetime) -> dt.datetime:
    """asn1tools decodes GeneralizedTime naive (UTC); compare everything in that form."""
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo is not None else value


# -- image verification ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageJudgement:
    """The last complete file the verifier judged: the Manufacturer Image found (None if unreadable)."""

    ok: bool
    reason: str
    identity: ImageIdentity
    manufacturer_image: bytes | None


@dataclass
class SupplierImageVerifier:
    """HG-02/04/05: the file must be gb-signed (Manufacturer Image ‖ ForceReplace ‖ 0x40 ‖ ARP signature)
    with a supplier signature that verifies with the supplier DS key, carry the offered identity and a version
    the downgrade policy allows. ``last`` keeps the judgement so the HCALCS can send the receipt alert."""

    supplier_public_key: ec.EllipticCurvePublicKey
    storage_capacity: int | None = None
    #: The OTA knobs ``header_problem`` reads (the HCALCS has none of them on).
    faults: FaultSet = field(default_factory=FaultSet)
    #: Fault knob accept-bad-supplier-signature (HG-05, CS-08).
    accept_bad_signature: bool = False
    #: A manufacturer signature inside the Manufacturer Image, checked after the supplier's (the vendor-image
    #: path, ``harness.emulator.vendor_image``); None: the supplier's signature only.
    manufacturer_check: ManufacturerCheck | None = None
    last: ImageJudgement | None = field(default=None, init=False)

    #: The early header check of the PPMID's verifier (magic, lengths, identity) applies unchanged.
    header_problem = GbImageVerifier.header_problem

    def __call__(self, data: bytes, expected: ImageIdentity, running_version: int) -> Verdict:
        report = validate_image(
            data,
            layout=Layout.GB_SIGNED,
            supplier_public_key=self.supplier_public_key,
            max_image_size=self.storage_capacity,
        )
        verdict = self._judge(report, expected, running_version, self.accept_bad_signature)
        if verdict.ok and self.manufacturer_check is not None:
            header = report.header
            found = self.manufacturer_check(
                report.manufacturer_image or b"", header.manufacturer_code, header.image_type, header.file_version
            )
            if not found.ok:
                verdict = Verdict(False, f"manufacturer signature: {found.reason}", signature=True)
        self.last = ImageJudgement(verdict.ok, verdict.reason, expected, report.manufacturer_image)
        return verdict

    @staticmethod
    def _judge(report: Any, expected: ImageIdentity, running_version: int, accept_bad_signature: bool) -> Verdict:
        defects = [f for f in report.defects if not (accept_bad_signature and f.code in _SIGNATURE_FINDINGS)]
        if defects:
            return Verdict(False, "; ".join(f"{f.code}: {f.reason}" for f in defects))
        if not report.signature_valid and not accept_bad_signature:
            return Verdict(False, "supplier signature does not verify", signature=True)
        header = report.header
        found = ImageIdentity(header.manufacturer_code, header.image_type, header.file_version)
        if found != expected:
            return Verdict(False, f"header identity {found} differs from the offered {expected}")
        if not version_allowed(DowngradePolicy.REJECT_LOWER_OR_EQUAL, running_version, found.file_version):
            return Verdict(False, f"version {found.file_version:08X} not newer than {running_version:08X}")
        return Verdict(True, "gb-signed image, supplier signature verifies")


# -- non-volatile state -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeldImage:
    """A Manufacturer Image held for activation."""

    version: int
    manufacturer_image: bytes

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.manufacturer_image).digest()


@dataclass(frozen=True)
class FutureActivation:
    """A pending future-dated CS06."""

    image_hash: bytes
    counter: int
    execute_at: dt.datetime


@dataclass
class HcalcsNvm:
    running_version: int
    held: HeldImage | None = None
    last_counter: int = 0
    alert_counter: int = 0
    future: FutureActivation | None = None
    load_switch: bool = False

    def to_json(self, *, keep_future: bool = True, keep_held: bool = True) -> dict[str, Any]:
        future = self.future if keep_future else None
        held = self.held if keep_held else None
        return {
            "running_version": self.running_version,
            "held": None if held is None else {"version": held.version, "image": held.manufacturer_image.hex()},
            "last_counter": self.last_counter,
            "alert_counter": self.alert_counter,
            "future": None
            if future is None
            else {"hash": future.image_hash.hex(), "counter": future.counter, "at": future.execute_at.isoformat()},
            "load_switch": self.load_switch,
        }

    @classmethod
    def from_json(cls, state: Mapping[str, Any]) -> HcalcsNvm:
        held = state.get("held")
        future = state.get("future")
        return cls(
            running_version=int(state["running_version"]),
            held=None if not held else HeldImage(int(held["version"]), bytes.fromhex(held["image"])),
            last_counter=int(state.get("last_counter", 0)),
            alert_counter=int(state.get("alert_counter", 0)),
            future=None
            if not future
            else FutureActivation(
                bytes.fromhex(future["hash"]), int(future["counter"]), dt.datetime.fromisoformat(future["at"])
            ),
            load_switch=bool(state.get("load_switch", False)),
        )


# -- the GBCS device logic ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HcalcsKeys:
    """What the HCALCS trusts and signs with."""

    device_ds: ec.EllipticCurvePrivateKey
    device_ka: ec.EllipticCurvePrivateKey
    supplier_ds: ec.EllipticCurvePublicKey
    acb_ka: ec.EllipticCurvePublicKey
    supplier: Eui64 = SUPPLIER_EUI
    acb: Eui64 = DCC_BOXED_ACB

    @classmethod
    def from_keystore(
        cls, keystore: KeyStore, device: Eui64, *, supplier: Eui64 = SUPPLIER_EUI, acb: Eui64 = DCC_BOXED_ACB
    ) -> HcalcsKeys:
        for role in (KeyRole.DS, KeyRole.KA):
            if not keystore.has_private(device, role):
                raise ConfigurationError(
                    f"HCALCS emulator {device}: key store {keystore.source} has no {role.value} private key for it"
                )
        return cls(
            device_ds=keystore.private_key(device, KeyRole.DS),
            device_ka=keystore.private_key(device, KeyRole.KA),
            supplier_ds=keystore.public_key(supplier, KeyRole.DS),
            acb_ka=keystore.public_key(acb, KeyRole.KA),
            supplier=supplier,
            acb=acb,
        )


@dataclass(frozen=True)
class Rejection:
    """Why a command was dropped without an answer (evidence for tests)."""

    message_code: int | None
    reason: str


class HcalcsGbcs:
    """The HCALCS's GBCS behaviour. ``put(apdu)`` sends; ``now()`` is UTC; ``activate(held)`` is the
    manufacturer activation (returns False for an activation failure); ``on_future_changed`` lets the host
    (re)arm its timer for ``nvm.future``; ``on_persist`` after each NVM change."""

    def __init__(
        self,
        eui: Eui64,
        keys: HcalcsKeys,
        nvm: HcalcsNvm,
        *,
        put: Callable[[bytes], object],
        now: Callable[[], dt.datetime],
        faults: HcalcsFaultSet | None = None,
        receipt_alert_code: int = DEFAULT_RECEIPT_ALERT_CODE,
        on_future_changed: Callable[[], None] | None = None,
        on_persist: Callable[[], None] | None = None,
        alert_8f43: bool = False,
        alert_8f43_code: int = DEFAULT_8F43_ALERT_CODE,
    ) -> None:
        self.eui = eui
        #: HG-19 (PICS GB.HCALCS.ALERT_8F43): raise 0x8F43 after each activation, a signed GBZ alert without
        #: data under ``alert_8f43_code`` (PIXIT hcalcs.alert_8f43_message_code; by default the Generic
        #: Non-Critical Alert 0x1001, which the DCC's parser decodes) [I: its form for an HCALCS is unknown].
        self.alert_8f43 = alert_8f43
        self.alert_8f43_code = alert_8f43_code
        self.keys = keys
        self.nvm = nvm
        self.put = put
        self.now = now
        self.faults = faults or HcalcsFaultSet()
        self.receipt_alert_code = receipt_alert_code
        self.on_future_changed = on_future_changed
        self.on_persist = on_persist
        #: The version the device left the factory with (what cs08-stale-version reports).
        self.manufactured_version = nvm.running_version
        #: Test/adapter hook: the next activation attempt fails (HG-10, code 3 / 0x8F67).
        self.fail_next_activation = False
        self.rejections: list[Rejection] = []

    # -- reported state ------------------------------------------------------------------------------------
    @property
    def running_version(self) -> int:
        return self.nvm.running_version

    @property
    def reported_version(self) -> int:
        """The version CS08 reports (fault report-new-version-before-activation lies here)."""
        if self.faults.report_new_version_before_activation and self.nvm.held is not None:
            return self.nvm.held.version
        if self.faults.cs08_stale_version:
            return self.manufactured_version
        return self.nvm.running_version

    def _persist(self) -> None:
        if self.on_persist is not None:
            self.on_persist()

    # -- distribution ----------------------------------------------------------------------------------------
    def image_received(self, ok: bool, version: int, manufacturer_image: bytes | None) -> None:
        """A complete transfer was verified (``ok``) or not: hold or discard, then the receipt alert."""
        calculated = hashlib.sha256(manufacturer_image or b"").digest()
        if ok or self.faults.keep_unverified_image:
            if manufacturer_image is not None and not (self.faults.hash_first_image and self.nvm.held is not None):
                self.nvm.held = HeldImage(version, manufacturer_image)
        elif not ok:
            pass  # HG-05: the unverified image is discarded (an already held image stays)
        self._persist()
        if self.faults.no_receipt_alert:
            return
        alert = ALERT_VERIFICATION_OK if ok else ALERT_VERIFICATION_FAILED
        payload = RECEIPT_ALERT.encode({**self._gbz_alert_header(alert), "calculatedManufacturerHash": calculated})
        self._send_alert(self.receipt_alert_code, payload)

    def _gbz_alert_header(self, alert_code: int) -> dict[str, Any]:
        """The fields every GBZ alert starts with: profile id, one component, alert code, time now."""
        return {
            "profileId": GBZ_PROFILE_ID,
            "componentCount": 1,
            "alertCode": alert_code,
            "timestamp": naive_utc(self.now()).replace(microsecond=0),
        }

    def _firmware_changed_alert(self) -> None:
        """HG-19: 0x8F43 as a GBZ alert without data under the declared message code (Generic Non-Critical
        Alert by default). Knob alert-8f43-under-receipt-code sends it as the suite did before the DCC's parser
        showed it undecodable: under the receipt alert's code, without the hash that code always carries."""
        payload = GENERIC_ALERT.encode({**self._gbz_alert_header(ALERT_FIRMWARE_CHANGED), "data": b""})
        code = self.receipt_alert_code if self.faults.alert_8f43_under_receipt_code else self.alert_8f43_code
        self._send_alert(code, payload)

    def _send_alert(self, message_code: int, payload: bytes) -> None:
        self.nvm.alert_counter += 1
        self._persist()
        header = GeneralBlockHeader(
            cra_flag=CraFlag.ALERT,
            originator_counter=self.nvm.alert_counter,
            originator=self.eui,
            recipient=self.keys.supplier,
            message_code=message_code,
        )
        self.put(encode_apdu(self._sign(GeneralSigning(header, payload), self.faults.corrupt_alert_signature)))

    def _sign(self, unsigned: GeneralSigning, corrupt: bool) -> GeneralSigning:
        """Sign with the device's DS key; ``corrupt`` (a fault knob) changes the signature's first octet."""
        signed = sign(unsigned, self.keys.device_ds)
        if corrupt:
            assert signed.signature is not None
            signed = signed.with_signature(bytes([signed.signature[0] ^ 0xFF]) + signed.signature[1:])
        return signed

    # -- commands --------------------------------------------------------------------------------------------
    def on_apdu(self, data: bytes) -> None:
        """One APDU from the tunnel."""
        try:
            apdu = decode_apdu(data)
        except GbcsFormatError as err:
            self._reject(None, f"not an APDU: {err}")
            return
        header = apdu.header
        if header.cra_flag != CraFlag.COMMAND or header.recipient != self.eui:
            self._reject(header.message_code, "not a command for this device")
            return
        if header.message_code == CS06:
            self._on_cs06(apdu)
        elif header.message_code == CS08:
            self._on_cs08(apdu)
        else:
            self._reject(header.message_code, "message code not supported")

    def _reject(self, code: int | None, reason: str) -> None:
        LOGGER.debug("HCALCS %s drops a command (%s): %s", self.eui, code, reason)
        self.rejections.append(Rejection(code, reason))

    def _mac_ok(self, apdu: GeneralCiphered) -> bool:
        return verify_mac(apdu, self.keys.device_ka, self.keys.acb_ka)

    def _on_cs06(self, apdu: GeneralSigning | GeneralCiphered) -> None:
        # HG-07/HG-15: signature, MAC and counter first; failure: no response, no alert [I].
        if not self.faults.skip_mac_check and (not isinstance(apdu, GeneralCiphered) or not self._mac_ok(apdu)):
            self._reject(CS06, "MAC missing or invalid")
            return
        signed = apdu.signed if isinstance(apdu, GeneralCiphered) else apdu
        header = signed.header
        if header.originator != self.keys.supplier:
            self._reject(CS06, f"originator {header.originator} is not the trusted supplier")
            return
        if not self.faults.skip_signature_check and not verify_signature(signed, self.keys.supplier_ds):
            self._reject(CS06, "supplier signature invalid")
            return
        if not self.faults.ignore_counter and header.originator_counter <= self.nvm.last_counter:
            self._reject(CS06, f"counter {header.originator_counter} not above {self.nvm.last_counter}")
            return
        try:
            command = ACTIVATE_FIRMWARE_COMMAND.decode(signed.payload)
        except PayloadError as err:
            self._reject(CS06, f"payload: {err}")
            return
        if command["originatorCounter"] != header.originator_counter and not self.faults.ignore_counter:
            self._reject(CS06, "payload counter differs from the header's")
            return
        self.nvm.last_counter = max(self.nvm.last_counter, header.originator_counter)
        image_hash = bytes(command["manufacturerImageHash"])
        when = command.get("executionDateTime")
        if when is not None and not self.faults.execute_future_dated_at_once:
            when = naive_utc(when)
            if when != CANCELLATION_TIME:
                self.nvm.future = FutureActivation(image_hash, header.originator_counter, when)
            elif not self.faults.ignore_cancellation:
                self.nvm.future = None
            self._persist()
            self._respond_cs06(header, ("commandAccepted", None))
            if self.on_future_changed is not None:
                self.on_future_changed()
            return
        self._persist()
        code, version = self.execute(image_hash)
        self._respond_cs06(header, ("executionOutcome", outcome(code, version)))

    def execute(self, image_hash: bytes) -> tuple[int, int]:
        """Steps 3-5 of §2.4: (activateImageResponseCode, firmware version to report)."""
        held = self.nvm.held
        if held is None:
            return ResponseCode.NO_IMAGE_HELD, 0 if self.faults.no_image_zero_version else self.running_version
        if held.hash != image_hash and not self.faults.activate_on_hash_mismatch:
            return ResponseCode.HASH_MISMATCH, self.running_version
        if self.fail_next_activation or activation_fails(held.manufacturer_image):
            self.fail_next_activation = False
            if self.faults.claim_success_on_activation_failure:
                return ResponseCode.SUCCESS, held.version
            return ResponseCode.ACTIVATION_FAILURE, self.running_version
        self.activate(held)
        return ResponseCode.SUCCESS, self.nvm.running_version

    def activate(self, held: HeldImage) -> None:
        """The held image becomes the running one; the load switch keeps its state (HG-18); 0x8F43 (HG-19)."""
        self.nvm.running_version = held.version
        self.nvm.held = None
        if self.faults.lose_load_switch_state:
            self.nvm.load_switch = False
        self._persist()
        if self.alert_8f43 and not self.faults.no_8f43_alert:
            self._firmware_changed_alert()

    def _respond_cs06(self, command: GeneralBlockHeader, value: Any) -> None:
        header = command.response_header(date_time=DlmsDateTime.from_datetime(self.now()))
        payload = encode_payload(CS06, CraFlag.RESPONSE, value)
        self.put(encode_apdu(self._sign(GeneralSigning(header, payload), self.faults.corrupt_response_signature)))

    def _on_cs08(self, apdu: GeneralSigning | GeneralCiphered) -> None:
        if not isinstance(apdu, GeneralCiphered) or not self._mac_ok(apdu):
            self._reject(CS08, "MAC missing or invalid")
            return
        header = apdu.header.response_header(echo_supplementary=True)  # as RTDS: to the ACB, supplier echoed
        read = (0, 1) if self.faults.cs08_read_failure else (self.reported_version, 0)  # HG-17: readFailure
        octets = read[0].to_bytes(4, "big")[1 if self.faults.cs08_short_version else 0 :]  # CS-18
        payload = encode_payload(CS08, CraFlag.RESPONSE, {"firmwareVersion": octets, "responseCode": read[1]})
        self.put(encode_apdu(wrap(GeneralSigning(header, payload), self.keys.device_ka, self.keys.acb_ka)))

    # -- future-dated execution ------------------------------------------------------------------------------
    def run_due(self) -> bool:
        """Execute the pending future-dated CS06 if its time has come; True when it ran."""
        future = self.nvm.future
        if future is None or naive_utc(self.now()) < future.execute_at:
            return False
        self.nvm.future = None
        self._persist()
        code, version = self.execute(future.image_hash)
        succeeded = code == ResponseCode.SUCCESS or self.faults.future_dated_failure_alerts_success
        alert = ALERT_FUTURE_DATED_OK if succeeded else ALERT_FUTURE_DATED_FAILED
        payload = encode_payload(
            FUTURE_DATED_ALERT,
            CraFlag.ALERT,
            {
                "alertCode": alert,
                "executionDateTime": future.execute_at,
                "originatorCounter": future.counter,
                "executionOutcome": outcome(code, version),
            },
        )
        self._send_alert(FUTURE_DATED_ALERT, payload)
        return True


def outcome(code: int, version: int) -> dict[str, Any]:
    return {"activateImageResponseCode": code, "firmwareVersion": version.to_bytes(4, "big")}


# -- the Zigbee device ---------------------------------------------------------------------------------------
#: Image type the emulated HCALCS downloads by default (profiles/emulated-hcalcs.yaml, our choice).
HCALCS_IMAGE_TYPE = 0x0086


class HcalcsEmulator(EmulatedZigbeeNode):
    """An HCALCS on the HAN: Basic and On/Off servers (the load switch), OTA Upgrade and Tunneling clients.

    Life cycle as the PPMID (``harness.emulator.ppmid``)::

        device = HcalcsEmulator.from_profile(profile, keystore)
        app.attach_node(device); device.boot()            # joins, requests the GBCS tunnel, polls OTA
        data = device.snapshot(); device.power_off(); app.detach_node(device)
        device = HcalcsEmulator.restore(data); app.attach_node(device); device.boot()

    Keys are not in the snapshot: ``restore`` takes ``keys=`` or reuses those of the last device built with the
    same IEEE address.
    """

    SERVER_CLUSTERS = (Basic, OnOff)
    CLIENT_CLUSTERS = (Ota, SmartEnergyTunneling)

    _KEYS: ClassVar[dict[str, HcalcsKeys]] = {}
    _LIVE: ClassVar[weakref.WeakValueDictionary[str, HcalcsEmulator]] = weakref.WeakValueDictionary()

    def __init__(
        self,
        ieee: t.EUI64 | str,
        nwk: int,
        *,
        ota: OtaClientConfig | Mapping[str, Any] | None = None,
        faults: Iterable[str] | HcalcsFaultSet | None = None,
        keys: HcalcsKeys | None = None,
        receipt_alert_code: int = DEFAULT_RECEIPT_ALERT_CODE,
        alert_8f43: bool = False,
        alert_8f43_code: int = DEFAULT_8F43_ALERT_CODE,
        tunnel: TunnelConfig | Mapping[str, Any] | None = None,
        tunnel_poll_s: float | None = 30.0,
        trust_centre_ieee: str | None = None,
        vendor_public_key: str | None = None,
        **node_kwargs: Any,
    ) -> None:
        """``vendor_public_key`` (PEM text): also check the vendor-style manufacturer signature inside the
        Manufacturer Image (``harness.emulator.vendor_image``), as the vendor-image path's device does."""
        if ota is None:
            ota = OtaClientConfig(
                manufacturer_code=node_kwargs.get("manufacturer_code", 0x121D),
                image_type=node_kwargs.get("image_type", HCALCS_IMAGE_TYPE),
                current_file_version=node_kwargs.get("file_version", 0x0123ABCF),
            )
        elif not isinstance(ota, OtaClientConfig):
            ota = OtaClientConfig(**ota)
        if tunnel is None:
            tunnel = TunnelConfig()
        elif not isinstance(tunnel, TunnelConfig):
            tunnel = TunnelConfig(**tunnel)
        for key in ("manufacturer_code", "image_type", "file_version", "hw_version", "device_id", "model"):
            node_kwargs.pop(key, None)
        super().__init__(
            ieee,
            nwk,
            device_id=LOAD_CONTROL_DEVICE_ID,
            model="EMU-HCALCS",
            manufacturer_code=ota.manufacturer_code,
            image_type=ota.image_type,
            file_version=ota.current_file_version,
            **node_kwargs,
        )
        fault_set = parse_hcalcs_faults(faults)
        ieee_key = str(self.ieee)
        keys = keys or self._KEYS.get(ieee_key)
        if keys is None:
            raise ConfigurationError(f"HCALCS emulator {self.ieee}: no keys (pass keys=HcalcsKeys.from_keystore(...))")
        self._KEYS[ieee_key] = keys
        tc_ieee = t.EUI64.convert(trust_centre_ieee) if trust_centre_ieee else COORDINATOR_IEEE
        self.config.update(
            ota=dataclasses.asdict(ota),
            faults=list(fault_set.names),
            receipt_alert_code=receipt_alert_code,
            alert_8f43=alert_8f43,
            alert_8f43_code=alert_8f43_code,
            tunnel=dataclasses.asdict(tunnel),
            tunnel_poll_s=tunnel_poll_s,
            trust_centre_ieee=str(tc_ieee),
            vendor_public_key=vendor_public_key,
        )
        self.faults = fault_set
        self.eui = Eui64.parse(ieee_key)
        self.verifier = SupplierImageVerifier(
            keys.supplier_ds,
            storage_capacity=ota.storage_capacity,
            accept_bad_signature=fault_set.accept_bad_supplier_signature,
            manufacturer_check=VendorSignatureCheck(vendor_public_key) if vendor_public_key else None,
        )
        # HG-03: the compliant device waits after UpgradeTime 0xFFFFFFFF; self-activate is the OTA client's knob.
        ota_faults = FaultSet(activate_on_wait_upgrade_time=fault_set.self_activate)
        self.ota = OtaClient(
            self,
            ota,
            self.verifier,
            faults=ota_faults,
            on_persist=self._ota_persisted,
            on_activated=self._ota_activated,
            trust_centre_ieee=tc_ieee,
        )
        self.ota.load(self.ota.nvm)
        self.tunnel = TunnelClient(self, self._on_apdu, tunnel, poll_interval_s=tunnel_poll_s)
        self.gbcs = HcalcsGbcs(
            self.eui,
            keys,
            HcalcsNvm(running_version=ota.current_file_version),
            put=self._put,
            now=self._now,
            faults=fault_set,
            receipt_alert_code=receipt_alert_code,
            on_future_changed=self._arm_future,
            on_persist=self._gbcs_persisted,
            alert_8f43=alert_8f43,
            alert_8f43_code=alert_8f43_code,
        )
        #: APDUs waiting for the tunnel grant, and every APDU the device sent (evidence for tests).
        self.outbox: list[bytes] = []
        self.sent: list[bytes] = []
        self._future_timer: Any = None
        self._powered_off = False
        self._sync()

    # -- construction from a DUT profile -----------------------------------------------------------------
    @classmethod
    def fault_names(cls) -> tuple[str, ...]:
        """The knob names PIXIT ``emulator.faults`` may give this device (the profile loader checks them)."""
        return tuple(HCALCS_FAULTS)

    @classmethod
    def from_profile(cls, profile: Profile, keystore: KeyStore, **overrides: Any) -> Self:
        """The emulator a DUT profile describes (PIXIT dut.*, ota.max_block_size, tunnel.*,
        hcalcs.receipt_alert_message_code, hcalcs.alert_8f43_message_code, emulator.faults); keys from
        ``keystore``: the device's DS/KA private keys (for dut.eui64), the supplier DS and ACB KA certificates."""
        if profile.role != "hcalcs":
            raise ConfigurationError(f"profile {profile.name}: role {profile.role!r} is not an HCALCS")
        pixit = profile.pixit_value
        ota = ota_config_from_profile(pixit, overrides)
        eui = Eui64.parse(overrides.pop("eui64", None) or pixit("dut.eui64"))
        kwargs: dict[str, Any] = {
            "ota": ota,
            "faults": parse_hcalcs_faults(pixit("emulator.faults")),
            "receipt_alert_code": int(pixit("hcalcs.receipt_alert_message_code")),
            "alert_8f43": bool(profile.pics("GB.HCALCS.ALERT_8F43")),
            "alert_8f43_code": int(pixit("hcalcs.alert_8f43_message_code")),
            "tunnel": TunnelConfig.from_profile(profile),
            "tunnel_poll_s": float(pixit("tunnel.poll_interval")),
            "endpoint_id": pixit("dut.endpoint"),
            "vendor_public_key": vendor_public_key_pem(profile),
        }
        if "keys" not in overrides:
            kwargs["keys"] = HcalcsKeys.from_keystore(keystore, eui)
        kwargs.update(overrides)
        nwk = kwargs.pop("nwk", None)
        return cls(eui.colon, default_nwk(eui) if nwk is None else nwk, **kwargs)

    # -- power -----------------------------------------------------------------------------------------------
    def bind(self, transmit: Transmit, clock: Clock) -> None:
        super().bind(transmit, clock)
        older = self._LIVE.get(str(self.ieee))
        if older is not None and older is not self:
            older.power_off()
        self._LIVE[str(self.ieee)] = self
        self._powered_off = False

    def boot(self) -> None:
        """Power on: resume OTA from its NVM, join, request the GBCS tunnel, re-arm a pending future-dated CS06."""
        if self.clock is None:
            raise RuntimeError(f"{self!r}: attach it to a radio before boot()")
        self._powered_off = False
        self.ota.start()
        self._sync()
        self.announce()
        self.tunnel.start(delay_s=1.0)
        self._arm_future()

    def power_off(self) -> None:
        self._powered_off = True
        self.ota.stop()
        self.tunnel.stop()
        self._cancel_future()

    @property
    def powered(self) -> bool:
        return not self._powered_off

    # -- OTA hooks -------------------------------------------------------------------------------------------
    def _ota_persisted(self, point: PersistPoint) -> None:
        if point is PersistPoint.ACTIVATION_PENDING and self.ota.phase is Phase.WAITING_TO_UPGRADE:
            # HG-03/HG-20: the verified image now belongs to the GBCS side (held for CS06); the OTA client
            # returns to idle so that a later distribution is downloaded and replaces it.
            assert self.clock is not None
            self.clock.loop.call_soon(self._release_ota)
        judged = self.verifier.last
        if judged is None:
            return
        if point is PersistPoint.IMAGE_VERIFIED:
            self.verifier.last = None
            self.gbcs.image_received(True, judged.identity.file_version, judged.manufacturer_image)
        elif point is PersistPoint.DOWNLOAD_DISCARDED and not judged.ok:
            self.verifier.last = None
            self.gbcs.image_received(False, judged.identity.file_version, judged.manufacturer_image)

    def _release_ota(self) -> None:
        if self.ota.phase is Phase.WAITING_TO_UPGRADE:
            self.ota.stop()
            self.ota.load(OtaNvm(running_version=self.gbcs.running_version))
            if not self._powered_off:
                self.ota.start()

    def _ota_activated(self, version: int) -> None:
        """Only with fault self-activate: the OTA client switched images without CS06."""
        held = self.gbcs.nvm.held
        self.gbcs.activate(held if held is not None else HeldImage(version, b""))
        self._sync()

    # -- GBCS ------------------------------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        assert self.clock is not None
        return self.clock.utcnow()

    def _put(self, apdu: bytes) -> None:
        self.sent.append(apdu)
        if self._powered_off:
            return
        if self.tunnel.granted:
            self.tunnel.put(apdu)
        else:
            self.outbox.append(apdu)

    def _flush(self) -> None:
        while self.outbox and self.tunnel.granted and not self._powered_off:
            self.tunnel.put(self.outbox.pop(0))

    def _on_apdu(self, apdu: bytes) -> None:
        before = self.gbcs.running_version
        self.gbcs.on_apdu(apdu)
        if self.gbcs.running_version != before:
            self._activated()

    def _activated(self) -> None:
        """A CS06 (or future-dated CS06) activated the held image: the OTA client forgets its pending file."""
        self.ota.load(OtaNvm(running_version=self.gbcs.running_version))
        self._sync()

    def _arm_future(self) -> None:
        self._cancel_future()
        future = self.gbcs.nvm.future
        if future is None or self.clock is None or self._powered_off:
            return
        delay = (future.execute_at - naive_utc(self.clock.utcnow())).total_seconds()
        self._future_timer = self.clock.loop.call_later(max(0.0, delay), self._future_due)

    def _cancel_future(self) -> None:
        if self._future_timer is not None:
            self._future_timer.cancel()
            self._future_timer = None

    def _future_due(self) -> None:
        self._future_timer = None
        if self._powered_off:
            return
        before = self.gbcs.running_version
        if not self.gbcs.run_due():
            self._arm_future()  # the clock's UTC rounding: try again
        elif self.gbcs.running_version != before:
            self._activated()

    def _gbcs_persisted(self) -> None:
        self._sync()

    # -- load switch -----------------------------------------------------------------------------------------
    @property
    def load_switch(self) -> bool:
        return self.gbcs.nvm.load_switch

    @load_switch.setter
    def load_switch(self, value: bool) -> None:
        self.gbcs.nvm.load_switch = bool(value)
        self._sync()

    def _sync(self) -> None:
        """Attributes from the NVM: SWBuildID and OTA CurrentFileVersion name the running image (or the lie)."""
        self.set_attribute(OnOff.cluster_id, "on_off", self.gbcs.nvm.load_switch)
        self.set_attribute(Basic.cluster_id, "sw_build_id", f"{self.gbcs.running_version:08X}")

    # -- radio ---------------------------------------------------------------------------------------------
    def receive(self, packet: t.ZigbeePacket) -> None:
        if self._powered_off:
            return
        super().receive(packet)

    def transmit(self, cluster_id: int, data: bytes, **kwargs: Any) -> None:
        if self._powered_off:
            return
        super().transmit(cluster_id, data, **kwargs)

    def on_cluster_command(
        self, endpoint: int, cluster_id: int, hdr: foundation.ZCLHeader, payload: bytes
    ) -> foundation.Status | None:
        if cluster_id == Ota.cluster_id:
            if self.faults.obey_zigbee_upgrade_now and self._zigbee_upgrade_now(hdr, payload):
                return None
            return self.ota.handle(self.current_packet, hdr, payload)
        if cluster_id == SmartEnergyTunneling.cluster_id:
            status = self.tunnel.handle(hdr, payload)
            self._flush()
            return status
        if cluster_id == OnOff.cluster_id and hdr.command_id in (0x00, 0x01, 0x02):
            self.load_switch = {0x00: False, 0x01: True, 0x02: not self.load_switch}[hdr.command_id]
            return foundation.Status.SUCCESS
        return super().on_cluster_command(endpoint, cluster_id, hdr, payload)

    def _zigbee_upgrade_now(self, hdr: foundation.ZCLHeader, payload: bytes) -> bool:
        """Fault obey-zigbee-upgrade-now: an Upgrade End Response "now" activates the held image."""
        if hdr.command_id != Ota.ClientCommandDefs.upgrade_end_response.id or self.gbcs.nvm.held is None:
            return False
        packet = self.current_packet
        if packet is None or packet.src.address != COORDINATOR_NWK:
            return False  # only the CH: a rogue node is still ignored (CS-12)
        try:
            response, _ = Ota.ClientCommandDefs.upgrade_end_response.schema.deserialize(payload)
        except (ValueError, KeyError):
            return False
        if response.upgrade_time == 0xFFFFFFFF:
            return False
        self.gbcs.activate(self.gbcs.nvm.held)
        self._activated()
        return True

    # -- what a test or adapter may look at ----------------------------------------------------------------
    @property
    def running_version(self) -> int:
        return self.gbcs.running_version

    @property
    def held_image(self) -> HeldImage | None:
        return self.gbcs.nvm.held

    # -- persistence -----------------------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        state = super().to_state()
        state["ota_nvm"] = self.ota.nvm.to_json()
        state["hcalcs_nvm"] = self.gbcs.nvm.to_json(
            keep_future=not self.faults.forget_future_dated_on_power_cycle,
            keep_held=not self.faults.lose_held_image_on_power_cycle,
        )
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], **overrides: Any) -> Self:
        node = super().from_state(state, **overrides)
        node.ota.load(OtaNvm.from_json(state["ota_nvm"]))
        node.gbcs.nvm = HcalcsNvm.from_json(state["hcalcs_nvm"])
        node._sync()
        return node

    def __repr__(self) -> str:
        return f"HcalcsEmulator({self.ieee}, nwk=0x{int(self.nwk):04X}, running={self.running_version:08X})"


__all__ = [
    "FutureActivation",
    "HcalcsEmulator",
    "HcalcsFaultSet",
    "HcalcsGbcs",
    "HcalcsKeys",
    "HcalcsNvm",
    "HeldImage",
    "ResponseCode",
    "SupplierImageVerifier",
]
