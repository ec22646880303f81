"""The OTA toolkit's typed errors: each is a `HarnessError`, so the CLI shows its message, not a traceback."""

from harness.errors import HarnessError


class ImageFormatError(HarnessError):
    """The bytes cannot be cut into an OTA file of the requested shape (or fields cannot be encoded)."""


class ImageBuildError(HarnessError):
    """An image cannot be built as asked (missing key, field out of range, header string too long)."""


class VariantNotApplicable(HarnessError):
    """A variant cannot be derived here; the message says why (the scenario becomes NOT_APPLICABLE)."""


class UnknownVariantError(HarnessError):
    """No variant has this name."""
