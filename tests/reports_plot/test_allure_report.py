"""`make report` without running npm: what it says when Node.js is missing, which run it reports, and the
Allure 3 configuration that carries history between runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.reports import allure as report


def _run(reports: Path, name: str, mtime: float) -> Path:
    results = reports / name / "allure-results"
    results.mkdir(parents=True)
    os.utime(results, (mtime, mtime))
    return reports / name


def test_without_node_or_npm_make_report_says_what_is_missing_and_exits_3(tmp_path, monkeypatch, capsys):
    _run(tmp_path, "r1", 1_000)
    monkeypatch.setattr(report.shutil, "which", lambda name: None if name == "npm" else f"/usr/bin/{name}")
    assert report.main(["--reports-dir", str(tmp_path)]) == report.EXIT_ENVIRONMENT
    err = capsys.readouterr().err
    assert "npm not found" in err and "Node.js 20 or later with npm" in err and "conformance.html" in err
    assert not (tmp_path / report.CLI_DIR).exists()  # nothing installed


def test_without_any_run_make_report_asks_for_make_conformance_first(tmp_path, capsys):
    assert report.main(["--reports-dir", str(tmp_path)]) == report.EXIT_USAGE
    assert "run `make conformance` first" in capsys.readouterr().err


def test_the_newest_run_is_the_one_whose_allure_results_were_written_last(tmp_path):
    _run(tmp_path, "20990101T000000Z-aaaaaa", 1_000)  # a later name, written earlier
    newest = _run(tmp_path, "custom-id", 2_000)
    (tmp_path / "not-a-run").mkdir()
    assert report.newest_run(tmp_path) == newest


def test_the_config_points_allure_3_at_one_history_file_kept_beside_the_runs(tmp_path):
    config = report.write_config(
        tmp_path / report.CLI_DIR / "allurerc.json",
        output=report.site_dir(tmp_path / "r1"),
        history=tmp_path / report.HISTORY_FILE,
        run_name="r1",
    )
    data = json.loads(config.read_text())
    assert data["historyPath"] == str((tmp_path / "allure-history.jsonl").resolve())
    assert data["output"] == str((tmp_path / "r1.allure").resolve())
    assert data["name"] == "GB OTA conformance: r1"


@pytest.mark.parametrize("installed", ["another lock", None])
def test_allure_is_installed_with_npm_ci_from_the_committed_lock(tmp_path, monkeypatch, installed):
    cli = tmp_path / report.CLI_DIR
    if installed:
        (cli / "node_modules" / ".bin").mkdir(parents=True)
        (cli / "node_modules" / ".bin" / "allure").write_text("")
        (cli / report.INSTALLED_STAMP).write_text("0" * 64)  # installed from an older lock: installed again
    monkeypatch.setattr(report.shutil, "which", lambda name: f"/usr/bin/{name}")
    calls: list[list[str]] = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return type("Done", (), {"returncode": 1, "stderr": "E404", "stdout": ""})()

    monkeypatch.setattr(report.subprocess, "run", fake_run)
    with pytest.raises(report.ReportError, match=r"could not install allure@3\.18\.0") as err:
        report.ensure_allure(cli)
    assert err.value.code == report.EXIT_ENVIRONMENT
    assert calls == [["/usr/bin/npm", "ci", "--prefix", str(cli), "--no-audit", "--no-fund"]]
    for name in report.LOCK_FILES:  # npm ci installs exactly what the committed lock says
        assert (cli / name).read_bytes() == (report.LOCK_DIR / name).read_bytes()


def test_the_npm_lock_pins_allure_and_hashes_every_package():
    manifest = json.loads((report.LOCK_DIR / "package.json").read_text())
    lock = json.loads((report.LOCK_DIR / "package-lock.json").read_text())
    assert manifest["dependencies"] == {report.ALLURE_PACKAGE: report.ALLURE_VERSION}  # an exact pin, no range
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"]  # the lock is of this manifest
    assert lock["packages"][f"node_modules/{report.ALLURE_PACKAGE}"]["version"] == report.ALLURE_VERSION
    installed = {path: entry for path, entry in lock["packages"].items() if path}
    assert len(installed) > 1
    unhashed = [path for path, entry in installed.items() if not str(entry.get("integrity", "")).startswith("sha")]
    assert unhashed == [], "every package of the tree needs its integrity hash: run `make lock-allure`"
