"""GBCS codec for the firmware use cases: APDU framing, DER and GBZ payloads, signatures and MACs, and one
verdict per message (docs/gbcs.md).

The suite plays the supplier and the DCC towards an HCALCS or PPMID and must judge what the device answers,
so the same code decodes, verifies, builds, signs and MACs: `decode_message` for judging, `protect` (or
`sign` and `wrap`) for building, `encode_apdu(decode_apdu(x)) == x` for byte-exact round trips.
"""

from harness.gbcs.apdu import (
    Apdu,
    CraFlag,
    DlmsDateTime,
    GbcsFormatError,
    GeneralBlockHeader,
    GeneralCiphered,
    GeneralSigning,
    decode_apdu,
    encode_apdu,
    octets_from_hex,
    signing_part,
)
from harness.gbcs.messages import (
    MESSAGE_NAMES,
    MESSAGES,
    DecodedMessage,
    Form,
    MessageSpec,
    Verdict,
    decode_message,
    encode_payload,
    message_spec,
)
from harness.gbcs.payloads import PayloadError
from harness.gbcs.security import (
    DCC_BOXED_ACB,
    Check,
    CheckResult,
    KeyRoles,
    compute_mac,
    key_roles,
    protect,
    sign,
    signed_octets,
    verify_mac,
    verify_signature,
    wrap,
)

__all__ = [
    "DCC_BOXED_ACB",
    "MESSAGES",
    "MESSAGE_NAMES",
    "Apdu",
    "Check",
    "CheckResult",
    "CraFlag",
    "DecodedMessage",
    "DlmsDateTime",
    "Form",
    "GbcsFormatError",
    "GeneralBlockHeader",
    "GeneralCiphered",
    "GeneralSigning",
    "KeyRoles",
    "MessageSpec",
    "PayloadError",
    "Verdict",
    "compute_mac",
    "decode_apdu",
    "decode_message",
    "encode_apdu",
    "encode_payload",
    "key_roles",
    "message_spec",
    "octets_from_hex",
    "protect",
    "sign",
    "signed_octets",
    "signing_part",
    "verify_mac",
    "verify_signature",
    "wrap",
]
