"""The GBCS transport over ZSE Tunneling (0x0704), end to end on the loopback radio and a VirtualClock.

Every exchange is also checked in the raw tap, decoded with the suite's own cluster definitions: an APDU
that reached the other end without a TransferData frame on the air would be a harness shortcut, not a
transport.
"""

from __future__ import annotations

import pytest
from tunnel_support import GRANT_BUDGET, NODE_IEEE, Tap, TunnelNode, join
from zigpy.zcl import foundation

from harness.ch.tunnel import ChTunnelEnd, GbcsTransport
from harness.clock import BudgetExpired
from harness.profile import load_run_profile
from harness.radio import FrameDirection
from harness.radio.frames import SE_PROFILE_ID, zcl_frame
from harness.zigbee import TO_SERVER, TUNNELING_CLUSTER_ID, ProtocolId, TransferDataStatus, TunnelConfig, TunnelStatus
from harness.zigbee.tunneling import NO_TUNNEL_ID, transfer_data_payload

IN, OUT = FrameDirection.IN, FrameDirection.OUT
Status = foundation.Status
APDU_A = bytes.fromhex("dd00000000000004c00006000a0b0c")
APDU_B = bytes(range(40))


def test_the_ch_end_is_a_gbcs_transport(ch: ChTunnelEnd) -> None:
    assert isinstance(ch, GbcsTransport)


def test_the_device_requests_a_tunnel_and_is_granted_tunnel_0(granted: TunnelNode, ch: ChTunnelEnd, tap: Tap) -> None:
    assert granted.tunnel.tunnel_id == 0 and granted.tunnel.server_max_incoming == 1500
    assert ch.dut_tunnel is not None and ch.dut_tunnel.tunnel_id == 0 and ch.dut_tunnel.device_max_incoming == 1500
    [request] = tap.tunnel(IN, "request_tunnel")
    assert request.args.protocol_id == ProtocolId.GB_HRGP and not request.args.flow_control_support
    [response] = tap.tunnel(OUT, "request_tunnel_response")
    assert (response.args.tunnel_id, response.args.status) == (0, TunnelStatus.Success)
    assert response.args.max_incoming_transfer_size == 1500
    assert response.header.tsn == request.header.tsn
    assert request.frame.profile_id == response.frame.profile_id == SE_PROFILE_ID


def test_queued_apdus_reach_the_device_byte_for_byte_in_get_responses(
    granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run, clock
) -> None:
    mark = tap.mark()
    run(ch.send_to_device(APDU_A))
    run(ch.send_to_device(APDU_B))
    assert run(ch.wait_delivered(2, 120))  # next poll (30 s) GETs, the pending count makes it GET again
    assert granted.apdus == [APDU_A, APDU_B]

    gets = tap.tunnel(IN, "transfer_data", since=mark)
    assert [g.gbcs_data for g in gets] == [b"\x01", b"\x01"] and all(g.args.tunnel_id == 0 for g in gets)
    responses = tap.tunnel(OUT, "transfer_data", since=mark)
    assert [r.args.tunnel_id for r in responses] == [0, 0]
    assert [r.gbcs_data for r in responses] == [b"\x02\x01" + APDU_A, b"\x02\x00" + APDU_B]
    assert all(r.frame.profile_id == SE_PROFILE_ID for r in responses)


def test_each_fetch_records_when_the_device_took_the_apdu_and_the_frames_that_show_it(
    granted: TunnelNode, ch: ChTunnelEnd, run, clock, transcript
) -> None:
    """A polling device takes a command up to a poll interval after it was queued: the fetch is the moment a
    GBCS response budget starts, and the transcript shows the GET that returned it."""
    queued = clock.now()
    run(ch.send_to_device(APDU_A))
    assert ch.fetch_of(APDU_A) is None
    fetch = run(ch.wait_fetched(APDU_A, 120))
    assert fetch is not None and fetch.apdu == APDU_A and queued < fetch.get_time <= fetch.time <= queued + 30
    get, response = transcript[fetch.get_index], transcript[fetch.response_index]
    assert get.command == response.command == "transfer_data"
    assert get.fields["data"] == b"\x01" and response.fields["data"] == b"\x02\x00" + APDU_A
    assert get.time == fetch.get_time and response.time == fetch.time
    run(ch.send_to_device(APDU_A))  # the same command again: a fetch of its own, found from the first one on
    again = run(ch.wait_fetched(APDU_A, 120, since=1))
    assert again is not None and again.time > fetch.time and ch.fetches == [fetch, again]
    assert run(ch.wait_fetched(APDU_B, 5)) is None


def test_an_apdu_the_device_puts_reaches_receive_and_the_tap(granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run):
    mark = tap.mark()
    granted.tunnel.put(b"\x00noise")
    granted.tunnel.put(APDU_A)
    assert run(ch.receive(lambda apdu: apdu == APDU_A, GRANT_BUDGET)) == APDU_A
    assert run(ch.receive(None, GRANT_BUDGET)) == b"\x00noise"  # not consumed by the first predicate
    puts = tap.tunnel(IN, "transfer_data", since=mark)
    assert [(p.args.tunnel_id, p.gbcs_data) for p in puts] == [(0, b"\x03\x00noise"), (0, b"\x03" + APDU_A)]
    with pytest.raises(BudgetExpired):
        run(ch.receive(None, 5))


def test_a_command_and_its_response_round_trip(granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run) -> None:
    granted.on_apdu = lambda apdu: granted.tunnel.put(b"RSP:" + apdu)
    run(ch.send_to_device(APDU_B))
    assert run(ch.receive(lambda apdu: apdu.startswith(b"RSP:"), GRANT_BUDGET)) == b"RSP:" + APDU_B
    assert [f.gbcs_data for f in tap.tunnel(OUT, "transfer_data")] == [b"\x02\x00" + APDU_B]
    assert tap.tunnel(IN, "transfer_data")[-1].gbcs_data == b"\x03RSP:" + APDU_B


def test_apdus_up_to_max_incoming_transfer_size_pass_and_larger_ones_overflow(
    granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run, clock
) -> None:
    largest_down = bytes(i & 0xFF for i in range(1500 - 2))  # code + pending count + APDU = 1500
    run(ch.send_to_device(largest_down))
    granted.tunnel.poll()
    assert run(ch.wait_delivered(1, 10))
    assert granted.apdus == [largest_down]
    with pytest.raises(ValueError, match="exceeds"):
        run(ch.send_to_device(largest_down + b"\x00"))

    largest_up = bytes(range(256)) * 5 + bytes(1499 - 1280)  # code + APDU = 1500
    granted.tunnel.put(largest_up)
    assert run(ch.receive(None, GRANT_BUDGET)) == largest_up
    assert len(tap.tunnel(IN, "transfer_data")[-1].gbcs_data) == 1500

    mark = tap.mark()
    granted.tunnel.put(largest_up + b"\xff")
    run(clock.run_for(2))
    assert ch.inbox == []
    [error] = tap.tunnel(OUT, "transfer_data_error", since=mark)
    assert (error.args.tunnel_id, error.args.status) == (0, TransferDataStatus.Data_Overflow)
    assert granted.tunnel.errors == [(0, TransferDataStatus.Data_Overflow)]
    assert any("Data_Overflow" in e.note for e in ch.events if e.kind == "anomaly")


def test_malformed_transfer_data_is_recorded_and_answered_never_raising(
    granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run, clock, transcript
) -> None:
    mark = tap.mark()
    too_short = granted.send_command(TUNNELING_CLUSTER_ID, TO_SERVER.transfer_data.id, b"\x00")
    unknown = granted.send_command(
        TUNNELING_CLUSTER_ID, TO_SERVER.transfer_data.id, transfer_data_payload(7, b"\x03" + APDU_A)
    )
    run(clock.run_for(2))

    [(_, header, default_response)] = tap.general(OUT, since=mark)
    assert header.tsn == too_short
    assert (default_response.command_id, default_response.status) == (
        TO_SERVER.transfer_data.id,
        Status.MALFORMED_COMMAND,
    )
    [error] = tap.tunnel(OUT, "transfer_data_error", since=mark)
    assert (error.header.tsn, error.args.tunnel_id, error.args.status) == (
        unknown,
        7,
        TransferDataStatus.No_Such_Tunnel,
    )
    assert ch.inbox == []
    notes = [e.note for e in ch.events if e.kind == "anomaly"]
    assert any(n.startswith("malformed transfer_data") for n in notes) and any("No_Such_Tunnel" in n for n in notes)
    assert sum("tunnel: " in e.decision for e in transcript.decisions()) >= 2
    # The end still works afterwards.
    granted.tunnel.put(APDU_A)
    assert run(ch.receive(None, GRANT_BUDGET)) == APDU_A


def test_a_tunnel_of_another_device_is_wrong_device(
    app, granted: TunnelNode, ch: ChTunnelEnd, make_node, tap: Tap, run, clock
) -> None:
    other = make_node("00:0d:6f:00:0a:bc:de:08", 0x5B08)
    run(join(app, clock, other))
    mark = tap.mark()
    other.send_command(TUNNELING_CLUSTER_ID, TO_SERVER.transfer_data.id, transfer_data_payload(0, b"\x03x"))
    run(clock.run_for(2))
    [error] = tap.tunnel(OUT, "transfer_data_error", since=mark)
    assert error.args.status == TransferDataStatus.Wrong_Device
    assert error.frame.dst.address == 0x5B08 and ch.inbox == []


def test_zigpy_adds_no_tunnel_frames_of_its_own(
    granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run, transcript
) -> None:
    granted.send_command(TUNNELING_CLUSTER_ID, TO_SERVER.transfer_data.id, transfer_data_payload(0, b"\x03x"))
    assert run(ch.receive(None, GRANT_BUDGET)) == b"x"
    out = [e for e in transcript if e.cluster_id == TUNNELING_CLUSTER_ID and e.src and e.src.role.value == "CH"]
    assert out and all(e.decision.startswith("tunnel: ") for e in out), [e.to_line() for e in out]
    # Default response enabled on that PUT: the CH end (not zigpy) answers SUCCESS, exactly once.
    assert [args.status for _, _, args in tap.general(OUT)] == [Status.SUCCESS]


def test_the_transcript_names_tunnel_commands(granted: TunnelNode, ch: ChTunnelEnd, run, transcript) -> None:
    granted.tunnel.put(APDU_A)
    run(ch.receive(None, GRANT_BUDGET))
    tunnel = [e for e in transcript if e.cluster_id == TUNNELING_CLUSTER_ID and e.is_cluster_command]
    assert {e.command for e in tunnel} >= {"request_tunnel", "request_tunnel_response", "transfer_data"}
    assert not any(e.malformed for e in tunnel)
    put = [e for e in tunnel if e.command == "transfer_data" and e.fields.get("data", b"")[:1] == b"\x03"]
    assert put and put[-1].fields["tunnel_id"] == 0 and put[-1].fields["data"] == b"\x03" + APDU_A


def test_a_server_transfer_data_on_an_unknown_tunnel_gets_transfer_data_error_from_the_device(
    app, granted: TunnelNode, tap: Tap, run, clock
) -> None:
    from harness.zigbee import TO_CLIENT

    device = app.devices[granted.ieee]
    data = zcl_frame(
        TO_CLIENT.transfer_data.id,
        transfer_data_payload(9, b"\x02\x00hi"),
        tsn=0x33,
        direction=foundation.Direction.Server_to_Client,
        disable_default_response=True,
    )
    run(app.send_raw_zcl(device, granted.endpoint_id, TUNNELING_CLUSTER_ID, data, profile_id=SE_PROFILE_ID))
    run(clock.run_for(2))
    [error] = tap.tunnel(IN, "transfer_data_error")
    assert (error.header.tsn, error.args.tunnel_id, error.args.status) == (0x33, 9, TransferDataStatus.No_Such_Tunnel)
    assert granted.apdus == []


# -- PIXIT values ------------------------------------------------------------------------------------------

CUSTOM = {
    "pixit.tunnel.get_code": "0x11",
    "pixit.tunnel.get_response_code": "0x12",
    "pixit.tunnel.put_code": "0x13",
    "pixit.tunnel.protocol_id": 200,
}


def test_tunnel_config_comes_from_the_profile_pixits() -> None:
    assert TunnelConfig.from_profile(load_run_profile(None)) == TunnelConfig()
    custom = TunnelConfig.from_profile(load_run_profile(None, CUSTOM))
    assert (custom.get_code, custom.get_response_code, custom.put_code, custom.protocol_id) == (0x11, 0x12, 0x13, 200)


@pytest.mark.parametrize("config", [TunnelConfig.from_profile(load_run_profile(None, CUSTOM))])
def test_non_default_pixit_codes_and_protocol_id_are_used_on_the_air(
    config: TunnelConfig, granted: TunnelNode, ch: ChTunnelEnd, tap: Tap, run
) -> None:
    [request] = tap.tunnel(IN, "request_tunnel")
    assert int(request.args.protocol_id) == 200
    run(ch.send_to_device(APDU_A))
    granted.tunnel.poll()
    assert run(ch.wait_delivered(1, 10)) and granted.apdus == [APDU_A]
    granted.tunnel.put(APDU_B)
    assert run(ch.receive(None, GRANT_BUDGET)) == APDU_B
    assert [f.gbcs_data[:1] for f in tap.tunnel(IN, "transfer_data")] == [b"\x11", b"\x11", b"\x13"]
    assert [f.gbcs_data[:2] for f in tap.tunnel(OUT, "transfer_data")] == [b"\x12\x00"]


def test_a_device_asking_for_another_protocol_is_refused(app, clock, ch: ChTunnelEnd, make_node, tap: Tap, run):
    node = make_node(tunnel_config=TunnelConfig(protocol_id=ProtocolId.DLMS_COSEM))
    run(join(app, clock, node))
    node.tunnel.start()
    run(clock.run_for(1))
    [response] = tap.tunnel(OUT, "request_tunnel_response")
    assert (response.args.tunnel_id, response.args.status) == (NO_TUNNEL_ID, TunnelStatus.Protocol_Not_Supported)
    assert not ch.granted and not node.tunnel.granted
    assert node.tunnel.refusals == [TunnelStatus.Protocol_Not_Supported]
    run(clock.run_for(10.5))  # the device retries on its own schedule
    assert len(tap.tunnel(IN, "request_tunnel")) == 2
    assert NODE_IEEE  # the DUT identity the CH end serves
