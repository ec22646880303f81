"""`ota-conformance report`, and the report `ota-conformance run` writes at its end (one short real run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cert_fakerun import RUN_ID

from harness.cli import main
from harness.cli.report import certify_after_run
from harness.exitcodes import CheckExit, RunExit
from harness.reports.certification import HTML_NAME, PDF_NAME
from harness.reports.manifest import MANIFEST_NAME, verify_run_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def test_report_writes_the_page_and_signs_the_directory(fake_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(fake_run), "--no-pdf"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((fake_run / MANIFEST_NAME).read_text())
    assert f"{fake_run / HTML_NAME}" in out and manifest["certificate_sha256"] in out
    assert not (fake_run / PDF_NAME).exists()
    assert verify_run_dir(fake_run).valid
    assert main(["verify", str(fake_run)]) == CheckExit.VALID


def test_report_on_a_directory_without_a_run_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ota-conformance report: ") and "conformance.json does not exist" in err
    assert "Traceback" not in err
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_a_report_failure_after_a_run_is_a_message_not_an_exception(
    fake_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (fake_run / "conformance.json").write_text("{broken")
    certify_after_run(fake_run)
    err = capsys.readouterr().err
    assert "certification report was not completed" in err and "verdicts above stand" in err
    assert f"ota-conformance report {fake_run}" in err


def test_no_statement_after_a_run_means_no_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certify_after_run(tmp_path)
    assert capsys.readouterr().err == "" and not (tmp_path / MANIFEST_NAME).exists()


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A few scenarios of the real suite on the emulator (a few seconds), through the console script."""
    reports = tmp_path_factory.mktemp("reports")
    result = subprocess.run(
        [*CONSOLE_SCRIPT, "run", "--reports-dir", str(reports), "--run-id", RUN_ID, "-k", "upgrade_now or cs08"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, reports / RUN_ID


def test_a_run_ends_with_a_signed_certification_page(real_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, run_dir = real_run
    assert result.returncode == RunExit.ALL_PASSED, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Certification report:" in result.stdout
    assert (run_dir / HTML_NAME).is_file() and not (run_dir / PDF_NAME).exists()  # the PDF is `report`'s job
    verification = verify_run_dir(run_dir)
    assert verification.valid, [c for c in verification.files if c.status != "OK"]
    assert {"junit.xml", "conformance.json", "conformance.html", HTML_NAME} <= {c.path for c in verification.files}


def test_a_run_records_what_the_device_reported(real_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, run_dir = real_run
    statement = json.loads((run_dir / "conformance.json").read_text())
    assert len(statement["scenarios"]) >= 2
    seen = statement["dut_seen"]
    # The reference emulator's Basic attributes, and the profile's running version in its queries.
    assert seen["manufacturer"] == ["GB OTA Emulator"] and seen["model"] == ["EMU-PPMID"]
    assert "0x01020300" in seen["file_versions"]
    assert seen["manufacturer_codes"] == ["0x121D"] and seen["image_types"] == ["0x0084"]
    page = (run_dir / HTML_NAME).read_text()
    assert "GB OTA Emulator" in page and "EMU-PPMID" in page
