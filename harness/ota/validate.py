"""The strict OTA file validator: any bytes in, a report of typed findings out, never an exception.

`harness.ota.format` says how bytes are cut into fields; this module judges the fields against the Zigbee
OTA file rules and the GB profile (domain.md §2.2, §3.1, §3.8, requirements CS-03..CS-08, CS-14, CS-15,
HG-02). Every rule is one `FindingCode` with a severity; a report with no DEFECT is valid.
The checks are documented with their codes in docs/ota-images.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from harness.crypto.ecdsa import verify_raw
from harness.crypto.eui64 import Eui64
from harness.ota.errors import ImageFormatError
from harness.ota.format import (
    FC_HARDWARE_VERSIONS,
    FC_KNOWN_BITS,
    FIELD_OFFSETS,
    GB_TRAILER_LENGTH,
    OTA_HEADER_VERSION,
    OTA_MAGIC,
    SUPPLIER_SIGNATURE_LENGTH,
    TAG_UPGRADE_IMAGE,
    ZIGBEE_STACK_PRO,
    GbSignedBody,
    Layout,
    OtaHeader,
    SubElement,
    detect_layout,
    parse_body,
    parse_header,
    subelement_spans,
)
from harness.ota.manufacturer import ManufacturerVerdict, has_trailer, verify_manufacturer_image

GB_HEADER_LENGTH = 60
GB_FIELD_CONTROL = FC_HARDWARE_VERSIONS


class Profile(StrEnum):
    """Which rule set applies on top of the Zigbee OTA file format."""

    GB = "gb"  # 60-octet header, field control 0x0004, stack version 2, no sub-elements (domain §3.8)
    ZIGBEE = "zigbee"  # the plain Zigbee OTA file format: sub-elements, any optional header fields


PROFILE_LAYOUTS: dict[Profile, frozenset[Layout]] = {
    Profile.GB: frozenset({Layout.GB_SIGNED, Layout.GB_UNSIGNED}),
    Profile.ZIGBEE: frozenset({Layout.ZIGBEE}),
}


class Severity(StrEnum):
    DEFECT = "defect"  # breaks a rule: the file is invalid
    WARNING = "warning"  # suspicious or unusual, still valid
    INFO = "info"  # how the validator read the file


class FindingCode(StrEnum):
    """One rule each. `requirements` names the domain §8 requirement IDs the rule serves."""

    BAD_MAGIC = "bad-magic"
    UNSUPPORTED_HEADER_VERSION = "unsupported-header-version"
    FILE_SHORTER_THAN_HEADER = "file-shorter-than-header"
    HEADER_LENGTH_SHORT = "header-length-short"
    UNKNOWN_HEADER_EXTENSION = "unknown-header-extension"
    RESERVED_FIELD_CONTROL_BITS = "reserved-field-control-bits"
    GB_FIELD_CONTROL = "gb-field-control"
    GB_STACK_VERSION = "gb-stack-version"
    HARDWARE_RANGE_INVERTED = "hardware-range-inverted"
    TOTAL_SIZE_SMALLER_THAN_HEADER = "total-size-smaller-than-header"
    FILE_TRUNCATED = "file-truncated"
    TRAILING_BYTES = "trailing-bytes"
    IMAGE_TOO_LARGE = "image-too-large"
    LAYOUT_DETECTED = "layout-detected"
    LAYOUT_MISMATCH = "layout-mismatch"
    LAYOUT_NOT_IN_PROFILE = "layout-not-in-profile"
    SUBELEMENTS_DO_NOT_TILE = "subelements-do-not-tile"
    UPGRADE_IMAGE_ELEMENT_COUNT = "upgrade-image-element-count"
    SIGNATURE_MISSING = "signature-missing"
    SIGNATURE_LENGTH_OCTET = "signature-length-octet"
    SIGNATURE_TRUNCATED = "signature-truncated"
    FORCE_REPLACE_VALUE = "force-replace-value"
    SIGNATURE_INVALID = "signature-invalid"
    HASH_MISMATCH = "manufacturer-image-hash-mismatch"
    MANUFACTURER_SIGNATURE = "manufacturer-signature"

    @property
    def requirements(self) -> tuple[str, ...]:
        return _REQUIREMENTS.get(self, ())


_REQUIREMENTS: dict[FindingCode, tuple[str, ...]] = {
    FindingCode.BAD_MAGIC: ("CS-03",),
    FindingCode.UNSUPPORTED_HEADER_VERSION: ("CS-03",),
    FindingCode.FILE_SHORTER_THAN_HEADER: ("CS-04", "CS-14"),
    FindingCode.HEADER_LENGTH_SHORT: ("CS-04", "CS-14"),
    FindingCode.UNKNOWN_HEADER_EXTENSION: ("CS-04",),
    FindingCode.GB_FIELD_CONTROL: ("CS-04", "PZ-07"),
    FindingCode.HARDWARE_RANGE_INVERTED: ("PZ-07",),
    FindingCode.TOTAL_SIZE_SMALLER_THAN_HEADER: ("CS-05", "CS-14"),
    FindingCode.FILE_TRUNCATED: ("CS-05",),
    FindingCode.TRAILING_BYTES: ("CS-05",),
    FindingCode.IMAGE_TOO_LARGE: ("CS-15",),
    FindingCode.LAYOUT_MISMATCH: ("CS-07", "HG-02"),
    FindingCode.LAYOUT_NOT_IN_PROFILE: ("CS-07",),
    FindingCode.SUBELEMENTS_DO_NOT_TILE: ("CS-14",),
    FindingCode.SIGNATURE_MISSING: ("HG-02", "HG-05"),
    FindingCode.SIGNATURE_LENGTH_OCTET: ("HG-02", "HG-05"),
    FindingCode.SIGNATURE_TRUNCATED: ("HG-02", "HG-05", "CS-14"),
    FindingCode.SIGNATURE_INVALID: ("CS-02", "CS-08", "HG-05"),
    FindingCode.HASH_MISMATCH: ("CS-01", "CS-08", "HG-09"),
    FindingCode.MANUFACTURER_SIGNATURE: ("CS-08", "PZ-14"),
}


@dataclass(frozen=True)
class Finding:
    code: FindingCode
    severity: Severity
    reason: str
    offset: int | None = None
    """File offset the finding is about, when there is one."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "severity": str(self.severity),
            "reason": self.reason,
            "offset": self.offset,
            "requirements": list(self.code.requirements),
        }


@dataclass
class ValidationReport:
    """What the validator read and what it found. `header` is None when not even the header was readable."""

    size: int
    profile: Profile
    expected_layout: Layout | None
    detected_layout: Layout | None = None
    header: OtaHeader | None = None
    manufacturer_image: bytes | None = None
    force_replace: int | None = None
    signature_length_octet: int | None = None
    signature: bytes | None = None
    signature_valid: bool | None = None
    """Supplier signature verdict; None when no key was given or the layout carries none."""
    subelements: tuple[SubElement, ...] | None = None
    """The first SUBELEMENTS_KEPT sub-elements of a Zigbee body (``subelement_count`` counts them all)."""
    subelement_count: int | None = None
    subelement_tags: dict[int, tuple[int, int]] | None = None
    """Every sub-element tag seen: (how many elements, octets of data), for the summary past the list."""
    manufacturer_signature: ManufacturerVerdict | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def layout(self) -> Layout | None:
        """The layout the body was judged as: the expected one if given, else the detected one."""
        return self.expected_layout or self.detected_layout

    @property
    def manufacturer_image_sha256(self) -> bytes | None:
        """The GB "firmware hash" (SR 11.3 / CS06): SHA-256 of the Manufacturer Image only."""
        return None if self.manufacturer_image is None else hashlib.sha256(self.manufacturer_image).digest()

    @property
    def defects(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.DEFECT]

    @property
    def is_valid(self) -> bool:
        return not self.defects

    @property
    def codes(self) -> set[FindingCode]:
        return {f.code for f in self.findings}

    def has(self, code: FindingCode) -> bool:
        return code in self.codes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the `image inspect --json` output)."""
        digest = self.manufacturer_image_sha256
        mfr = self.manufacturer_signature
        return {
            "size": self.size,
            "profile": str(self.profile),
            "valid": self.is_valid,
            "layout": _str_or_none(self.layout),
            "expected_layout": _str_or_none(self.expected_layout),
            "detected_layout": _str_or_none(self.detected_layout),
            "header": None if self.header is None else header_to_dict(self.header),
            "manufacturer_image": None
            if self.manufacturer_image is None
            else {"size": len(self.manufacturer_image), "sha256": digest.hex() if digest else None},
            "force_replace": self.force_replace,
            "signature_length_octet": self.signature_length_octet,
            "signature": None if self.signature is None else self.signature.hex(),
            "signature_valid": self.signature_valid,
            "subelements": None
            if self.subelements is None
            else [{"tag": e.tag, "length": len(e.data)} for e in self.subelements],
            "subelement_count": self.subelement_count,
            "manufacturer_signature": None
            if mfr is None
            else {"status": str(mfr.status), "ok": mfr.ok, "reason": mfr.reason},
            "findings": [f.to_dict() for f in self.findings],
        }


def _str_or_none(value: object | None) -> str | None:
    return None if value is None else str(value)


def header_to_dict(header: OtaHeader) -> dict[str, Any]:
    """Header fields for JSON: numbers as numbers, octet strings as hex, the EUI-64 in its dashed form."""
    destination = header.upgrade_file_destination
    return {
        "file_identifier": header.file_identifier,
        "header_version": header.header_version,
        "header_length": header.header_length,
        "field_control": header.field_control,
        "manufacturer_code": header.manufacturer_code,
        "image_type": header.image_type,
        "file_version": header.file_version,
        "stack_version": header.stack_version,
        "header_string": header.header_text,
        "header_string_hex": header.header_string.hex(),
        "total_image_size": header.total_image_size,
        "security_credential_version": header.security_credential_version,
        "upgrade_file_destination": None if destination is None else Eui64.parse(destination).dashed,
        "min_hw_version": header.min_hw_version,
        "max_hw_version": header.max_hw_version,
        "extension": header.extension.hex(),
    }


#: How many sub-elements a report keeps (and ``--json`` lists); the rest are counted by tag.
SUBELEMENTS_KEPT = 1024


# -- the checks ---------------------------------------------------------------------------------------
class _Check:
    """One validation run; each method adds findings and fills the report."""

    def __init__(self, data: bytes, report: ValidationReport) -> None:
        self.data = data
        self.report = report
        self.gb = report.profile is Profile.GB

    def add(
        self,
        code: FindingCode,
        reason: str,
        *,
        severity: Severity = Severity.DEFECT,
        offset: int | None = None,
    ) -> None:
        self.report.findings.append(Finding(code, severity, reason, offset))

    def header(self) -> tuple[int, int] | None:
        """Check the header; return the body's (start, end) in the file, or None when it cannot be found."""
        data = self.data
        magic = int.from_bytes(data[:4], "little")
        if len(data) < 4:
            self.add(FindingCode.BAD_MAGIC, f"{len(data)} octets: no file identifier", offset=0)
        elif magic != OTA_MAGIC:
            self.add(FindingCode.BAD_MAGIC, f"file identifier 0x{magic:08X}, expected 0x{OTA_MAGIC:08X}", offset=0)
        try:
            header = parse_header(data, honour_length=False)
        except ImageFormatError as err:
            self.add(FindingCode.FILE_SHORTER_THAN_HEADER, str(err), offset=len(data))
            return None
        known = header.known_length
        if known <= header.header_length <= len(data):
            header = parse_header(data)  # now with the extension octets
        self.report.header = header
        self._header_values(header)
        return self._header_lengths(header, known)

    def _header_values(self, header: OtaHeader) -> None:
        if header.header_version != OTA_HEADER_VERSION:
            self.add(
                FindingCode.UNSUPPORTED_HEADER_VERSION,
                f"header version 0x{header.header_version:04X}, only 0x{OTA_HEADER_VERSION:04X} is defined",
                offset=FIELD_OFFSETS["header_version"],
            )
        reserved = header.field_control & ~FC_KNOWN_BITS
        if reserved:
            self.add(
                FindingCode.RESERVED_FIELD_CONTROL_BITS,
                f"reserved field control bits 0x{reserved:04X} set (their fields, if any, are unknown)",
                severity=Severity.WARNING,
                offset=FIELD_OFFSETS["field_control"],
            )
        if self.gb and header.field_control != GB_FIELD_CONTROL:
            self.add(
                FindingCode.GB_FIELD_CONTROL,
                f"GB profile: field control 0x{header.field_control:04X}, GB images use"
                f" 0x{GB_FIELD_CONTROL:04X} (hardware versions only, {GB_HEADER_LENGTH}-octet header)",
                offset=FIELD_OFFSETS["field_control"],
            )
        if self.gb and header.stack_version != ZIGBEE_STACK_PRO:
            self.add(
                FindingCode.GB_STACK_VERSION,
                f"GB profile: Zigbee stack version 0x{header.stack_version:04X}, GB images use"
                f" 0x{ZIGBEE_STACK_PRO:04X} (ZigBee PRO)",
                offset=FIELD_OFFSETS["stack_version"],
            )
        lo, hi = header.min_hw_version, header.max_hw_version
        if lo is not None and hi is not None and lo > hi:
            self.add(
                FindingCode.HARDWARE_RANGE_INVERTED,
                f"minimum hardware version 0x{lo:04X} is above the maximum 0x{hi:04X}: no device matches",
            )

    def _header_lengths(self, header: OtaHeader, known: int) -> tuple[int, int] | None:
        data, length = self.data, header.header_length
        if length < known:
            self.add(
                FindingCode.HEADER_LENGTH_SHORT,
                f"Header Length {length} is shorter than the {known} octets of fields the field control"
                f" 0x{header.field_control:04X} announces",
                offset=FIELD_OFFSETS["header_length"],
            )
            return None
        if length > known:
            self.add(
                FindingCode.UNKNOWN_HEADER_EXTENSION,
                f"Header Length {length} exceeds the {known} octets of known fields: {length - known}-octet"
                " unknown header extension" + (" (the GB profile fixes the header)" if self.gb else ""),
                severity=Severity.DEFECT if self.gb else Severity.WARNING,
                offset=known,
            )
        if length > len(data):
            self.add(
                FindingCode.FILE_SHORTER_THAN_HEADER,
                f"file of {len(data)} octets is shorter than its Header Length {length}",
                offset=len(data),
            )
            return None
        total = header.total_image_size
        if total < length:
            self.add(
                FindingCode.TOTAL_SIZE_SMALLER_THAN_HEADER,
                f"Total Image Size {total} is smaller than the Header Length {length}",
                offset=FIELD_OFFSETS["total_image_size"],
            )
            return None
        if total > len(data):
            self.add(
                FindingCode.FILE_TRUNCATED,
                f"file of {len(data)} octets is {total - len(data)} octets shorter than its Total Image Size"
                f" {total} (truncated, or the size field lies)",
                offset=len(data),
            )
        elif total < len(data):
            self.add(
                FindingCode.TRAILING_BYTES,
                f"{len(data) - total} octets follow the end declared by the Total Image Size {total}",
                offset=total,
            )
        return length, min(total, len(data))

    def size_limit(self, max_image_size: int | None) -> None:
        header = self.report.header
        if max_image_size is not None and header is not None and header.total_image_size > max_image_size:
            self.add(
                FindingCode.IMAGE_TOO_LARGE,
                f"Total Image Size {header.total_image_size} exceeds the device's {max_image_size} octets",
                offset=FIELD_OFFSETS["total_image_size"],
            )

    def layout(self, body: bytes) -> Layout:
        report = self.report
        detected = report.detected_layout = detect_layout(body)
        expected = report.expected_layout
        if expected is None:
            self.add(
                FindingCode.LAYOUT_DETECTED,
                f"no layout given; the body reads as {detected} (see docs/ota-images.md for the heuristic)",
                severity=Severity.INFO,
            )
        elif detected is not expected:
            # Tiling sub-elements are strong evidence; gb-signed vs gb-unsigned rests on two octets, and
            # an expected gb-signed body without a good trailer gets its own signature finding anyway.
            strong = Layout.ZIGBEE in (detected, expected)
            self.add(
                FindingCode.LAYOUT_MISMATCH,
                f"expected layout {expected}, the body reads as {detected}",
                severity=Severity.DEFECT if strong else Severity.WARNING,
            )
        used = report.layout
        assert used is not None
        if used not in PROFILE_LAYOUTS[report.profile]:
            allowed = ", ".join(sorted(PROFILE_LAYOUTS[report.profile]))
            self.add(
                FindingCode.LAYOUT_NOT_IN_PROFILE,
                f"layout {used} is not used by the {report.profile} profile ({allowed})"
                + (": GB images carry no Zigbee sub-elements" if self.gb else ""),
            )
        return used

    def zigbee_body(self, body: bytes, start: int) -> None:
        """Walk the sub-elements once, keeping the first SUBELEMENTS_KEPT and counting every tag: a body of
        millions of empty sub-elements costs a scan, not millions of objects."""
        report = self.report
        kept: list[SubElement] = []
        tags: dict[int, tuple[int, int]] = {}
        upgrade_images = 0
        try:
            for tag, first, end in subelement_spans(body):
                if len(kept) < SUBELEMENTS_KEPT:
                    kept.append(SubElement(tag, body[first:end]))
                count, octets = tags.get(tag, (0, 0))
                tags[tag] = (count + 1, octets + end - first)
                if tag == TAG_UPGRADE_IMAGE:
                    upgrade_images += 1
                    if report.manufacturer_image is None:
                        report.manufacturer_image = body[first:end]
        except ImageFormatError as err:
            report.manufacturer_image = None
            self.add(FindingCode.SUBELEMENTS_DO_NOT_TILE, str(err), offset=start)
            return
        report.subelements = tuple(kept)
        report.subelement_count = sum(count for count, _ in tags.values())
        report.subelement_tags = tags
        if upgrade_images != 1:
            self.add(
                FindingCode.UPGRADE_IMAGE_ELEMENT_COUNT,
                f"{upgrade_images} Upgrade Image sub-elements (tag 0x0000), exactly one expected",
                offset=start,
            )

    def gb_signed_body(self, body: bytes, start: int, key: ec.EllipticCurvePublicKey | None) -> None:
        report = self.report
        if key is not None:
            report.signature_valid = False
        sl_index = len(body) - SUPPLIER_SIGNATURE_LENGTH - 1
        well_formed = len(body) >= GB_TRAILER_LENGTH and body[sl_index] == SUPPLIER_SIGNATURE_LENGTH
        if well_formed and not has_trailer(body):
            parsed = parse_body(body, Layout.GB_SIGNED)
            assert isinstance(parsed, GbSignedBody)
            report.manufacturer_image = parsed.manufacturer_image
            report.force_replace = parsed.force_replace
            report.signature_length_octet = parsed.signature_length
            report.signature = parsed.signature
            if parsed.force_replace not in (0, 1):
                self.add(
                    FindingCode.FORCE_REPLACE_VALUE,
                    f"ForceReplace octet 0x{parsed.force_replace:02X} (samples use 0x00)",
                    severity=Severity.WARNING,
                    offset=start + sl_index - 1,
                )
            if key is not None:
                report.signature_valid = verify_raw(key, parsed.manufacturer_image, parsed.signature)
                if not report.signature_valid:
                    self.add(
                        FindingCode.SIGNATURE_INVALID,
                        "the supplier signature does not verify over the Manufacturer Image with this key",
                        offset=start + sl_index + 1,
                    )
            return
        self._damaged_trailer(body, start)

    def _damaged_trailer(self, body: bytes, start: int) -> None:
        """Name what is wrong with a gb-signed trailer that is not ForceReplace ‖ 0x40 ‖ 64 octets.

        Heuristic, in order: the body ends with the suite's GBMS manufacturer trailer → no supplier
        signature; a ForceReplace-like octet (0 or 1) in place → wrong length octet; a 0x40 after a
        ForceReplace-like octet nearer the end → truncated signature; otherwise → no signature at all.
        """
        report = self.report
        sl_index = len(body) - SUPPLIER_SIGNATURE_LENGTH - 1
        if has_trailer(body):
            self._missing(body, start, "the body ends with a GBMS manufacturer trailer, not a supplier signature")
            return
        if len(body) >= GB_TRAILER_LENGTH and body[sl_index - 1] in (0, 1):
            report.manufacturer_image = body[: sl_index - 1]
            report.force_replace = body[sl_index - 1]
            report.signature_length_octet = body[sl_index]
            report.signature = body[sl_index + 1 :]
            self.add(
                FindingCode.SIGNATURE_LENGTH_OCTET,
                f"signature length octet 0x{body[sl_index]:02X}, GB requires 0x{SUPPLIER_SIGNATURE_LENGTH:02X}",
                offset=start + sl_index,
            )
            return
        for present in range(SUPPLIER_SIGNATURE_LENGTH - 1, -1, -1):
            index = len(body) - present - 1
            if index >= 1 and body[index] == SUPPLIER_SIGNATURE_LENGTH and body[index - 1] in (0, 1):
                report.manufacturer_image = body[: index - 1]
                report.force_replace = body[index - 1]
                report.signature_length_octet = body[index]
                report.signature = body[index + 1 :]
                self.add(
                    FindingCode.SIGNATURE_TRUNCATED,
                    f"the signature has {present} of its {SUPPLIER_SIGNATURE_LENGTH} octets",
                    offset=start + index,
                )
                return
        self._missing(body, start, "the body does not end with a ForceReplace/0x40/signature trailer")

    def _missing(self, body: bytes, start: int, why: str) -> None:
        self.report.manufacturer_image = body
        self.add(FindingCode.SIGNATURE_MISSING, f"layout gb-signed, but {why}", offset=start + len(body))

    def hashes(self, expected_hash: bytes | None, manufacturer_public_key: ec.EllipticCurvePublicKey | None) -> None:
        report = self.report
        digest = report.manufacturer_image_sha256
        if expected_hash is not None and digest != expected_hash:
            self.add(
                FindingCode.HASH_MISMATCH,
                "no Manufacturer Image to hash"
                if digest is None
                else f"Manufacturer Image SHA-256 {digest.hex()} differs from the expected {expected_hash.hex()}",
            )
        header, image = report.header, report.manufacturer_image
        if manufacturer_public_key is None or header is None:
            return
        verdict = verify_manufacturer_image(
            image or b"",
            header.manufacturer_code,
            header.image_type,
            header.file_version,
            manufacturer_public_key,
        )
        report.manufacturer_signature = verdict
        if not verdict.ok:
            self.add(FindingCode.MANUFACTURER_SIGNATURE, verdict.reason)


def validate_image(
    data: bytes,
    *,
    layout: Layout | str | None = None,
    profile: Profile | str = Profile.GB,
    supplier_public_key: ec.EllipticCurvePublicKey | None = None,
    expected_hash: bytes | None = None,
    manufacturer_public_key: ec.EllipticCurvePublicKey | None = None,
    max_image_size: int | None = None,
) -> ValidationReport:
    """Judge `data` as an OTA file. Never raises for any `data`; bad arguments (an unknown layout or
    profile name) are programming errors and raise ValueError.

    `layout=None` detects the layout (`harness.ota.format.detect_layout`) and reports it as an INFO
    finding. `supplier_public_key` checks the gb-signed supplier signature, `expected_hash` the
    Manufacturer Image SHA-256, `manufacturer_public_key` the suite's GBMS manufacturer-signature
    convention (`harness.ota.manufacturer`, an assumption), `max_image_size` the device's storage.
    """
    data = bytes(data)
    report = ValidationReport(
        size=len(data), profile=Profile(profile), expected_layout=None if layout is None else Layout(layout)
    )
    check = _Check(data, report)
    region = check.header()
    check.size_limit(max_image_size)
    if region is not None:
        start, end = region
        body = data[start:end]
        used = check.layout(body)
        if used is Layout.ZIGBEE:
            check.zigbee_body(body, start)
        elif used is Layout.GB_SIGNED:
            check.gb_signed_body(body, start, supplier_public_key)
        else:
            report.manufacturer_image = body
    check.hashes(expected_hash, manufacturer_public_key)
    return report


__all__ = [
    "GB_HEADER_LENGTH",
    "PROFILE_LAYOUTS",
    "SUBELEMENTS_KEPT",
    "Finding",
    "FindingCode",
    "Profile",
    "Severity",
    "ValidationReport",
    "header_to_dict",
    "validate_image",
]
