"""`make report`: the Allure 3 HTML report of the newest run, with history and trends across runs.

Why a script: Allure 3 is an npm package (``allure``), not a Python one. It is installed locally under
``reports/.allure-cli/`` (never globally), the first time it is needed, with ``npm ci`` from the committed
``requirements/allure/package.json`` and ``package-lock.json``: every package of the tree at the version and
with the integrity hash (SHA-512) the lock records, so npm refuses a tampered download. ``make lock-allure``
refreshes the lock (README, "Quick start"). History is carried the Allure 3
way: one JSON-lines file (``historyPath`` in the generated ``allurerc.json``), ``reports/allure-history.jsonl``,
to which every ``make report`` appends the run it reports; keep that file between runs (CI: cache it) and the
report shows trends and each test's history.

Usage: ``python -m harness.reports.allure [--reports-dir reports] [--run-dir DIR]``. Writes the site into
``<run-id>.allure/`` beside the run directory, never into it: the run is signed (``manifest.json``), and a
file added inside it would make ``ota-conformance verify`` fail. The site gets a manifest of its own (a key
made for it: integrity only) that names the run's manifest by SHA-256, so ``verify`` works on both. The site
loads its data with JavaScript, which browsers refuse over ``file://``: it must be served over HTTP (the
command to do so is printed). Exit codes: 0 report written; 2 bad option or no run with ``allure-results``
found; 3 environment: Node.js/npm missing, the install or Allure failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: The Allure 3 command-line package and its pinned version (npm; the lock below must hold the same).
ALLURE_PACKAGE = "allure"
ALLURE_VERSION = "3.18.0"
#: The committed npm manifest and lock of the Allure command: every package with its integrity hash.
LOCK_DIR = Path(__file__).resolve().parents[2] / "requirements" / "allure"
LOCK_FILES = ("package.json", "package-lock.json")
#: In the install directory: the SHA-256 of the lock it was installed from (a new lock installs again).
INSTALLED_STAMP = ".installed-lock-sha256"
HISTORY_FILE = "allure-history.jsonl"
CLI_DIR = ".allure-cli"
#: The site's directory beside the run: ``<run-id>.allure`` (a derived view, outside the signed run).
SITE_SUFFIX = ".allure"

EXIT_OK, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 2, 3


class ReportError(Exception):
    """A report cannot be built; ``code`` is the exit code, the message says what to do."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def site_dir(run_dir: Path) -> Path:
    """Where the Allure site of ``run_dir`` goes: beside it, ``<run-id>.allure/``."""
    return run_dir.with_name(run_dir.name + SITE_SUFFIX)


def newest_run(reports_dir: Path) -> Path:
    """The run directory under ``reports_dir`` whose ``allure-results`` was written last."""
    runs = [p.parent for p in reports_dir.glob("*/allure-results") if p.is_dir()]
    if not runs:
        raise ReportError(
            f"no run with allure-results under {reports_dir}/. ACTION: run `make conformance` first.", EXIT_USAGE
        )
    return max(runs, key=lambda run: ((run / "allure-results").stat().st_mtime, run.name))


def ensure_allure(cli_dir: Path) -> Path:
    """The pinned Allure 3 command, installed with npm under ``cli_dir`` when absent or another version."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        raise ReportError(
            f"{missing} not found: the Allure 3 report needs Node.js 20 or later with npm "
            "(e.g. `apt-get install nodejs npm`). The conformance statement (conformance.html) needs neither.",
            EXIT_ENVIRONMENT,
        )
    command = cli_dir / "node_modules" / ".bin" / "allure"
    stamp = cli_dir / INSTALLED_STAMP
    digest = hashlib.sha256((LOCK_DIR / "package-lock.json").read_bytes()).hexdigest()
    if command.exists() and stamp.is_file() and stamp.read_text(encoding="ascii").strip() == digest:
        return command
    cli_dir.mkdir(parents=True, exist_ok=True)
    for name in LOCK_FILES:
        shutil.copyfile(LOCK_DIR / name, cli_dir / name)
    print(
        f"Installing {ALLURE_PACKAGE}@{ALLURE_VERSION} into {cli_dir}/ (npm ci, locked) ...",
        file=sys.stderr,
        flush=True,
    )
    install = [npm, "ci", "--prefix", str(cli_dir), "--no-audit", "--no-fund"]
    result = subprocess.run(install, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not command.exists():
        raise ReportError(
            f"npm could not install {ALLURE_PACKAGE}@{ALLURE_VERSION} (exit {result.returncode}):\n"
            f"{result.stderr[-2000:]}\nACTION: check the network access to the npm registry and run again.",
            EXIT_ENVIRONMENT,
        )
    stamp.write_text(digest + "\n", encoding="ascii")
    return command


def write_config(path: Path, *, output: Path, history: Path, run_name: str) -> Path:
    """``allurerc.json`` for one report: where it goes and the history file it reads and appends to."""
    config = {
        "name": f"GB OTA conformance: {run_name}",
        "output": str(output.resolve()),
        "historyPath": str(history.resolve()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def build_report(reports_dir: Path, run_dir: Path | None = None) -> Path:
    """Build ``<run-id>.allure/`` beside ``run_dir`` (default: the newest run) and append it to the history."""
    run = run_dir or newest_run(reports_dir)
    results = run / "allure-results"
    if not results.is_dir():
        raise ReportError(f"{results} does not exist. ACTION: name a run directory of `make conformance`.", EXIT_USAGE)
    command = ensure_allure(reports_dir / CLI_DIR)
    output = site_dir(run)
    if output.exists():
        shutil.rmtree(output)  # derived from the run: rebuilt whole, nothing of its own to lose
    config = write_config(
        reports_dir / CLI_DIR / "allurerc.json", output=output, history=reports_dir / HISTORY_FILE, run_name=run.name
    )
    result = subprocess.run(
        [str(command), "generate", "--config", str(config), "--output", str(output.resolve()), str(results.resolve())],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not (output / "index.html").exists():
        raise ReportError(
            f"allure generate failed (exit {result.returncode}):\n{result.stdout[-1500:]}{result.stderr[-1500:]}",
            EXIT_ENVIRONMENT,
        )
    from harness import __version__
    from harness.reports.manifest import sign_derived

    sign_derived(output, run, __version__)  # a manifest of its own, naming the run's: `verify` checks both
    return output


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make report", description=__doc__.splitlines()[0])
    parser.add_argument("--reports-dir", default="reports", type=Path, help="where the runs are (default: reports)")
    parser.add_argument("--run-dir", type=Path, help="report this run instead of the newest one")
    args = parser.parse_args(argv)
    try:
        output = build_report(args.reports_dir, args.run_dir)
    except ReportError as err:
        print(f"make report: {err}", file=sys.stderr)
        return err.code
    history = args.reports_dir / HISTORY_FILE
    print(f"Allure report: {output}/ (history: {history}; keep it between runs for trends)")
    print(f"It needs HTTP, not file://. Serve it with `{serve_command(output)}` and open http://localhost:8000/")
    return EXIT_OK


def serve_command(site: Path) -> str:
    """A command that serves the site over HTTP, pasteable in the project directory (the venv's Python)."""
    from harness.cli.hints import shell_path

    return f"{shell_path(Path(sys.executable))} -m http.server 8000 --bind 127.0.0.1 --directory {shell_path(site)}"


if __name__ == "__main__":
    sys.exit(main())
