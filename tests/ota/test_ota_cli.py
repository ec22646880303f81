"""`ota-conformance image …`: exit codes 0/1/2, JSON output, keys, and no traceback as the interface."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.ota import VARIANTS, parse_image

Cli = Callable[..., int]


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err


def test_inspect_valid_signed_sample(
    cli: Cli,
    capsys: pytest.CaptureFixture[str],
    vectors_dir: Path,
    dcc_supplier_cert_path: Path,
    esme_hash: bytes,
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.1-esme-sample.ota"
    code = cli("image", "inspect", image, "--key", dcc_supplier_cert_path, "--expected-hash", esme_hash.hex())
    out = capsys.readouterr().out
    assert code == 0
    for text in (
        "0x0BEEF11E",
        "manufacturer code            0x121D",
        "file version                 0xACDCACDC",
        "minimum hardware version     0x1111",
        "'I am a GFI ESME[] firmware image'",
        "layout: gb-signed (expected not given, detected gb-signed)",
        f"235 octets, SHA-256 {esme_hash.hex()}",
        "supplier signature: valid",
        "verdict: VALID (signature verified)",
        "container: none: the OTA file starts at the first octet",
    ):
        assert text in out


def test_inspect_json_is_one_object(
    cli: Cli, capsys: pytest.CaptureFixture[str], vectors_dir: Path, esme_hash: bytes
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.4-ppmid-sample.ota"
    assert cli("image", "inspect", image, "--json", "--layout", "gb-unsigned") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["file"] == str(image)
    assert result["valid"] is True
    assert result["layout"] == result["expected_layout"] == "gb-unsigned"
    assert result["header"]["image_type"] == 0x0084
    assert result["header"]["total_image_size"] == 295
    assert result["manufacturer_image"] == {"size": 235, "sha256": esme_hash.hex()}
    assert result["signature_valid"] is None
    assert result["findings"] == []


def test_inspect_invalid_image_exits_1(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, esme_sample: bytes
) -> None:
    broken = tmp_path / "broken.ota"
    broken.write_bytes(VARIANTS["wrong-header-version"].derive(esme_sample))
    assert cli("image", "inspect", broken, "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False and result["verdict"] == "INVALID"
    assert result["findings"][0]["code"] == "unsupported-header-version"
    assert cli("image", "inspect", broken) == 1
    assert "DEFECT  unsupported-header-version @4" in capsys.readouterr().out


def test_a_wrong_identifier_means_not_an_ota_file_exit_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, esme_sample: bytes
) -> None:
    """No OTA file identifier anywhere: not an OTA file (2), the wrong identifier named (CS-03)."""
    broken = tmp_path / "broken.ota"
    broken.write_bytes(VARIANTS["wrong-magic"].derive(esme_sample))
    assert cli("image", "inspect", broken) == 2
    err = capsys.readouterr().err
    assert "is not an OTA file" in err and "0x1EF1EE0B" in err and "wrong-magic" in err


def test_valid_says_what_it_rests_on(
    cli: Cli, capsys: pytest.CaptureFixture[str], vectors_dir: Path, dcc_supplier_cert_path: Path
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.1-esme-sample.ota"
    assert cli("image", "inspect", image) == 0
    assert "verdict: VALID (signature not checked: no key)" in capsys.readouterr().out
    assert cli("image", "inspect", image, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "VALID (signature not checked: no key)" and result["signature_checked"] is False
    assert cli("image", "inspect", image, "--key", dcc_supplier_cert_path) == 0
    assert "verdict: VALID (signature verified)" in capsys.readouterr().out


def test_inspect_wrong_expected_hash_exits_1(cli: Cli, capsys: pytest.CaptureFixture[str], vectors_dir: Path) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.4-ppmid-sample.ota"
    assert cli("image", "inspect", image, "--expected-hash", "00" * 32) == 1
    assert "manufacturer-image-hash-mismatch" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--expected-hash", "zz"), "not hexadecimal"),
        (("--expected-hash", "00"), "a SHA-256 has 32"),
    ],
)
def test_inspect_bad_option_values_exit_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], vectors_dir: Path, extra: tuple[str, ...], message: str
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.4-ppmid-sample.ota"
    assert cli("image", "inspect", image, *extra) == 2
    err = capsys.readouterr().err
    assert message in err
    _no_traceback(err)


def test_inspect_missing_file_exits_2(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli("image", "inspect", tmp_path / "absent.ota") == 2
    err = capsys.readouterr().err
    assert "cannot read OTA image" in err
    _no_traceback(err)


def test_argparse_usage_errors_exit_2(cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("image", "inspect", tmp_path / "x.ota", "--layout", "gbz")
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        cli("image", "build", "-o", tmp_path / "x.ota", "--manufacturer-code", "0x10000")
    assert exit_info.value.code == 2
    assert "does not fit 16 bits" in capsys.readouterr().err


def test_private_key_is_refused_and_never_printed(
    cli: Cli, capsys: pytest.CaptureFixture[str], vectors_dir: Path, dcc_supplier_key_path: Path
) -> None:
    image = vectors_dir / "images" / "dccboxed-sr11.1-esme-sample.ota"
    assert cli("image", "inspect", image, "--key", dcc_supplier_key_path) == 2
    captured = capsys.readouterr()
    assert "holds a private key" in captured.err
    secret_lines = [line for line in dcc_supplier_key_path.read_text().splitlines() if "-----" not in line]
    for line in secret_lines:
        assert line not in captured.err and line not in captured.out
    _no_traceback(captured.err)


def test_public_key_pem_and_bad_key_files(
    cli: Cli,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    factory_image: bytes,
    pem_files: dict[str, Path],
) -> None:
    image = tmp_path / "image.ota"
    image.write_bytes(factory_image)
    keys = ("--key", pem_files["supplier-public"], "--manufacturer-key", pem_files["manufacturer-public"])
    assert cli("image", "inspect", image, "--layout", "gb-signed", *keys) == 0
    assert "manufacturer signature (GBMS): manufacturer signature verifies" in capsys.readouterr().out
    assert cli("image", "inspect", image, "--key", pem_files["other-public"]) == 1
    assert "supplier signature: INVALID" in capsys.readouterr().out
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
    assert cli("image", "inspect", image, "--key", garbage) == 2
    assert "not a PEM X.509 certificate or public key" in capsys.readouterr().err
    assert cli("image", "inspect", image, "--key", tmp_path / "absent.pem") == 2
    assert "cannot read key file" in capsys.readouterr().err


def test_build_then_inspect(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, pem_files: dict[str, Path]
) -> None:
    out = tmp_path / "built.ota"
    keys = (
        "--supplier-key",
        pem_files["supplier-private"],
        "--manufacturer-key",
        pem_files["manufacturer-private"],
    )
    args = (
        "--manufacturer-code",
        "0x4242",
        "--image-type",
        "0x0084",
        "--file-version",
        "0x00010203",
        "--size",
        "300",
    )
    assert cli("image", "build", "-o", out, *args, *keys) == 0
    assert "wrote image" in capsys.readouterr().out
    header = parse_image(out.read_bytes()).header
    assert (header.manufacturer_code, header.image_type, header.file_version) == (0x4242, 0x0084, 0x00010203)
    check = ("--key", pem_files["supplier-public"], "--manufacturer-key", pem_files["manufacturer-public"])
    assert cli("image", "inspect", out, "--layout", "gb-signed", *check) == 0


def test_build_unsigned_without_keys(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "ppmid.ota"
    assert cli("image", "build", "-o", out, "--layout", "gb-unsigned", "--size", "10", "--no-hw-versions") == 0
    assert parse_image(out.read_bytes()).header.header_length == 56


def test_build_signed_without_supplier_key_exits_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli("image", "build", "-o", tmp_path / "x.ota") == 2
    assert "--supplier-key" in capsys.readouterr().err
    assert not (tmp_path / "x.ota").exists()


def test_build_refuses_a_certificate_as_signing_key(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, dcc_supplier_cert_path: Path
) -> None:
    assert cli("image", "build", "-o", tmp_path / "x.ota", "--supplier-key", dcc_supplier_cert_path) == 2
    assert "holds no private key" in capsys.readouterr().err


def test_build_variant_from_a_file(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, vectors_dir: Path
) -> None:
    source = vectors_dir / "images" / "dccboxed-sr11.1-esme-sample.ota"
    out = tmp_path / "variant.ota"
    assert cli("image", "build", "-o", out, "--variant", "truncated-signature", "--from", source) == 0
    assert "wrote variant truncated-signature" in capsys.readouterr().out
    assert cli("image", "inspect", out, "--layout", "gb-signed", "--json") == 1
    codes = {f["code"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "signature-truncated" in codes
    running = ("--running-version", "0xACDCACDD")
    assert cli("image", "build", "-o", out, "--variant", "same-version", "--from", source, *running) == 0
    assert parse_image(out.read_bytes()).header.file_version == 0xACDCACDD


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--from", "x.ota"), "give --variant NAME too"),
        (("--variant", "no-such-thing", "--layout", "gb-unsigned"), "unknown variant 'no-such-thing'"),
        (("--variant", "lower-version", "--layout", "gb-unsigned"), "needs the running-version"),
        (("--variant", "missing-signature", "--layout", "gb-unsigned"), "applies to gb-signed images"),
    ],
)
def test_build_usage_problems_exit_2(
    cli: Cli, capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    assert cli("image", "build", "-o", tmp_path / "x.ota", *extra) == 2
    err = capsys.readouterr().err
    assert message in err
    _no_traceback(err)


def test_variants_listing(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("image", "variants") == 0
    text = capsys.readouterr().out
    assert all(name in text for name in VARIANTS)
    assert "wrong-magic  [needs: none; CS-03]" in text
    assert cli("image", "variants", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in rows} == set(VARIANTS)
    by_name = {row["name"]: row for row in rows}
    assert by_name["signed-by-other-key"]["needs"] == ["other-key"]
    assert by_name["wrong-magic"]["findings"] == ["bad-magic"]
