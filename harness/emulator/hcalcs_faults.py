"""The reference HCALCS's fault knobs: deliberate, minimal deviations from the compliant HCALCS.

Same shape as ``harness.emulator.faults`` (the PPMID's catalogue): one frozen dataclass whose fields are the
knobs (off = compliant), each documented by the HG requirements of domain digest §8.2 it violates and by how
the suite observes it; ``HCALCS_FAULTS`` is derived from the dataclass, ``parse_hcalcs_faults`` takes the
kebab-case names of PIXIT ``emulator.faults``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.emulator.knobs import Fault, catalogue_of, knob, knobs_on, parse_knobs, table_markdown

_knob = knob


@dataclass(frozen=True)
class HcalcsFaultSet:
    """Which deviations the HCALCS emulator shows; all False = the compliant reference HCALCS."""

    skip_signature_check: bool = _knob(
        ("HG-07",),
        "Does not verify the supplier's signature on CS06 (MAC and counter are still checked).",
        "A CS06 whose signature was altered activates the held image (code 0 response).",
    )
    ignore_counter: bool = _knob(
        ("HG-15", "HG-07"),
        "Does not check the CS06 originator counter: neither that it exceeds the last accepted one nor that the "
        "payload's counter equals the header's.",
        "A replayed CS06 (same counter), or one with an older counter, is processed and answered again.",
    )
    activate_on_hash_mismatch: bool = _knob(
        ("HG-09", "HG-13", "HG-20"),
        "Activates the held image even when the CS06 hash differs from SHA-256 of the Manufacturer Image.",
        "CS06 with a wrong hash gets code 0 and the new version instead of code 2.",
    )
    self_activate: bool = _knob(
        ("HG-03",),
        "Activates the downloaded image on its own after Upgrade End Response, ignoring UpgradeTime 0xFFFFFFFF.",
        "The running version changes without any CS06.",
    )
    report_new_version_before_activation: bool = _knob(
        ("HG-03", "HG-10", "HG-17"),
        "CS08 reports the held (not yet activated) image's version as the running firmware version.",
        "After a download, CS08 carries the downloaded version while the old image still runs.",
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
        ("HG-04", "HG-05"),
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

    skip_mac_check: bool = _knob(
        ("HG-07",),
        "Does not verify the ACB's MAC on CS06 (nor require the General Ciphered wrapper).",
        "A CS06 whose MAC was altered, or that has none, activates the held image (code 0 response).",
    )
    accept_bad_supplier_signature: bool = _knob(
        ("HG-05", "CS-08"),
        "Does not check the supplier signature over a downloaded Manufacturer Image.",
        "A tampered image gets 0x8F72 and is held; CS06 with its hash activates it.",
    )
    claim_success_on_activation_failure: bool = _knob(
        ("HG-10",),
        "When the activation of a matching image fails, answers code 0 with the new version.",
        "CS06 for an image that cannot be activated gets code 0 while CS08 still reports the old version.",
    )
    execute_future_dated_at_once: bool = _knob(
        ("HG-12", "HG-13", "HG-14"),
        "Executes a future-dated CS06 on receipt instead of at its executionDateTime.",
        "The response to a future-dated CS06 carries an executionOutcome and the new version runs at once.",
    )
    future_dated_failure_alerts_success: bool = _knob(
        ("HG-13",),
        "A future-dated CS06 that fails at its time raises 0x8F66 (success) instead of 0x8F67.",
        "The 0x00CA alert for a future-dated CS06 with a wrong hash has alert code 0x8F66.",
    )
    ignore_cancellation: bool = _knob(
        ("HG-14",),
        "A CS06 dated 9999-12-31T23:59:59Z does not cancel the pending future-dated CS06.",
        "The cancelled activation still happens at its original time, with its 0x00CA alert.",
    )
    cs08_read_failure: bool = _knob(
        ("HG-17",),
        "Answers every CS08 with readFailure (1) and firmwareVersion 00000000.",
        "The CS08 response has responseCode 1 though the version can be read.",
    )
    corrupt_alert_signature: bool = _knob(
        ("HG-04", "HG-12", "HG-19", "CS-19"),
        "Signs its alerts with one octet of the signature changed.",
        "The receipt and future-dated alerts' signatures do not verify with the HCALCS's DS certificate.",
    )

    no_image_zero_version: bool = _knob(
        ("HG-08", "HG-13"),
        "Reports firmwareVersion 00000000 with noImageHeld instead of the version running.",
        "A CS06 (or a future-dated CS06 at its time) while no image is held carries version 00000000.",
    )
    corrupt_response_signature: bool = _knob(
        ("HG-11",),
        "Signs its CS06 responses with one octet of the signature changed.",
        "The CS06 response's signature does not verify with the HCALCS's DS certificate.",
    )
    cs08_short_version: bool = _knob(
        ("CS-18", "HG-17"),
        "CS08 reports the firmware version in 3 octets (its first octet dropped).",
        "The CS08 response's firmwareVersion is not 4 octets.",
    )
    cs08_stale_version: bool = _knob(
        ("HG-11", "HG-17"),
        "CS08 reports the version the device was manufactured with, even after an activation.",
        "After a successful CS06, CS08 still carries the old version.",
    )

    obey_zigbee_upgrade_now: bool = _knob(
        ("HG-03",),
        "Activates the held image when the CH (its trust centre) sends an Upgrade End Response with UpgradeTime "
        "now over Zigbee.",
        "After the CH's 'upgrade now', the running version changes without any CS06.",
    )
    lose_held_image_on_power_cycle: bool = _knob(
        ("HG-11", "HG-12"),
        "Keeps the held image in RAM only.",
        "After a power cycle, CS06 for the downloaded image gets noImageHeld (1) instead of success.",
    )

    no_8f43_alert: bool = _knob(
        ("HG-19",),
        "Raises no 0x8F43 alert after a firmware activation although configured (PICS) to.",
        "No alert with alert code 0x8F43 arrives after a successful CS06.",
    )
    alert_8f43_under_receipt_code: bool = _knob(
        ("HG-19",),
        "Sends 0x8F43 under the receipt alert's message code (0x00CF) without the hash that code always "
        "carries, not under the declared message code (a Generic Non-Critical Alert by default).",
        "The 0x8F43 alert arrives under 0x00CF, which the DCC's parser cannot decode; none under the declared code.",
    )

    @property
    def names(self) -> tuple[str, ...]:
        return knobs_on(self, HCALCS_FAULTS)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __str__(self) -> str:
        return ", ".join(self.names) or "compliant (no faults)"


#: The HCALCS knobs use the shared ``Fault`` record.
HcalcsFault = Fault

#: Every HCALCS knob by kebab-case name.
HCALCS_FAULTS: Mapping[str, Fault] = catalogue_of(HcalcsFaultSet)

#: The compliant HCALCS.
HCALCS_COMPLIANT = HcalcsFaultSet()


def parse_hcalcs_faults(names: Iterable[str] | HcalcsFaultSet | None) -> HcalcsFaultSet:
    """An ``HcalcsFaultSet`` from knob names; an unknown name is a ConfigurationError naming the closest."""
    return parse_knobs(names, HcalcsFaultSet, HCALCS_FAULTS, "HCALCS")


def hcalcs_fault_table_markdown() -> str:
    return table_markdown(HCALCS_FAULTS)
