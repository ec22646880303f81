"""Every file of ../shared/vectors/rtds-4.5.0, whatever it is, through `ota-conformance gbcs decode` as a user runs
it: exit 0 with the DCC Boxed keys (PRECOMMANDs with `--precommand`), and the signature and MAC verdicts of the
DCC's parser: every signature present verifies, every MAC present matches (domain.md §10).

The list is the folder's listing, not names written here, so a sample added to the folder is covered at once;
a folder holding fewer files than expected fails (samples went missing), and an absent folder skips with the
reason (a fresh clone has no ../shared).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gbcs_rtds import ABSENT, EXPECTED_RTDS_FILE_COUNT, KEYS, RTDS, RTDS_FILES, each, is_precommand, rtds, rtds_path

from harness.gbcs import GeneralCiphered, decode_apdu, signing_part


def test_the_folder_holds_the_expected_files() -> None:
    if not RTDS.is_dir():
        pytest.skip(ABSENT)
    listed = sorted(path.name for path in RTDS.iterdir() if path.is_file())
    assert listed == list(RTDS_FILES), f"{RTDS} holds files other than .HEX: {sorted(set(listed) - set(RTDS_FILES))}"
    assert len(listed) >= EXPECTED_RTDS_FILE_COUNT, (
        f"{RTDS} holds {len(listed)} files, expected at least {EXPECTED_RTDS_FILE_COUNT}: samples went missing"
    )


@pytest.mark.parametrize("name", each(RTDS_FILES))
def test_every_file_decodes_with_the_dccs_verdicts(
    name: str, vector_keys: object, cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    path: Path = rtds_path(name)
    options = ["--precommand"] if is_precommand(name) else []
    assert cli("gbcs", "decode", path, "--keys", KEYS, "--json", *options) == 0, capsys.readouterr().out
    result = json.loads(capsys.readouterr().out)
    apdu = decode_apdu(rtds(name))
    signed, ciphered = bool(signing_part(apdu).signature), isinstance(apdu, GeneralCiphered)
    assert result["verdict"] == "valid"
    assert result["signature"]["check"] == ("valid" if signed else "absent"), result["signature"]
    assert result["mac"]["check"] == ("valid" if ciphered else "absent"), result["mac"]
    assert result["defects"] == [] and result["unusable"] == []
    assert result["header"]["originator"] and result["header"]["message_code"].startswith("0x")
    if result["payload_codec"] is None:
        assert result["payload_status"] == "not decoded (outside the firmware scope)"
