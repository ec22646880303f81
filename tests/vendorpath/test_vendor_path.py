"""The vendor-image path end to end: the reference emulators checking a manufacturer signature the suite
cannot make (``harness.emulator.vendor_image``), served the vendor's files (``images.*``). Every scenario that a
vendor-supplied image can serve runs and passes (CS-20 downgrade and same version, HG-20's second
distribution); what only the suite's convention can build is NOT_APPLICABLE with the reason, decided before the
run (``@needs:`` tags, ``--dry-run``); a profile whose images cannot serve is refused before a radio starts; and
the fault knobs stay caught on this path."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.emulator.vendor_image import (
    VendorSignatureCheck,
    build_vendor_image,
    new_vendor_key,
    public_key_pem,
    vendor_manufacturer_image,
    write_vendor_bench,
)
from harness.ota.manufacturer import ManufacturerStatus
from harness.profile import load_profile
from tests.lab.lab_support import RunResult, run_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROFILES = PROJECT_ROOT / "profiles"
CONVENTION_ONLY = {
    "The PPMID rejects an image signed with a key that is not its manufacturer's",
    "The PPMID rejects an image whose manufacturer signature is corrupt",
    "The PPMID rejects an image that carries no manufacturer signature",
}


def dry_run(tmp_path: Path, profile: Path) -> RunResult:
    return run_cli(tmp_path / "reports", "--profile", str(profile), "--dry-run")


def run_suite(tmp_path: Path, profile: Path, *extra: str) -> dict:
    result = run_cli(tmp_path / "reports", "--profile", str(profile), *extra)
    assert result.statement, result.out[-3000:] + result.err[-3000:]
    return {**result.statement, "exit_code": result.code}


def verdicts(model: dict) -> dict[str, str]:
    return {s["scenario"]: s["verdict"] for s in model["scenarios"]}


def test_the_vendor_signature_is_checked_for_its_identity_and_reports_like_the_convention() -> None:
    key = new_vendor_key()
    check = VendorSignatureCheck(public_key_pem(key))
    image = vendor_manufacturer_image(b"firmware" * 10, 0x121D, 0x0084, 0x01020301, key)
    assert check(image, 0x121D, 0x0084, 0x01020301).ok
    assert check(image, 0x121D, 0x0084, 0x01020302).status is ManufacturerStatus.WRONG_SIGNATURE  # version bound
    tampered = bytearray(image)
    tampered[3] ^= 1
    assert check(bytes(tampered), 0x121D, 0x0084, 0x01020301).status is ManufacturerStatus.WRONG_SIGNATURE
    assert check(b"firmware" * 10, 0x121D, 0x0084, 0x01020301).status is ManufacturerStatus.MISSING_TRAILER
    other = VendorSignatureCheck(public_key_pem(new_vendor_key()))
    assert not other(image, 0x121D, 0x0084, 0x01020301).ok
    file = build_vendor_image(key, manufacturer_code=0x121D, image_type=0x0084, file_version=0x01020301)
    assert file[:4] == bytes.fromhex("1ef1ee0b")  # an ordinary GB OTA file around it


def test_the_ppmid_passes_every_scenario_a_vendors_images_can_serve(tmp_path: Path) -> None:
    profile = write_vendor_bench(tmp_path / "bench", PROFILES / "emulated-ppmid.yaml")
    model = run_suite(tmp_path, profile)
    assert model["exit_code"] == 0 and model["run"]["image_source"].startswith("vendor")
    seen = verdicts(model)
    ppmid = {s["scenario"]: s for s in model["scenarios"] if "HCALCS feature" not in s["message"]}
    not_applicable = {name for name, s in ppmid.items() if s["verdict"] == "NOT_APPLICABLE"}
    assert not_applicable >= CONVENTION_ONLY
    assert seen["The device applies its declared downgrade policy to an older image"] == "PASS"  # images.older
    assert seen["The device does not download the firmware version it already runs"] == "PASS"  # images.running
    assert seen["The PPMID rejects an image whose Manufacturer Image has one bit changed"] == "PASS"
    assert (
        seen["After a failed activation the PPMID keeps its old firmware and says so in a CS09 failure alert"] == "PASS"
    )


def test_the_hcalcs_second_distribution_runs_with_the_vendors_second_image(tmp_path: Path) -> None:
    profile = write_vendor_bench(tmp_path / "bench", PROFILES / "emulated-hcalcs.yaml")
    model = run_suite(tmp_path, profile, "-k", "second or downloaded_image or without_the_supplier")
    assert model["exit_code"] == 0, [
        (s["scenario"], s["message"]) for s in model["scenarios"] if s["verdict"] != "PASS"
    ]
    ran = {name for name, verdict in verdicts(model).items() if verdict == "PASS"}
    assert {
        "A second, different image replaces the held one: CS06 with the first image's hash is a hash mismatch",
        "After a second distribution CS06 with the second image's hash activates the second image",
    } <= ran


def test_a_knob_stays_caught_on_the_vendor_path(tmp_path: Path) -> None:
    profile = write_vendor_bench(tmp_path / "bench", PROFILES / "emulated-ppmid.yaml")
    model = run_suite(tmp_path, profile, "--pixit", "emulator.faults=[accept-tampered-image]", "-k", "one_bit_changed")
    assert verdicts(model) == {"The PPMID rejects an image whose Manufacturer Image has one bit changed": "FAIL"}


def test_images_the_profile_does_not_give_are_not_applicable_before_the_run(tmp_path: Path) -> None:
    profile = write_vendor_bench(
        tmp_path / "bench", PROFILES / "emulated-ppmid.yaml", leave_out=("images.older", "images.running")
    )
    result = dry_run(tmp_path, profile)
    assert result.code == 0, result.out + result.err
    out = result.out
    assert "images: vendor (images.source: vendor, chosen in the profile)" in out
    downgrade = out.split("The device applies its declared downgrade policy to an older image\n", 1)[1]
    assert downgrade.startswith("      needs image:older: the profile gives no pixit.images.older")
    assert "needs image:running: the profile gives no pixit.images.running" in out
    assert "Will run (51):" in out and "NOT_APPLICABLE (38):" in out  # nothing started, nothing written


def test_an_image_of_the_running_version_is_never_used_as_older(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    profile = write_vendor_bench(bench, PROFILES / "emulated-ppmid.yaml")
    text = profile.read_text().replace(str(bench / "older.ota"), str(bench / "running.ota"))
    profile.write_text(text)
    result = dry_run(tmp_path, profile)
    assert result.code == 2, result.out  # the profile names an unusable image: fix it before a night
    assert "ERROR before it starts (1):" in result.out
    assert "is not lower than the running 0x01020300 (that is the same-version case: give it as " in result.out


def test_a_second_image_identical_to_the_first_is_refused_before_the_run(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    profile = write_vendor_bench(bench, PROFILES / "emulated-hcalcs.yaml")
    profile.write_text(profile.read_text().replace(str(bench / "second-newer.ota"), str(bench / "newer.ota")))
    result = dry_run(tmp_path, profile)
    assert result.code == 2 and "ERROR before it starts (3):" in result.out, result.out
    assert "has the same Manufacturer Image as pixit.images.newer" in result.out


@pytest.mark.parametrize("role", ["ppmid", "hcalcs"])
def test_the_dry_run_of_the_emulated_profiles_lists_what_a_run_does(tmp_path: Path, role: str) -> None:
    result = dry_run(tmp_path, PROFILES / f"emulated-{role}.yaml")
    assert result.code == 0, result.err
    runs = {"ppmid": 56, "hcalcs": 46}[role]
    assert f"Will run ({runs}):" in result.out and "ERROR before it starts (0):" in result.out
    assert "clock:  virtual (default for the loopback radio" in result.out


def test_a_bench_written_into_a_relative_folder_loads(tmp_path, monkeypatch):
    """`make variation` passes a relative reports folder: the profile's paths must not count it twice."""
    monkeypatch.chdir(tmp_path)
    profile = write_vendor_bench(Path("reports") / "bench", PROFILES / "emulated-hcalcs.yaml")
    loaded = load_profile(profile)
    assert Path(str(loaded.pixit_value("images.newer"))).is_file()
