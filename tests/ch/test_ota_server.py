"""The suite's CH OTA server keeps the CH's own obligations (PZ-05, 06, 08, 10, 19; HG-03) and deviates
only where a rule programs it to."""

from __future__ import annotations

import pytest
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.ch.ota_server import UPGRADE_TIME_WAIT, Action, Activation, HeldImage, OtaServer, Rule

Status = foundation.Status
PPMID = "00db1234567890a4"
OTHER = "00db1234567890ff"
NOW = 800_000_000
IMAGE = HeldImage(data=bytes(range(256)) * 4, manufacturer_code=0x121D, image_type=0x0084, file_version=0x0200)
Q = Ota.ServerCommandDefs


def query(mfr=0x121D, image_type=0x0084, version=0x0100):
    return Q.query_next_image.schema(
        field_control=0, manufacturer_code=mfr, image_type=image_type, current_file_version=version
    )


def block(offset, size=48, version=0x0200, mfr=0x121D, image_type=0x0084):
    return Q.image_block.schema(
        field_control=0,
        manufacturer_code=mfr,
        image_type=image_type,
        file_version=version,
        file_offset=offset,
        maximum_data_size=size,
    )


def end(status=Status.SUCCESS, version=0x0200):
    return Q.upgrade_end.schema(status=status, manufacturer_code=0x121D, image_type=0x0084, file_version=version)


@pytest.fixture
def server():
    ch = OtaServer(utc_now=lambda: NOW)
    ch.hold(IMAGE)
    return ch


def test_pz05_query_is_answered_with_the_held_image_identity_and_size(server):
    decision = server.on_query(PPMID, query())
    rsp = decision.schema
    assert (rsp.status, rsp.manufacturer_code, rsp.image_type, rsp.file_version, rsp.image_size) == (
        Status.SUCCESS,
        0x121D,
        0x0084,
        0x0200,
        len(IMAGE.data),
    )


@pytest.mark.parametrize("kwargs", [{"mfr": 0x1234}, {"image_type": 0x0085}])
def test_pz06_no_image_available_for_an_identity_the_ch_does_not_hold(server, kwargs):
    assert server.on_query(PPMID, query(**kwargs)).schema.status == Status.NO_IMAGE_AVAILABLE


def test_pz04_an_image_for_listed_devices_is_not_offered_to_others():
    ch = OtaServer(utc_now=lambda: NOW)
    ch.hold(HeldImage(**{**IMAGE.__dict__, "devices": frozenset({PPMID})}))
    assert ch.on_query(PPMID, query()).schema.status == Status.SUCCESS
    assert ch.on_query(OTHER, query()).schema.status == Status.NO_IMAGE_AVAILABLE


@pytest.mark.parametrize(("offset", "size"), [(0, 48), (48, 48), (1000, 48), (1023, 48), (0, 10)])
def test_pz08_blocks_echo_offset_and_identity_and_carry_the_file_at_that_offset(server, offset, size):
    rsp = server.on_block(PPMID, block(offset, size)).schema
    assert rsp.status == Status.SUCCESS
    assert (rsp.manufacturer_code, rsp.image_type, rsp.file_version, rsp.file_offset) == (
        0x121D,
        0x0084,
        0x0200,
        offset,
    )
    assert len(rsp.image_data) <= size
    assert rsp.image_data == IMAGE.data[offset : offset + size]


@pytest.mark.parametrize("kwargs", [{"version": 0x0300}, {"mfr": 0x1}, {"image_type": 0x1}])
def test_pz10_a_request_for_an_unknown_file_never_gets_data(server, kwargs):
    rsp = server.on_block(PPMID, block(0, **kwargs)).schema
    assert rsp.status in (Status.ABORT, Status.NO_IMAGE_AVAILABLE)
    assert rsp.image_data is None


def test_pz19_a_ppmid_is_told_to_activate_now(server):
    rsp = server.on_upgrade_end(PPMID, end()).schema
    assert rsp.upgrade_time != UPGRADE_TIME_WAIT
    assert rsp.current_time == rsp.upgrade_time == NOW
    assert (rsp.manufacturer_code, rsp.image_type, rsp.file_version) == IMAGE.identity()


def test_hg03_an_hcalcs_image_is_never_activated_by_the_ch():
    ch = OtaServer(utc_now=lambda: NOW)
    ch.hold(HeldImage(**{**IMAGE.__dict__, "activation": Activation.WAIT}))
    assert ch.on_upgrade_end(PPMID, end()).schema.upgrade_time == UPGRADE_TIME_WAIT


def test_a_failed_transfer_gets_no_upgrade_end_response(server):
    decision = server.on_upgrade_end(PPMID, end(Status.INVALID_IMAGE))
    assert not decision.sends
    assert "INVALID_IMAGE" in decision.note


def test_rules_apply_to_the_request_they_name_and_only_as_often_as_programmed(server):
    server.program("block", Rule(Action.DROP, nth=2))
    server.program("block", Rule(Action.WAIT_FOR_DATA, offset=96, times=2, params={"wait_s": 30}))
    decisions = [server.on_block(PPMID, block(o)) for o in (0, 48, 96, 96, 96, 96)]
    assert [d.sends for d in decisions] == [True, True, False, True, True, True]
    assert [d.schema.status for d in decisions[3:]] == [Status.WAIT_FOR_DATA] * 2 + [Status.SUCCESS]
    assert (decisions[3].schema.current_time, decisions[3].schema.request_time) == (NOW, NOW + 30)
    assert "dropped" in decisions[2].note and "throttled" in decisions[3].note


@pytest.mark.parametrize("size", [40, 48, 64, 33])
def test_a_rule_at_an_offset_hits_the_request_whose_block_holds_that_octet_whatever_the_block_size(server, size):
    """Features name offsets (96, 144, 288 ...) that are block starts only for 48-octet blocks: a device asking
    for 40 octets at a time gets the stimulus on its request at 80, which holds octet 96."""
    server.program("block", Rule(Action.DROP, offset=96))
    offsets = list(range(0, 200, size))
    dropped = [o for o in offsets if not server.on_block(PPMID, block(o, size=size)).sends]
    assert dropped == [o for o in offsets if o <= 96 < o + size]


def test_a_lying_data_length_is_built_for_the_requested_block(server):
    server.program("block", Rule(Action.LYING_LENGTH, offset=48))
    decision = server.on_block(PPMID, block(40, size=40))
    payload = decision.payload()
    assert decision.malformed and payload[0] == Status.SUCCESS
    assert int.from_bytes(payload[9:13], "little") == 40  # the requested offset: only the length lies
    assert payload[13] == 40 and payload[14:] == IMAGE.data[40:53]  # claims 40 octets, 13 follow


def test_injected_block_faults_are_what_they_say(server):
    server.program("block", Rule(Action.WRONG_OFFSET, nth=0, params={"shift": 5}))
    server.program("block", Rule(Action.OVERSIZED, nth=1, params={"extra": 3}))
    shifted = server.on_block(PPMID, block(0)).schema
    oversized = server.on_block(PPMID, block(48, size=40)).schema
    assert shifted.file_offset == 5 and shifted.image_data == IMAGE.data[0:48]
    assert len(oversized.image_data) == 43


def test_page_request_is_served_as_spaced_blocks_covering_the_page(server):
    page = Q.image_page.schema(
        field_control=0,
        manufacturer_code=0x121D,
        image_type=0x0084,
        file_version=0x0200,
        file_offset=100,
        maximum_data_size=48,
        page_size=200,
        response_spacing=250,
    )
    decisions = server.on_page(PPMID, page)
    assert b"".join(d.schema.image_data for d in decisions) == IMAGE.data[100:300]
    assert [d.delay_s for d in decisions] == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_an_unsolicited_upgrade_now_and_the_wait_form(server):
    later = server.upgrade_end_response(IMAGE, Activation.LATER, 3600).schema
    relative = server.upgrade_end_response(IMAGE, Activation.RELATIVE, 60).schema
    assert (later.current_time, later.upgrade_time) == (NOW, NOW + 3600)
    assert (relative.current_time, relative.upgrade_time) == (0, 60)


def test_a_newer_image_supersedes_the_held_one(server):
    server.hold(HeldImage(**{**IMAGE.__dict__, "file_version": 0x0300}))
    assert server.on_query(PPMID, query()).schema.file_version == 0x0300
    assert len(server.images) == 1
