"""A vendor-style manufacturer signature the suite cannot make: the reference emulators' second verifier.

Why: a real device checks its manufacturer's signature in the manufacturer's own format, with a key the suite
never holds, so against a real device the suite must serve the vendor's files (PIXIT ``images.*``,
``images.source: vendor``). To prove that path, and that no scenario secretly needs the suite's own convention
(``harness.ota.manufacturer``), the reference emulators can be told to check this format instead (PIXIT
``emulator.vendor_public_key``); ``build_vendor_image`` plays the vendor's signing tool. The suite's own code
(``harness/dut``, ``steps``) never imports this module: it only reads the files the tool wrote.

The format is deliberately unlike the suite's: another trailer, another algorithm (Ed25519, which the suite's
crypto has no signer for), and the signature over a digest of the payload::

    Manufacturer Image = firmware payload ‖ trailer
    trailer            = b"VSIG" ‖ format u8 (1) ‖ Ed25519 signature (64 octets)
    signature          = Ed25519 over b"vendor-ota/1" ‖ manufacturer code u16 LE ‖ image type u16 LE
                                      ‖ file version u32 LE ‖ SHA-256(payload)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from construct import Bytes, Const, ConstructError, Int8ul, Struct
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness.errors import ConfigurationError
from harness.files import KEY_LIMIT, FileRefused, read_regular_text
from harness.ota.factory import ImageSpec, build_image, deterministic_payload
from harness.ota.format import Layout
from harness.ota.manufacturer import (
    ACTIVATION_FAILURE_MARKER,
    SIGNED_IDENTITY,
    ManufacturerStatus,
    ManufacturerVerdict,
)
from harness.profile import Profile

VENDOR_MAGIC = b"VSIG"
VENDOR_FORMAT = 1
DOMAIN = b"vendor-ota/1"
SIGNATURE_LENGTH = 64

VENDOR_TRAILER = Struct("magic" / Const(VENDOR_MAGIC), "format" / Int8ul, "signature" / Bytes(SIGNATURE_LENGTH))
TRAILER_LENGTH = VENDOR_TRAILER.sizeof()


def _message(payload: bytes, manufacturer_code: int, image_type: int, file_version: int) -> bytes:
    identity = SIGNED_IDENTITY.build(
        {"manufacturer_code": manufacturer_code, "image_type": image_type, "file_version": file_version}
    )
    return DOMAIN + identity + hashlib.sha256(payload).digest()


def vendor_manufacturer_image(
    payload: bytes, manufacturer_code: int, image_type: int, file_version: int, key: Ed25519PrivateKey
) -> bytes:
    """Payload ‖ VSIG trailer signed by ``key`` for exactly this identity and version."""
    signature = key.sign(_message(payload, manufacturer_code, image_type, file_version))
    return payload + VENDOR_TRAILER.build({"format": VENDOR_FORMAT, "signature": signature})


@dataclass(frozen=True)
class VendorSignatureCheck:
    """The emulators' check of the vendor format (``GbImageVerifier.manufacturer_check`` and the HCALCS's):
    same verdicts as the suite's convention, so the fault knobs (accept a tampered or unsigned image) apply."""

    public_key_pem: str
    _key: Ed25519PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            key = serialization.load_pem_public_key(self.public_key_pem.encode())
        except ValueError as err:
            raise ConfigurationError(f"emulator.vendor_public_key: not a PEM public key ({err})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigurationError("emulator.vendor_public_key: not an Ed25519 public key (the vendor format's)")
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_file(cls, path: Path | str) -> VendorSignatureCheck:
        try:
            return cls(read_regular_text(path, "public key", KEY_LIMIT, encoding="ascii"))
        except FileRefused as err:
            raise ConfigurationError(f"emulator.vendor_public_key {path}: {err.reason}") from None

    def __call__(
        self, manufacturer_image: bytes, manufacturer_code: int, image_type: int, file_version: int
    ) -> ManufacturerVerdict:
        """The vendor signature's verdict for this identity; never raises on malformed input."""
        if len(manufacturer_image) < TRAILER_LENGTH or not manufacturer_image[-TRAILER_LENGTH:].startswith(
            VENDOR_MAGIC
        ):
            return ManufacturerVerdict(
                ManufacturerStatus.MISSING_TRAILER,
                f"the Manufacturer Image does not end with a {TRAILER_LENGTH}-octet vendor signature trailer",
            )
        try:
            trailer = VENDOR_TRAILER.parse(manufacturer_image[-TRAILER_LENGTH:])
        except ConstructError as err:  # pragma: no cover - the magic was checked above
            return ManufacturerVerdict(ManufacturerStatus.MISSING_TRAILER, str(err))
        if trailer.format != VENDOR_FORMAT:
            return ManufacturerVerdict(
                ManufacturerStatus.UNSUPPORTED_VERSION, f"vendor signature format {trailer.format}, not {VENDOR_FORMAT}"
            )
        payload = manufacturer_image[:-TRAILER_LENGTH]
        try:
            self._key.verify(trailer.signature, _message(payload, manufacturer_code, image_type, file_version))
        except (InvalidSignature, ConstructError):
            return ManufacturerVerdict(
                ManufacturerStatus.WRONG_SIGNATURE,
                "the vendor signature does not verify for manufacturer code"
                f" 0x{manufacturer_code:04X}, image type 0x{image_type:04X}, file version 0x{file_version:08X}",
            )
        return ManufacturerVerdict(ManufacturerStatus.OK, "vendor signature verifies")


def vendor_public_key_pem(profile: Profile) -> str | None:
    """The PEM text of PIXIT ``emulator.vendor_public_key`` (kept in the emulator's configuration, so a power
    cycle's restore checks the same format), or None: the suite's convention."""
    path = profile.pixit_value("emulator.vendor_public_key")
    return None if path is None else VendorSignatureCheck.from_file(path).public_key_pem


# -- the vendor's signing tool (tests, the variation self-check, a simulated bench) --------------------------
def new_vendor_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def build_vendor_image(
    key: Ed25519PrivateKey,
    *,
    manufacturer_code: int,
    image_type: int,
    file_version: int,
    payload: bytes | None = None,
    payload_size: int = 4096,
    seed: int = 0,
    layout: Layout = Layout.GB_UNSIGNED,
    supplier_key: object | None = None,
    header_string: str = "Vendor firmware",
    hardware_range: tuple[int, int] = (0x0000, 0xFFFF),
) -> bytes:
    """An OTA file as the vendor's tool makes it: GB header (for the hardware versions ``hardware_range``),
    Manufacturer Image in the vendor format (a gb-signed file also carries the supplier's signature over it:
    ``supplier_key``, a P-256 private key)."""
    payload = deterministic_payload(payload_size, seed) if payload is None else payload
    image = vendor_manufacturer_image(payload, manufacturer_code, image_type, file_version, key)
    spec = ImageSpec(
        manufacturer_code=manufacturer_code,
        image_type=image_type,
        file_version=file_version,
        payload=image,
        seed=seed,
        layout=layout,
        header_string=header_string,
        min_hw_version=hardware_range[0],
        max_hw_version=hardware_range[1],
    )
    return build_image(spec, supplier_key=supplier_key, manufacturer_key=None)  # type: ignore[arg-type]


#: The images a vendor gives a profile (PIXIT item -> file name), as ``write_vendor_images`` makes them.
VENDOR_IMAGE_FILES = {
    "images.newer": "newer.ota",
    "images.second_newer": "second-newer.ota",
    "images.older": "older.ota",
    "images.running": "running.ota",
    "images.failing_activation": "failing-activation.ota",
}


def write_vendor_images(
    directory: Path,
    key: Ed25519PrivateKey,
    *,
    manufacturer_code: int,
    image_type: int,
    running_version: int,
    layout: Layout = Layout.GB_UNSIGNED,
    supplier_key: object | None = None,
    hardware_range: tuple[int, int] = (0x0000, 0xFFFF),
) -> dict[str, Path]:
    """Every image a vendor-image profile can name, for a device running ``running_version``, plus the public
    key (``emulator.vendor_public_key``): PIXIT item -> file. The two newer images share the next version and
    differ in payload; there is no older image when the running version is 0."""
    directory.mkdir(parents=True, exist_ok=True)
    identity = {
        "manufacturer_code": manufacturer_code,
        "image_type": image_type,
        "layout": layout,
        "hardware_range": hardware_range,
    }
    plans: dict[str, dict[str, object]] = {
        "images.newer": {"file_version": running_version + 1, "seed": 1},
        "images.second_newer": {"file_version": running_version + 1, "seed": 2},
        "images.running": {"file_version": running_version, "seed": 3},
        "images.failing_activation": {
            "file_version": running_version + 1,
            "payload": ACTIVATION_FAILURE_MARKER + deterministic_payload(4096, 4),
        },
    }
    if running_version > 0:
        plans["images.older"] = {"file_version": running_version - 1, "seed": 5}
    written: dict[str, Path] = {}
    for item, plan in plans.items():
        path = directory / VENDOR_IMAGE_FILES[item]
        path.write_bytes(build_vendor_image(key, supplier_key=supplier_key, **identity, **plan))  # type: ignore[arg-type]
        written[item] = path
    public = directory / "vendor-public.pem"
    public.write_text(public_key_pem(key), encoding="ascii")
    written["emulator.vendor_public_key"] = public
    return written


def write_vendor_bench(
    directory: Path,
    base_profile: Path,
    *,
    leave_out: tuple[str, ...] = (),
    seed: str = "vendor-bench",
    vendor_key: Ed25519PrivateKey | None = None,
    hardware_range: tuple[int, int] = (0x0000, 0xFFFF),
) -> Path:
    """A profile that runs the reference emulator of ``base_profile`` on the vendor-image path, as a vendor
    would write it, in ``directory``: vendor-format images (``write_vendor_images``) named by ``images.*``
    (except the items in ``leave_out``), ``images.source: vendor``, ``emulator.vendor_public_key``, PICS
    ``GB.MFR_SIGNATURE.EMULATOR_CONVENTION: false``, and a test PKI written to ``directory/keys`` and named by
    ``keys.store`` (the device's own keys, as provisioned; an HCALCS's images are gb-signed by its supplier, so
    the device and the suite trust the same supplier). ``vendor_key`` signs the images (default: a new key);
    ``hardware_range`` goes in their headers. Returns the profile's path. The paths it writes are absolute (a
    profile resolves relative paths from its own folder: a relative ``directory`` would count twice)."""
    import dataclasses

    import yaml

    from harness.crypto.eui64 import Eui64
    from harness.crypto.pki import DEFAULT_PARTIES, TestPki

    directory = directory.resolve()
    data = yaml.safe_load(base_profile.read_text(encoding="utf-8"))
    pixit, dut = data["pixit"], data["pixit"]["dut"]
    role = data["device"]["role"]
    eui = Eui64.parse(str(dut["eui64"]))
    parties = tuple(dataclasses.replace(p, eui=eui) if p.name == role else p for p in DEFAULT_PARTIES)
    pki = TestPki.generate(parties, seed=seed)  # the device's and the supplier's keys, as a vendor provisions them
    pki.write(directory / "keys")
    pixit["keys"]["store"] = str(directory / "keys")
    layout, supplier = Layout.GB_UNSIGNED, None
    if role == "hcalcs":
        layout, supplier = Layout.GB_SIGNED, pki.keystore().private_key(pki.party("supplier").eui, "ds")
    written = write_vendor_images(
        directory,
        vendor_key or new_vendor_key(),
        manufacturer_code=int(str(dut["manufacturer_code"]), 0),
        image_type=int(str(dut["image_type"]), 0),
        running_version=int(str(dut["current_file_version"]), 0),
        layout=layout,
        supplier_key=supplier,
        hardware_range=hardware_range,
    )
    for item, path in written.items():
        group, name = item.split(".")
        pixit[group][name] = None if item in leave_out else str(path)
    data["pics"]["GB.MFR_SIGNATURE.EMULATOR_CONVENTION"] = False
    pixit["images"]["source"] = "vendor"
    pixit["adapter"]["state_dir"] = str(directory / "state")
    data["device"]["description"] = f"{data['device']['description']} on the vendor-image path"
    profile = directory / f"vendor-{role}.yaml"
    profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return profile
