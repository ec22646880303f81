"""Fixtures: the fake run directory of ``cert_fakerun``, fresh per test, and signed once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cert_fakerun import RUN_ID, build_fake_run


@pytest.fixture(scope="session")
def fake_run_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fake_run(tmp_path_factory.mktemp("template") / RUN_ID)


@pytest.fixture
def fake_run(tmp_path: Path, fake_run_template: Path) -> Path:
    """A fresh copy of the fake run directory (tests may change it)."""
    return Path(shutil.copytree(fake_run_template, tmp_path / RUN_ID))


@pytest.fixture(scope="session")
def signed_template(tmp_path_factory: pytest.TempPathFactory, fake_run_template: Path) -> Path:
    """The fake run after `report --no-pdf`: certification.html and the signed manifest."""
    from harness.reports.certification import write_certification

    run_dir = Path(shutil.copytree(fake_run_template, tmp_path_factory.mktemp("signed") / RUN_ID))
    write_certification(run_dir, pdf=False)
    return run_dir


@pytest.fixture
def signed_run(tmp_path: Path, signed_template: Path) -> Path:
    return Path(shutil.copytree(signed_template, tmp_path / RUN_ID))
