"""The images a scenario serves: built by the suite, or the vendor's files, as the profile's setup decides.

With suite images (``images.source`` suite; the default on the loopback radio) the suite builds every image
itself with the image factory, signed under the emulators' manufacturer-signature convention with the run's
test PKI (``docs/ota-images.md``). With vendor images (the default on every other radio, and the reference
emulators' vendor-image path) the images are the profile's files: ``images.newer``, and for the scenarios that
need them ``images.older`` (strictly lower than the running version), ``images.running`` (the running
version), ``images.second_newer`` and ``images.failing_activation``; variants that need no key (or only the
vendor's test key ``images.vendor_signing_key``) are derived from ``images.newer``. An image the profile does
not give is NOT_APPLICABLE with the reason, decided before the run from the scenario's ``@needs:`` tags
(``harness.dut.needs``), which call the same methods; a file that is not an image for this device is the
lab's ERROR, never the device's FAIL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.ch.ota_server import Activation, HeldImage
from harness.crypto.keystore import KeyStore
from harness.crypto.pki import TestPki
from harness.errors import HarnessError
from harness.files import KEY_LIMIT, OTA_IMAGE_LIMIT, read_regular
from harness.ota.errors import VariantNotApplicable
from harness.ota.factory import ImageSpec, build_image, deterministic_payload
from harness.ota.format import Layout, OtaHeader, parse_header, parse_image
from harness.ota.manufacturer import ACTIVATION_FAILURE_MARKER
from harness.ota.variants import VariantContext, derive_variant, get_variant
from harness.profile import Profile
from harness.verdicts import LabError, NotApplicable, no_verdict_message

#: Payload size of the images the suite builds for the emulator: large enough for every offset the
#: features name (up to 480), small enough that a scenario costs milliseconds.
EMULATOR_PAYLOAD_SIZE = 2048

_FIX_PROFILE = "fix the profile's pixit.images.* (the file, its identity or version), then re-run"

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


#: A private key by test-PKI party name ("manufacturer", "supplier").
KeySource = Callable[[str], ec.EllipticCurvePrivateKey]


class ScenarioImages:
    """Makes the images the features ask for, the same way for every scenario of a run."""

    def __init__(self, profile: Profile, test_pki: TestPki | None, keystore: KeyStore | None) -> None:
        self.profile = profile
        self.running_version = int(profile.pixit_value("dut.current_file_version"))
        self.layout = Layout.GB_SIGNED if profile.role == "hcalcs" else Layout.GB_UNSIGNED
        self.vendor = profile.setup.vendor_images
        self._party_key: KeySource = (
            _pki_keys(test_pki, keystore) if test_pki is not None and keystore is not None else _throwaway_keys()
        )
        self._newer: ScenarioImage | None = None

    @classmethod
    def for_applicability(cls, profile: Profile) -> ScenarioImages:
        """An instance for deciding before the run what can be made (``harness.dut.needs``): the run's keys do
        not exist yet, so suite images are signed with throwaway keys, which succeed or fail exactly alike."""
        return cls(profile, None, None)

    def __repr__(self) -> str:
        return f"<ScenarioImages {'vendor' if self.vendor else 'suite-built'}>"

    # -- keys -----------------------------------------------------------------------------------------
    def _manufacturer_key(self) -> ec.EllipticCurvePrivateKey | None:
        if self.vendor:
            path = self.profile.pixit_value("images.vendor_signing_key")
            return _load_private_key(Path(path)) if path else None
        return self._party_key("manufacturer")

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
        supplier = self._party_key("supplier") if self.layout is Layout.GB_SIGNED else None
        manufacturer = self._manufacturer_key() if manufacturer_signed else None
        data = build_image(spec, supplier_key=supplier, manufacturer_key=manufacturer)
        return ScenarioImage(data, spec.manufacturer_code, spec.image_type, file_version, description)

    def _vendor(self, item: str, description: str, version_ok: Callable[[int], str | None]) -> ScenarioImage:
        """The profile's file ``images.<item>``: NOT_APPLICABLE when the profile gives none; ERROR when it is
        not an OTA image for this device, or its version is not what the scenario needs (``version_ok`` says
        why not): the suite's wrong stimulus must never become the device's FAIL."""
        path = self.profile.pixit_value(item)
        if not path:
            raise NotApplicable(f"the profile gives no pixit.{item} ({description})")
        try:
            data = read_regular(path, "OTA image", OTA_IMAGE_LIMIT)
            header = parse_header(data)
        except (OSError, HarnessError) as err:
            raise LabError(
                no_verdict_message(f"pixit.{item} {path} cannot be used as an OTA image: {err}", _FIX_PROFILE)
            ) from None
        problem = self._identity_problem(header) or version_ok(header.file_version)
        if problem:
            raise LabError(
                no_verdict_message(f"pixit.{item} {path} cannot serve as {description}: {problem}", _FIX_PROFILE)
            )
        return ScenarioImage(data, header.manufacturer_code, header.image_type, header.file_version, description)

    def _identity_problem(self, header: OtaHeader) -> str | None:
        wanted = (
            int(self.profile.pixit_value("dut.manufacturer_code")),
            int(self.profile.pixit_value("dut.image_type")),
        )
        found = (header.manufacturer_code, header.image_type)
        if found != wanted:
            return (
                f"it is for manufacturer code / image type {found[0]:#06x} / {found[1]:#06x}, the profile's device "
                f"(dut.manufacturer_code, dut.image_type) is {wanted[0]:#06x} / {wanted[1]:#06x}"
            )
        return None

    def _newer_than_running(self, version: int) -> str | None:
        if version > self.running_version:
            return None
        return f"its file version {version:#010x} is not newer than the running {self.running_version:#010x}"

    def newer(self) -> ScenarioImage:
        """A valid image of a newer firmware version (the suite's: the next version)."""
        if self._newer is None:
            self._newer = (
                self._vendor("images.newer", "the vendor's newer signed image", self._newer_than_running)
                if self.vendor
                else self._build(self.running_version + 1, "valid next version")
            )
        return self._newer

    def another_newer(self) -> ScenarioImage:
        """A second valid newer image whose Manufacturer Image differs from ``newer()``'s (HG-20: a later
        distribution replaces the held image): the suite's, or the vendor's ``images.second_newer``."""
        if not self.vendor:
            return self._build(self.running_version + 1, "another valid next version", seed=~self.running_version)
        second = self._vendor("images.second_newer", "a second, different newer signed image", self._newer_than_running)
        if second.manufacturer_image_hash == self.newer().manufacturer_image_hash:
            raise LabError(
                no_verdict_message(
                    f"pixit.images.second_newer {self.profile.pixit_value('images.second_newer')} has the same "
                    "Manufacturer Image as pixit.images.newer, so it cannot show that a second distribution "
                    "replaces the held image",
                    "give a second, different newer image in pixit.images.second_newer, then re-run",
                )
            )
        return second

    def failing_activation(self) -> ScenarioImage:
        """A valid image of the next version that the device cannot activate (HG-10, PZ-23): the emulators'
        marker (docs/ota-images.md §3.1), or the vendor's PIXIT ``images.failing_activation``."""
        if self.vendor:
            return self._vendor(
                "images.failing_activation", "the vendor's image whose activation fails", self._newer_than_running
            )
        return self._build(
            self.running_version + 1,
            "valid next version that cannot be activated",
            payload_prefix=ACTIVATION_FAILURE_MARKER,
        )

    def older(self) -> ScenarioImage:
        """A valid image of a strictly lower firmware version (properly signed: only the version is wrong). An
        image of the running version is never "older": that is CS-20's same-version case (``same()``)."""
        if not self.vendor:
            if self.running_version == 0:
                raise NotApplicable("the running version is 0x00000000: no firmware version is lower")
            return self._build(self.running_version - 1, "valid lower version")

        def lower(version: int) -> str | None:
            if version < self.running_version:
                return None
            same = (
                " (that is the same-version case: give it as pixit.images.running)"
                if version == self.running_version
                else ""
            )
            return f"its file version {version:#010x} is not lower than the running {self.running_version:#010x}{same}"

        return self._vendor("images.older", "the vendor's older signed image", lower)

    def same(self) -> ScenarioImage:
        """A valid image of the version the device already runs: the suite's, or ``images.running``."""
        if not self.vendor:
            return self._build(self.running_version, "valid running version")

        def running(version: int) -> str | None:
            if version == self.running_version:
                return None
            return f"its file version {version:#010x} is not the running {self.running_version:#010x}"

        return self._vendor("images.running", "the vendor's signed image of the running version", running)

    def unsigned(self) -> ScenarioImage:
        """The next version with no manufacturer signature at all (the suite's convention: no trailer)."""
        if self.vendor:
            raise NotApplicable(
                "an image without its manufacturer signature needs the suite's own signature convention; the "
                "vendor's images are in the vendor's format"
            )
        return self._build(self.running_version + 1, "no manufacturer signature", manufacturer_signed=False)

    def variant(self, name: str) -> ScenarioImage:
        """The named invalid variant of the newer image (harness.ota.variants), derived from the vendor's file
        on the vendor path (without the supplier key; with the vendor's test key if the profile gives it)."""
        base = self.newer()
        hardware_version = self.profile.pixit_value("dut.hardware_version")
        context = VariantContext(
            device_hw_version=None if hardware_version is None else int(hardware_version),
            running_version=self.running_version,
            supplier_key=None if self.vendor else self._party_key("supplier"),
            manufacturer_key=self._manufacturer_key(),
            other_key=self._other_key(),
            layout=None if self.vendor else self.layout,
        )
        try:
            data = derive_variant(name, base.data, context)
        except VariantNotApplicable as err:
            raise NotApplicable(f"image variant {name!r}: {err}") from None
        header_defect = bool(HEADER_REQUIREMENTS & set(get_variant(name).requirements))
        return ScenarioImage(data, base.manufacturer_code, base.image_type, base.file_version, name, header_defect)


def _pki_keys(test_pki: TestPki, keystore: KeyStore) -> KeySource:
    """The run's keys: a test-PKI party's DS private key, as the merged key store holds it."""

    def key(party: str) -> ec.EllipticCurvePrivateKey:
        found = keystore.private_key(test_pki.party(party).eui, "ds")
        assert isinstance(found, ec.EllipticCurvePrivateKey)
        return found

    return key


def _throwaway_keys() -> KeySource:
    """One fresh P-256 key per party, made when first asked for (applicability checks before the run)."""
    made: dict[str, ec.EllipticCurvePrivateKey] = {}

    def key(party: str) -> ec.EllipticCurvePrivateKey:
        return made.setdefault(party, ec.generate_private_key(ec.SECP256R1()))

    return key


def _load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(read_regular(path, "key file", KEY_LIMIT), password=None)
    except (HarnessError, ValueError, TypeError) as err:
        raise LabError(f"pixit.images.vendor_signing_key {path}: cannot load a private key ({err})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise LabError(f"pixit.images.vendor_signing_key {path}: not an EC private key")
    return key
