"""The firmware message table (message code and CRA flag -> name, payload codec, required protection) and
`decode_message`, which turns octets into fields and one verdict.

Why a table: every rule that depends on the kind of message (which codec reads the payload, whether it must
be signed or MAC'd, which alert codes it may carry) is data here, so the decoder, the CLI and the steps that
build messages agree. The "source" column says what each row rests on (tags as in docs/gbcs.md).

Any GBCS message decodes, firmware or not: its General Block header and Other Information are cut, and its
signature and MAC are checked by the general rules of `harness.gbcs.security`; only a payload outside this
table is left undecoded ("outside the firmware scope").

Verdict: UNUSABLE when the octets cannot be cut (GbcsFormatError is raised instead, see `decode_message`) or
when a key a check needs is missing from the key store; INVALID when a field breaks a rule or a signature or
MAC fails; otherwise VALID (without a key store only the structure is judged and both checks say "not
checked").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.crypto.eui64 import EuiLike
from harness.crypto.keystore import KeyStore
from harness.exitcodes import CheckExit
from harness.gbcs import gbz, payloads
from harness.gbcs.apdu import (
    CIPHERED_HEADER_LENGTH,
    SECURITY_CONTROL_AUTHENTICATED,
    Apdu,
    CraFlag,
    GeneralBlockHeader,
    GeneralCiphered,
    decode_apdu,
    signing_part,
)
from harness.gbcs.payloads import JsonValue, PayloadCodec, PayloadError, PayloadValue
from harness.gbcs.security import (
    DCC_BOXED_ACB,
    Check,
    CheckResult,
    check_mac,
    check_signature,
    describe_certificate,
    remote_party_certificate,
)

Rule = Callable[[GeneralBlockHeader, PayloadValue], str | None]
"""A check across header and payload; returns the defect or None."""


def _counter_matches_header(header: GeneralBlockHeader, value: PayloadValue) -> str | None:
    """CS06: the payload repeats the header's originator counter (anti-replay) [C-data, all RTDS CS06]."""
    if value["originatorCounter"] != header.originator_counter:
        return (
            f"payload originatorCounter {value['originatorCounter']} differs from the header's originator "
            f"counter {header.originator_counter}"
        )
    return None


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One (message code, CRA flag) of the firmware use cases."""

    code: int
    cra: CraFlag
    name: str
    codec: PayloadCodec
    signed: bool
    """The originator must sign it (signature length 0x40)."""
    mac: bool
    """It must arrive General Ciphered with a MAC."""
    source: str
    alert_codes: frozenset[int] = frozenset()
    """The alert codes the message may carry; empty: any."""
    rules: tuple[Rule, ...] = field(default=())
    recognises: Callable[[bytes], bool] | None = None
    """For a message code whose payload has several forms (a generic alert is GBZ from a Zigbee device and DLMS
    from an ESME): whether the payload is the form this row decodes. Another form is outside the firmware
    scope, not a defect."""

    def applies_to(self, payload: bytes) -> bool:
        return self.recognises is None or self.recognises(payload)


MESSAGE_NAMES: dict[int, str] = {
    0x0012: "CS06 Activate Firmware",
    0x00CA: "Future Dated Firmware Activation Alert",
    0x00CF: "Firmware Distribution Receipt Alert (GBZ)",
    0x0128: "CCS08 Firmware Transfer Alert",
    0x0129: "CS08 Read PPMID/HCALCS Firmware Version",
    0x012B: "CS09 PPMID Firmware Activation Alert",
    0x1000: "Generic Critical Alert",
    0x1001: "Generic Non-Critical Alert",
}
"""[R, gbcs-parser util.ts] except 0x012B: the code of the RTDS 4.5.0 CS09 sample per domain.md §2.3."""

OUTSIDE_SCOPE = "outside the firmware scope"

_MESSAGES = (
    MessageSpec(
        0x0012, CraFlag.COMMAND, "CS06 Activate Firmware command", payloads.ACTIVATE_FIRMWARE_COMMAND,
        signed=True, mac=True, source="C-data RTDS CS06 COMMAND", rules=(_counter_matches_header,),
    ),
    MessageSpec(
        0x0012, CraFlag.RESPONSE, "CS06 Activate Firmware response", payloads.ACTIVATE_FIRMWARE_RESPONSE,
        signed=True, mac=False, source="C-data RTDS CS06 RESPONSE",
    ),
    MessageSpec(
        0x00CA, CraFlag.ALERT, "Future Dated Firmware Activation Alert", payloads.FUTURE_DATED_ACTIVATION_ALERT,
        signed=True, mac=False, source="R gbcs-parser asn1.ts; signed like every RTDS alert [I]",
        alert_codes=frozenset({0x8F66, 0x8F67}),
    ),
    MessageSpec(
        0x0129, CraFlag.COMMAND, "CS08 Read PPMID/HCALCS Firmware Version command",
        payloads.READ_FIRMWARE_VERSION_COMMAND, signed=False, mac=True, source="C-data RTDS CS08 COMMAND",
    ),
    MessageSpec(
        0x0129, CraFlag.RESPONSE, "CS08 Read PPMID/HCALCS Firmware Version response",
        payloads.READ_FIRMWARE_VERSION_RESPONSE, signed=False, mac=True, source="C-data RTDS CS08 RESPONSE",
    ),
    MessageSpec(
        0x0129, CraFlag.ALERT, "CS09 PPMID Firmware Activation Alert (gbcs-parser's message code)",
        payloads.FIRMWARE_ACTIVATION_ALERT, signed=True, mac=False, source="R gbcs-parser parser.ts",
        alert_codes=frozenset({0x8F8B}),
    ),
    MessageSpec(
        0x012B, CraFlag.ALERT, "CS09 PPMID Firmware Activation Alert", payloads.FIRMWARE_ACTIVATION_ALERT,
        signed=True, mac=False, source="C-data per domain.md §2.3 (RTDS NA_CS09, not in ../shared/vectors)",
        alert_codes=frozenset({0x8F8B}),
    ),
    MessageSpec(
        0x0128, CraFlag.ALERT, "CCS08 Firmware Transfer Alert", payloads.FIRMWARE_TRANSFER_ALERT,
        signed=True, mac=False, source="C-data RTDS CCS08 ALERT", alert_codes=frozenset({0x8F8A, 0x8F89}),
    ),
    MessageSpec(
        0x00CF, CraFlag.ALERT, "Firmware Distribution Receipt Alert (GBZ)", gbz.RECEIPT_ALERT,
        signed=True, mac=False, source="C-data RTDS FDRA-ZigBee ALERT; R gbcs-parser: always the hash",
        alert_codes=frozenset({0x8F72, 0x8F1C}),
    ),
    MessageSpec(
        0x1000, CraFlag.ALERT, "Generic Critical Alert (GBZ)", gbz.GENERIC_ALERT,
        signed=True, mac=False, source="R gbcs-parser parser.ts/util.ts; signed like every critical alert [I]",
        recognises=gbz.is_gbz_alert,
    ),
    MessageSpec(
        0x1001, CraFlag.ALERT, "Generic Non-Critical Alert (GBZ)", gbz.GENERIC_ALERT,
        signed=False, mac=False, source="R gbcs-parser parser.ts/util.ts; protection not settled [U]",
        recognises=gbz.is_gbz_alert,
    ),
)  # fmt: skip

MESSAGES: dict[tuple[int, CraFlag], MessageSpec] = {(spec.code, spec.cra): spec for spec in _MESSAGES}


def message_spec(code: int, cra_flag: int, payload: bytes | None = None) -> MessageSpec | None:
    """The table row for a message code and CRA flag (and, when given, a payload of the form the row decodes),
    None when it is not a firmware message we know."""
    cra = CraFlag.lookup(cra_flag)
    spec = None if cra is None else MESSAGES.get((code, cra))
    return spec if spec is None or payload is None or spec.applies_to(payload) else None


def encode_payload(code: int, cra: CraFlag, value: PayloadValue) -> bytes:
    """Payload octets for a message of the table (KeyError for a message it does not hold)."""
    return MESSAGES[code, cra].codec.encode(value)


class Verdict(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    UNUSABLE = "unusable"

    @property
    def exit_code(self) -> CheckExit:
        return {Verdict.VALID: CheckExit.VALID, Verdict.INVALID: CheckExit.INVALID}.get(self, CheckExit.UNUSABLE)


class Form(StrEnum):
    GENERAL_SIGNING = "general-signing"
    GENERAL_CIPHERED = "general-ciphered"
    PRECOMMAND = "precommand"
    """A General Signing APDU without its signature field: what a supplier submits for signing."""


@dataclass(frozen=True, slots=True)
class DecodedMessage:
    """Everything `decode_message` found: the APDU, its payload, both checks, the defects and the verdict."""

    apdu: Apdu
    spec: MessageSpec | None
    payload: PayloadValue
    """The decoded payload (None when it did not decode; check `payload_error`, a NULL payload is None too)."""
    payload_error: str | None
    signature: CheckResult
    mac: CheckResult
    defects: tuple[str, ...]
    unusable: tuple[str, ...]
    """Why the message cannot be judged (a key the checks need is missing); empty when it can."""

    @property
    def header(self) -> GeneralBlockHeader:
        return self.apdu.header

    @property
    def form(self) -> Form:
        if isinstance(self.apdu, GeneralCiphered):
            return Form.GENERAL_CIPHERED
        return Form.PRECOMMAND if self.apdu.is_precommand else Form.GENERAL_SIGNING

    @property
    def verdict(self) -> Verdict:
        failed = Check.INVALID in (self.signature.check, self.mac.check)
        if self.defects or failed:
            return Verdict.INVALID
        return Verdict.UNUSABLE if self.unusable else Verdict.VALID

    @property
    def name(self) -> str:
        if self.spec is not None:
            return self.spec.name
        return MESSAGE_NAMES.get(self.header.message_code, f"message code {OUTSIDE_SCOPE}")

    @property
    def payload_status(self) -> str:
        """Whether the payload was read: "decoded", "not decoded (outside the firmware scope)" or "not decoded
        (error)"."""
        if self.spec is None:
            return f"not decoded ({OUTSIDE_SCOPE})"
        return "not decoded (error)" if self.payload_error is not None else "decoded"

    def payload_fields(self) -> JsonValue:
        """The payload as JSON-able fields (None when it did not decode or the message is unknown)."""
        if self.spec is None or self.payload_error is not None:
            return None
        return self.spec.codec.describe(self.payload)

    def to_dict(self) -> dict[str, Any]:
        h = self.header
        signed = signing_part(self.apdu)
        return {
            "verdict": self.verdict.value,
            "form": self.form.value,
            "message_code": f"0x{h.message_code:04X}",
            "message_name": self.name,
            "header": header_fields(h),
            "payload_codec": self.spec.codec.name if self.spec else None,
            "payload_status": self.payload_status,
            "payload_hex": signed.payload.hex().upper(),
            "payload": self.payload_fields(),
            "payload_error": self.payload_error,
            "signature": self.signature.to_dict(),
            "mac": self.mac.to_dict(),
            "defects": list(self.defects),
            "unusable": list(self.unusable),
        }


def header_fields(header: GeneralBlockHeader) -> dict[str, Any]:
    """The header as JSON-able fields, absent optional fields as None."""
    cra = header.cra
    party = header.supplementary_remote_party
    counter = header.supplementary_remote_party_counter
    originator_counter = header.supplementary_originator_counter
    return {
        "cra_flag": header.cra_flag,
        "cra": cra.name.lower() if cra else "undefined",
        "originator_counter": header.originator_counter,
        "originator": str(header.originator),
        "recipient": str(header.recipient),
        "date_time": header.date_time.text if header.date_time else None,
        "message_code": f"0x{header.message_code:04X}",
        "supplementary_remote_party": str(party) if party else None,
        "supplementary_remote_party_counter": counter,
        "supplementary_originator_counter": originator_counter,
        "supplementary_remote_party_certificate": _certificate_fields(header),
    }


def _certificate_fields(header: GeneralBlockHeader) -> dict[str, Any] | None:
    """The supplementary remote party's key-agreement certificate: its public facts, or why it is unreadable."""
    octets = header.supplementary_remote_party_certificate
    if octets is None:
        return None
    try:
        certificate = remote_party_certificate(header)
    except ValueError as err:
        return {"size": len(octets), "error": f"not a readable DER X.509 certificate ({err})"}
    assert certificate is not None
    return {"size": len(octets), **describe_certificate(certificate)}


def _form_defects(apdu: Apdu, spec: MessageSpec | None, precommand: bool) -> list[str]:
    """Defects of the framing: fixed octets of the wrapper, and the protection the message must carry."""
    found = []
    signed = signing_part(apdu)
    if isinstance(apdu, GeneralCiphered):
        if apdu.unused_header != bytes(CIPHERED_HEADER_LENGTH):
            found.append(f"General Ciphered header octets {apdu.unused_header.hex().upper()}, GBCS leaves all six 00")
        if apdu.security_control != SECURITY_CONTROL_AUTHENTICATED:
            found.append(f"security control 0x{apdu.security_control:02X}, expected 0x11 (authenticated)")
        if apdu.invocation_counter != 0:
            found.append(f"invocation counter {apdu.invocation_counter}, GBCS uses 0")
    if precommand:
        if isinstance(apdu, GeneralCiphered) or not signed.is_precommand:
            found.append("expected the PRECOMMAND form (General Signing without a signature field)")
        return found
    if signed.is_precommand:
        found.append("no signature length octet: the PRECOMMAND form, not a message a device accepts")
    if spec is not None:
        if spec.signed and signed.signature == b"":
            found.append(f"a {spec.name} must be signed by its originator")
        if spec.mac and not isinstance(apdu, GeneralCiphered):
            found.append(f"a {spec.name} must be General Ciphered with a MAC")
    return found


def _payload_defects(spec: MessageSpec, header: GeneralBlockHeader, value: PayloadValue) -> list[str]:
    found = spec.codec.defects(value)
    if spec.alert_codes and isinstance(value, dict):
        code = value["alertCode"]
        if code not in spec.alert_codes:
            allowed = ", ".join(f"0x{c:04X}" for c in sorted(spec.alert_codes))
            found.append(f"alert code 0x{code:04X}: a {spec.name} carries {allowed}")
    found += [defect for rule in spec.rules if (defect := rule(header, value)) is not None]
    return found


def decode_message(
    data: bytes, *, keys: KeyStore | None = None, acb: EuiLike = DCC_BOXED_ACB, precommand: bool = False
) -> DecodedMessage:
    """Decode and judge one APDU. Raises only GbcsFormatError (octets that cannot be cut); every other
    problem is in the result. `precommand=True` judges the unsigned PRECOMMAND form a supplier submits,
    which carries neither signature nor MAC."""
    apdu = decode_apdu(data)
    header = apdu.header
    signed = signing_part(apdu)
    spec = message_spec(header.message_code, header.cra_flag, signed.payload)
    defects = _form_defects(apdu, spec, precommand)
    if header.cra is None:
        defects.append(f"CRA flag {header.cra_flag}: GBCS defines 1 command, 2 response, 3 alert")
    elif header.message_code in MESSAGE_NAMES and (header.message_code, header.cra) not in MESSAGES:
        defects.append(f"message code 0x{header.message_code:04X} has no {header.cra.name.lower()} form")
    certificate = _certificate_fields(header)
    if certificate is not None and "error" in certificate:
        defects.append(f"the supplementary remote party key-agreement certificate is {certificate['error']}")
    payload, payload_error = None, None
    if spec is not None:
        try:
            payload = spec.codec.decode(signed.payload)
        except PayloadError as err:
            payload_error = str(err)
            defects.append(f"payload: {err}")
        else:
            defects += _payload_defects(spec, header, payload)
    if precommand:
        signature = CheckResult(Check.ABSENT, "PRECOMMAND form: not signed yet")
        mac = CheckResult(Check.ABSENT, "PRECOMMAND form: no MAC")
    else:
        signature, mac = check_signature(apdu, keys), check_mac(apdu, keys, acb)
    unusable = [r.text for r in (signature, mac) if r.check is Check.KEY_MISSING]
    return DecodedMessage(apdu, spec, payload, payload_error, signature, mac, tuple(defects), tuple(unusable))
