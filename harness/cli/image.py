"""`ota-conformance image`: inspect, build and derive variants of Zigbee/GB OTA upgrade images.

- `image inspect FILE` validates a file (a vendor's image or one of ours) and prints where its OTA header is
  (vendor containers unwrapped as zigpy does: ``harness.ota.containers``), every header field, the layout, the
  Manufacturer Image hash, the signature verdict and the findings. VALID says what it rests on: a verified
  signature, "signature not checked: no key", or no signature in the layout. Exit 0 valid, 1 invalid (an OTA
  file that breaks a rule), 2 unusable (not an OTA file at all: no file identifier; file or key unreadable;
  bad option).
- `image build -o OUT` builds a reproducible test image, or with `--variant NAME [--from FILE]` one of the
  named invalid variants (`image variants` lists them).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.eui64 import Eui64
from harness.errors import ConfigurationError, HarnessError, InputError, UsageError
from harness.exitcodes import CheckExit
from harness.files import KEY_LIMIT, OTA_IMAGE_LIMIT, read_regular
from harness.ota.containers import OTA_MAGIC_BYTES, Unwrapped, unwrap
from harness.ota.errors import ImageFormatError
from harness.ota.factory import DEFAULT_PAYLOAD_SIZE, ImageSpec, build_image
from harness.ota.format import FC_KNOWN_BITS, OTA_HEADER_VERSION, OTA_MAGIC, Layout, OtaHeader, parse_header
from harness.ota.validate import SUBELEMENTS_KEPT, Profile, ValidationReport, validate_image
from harness.ota.variants import VARIANTS, VariantContext, get_variant

_LAYOUTS = [str(layout) for layout in Layout]
#: Sub-elements `image inspect` lists before it summarises the rest (a hostile file can hold millions).
DEFAULT_SUBELEMENTS_SHOWN = 32
#: Tags named in that summary (a 16-bit tag has 65,536 values).
_SUMMARY_TAGS = 8
_NOT_P256 = "{path}: not an ECDSA P-256 key (GB images are signed with P-256)"
_FIELD_CONTROL_NAMES = {
    0x0001: "security credential version",
    0x0002: "device specific",
    0x0004: "hardware versions",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "image",
        help="inspect, build and vary OTA upgrade images",
        description=__doc__.splitlines()[0],
    )
    parser.set_defaults(error_exit_code=int(CheckExit.UNUSABLE))
    actions = parser.add_subparsers(dest="image_command", metavar="ACTION")
    actions.required = True
    _register_inspect(actions)
    _register_build(actions)
    variants = actions.add_parser("variants", help="list the named image variants")
    variants.add_argument("--json", action="store_true", help="print one JSON array")
    variants.set_defaults(handler=_variants)


# -- argument types -----------------------------------------------------------------------------------
def _uint(bits: int) -> Callable[[str], int]:
    """An argparse type: decimal or 0x-hex, within an unsigned field of `bits` bits."""

    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number (decimal or 0x-hex)") from None
        if not 0 <= value < 1 << bits:
            raise argparse.ArgumentTypeError(f"{text} does not fit {bits} bits (0..0x{(1 << bits) - 1:X})")
        return value

    parse.__name__ = f"u{bits}"
    return parse


def _register_inspect(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser("inspect", help="validate an OTA file and print its fields and findings")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--layout", choices=_LAYOUTS, help="expected layout (default: detect it)")
    p.add_argument("--profile", choices=[str(x) for x in Profile], default=str(Profile.GB), help="rule set")
    p.add_argument("--key", type=Path, metavar="PEM", help="supplier certificate or public key (gb-signed)")
    p.add_argument("--manufacturer-key", type=Path, metavar="PEM", help="manufacturer certificate or public key (GBMS)")
    p.add_argument("--expected-hash", metavar="HEX", help="expected SHA-256 of the Manufacturer Image")
    p.add_argument("--max-size", type=_uint(32), metavar="N", help="the device's image storage, in octets")
    _add_read_limit(p)
    p.add_argument(
        "--max-subelements",
        type=_positive,
        default=DEFAULT_SUBELEMENTS_SHOWN,
        metavar="N",
        help=f"list at most N sub-elements, then a summary of the rest (default {DEFAULT_SUBELEMENTS_SHOWN})",
    )
    p.set_defaults(handler=_inspect)


def _add_read_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--read-limit",
        type=_positive,
        default=OTA_IMAGE_LIMIT,
        metavar="N",
        help=f"refuse an input file larger than N octets, unread (default {OTA_IMAGE_LIMIT}, 16 MiB); not the "
        "device's storage, which is --max-size",
    )


def _positive(text: str) -> int:
    """An argparse type: a positive decimal or 0x-hex integer."""
    value = _uint(64)(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _register_build(actions: argparse._SubParsersAction) -> None:
    p = actions.add_parser("build", help="build a test image, or a named variant of one")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT")
    p.add_argument("--manufacturer-code", type=_uint(16), default=0x1234)
    p.add_argument("--image-type", type=_uint(16), default=0x0084)
    p.add_argument("--file-version", type=_uint(32), default=0x00000001)
    p.add_argument("--hw-min", type=_uint(16), default=0x0000)
    p.add_argument("--hw-max", type=_uint(16), default=0xFFFF)
    p.add_argument("--no-hw-versions", action="store_true", help="omit the hardware version fields")
    p.add_argument("--size", type=_uint(32), default=DEFAULT_PAYLOAD_SIZE, help="payload octets")
    p.add_argument("--seed", type=int, default=0, help="seed of the deterministic payload")
    p.add_argument("--payload", type=Path, metavar="FILE", help="use this file as the firmware payload")
    p.add_argument("--layout", choices=_LAYOUTS, help="body layout (build: default gb-signed; --from: detect)")
    p.add_argument("--header-string", default=ImageSpec.header_string, help="at most 32 octets of UTF-8")
    p.add_argument("--stack-version", type=_uint(16), default=ImageSpec.stack_version)
    p.add_argument("--supplier-key", type=Path, metavar="PEM", help="supplier PRIVATE key (signs gb-signed)")
    p.add_argument("--manufacturer-key", type=Path, metavar="PEM", help="manufacturer PRIVATE key (GBMS)")
    p.add_argument("--other-key", type=Path, metavar="PEM", help="an untrusted PRIVATE key, for variants")
    p.add_argument("--variant", metavar="NAME", help="derive this variant (see `image variants`)")
    p.add_argument("--from", dest="source", type=Path, metavar="FILE", help="derive the variant from FILE")
    p.add_argument("--device-hw-version", type=_uint(16), help="for hardware-range-excludes-device")
    p.add_argument("--running-version", type=_uint(32), help="for lower-version / same-version")
    _add_read_limit(p)
    p.set_defaults(handler=_build)


# -- files and keys -----------------------------------------------------------------------------------
_READ_LIMIT_HINT = "; raise it with --read-limit N"


def _read(path: Path, what: str, limit: int, error: type[HarnessError] = InputError) -> bytes:
    """A regular file of at most ``limit`` octets (``harness.files``): a FIFO, a device or a huge file is refused."""
    hint = _READ_LIMIT_HINT if limit != KEY_LIMIT else ""
    return read_regular(path, what, limit, limit_hint=hint, error=error)


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from a PEM X.509 certificate or public key. A private key is refused unread."""
    pem = _read(path, "key file", KEY_LIMIT, ConfigurationError)
    if b"PRIVATE KEY" in pem:
        raise ConfigurationError(
            f"{path} holds a private key; give the certificate or public key instead"
            " (the private key was not loaded or shown)"
        )
    try:
        if b"-----BEGIN CERTIFICATE-----" in pem:
            key = x509.load_pem_x509_certificate(pem).public_key()
        else:
            key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{path} is not a PEM X.509 certificate or public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError(_NOT_P256.format(path=path))
    return key


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from an unencrypted PEM file (test keys only)."""
    pem = _read(path, "key file", KEY_LIMIT, ConfigurationError)
    if b"PRIVATE KEY" not in pem:
        raise ConfigurationError(f"{path} holds no private key (a certificate or public key cannot sign)")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigurationError(f"{path} is encrypted; give an unencrypted test key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigurationError(f"{path} is not a readable PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError(_NOT_P256.format(path=path))
    return key


def _expected_hash(text: str | None) -> bytes | None:
    if text is None:
        return None
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        raise UsageError(f"--expected-hash {text!r} is not hexadecimal") from None
    if len(digest) != 32:
        raise UsageError(f"--expected-hash has {len(digest)} octets, a SHA-256 has 32")
    return digest


# -- inspect ------------------------------------------------------------------------------------------
def _inspect(args: argparse.Namespace) -> int:
    data = _read(args.file, "OTA image", args.read_limit)
    supplier = load_public_key(args.key) if args.key else None
    manufacturer = load_public_key(args.manufacturer_key) if args.manufacturer_key else None
    found = unwrap(data)
    if found is None:
        raise InputError(not_an_ota_file(args.file, data))
    report = validate_image(
        found.data,
        layout=args.layout,
        profile=args.profile,
        supplier_public_key=supplier,
        expected_hash=_expected_hash(args.expected_hash),
        manufacturer_public_key=manufacturer,
        max_image_size=args.max_size,
    )
    if args.json:
        verdict = {"verdict": verdict_text(report), "signature_checked": report.signature_valid is not None}
        document = {"file": str(args.file), "container": found.to_dict(), **verdict, **report.to_dict()}
        if report.subelements is not None and len(report.subelements) < (report.subelement_count or 0):
            document["subelements_listed"] = f"the first {SUBELEMENTS_KEPT} of {report.subelement_count}"
        print(json.dumps(document, indent=2))
    else:
        print(render_report(report, str(args.file), found, max_subelements=args.max_subelements))
    return int(CheckExit.VALID if report.is_valid else CheckExit.INVALID)


def not_an_ota_file(path: Path, data: bytes) -> str:
    """Why ``data`` is not an OTA file (no file identifier anywhere, after unwrapping), and what it looks like."""
    message = (
        f"{path} is not an OTA file: no OTA file identifier 0x{OTA_MAGIC:08X} (octets {OTA_MAGIC_BYTES.hex(' ')}) "
        f"in its {len(data)} octets, in no container zigpy or this suite unwraps (IKEA NGIS, Legrand, Third "
        "Reality, a vendor prefix)"
    )
    try:
        header = parse_header(data)
    except ImageFormatError:
        return message + "."
    if header.header_version == OTA_HEADER_VERSION and header.total_image_size == len(data):
        message += (
            f". Its first octets read as an OTA header whose identifier is 0x{header.file_identifier:08X}: a "
            "damaged or deliberately wrong identifier (CS-03, variant wrong-magic), which a device must refuse"
        )
    return message + "."


def verdict_text(report: ValidationReport) -> str:
    """VALID only with what it rests on: a verified signature, no key to check it, or no signature at all."""
    if not report.is_valid:
        return "INVALID"
    if report.signature_valid:
        return "VALID (signature verified)"
    if report.signature is not None:
        return "VALID (signature not checked: no key)"
    return "VALID (no supplier signature in this layout)"


def _opt(value: int | None, width: int) -> str:
    return "absent" if value is None else f"0x{value:0{width}X}"


def _header_lines(h: OtaHeader) -> list[tuple[str, str]]:
    flags = [name for bit, name in _FIELD_CONTROL_NAMES.items() if h.field_control & bit]
    if h.field_control & ~FC_KNOWN_BITS:
        flags.append(f"reserved 0x{h.field_control & ~FC_KNOWN_BITS:04X}")
    destination = h.upgrade_file_destination
    return [
        ("file identifier", f"0x{h.file_identifier:08X}"),
        ("header version", f"0x{h.header_version:04X}"),
        ("header length", f"{h.header_length} (known fields {h.known_length})"),
        ("field control", f"0x{h.field_control:04X} ({', '.join(flags) or 'no optional fields'})"),
        ("manufacturer code", f"0x{h.manufacturer_code:04X}"),
        ("image type", f"0x{h.image_type:04X}"),
        ("file version", f"0x{h.file_version:08X}"),
        ("zigbee stack version", f"0x{h.stack_version:04X}"),
        ("header string", repr(h.header_text)),
        ("total image size", str(h.total_image_size)),
        ("security credential version", _opt(h.security_credential_version, 2)),
        ("upgrade file destination", "absent" if destination is None else Eui64.parse(destination).dashed),
        ("minimum hardware version", _opt(h.min_hw_version, 4)),
        ("maximum hardware version", _opt(h.max_hw_version, 4)),
        ("header extension", h.extension.hex() if h.extension else "none"),
    ]


def _subelement_lines(report: ValidationReport, shown: int) -> list[str]:
    """The first ``shown`` sub-elements, then one line summarising the rest by tag (bounded output)."""
    elements = report.subelements or ()
    lines = [f"  sub-element tag 0x{e.tag:04X}: {len(e.data)} octets" for e in elements[:shown]]
    total = report.subelement_count if report.subelement_count is not None else len(elements)
    if total <= shown:
        return lines
    tags = report.subelement_tags or {}
    rest: dict[int, list[int]] = {tag: [count, octets] for tag, (count, octets) in tags.items()}
    for e in elements[:shown]:
        rest[e.tag][0] -= 1
        rest[e.tag][1] -= len(e.data)
    by_count = sorted(((c, o, tag) for tag, (c, o) in rest.items() if c), reverse=True)
    named = ", ".join(f"0x{tag:04X} ×{c} ({o} octets)" for c, o, tag in by_count[:_SUMMARY_TAGS])
    others = f", and {len(by_count) - _SUMMARY_TAGS} other tags" if len(by_count) > _SUMMARY_TAGS else ""
    lines.append(
        f"  ... {total - shown} more sub-elements not listed (of {total}; --max-subelements N lists more): "
        f"{named}{others}"
    )
    return lines


def render_report(
    report: ValidationReport,
    source: str,
    found: Unwrapped | None = None,
    *,
    max_subelements: int = DEFAULT_SUBELEMENTS_SHOWN,
) -> str:
    """The human form of a validation report (``found``: where the OTA file was in the input); at most
    ``max_subelements`` sub-elements are listed, the rest summarised by tag."""
    lines = [f"file: {source} ({found.input_size if found else report.size} octets), profile {report.profile}"]
    if found is not None:
        lines.append(f"container: {found.description}")
        lines.append(f"OTA header at offset {found.offset} (0x{found.offset:X}); OTA file of {report.size} octets")
    if report.header is None:
        lines.append("header: unreadable")
    else:
        lines.append("header:")
        lines += [f"  {name:<28} {value}" for name, value in _header_lines(report.header)]
    lines.append(
        f"layout: {report.layout or 'unknown'} (expected {report.expected_layout or 'not given'},"
        f" detected {report.detected_layout or 'n/a'})"
    )
    digest = report.manufacturer_image_sha256
    if report.manufacturer_image is None or digest is None:
        lines.append("manufacturer image: not found")
    else:
        lines.append(f"manufacturer image: {len(report.manufacturer_image)} octets, SHA-256 {digest.hex()}")
    if report.subelements is not None:
        lines += _subelement_lines(report, max_subelements)
    if report.signature_length_octet is not None:
        lines.append(
            f"supplier trailer: ForceReplace 0x{report.force_replace or 0:02X}, signature length octet"
            f" 0x{report.signature_length_octet:02X}, {len(report.signature or b'')} signature octets"
        )
    verdict = {None: "not checked (no --key or no signature)", True: "valid", False: "INVALID"}
    lines.append(f"supplier signature: {verdict[report.signature_valid]}")
    if report.manufacturer_signature is not None:
        lines.append(f"manufacturer signature (GBMS): {report.manufacturer_signature.reason}")
    lines.append("findings:" if report.findings else "findings: none")
    for f in report.findings:
        where = "" if f.offset is None else f" @{f.offset}"
        lines.append(f"  {f.severity.upper():<7} {f.code}{where}: {f.reason}")
    lines.append(f"verdict: {verdict_text(report)}")
    return "\n".join(lines)


# -- build --------------------------------------------------------------------------------------------
def _build(args: argparse.Namespace) -> int:
    if args.source and not args.variant:
        raise UsageError("--from FILE derives a variant: give --variant NAME too")
    variant = get_variant(args.variant) if args.variant else None
    supplier = load_private_key(args.supplier_key) if args.supplier_key else None
    manufacturer = load_private_key(args.manufacturer_key) if args.manufacturer_key else None
    if args.source:
        image = _read(args.source, "source image", args.read_limit)
    else:
        payload = _read(args.payload, "payload", args.read_limit) if args.payload else None
        spec = ImageSpec(
            manufacturer_code=args.manufacturer_code,
            image_type=args.image_type,
            file_version=args.file_version,
            min_hw_version=None if args.no_hw_versions else args.hw_min,
            max_hw_version=None if args.no_hw_versions else args.hw_max,
            payload=payload,
            payload_size=args.size,
            seed=args.seed,
            layout=Layout(args.layout or Layout.GB_SIGNED),
            header_string=args.header_string,
            stack_version=args.stack_version,
        )
        image = build_image(spec, supplier_key=supplier, manufacturer_key=manufacturer)
    if variant is not None:
        context = VariantContext(
            device_hw_version=args.device_hw_version,
            running_version=args.running_version,
            supplier_key=supplier,
            manufacturer_key=manufacturer,
            other_key=load_private_key(args.other_key) if args.other_key else None,
            layout=Layout(args.layout) if args.source and args.layout else None,
        )
        image = variant.derive(image, context)
    try:
        args.output.write_bytes(image)
    except OSError as err:
        raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from None
    what = f"variant {variant.name}" if variant else "image"
    print(f"wrote {what} to {args.output} ({len(image)} octets)")
    return 0


# -- variants -----------------------------------------------------------------------------------------
def _variants(args: argparse.Namespace) -> int:
    rows = [
        {
            "name": v.name,
            "needs": sorted(str(n) for n in v.needs) or ["none"],
            "requirements": list(v.requirements),
            "findings": sorted(str(f) for f in v.findings),
            "description": v.description,
        }
        for v in VARIANTS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']}  [needs: {', '.join(row['needs'])}; {', '.join(row['requirements'])}]")
        print(f"    {row['description']}")
    return 0
