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


@pytest.mark.parametrize("version", ["3.17.0", None])
def test_a_missing_or_other_allure_version_is_installed_pinned_with_npm_prefix(tmp_path, monkeypatch, version):
    cli = tmp_path / report.CLI_DIR
    if version:
        (cli / "node_modules" / "allure").mkdir(parents=True)
        (cli / "node_modules" / "allure" / "package.json").write_text(json.dumps({"version": version}))
    monkeypatch.setattr(report.shutil, "which", lambda name: f"/usr/bin/{name}")
    calls: list[list[str]] = []

    def fake_run(command, **kwargs):
        calls.append(command)
        return type("Done", (), {"returncode": 1, "stderr": "E404", "stdout": ""})()

    monkeypatch.setattr(report.subprocess, "run", fake_run)
    with pytest.raises(report.ReportError, match=r"could not install allure@3\.18\.0") as err:
        report.ensure_allure(cli)
    assert err.value.code == report.EXIT_ENVIRONMENT
    assert calls == [["/usr/bin/npm", "install", "--prefix", str(cli), "--no-audit", "--no-fund", "allure@3.18.0"]]
