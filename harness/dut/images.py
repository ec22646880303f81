"""The images a scenario serves: built by the suite for the emulator, taken from the vendor on hardware.

On the loopback radio the suite builds every image itself with the image factory, signed under the
emulator's manufacturer-signature convention with the run's test PKI (``docs/ota-images.md``). On
hardware the images come from the profile (``images.newer``, optionally ``images.older`` and the vendor's
test signing key ``images.vendor_signing_key``); variants that need no key are derived from the vendor's
image, and a scenario needing something the profile does not give is NOT_APPLICABLE with the reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ch.ota_server import Activation, HeldImage
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.errors import HarnessError
from harness.ota.errors import VariantNotApplicable
from harness.ota.factory import ImageSpec, build_image, deterministic_payload
from harness.ota.format import Layout, parse_header, parse_image
from harness.ota.manufacturer import ACTIVATION_FAILURE_MARKER
from harness.ota.variants import VariantContext, derive_variant, get_variant
from harness.profile import Profile
from harness.verdicts import LabError, NotApplicable

#: Payload size of the images the suite builds for the emulator: large enough for every offset the
#: features name (up to 480), small enough that a scenario costs milliseconds.
EMULATOR_PAYLOAD_SIZE = 2048

#: Requirements on the OTA header (magic and version, Header Length, Total Image Size).
HEADER_REQUIREMENTS = frozenset({"CS-03", "CS-04", "CS-05"})


@dataclass(frozen=True)
class ScenarioImage:
    """An OTA file for a scenario and the identity the Communications Hub advertises for it."""

    data: bytes
    manufacturer_code: int
    image_type: int
    file_version: int
    description: str
    header_defect: bool = False
    """The image is wrong in its OTA header: a device can reject it as soon as the header has arrived."""

    def held(self, activation: Activation = Activation.NOW) -> HeldImage:
        return HeldImage(
            data=self.data,
            manufacturer_code=self.manufacturer_code,
            image_type=self.image_type,
            file_version=self.file_version,
            activation=activation,
        )

    @property
    def manufacturer_image_hash(self) -> bytes:
        """SHA-256 of the Manufacturer Image (CS-01), what CS06 names; of the whole file when it does not
        parse (a deliberately broken variant)."""
        try:
            image = parse_image(self.data).manufacturer_image
        except HarnessError:
            image = None
        return hashlib.sha256(self.data if image is None else image).digest()

    def __repr__(self) -> str:
        return f"<ScenarioImage {self.description} v{self.file_version:#010x} {len(self.data)} octets>"


class ScenarioImages:
    """Makes the images the features ask for, the same way for every scenario of a run."""

    def __init__(self, profile: Profile, test_pki: TestPki, keystore: KeyStore) -> None:
        self.profile = profile
        self._pki = test_pki
        self._keystore = keystore
        self.running_version = int(profile.pixit_value("dut.current_file_version"))
        self.layout = Layout.GB_SIGNED if profile.role == "hcalcs" else Layout.GB_UNSIGNED

    def __repr__(self) -> str:
        return f"<ScenarioImages {'vendor' if self.profile.on_hardware else 'suite-built'}>"

    # -- keys -----------------------------------------------------------------------------------------
    def _manufacturer_key(self) -> ec.EllipticCurvePrivateKey | None:
        if self.profile.on_hardware:
            path = self.profile.pixit_value("images.vendor_signing_key")
            return _load_private_key(Path(path)) if path else None
        return self._pki_key("manufacturer")

    def _pki_key(self, party: str) -> ec.EllipticCurvePrivateKey:
        key = self._keystore.private_key(self._pki.party(party).eui, "ds")
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def _other_key(self) -> ec.EllipticCurvePrivateKey:
        # A key nobody trusts: signed by it, an image must be rejected.
        return ec.generate_private_key(ec.SECP256R1())

    # -- images ---------------------------------------------------------------------------------------
    def _build(
        self,
        file_version: int,
        description: str,
        *,
        manufacturer_signed: bool = True,
        seed: int | None = None,
        payload_prefix: bytes = b"",
    ) -> ScenarioImage:
        seed = file_version if seed is None else seed
        spec = ImageSpec(
            manufacturer_code=int(self.profile.pixit_value("dut.manufacturer_code")),
            image_type=int(self.profile.pixit_value("dut.image_type")),
            file_version=file_version,
            payload=payload_prefix + deterministic_payload(EMULATOR_PAYLOAD_SIZE - len(payload_prefix), seed),
            seed=seed,
            layout=self.layout,
            header_string=f"GB OTA conformance {self.profile.role}",
        )
        supplier = self._pki_key("supplier") if self.layout is Layout.GB_SIGNED else None
        manufacturer = self._manufacturer_key() if manufacturer_signed else None
        data = build_image(spec, supplier_key=supplier, manufacturer_key=manufacturer)
        return ScenarioImage(data, spec.manufacturer_code, spec.image_type, file_version, description)

    def _vendor(self, item: str, description: str) -> ScenarioImage:
        path = self.profile.pixit_value(item)
        if not path:
            raise NotApplicable(f"the profile gives no pixit.{item} ({description})")
        try:
            data = Path(path).read_bytes()
            header = parse_header(data)
        except (OSError, HarnessError) as err:
            raise LabError(f"pixit.{item} {path} cannot be used as an OTA image: {err}") from None
        return ScenarioImage(data, header.manufacturer_code, header.image_type, header.file_version, description)

    def newer(self) -> ScenarioImage:
        """A valid image of the next firmware version."""
        if self.profile.on_hardware:
            return self._vendor("images.newer", "the vendor's newer signed image")
        return self._build(self.running_version + 1, "valid next version")

    def another_newer(self) -> ScenarioImage:
        """A second valid image of the next version whose Manufacturer Image differs from ``newer()``'s
        (HG-20: a later distribution replaces the held image)."""
        if self.profile.on_hardware:
            raise NotApplicable(
                "a second, different signed image of the next version cannot be derived from the vendor's image"
            )
        return self._build(self.running_version + 1, "another valid next version", seed=~self.running_version)

    def failing_activation(self) -> ScenarioImage:
        """A valid image of the next version that the device cannot activate (HG-10, PZ-23): the emulators'
        marker (docs/ota-images.md §3.1), or the vendor's PIXIT ``images.failing_activation``."""
        if self.profile.on_hardware:
            return self._vendor("images.failing_activation", "the vendor's image whose activation fails")
        return self._build(
            self.running_version + 1,
            "valid next version that cannot be activated",
            payload_prefix=ACTIVATION_FAILURE_MARKER,
        )

    def older(self) -> ScenarioImage:
        """A valid image of a lower firmware version (properly signed: only the version is wrong)."""
        if self.profile.on_hardware:
            return self._vendor("images.older", "the vendor's older signed image")
        return self._build(self.running_version - 1, "valid lower version")

    def same(self) -> ScenarioImage:
        """A valid image of the version the device already runs."""
        if self.profile.on_hardware:
            raise NotApplicable("an image of the running version needs the vendor's signing key; not derived")
        return self._build(self.running_version, "valid running version")

    def unsigned(self) -> ScenarioImage:
        """The next version with no manufacturer signature at all (the suite's convention: no trailer)."""
        if self.profile.on_hardware:
            raise NotApplicable("an unsigned image in the vendor's format cannot be derived from a signed one")
        return self._build(self.running_version + 1, "no manufacturer signature", manufacturer_signed=False)

    def variant(self, name: str) -> ScenarioImage:
        """The named invalid variant of the next-version image (harness.ota.variants)."""
        base = self.newer()
        context = VariantContext(
            device_hw_version=int(self.profile.pixit_value("dut.hardware_version")),
            running_version=self.running_version,
            supplier_key=None if self.profile.on_hardware else self._pki_key("supplier"),
            manufacturer_key=self._manufacturer_key(),
            other_key=self._other_key(),
            layout=None if self.profile.on_hardware else self.layout,
        )
        try:
            data = derive_variant(name, base.data, context)
        except VariantNotApplicable as err:
            raise NotApplicable(f"image variant {name!r}: {err}") from None
        header_defect = bool(HEADER_REQUIREMENTS & set(get_variant(name).requirements))
        return ScenarioImage(data, base.manufacturer_code, base.image_type, base.file_version, name, header_defect)


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise LabError(f"pixit.images.vendor_signing_key {path}: cannot load a private key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise LabError(f"pixit.images.vendor_signing_key {path}: not an EC private key")
    return key
