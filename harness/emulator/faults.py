"""The reference emulator's fault knobs: deliberate, documented deviations from a compliant OTA client.

Why: a conformance suite is only trustworthy if it *fails* a device that breaks a requirement. Every knob
below turns one behaviour of the compliant emulator into a minimal deviation that violates exactly the
device-bound requirement(s) it names (IDs of the domain digest §8 / ``harness/requirements/catalogue.yaml``),
so a run of the suite against the emulator with that knob switched on must FAIL the scenarios tagged with
those IDs (and pass the rest).

The design follows zigbee-herdsman's ``OtaDeviceBehavior``: one typed, documented configuration object
(``FaultSet``) whose defaults are the compliant behaviour. Each knob is one boolean field; its kebab-case
name, description, requirement IDs and the observable deviation are the field's metadata, so the catalogue
(``FAULTS``) is derived from the dataclass and cannot drift from it. Profiles switch knobs on by name
(PIXIT ``emulator.faults``), parsed by ``parse_faults``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.emulator.knobs import Fault, catalogue_of, knob, knobs_on, parse_knobs, table_markdown

_knob = knob


@dataclass(frozen=True)
class FaultSet:
    """Which deviations the emulator shows; all False = the compliant reference device."""

    # -- image verification --------------------------------------------------------------------------
    accept_tampered_image: bool = _knob(
        ("CS-08", "PZ-14"),
        "Skips the manufacturer-signature check of the Manufacturer Image.",
        "An image with one bit flipped in its Manufacturer Image gets Upgrade End Request SUCCESS.",
    )
    accept_unsigned_image: bool = _knob(
        ("PZ-14",),
        "Accepts a Manufacturer Image without the manufacturer-signature trailer (a trailer that is present "
        "is still checked).",
        "An image built without a manufacturer signature gets Upgrade End Request SUCCESS.",
    )
    accept_bad_header: bool = _knob(
        ("CS-03", "CS-04", "CS-05"),
        "Skips the file identifier, header version, Header Length and Total Image Size checks: the body "
        "starts at Header Length when that points inside the file (else after the 60-octet GB header) and "
        "runs to the end of the download; the manufacturer signature of what it finds there is still checked.",
        "An image with a wrong file identifier gets Upgrade End Request SUCCESS.",
    )
    success_for_invalid_image: bool = _knob(
        ("PZ-14",),
        "Reports SUCCESS instead of INVALID_IMAGE when the manufacturer signature does not verify (header "
        "defects still get INVALID_IMAGE; the image is discarded and never activated either way).",
        "A tampered image gets Upgrade End Request SUCCESS; the running version does not change.",
    )
    premature_upgrade_end: bool = _knob(
        ("PZ-13",),
        "Sends Upgrade End Request SUCCESS when it requests the last block, before it has all octets and "
        "before verification (then completes, verifies and reports again as usual).",
        "An Upgrade End Request SUCCESS precedes the Image Block Request for the last block.",
    )
    brick_on_failed_update: bool = _knob(
        ("CS-09",),
        "A failed update leaves the device dead: after a failed verification (once it has sent "
        "INVALID_IMAGE) or a download the server aborted, it answers nothing any more, Basic reads included.",
        "After Upgrade End Request INVALID_IMAGE or a server ABORT, Read Attributes of Basic / OTA time out.",
    )
    require_zigbee_subelements: bool = _knob(
        ("CS-07",),
        "Expects the Zigbee sub-element format after the OTA header: a GB image (Upgrade Image directly "
        "after the header) fails its verification.",
        "A valid GB image gets Upgrade End Request INVALID_IMAGE.",
    )
    # -- discovery and image selection ---------------------------------------------------------------
    ignore_image_type: bool = _knob(
        ("CS-06",),
        "Accepts a Query Next Image Response whose image type is not its own.",
        "Image Block Requests follow a Query Next Image Response for another image type.",
    )
    ignore_manufacturer_code: bool = _knob(
        ("CS-06",),
        "Accepts a Query Next Image Response whose manufacturer code is not its own.",
        "Image Block Requests follow a Query Next Image Response for another manufacturer code.",
    )
    accept_downgrade: bool = _knob(
        ("CS-20",),
        "Has no version policy: downloads and installs a lower file version whatever the declared policy, "
        "and the version it already runs again.",
        "Image Block Requests follow a Query Next Image Response offering a lower or the running version.",
    )
    accept_oversized_image: bool = _knob(
        ("CS-15",),
        "Ignores its storage capacity: starts a download whatever ImageSize the server advertises.",
        "Image Block Requests follow a Query Next Image Response whose ImageSize exceeds the storage.",
    )
    ignore_unicast_image_notify: bool = _knob(
        ("PZ-27",),
        "Does not query after a unicast Image Notify.",
        "No Query Next Image Request follows a unicast Image Notify.",
    )
    ignore_broadcast_image_notify: bool = _knob(
        ("PZ-27",),
        "Never queries after a broadcast Image Notify, even one for its identity with jitter 100.",
        "No Query Next Image Request follows a broadcast Image Notify with jitter 100 for its own image.",
    )
    query_on_any_broadcast_notify: bool = _knob(
        ("PZ-27",),
        "Queries after every broadcast Image Notify, skipping the jitter range, identity and version checks "
        "and the random draw.",
        "A broadcast Image Notify with jitter 0 (or another manufacturer) is followed by a query.",
    )
    # -- download -------------------------------------------------------------------------------------
    accept_wrong_offset: bool = _knob(
        ("PZ-11",),
        "Stores an Image Block Response whose FileOffset differs from the requested one as if it were the "
        "requested block.",
        "After a response for the wrong offset the next request is for the following offset.",
    )
    accept_oversized_block: bool = _knob(
        ("PZ-12",),
        "Stores an Image Block Response carrying more data than the MaxDataSize it requested.",
        "After an oversized response the next request's offset advances by the oversized length.",
    )
    accept_wrong_identity_block: bool = _knob(
        ("PZ-12",),
        "Stores an Image Block Response whose manufacturer code, image type or file version differs from "
        "the file being downloaded.",
        "After a response for another file the next request is for the following offset.",
    )
    restart_from_zero_after_lost_block: bool = _knob(
        ("PZ-31",),
        "When no response at all came for a block request it discards what it has and starts again from "
        "offset 0 (a response it received and dropped is still re-requested at the same offset).",
        "The request after a withheld response is for offset 0.",
    )
    skip_offset_after_lost_block: bool = _knob(
        ("PZ-31",),
        "When no response at all came for a block request it moves on to the next offset, leaving a hole in "
        "the image (a response it received and dropped is still re-requested at the same offset).",
        "The request after a withheld response is for the withheld offset plus one block.",
    )
    resume_from_wrong_offset: bool = _knob(
        ("PZ-26",),
        "After a power cycle it resumes one block beyond the offset it had persisted (a hole in the image).",
        "The first request after a power cycle is for an offset it never received.",
    )
    ignore_wait_for_data: bool = _knob(
        ("PZ-09", "CS-16"),
        "Treats WAIT_FOR_DATA like a lost response: re-requests after its own short response timeout, "
        "ignoring RequestTime and MinimumBlockPeriod (so it neither tolerates an endless WAIT_FOR_DATA nor "
        "honours one).",
        "The block is re-requested seconds after WAIT_FOR_DATA instead of after RequestTime; later requests "
        "are not spaced; after its retry limit it aborts long before its wait-for-data limit.",
    )
    ignore_minimum_block_period: bool = _knob(
        ("PZ-09",),
        "Ignores the MinimumBlockPeriod a WAIT_FOR_DATA response sets: requests back to back.",
        "Block requests after a WAIT_FOR_DATA with MinimumBlockPeriod are not spaced by it.",
    )
    wrong_min_block_period_unit: bool = _knob(
        ("CS-17",),
        "Reads MinimumBlockPeriod in the other unit than it declares (seconds instead of milliseconds, or "
        "milliseconds instead of seconds).",
        "Block requests are spaced 1000 times too far apart (or too close).",
    )
    hang_on_wait_for_data: bool = _knob(
        ("CS-16",),
        "Never gives up on a server that keeps answering WAIT_FOR_DATA (no wait-for-data limit).",
        "After the wait-for-data limit the device is still Download in progress and still asking.",
    )
    # -- activation -----------------------------------------------------------------------------------
    reject_wildcard_upgrade_end_response: bool = _knob(
        ("PZ-20",),
        "Knows no wildcards: an Upgrade End Response with 0xFFFF / 0xFFFFFFFF identity fields is treated as "
        "one for another file (INVALID_VALUE, no activation).",
        "A wildcard Upgrade End Response 'now' does not make it activate.",
    )
    accept_mismatched_upgrade_end_response: bool = _knob(
        ("PZ-20",),
        "Acts on an Upgrade End Response whose identity neither matches the downloaded file nor is the wildcard.",
        "An Upgrade End Response for another file version makes the device activate.",
    )
    activate_on_wait_upgrade_time: bool = _knob(
        ("PZ-21",),
        "Treats UpgradeTime 0xFFFFFFFF as 'now' and activates.",
        "The running version changes although the server said to wait.",
    )
    activate_before_upgrade_time: bool = _knob(
        ("PZ-21",),
        "Ignores a future UpgradeTime: activates at once instead of counting down.",
        "The running version changes long before UpgradeTime.",
    )
    ignore_upgrade_now: bool = _knob(
        ("PZ-21",),
        "While waiting after UpgradeTime 0xFFFFFFFF it acts only on answers to its own Upgrade End Requests "
        "(same TSN): the server's unsolicited 'upgrade now' is ignored.",
        "An unsolicited Upgrade End Response with UpgradeTime = CurrentTime does not make it activate.",
    )
    no_upgrade_end_reask: bool = _knob(
        ("PZ-21",),
        "Never re-sends Upgrade End Request while waiting after UpgradeTime 0xFFFFFFFF.",
        "No Upgrade End Request for hours while Waiting to upgrade.",
    )
    report_new_version_without_activating: bool = _knob(
        ("PZ-24", "PZ-29"),
        "When told to activate it only sets the CurrentFileVersion attribute to the new version (and, with GBCS, "
        "raises the CS09 success alert for it): it does not reboot into the new image, so the version it runs "
        "(Query Next Image Request, Basic SWBuildID, CS08) stays the old one.",
        "CurrentFileVersion says new while the next Query Next Image Request and SWBuildID say old; no "
        "Device_annce follows the activation.",
    )
    non_atomic_activation: bool = _knob(
        ("CS-10",),
        "Activation is not power-safe: it starts overwriting the running image as soon as it is told when to "
        "activate, so a power cut from then until the new image runs leaves a half-written image that does "
        "not boot.",
        "After a power cycle once the Communications Hub has told it to activate, the device never answers again.",
    )
    lose_image_on_power_cycle: bool = _knob(
        ("PZ-32",),
        "Keeps a verified image awaiting activation in RAM only: a power cycle loses it.",
        "After a power cycle while waiting to activate, no Upgrade End Request is re-sent.",
    )
    status_stuck: bool = _knob(
        ("PZ-25",),
        "ImageUpgradeStatus reports Download in progress for every non-Normal state (never Download "
        "complete, Waiting to upgrade or Count down).",
        "ImageUpgradeStatus reads 1 after the Upgrade End Request SUCCESS.",
    )
    # -- robustness and trust ------------------------------------------------------------------------
    crash_on_malformed_frame: bool = _knob(
        ("CS-14",),
        "A malformed OTA frame 'crashes' the device: after answering MALFORMED_COMMAND it answers nothing any more.",
        "After a truncated response, Read Attributes time out.",
    )
    requery_without_pause: bool = _knob(
        ("CS-22",),
        "Answers a Query Next Image Response that offers nothing (NO_IMAGE_AVAILABLE) with a new Query Next Image "
        "Request at once instead of at its query interval: a ping-pong with the Communications Hub.",
        "Query Next Image Requests back to back after the hub's NO_IMAGE_AVAILABLE: the scenario ends at the "
        "frame cap, 'the device flooded the hub'.",
    )
    accept_rogue_server: bool = _knob(
        ("CS-12",),
        "Accepts OTA server commands (Image Notify, responses, 'upgrade now') from any node, not only from "
        "the Communications Hub.",
        "A unicast Image Notify from a rogue node is followed by a Query Next Image Request.",
    )
    # -- GBCS: CS09 alert and CS08 read (harness.emulator.gbcs_device) -------------------------------
    no_cs09_alert: bool = _knob(
        ("PZ-22", "PZ-23"),
        "Sends no CS09 Firmware Activation Alert after an activation attempt.",
        "No CS09 alert arrives through the tunnel after activation.",
    )
    cs09_bad_signature: bool = _knob(
        ("PZ-22", "PZ-23", "CS-19"),
        "Signs the CS09 alert with a corrupted signature (first octet of r inverted).",
        "The CS09 alert's signature does not verify with the PPMID's DS certificate.",
    )
    cs09_failure_claims_success: bool = _knob(
        ("PZ-23",),
        "After an activation that failed, CS09 says activationResult 0 (success) with the old version.",
        "The CS09 alert after an image that cannot be activated carries success instead of failure (1).",
    )
    cs09_reports_old_version: bool = _knob(
        ("PZ-22", "PZ-29"),
        "The CS09 success alert carries the version that ran before the activation.",
        "CS09 firmwareVersion differs from the new file version.",
    )
    cs08_short_version: bool = _knob(
        ("CS-18", "PZ-28"),
        "CS08 reports the firmware version in 3 octets (its first octet dropped).",
        "The CS08 response's firmwareVersion is not 4 octets.",
    )
    cs08_stale_version: bool = _knob(
        ("PZ-28", "PZ-29"),
        "Answers CS08 with the version it was manufactured with, not the running one.",
        "After an update, CS08 firmwareVersion is the old version.",
    )
    cs08_ignores_mac: bool = _knob(
        ("PZ-28",),
        "Answers a CS08 command whose MAC does not verify.",
        "A CS08 command with a corrupted MAC gets a response.",
    )
    cs08_bad_response_mac: bool = _knob(
        ("PZ-28",),
        "Answers CS08 with a General Ciphered response whose MAC is corrupted (last octet inverted).",
        "The CS08 response's MAC does not verify with the ACB/PPMID key-agreement pair.",
    )

    @property
    def names(self) -> tuple[str, ...]:
        """The kebab-case names of the knobs switched on, in catalogue order."""
        return knobs_on(self, FAULTS)

    def __bool__(self) -> bool:
        return bool(self.names)

    def __str__(self) -> str:
        return ", ".join(self.names) or "compliant (no faults)"


#: Every knob by kebab-case name (the names PIXIT ``emulator.faults`` takes).
FAULTS: Mapping[str, Fault] = catalogue_of(FaultSet)

#: The compliant device.
COMPLIANT = FaultSet()


def parse_faults(names: Iterable[str] | FaultSet | None) -> FaultSet:
    """A ``FaultSet`` from knob names; an unknown name is a ConfigurationError naming it (and the closest)."""
    return parse_knobs(names, FaultSet, FAULTS, "PPMID")


def fault_table_markdown() -> str:
    """The catalogue as a Markdown table (docs, reports)."""
    return table_markdown(FAULTS)
