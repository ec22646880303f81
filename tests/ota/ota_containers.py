"""Synthetic vendor containers around a Zigbee OTA file, built the way zigpy 2.4 reads them (``parse_ota_image``
in ``zigpy/ota/image.py``; ``SignedIkeaRemoteOtaImageMetadata._validate`` for the IKEA container's block hashes).

No vendor firmware: the OTA file inside is serialised with zigpy's own types from chosen fields and a
deterministic payload. ``python tests/ota/ota_containers.py`` rewrites the fixtures in ``fixtures/containers/``;
a test checks the committed files equal what this module builds. (A uniquely named module: tests import it.)
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import zigpy.types as t
from zigpy.ota.image import ElementTagId, FieldControl, HeaderString, OTAImage, OTAImageHeader, SubElement

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "containers"
MAGIC = (0x0BEEF11E).to_bytes(4, "little")
HUE_MANUFACTURER = 0x100B


def ota_file(
    *,
    manufacturer_id: int = 0x1234,
    image_type: int = 0x0084,
    file_version: int = 0x01020301,
    stack_version: int = 2,
    header_string: bytes = b"synthetic test image".ljust(32, b"\0"),
    field_control: int = FieldControl.HARDWARE_VERSIONS_PRESENT,
    security_credential_version: int = 0,
    upgrade_file_destination: bytes = bytes(range(8)),
    hw_versions: tuple[int, int] = (0x0001, 0x00FF),
    elements: list[tuple[int, bytes]] | None = None,
    raw_body: bytes | None = None,
) -> bytes:
    """A Zigbee OTA file serialised by zigpy: the header fields given, then sub-elements (or ``raw_body``)."""
    fc = FieldControl(field_control)
    header = OTAImageHeader(
        upgrade_file_id=OTAImageHeader.MAGIC_VALUE,
        header_version=0x0100,
        header_length=0,
        field_control=fc,
        manufacturer_id=manufacturer_id,
        image_type=image_type,
        file_version=file_version,
        stack_version=stack_version,
        header_string=HeaderString(header_string),
        image_size=0,
        security_credential_version=(
            security_credential_version if FieldControl.SECURITY_CREDENTIAL_VERSION_PRESENT in fc else None
        ),
        upgrade_file_destination=(
            t.EUI64(upgrade_file_destination) if FieldControl.DEVICE_SPECIFIC_FILE_PRESENT in fc else None
        ),
        minimum_hardware_version=hw_versions[0] if FieldControl.HARDWARE_VERSIONS_PRESENT in fc else None,
        maximum_hardware_version=hw_versions[1] if FieldControl.HARDWARE_VERSIONS_PRESENT in fc else None,
    )
    header.header_length = len(header.serialize())
    if raw_body is None:
        items = elements if elements is not None else [(ElementTagId.UPGRADE_IMAGE, payload(200))]
        raw_body = b"".join(SubElement(tag_id=ElementTagId(tag), data=data).serialize() for tag, data in items)
    header.image_size = header.header_length + len(raw_body)
    image = header.serialize() + raw_body
    if raw_body and elements is not None:
        assert OTAImage.deserialize(image)[0].serialize() == image  # zigpy reads back what it wrote
    return image


def payload(size: int, seed: int = 7) -> bytes:
    """Deterministic octets standing for firmware."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return out[:size]


# -- the containers --------------------------------------------------------------------------------------
def legrand(inner: bytes, suffix: bytes = b"\x01" + bytes(16)) -> bytes:
    """Legrand: the OTA file's length (u32 LE), the file, a 1 + 16 octet suffix."""
    assert len(suffix) == 17
    return len(inner).to_bytes(4, "little") + inner + suffix


def third_reality(inner: bytes, filler: bytes = b"\x5a" * 16) -> bytes:
    """Third Reality: 152 octets of header, SHA-512 of everything after the first 64 at the start, the size of
    what follows those 64 octets at 68..71."""
    middle = bytearray(152 - 64)
    middle[0:4] = b"3RIO"
    middle[68 - 64 : 72 - 64] = (len(inner) + 152 - 64).to_bytes(4, "little")
    middle[72 - 64 : 72 - 64 + len(filler)] = filler
    rest = bytes(middle) + inner
    return hashlib.sha512(rest).digest() + rest


def ikea_ngis(inner: bytes, block_size: int = 256, signature: bytes = bytes(64)) -> bytes:
    """IKEA's signed container: NGIS, the OTA file's offset and size, block size and count, one SHA-256 per
    block of the OTA file, the file, then the container's signature (zero octets here: a test container)."""
    blocks = [inner[i : i + block_size] for i in range(0, len(inner), block_size)]
    offset = 40 + 32 * len(blocks)
    head = bytearray(40)
    head[0:4] = b"NGIS"
    head[16:20] = offset.to_bytes(4, "little")
    head[20:24] = len(inner).to_bytes(4, "little")
    head[32:36] = block_size.to_bytes(4, "little")
    head[36:40] = len(blocks).to_bytes(4, "little")
    return bytes(head) + b"".join(hashlib.sha256(b).digest() for b in blocks) + inner + signature


def vendor_prefix(inner: bytes, prefix: bytes = b"VENDOR-FW-PKG v2\0" + bytes(15)) -> bytes:
    """A vendor's own prefix before the OTA file identifier (zigpy does not unwrap this one)."""
    assert MAGIC not in prefix
    return prefix + inner


def hue_sbl(firmware: bytes | None = None) -> bytes:
    """A Hue SBL image: a Zigbee OTA header (manufacturer 0x100B), then firmware starting 2A 00 01."""
    body = b"\x2a\x00\x01" + (firmware if firmware is not None else payload(120, seed=9))
    return ota_file(manufacturer_id=HUE_MANUFACTURER, image_type=0x0115, raw_body=body)


def plain_zigbee() -> bytes:
    return ota_file(elements=[(ElementTagId.UPGRADE_IMAGE, payload(200))])


#: name -> (builder, expected container kind, expected offset of the OTA header)
FIXTURE_BUILDERS: dict[str, tuple[Callable[[], bytes], str, int]] = {
    "plain.ota": (plain_zigbee, "none", 0),
    "legrand.ota": (lambda: legrand(plain_zigbee()), "legrand", 4),
    "third-reality.ota": (lambda: third_reality(plain_zigbee()), "third-reality", 152),
    "ikea-ngis.ota": (lambda: ikea_ngis(plain_zigbee()), "ikea-ngis", 40 + 2 * 32),  # 266 octets: 2 blocks
    "hue-sbl.ota": (hue_sbl, "hue-sbl", 0),
    "vendor-prefix.ota": (lambda: vendor_prefix(plain_zigbee()), "vendor-prefix", 32),
}
NOT_OTA = "not-ota.txt"


def build_fixtures(directory: Path = FIXTURES) -> dict[str, bytes]:
    files = {name: builder() for name, (builder, _, _) in FIXTURE_BUILDERS.items()}
    files[NOT_OTA] = b"root:x:0:0:root:/root:/bin/bash\nnot an OTA file, no identifier anywhere\n"
    return files


if __name__ == "__main__":
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, data in build_fixtures().items():
        (FIXTURES / name).write_bytes(data)
        print(f"wrote {FIXTURES / name} ({len(data)} octets)", file=sys.stderr)
