"""Views derived from a signed run never break it: `make report` writes the Allure site beside the run with a
manifest of its own, says how to serve it over HTTP, and `verify` passes on the run and on the site; the
living specification shows no terminal control sequence even from a statement that kept some."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reports import allure
from harness.reports.certification import write_certification
from harness.reports.manifest import MANIFEST_NAME, verify_run_dir
from harness.reports.text import has_control_sequences


def test_make_report_writes_beside_the_signed_run_so_verify_still_passes(
    fake_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_certification(fake_run, pdf=False)
    monkeypatch.setattr(allure, "ensure_allure", lambda cli_dir: Path("/usr/bin/allure"))

    def fake_generate(command: list[str], **kwargs: object) -> object:
        out = Path(command[command.index("--output") + 1])
        out.mkdir(parents=True)
        (out / "index.html").write_text("<html></html>")
        return type("Done", (), {"returncode": 0, "stderr": "", "stdout": ""})()

    monkeypatch.setattr(allure, "subprocess", type("FakeSubprocess", (), {"run": staticmethod(fake_generate)}))
    monkeypatch.chdir(fake_run.parent)
    assert allure.main(["--reports-dir", ".", "--run-dir", fake_run.name]) == allure.EXIT_OK
    out = capsys.readouterr().out
    site = allure.site_dir(fake_run)
    assert (site / "index.html").is_file() and not (fake_run / "allure-report").exists()
    assert verify_run_dir(fake_run).valid
    derived = verify_run_dir(site)
    assert derived.valid and derived.derived is not None and derived.derived[0]
    assert json.loads((site / MANIFEST_NAME).read_text())["derived_from"]["run_dir"] == f"../{fake_run.name}"
    assert "needs HTTP, not file://" in out and "http://localhost:8000/" in out
    serve = out.split("Serve it with `", 1)[1].split("`", 1)[0]
    assert serve.endswith(f"-m http.server 8000 --bind 127.0.0.1 --directory {site.name}")
    python = shlex.split(serve)[0]  # the venv's interpreter, as reachable from here
    assert subprocess.run([python, "-c", "import http.server"], check=False).returncode == 0
    assert Path(python).resolve() == Path(sys.executable).resolve()


def test_the_living_specification_shows_no_control_sequence(fake_run: Path, tmp_path: Path) -> None:
    from harness.pytest_plugin import FEATURES_DIR
    from harness.reports.spec import build_spec, write_spec

    statement = json.loads((fake_run / "conformance.json").read_text())
    statement["scenarios"][1]["message"] += "\n\x1b[91m- INVALID_IMAGE\x1b[0m"  # as an older version wrote it
    write_spec(build_spec(FEATURES_DIR, statement=statement), tmp_path / "site")
    for page in (tmp_path / "site").glob("*.html"):
        assert not has_control_sequences(page.read_text()), page
