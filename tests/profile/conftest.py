"""Fixtures for the profile tests: a minimal valid profile text and a writer for broken variants."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

MINIMAL = """\
device:
  role: ppmid
pics:
  OTA.C: true
  OTA.C.C04.Tx: false
pixit:
  dut:
    eui64: 00-DB-12-34-56-78-90-A4
    manufacturer_code: 0x121D
    image_type: 0x0084
    current_file_version: 0x01020300
    downgrade_policy: reject-lower
"""


@pytest.fixture
def minimal() -> str:
    """Every required item and nothing else: OTA.C true, OTA.C.C04.Tx false, every other PICS undeclared."""
    return MINIMAL


@pytest.fixture
def write_profile(tmp_path: Path) -> Callable[..., Path]:
    """Write profile text to tmp_path/<name>.yaml and return the path."""

    def write(text: str, name: str = "dut") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
