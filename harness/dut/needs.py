"""Whether this setup meets the needs a scenario declares (``@needs:`` tags), decided before any radio starts.

Each need (``harness.profile.needs``) is decided by the code the scenario itself would run, so the decision
cannot drift from what happens in the scenario: an image need asks ``ScenarioImages`` for that image (suite
images are built with throwaway keys, which succeed or fail exactly as the run's keys would; vendor images are
read and checked), a capability need asks the capability table about the radio (its class is imported, never
started). Three outcomes:

- met: the scenario runs;
- unmet: NOT_APPLICABLE with the reason (the profile does not give the image; the bench has no such
  capability and the profile does not claim it);
- broken: the setup claims what it cannot do (a PICS capability the radio lacks, an image file that is not an
  image for this device): ERROR before the scenario starts, never the device's FAIL.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.dut.capabilities import (
    CUSTOM_RADIO,
    PICS_CAPABILITIES,
    RadioCapabilities,
    capabilities_for,
    setup_supports,
)
from harness.dut.images import ScenarioImage, ScenarioImages
from harness.errors import HarnessError
from harness.profile import Profile
from harness.profile.needs import VARIANT_PREFIX, needs_of
from harness.profile.schema import radio_class
from harness.verdicts import LabError, NotApplicable, no_verdict_message

#: The PICS item that mirrors each capability need.
_CAPABILITY_NEEDS = {"power-cycle": "GB.ADAPTER.POWER_CYCLE", "rogue-node": "GB.ADAPTER.ROGUE_NODE"}
assert set(_CAPABILITY_NEEDS.values()) == set(PICS_CAPABILITIES)


class NeedState(enum.StrEnum):
    MET = "met"
    UNMET = "unmet"
    BROKEN = "broken"


@dataclass(frozen=True)
class NeedCheck:
    name: str
    state: NeedState
    reason: str = ""


@dataclass(frozen=True)
class NeedsDecision:
    """A scenario's needs against this setup: NOT_APPLICABLE ``reason`` when one is unmet, ``error`` (an
    operator message) when one is broken; both empty when every need is met."""

    reason: str = ""
    error: str = ""


class SetupNeeds:
    """Decides needs for one profile (each need once, then remembered)."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._images: ScenarioImages | None = None
        self._checks: dict[str, NeedCheck] = {}

    @property
    def images(self) -> ScenarioImages:
        if self._images is None:
            self._images = ScenarioImages.for_applicability(self.profile)
        return self._images

    @property
    def capabilities(self) -> RadioCapabilities:
        radio = str(self.profile.pixit_value("radio"))
        found = capabilities_for(radio)
        cls = radio_class(radio) if found is CUSTOM_RADIO else None
        return capabilities_for(cls) if cls is not None else found

    def check(self, name: str) -> NeedCheck:
        if name not in self._checks:
            self._checks[name] = self._decide(name)
        return self._checks[name]

    def decide(self, tags: Iterable[str]) -> NeedsDecision:
        """The scenario's needs (from its tags) against this setup."""
        checks = [self.check(name) for name in needs_of(tags)]
        broken = [c for c in checks if c.state is NeedState.BROKEN]
        if broken:
            return NeedsDecision(error=broken[0].reason)
        unmet = [f"needs {c.name}: {c.reason}" for c in checks if c.state is NeedState.UNMET]
        return NeedsDecision(reason="; ".join(unmet))

    def _decide(self, name: str) -> NeedCheck:
        if name in _CAPABILITY_NEEDS:
            return self._capability(name, _CAPABILITY_NEEDS[name])
        make = self._image_maker(name)
        try:
            make()
        except NotApplicable as err:
            return NeedCheck(name, NeedState.UNMET, err.detail)
        except LabError as err:
            return NeedCheck(name, NeedState.BROKEN, err.detail)
        except HarnessError as err:
            return NeedCheck(name, NeedState.BROKEN, no_verdict_message(str(err), "fix the profile, then re-run"))
        return NeedCheck(name, NeedState.MET)

    def _image_maker(self, name: str) -> Callable[[], ScenarioImage]:
        images = self.images
        if name.startswith(VARIANT_PREFIX):
            variant = name.removeprefix(VARIANT_PREFIX)
            return lambda: images.variant(variant)
        makers: dict[str, Callable[[], ScenarioImage]] = {
            "image:older": images.older,
            "image:running": images.same,
            "image:unsigned": images.unsigned,
            "image:second-newer": images.another_newer,
            "image:failing-activation": images.failing_activation,
        }
        if name not in makers:
            raise KeyError(f"no decision for need {name!r} (harness.profile.needs and harness.dut.needs disagree)")
        return makers[name]

    def _capability(self, name: str, item: str) -> NeedCheck:
        supported, why = setup_supports(item, self.capabilities, self.profile)
        if supported:
            return NeedCheck(name, NeedState.MET)
        if self.profile.pics(item) is True:
            return NeedCheck(
                name,
                NeedState.BROKEN,
                no_verdict_message(
                    f"the profile declares {item} true, but {why}",
                    f"declare {item} false in the profile, or give the bench what it needs, then re-run",
                ),
            )
        return NeedCheck(name, NeedState.UNMET, f"this test setup has no {PICS_CAPABILITIES[item]}: {why}")
