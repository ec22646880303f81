"""``ota-conformance run`` in long-lived worker processes: one process runs many runs, each from a fresh state.

Why: the fault matrix makes 71 full runs. As 71 cold subprocesses, a third of their CPU went to starting an
interpreter and importing pytest, zigpy, cryptography and the suite, 71 times over. A warm worker imports
them once and then runs one ``ota-conformance run`` after another in-process (``harness.cli.main``: the same
code, arguments and files as the command), each on its own pytest session, event loop, clock and adapter.

What a run leaves in the process that a cold command would not find is reset before the next
(``reset_process_state``):

- the modules of the pytest session (the root conftest, ``harness.pytest_plugin``, the ``steps`` package
  and its binding module) are dropped, so the next session imports them again, assertion-rewritten, with
  fresh module state (the plugin's config, the step fixtures);
- pytest-bdd's registries (parsed features, scenario templates, report contexts);
- zigpy's registries (clusters by id and name, OTA provider types) restored to what they held before the
  first run;
- the emulators' class-level registries (keys and live devices by IEEE address), the cached loopback checks
  of the profile schema, the loop runner, the progress reporter, the plot queue and the garbage-collection
  policy (postponements dropped, frozen objects handed back and collected).

Memo caches of pure functions (parsed ZCL headers, the requirement catalogue) are kept: they answer the
same whatever ran before. So are two results of reading unchanged files, which each session used to make
again (a sixth of a small knob run's CPU): the step modules' assertion-rewritten code (``_rewrite_test``,
keyed by the file's octets: pytest keeps it in ``__pycache__``, which a machine with PYTHONDONTWRITEBYTECODE
never writes) and pytest-bdd's parsed feature files (kept while their octets are unchanged).
``tests/selfcheck/test_warm_runs.py`` shows that warm statements equal cold ones.

The worker side is this file run as a script (``python warm_runs.py RESPONSE_FD``): requests are JSON lines
on its stdin (``{"args": [...]}``), answers JSON lines on the response pipe; the runs' own output goes to
the worker's stdout, which the parent sends to a log file.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import resource
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: pytest plugins a conformance run never uses, left unloaded (about 0.25 s of CPU per run of 1.6-2 s).
LEAN_RUN = ("-p", "no:hypothesispytest", "-p", "no:xdist")

#: The plugin that leaves the evidence files out of a run (this folder is the worker's first import path).
VERDICTS_ONLY = ("-p", "verdicts_only")

#: (module, class, class attributes): registries the emulators keep by IEEE address across instances.
EMULATOR_REGISTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("harness.emulator.ppmid", "PpmidEmulator", ("_MANUFACTURER_KEYS", "_KEYSTORES", "_LIVE")),
    ("harness.emulator.hcalcs", "HcalcsEmulator", ("_KEYS", "_LIVE")),
)


@dataclass(frozen=True)
class RunOutcome:
    """What a warm run returned: the command's exit code, and the worker's CPU and wall seconds for it."""

    exit_code: int
    cpu_s: float
    wall_s: float
    error: str = ""  # the worker's traceback when the run raised (the command itself never should)
    log: str = ""  # the tail of the worker's log (its runs' output)


# -- worker side ------------------------------------------------------------------------------------------
def _is_session_module(name: str) -> bool:
    return name in ("conftest", "steps", "harness.pytest_plugin") or name.startswith("steps.")


def _zigpy_registries() -> list[dict[Any, Any]]:
    import zigpy.ota.providers
    import zigpy.zcl
    import zigpy.zcl.clusters

    return [
        zigpy.zcl.Cluster._registry,
        zigpy.zcl.clusters.CLUSTERS_BY_ID,
        zigpy.zcl.clusters.CLUSTERS_BY_NAME,
        zigpy.ota.providers.OTA_PROVIDER_TYPES,
    ]


def _remember_rewritten_modules() -> None:
    """pytest's assertion rewriting of a test module, made once per file content in this process."""
    rewrite = importlib.import_module("_pytest.assertion.rewrite")
    original = rewrite._rewrite_test
    made: dict[tuple[str, bytes], tuple[bytes, Any]] = {}

    def rewrite_test(fn: Path, config: Any) -> tuple[bytes, Any]:
        key = (str(fn), fn.read_bytes())
        if key not in made:
            made[key] = original(fn, config)
        return made[key]

    rewrite._rewrite_test = rewrite_test


class ProcessState:
    """The process-wide state of a worker, taken before its first run and restored before each run."""

    def __init__(self) -> None:
        # zigpy with its own clusters, then those zigpy lacks (registered with zigpy on import, as in every run)
        import harness.radio
        import harness.zigbee  # noqa: F401

        self._zigpy = [(registry, dict(registry)) for registry in _zigpy_registries()]
        self._features: dict[str, tuple[bytes, Any]] = {}  # parsed feature files: path -> (octets, Feature)
        _remember_rewritten_modules()

    def reset(self) -> None:
        """Put the process back as a fresh ``ota-conformance run`` would find it (see the module docstring)."""
        for name in [n for n in sys.modules if _is_session_module(n)]:
            del sys.modules[name]
        feature = importlib.import_module("pytest_bdd.feature")
        scenario = importlib.import_module("pytest_bdd.scenario")  # the package's own `scenario` is a function
        reporting = importlib.import_module("pytest_bdd.reporting")
        self._keep_parsed_features(feature.features)
        scenario.scenario_wrapper_template_registry.clear()
        reporting.scenario_reports_registry.clear()
        reporting.test_report_context_registry.clear()
        for registry, saved in self._zigpy:
            registry.clear()
            registry.update(saved)
        for module_name, class_name, attributes in EMULATOR_REGISTRIES:
            module = sys.modules.get(module_name)
            cls = getattr(module, class_name, None)
            for attribute in attributes if cls is not None else ():
                getattr(cls, attribute).clear()
        from harness import progress
        from harness.bdd import loop
        from harness.perf import gc_policy
        from harness.profile import schema
        from harness.reports import plot_queue

        schema.radio_class.cache_clear()  # the classes of module:Class radios, re-imported per run
        loop.set_current_runner(None)
        progress.stop()
        plot_queue.finish()
        gc_policy.reset()
        gc_policy.unsettle()

    def _keep_parsed_features(self, registry: dict[str, Any]) -> None:
        """pytest-bdd's registry of parsed features holds, for the next run, the files whose octets are as parsed."""
        for path, parsed in registry.items():
            if path not in self._features or self._features[path][1] is not parsed:
                self._features[path] = (Path(path).read_bytes(), parsed)
        registry.clear()
        for path, (octets, parsed) in self._features.items():
            with contextlib.suppress(OSError):
                if Path(path).read_bytes() == octets:
                    registry[path] = parsed


def _run_one(args: list[str]) -> dict[str, Any]:
    from harness.cli import main

    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    error = ""
    try:
        code = main(["run", *args])
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:  # report it: the parent turns it into the matrix's error for this knob
        code, error = -1, traceback.format_exc()
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sys.stdout.flush()
    sys.stderr.flush()
    return {"exit_code": code, "cpu_s": cpu, "wall_s": time.perf_counter() - started, "error": error}


def serve(requests: IO[str], answers: IO[str]) -> None:
    """Run each requested ``ota-conformance run`` in this process, from a reset state, and answer."""
    os.chdir(PROJECT_ROOT)
    state = ProcessState()
    for line in requests:
        if not line.strip():
            continue
        try:
            state.reset()
        except Exception:  # a state the worker cannot reset must not be run on: answer, then stop
            answers.write(json.dumps({"exit_code": -1, "cpu_s": 0, "wall_s": 0, "error": traceback.format_exc()}))
            answers.write("\n")
            answers.flush()
            return
        answers.write(json.dumps(_run_one(json.loads(line)["args"])) + "\n")
        answers.flush()


# -- parent side ------------------------------------------------------------------------------------------
class _Worker:
    def __init__(self, number: int, log_dir: Path) -> None:
        self.log_path = log_dir / f"warm-worker-{number}.log"
        self._log = self.log_path.open("ab")
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(write_fd)],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self._answers = os.fdopen(read_fd, "r")

    def run(self, args: list[str], timeout: float) -> RunOutcome:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"args": args}) + "\n")
        self.process.stdin.flush()
        answer: list[str] = []
        reader = threading.Thread(target=lambda: answer.append(self._answers.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not answer or not answer[0]:
            why = "did not answer in time" if reader.is_alive() else f"exited ({self.process.poll()})"
            log = self.log_tail()
            self.close(kill=True)
            return RunOutcome(-1, 0.0, timeout, error=f"the warm worker {why}", log=log)
        found = json.loads(answer[0])
        log = self.log_tail() if found["error"] else ""
        return RunOutcome(found["exit_code"], found["cpu_s"], found["wall_s"], found["error"], log)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, octets: int = 4000) -> str:
        if not self._log.closed:
            self._log.flush()
        data = self.log_path.read_bytes()
        return data[-octets:].decode("utf-8", "replace")

    def close(self, *, kill: bool = False) -> None:
        with contextlib.suppress(Exception):
            if kill:
                self.process.kill()
            elif self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(30)
        with contextlib.suppress(Exception):
            self._answers.close()
        self._log.close()


class WarmRunner:
    """Up to ``workers`` warm worker processes; ``run(args)`` is thread-safe and borrows an idle one.

    A worker that dies or times out is replaced for the next run (its run is reported as failed).
    """

    def __init__(self, workers: int, log_dir: Path, *, verdicts_only: bool = False) -> None:
        self.workers = max(1, workers)
        self.log_dir = log_dir
        #: Runs without the scenarios' evidence files (``verdicts_only.py``): for checks that read verdicts only.
        self.extra_args = VERDICTS_ONLY if verdicts_only else ()
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._started = 0

    def run(self, args: list[str], timeout: float = 900.0) -> RunOutcome:
        worker = self._borrow()
        try:
            return worker.run([*args, *self.extra_args], timeout)
        finally:
            if worker.alive():
                self._idle.put(worker)
            else:
                with self._lock:
                    self._started -= 1  # a fresh one replaces it when needed

    def _borrow(self) -> _Worker:
        with self._lock:
            if self._idle.empty() and self._started < self.workers:
                self._started += 1
                worker = _Worker(len(self._all) + 1, self.log_dir)
                self._all.append(worker)
                return worker
        return self._idle.get()

    def close(self) -> None:
        for worker in self._all:
            worker.close()

    def __enter__(self) -> WarmRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    with os.fdopen(int(sys.argv[1]), "w") as response_pipe:
        serve(sys.stdin, response_pipe)
