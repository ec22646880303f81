"""What a run is set up to be, decided from the profile one question at a time.

Why separate decisions: one flag ("on hardware") used to decide the clock, which PIXIT items are required,
whether the images come from the suite or from the vendor, and how the reports label the run. They are
independent questions: a vendor's simulation behind a ``module:Class`` radio runs on virtual time with the
vendor's images; the reference emulators on the loopback radio can run on the vendor-image path (a format the
suite cannot sign) or on the real clock. Each decision here carries the reason the reports print with it.

- **radio kind**: the loopback radio (or a class derived from it: hosts the reference emulator), a radio
  library (a real coordinator), or another ``module:Class`` (a vendor's radio or simulation);
- **clock** (PIXIT ``clock``, ``--clock``): virtual or real; virtual is refused for a radio library;
- **images** (PIXIT ``images.source``): built by the suite, or the vendor's files (``images.*``);
- **what was tested** (the reports' label): the reference emulator, a simulation (virtual time on a radio that
  is not the loopback), or the device.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.profile.schema import is_loopback, radio_class


class RadioKind(enum.StrEnum):
    LOOPBACK = "loopback"  # the built-in loopback radio or a class derived from it: hosts the reference emulator
    LIBRARY = "library"  # a radio library (ezsp, znp, deconz, xbee, zigate): a real coordinator
    CLASS = "class"  # any other module:Class: a vendor's radio, or a simulation of the device


#: The radio libraries' names (``harness.radio.factory.RADIOS`` without the loopback). A test keeps the two equal.
RADIO_LIBRARIES = ("ezsp", "znp", "deconz", "xbee", "zigate")

#: How a choice's source is named in its reason.
_SOURCE = {"profile": "the profile", "override": "the command line", "default": "the default"}


def radio_kind(radio: str) -> RadioKind:
    """A radio library also when named by its class (``bellows.zigbee.application:ControllerApplication``) or
    by a class derived from one: its device is a real coordinator's, whatever the spelling."""
    if is_loopback(radio):
        return RadioKind.LOOPBACK
    if radio.strip().lower() in RADIO_LIBRARIES or ":" not in radio:
        return RadioKind.LIBRARY
    from harness.radio.factory import RADIOS  # the radio package does not import profiles: no cycle

    libraries = {spec for name, (spec, _) in RADIOS.items() if name in RADIO_LIBRARIES}
    cls = radio_class(radio)
    classes = [f"{k.__module__}:{k.__qualname__}" for k in cls.__mro__] if cls is not None else [radio]
    return RadioKind.LIBRARY if libraries.intersection(classes) else RadioKind.CLASS


def offers_power_cycle(radio: str) -> bool:
    """The radio's application class offers the in-process ``power_cycle(off_s)`` coroutine (a simulation
    switching its own device: docs/hardware.md)."""
    cls = radio_class(radio)
    return cls is not None and inspect.iscoroutinefunction(getattr(cls, "power_cycle", None))


@dataclass(frozen=True)
class Decision:
    """One decision of the run's setup and why it was taken (the reports print both)."""

    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.value} ({self.reason})"


@dataclass(frozen=True)
class RunSetup:
    """The run's setup decisions (see the module docstring)."""

    radio: str
    radio_kind: RadioKind
    clock: Decision  # "virtual" | "real"
    images: Decision  # "suite" | "vendor"
    in_process_power_cycle: bool

    @property
    def virtual(self) -> bool:
        return self.clock.value == "virtual"

    @property
    def external_radio(self) -> bool:
        """Not the loopback radio: a real coordinator, or a vendor's radio class (simulated or not)."""
        return self.radio_kind is not RadioKind.LOOPBACK

    @property
    def vendor_images(self) -> bool:
        return self.images.value == "vendor"

    @property
    def simulation(self) -> bool:
        """Virtual time on a radio that is not the loopback: the run tested a simulation, not the device."""
        return self.virtual and self.external_radio

    @property
    def power_cycle_by_command_only(self) -> bool:
        """The bench can power-cycle the device only with ``adapter.power_cycle_command``."""
        return self.external_radio and not self.in_process_power_cycle

    @property
    def target(self) -> str:
        """What the run tested, as the reports say it."""
        if self.radio_kind is RadioKind.LOOPBACK:
            return "an emulated device on the loopback radio"
        if self.simulation:
            return f"a simulation of the device (radio {self.radio} on virtual time), not the device itself"
        return f"the device, through radio {self.radio}"

    def as_dict(self) -> dict[str, Any]:
        """The plain form the conformance statement records."""
        return {
            "radio_kind": self.radio_kind.value,
            "clock": self.clock.value,
            "clock_reason": self.clock.reason,
            "images": self.images.value,
            "images_reason": self.images.reason,
            "simulation": self.simulation,
            "target": self.target,
        }


class SetupProblem(ValueError):
    """A combination of choices the suite cannot run (the message says why and what to choose instead)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


#: For each choice "auto" resolves by radio: (on the loopback radio, on any other radio), with the reason.
_DEFAULTS: Mapping[str, tuple[Decision, Decision]] = {
    "clock": (
        Decision("virtual", "default for the loopback radio: the reference emulator runs on virtual time"),
        Decision("real", "default for a radio that is not the loopback radio"),
    ),
    "images.source": (
        Decision("suite", "default for the loopback radio: the suite builds and signs the images"),
        Decision("vendor", "default for a radio that is not the loopback radio: the files of images.*"),
    ),
}


def _decide(name: str, pixit: Mapping[str, Any], sources: Mapping[str, str], kind: RadioKind) -> Decision:
    """PIXIT ``name`` as chosen, or its default for this kind of radio when it is "auto"."""
    choice = str(pixit[name])
    if choice == "auto":
        on_loopback, elsewhere = _DEFAULTS[name]
        return on_loopback if kind is RadioKind.LOOPBACK else elsewhere
    where = _SOURCE.get(sources.get(f"pixit.{name}", "default"), "the profile")
    return Decision(choice, f"{name}: {choice}, chosen in {where}")


def resolve_setup(pixit: Mapping[str, Any], sources: Mapping[str, str]) -> RunSetup:
    """The setup decisions from the profile's PIXIT values (``sources``: where each dotted key came from);
    SetupProblem for a combination that cannot run."""
    radio = str(pixit["radio"])
    kind = radio_kind(radio)
    clock = _decide("clock", pixit, sources, kind)
    if clock.value == "virtual" and kind is RadioKind.LIBRARY:
        raise SetupProblem(
            "pixit.clock",
            f"virtual time cannot run radio {radio!r}: it is a real coordinator, whose device lives outside "
            "this process and cannot follow the virtual clock. Use the real clock (clock: auto or real); "
            "virtual time is for the loopback radio and for a module:Class radio that simulates the device "
            "on the running asyncio loop (docs/hardware.md)",
        )
    return RunSetup(radio, kind, clock, _decide("images.source", pixit, sources, kind), offers_power_cycle(radio))
