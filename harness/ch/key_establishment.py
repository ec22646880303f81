"""The CH as CBKE responder: answers a joining device's Key Establishment (0x0800) exchange.

Why: a GB HAN device joins with an install-code key and then runs certificate-based key establishment with
the CH (trust centre) before any OTA frame may flow (domain digest; tech notes item 17). zigpy has no CBKE
flow. This module is the responder's *protocol* half; the ECC half (ECMQV on sect283k1 with implicit
certificates) is a ``KeyEstablishmentEngine``:

- ``BellowsCbkeEngine`` delegates to an EmberZNet coordinator through bellows' EZSP CBKE frames
  (``getCertificate283k1``, ``generateCbkeKeys283k1``, ``calculateSmacs283k1``,
  ``clearTemporaryDataMaybeStoreLinkKey283k1``; names and shapes read from bellows 1.2.1). bellows is not
  imported here: the engine is handed the running ``EZSP`` object. It has never run against a radio.
- ``StandInCbkeEngine`` gives deterministic fake keys and MACs for tests. NOT cryptographically valid.

Protocol (``KeyEstablishmentResponder``, sans I/O: commands in, replies out, time read from ``now``), after
ZSE Annex C and the Ember responder [C: Ember ``key-establishment.c``]:

1. Initiate Key Establishment Request → checks in this order, each failure a Terminate: payload too short
   BAD_MESSAGE; suite not exactly one supported bit UNSUPPORTED_SUITE; Identity not the suite's certificate
   length BAD_MESSAGE; issuer not trusted UNKNOWN_ISSUER; subject not the sender's IEEE, or a suite 2
   certificate with the wrong type / curve / hash / no key-agreement usage INVALID_CERTIFICATE [I: Ember maps
   a subject mismatch to BAD_MESSAGE; 0x06 exists for exactly this]; engine failure NO_RESOURCES. Else the
   Initiate Key Establishment Response with the CH's certificate and its own generate times.
2. Ephemeral Data Request (QEU of the suite's size, else BAD_MESSAGE) within the device's Ephemeral Data
   Generate Time + ``timeout_margin_s`` → Ephemeral Data Response (QEV).
3. Confirm Key Data Request (MACU) within the device's Confirm Key Generate Time + margin → the engine
   computes both MACs; MACU wrong: Terminate BAD_KEY_CONFIRM and the link key is discarded; right: Confirm
   Key Data Response (MACV) and the link key is kept.

A command out of sequence is Terminate BAD_MESSAGE and ends the session; another device initiating while
a session runs gets Terminate NO_RESOURCES (the session goes on); a Terminate from the device ends the
session silently; a missed deadline ends it without a frame (no status code means "timeout"; Ember sends
none either). Every Terminate carries ``wait_time_s`` and the CH's supported-suite bitmap.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable

import zigpy.types as t
from zigpy.device import Device
from zigpy.zcl import foundation

from harness.clock import Clock
from harness.crypto.eui64 import Eui64
from harness.errors import HarnessError
from harness.radio.frames import SE_PROFILE_ID, AddressMode, FrameDirection, RawFrame, parse_zcl_header, zcl_frame
from harness.radio.glue import HarnessAppMixin
from harness.transcript import Transcript
from harness.zigbee.key_establishment import (
    CERT_TYPE_NO_EXTENSIONS,
    CURVE_SECT283K1,
    HASH_AES_MMO,
    KE_TO_CLIENT,
    KE_TO_SERVER,
    KEY_ESTABLISHMENT_CLUSTER_ID,
    KEY_USAGE_KEY_AGREEMENT,
    MAC_OCTETS,
    SUITE_1,
    SUITE_2,
    SUITES,
    ImplicitCertificate,
    KeyEstablishmentSuite,
    SuiteSpec,
    TerminateStatus,
    initiate_payload,
    terminate_payload,
)

LOGGER = logging.getLogger(__name__)


class KeyEstablishmentError(HarnessError):
    """The engine could not do its part (no certificate, the coordinator refused): the lab's failure."""


# -- the ECC engine -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Macs:
    """Both SMACs of one exchange: MACU (the initiator's, the device sends it) and MACV (the responder's)."""

    initiator: bytes
    responder: bytes


@runtime_checkable
class KeyEstablishmentEngine(Protocol):
    """The ECC a CBKE responder needs. On real hardware the coordinator firmware holds the CH's private key."""

    suite: SuiteSpec

    async def local_certificate(self) -> bytes:
        """The CH's implicit certificate (``suite.certificate_octets``)."""
        ...

    async def generate_ephemeral_key(self) -> bytes:
        """A fresh ephemeral key pair; returns the public key (QEV, ``suite.ephemeral_key_octets``)."""
        ...

    async def calculate_macs(self, partner_certificate: bytes, partner_ephemeral_key: bytes) -> Macs:
        """ECMQV with the partner's certificate and ephemeral key (the CH is the responder)."""
        ...

    async def finish(self, store_link_key: bool) -> None:
        """Drop the temporary key material; keep the derived link key only when ``store_link_key``."""
        ...


_OK: Final = frozenset({"SUCCESS", "OK"})
_IN_PROGRESS: Final = frozenset({"OPERATION_IN_PROGRESS", "IN_PROGRESS"})


class BellowsCbkeEngine:
    """Suite 2 through an EmberZNet NCP: ``ezsp`` is bellows' running ``EZSP`` (``app._ezsp`` of bellows'
    ControllerApplication). UNTESTED: needs a radio with SE certificates installed; nothing here runs it.

    Status values are compared by name, so both EZSP < 14 (``EmberStatus``) and >= 14 (``sl_Status``) work
    without importing bellows.
    """

    suite = SUITE_2

    def __init__(self, ezsp: Any, callback_timeout_s: float = 30.0) -> None:
        self.ezsp = ezsp
        self.callback_timeout_s = callback_timeout_s

    async def local_certificate(self) -> bytes:
        status, cert = await self.ezsp.getCertificate283k1()
        _require(status, _OK, "getCertificate283k1 (is an SE certificate installed on the coordinator?)")
        return bytes(cert)

    async def generate_ephemeral_key(self) -> bytes:
        status, key = await self._with_callback("generateCbkeKeysHandler283k1", self.ezsp.generateCbkeKeys283k1())
        _require(status, _OK, "generateCbkeKeysHandler283k1")
        return bytes(key)

    async def calculate_macs(self, partner_certificate: bytes, partner_ephemeral_key: bytes) -> Macs:
        call = self.ezsp.calculateSmacs283k1(
            amInitiator=False,
            partnerCertificate=list(partner_certificate),
            partnerEphemeralPublicKey=list(partner_ephemeral_key),
        )
        status, initiator, responder = await self._with_callback("calculateSmacsHandler283k1", call)
        _require(status, _OK, "calculateSmacsHandler283k1")
        return Macs(bytes(initiator), bytes(responder))

    async def finish(self, store_link_key: bool) -> None:
        (status,) = await self.ezsp.clearTemporaryDataMaybeStoreLinkKey283k1(storeLinkKey=store_link_key)
        _require(status, _OK, "clearTemporaryDataMaybeStoreLinkKey283k1")

    async def _with_callback(self, handler: str, command: Awaitable[Any]) -> list[Any]:
        """Send ``command`` (answered OPERATION_IN_PROGRESS) and await the NCP's ``handler`` callback."""
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def on_callback(name: str, args: list[Any]) -> None:
            if name == handler and not future.done():
                future.set_result(list(args))

        callback_id = self.ezsp.add_callback(on_callback)
        try:
            (status,) = await command
            _require(status, _IN_PROGRESS, handler.replace("Handler", ""))
            async with asyncio.timeout(self.callback_timeout_s):
                return await future
        finally:
            self.ezsp.remove_callback(callback_id)


def _require(status: Any, accepted: frozenset[str], what: str) -> None:
    name = getattr(status, "name", str(status))
    if name not in accepted:
        raise KeyEstablishmentError(
            f"the coordinator answered {name} to {what}; expected {' or '.join(sorted(accepted))}. "
            "Check the coordinator firmware has the CBKE (sect283k1) library and an installed certificate."
        )


#: The issuer the stand-in certificates carry (a made-up test CA id).
STAND_IN_ISSUER: Final = Eui64.parse("54-45-53-54-53-45-43-41")  # "TESTSECA"


class StandInCbkeEngine:
    """Deterministic stand-in for tests and the emulator. NOT CRYPTOGRAPHICALLY VALID: keys and MACs are
    fixed patterns derived from the inputs, no ECC happens, and no device with a real stack would accept them.

    ``macs_for`` is public so a test-side initiator can compute the MACU the stand-in will expect.
    """

    def __init__(self, suite: SuiteSpec = SUITE_2, certificate: bytes | None = None) -> None:
        self.suite = suite
        self.certificate = certificate if certificate is not None else stand_in_certificate(suite)
        self.fail_next: str | None = None  # "certificate" | "ephemeral" | "macs": raise once, for tests
        self.stored: list[bool] = []  # every finish(), in order

    async def local_certificate(self) -> bytes:
        self._maybe_fail("certificate")
        return self.certificate

    async def generate_ephemeral_key(self) -> bytes:
        self._maybe_fail("ephemeral")
        return bytes([0x03]) + bytes((0xE0 + i) & 0xFF for i in range(self.suite.ephemeral_key_octets - 1))

    async def calculate_macs(self, partner_certificate: bytes, partner_ephemeral_key: bytes) -> Macs:
        self._maybe_fail("macs")
        return self.macs_for(partner_certificate, partner_ephemeral_key)

    async def finish(self, store_link_key: bool) -> None:
        self.stored.append(store_link_key)

    @staticmethod
    def macs_for(partner_certificate: bytes, partner_ephemeral_key: bytes) -> Macs:
        """XOR-fold of the inputs: a fixed function, not a MAC."""
        folded = bytearray(MAC_OCTETS)
        for index, octet in enumerate(partner_certificate + partner_ephemeral_key):
            folded[index % MAC_OCTETS] ^= octet
        return Macs(bytes(b ^ 0x55 for b in folded), bytes(b ^ 0xAA for b in folded))

    def _maybe_fail(self, step: str) -> None:
        if self.fail_next == step:
            self.fail_next = None
            raise KeyEstablishmentError(f"stand-in engine told to fail at {step}")


def stand_in_certificate(
    suite: SuiteSpec = SUITE_2, subject: Eui64 | str = "00-00-00-00-00-00-00-00", issuer: Eui64 | str | None = None
) -> bytes:
    """A well-formed certificate with a fake key (fixed pattern): the right size and fields, nothing more."""
    return ImplicitCertificate(
        suite,
        subject=Eui64.parse(subject),
        issuer=Eui64.parse(issuer if issuer is not None else STAND_IN_ISSUER),
        public_key_reconstruction=bytes([0x02]) + bytes(range(1, 22 if suite is SUITE_1 else 37)),
        serial=0x0102030405060708,
        valid_from=0x0063A8E000,
    ).serialize()


# -- the responder state machine ------------------------------------------------------------------------------


class Phase(enum.StrEnum):
    IDLE = "idle"
    AWAIT_EPHEMERAL = "awaiting Ephemeral Data Request"
    AWAIT_CONFIRM = "awaiting Confirm Key Data Request"


class Outcome(enum.StrEnum):
    ESTABLISHED = "link key established"
    TERMINATED = "terminated by the CH"
    PARTNER_TERMINATED = "terminated by the device"
    TIMED_OUT = "timed out"


@dataclass(frozen=True, slots=True)
class CbkeConfig:
    """The CH's CBKE parameters. ``trusted_issuers`` empty means "the issuer of the CH's own certificate"."""

    suites: KeyEstablishmentSuite = KeyEstablishmentSuite.CBKE_ECMQV_283K1
    ephemeral_data_generate_time_s: int = 10
    confirm_key_generate_time_s: int = 10
    wait_time_s: int = 30  # the Terminate's back-off [C: Ember BACK_OFF_TIME_REPORTED_TO_PARTNER]
    timeout_margin_s: float = 10.0  # added to the device's times [C: Ember KEY_ESTABLISHMENT_TIMEOUT_BASE]
    trusted_issuers: tuple[Eui64, ...] = ()
    check_subject: bool = True


@dataclass(frozen=True, slots=True)
class Reply:
    """One server→client command to send, answering the request with ``tsn``."""

    command_id: int
    payload: bytes
    tsn: int
    note: str
    cluster_specific: bool = True  # False only for the binding's Default Response to an unknown command

    def frame(self) -> bytes:
        """ZCL header + payload, server→client, default response disabled."""
        return zcl_frame(
            self.command_id,
            self.payload,
            tsn=self.tsn,
            direction=foundation.Direction.Server_to_Client,
            cluster_specific=self.cluster_specific,
            disable_default_response=True,
        )


@dataclass(frozen=True, slots=True)
class SessionResult:
    partner: str
    outcome: Outcome
    at: float
    status: TerminateStatus | None = None
    note: str = ""


@dataclass
class _Session:
    partner: str
    suite: SuiteSpec
    certificate: bytes
    device_ephemeral_time_s: int
    device_confirm_time_s: int
    phase: Phase = Phase.AWAIT_EPHEMERAL
    phase_started: float = 0.0
    deadline: float = 0.0
    device_ephemeral_key: bytes = b""


@dataclass
class KeyEstablishmentResponder:
    """CBKE responder for one device at a time. Feed it every client→server 0x0800 command (``on_command``)
    and call ``expire`` when ``deadline`` passes; it returns what to send. ``results`` is the evidence."""

    engine: KeyEstablishmentEngine
    config: CbkeConfig = field(default_factory=CbkeConfig)
    now: Callable[[], float] = lambda: 0.0
    results: list[SessionResult] = field(default_factory=list)
    #: Notes about the CH itself (e.g. its engine was slower than the times it advertised).
    lab_notes: list[str] = field(default_factory=list)
    #: Notes about the device that do not end the exchange (slower than it advertised, within the margin).
    observations: list[str] = field(default_factory=list)
    session: _Session | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.session is None else self.session.deadline

    @property
    def phase(self) -> Phase:
        return Phase.IDLE if self.session is None else self.session.phase

    async def on_command(
        self, partner: str, command_id: int, payload: bytes, tsn: int, eui64: Eui64 | None = None
    ) -> list[Reply]:
        """Handle one client→server command from ``partner`` (its IEEE, when known, checks the subject)."""
        session = self.session
        if session is not None and session.partner != partner:
            if command_id == KE_TO_SERVER.initiate_key_establishment_request.id:
                return [self._terminate(TerminateStatus.NO_RESOURCES, tsn, f"busy with {session.partner}")]
            return []  # not our partner's exchange: nothing to answer
        if command_id == KE_TO_SERVER.terminate_key_establishment.id:
            await self._end(partner, Outcome.PARTNER_TERMINATED, None, _describe_terminate(payload), store=False)
            return []
        expected = {
            Phase.IDLE: KE_TO_SERVER.initiate_key_establishment_request.id,
            Phase.AWAIT_EPHEMERAL: KE_TO_SERVER.ephemeral_data_request.id,
            Phase.AWAIT_CONFIRM: KE_TO_SERVER.confirm_key_data_request.id,
        }[self.phase]
        if command_id not in (cmd.id for cmd in KE_TO_SERVER):
            return []  # not a Key Establishment command: ChKeyEstablishment answers with a Default Response
        if command_id != expected:
            note = f"command 0x{command_id:02X} out of sequence while {self.phase}"
            return await self._fail(partner, TerminateStatus.BAD_MESSAGE, tsn, note)
        try:
            if command_id == KE_TO_SERVER.initiate_key_establishment_request.id:
                return await self._on_initiate(partner, payload, tsn, eui64)
            if command_id == KE_TO_SERVER.ephemeral_data_request.id:
                return await self._on_ephemeral(partner, payload, tsn)
            return await self._on_confirm(partner, payload, tsn)
        except KeyEstablishmentError as err:
            self.lab_notes.append(str(err))
            return await self._fail(partner, TerminateStatus.NO_RESOURCES, tsn, f"CH engine failed: {err}")

    async def expire(self) -> SessionResult | None:
        """End the session if its deadline has passed (no frame is sent); the result, or None."""
        session = self.session
        if session is None or self.now() < session.deadline:
            return None
        waited = "Ephemeral Data Request" if session.phase is Phase.AWAIT_EPHEMERAL else "Confirm Key Data Request"
        return await self._end(session.partner, Outcome.TIMED_OUT, None, f"no {waited} by t={session.deadline:.1f}")

    # -- steps -----------------------------------------------------------------------------------------------
    async def _on_initiate(self, partner: str, payload: bytes, tsn: int, eui64: Eui64 | None) -> list[Reply]:
        schema = KE_TO_SERVER.initiate_key_establishment_request.schema
        try:
            request, _ = schema.deserialize(payload)
        except (ValueError, KeyError) as err:
            return await self._fail(partner, TerminateStatus.BAD_MESSAGE, tsn, f"Initiate request unreadable: {err}")
        requested = int(request.key_establishment_suite)
        suite = SUITES.get(requested)
        if suite is None or not requested & int(self.config.suites) or suite is not self.engine.suite:
            note = f"requested suite 0x{requested:04X}, the CH supports 0x{int(self.config.suites):04X}"
            return await self._fail(partner, TerminateStatus.UNSUPPORTED_SUITE, tsn, note)
        identity = bytes(request.identity)
        try:
            cert = ImplicitCertificate.parse(identity, suite)
        except ValueError as err:
            return await self._fail(partner, TerminateStatus.BAD_MESSAGE, tsn, str(err))
        own = await self.engine.local_certificate()
        try:
            own_issuer = ImplicitCertificate.parse(own, suite).issuer
        except ValueError as err:
            raise KeyEstablishmentError(f"the CH's own certificate is unusable: {err}") from err
        trusted = self.config.trusted_issuers or (own_issuer,)
        if cert.issuer not in trusted:
            note = f"issuer {cert.issuer.dashed} is not {', '.join(i.dashed for i in trusted)}"
            return await self._fail(partner, TerminateStatus.UNKNOWN_ISSUER, tsn, note)
        problem = _certificate_problem(cert, eui64 if self.config.check_subject else None)
        if problem:
            return await self._fail(partner, TerminateStatus.INVALID_CERTIFICATE, tsn, problem)
        self.session = _Session(
            partner,
            suite,
            identity,
            int(request.ephemeral_data_generate_time),
            int(request.confirm_key_generate_time),
        )
        self.session.phase_started = self.now()
        self.session.deadline = self.now() + self.session.device_ephemeral_time_s + self.config.timeout_margin_s
        body = initiate_payload(
            suite.suite, self.config.ephemeral_data_generate_time_s, self.config.confirm_key_generate_time_s, own
        )
        return [Reply(KE_TO_CLIENT.initiate_key_establishment_response.id, body, tsn, "Initiate KE Response")]

    async def _on_ephemeral(self, partner: str, payload: bytes, tsn: int) -> list[Reply]:
        session = self.session
        assert session is not None
        if len(payload) != session.suite.ephemeral_key_octets:
            note = f"QEU is {len(payload)} octets, suite needs {session.suite.ephemeral_key_octets}"
            return await self._fail(partner, TerminateStatus.BAD_MESSAGE, tsn, note)
        session.device_ephemeral_key = payload
        self._check_device_time(session, session.device_ephemeral_time_s, "Ephemeral Data Request")
        started = self.now()
        qev = await self.engine.generate_ephemeral_key()
        self._check_own_time(started, self.config.ephemeral_data_generate_time_s, "ephemeral key generation")
        session.phase = Phase.AWAIT_CONFIRM
        session.phase_started = self.now()
        session.deadline = self.now() + session.device_confirm_time_s + self.config.timeout_margin_s
        body = KE_TO_CLIENT.ephemeral_data_response.schema(ephemeral_data=t.Bytes(qev)).serialize()
        return [Reply(KE_TO_CLIENT.ephemeral_data_response.id, body, tsn, "Ephemeral Data Response")]

    async def _on_confirm(self, partner: str, payload: bytes, tsn: int) -> list[Reply]:
        session = self.session
        assert session is not None
        if len(payload) != MAC_OCTETS:
            note = f"MACU is {len(payload)} octets, expected {MAC_OCTETS}"
            return await self._fail(partner, TerminateStatus.BAD_MESSAGE, tsn, note)
        self._check_device_time(session, session.device_confirm_time_s, "Confirm Key Data Request")
        started = self.now()
        macs = await self.engine.calculate_macs(session.certificate, session.device_ephemeral_key)
        self._check_own_time(started, self.config.confirm_key_generate_time_s, "SMAC calculation")
        if payload != macs.initiator:
            return await self._fail(partner, TerminateStatus.BAD_KEY_CONFIRM, tsn, "MACU does not match")
        body = KE_TO_CLIENT.confirm_key_data_response.schema(secure_message_authentication_code=macs.responder)
        await self._end(partner, Outcome.ESTABLISHED, None, "MACU verified, MACV sent", store=True)
        return [Reply(KE_TO_CLIENT.confirm_key_data_response.id, body.serialize(), tsn, "Confirm Key Response")]

    # -- endings ---------------------------------------------------------------------------------------------
    async def _fail(self, partner: str, status: TerminateStatus, tsn: int, note: str) -> list[Reply]:
        await self._end(partner, Outcome.TERMINATED, status, note)
        return [self._terminate(status, tsn, note)]

    def _terminate(self, status: TerminateStatus, tsn: int, note: str) -> Reply:
        body = terminate_payload(status, self.config.wait_time_s, self.config.suites)
        return Reply(KE_TO_CLIENT.terminate_key_establishment.id, body, tsn, f"Terminate {status.name}: {note}")

    async def _end(
        self, partner: str, outcome: Outcome, status: TerminateStatus | None, note: str, *, store: bool = False
    ) -> SessionResult:
        had_session = self.session is not None
        self.session = None
        result = SessionResult(partner, outcome, self.now(), status, note)
        self.results.append(result)
        if had_session:
            try:
                await self.engine.finish(store)
            except KeyEstablishmentError as err:
                self.lab_notes.append(str(err))
        return result

    def _check_device_time(self, session: _Session, advertised_s: int, what: str) -> None:
        took = self.now() - session.phase_started
        if took > advertised_s:
            self.observations.append(
                f"{session.partner} sent its {what} {took:.1f} s after the CH's reply; it advertised {advertised_s} s"
            )

    def _check_own_time(self, started: float, advertised_s: int, what: str) -> None:
        took = self.now() - started
        if took > advertised_s:
            self.lab_notes.append(f"the CH's {what} took {took:.1f} s, more than the {advertised_s} s it advertised")


def _certificate_problem(cert: ImplicitCertificate, eui64: Eui64 | None) -> str:
    """Why the certificate cannot be this device's key-agreement certificate ("" when it can)."""
    if eui64 is not None and cert.subject != eui64:
        return f"certificate subject {cert.subject.dashed} is not the sender {eui64.dashed}"
    if cert.suite is SUITE_2:
        wrong = [
            f"{name} 0x{value:02X} (expected 0x{want:02X})"
            for name, value, want in (
                ("type", cert.cert_type, CERT_TYPE_NO_EXTENSIONS),
                ("curve", cert.curve, CURVE_SECT283K1),
                ("hash", cert.hash_id, HASH_AES_MMO),
            )
            if value != want
        ]
        if not cert.key_usage & KEY_USAGE_KEY_AGREEMENT:
            wrong.append(f"key usage 0x{cert.key_usage:02X} lacks key agreement")
        return "; ".join(wrong)
    return ""


def _describe_terminate(payload: bytes) -> str:
    try:
        value, _ = KE_TO_SERVER.terminate_key_establishment.schema.deserialize(payload)
    except (ValueError, KeyError):
        return f"device sent an unreadable Terminate ({payload.hex()})"
    return f"device sent Terminate {value.status_code.name} (wait {value.wait_time} s)"


# -- binding to the radio -------------------------------------------------------------------------------------


class ChKeyEstablishment:
    """The responder on ``app``: listens on the raw tap for client→server 0x0800 commands and answers through
    ``send_raw_zcl`` (profile 0x0109), timing out on the clock. Create it with ``attach_key_establishment``."""

    def __init__(
        self,
        app: HarnessAppMixin,
        clock: Clock,
        responder: KeyEstablishmentResponder,
        transcript: Transcript | None = None,
    ) -> None:
        self.app = app
        self.clock = clock
        self.responder = responder
        self.transcript = transcript
        self.sent: list[Reply] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._remove: Callable[[], None] | None = app.add_frame_listener(self._on_frame)

    @property
    def results(self) -> list[SessionResult]:
        return self.responder.results

    def established(self, eui64: Eui64 | str) -> bool:
        partner = Eui64.parse(eui64).dashed
        return any(r.partner == partner and r.outcome is Outcome.ESTABLISHED for r in self.results)

    def stop(self) -> None:
        """Stop listening, cancel the timer and sends in flight (idempotent)."""
        if self._remove is not None:
            self._remove()
            self._remove = None
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()

    def _on_frame(self, frame: RawFrame) -> None:
        if frame.direction is not FrameDirection.IN or frame.cluster_id != KEY_ESTABLISHMENT_CLUSTER_ID:
            return
        parsed = None if frame.is_zdo else parse_zcl_header(frame.data)
        if parsed is None:
            return
        header, payload = parsed
        control = header.frame_control
        if (
            control.frame_type != foundation.FrameType.CLUSTER_COMMAND
            or control.direction != foundation.Direction.Client_to_Server
        ):
            return  # profile-wide frames (zigpy's) and server→client frames are not the responder's
        if frame.dst.mode in (AddressMode.BROADCAST, AddressMode.GROUP):
            return  # CBKE is unicast; Ember ignores broadcast KE commands too
        self._spawn(self._handle(frame, header, bytes(payload)))

    async def _handle(self, frame: RawFrame, header: foundation.ZCLHeader, payload: bytes) -> None:
        control = header.frame_control
        device = self._sender(frame)
        if device is None:
            LOGGER.warning("CBKE frame from %s ignored: unknown to zigpy (not joined)", frame.src)
            return
        eui64 = Eui64.parse(str(device.ieee))
        if header.command_id not in _TO_SERVER_IDS or control.is_manufacturer_specific:
            await self._send(device, int(frame.src.endpoint or 0), _unsupported(header), None)
            return
        async with self._lock:
            replies = await self.responder.on_command(eui64.dashed, header.command_id, payload, header.tsn, eui64)
            self._rearm()
        entry = None if self.transcript is None else self.transcript.entry_for(frame)
        in_reply_to = None if entry is None else entry.index
        for reply in replies:
            await self._send(device, int(frame.src.endpoint or 0), reply, in_reply_to)

    async def _send(self, device: Device, endpoint: int, reply: Reply, in_reply_to: int | None) -> None:
        self.sent.append(reply)
        send = self.app.send_raw_zcl(
            device, endpoint, KEY_ESTABLISHMENT_CLUSTER_ID, reply.frame(), profile_id=SE_PROFILE_ID
        )
        try:
            if self.transcript is None:
                await send
                return
            with self.transcript.attribute(f"CBKE: {reply.note}", in_reply_to=in_reply_to) as attribution:
                try:
                    await send
                except Exception as err:
                    self.transcript.mark_undelivered(attribution, str(err))
                    raise
        except Exception as err:  # delivery is evidence, not a crash of the responder
            LOGGER.warning("CBKE %s not delivered: %s", reply.note, err)

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.responder.deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.clock.now())
            self._timer = self.clock.loop.call_later(delay, lambda: self._spawn(self._expire()))

    async def _expire(self) -> None:
        async with self._lock:
            result = await self.responder.expire()
            self._rearm()
        if result is not None and self.transcript is not None:
            self.transcript.record_decision(f"CBKE: {result.partner} {result.outcome}: {result.note}", command="CBKE")

    def _spawn(self, coro: Any) -> None:
        task = self.clock.loop.create_task(coro, name="harness-ch-cbke")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sender(self, frame: RawFrame) -> Device | None:
        src = frame.src
        with contextlib.suppress(KeyError):
            if src.mode is AddressMode.NWK and isinstance(src.address, int):
                return self.app.get_device(nwk=t.NWK(src.address))
            if src.mode is AddressMode.IEEE and isinstance(src.address, str):
                return self.app.get_device(ieee=t.EUI64.convert(src.address))
        return None


_TO_SERVER_IDS: Final = frozenset(cmd.id for cmd in KE_TO_SERVER)


def _unsupported(header: foundation.ZCLHeader) -> Reply:
    """ZCL: a Default Response UNSUP_CLUSTER_COMMAND (or UNSUP_MANUF_CLUSTER_COMMAND) to an unknown command."""
    status = (
        foundation.Status.UNSUP_MANUF_CLUSTER_COMMAND
        if header.frame_control.is_manufacturer_specific
        else foundation.Status.UNSUP_CLUSTER_COMMAND
    )
    body = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Default_Response].schema(
        command_id=header.command_id, status=status
    )
    return Reply(
        foundation.GeneralCommand.Default_Response,
        body.serialize(),
        header.tsn,
        f"Default Response {status.name}",
        cluster_specific=False,
    )


def attach_key_establishment(
    app: HarnessAppMixin,
    clock: Clock,
    engine: KeyEstablishmentEngine,
    config: CbkeConfig | None = None,
    *,
    transcript: Transcript | None = None,
) -> ChKeyEstablishment:
    """The hook for the DUT adapter: make the suite's CH answer CBKE on ``app`` from now on (``stop()`` to
    detach). Real coordinator: ``BellowsCbkeEngine(app._ezsp)``; emulator and tests: ``StandInCbkeEngine()``.
    With ``transcript``, each reply is attributed to its request and a timeout is recorded as a decision."""
    responder = KeyEstablishmentResponder(engine, config or CbkeConfig(), now=clock.now)
    return ChKeyEstablishment(app, clock, responder, transcript)


__all__ = [
    "BellowsCbkeEngine",
    "CbkeConfig",
    "ChKeyEstablishment",
    "KeyEstablishmentEngine",
    "KeyEstablishmentError",
    "KeyEstablishmentResponder",
    "Macs",
    "Outcome",
    "Phase",
    "Reply",
    "SessionResult",
    "StandInCbkeEngine",
    "attach_key_establishment",
    "stand_in_certificate",
]
