"""A vendor's own emulated device class as a profile names it (``emulator.device_class``): it declares its own
fault knobs through ``fault_names()``, and the profile loader checks ``emulator.faults`` against them."""

from __future__ import annotations


class VendorDevice:
    @classmethod
    def fault_names(cls) -> tuple[str, ...]:
        return ("vendor-knob",)
