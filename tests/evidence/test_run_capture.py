"""End to end: a conformance run writes one capture.pcapng per scenario, records it as evidence, and tshark
(when installed) dissects it: the ZCL OTA Upgrade commands of a full download, the Smart Energy Tunneling
frames and GBCS APDUs of a CS08/CS09 exchange (APS fragments reassembled), and malformed-packet or expert
errors only on the frames the suite malformed on purpose.

One run of five representative scenarios (a download with activation, CS08 after a CS09 alert, two
malformed responses and a rogue node's "upgrade now") through the real CLI, shared by every test here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scapy.config import conf
from scapy.layers.dot15d4 import Dot15d4FCS
from scapy.layers.zigbee import ZigbeeAppDataPayload
from scapy.utils import PcapNgReader

from harness.evidence.pcap import CAPTURE_FILENAME, MALFORMED_ON_PURPOSE
from harness.perf.airtime import MAX_PSDU
from harness.reports.evidence_paths import scenario_slug

pytestmark = pytest.mark.xdist_group("evidence-run")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark (Wireshark) is not installed: apt-get install tshark")

#: pytest item names (prefixes) of the scenarios run, by what they show.
DOWNLOAD = "test_after_activation_the_ppmid_reports_the_new_firmware_version"
GBCS = "test_after_an_update_cs08_reports_the_version_of_the_latest_cs09_success_alert"
LYING_BLOCK = "test_an_image_block_response_whose_data_length_lies_does_not_stop_the_device_working"
TRUNCATED_END = "test_a_truncated_upgrade_end_response_does_not_stop_the_device_working"
ROGUE = "test_the_device_ignores_an_upgrade_now_from_a_node_that_is_not_the_communications_hub"
SCENARIOS = (DOWNLOAD, GBCS, LYING_BLOCK, TRUNCATED_END, ROGUE)

#: ZCL OTA Upgrade command ids (ZCL 11.13): client→server (tshark's srv_rx) and server→client (srv_tx).
OTA_REQUESTS = {"0x01", "0x03", "0x06"}  # Query Next Image, Image Block, Upgrade End Request
OTA_RESPONSES = {"0x00", "0x02", "0x05", "0x07"}  # Image Notify, QNI, Image Block, Upgrade End Response
#: Smart Energy Tunneling: RequestTunnel 0x00 and TransferData 0x02 (client→server), TransferData 0x01 back.
GBCS_TUNNEL_GET, GBCS_TUNNEL_GET_RESPONSE, GBCS_TUNNEL_PUT = "0x01", "0x02", "0x03"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reports = tmp_path_factory.mktemp("evidence-run")
    command = [str(CLI), "run", "--reports-dir", str(reports), "--run-id", "ev", "-k", " or ".join(SCENARIOS)]
    proc = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600, check=False)
    run = reports / "ev"
    assert (run / "conformance.json").exists(), f"no statement (exit {proc.returncode}):\n{proc.stdout[-3000:]}"
    return run


@pytest.fixture(scope="module")
def scenarios(run_dir: Path) -> dict[str, dict]:
    statement = json.loads((run_dir / "conformance.json").read_text())
    found = {s["nodeid"].rsplit("::", 1)[1]: s for s in statement["scenarios"]}
    assert sorted(found) == sorted(SCENARIOS), "the -k selection no longer picks the representative scenarios"
    return found


@pytest.fixture(autouse=True)
def _zigbee_over_802154() -> Iterator[None]:
    before = conf.dot15d4_protocol
    conf.dot15d4_protocol = "zigbee"
    yield
    conf.dot15d4_protocol = before


def _capture(run_dir: Path, scenarios: dict[str, dict], name: str) -> Path:
    return run_dir / scenarios[name]["evidence"]["capture"]


def _packets(path: Path) -> list:
    with PcapNgReader(str(path)) as reader:
        return list(reader)


def _comment(packet) -> str:
    return b"".join(packet.comments or []).decode()


def _tshark(path: Path, *fields: str, display_filter: str = "") -> list[list[str]]:
    """One row per packet (``display_filter`` applied), the fields' values (all occurrences, comma-joined)."""
    command = [TSHARK or "tshark", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]
    command += ["-E", "aggregator=,"] + [arg for field in fields for arg in ("-e", field)]
    if display_filter:
        command += ["-Y", display_filter]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, f"tshark failed on {path}: {proc.stderr[-2000:]}"
    return [line.split("\t") for line in proc.stdout.splitlines()]


# -- without tshark ---------------------------------------------------------------------------------------
def test_each_scenario_records_its_capture_in_its_evidence_folder(run_dir: Path, scenarios: dict[str, dict]):
    for name, scenario in scenarios.items():
        assert scenario["verdict"] == "PASS", scenario["message"]
        expected = f"evidence/{scenario_slug(name)}/{CAPTURE_FILENAME}"
        assert scenario["evidence"].get("capture") == expected, scenario["evidence"]
        assert (run_dir / expected).stat().st_size > 0


def test_no_frame_exceeds_127_octets_and_time_never_goes_back(run_dir: Path, scenarios: dict[str, dict]):
    for name in SCENARIOS:
        packets = _packets(_capture(run_dir, scenarios, name))
        assert packets, name
        sizes = [len(bytes(p)) for p in packets]
        assert max(sizes) <= MAX_PSDU, (name, max(sizes))
        times = [float(p.time) for p in packets]
        assert times == sorted(times), f"{name}: timestamps go backwards"
        assert all(_comment(p).startswith(("transcript #", MALFORMED_ON_PURPOSE, "STIMULUS")) for p in packets)


def test_the_gbcs_exchange_is_aps_fragmented(run_dir: Path, scenarios: dict[str, dict]):
    packets = _packets(_capture(run_dir, scenarios, GBCS))
    fragments = [p for p in packets if p[ZigbeeAppDataPayload].frame_control.extended_hdr]
    assert fragments, "a CS09 alert (PUT) does not fit one 802.15.4 frame: expected APS fragments"
    assert all(isinstance(p, Dot15d4FCS) and "APS fragment" in _comment(p) for p in fragments)
    assert max(len(bytes(p)) for p in fragments) == MAX_PSDU


def test_frames_malformed_on_purpose_and_rogue_frames_are_commented(run_dir: Path, scenarios: dict[str, dict]):
    for name in (LYING_BLOCK, TRUNCATED_END):
        comments = [_comment(p) for p in _packets(_capture(run_dir, scenarios, name))]
        assert any(c.startswith(MALFORMED_ON_PURPOSE) for c in comments), name
    for name in (DOWNLOAD, GBCS, ROGUE):
        assert not any(MALFORMED_ON_PURPOSE in _comment(p) for p in _packets(_capture(run_dir, scenarios, name)))
    rogue = [_comment(p) for p in _packets(_capture(run_dir, scenarios, ROGUE))]
    assert any(c.startswith("STIMULUS FROM THE ROGUE NODE") and "upgrade_end_response" in c for c in rogue)


# -- tshark -----------------------------------------------------------------------------------------------
@needs_tshark
def test_tshark_dissects_the_ota_download(run_dir: Path, scenarios: dict[str, dict]):
    rows = _tshark(
        _capture(run_dir, scenarios, DOWNLOAD),
        "wpan.fcs_ok",
        "zbee_zcl_general.ota.cmd.srv_rx.id",
        "zbee_zcl_general.ota.cmd.srv_tx.id",
    )
    assert rows and all(row[0] in ("1", "True") for row in rows), "every FCS must verify"
    requests = {v for row in rows for v in row[1].split(",") if v}
    responses = {v for row in rows for v in row[2].split(",") if v}
    assert requests >= OTA_REQUESTS, requests
    assert responses >= OTA_RESPONSES, responses
    blocks = sum(row[1] == "0x03" for row in rows)  # Image Block Requests
    assert blocks == scenarios[DOWNLOAD]["evidence"]["blocks_consumed"]


@needs_tshark
def test_tshark_reassembles_the_tunnel_and_dissects_the_gbcs_apdus(run_dir: Path, scenarios: dict[str, dict]):
    rows = _tshark(
        _capture(run_dir, scenarios, GBCS),
        "frame.protocols",
        "zbee_zcl_se.tun.cmd.srv_rx.id",
        "zbee_aps.reassembled.length",
        "gbcs_tunnel.command",
        display_filter="zbee_zcl_se.tun.cmd.srv_rx.id || zbee_zcl_se.tun.cmd.srv_tx.id || gbcs_tunnel",
    )
    assert {"0x00", "0x02"} <= {row[1] for row in rows}, "RequestTunnel and TransferData from the device"
    commands = {row[3] for row in rows}
    assert {GBCS_TUNNEL_GET, GBCS_TUNNEL_GET_RESPONSE, GBCS_TUNNEL_PUT} <= commands, commands
    reassembled = [row for row in rows if row[2]]
    assert reassembled and all(":gbcs_message" in row[0] for row in reassembled), reassembled
    apdus = [row for row in rows if ":gbcs_message" in row[0]]
    assert len(apdus) >= 3, "the CS09 alert, the CS08 command and its response"


@needs_tshark
def test_tshark_reports_malformed_or_expert_errors_only_where_the_suite_meant_it(
    run_dir: Path, scenarios: dict[str, dict]
):
    flagged = []
    for name in SCENARIOS:
        rows = _tshark(
            _capture(run_dir, scenarios, name),
            "frame.number",
            "frame.comment",
            display_filter="_ws.malformed || _ws.expert.severity == error",
        )
        unexplained = [row for row in rows if MALFORMED_ON_PURPOSE not in row[1]]
        assert not unexplained, f"{name}: tshark flags frames the suite did not malform on purpose: {unexplained}"
        flagged += [(name, row[0]) for row in rows]
    assert {name for name, _ in flagged} == {LYING_BLOCK, TRUNCATED_END}, flagged
