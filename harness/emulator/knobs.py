"""The machinery shared by the emulators' fault-knob catalogues (PPMID: ``faults.py``, HCALCS:
``hcalcs_faults.py``).

A catalogue is one frozen dataclass whose boolean fields are the knobs (all False = the compliant device),
each declared with ``knob(...)``: the requirements it violates, what it changes and how the suite observes
it. From that dataclass come the name → ``Fault`` table, the parser of PIXIT ``emulator.faults`` and the
Markdown table for the docs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from harness.errors import ConfigurationError
from harness.profile.device_class import find_knob

FaultSetT = TypeVar("FaultSetT")


def knob(requirements: tuple[str, ...], description: str, observable: str) -> Any:
    """A fault field: off by default, documented by its metadata."""
    return field(
        default=False,
        metadata={"requirements": requirements, "description": description, "observable": observable},
    )


@dataclass(frozen=True)
class Fault:
    """One knob of a catalogue, by its kebab-case name (the name PIXIT ``emulator.faults`` takes)."""

    name: str
    attribute: str
    description: str
    requirements: tuple[str, ...]
    observable: str


def catalogue_of(fault_set: type) -> Mapping[str, Fault]:
    """Every knob of a fault-set dataclass by kebab-case name."""
    faults = {}
    for f in dataclasses.fields(fault_set):
        name = f.name.replace("_", "-")
        faults[name] = Fault(
            name=name,
            attribute=f.name,
            description=f.metadata["description"],
            requirements=f.metadata["requirements"],
            observable=f.metadata["observable"],
        )
    return MappingProxyType(faults)


def parse_knobs(
    names: Iterable[str] | FaultSetT | None, fault_set: type[FaultSetT], catalogue: Mapping[str, Fault], device: str
) -> FaultSetT:
    """A fault set from knob names; an unknown name is a ConfigurationError naming it and the closest one."""
    if names is None:
        return fault_set()
    if isinstance(names, fault_set):
        return names
    if isinstance(names, str):
        names = [names]
    chosen: dict[str, bool] = {}
    for raw in names:  # type: ignore[union-attr]
        name = str(raw).strip()
        found = find_knob(name, catalogue)
        fault = catalogue[found] if found is not None else None
        if fault is None:
            close = difflib.get_close_matches(name, list(catalogue), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"pixit.emulator.faults: unknown {device} fault knob {name!r}.{hint} "
                f"Known knobs: {', '.join(catalogue)}"
            )
        chosen[fault.attribute] = True
    return fault_set(**chosen)


def knobs_on(fault_set: object, catalogue: Mapping[str, Fault]) -> tuple[str, ...]:
    """The kebab-case names of the knobs switched on in ``fault_set``, in catalogue order.

    Read with ``object.__getattribute__``: listing the knobs (for a description, a log line) is not a read
    of the device's behaviour, so ``recording_knob_reads`` does not count it.
    """
    return tuple(name for name, fault in catalogue.items() if object.__getattribute__(fault_set, fault.attribute))


#: Called with (fault-set class, knob name) for each read of a knob field (``recording_knob_reads``).
KnobReadListener = Callable[[type, str], None]


@contextlib.contextmanager
def recording_knob_reads(catalogues: Mapping[type, Mapping[str, Fault]], on_read: KnobReadListener) -> Iterator[None]:
    """While inside, every read of a knob field on an instance of one of these fault-set classes calls
    ``on_read(class, knob name)``; the classes are as before on exit.

    Why: the emulators consult a knob only by reading its field, so code that never reads a knob's field
    runs the same with the knob on. The fault matrix (``tests/selfcheck/knob_reads.py``) records which
    knobs each scenario of the compliant run read, and runs a knob only on those scenarios. A class
    attribute set here for the recording's length, so the emulators pay nothing outside it.
    """
    saved: dict[type, object] = {}
    for cls, catalogue in catalogues.items():
        by_attribute = {fault.attribute: fault.name for fault in catalogue.values()}

        def getattribute(self: object, name: str, _cls: type = cls, _by: dict[str, str] = by_attribute) -> Any:
            knob_name = _by.get(name)
            if knob_name is not None:
                on_read(_cls, knob_name)
            return object.__getattribute__(self, name)

        saved[cls] = cls.__dict__.get("__getattribute__")
        cls.__getattribute__ = getattribute  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        for cls, before in saved.items():
            if before is None:
                del cls.__getattribute__  # type: ignore[method-assign]
            else:
                cls.__getattribute__ = before  # type: ignore[method-assign, assignment]


def table_markdown(catalogue: Mapping[str, Fault]) -> str:
    """A catalogue as a Markdown table (docs, reports)."""
    rows = ["| knob | violates | deviation | observable |", "|---|---|---|---|"]
    for fault in catalogue.values():
        rows.append(f"| `{fault.name}` | {', '.join(fault.requirements)} | {fault.description} | {fault.observable} |")
    return "\n".join(rows)
