"""Compliant devices that differ from the reference emulators the way independent implementations do, for
``test_independent_devices.py``: loaded by a run through PIXIT ``emulator.device_class``, as a vendor's own
device model would be."""

from __future__ import annotations

from typing import Any

from harness.emulator.ppmid import PpmidEmulator

#: An hour: the device queries again that long after its last query (the reference queries once a day).
HOURLY_S = 3600.0


class HourlyQueryPpmid(PpmidEmulator):
    """Queries the CH every hour: after giving up on an endless WAIT_FOR_DATA it asks again, the CH offers the
    image again, and a new download starts; what that attempt does is no answer to the first one's stimulus."""

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any, **overrides: Any) -> HourlyQueryPpmid:
        return super().from_profile(profile, keystore, **{"query_interval_s": HOURLY_S, **overrides})


class MisdeclaredPpmid(PpmidEmulator):
    """Reports manufacturer code 0x121E while its profile declares 0x121D (the default profile): "another
    manufacturer code" derived from the profile is then this device's own, and it rightly downloads."""

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any, **overrides: Any) -> MisdeclaredPpmid:
        return super().from_profile(profile, keystore, **{"manufacturer_code": 0x121E, **overrides})


class MisdeclaredVersionPpmid(PpmidEmulator):
    """Runs 0x01020302 while its profile declares 0x01020300: the "next version" the suite builds (0x01020301)
    is older than what it runs, and it rightly refuses it."""

    @classmethod
    def from_profile(cls, profile: Any, keystore: Any, **overrides: Any) -> MisdeclaredVersionPpmid:
        return super().from_profile(profile, keystore, **{"current_file_version": 0x01020302, **overrides})
