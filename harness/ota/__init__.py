"""OTA upgrade images: the file format (construct), the strict validator, the suite's manufacturer-signature
convention, the image factory and its named invalid variants. See docs/ota-images.md.

Import from here; the submodules are the implementation:

- `format`: `parse_image` / `encode_image` and the typed `OtaImage` (header, body in one `Layout`);
- `validate`: `validate_image` → `ValidationReport` of `Finding`s, never raises on bad input;
- `manufacturer`: the GBMS manufacturer-signature convention (an assumption of the suite);
- `factory`: `ImageSpec` → `build_image`, `seal` to re-sign an edited image;
- `variants`: `VARIANTS`, `derive_variant` with a `VariantContext`.
"""

from harness.ota.errors import ImageBuildError, ImageFormatError, UnknownVariantError, VariantNotApplicable
from harness.ota.factory import ImageSpec, build_image, build_ota_image, deterministic_payload, seal
from harness.ota.format import (
    GbSignedBody,
    GbUnsignedBody,
    Layout,
    OtaHeader,
    OtaImage,
    SubElement,
    ZigbeeBody,
    detect_layout,
    encode_image,
    parse_image,
    with_consistent_lengths,
)
from harness.ota.manufacturer import (
    ManufacturerStatus,
    ManufacturerVerdict,
    make_manufacturer_image,
    verify_manufacturer_image,
)
from harness.ota.validate import Finding, FindingCode, Profile, Severity, ValidationReport, validate_image
from harness.ota.variants import VARIANTS, Need, Variant, VariantContext, derive_variant, get_variant

__all__ = [
    "VARIANTS",
    "Finding",
    "FindingCode",
    "GbSignedBody",
    "GbUnsignedBody",
    "ImageBuildError",
    "ImageFormatError",
    "ImageSpec",
    "Layout",
    "ManufacturerStatus",
    "ManufacturerVerdict",
    "Need",
    "OtaHeader",
    "OtaImage",
    "Profile",
    "Severity",
    "SubElement",
    "UnknownVariantError",
    "ValidationReport",
    "Variant",
    "VariantContext",
    "VariantNotApplicable",
    "ZigbeeBody",
    "build_image",
    "build_ota_image",
    "derive_variant",
    "detect_layout",
    "deterministic_payload",
    "encode_image",
    "get_variant",
    "make_manufacturer_image",
    "parse_image",
    "seal",
    "validate_image",
    "verify_manufacturer_image",
    "with_consistent_lengths",
]
