"""`ota-conformance gbcs`: decode and judge GBCS messages.

- `gbcs decode FILE|HEX [--keys DIR] [--json]` prints the message code and name, the header fields (Other
  Information included, a supplementary remote party's key-agreement certificate with its subject), the payload
  fields of a firmware message ("not decoded (outside the firmware scope)" for any other) and the signature and
  MAC verdicts. With `--keys DIR` (a DCC Boxed key folder as shipped) it verifies the originator's signature
  and the MAC by the general rules; without it only the structure is judged ("not checked").
  Exit 0: everything it could check holds; 1: something it checked is wrong; 2: the input is not a GBCS APDU
  (or cannot be read), or a key the message needs is missing from DIR ("not checked: no key for ...").
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.crypto.eui64 import Eui64
from harness.crypto.keystore import KeyStore
from harness.errors import InputError, UsageError
from harness.exitcodes import CheckExit
from harness.files import APDU_LIMIT, read_regular
from harness.gbcs.apdu import GENERAL_CIPHERED_TAG, GENERAL_SIGNING_TAG, GbcsFormatError, octets_from_hex
from harness.gbcs.messages import DecodedMessage, decode_message
from harness.gbcs.payloads import is_named_integer
from harness.gbcs.security import DCC_BOXED_ACB


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("gbcs", help="decode and judge GBCS messages", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.set_defaults(error_exit_code=int(CheckExit.UNUSABLE))
    actions = parser.add_subparsers(dest="gbcs_command", metavar="ACTION")
    actions.required = True
    p = actions.add_parser("decode", help="decode one APDU, verify its signature and MAC, print the verdict")
    p.add_argument("apdu", metavar="FILE|HEX", help="a file holding hex text (RTDS .HEX) or binary, or hex digits")
    p.add_argument(
        "--keys",
        type=Path,
        metavar="DIR",
        help="DCC Boxed key folder (<eui64>-<ds|ka|pp-ka>.pem certificates or public keys, .key private keys); "
        "without it only the structure is judged",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--acb", default=str(DCC_BOXED_ACB), metavar="EUI64", help="the ACB (default: DCC Boxed's)")
    p.add_argument("--precommand", action="store_true", help="judge the unsigned PRECOMMAND form a supplier submits")
    p.set_defaults(handler=_decode)


def _exists(path: Path) -> bool:
    """Whether something is at ``path`` (a file, or a FIFO or device to refuse); a long hex argument ("file
    name too long") is simply not a path."""
    try:
        return path.exists()
    except OSError:
        return False


def read_apdu(argument: str) -> tuple[bytes, str]:
    """(octets, where they came from): a file of hex text or binary, else the argument as hex digits."""
    path = Path(argument)
    if argument and _exists(path):
        data = read_regular(path, "APDU file", APDU_LIMIT)  # a FIFO, a device or a huge file: refused
        if data[:1] in (bytes([GENERAL_SIGNING_TAG]), bytes([GENERAL_CIPHERED_TAG])):
            return data, str(path)
        try:
            return octets_from_hex(data.decode("ascii")), str(path)
        except (UnicodeDecodeError, GbcsFormatError):
            raise InputError(f"{path}: neither hex text nor a binary APDU starting 0xDF or 0xDD") from None
    try:
        return octets_from_hex(argument), "argument"
    except GbcsFormatError:
        raise InputError(f"{argument!r}: no such file, and not hexadecimal text") from None


def _decode(args: argparse.Namespace) -> int:
    try:
        acb = Eui64.parse(args.acb)
    except ValueError as err:
        raise UsageError(f"--acb: {err}") from None
    keys = KeyStore.load(args.keys) if args.keys else None
    data, source = read_apdu(args.apdu)
    try:
        message = decode_message(data, keys=keys, acb=acb, precommand=args.precommand)
    except GbcsFormatError as err:
        if args.json:
            print(json.dumps({"source": source, "size": len(data), "verdict": "unusable", "error": str(err)}, indent=2))
        else:
            print(f"source: {source} ({len(data)} octets)\nerror: {err}\nverdict: UNUSABLE")
        return int(CheckExit.UNUSABLE)
    if args.json:
        document = {"source": source, "size": len(data), **message.to_dict()}
        if keys is not None:
            document["keys"] = {"source": keys.source, "summary": keys.summary(), "roles": keys.roles_found()}
            document["keys"]["notes"] = list(keys.notes)
        print(json.dumps(document, indent=2))
    else:
        print(render(message, source, len(data), keys))
    return int(message.verdict.exit_code)


def _text(value: Any) -> str:
    """One payload value as text: named integers with their name, alert codes in hex, NULL as NULL."""
    if value is None:
        return "NULL"
    if is_named_integer(value):
        number = value.get("hex", value["value"])
        return f"{number} ({value['name'] or 'no name'})"
    return str(value)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, text) for every leaf of a `describe` result."""
    if isinstance(value, dict) and not is_named_integer(value):
        return [pair for key, inner in value.items() for pair in _flatten(inner, f"{prefix}.{key}".lstrip("."))]
    return [(prefix or "(value)", _text(value))]


def _certificate_text(fields: dict[str, Any]) -> str:
    """The supplementary remote party's key-agreement certificate on one line."""
    if "error" in fields:
        return f"{fields['size']} octets, {fields['error']}"
    named = f" (EUI-64 {fields['eui64']})" if fields["eui64"] else ""
    return (
        f"{fields['size']} octets DER, subject {fields['subject']}{named}, issuer {fields['issuer']}, "
        f"serial {fields['serial_number']}, valid {fields['not_before']} to {fields['not_after']}"
    )


def _header_rows(header: dict[str, Any]) -> list[tuple[str, str]]:
    header["cra_flag"] = f"{header['cra_flag']} ({header.pop('cra')})"
    certificate = header.pop("supplementary_remote_party_certificate")
    rows = [(name.replace("_", " "), "absent" if v is None else str(v)) for name, v in header.items()]
    if certificate is not None:
        rows.append(("supplementary remote party KA certificate", _certificate_text(certificate)))
    return rows


def _key_store_lines(keys: KeyStore) -> list[str]:
    """Which roles the key store found, and the files it skipped (the other notes are in --json)."""
    lines = [f"keys: {keys.source}: {keys.summary()}"]
    return lines + [f"  note: {note}" for note in keys.notes if ": skipped: " in note]


def render(message: DecodedMessage, source: str, size: int, keys: KeyStore | None = None) -> str:
    """The human form of a decoded message."""
    d = message.to_dict()
    lines = [
        f"source: {source} ({size} octets)",
        f"message: {d['message_code']} {d['message_name']}",
        f"form: {d['form']}",
        "header:",
    ]
    rows = _header_rows(d["header"])
    payload_rows = _flatten(d["payload"]) if message.spec is not None and not d["payload_error"] else []
    width = max(len(name) for name, _ in rows + payload_rows)
    lines += [f"  {name:<{width}}  {text}" for name, text in rows]
    what = d["payload_codec"] or d["payload_status"]
    lines.append(f"payload: {what} ({len(d['payload_hex']) // 2} octets)")
    lines += [f"  {path:<{width}}  {text}" for path, text in payload_rows]
    if d["payload_error"]:
        lines.append(f"  error: {d['payload_error']}")
    if not payload_rows:
        lines.append(f"  octets: {d['payload_hex'] or 'none'}")
    if keys is not None:
        lines += _key_store_lines(keys)
    lines.append(f"signature: {message.signature.text}")
    lines.append(f"MAC: {message.mac.text}")
    lines.append("defects:" if d["defects"] else "defects: none")
    lines += [f"  {defect}" for defect in d["defects"]]
    lines += [f"cannot judge: {reason}" for reason in d["unusable"]]
    lines.append(f"verdict: {d['verdict'].upper()}")
    return "\n".join(lines)
