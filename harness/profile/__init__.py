"""DUT profiles: PICS (what the device claims, selects scenarios) and PIXIT (values the tests need).

One YAML file per device (`profiles/*.yaml`), checked at start against the item table in `schema.py`;
`selection.py` turns `@pics:` tags into an applicability decision. See `profiles/README.md`.
"""

from harness.profile.loader import (
    DEFAULT_PROFILE_PATH,
    PROFILES_DIR,
    PixitView,
    Profile,
    ProfileError,
    ProfileProblem,
    UnknownItemError,
    apply_overrides,
    default_profile_path,
    load_profile,
    load_run_profile,
    resolve_profile_path,
)
from harness.profile.schema import DEVICE_ITEMS, PICS_ITEMS, PIXIT_ITEMS, PicsItem, PixitItem
from harness.profile.selection import (
    Applicability,
    PicsCheck,
    PicsCondition,
    PicsTagError,
    applicability,
    pics_conditions,
)

__all__ = [
    "DEFAULT_PROFILE_PATH",
    "DEVICE_ITEMS",
    "PICS_ITEMS",
    "PIXIT_ITEMS",
    "PROFILES_DIR",
    "Applicability",
    "PicsCheck",
    "PicsCondition",
    "PicsItem",
    "PicsTagError",
    "PixitItem",
    "PixitView",
    "Profile",
    "ProfileError",
    "ProfileProblem",
    "UnknownItemError",
    "applicability",
    "apply_overrides",
    "default_profile_path",
    "load_profile",
    "load_run_profile",
    "pics_conditions",
    "resolve_profile_path",
]
