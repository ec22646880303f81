"""`make bench`'s pieces on a small image: both servers complete the same transfer, the ratios and the
latency summary are computed from what was measured."""

from __future__ import annotations

import pytest

from harness.perf.bench import interleaved, spread
from harness.perf.probe import BlockAnswerProbe, percentile
from harness.perf.transfers import BenchSetup


@pytest.fixture(scope="module")
def setup() -> BenchSetup:
    return BenchSetup(16 * 1024)


def test_both_servers_serve_every_block_of_the_same_image_and_the_ratios_follow(setup):
    lines: list[str] = []
    section = interleaved(setup, 2, lines.append)
    blocks = -(-len(setup.image.data) // 48)
    assert section["suite"]["blocks"] == section["zigpy"]["blocks"] == blocks
    assert section["rounds"] == 2 and len(lines) == 4
    for server in ("suite", "zigpy"):
        wall, cpu = section[server]["wall_s"], section[server]["cpu_s"]
        assert len(wall["values"]) == 2 and wall["min"] <= wall["median"] <= wall["max"]
        assert cpu["median"] > 0
    assert section["suite"]["air_s"] > 0  # modelled from the suite's transcript
    paired = section["paired_ratio_cpu"]["values"]
    cpus = zip(section["suite"]["cpu_s"]["values"], section["zigpy"]["cpu_s"]["values"], strict=True)
    assert paired == pytest.approx([s / z for s, z in cpus], abs=0.01)


def test_percentiles_are_nearest_rank_and_the_summary_is_in_milliseconds():
    ordered = [n / 1000 for n in range(1, 1001)]  # 1 ms .. 1000 ms
    assert percentile(ordered, 50) == 0.5 and percentile(ordered, 99.9) == 0.999 and percentile(ordered, 100) == 1.0
    probe = BlockAnswerProbe()
    probe.latencies[:] = probe.cpu_latencies[:] = ordered
    assert probe.summary_ms() == {
        "blocks": 1000,
        "full_collections": 0,
        "p50": 500,
        "p99": 990,
        "p999": 999,
        "max": 1000,
    }
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "values": [3.0, 1.0, 2.0]}
