"""Selection from @pics: tags: a known-answer truth table, combinations, and bad tags as errors (not NA)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import ConfigurationError
from harness.profile import (
    Applicability,
    PicsCondition,
    PicsTagError,
    Profile,
    applicability,
    load_profile,
    pics_conditions,
)


@pytest.fixture
def profile(write_profile: Callable[..., Path], minimal: str) -> Profile:
    """OTA.C declared true, OTA.C.C04.Tx declared false, GB.DEVICE.SLEEPY (and the rest) undeclared."""
    return load_profile(write_profile(minimal, "bench-7"))


# tag -> applicable, reason; in the profile OTA.C is true, OTA.C.C04.Tx false, GB.DEVICE.SLEEPY undeclared.
TRUTH_TABLE = [
    ("pics:OTA.C", True, "PICS conditions hold in bench-7: OTA.C"),
    ("pics:OTA.C.C04.Tx", False, "PICS OTA.C.C04.Tx is false in bench-7"),
    ("pics:GB.DEVICE.SLEEPY", False, "PICS GB.DEVICE.SLEEPY undeclared in bench-7"),
    ("pics:!OTA.C", False, "PICS OTA.C is true in bench-7 (scenario needs it not supported)"),
    ("pics:!OTA.C.C04.Tx", True, "PICS conditions hold in bench-7: !OTA.C.C04.Tx"),
    ("pics:!GB.DEVICE.SLEEPY", True, "PICS conditions hold in bench-7: !GB.DEVICE.SLEEPY"),
]


@pytest.mark.parametrize(("tag", "applicable", "reason"), TRUTH_TABLE)
def test_truth_table(profile: Profile, tag: str, applicable: bool, reason: str) -> None:
    decision = applicability([tag], profile)
    assert (decision.applicable, decision.reason) == (applicable, reason)
    (check,) = decision.items_checked
    assert check.holds is applicable
    assert check.declared is profile.pics(check.condition.item)


def test_all_conditions_must_hold_and_every_failure_is_named(profile: Profile) -> None:
    decision = applicability(["pics:OTA.C", "pics:OTA.C.C04.Tx", "pics:GB.DEVICE.SLEEPY"], profile)
    assert decision == Applicability(
        False,
        "PICS OTA.C.C04.Tx is false in bench-7; PICS GB.DEVICE.SLEEPY undeclared in bench-7",
        decision.items_checked,
    )
    assert [check.holds for check in decision.items_checked] == [True, False, False]


def test_tag_spellings_and_other_tags(profile: Profile) -> None:
    tags = ["@pics:OTA.C", " PICS:!OTA.C.C04.Tx ", "req:PZ-08", "spec:ZCL-11.13", "assumption"]
    assert pics_conditions(tags) == (PicsCondition("OTA.C"), PicsCondition("OTA.C.C04.Tx", negated=True))
    assert applicability(tags, profile).applicable


def test_no_pics_tags_means_applicable(profile: Profile) -> None:
    assert applicability(["req:PZ-05"], profile) == Applicability(True, "no PICS conditions", ())


def test_unknown_or_empty_pics_tags_are_errors_not_na(profile: Profile) -> None:
    with pytest.raises(PicsTagError) as caught:
        applicability(["pics:OTA.C.C03.TX", "pics:!Nope", "pics:"], profile)
    message = str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    assert "@pics:OTA.C.C03.TX: unknown PICS item; did you mean @pics:OTA.C.C03.Tx?" in message
    assert "@pics:!Nope: unknown PICS item; see profiles/README.md" in message
    assert "@pics:: a PICS tag needs an item name" in message


def test_a_deprecated_pics_item_in_a_tag_names_the_items_to_tag_instead(profile: Profile) -> None:
    with pytest.raises(PicsTagError, match=r"deprecated PICS item.*@pics:GB.OTA.C.UPGRADE_TIME_HOLD and/or"):
        applicability(["pics:GB.OTA.C.UPGRADE_TIME_WAIT"], profile)


def test_example_profiles_select_their_role(profile: Profile) -> None:
    ppmid, hcalcs = load_profile("emulated-ppmid"), load_profile("emulated-hcalcs")
    assert applicability(["pics:GB.PPMID.CS09"], ppmid).applicable
    assert not applicability(["pics:GB.PPMID.CS09"], hcalcs).applicable
    assert applicability(["pics:GB.HCALCS.CS06_CANCELLATION"], hcalcs).applicable
