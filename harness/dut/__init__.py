"""The device under test as the steps see it: the DUT adapter (radio, CH, transcript, emulated DUT) and
the test setup's capabilities per radio. ``images`` makes the OTA files scenarios serve."""

from harness.dut.adapter import (
    DEFAULT_EMULATORS,
    AttributeValues,
    DutAdapter,
    Evidence,
    PowerCycleResult,
    PowerLossSource,
)
from harness.dut.capabilities import (
    CAPABILITIES,
    PICS_CAPABILITIES,
    PowerCycle,
    RadioCapabilities,
    RogueNode,
    capabilities_for,
    require_capability,
)

__all__ = [
    "CAPABILITIES",
    "DEFAULT_EMULATORS",
    "PICS_CAPABILITIES",
    "AttributeValues",
    "DutAdapter",
    "Evidence",
    "PowerCycle",
    "PowerCycleResult",
    "PowerLossSource",
    "RadioCapabilities",
    "RogueNode",
    "capabilities_for",
    "require_capability",
]
