"""The 0x0800 command tables: every command round-trips through zigpy's ZCL serialisation and the suite's
one decoder (``harness.transcript.decode``); certificates parse to the fields Wireshark names."""

from __future__ import annotations

import pytest
import zigpy.types as t
from cbke_support import DEVICE, Initiator
from zigpy.zcl import Cluster, foundation

from harness.ch.key_establishment import STAND_IN_ISSUER, stand_in_certificate
from harness.radio.frames import SE_PROFILE_ID, AddressMode, FrameAddress, FrameDirection, RawFrame, zcl_frame
from harness.transcript import decode
from harness.zigbee import KEY_ESTABLISHMENT_CLUSTER_ID, SmartEnergyKeyEstablishment
from harness.zigbee.key_establishment import (
    KE_TO_CLIENT,
    KE_TO_SERVER,
    SUITE_1,
    SUITE_2,
    ImplicitCertificate,
    KeyEstablishmentSuite,
    TerminateStatus,
)

CERT2 = stand_in_certificate(SUITE_2, subject=DEVICE)
CERT1 = stand_in_certificate(SUITE_1, subject=DEVICE)
MAC = bytes(range(0xA0, 0xB0))

INITIATE_FIELDS = {
    "key_establishment_suite": KeyEstablishmentSuite.CBKE_ECMQV_283K1,
    "ephemeral_data_generate_time": 5,
    "confirm_key_generate_time": 6,
    "identity": t.Bytes(CERT2),
}
TERMINATE_FIELDS = {
    "status_code": TerminateStatus.UNSUPPORTED_SUITE,
    "wait_time": 30,
    "key_establishment_suite": KeyEstablishmentSuite.CBKE_ECMQV_283K1,
}
# (direction table, command, fields, exact payload octets)
CASES = [
    (KE_TO_SERVER, "initiate_key_establishment_request", INITIATE_FIELDS, bytes([2, 0, 5, 6]) + CERT2),
    (KE_TO_SERVER, "ephemeral_data_request", {"ephemeral_data": t.Bytes(bytes(37))}, bytes(37)),
    (KE_TO_SERVER, "confirm_key_data_request", {"secure_message_authentication_code": list(MAC)}, MAC),
    (KE_TO_SERVER, "terminate_key_establishment", TERMINATE_FIELDS, bytes([5, 30, 2, 0])),
    (KE_TO_CLIENT, "initiate_key_establishment_response", INITIATE_FIELDS, bytes([2, 0, 5, 6]) + CERT2),
    (KE_TO_CLIENT, "ephemeral_data_response", {"ephemeral_data": t.Bytes(bytes(range(37)))}, bytes(range(37))),
    (KE_TO_CLIENT, "confirm_key_data_response", {"secure_message_authentication_code": list(MAC)}, MAC),
    (KE_TO_CLIENT, "terminate_key_establishment", TERMINATE_FIELDS, bytes([5, 30, 2, 0])),
]
IDS = [f"{'to_server' if table is KE_TO_SERVER else 'to_client'}-{name}" for table, name, _, _ in CASES]


def test_importing_the_harness_registers_the_cluster_with_zigpy():
    assert Cluster._registry[KEY_ESTABLISHMENT_CLUSTER_ID] is SmartEnergyKeyEstablishment
    assert SmartEnergyKeyEstablishment.attributes[0x0000].name == "key_establishment_suite"
    assert sorted(c.id for c in KE_TO_SERVER) == sorted(c.id for c in KE_TO_CLIENT) == [0, 1, 2, 3]


@pytest.mark.parametrize(("table", "name", "fields", "octets"), CASES, ids=IDS)
def test_each_command_round_trips_through_zigpy(table, name, fields, octets):
    schema = getattr(table, name).schema
    payload = schema(**fields).serialize()
    assert payload == octets
    parsed, rest = schema.deserialize(payload)
    assert rest == b""
    assert {k: getattr(parsed, k) for k in fields} == fields


@pytest.mark.parametrize(("table", "name", "fields", "octets"), CASES, ids=IDS)
def test_the_transcript_decoder_names_each_command(table, name, fields, octets):
    to_server = table is KE_TO_SERVER
    direction = foundation.Direction.Client_to_Server if to_server else foundation.Direction.Server_to_Client
    command = getattr(table, name)
    frame = RawFrame(
        FrameDirection.IN if to_server else FrameDirection.OUT,
        0.0,
        FrameAddress(AddressMode.NWK, 0x5B07 if to_server else 0x0000, 1 if to_server else 3),
        FrameAddress(AddressMode.NWK, 0x0000 if to_server else 0x5B07, 3 if to_server else 1),
        SE_PROFILE_ID,
        KEY_ESTABLISHMENT_CLUSTER_ID,
        zcl_frame(command.id, octets, tsn=0x42, direction=direction),
        aps_counter=1,
    )
    decoded = decode(frame)
    assert (decoded.cluster, decoded.command, decoded.malformed, decoded.trailing) == (
        "SmartEnergyKeyEstablishment",
        name,
        False,
        b"",
    )
    assert {k: decoded.fields[k] for k in fields} == fields


def test_a_short_mac_is_malformed_not_silently_padded():
    with pytest.raises(ValueError):
        KE_TO_SERVER.confirm_key_data_request.schema.deserialize(MAC[:15])


@pytest.mark.parametrize(("suite", "cert"), [(SUITE_2, CERT2), (SUITE_1, CERT1)], ids=["suite2-74", "suite1-48"])
def test_certificates_parse_to_their_fields_and_back(suite, cert):
    assert len(cert) == suite.certificate_octets
    parsed = ImplicitCertificate.parse(cert, suite)
    assert (parsed.subject, parsed.issuer) == (DEVICE, STAND_IN_ISSUER)
    assert parsed.serialize() == cert
    assert len(parsed.public_key_reconstruction) == (37 if suite is SUITE_2 else 22)


def test_suite_2_certificate_layout_matches_the_wireshark_offsets():
    cert = CERT2
    # type 1, serial 8, curve 1, hash 1, issuer 8, valid-from 5, valid-to 4, subject 8, key usage 1, key 37
    assert cert[0] == 0x00 and cert[9] == 0x0D and cert[10] == 0x08
    assert cert[11:19] == STAND_IN_ISSUER.octets and cert[28:36] == DEVICE.octets and cert[36] == 0x08
    assert cert[37:] == ImplicitCertificate.parse(cert, SUITE_2).public_key_reconstruction


@pytest.mark.parametrize("length", [0, 48, 73, 75])
def test_a_certificate_of_the_wrong_length_is_refused(length):
    with pytest.raises(ValueError, match="74 octets"):
        ImplicitCertificate.parse(bytes(length), SUITE_2)


def test_the_device_side_helper_builds_what_the_tables_decode():
    device = Initiator()
    parsed, _ = KE_TO_SERVER.initiate_key_establishment_request.schema.deserialize(device.initiate())
    assert bytes(parsed.identity) == device.certificate and parsed.ephemeral_data_generate_time == 5
