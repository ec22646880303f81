"""`make bench`: the suite's OTA path as a ratio against zigpy's own OTA server, written to ``reports/bench.json``.

Benchmarks, not timed tests: nothing here passes or fails on speed. The numbers are quoted in README.md.

Why ratios: the machine is shared, so an absolute time says as much about the neighbours as about the
suite. Every figure that matters is therefore taken against a reference in the same process, interleaved
(suite, zigpy, suite, zigpy, ...), with CPU time next to wall time and the load average before and after:

- ``transfer_256k``: a 256 KiB image in 48-octet blocks to the reference PPMID on the loopback radio, served
  by the suite's full path and by zigpy's OTA server (``harness.perf.transfers``), ``--rounds`` times each:
  wall and CPU seconds (median, range), block round trips per second; ``ratio_cpu_suite_over_zigpy`` and
  ``ratio_wall_suite_over_zigpy`` are the ratios of the medians;
- ``block_answer_ms``: the host-side wall time from an Image Block Request reaching the coordinator to its
  response being handed to the radio (``harness.perf.probe``), p50/p99/p99.9/max over a 1 MiB transfer
  served by the suite, with the number of full garbage collections meanwhile (``block_answer_ms_zigpy``:
  the same for zigpy's server; ``block_answer_cpu_ms*``: the same spans in the thread's CPU time, which
  other programs' time slices on a shared machine do not inflate);
- ``transfer_1m.tracemalloc_peak_mb``: the peak of the memory Python allocated during a 1 MiB transfer
  served by the suite (``tracemalloc``, started just before the adapter; imports are not counted);
- ``conformance_run``: ``ota-conformance run`` of each emulated profile, as a subprocess: wall and CPU.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.clock import Budget, VirtualClock
from harness.perf import gc_policy
from harness.perf.probe import BlockAnswerProbe
from harness.perf.transfers import BLOCK_SIZE, BenchSetup, Server, TransferResult, transfer

SMALL_FILE = 256 * 1024
LARGE_FILE = 1024 * 1024
WARM_UP_FILE = 16 * 1024
PROFILES = {"ppmid": "profiles/emulated-ppmid.yaml", "hcalcs": "profiles/emulated-hcalcs.yaml"}


def run_transfer(setup: BenchSetup, server: Server, probe: BlockAnswerProbe | None = None) -> TransferResult:
    """One transfer on a fresh virtual clock. Every round starts alike, as a scenario of a run does: the
    last round's garbage collected, the survivors frozen (``gc_policy.settle``)."""
    gc_policy.settle()
    clock = VirtualClock()
    try:
        return clock.loop.run_until_complete(
            clock.run_until_complete(transfer(clock, setup, server, probe), Budget("bench transfer", 48 * 3600))
        )
    finally:
        clock.loop.close()


def spread(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """Median and range of a few measurements, and the measurements themselves."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "values": [round(v, digits) for v in values],
    }


def interleaved(setup: BenchSetup, rounds: int, log: Callable[[str], None]) -> dict[str, Any]:
    """``rounds`` × (suite, zigpy) on the same image; medians, ranges and the suite/zigpy ratios."""
    results: dict[Server, list[TransferResult]] = {Server.SUITE: [], Server.ZIGPY: []}
    for number in range(1, rounds + 1):
        for server in (Server.SUITE, Server.ZIGPY):
            result = run_transfer(setup, server)
            results[server].append(result)
            log(f"round {number}/{rounds} {server.value:5}: {result.wall_s:.2f} s wall, {result.cpu_s:.2f} s CPU")
    section: dict[str, Any] = {"octets": len(setup.image.data), "block_size": BLOCK_SIZE, "rounds": rounds}
    for server, runs in results.items():
        section[server.value] = {
            "blocks": runs[0].blocks,
            "wall_s": spread([r.wall_s for r in runs]),
            "cpu_s": spread([r.cpu_s for r in runs]),
            "block_round_trips_per_s": spread([r.round_trips_per_s for r in runs], 1),
            "virtual_s": round(runs[0].virtual_s, 3),
        }
    air = results[Server.SUITE][0].air_s
    if air is not None:
        section["suite"]["air_s"] = round(air, 1)
    suite, zigpy = results[Server.SUITE], results[Server.ZIGPY]
    paired_cpu = [s.cpu_s / z.cpu_s for s, z in zip(suite, zigpy, strict=True)]
    paired_wall = [s.wall_s / z.wall_s for s, z in zip(suite, zigpy, strict=True)]
    section["paired_ratio_cpu"] = spread(paired_cpu)
    section["paired_ratio_wall"] = spread(paired_wall)
    return section


def block_answer_latency(setup: BenchSetup, server: Server) -> tuple[BlockAnswerProbe, TransferResult]:
    probe = BlockAnswerProbe()
    result = run_transfer(setup, server, probe)
    return probe, result


def traced_peak_mb(setup: BenchSetup) -> float:
    """The tracemalloc peak of one suite transfer (its own run: tracing slows everything down)."""
    gc_policy.settle()
    tracemalloc.start()
    try:
        run_transfer(setup, Server.SUITE)
        return round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    finally:
        tracemalloc.stop()


def conformance_run(project_root: Path, reports_dir: Path, role: str) -> dict[str, Any]:
    """``ota-conformance run`` of one emulated profile as a subprocess: wall, CPU (user + system)."""
    cli = Path(sys.executable).parent / "ota-conformance"
    run_id = f"bench-{role}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [str(cli), "run", "--profile", PROFILES[role], "--reports-dir", str(reports_dir), "--run-id", run_id],
        cwd=project_root,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    statement = json.loads((reports_dir / run_id / "conformance.json").read_text())
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2),
        "scenarios": len(statement["scenarios"]),
        "exit_code": proc.returncode,
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.perf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="reports/bench.json")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved suite/zigpy rounds (default 5)")
    parser.add_argument("--skip-runs", action="store_true", help="leave out the ota-conformance runs")
    args = parser.parse_args(argv)
    logging.getLogger("zigpy").setLevel(logging.WARNING)
    project_root = Path(__file__).resolve().parents[2]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    results: dict[str, Any] = {"load_average_before": load_average()}
    log(f"load average {results['load_average_before']}; building the images")
    small = BenchSetup(SMALL_FILE)
    large = BenchSetup(LARGE_FILE, small.pki)
    warm_up = BenchSetup(WARM_UP_FILE, small.pki)
    for server in Server:  # first calls (imports, caches) must not land in the first measured round
        run_transfer(warm_up, server)

    section = interleaved(small, args.rounds, log)
    results["transfer_256k"] = section
    suite, zigpy = section["suite"], section["zigpy"]
    results["ratio_cpu_suite_over_zigpy"] = round(suite["cpu_s"]["median"] / zigpy["cpu_s"]["median"], 3)
    results["ratio_wall_suite_over_zigpy"] = round(suite["wall_s"]["median"] / zigpy["wall_s"]["median"], 3)
    log(f"CPU ratio suite/zigpy {results['ratio_cpu_suite_over_zigpy']}, wall {results['ratio_wall_suite_over_zigpy']}")

    for server in Server:
        probe, result = block_answer_latency(large, server)
        suffix = "" if server is Server.SUITE else "_zigpy"
        results[f"block_answer_ms{suffix}"] = probe.summary_ms()
        results[f"block_answer_cpu_ms{suffix}"] = probe.summary_ms(cpu=True)
        log(f"1 MiB block-answer latency ({server.value}), ms: wall {probe.summary_ms()}")
        log(f"1 MiB block-answer latency ({server.value}), ms: CPU {probe.summary_ms(cpu=True)}")
        if server is Server.SUITE:
            one_mib = result
    results["transfer_1m"] = {
        "octets": one_mib.octets,
        "blocks": one_mib.blocks,
        "wall_s": round(one_mib.wall_s, 3),
        "cpu_s": round(one_mib.cpu_s, 3),
        "tracemalloc_peak_mb": traced_peak_mb(large),
    }
    log(f"1 MiB transfer (suite): {results['transfer_1m']}")

    if not args.skip_runs:
        results["conformance_run"] = {role: conformance_run(project_root, output.parent, role) for role in PROFILES}
        log(f"ota-conformance run: {results['conformance_run']}")
    results["load_average_after"] = load_average()
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
