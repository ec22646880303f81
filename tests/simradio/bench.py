"""A simulated bench: the vendor-image profile of the reference PPMID, run by the independent ``SimRadio``.

``python -m tests.simradio.bench DIR`` writes it and prints the profile's path (README: "A simulated device
on virtual time")."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from harness.emulator.vendor_image import write_vendor_bench

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SIM_RADIO = "tests.simradio.sim_radio:SimRadio"


def write_sim_bench(directory: Path, *, latency_s: float = 0.0, report: bool = True) -> Path:
    """The profile of a simulated PPMID behind ``SimRadio`` on virtual time (its own images and keys); the
    device path names the profile itself (the simulation builds its device from it)."""
    profile = write_vendor_bench(directory, PROJECT_ROOT / "profiles" / "emulated-ppmid.yaml")
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    data["device"]["description"] = "Simulated PPMID (SimRadio, its own image format and keys) on virtual time"
    data["pics"]["GB.ADAPTER.ROGUE_NODE"] = False  # a simulation of one device has no second node
    pixit = data["pixit"]
    pixit["radio"] = SIM_RADIO
    pixit["clock"] = "virtual"
    pixit["device_path"] = f"sim://{profile}?latency={latency_s:g}&report={int(report)}"
    pixit["adapter"]["power_cycle_command"] = None  # the radio power-cycles its device in-process
    profile.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return profile


if __name__ == "__main__":
    print(write_sim_bench(Path(sys.argv[1]).resolve()))
