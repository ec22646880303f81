"""Wireshark's Smart Energy Key Establishment dissector (``zbee_zcl_se.ke.*``) reads the suite's CBKE frames
as the suite meant them: a full exchange built by the CH responder with the stand-in engine (NOT
cryptographically valid), the device's side built from the same command tables, Terminates both ways and a
suite 1 request, written as pcapng by ``harness.evidence.pcap`` (scapy) and read back with tshark.

Independent check: the dissector is Wireshark's own code, not derived from ours; it is keyed on the ZCL
direction bit and on the suite field (certificate layout), so a wrong field order, size or direction shows.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from cbke_support import DEVICE, TERMINATE, FakeTime, Initiator, client_frame, full_exchange

from harness.ch.key_establishment import STAND_IN_ISSUER, Reply
from harness.clock import VirtualClock
from harness.radio.frames import SE_PROFILE_ID, AddressMode, FrameAddress, FrameDirection, RawFrame
from harness.transcript import Role, Transcript
from harness.zigbee.key_establishment import KE_TO_CLIENT, KEY_ESTABLISHMENT_CLUSTER_ID, SUITE_1, TerminateStatus

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")

DEVICE_NWK = 0x5B07
DEVICE_END = FrameAddress(AddressMode.NWK, DEVICE_NWK, 1)
CH_END = FrameAddress(AddressMode.NWK, 0x0000, 3)
FIELDS = [
    "zbee_aps.profile",
    "zbee_aps.cluster",
    "zbee_zcl.dir",
    "zbee_zcl.cmd.tsn",
    "zbee_zcl_se.ke.cmd.srv_rx.id",
    "zbee_zcl_se.ke.cmd.srv_tx.id",
    "zbee_zcl_se.ke.attr.suite",
    "zbee_zcl_se.ke.init.ephemeral.time",
    "zbee_zcl_se.ke.init.confirm.time",
    "zbee_zcl_se.ke.cert.type",
    "zbee_zcl_se.ke.cert.curve",
    "zbee_zcl_se.ke.cert.hash",
    "zbee_zcl_se.ke.cert.issuer",
    "zbee_zcl_se.ke.cert.subject",
    "zbee_zcl_se.ke.cert.key.usage.agreement",
    "zbee_zcl_se.ke.cert.reconst",
    "zbee_zcl_se.ke.cert.profile",
    "zbee_zcl_se.ke.qeu",
    "zbee_zcl_se.ke.qev",
    "zbee_zcl_se.ke.macu",
    "zbee_zcl_se.ke.macv",
    "zbee_zcl_se.ke.terminate.status",
    "zbee_zcl_se.ke.terminate.wait.time",
    "_ws.malformed",
    "_ws.expert.severity",
]
#: Wireshark's expert severities above "Note" (Warn 0x00600000, Error 0x00800000).
WARN_SEVERITY = 0x00600000


def _frames() -> tuple[list[RawFrame], Initiator, list[Reply]]:
    """Request/reply pairs of a full exchange, then a device Terminate, a CH Terminate and a suite 1 request."""
    time, device = FakeTime(), Initiator()
    ch, exchange = asyncio.run(full_exchange(time, device))
    replies = [reply for _, reply in exchange]
    frames: list[RawFrame] = []
    for request, reply in exchange:
        frames.append(_raw(FrameDirection.IN, request))
        frames.append(_raw(FrameDirection.OUT, reply.frame()))
    frames.append(_raw(FrameDirection.IN, client_frame(TERMINATE, device.terminate(0x02), tsn=0x30)))
    (unsupported,) = asyncio.run(ch.on_command(DEVICE.dashed, 0, Initiator(suite=SUITE_1).initiate(), 0x32, DEVICE))
    frames.append(_raw(FrameDirection.IN, client_frame(0, Initiator(suite=SUITE_1).initiate(), tsn=0x32)))
    frames.append(_raw(FrameDirection.OUT, unsupported.frame()))
    return frames, device, [*replies, unsupported]


def _raw(direction: FrameDirection, data: bytes) -> RawFrame:
    src, dst = (DEVICE_END, CH_END) if direction is FrameDirection.IN else (CH_END, DEVICE_END)
    return RawFrame(direction, 0.0, src, dst, SE_PROFILE_ID, KEY_ESTABLISHMENT_CLUSTER_ID, data, aps_counter=0x40)


@pytest.fixture(scope="module")
def dissected(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], Initiator, list[Reply]]:
    from harness.evidence.pcap import CaptureContext, write_capture

    frames, device, replies = _frames()
    clock = VirtualClock()
    transcript = Transcript(clock, dut_eui64=DEVICE)
    transcript.register_party(DEVICE, Role.DUT, nwk=DEVICE_NWK)
    for frame in frames:
        transcript.record_frame(frame)
    clock.loop.close()
    path: Path = tmp_path_factory.mktemp("cbke") / "cbke.pcapng"
    context = CaptureContext(
        suite="tests/zigbee_cbke", scenario="CBKE exchange", dut_eui64=DEVICE.dashed, pan_id=0x1A62
    )
    assert write_capture(path, transcript.entries, context).frames == len(frames)
    args = [str(TSHARK), "-r", str(path), "-T", "fields", "-E", "separator=|", "-E", "occurrence=a"]
    for name in FIELDS:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [dict(zip(FIELDS, line.split("|"), strict=True)) for line in out.splitlines()]
    assert len(rows) == len(frames), f"tshark read {len(rows)} packets, the capture holds {len(frames)}"
    return rows, device, replies


def _hex(data: bytes) -> str:
    return data.hex()


def test_no_packet_is_malformed_or_draws_a_warning(dissected):
    rows, _, _ = dissected
    for number, row in enumerate(rows, start=1):
        assert row["_ws.malformed"] == "", f"packet {number} malformed: {row}"
        severities = [int(s, 0) for s in row["_ws.expert.severity"].split(",") if s]
        assert all(s < WARN_SEVERITY for s in severities), f"packet {number} has an expert warning: {row}"
        assert (row["zbee_aps.profile"], row["zbee_aps.cluster"]) == ("0x0109", "0x0800")


def test_every_command_is_named_in_its_direction(dissected):
    rows, _, _ = dissected
    seen = [
        (row["zbee_zcl.dir"], row["zbee_zcl.cmd.tsn"], row["zbee_zcl_se.ke.cmd.srv_rx.id"] or None)
        if row["zbee_zcl.dir"] == "0"
        else (row["zbee_zcl.dir"], row["zbee_zcl.cmd.tsn"], row["zbee_zcl_se.ke.cmd.srv_tx.id"])
        for row in rows
    ]
    assert seen == [
        ("0", "33", "0x00"),  # Initiate Key Establishment Request
        ("1", "33", "0x00"),  # Initiate Key Establishment Response
        ("0", "34", "0x01"),  # Ephemeral Data Request
        ("1", "34", "0x01"),  # Ephemeral Data Response
        ("0", "35", "0x02"),  # Confirm Key Data Request
        ("1", "35", "0x02"),  # Confirm Key Data Response
        ("0", "48", "0x03"),  # Terminate (device)
        ("0", "50", "0x00"),  # Initiate, suite 1
        ("1", "50", "0x03"),  # Terminate (CH): unsupported suite
    ]


def test_initiate_request_and_response_fields_and_the_suite_2_certificate(dissected):
    rows, device, replies = dissected
    request, response = rows[0], rows[1]
    assert (request["zbee_zcl_se.ke.attr.suite"], request["zbee_zcl_se.ke.init.ephemeral.time"]) == ("0x0002", "5")
    assert request["zbee_zcl_se.ke.init.confirm.time"] == "6"
    assert (response["zbee_zcl_se.ke.attr.suite"], response["zbee_zcl_se.ke.init.ephemeral.time"]) == ("0x0002", "10")
    assert response["zbee_zcl_se.ke.init.confirm.time"] == "10"
    for row in (request, response):
        assert (row["zbee_zcl_se.ke.cert.type"], row["zbee_zcl_se.ke.cert.curve"]) == ("0x00", "0x0d")
        assert row["zbee_zcl_se.ke.cert.hash"] == "0x08" and row["zbee_zcl_se.ke.cert.issuer"] == STAND_IN_ISSUER.hex
        assert row["zbee_zcl_se.ke.cert.key.usage.agreement"] in ("1", "True")
    assert request["zbee_zcl_se.ke.cert.subject"] == DEVICE.hex
    assert request["zbee_zcl_se.ke.cert.reconst"] == _hex(device.certificate[37:])
    assert response["zbee_zcl_se.ke.cert.reconst"] == _hex(replies[0].payload[4 + 37 :])


def test_ephemeral_data_and_macs_carry_the_exchanged_octets(dissected):
    rows, device, replies = dissected
    assert rows[2]["zbee_zcl_se.ke.qeu"] == _hex(device.qeu)
    assert rows[3]["zbee_zcl_se.ke.qev"] == _hex(replies[1].payload) and len(replies[1].payload) == 37
    assert rows[4]["zbee_zcl_se.ke.macu"] == _hex(device.macu)
    assert rows[5]["zbee_zcl_se.ke.macv"] == _hex(device.macv)
    assert replies[2].command_id == KE_TO_CLIENT.confirm_key_data_response.id


def test_terminates_both_ways_and_a_suite_1_certificate(dissected):
    rows, _, _ = dissected
    device_terminate, suite1, ch_terminate = rows[6], rows[7], rows[8]
    assert (device_terminate["zbee_zcl_se.ke.terminate.status"], device_terminate["zbee_zcl_se.ke.attr.suite"]) == (
        "0x02",
        "0x0002",
    )
    assert device_terminate["zbee_zcl_se.ke.terminate.wait.time"] == "10"
    assert suite1["zbee_zcl_se.ke.attr.suite"] == "0x0001" and suite1["zbee_zcl_se.ke.cert.subject"] == DEVICE.hex
    assert suite1["zbee_zcl_se.ke.cert.profile"] == "00" * 10 and len(suite1["zbee_zcl_se.ke.cert.reconst"]) == 44
    status = f"0x{int(TerminateStatus.UNSUPPORTED_SUITE):02x}"
    assert (ch_terminate["zbee_zcl_se.ke.terminate.status"], ch_terminate["zbee_zcl_se.ke.attr.suite"]) == (
        status,
        "0x0002",
    )
    assert ch_terminate["zbee_zcl_se.ke.terminate.wait.time"] == "30"
