"""The reference HCALCS's fault knobs: deliberate, minimal deviations from the compliant HCALCS.

Same shape as ``harness.emulator.faults`` (the PPMID's catalogue): one frozen dataclass whose fields are the
knobs (off = compliant), each documented by the HG requirements of domain digest §8.2 it violates and by how
the suite observes it; ``HCALCS_FAULTS`` is derived from the dataclass, ``parse_hcalcs_faults`` takes the
kebab-case names of PIXIT ``emulator.faults``.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from harness.errors import ConfigurationError


def _knob(requirements: tuple[str, ...], description: str, observable: str) -> Any:
    return field(
        default=False,
        metadata={"requirements": requirements, "description": description, "observable": observable},
    )


@dataclass(frozen=True)
class HcalcsFaultSet:
    """Which deviations the HCALCS emulator shows; all False = the compliant reference HCALCS."""

    skip_signature_check: bool = _knob(
        ("HG-07",),
        "Does not verify the supplier's signature on CS06 (MAC and counter are still checked).",
        "A CS06 whose signature was altered activates the held image (code 0 response).",
    )
    ignore_counter: bool = _knob(
        ("HG-15",),
        "Does not require the CS06 originator counter to exceed the last accepted one.",
        "A replayed CS06 (same counter) is processed and answered again.",
    )
    activate_on_hash_mismatch: bool = _knob(
        ("HG-09",),
        "Activates the held image even when the CS06 hash differs from SHA-256 of the Manufacturer Image.",
        "CS06 with a wrong hash gets code 0 and the new version instead of code 2.",
    )
    self_activate: bool = _knob(
        ("HG-03",),
        "Activates the downloaded image on its own after Upgrade End Response, ignoring UpgradeTime 0xFFFFFFFF.",
        "The running version changes without any CS06.",
    )
    report_new_version_before_activation: bool = _knob(
        ("HG-11", "HG-08"),
        "Reports the held (not yet activated) image's version as the current firmware version.",
        "CS08 (and a CS06 code 1/2 response) carry the downloaded version while the old image still runs.",
    )
    forget_future_dated_on_power_cycle: bool = _knob(
        ("HG-12",),
        "Keeps a pending future-dated CS06 in RAM only.",
        "After a power cycle no 0x00CA alert comes at the execution time and nothing is activated.",
    )
    hash_first_image: bool = _knob(
        ("HG-20",),
        "A second distributed image does not replace the held one: activation keeps using the first.",
        "CS06 with the second image's hash gets code 2; with the first image's hash it activates it.",
    )
    no_receipt_alert: bool = _knob(
        ("HG-04",),
        "Sends no Firmware Distribution Receipt Alert after a download.",
        "No 0x8F72 (nor 0x8F1C) alert arrives after the last block.",
    )
    keep_unverified_image: bool = _knob(
        ("HG-05",),
        "After an image whose supplier signature fails (0x8F1C is still sent) the image stays held.",
        "CS06 with the tampered image's hash gets code 0 instead of code 1.",
    )
    lose_load_switch_state: bool = _knob(
        ("HG-18",),
        "Activation resets the load-switch state to off.",
        "The load-switch attribute reads off after an activation that started with it on.",
    )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, fault in HCALCS_FAULTS.items() if getattr(self, fault.attribute))

    def __bool__(self) -> bool:
        return bool(self.names)

    def __str__(self) -> str:
        return ", ".join(self.names) or "compliant (no faults)"


@dataclass(frozen=True)
class HcalcsFault:
    name: str
    attribute: str
    description: str
    requirements: tuple[str, ...]
    observable: str


def _catalogue() -> Mapping[str, HcalcsFault]:
    faults = {}
    for f in dataclasses.fields(HcalcsFaultSet):
        name = f.name.replace("_", "-")
        faults[name] = HcalcsFault(
            name, f.name, f.metadata["description"], f.metadata["requirements"], f.metadata["observable"]
        )
    return MappingProxyType(faults)


#: Every HCALCS knob by kebab-case name.
HCALCS_FAULTS: Mapping[str, HcalcsFault] = _catalogue()

#: The compliant HCALCS.
HCALCS_COMPLIANT = HcalcsFaultSet()


def parse_hcalcs_faults(names: Iterable[str] | HcalcsFaultSet | None) -> HcalcsFaultSet:
    """An ``HcalcsFaultSet`` from knob names; an unknown name is a ConfigurationError naming the closest."""
    if names is None:
        return HCALCS_COMPLIANT
    if isinstance(names, HcalcsFaultSet):
        return names
    if isinstance(names, str):
        names = [names]
    chosen: dict[str, bool] = {}
    for raw in names:
        name = str(raw).strip()
        fault = HCALCS_FAULTS.get(name) or HCALCS_FAULTS.get(name.replace("_", "-").lower())
        if fault is None:
            close = difflib.get_close_matches(name, list(HCALCS_FAULTS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigurationError(
                f"pixit.emulator.faults: unknown HCALCS fault knob {name!r}.{hint} "
                f"Known knobs: {', '.join(HCALCS_FAULTS)}"
            )
        chosen[fault.attribute] = True
    return HcalcsFaultSet(**chosen)


def hcalcs_fault_table_markdown() -> str:
    rows = ["| knob | violates | deviation | observable |", "|---|---|---|---|"]
    for f in HCALCS_FAULTS.values():
        rows.append(f"| `{f.name}` | {', '.join(f.requirements)} | {f.description} | {f.observable} |")
    return "\n".join(rows)
