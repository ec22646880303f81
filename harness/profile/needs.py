"""What a scenario needs from the test setup, beyond what the device claims: the ``@needs:`` tags.

PICS items select scenarios by what the *device* claims; needs are what the *setup* must provide for the
scenario to be run at all: an image the suite builds or the vendor gives (an older one, one of the running
version, a second newer one, one that cannot be activated, a named invalid variant), or a capability of the
bench (a power switch, a rogue node). Why tags: so that whether a scenario applies is known before any radio
starts (``ota-conformance run --dry-run``, the plugin's collection), not discovered half-way through a night on
the bench. The feature lint checks every tag names a need below and that the steps and the tags agree (a step
that needs something, declared; a need declared, used); ``harness.dut.needs`` decides each need for a profile.

Tag form: ``@needs:<name>``, e.g. ``@needs:image:older``, ``@needs:variant:wrong-magic``, ``@needs:power-cycle``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

NEEDS_TAG_PREFIX = "needs:"
VARIANT_PREFIX = "variant:"


@dataclass(frozen=True)
class NeedSpec:
    """One need: its name, what it means, and the step sentence (a regular expression) that needs it."""

    name: str
    description: str
    step: re.Pattern[str]


def _need(name: str, description: str, step: str) -> NeedSpec:
    return NeedSpec(name, description, re.compile(step))


NEEDS: Mapping[str, NeedSpec] = MappingProxyType(
    {
        need.name: need
        for need in (
            _need(
                "image:older",
                "a valid image of a strictly lower version (suite-built, or pixit.images.older)",
                r"holds a valid image of a lower firmware version",
            ),
            _need(
                "image:running",
                "a valid image of the running version (suite-built, or pixit.images.running)",
                r"holds a valid image of the running firmware version",
            ),
            _need(
                "image:unsigned",
                "the next version without its manufacturer signature (the suite's convention only)",
                r"holds an image of the next firmware version without a manufacturer signature",
            ),
            _need(
                "image:second-newer",
                "a second, different newer image (suite-built, or pixit.images.second_newer)",
                r"distributes another valid image of the next firmware version",
            ),
            _need(
                "image:failing-activation",
                "a newer image the device cannot activate (suite-built, or pixit.images.failing_activation)",
                r"holds an image of the next firmware version that .* cannot activate",
            ),
            _need(
                "power-cycle",
                "a bench that can power-cycle the device (PICS GB.ADAPTER.POWER_CYCLE mirrors it)",
                r"is power-cycled",
            ),
            _need(
                "rogue-node",
                "a bench that can put a rogue node on the HAN (PICS GB.ADAPTER.ROGUE_NODE mirrors it)",
                r"\ba rogue node\b",
            ),
        )
    }
)

#: The step that derives a named invalid variant of the newer image; it needs ``variant:<name>``.
VARIANT_STEP = re.compile(r'holds the image variant "(?P<name>[^"]+)"')


def needs_of(tags: Iterable[str]) -> tuple[str, ...]:
    """The need names among ``tags`` (with or without the leading ``@``), sorted, without repeats."""
    found = {tag.removeprefix("@")[len(NEEDS_TAG_PREFIX) :] for tag in tags if _is_needs_tag(tag)}
    return tuple(sorted(found))


def _is_needs_tag(tag: str) -> bool:
    return tag.removeprefix("@").startswith(NEEDS_TAG_PREFIX)


def needs_of_steps(sentences: Iterable[str]) -> set[str]:
    """What these step sentences need (the lint compares it with the scenario's tags)."""
    needed: set[str] = set()
    for sentence in sentences:
        needed.update(need.name for need in NEEDS.values() if need.step.search(sentence))
        if match := VARIANT_STEP.search(sentence):
            needed.add(VARIANT_PREFIX + match.group("name"))
    return needed


def need_problem(name: str) -> str | None:
    """Why ``name`` is not a need (a feature-file defect), or None."""
    if name.startswith(VARIANT_PREFIX):
        from harness.ota.variants import VARIANTS  # the image toolkit does not import profiles: no cycle

        variant = name.removeprefix(VARIANT_PREFIX)
        return None if variant in VARIANTS else f"{variant!r} is not an image variant (ota-conformance image variants)"
    if name in NEEDS:
        return None
    return f"unknown need {name!r}; known: {', '.join(NEEDS)}, {VARIANT_PREFIX}<variant name>"
