"""`ota-conformance gbcs decode`: exit codes 0/1/2, text and JSON, keys or structure only, and no traceback as
the interface."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from gbcs_rtds import KEYS, MESSAGE_FILES, each, rtds, rtds_path

Cli = Callable[..., int]
CS06 = "CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"


def _no_traceback(captured: pytest.CaptureResult[str]) -> None:
    assert "Traceback" not in captured.out + captured.err


@pytest.fixture
def keys_dir(vector_keys: object) -> Path:
    return KEYS


@pytest.mark.parametrize("name", each(MESSAGE_FILES))
def test_every_rtds_message_is_valid_with_keys(
    name: str, cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("gbcs", "decode", rtds_path(name), "--keys", keys_dir) == 0
    out = capsys.readouterr().out
    assert "verdict: VALID" in out
    assert "not checked" not in out


def test_text_output_of_a_cs06_command(cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("gbcs", "decode", rtds_path(CS06), "--keys", keys_dir) == 0
    out = capsys.readouterr().out
    for text in (
        "message: 0x0012 CS06 Activate Firmware command",
        "form: general-ciphered",
        "cra flag",
        "1 (command)",
        "originator counter",
        "90-B3-D5-1F-30-01-00-00",
        "00-DB-12-34-56-78-90-A0",
        "payload: ActivateFirmwareCommand (40 octets)",
        "manufacturerImageHash",
        "AA758690730934FF0685AA758690730934FF0685657788990011223344556677",
        "signature: valid (verifies with 90-B3-D5-1F-30-01-00-00 ds)",
        "MAC: valid (matches, key pair 90-B3-D5-1F-30-00-00-02 ka with 00-DB-12-34-56-78-90-A0 ka)",
        "defects: none",
    ):
        assert text in out, text


def test_without_keys_only_the_structure_is_judged(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("gbcs", "decode", rtds_path(CS06)) == 0
    out = capsys.readouterr().out
    assert "signature: not checked" in out and "MAC: not checked" in out


def test_json_is_one_object(cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "CS08_11.2_SUCCESS_RESPONSE_GBCS.HEX"
    assert cli("gbcs", "decode", rtds_path(name), "--keys", keys_dir, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "valid"
    assert result["message_code"] == "0x0129"
    assert result["header"]["supplementary_remote_party"] == "90-B3-D5-1F-30-01-00-00"
    assert result["payload"]["responseCode"] == {"value": 0, "name": "readSuccess"}
    assert result["signature"]["check"] == "absent"
    assert result["mac"]["check"] == "valid"
    assert result["size"] == len(rtds(name))


def test_hex_argument_and_binary_file(cli: Cli, tmp_path: Path, keys_dir: Path) -> None:
    data = rtds("CCS08_NA_NA_ALERT_GBCS.HEX")
    assert cli("gbcs", "decode", data.hex(), "--keys", keys_dir) == 0
    binary = tmp_path / "alert.bin"
    binary.write_bytes(data)
    assert cli("gbcs", "decode", binary, "--keys", keys_dir) == 0


def test_a_changed_octet_is_invalid(cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(rtds(CS06))
    data[-1] ^= 0x01  # last MAC octet
    assert cli("gbcs", "decode", bytes(data).hex(), "--keys", keys_dir) == 1
    captured = capsys.readouterr()
    assert "MAC: invalid" in captured.out and "verdict: INVALID" in captured.out
    _no_traceback(captured)


def test_precommand_option(cli: Cli, keys_dir: Path) -> None:
    path = rtds_path("CS06_11.3_IMMEDIATE_SUCCESS_PRECOMMAND_GBCS.HEX")
    assert cli("gbcs", "decode", path, "--keys", keys_dir) == 1
    assert cli("gbcs", "decode", path, "--keys", keys_dir, "--precommand") == 0


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("DF0901", "cannot cut a General Signing APDU"),
        ("300500", "neither General Signing"),
        ("", "no octets"),
    ],
)
def test_octets_that_are_no_apdu_are_unusable(
    cli: Cli, capsys: pytest.CaptureFixture[str], argument: str, message: str
) -> None:
    assert cli("gbcs", "decode", argument) == 2
    captured = capsys.readouterr()
    assert message in captured.out and "verdict: UNUSABLE" in captured.out
    _no_traceback(captured)


def test_unusable_json(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("gbcs", "decode", "DF", "--json") == 2
    assert json.loads(capsys.readouterr().out)["verdict"] == "unusable"


@pytest.mark.parametrize(
    "argv",
    [
        ("no-such-file-and-not-hex",),
        (CS06, "--keys", "/nonexistent/keys"),
        (CS06, "--acb", "not-an-eui"),
    ],
)
def test_bad_inputs_exit_2_without_traceback(
    cli: Cli, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    if argv[0] == CS06:
        argv = (str(rtds_path(CS06)), *argv[1:])
    assert cli("gbcs", "decode", *argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("ota-conformance gbcs:")
    _no_traceback(captured)


def test_a_file_that_is_neither_hex_nor_binary(cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello", encoding="ascii")
    assert cli("gbcs", "decode", path) == 2
    assert "neither hex text nor a binary APDU" in capsys.readouterr().err


def test_a_missing_key_is_unusable(
    cli: Cli, tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key store without the signer's certificate cannot judge the signature: exit 2, said why."""
    partial = tmp_path / "keys"
    partial.mkdir()
    (partial / "90b3d51f30000002-ds.pem").write_bytes((keys_dir / "90b3d51f30000002-ds.pem").read_bytes())
    assert cli("gbcs", "decode", rtds_path("CCS08_NA_NA_ALERT_GBCS.HEX"), "--keys", partial) == 2
    out = capsys.readouterr().out
    assert "signature: not checked: no key for 00-DB-12-34-56-78-90-A2 ds" in out
    assert "cannot judge: not checked: no key for" in out and "verdict: UNUSABLE" in out


def test_help_lists_gbcs(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("gbcs", "--help")
    assert exit_info.value.code == 0
    assert "decode" in capsys.readouterr().out


def _public_pem(certificate_pem: bytes) -> bytes:
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_dcc_boxed_folder_as_shipped(
    cli: Cli, tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bare public keys instead of some certificates, private keys without certificates, an unreadable file:
    every message still checks, and the output says which roles the store found and what it skipped."""
    shipped = tmp_path / "keys"
    shutil.copytree(keys_dir, shipped)
    for name in ("00db1234567890a0-ka.pem", "00db1234567890a0-ds.pem", "00db1234567890a4-ka.pem"):
        path = shipped / name
        path.chmod(0o644)
        path.write_bytes(_public_pem(path.read_bytes()))
    for name in ("90b3d51f30010000-ka.pem", "90b3d51f30000002-ka.pem"):  # private keys alone
        (shipped / name).unlink()
    (shipped / "fffffffffffffffe-ka.pem").write_bytes(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    for name in MESSAGE_FILES:
        assert cli("gbcs", "decode", rtds_path(name), "--keys", shipped) == 0, name
        out = capsys.readouterr().out
        assert "verdict: VALID" in out
    assert "public keys" in out and "private key" in out
    assert f"note: {shipped / 'fffffffffffffffe-ka.pem'}: skipped: not a readable PEM public key" in out
    assert cli("gbcs", "decode", rtds_path(CS06), "--keys", shipped, "--json") == 0
    roles = json.loads(capsys.readouterr().out)["keys"]["roles"]
    assert roles["00-DB-12-34-56-78-90-A0"] == {"ds": "public key", "ka": "public key"}
    assert roles["90-B3-D5-1F-30-00-00-02"]["ka"] == "private key"


def test_a_missing_mac_key_says_so(
    cli: Cli, tmp_path: Path, keys_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ECS52 is MAC'd with the supplier's KA key: without it (nor the device's private key) nothing can judge
    the MAC: exit 2, and the output names the pair."""
    partial = tmp_path / "keys"
    shutil.copytree(keys_dir, partial)
    (partial / "90b3d51f30010000-ka.key").chmod(0o644)
    (partial / "90b3d51f30010000-ka.key").write_bytes(b"garbage")
    assert cli("gbcs", "decode", rtds_path("ECS52_11.2_SUCCESS_RESPONSE_GBCS.HEX"), "--keys", partial) == 2
    out = capsys.readouterr().out
    assert "MAC: not checked: no key for the MAC pair 90-B3-D5-1F-30-01-00-00 ka with 00-DB-12-34-56-78-90-A0 ka" in out
    assert "90b3d51f30010000-ka.key: not a PEM file" in out and "verdict: UNUSABLE" in out


def test_a_message_outside_the_firmware_scope(cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = "ECS17b_4.1.1_TWIN_SUCCESS_RESPONSE_GBCS.HEX"
    assert cli("gbcs", "decode", rtds_path(name), "--keys", keys_dir) == 0
    out = capsys.readouterr().out
    assert "message: 0x0027 message code outside the firmware scope" in out
    assert "payload: not decoded (outside the firmware scope) (115 octets)" in out
    assert "MAC: valid (matches, key pair 90-B3-D5-1F-30-02-00-00 ka with 00-DB-12-34-56-78-90-A0 ka)" in out
    data = bytearray(rtds(name))
    data[40] ^= 0x01  # a payload octet: the MAC covers it
    assert cli("gbcs", "decode", bytes(data).hex(), "--keys", keys_dir) == 1
    assert "MAC: invalid" in capsys.readouterr().out


def test_the_key_agreement_certificate_is_shown(cli: Cli, keys_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("gbcs", "decode", rtds_path("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX"), "--keys", keys_dir) == 0
    out = capsys.readouterr().out
    assert "supplementary remote party KA certificate  406 octets DER, subject " in out
    assert "(EUI-64 90-B3-D5-1F-30-01-00-00), issuer CN=Z1,OU=07" in out
