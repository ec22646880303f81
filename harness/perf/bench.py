"""`make bench`: measure transfer throughput and suite wall time, write ``reports/bench.json``.

Benchmarks, not timed tests: nothing here passes or fails on speed. The numbers are quoted in README.md.

- ``transfer_256k_*``: a 256 KiB image in 48-octet blocks from the suite's Communications Hub to the
  reference PPMID through the full path (DUT adapter, CH hub, transcript, radio glue, zigpy, loopback
  radio) on the virtual clock: wall time, modelled air time (``harness.perf.airtime``) and their ratio;
- ``block_round_trips_per_s``: Image Block Request/Response pairs per second of wall time in that run;
- ``suite_wall_s``: ``ota-conformance run`` of every feature against the emulator, as a subprocess.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from harness import __version__
from harness.clock import Budget, VirtualClock
from harness.crypto.pki import TestPki
from harness.dut import DutAdapter
from harness.dut.images import ScenarioImage, ScenarioImages
from harness.ota.factory import ImageSpec, build_image
from harness.perf.airtime import transcript_air_s
from harness.profile import load_run_profile

TRANSFER_PAYLOAD = 256 * 1024 - 200  # the whole OTA file stays within the emulated PPMID's 256 KiB storage
BLOCK_SIZE = 48


async def _transfer(clock: VirtualClock) -> dict[str, float]:
    profile = load_run_profile(None, {"pixit.ota.max_block_size": str(BLOCK_SIZE)})
    pki = TestPki.generate()
    keystore = pki.keystore()
    images = ScenarioImages(profile, pki, keystore)
    spec = ImageSpec(
        manufacturer_code=int(profile.pixit_value("dut.manufacturer_code")),
        image_type=int(profile.pixit_value("dut.image_type")),
        file_version=images.running_version + 1,
        payload_size=TRANSFER_PAYLOAD,
        layout=images.layout,
    )
    data = build_image(spec, manufacturer_key=keystore.private_key(pki.party("manufacturer").eui, "ds"))
    dut = DutAdapter(profile, clock, keystore)
    await dut.start()
    try:
        await dut.join(Budget("join", 60))
        image = ScenarioImage(data, spec.manufacturer_code, spec.image_type, spec.file_version, "bench 256 KiB")
        dut.hub.hold(image.held())
        mark = dut.transcript.mark()
        started = time.perf_counter()
        virtual_start = clock.now()
        await dut.hub.notify_image(unicast=True)
        end = await dut.transcript.wait_for(
            lambda e: e.matches("upgrade_end") and e.cluster_id == 0x0019, Budget("download", 24 * 3600), since=mark
        )
        wall = time.perf_counter() - started
        if end is None:
            raise RuntimeError("the 256 KiB transfer did not complete")
        entries = dut.transcript.since(mark)
        blocks = len(dut.transcript.ota_requests("image_block", since=mark))
        air = transcript_air_s(entries)
        return {
            "transfer_256k_octets": len(data),
            "transfer_256k_blocks": blocks,
            "transfer_256k_wall_s": round(wall, 3),
            "transfer_256k_virtual_s": round(clock.now() - virtual_start, 3),
            "transfer_256k_air_s": round(air, 1),
            "transfer_air_to_wall_ratio": round(air / wall, 1),
            "block_round_trips_per_s": round(blocks / wall, 1),
        }
    finally:
        await dut.stop()


def _suite_wall_s(project_root: Path, reports_dir: Path) -> dict[str, float | int]:
    cli = Path(sys.executable).parent / "ota-conformance"
    started = time.perf_counter()
    proc = subprocess.run(
        [str(cli), "run", "--reports-dir", str(reports_dir), "--run-id", "bench-suite"],
        cwd=project_root,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    statement = json.loads((reports_dir / "bench-suite" / "conformance.json").read_text())
    return {
        "suite_wall_s": round(wall, 2),
        "suite_scenarios": len(statement["scenarios"]),
        "suite_exit_code": proc.returncode,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.perf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="reports/bench.json")
    args = parser.parse_args(argv)
    logging.getLogger("zigpy").setLevel(logging.WARNING)
    project_root = Path(__file__).resolve().parents[2]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    clock = VirtualClock()
    results: dict[str, object] = clock.loop.run_until_complete(
        clock.run_until_complete(_transfer(clock), Budget("bench transfer", 48 * 3600))
    )
    clock.loop.close()
    results.update(_suite_wall_s(project_root, output.parent))
    results.update(
        {
            "suite_version": __version__,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        }
    )
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
