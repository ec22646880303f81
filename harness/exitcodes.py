"""The one exit-code table every command uses (documented in README.md, "Exit codes")."""

from enum import IntEnum


class RunExit(IntEnum):
    """`ota-conformance run` and `make conformance`."""

    ALL_PASSED = 0  # every applicable scenario passed
    DEVICE_FAILED = 1  # the device failed at least one scenario
    USAGE = 2  # usage or configuration error (bad option, broken profile)
    NO_VERDICT = 3  # lab or environment error, or a scenario ended inconclusive


class CheckExit(IntEnum):
    """`image inspect`, `gbcs decode`, `verify`: commands that judge one input."""

    VALID = 0
    INVALID = 1  # the input was read and breaks at least one rule
    UNUSABLE = 2  # the input could not be read at all (missing file, not the expected kind, bad option)
