"""Helpers of the lab-fault tests: the run command as an operator types it (a subprocess of
``ota-conformance run``, so exit codes and stderr are the real ones) and a closed local port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: A run that has not ended by then hangs: exactly what the lab-fault paths must never do.
RUN_TIMEOUT_S = 180
#: The console script ``ota-conformance`` is ``harness.cli:main``; run through this interpreter.
_MAIN = "import sys; from harness.cli import main; sys.exit(main())"


@dataclass
class RunResult:
    """What the operator sees: exit code, stdout, stderr, and the conformance statement."""

    code: int
    out: str
    err: str
    statement: dict[str, Any]

    @property
    def verdicts(self) -> dict[str, str]:
        return {s["scenario"]: s["verdict"] for s in self.statement["scenarios"]}

    def messages(self) -> list[str]:
        return [s["message"] for s in self.statement["scenarios"]]


def run_cli(reports: Path, *args: str) -> RunResult:
    """``ota-conformance run ARGS`` with the project root importable (``--radio tests.lab.lab_radios:X``)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _MAIN, "run", "--reports-dir", str(reports), "--run-id", "run", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    statement_path = reports / "run" / "conformance.json"
    statement = json.loads(statement_path.read_text(encoding="utf-8")) if statement_path.exists() else {}
    return RunResult(proc.returncode, proc.stdout, proc.stderr, statement)


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
