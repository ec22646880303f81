"""Scenario selection from `@pics:` tags (ISO/IEC 9646: the PICS select the test cases).

Tag forms: `pics:ITEM` (the scenario needs ITEM declared true) and `pics:!ITEM` (the scenario applies only
when ITEM is not true). A leading `@` is accepted, so raw Gherkin tags and pytest-bdd's bare tag names both
work. Why undeclared differs from false: a vendor who did not answer a PICS question has not said "no", so the
not-applicable reason says which one it was; a tag naming an item the schema does not know is a defect of the
feature file and raises, rather than silently deselecting the scenario.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ConfigurationError
from harness.profile.loader import Profile
from harness.profile.schema import DEPRECATED_PICS, PICS_ITEMS, suggest

PICS_TAG_PREFIX = "pics:"


class PicsTagError(ConfigurationError):
    """A `@pics:` tag is malformed or names an item the schema does not declare (a feature-file defect)."""


@dataclass(frozen=True)
class PicsCondition:
    """One `@pics:` tag: the item and whether the tag is negated."""

    item: str
    negated: bool = False

    @property
    def tag(self) -> str:
        return f"{PICS_TAG_PREFIX}{'!' if self.negated else ''}{self.item}"


@dataclass(frozen=True)
class PicsCheck:
    """A condition evaluated against a profile: the declared value seen and whether the condition holds."""

    condition: PicsCondition
    declared: bool | None
    holds: bool


@dataclass(frozen=True)
class Applicability:
    """Whether a scenario applies to the profile, and why (the reason goes into a NOT_APPLICABLE verdict)."""

    applicable: bool
    reason: str
    items_checked: tuple[PicsCheck, ...] = ()


def pics_conditions(tags: Iterable[str]) -> tuple[PicsCondition, ...]:
    """The PICS conditions among `tags` (other tags are ignored); raise PicsTagError for every bad one."""
    conditions: list[PicsCondition] = []
    problems: list[str] = []
    for raw in tags:
        tag = raw.strip().removeprefix("@")
        if tag[: len(PICS_TAG_PREFIX)].lower() != PICS_TAG_PREFIX:
            continue
        body = tag[len(PICS_TAG_PREFIX) :].strip()
        negated = body.startswith("!")
        item = body.removeprefix("!").strip()
        if not item:
            problems.append(f"@{tag}: a PICS tag needs an item name, e.g. @pics:OTA.C or @pics:!GB.DEVICE.SLEEPY")
        elif item in DEPRECATED_PICS:
            replacements = " and/or ".join(
                f"@{PICS_TAG_PREFIX}{'!' if negated else ''}{n}" for n in DEPRECATED_PICS[item]
            )
            problems.append(f"@{tag}: deprecated PICS item (it bundles several behaviours); tag {replacements}")
        elif item not in PICS_ITEMS:
            guess = suggest(item, PICS_ITEMS)
            hint = (
                f"did you mean @{PICS_TAG_PREFIX}{'!' if negated else ''}{guess}?"
                if guess
                else "see profiles/README.md"
            )
            problems.append(f"@{tag}: unknown PICS item; {hint}")
        else:
            conditions.append(PicsCondition(item, negated))
    if problems:
        raise PicsTagError("bad PICS tag" + ("s" if len(problems) > 1 else "") + ": " + "; ".join(problems))
    return tuple(conditions)


def _check(condition: PicsCondition, profile: Profile) -> tuple[PicsCheck, str | None]:
    """Evaluate one condition; the second value is the not-applicable reason when it fails."""
    declared = profile.pics(condition.item)
    where = f"in {profile.name}"
    if condition.negated:
        holds = declared is not True
        reason = None if holds else f"PICS {condition.item} is true {where} (scenario needs it not supported)"
    else:
        holds = declared is True
        state = "is false" if declared is False else "undeclared"
        reason = None if holds else f"PICS {condition.item} {state} {where}"
    return PicsCheck(condition, declared, holds), reason


def applicability(tags: Iterable[str], profile: Profile) -> Applicability:
    """Applicable when every required item is true and no negated item is true; otherwise say which failed."""
    checks: list[PicsCheck] = []
    reasons: list[str] = []
    for condition in pics_conditions(tags):
        check, reason = _check(condition, profile)
        checks.append(check)
        if reason:
            reasons.append(reason)
    if reasons:
        return Applicability(False, "; ".join(reasons), tuple(checks))
    if not checks:
        return Applicability(True, "no PICS conditions", ())
    listed = ", ".join(check.condition.tag.removeprefix(PICS_TAG_PREFIX) for check in checks)
    return Applicability(True, f"PICS conditions hold in {profile.name}: {listed}", tuple(checks))
