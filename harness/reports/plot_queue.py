"""Transfer plots drawn after the run's scenarios, not in their teardown.

Why: drawing a plot (matplotlib: about 25 ms each, and 0.3 s to import it) took a fifth of a run's CPU, in
the teardown of the scenario that made it, so the scenarios waited for it; on hardware, a drawing thread
would also compete with the hub's event loop for the interpreter. So while a run is on,
``record_transfer_plots`` hands each plot to the run's ``PlotQueue``, and the queue draws them all when the
last scenario is done (``finish()``, at the end of the pytest session: before the conformance statement and
the certification report, which embeds them):

- the files are the same and in the same places (``evidence/<scenario>/transfer-<n>.png``); the records the
  statement carries (path, blocks, retries, pauses, outcome) are computed at once, as before;
- the Allure attachment is registered at the scenario's teardown, as before, with an empty placeholder that
  ``finish()`` fills with the picture;
- a picture asked for again (the same download in another scenario: ``picture_key``) is drawn once.

Why not a worker process: its own interpreter must import matplotlib and the suite again (more CPU than the
drawing it takes over), and a forked one would inherit the event loop's thread mid-flight. Without a queue
(a plain call, a test) ``record_transfer_plots`` draws at once, as it always did.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import pickle
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

#: (transfer, render options): what ``harness.reports.transfer_plot.render`` draws.
Picture = tuple[Any, dict[str, Any]]


def draw(picture: Picture) -> bytes:
    """PNG octets of ``render(transfer, **options)``."""
    from harness.reports.transfer_plot import png_bytes, render

    transfer, options = picture
    return png_bytes(render(transfer, **options))


class PendingAttachment(bytes):
    """An empty Allure attachment body standing for a picture not drawn yet (``PlotQueue`` fills its file)."""

    picture_key: str


class PlotQueue:
    """The run's plots, drawn when its scenarios are done (see the module docstring)."""

    def __init__(self, allure_dir: Path | None = None) -> None:
        self.allure_dir = allure_dir
        self._pictures: dict[str, Picture] = {}
        self._files: dict[str, list[Path]] = {}  # files waiting for each picture
        self.shown = 0  # files asked for

    @property
    def drawn(self) -> int:
        """Distinct pictures asked for."""
        return len(self._pictures)

    def submit(self, transfer: Any, path: Path, **options: Any) -> str:
        """Have ``render(transfer, **options)`` written to ``path`` by ``finish()``; returns the picture's key."""
        picture = (transfer, options)
        key = picture_key(transfer, options)
        self._pictures.setdefault(key, picture)
        self._files.setdefault(key, []).append(path)
        self.shown += 1
        return key

    def attached(self, key: str, file_name: str) -> None:
        """Allure stored the attachment of picture ``key`` as ``file_name`` (``_register_allure_hook``)."""
        if self.allure_dir is not None and key in self._files:
            self._files[key].append(self.allure_dir / file_name)

    def finish(self) -> None:
        """Draw every picture and write every file waiting for it."""
        pictures, files = self._pictures, self._files
        self._pictures, self._files = {}, {}
        for key, picture in pictures.items():
            try:
                data = draw(picture)
            except Exception:  # one broken picture must not cost the run its other evidence
                LOGGER.exception("transfer plot for %s could not be drawn", [str(p) for p in files[key]])
                continue
            for path in files[key]:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)


def picture_key(transfer: Any, options: dict[str, Any]) -> str:
    """What makes a transfer's picture: equal keys draw equal PNGs.

    Why times are taken from the first block request: ``render`` draws a transfer on its own time axis
    (seconds since its first block request), so the same download at another moment of the run is the same
    picture; on the virtual clock a dozen scenarios make the same one. Everything else (offsets, sizes,
    outcomes, events and their labels, the number, the image size, the render options) is in the key as it
    is, and so are the pauses as ``render`` draws them (computed from the transfer as given, so a difference
    in the last bit of a gap can never make two different pictures share a key).
    ``tests/reports_plot/test_plot_queue.py`` draws a shifted transfer to hold ``render`` to this.
    """
    start = transfer.start
    relative = dataclasses.replace(
        transfer,
        blocks=[dataclasses.replace(b, time=b.time - start) for b in transfer.blocks],
        events=[dataclasses.replace(e, time=e.time - start) for e in transfer.events],
    )
    pauses = [(begin - start, end - start, f"{end - begin:.0f}") for begin, end in transfer.pauses()]
    return hashlib.sha256(pickle.dumps((relative, pauses, options), protocol=5)).hexdigest()


def show(transfer: Any, path: Path, name: str, **options: Any) -> None:
    """Write ``render(transfer, **options)`` to ``path`` and attach it to Allure as ``name``: now, or when the
    run's scenarios are done if a queue is on."""
    queue = current()
    if queue is None:
        body = draw((transfer, options))
        path.write_bytes(body)
    else:
        body = PendingAttachment()
        body.picture_key = queue.submit(transfer, path, **options)
    with contextlib.suppress(ImportError):
        import allure

        allure.attach(body, name=name, attachment_type=allure.attachment_type.PNG)


_QUEUE: list[PlotQueue] = []


def current() -> PlotQueue | None:
    """The queue of the run in progress, or None (plots are then drawn at once)."""
    return _QUEUE[0] if _QUEUE else None


def start(allure_dir: Path | None = None) -> PlotQueue:
    finish()
    queue = PlotQueue(allure_dir)
    _QUEUE.append(queue)
    _register_allure_hook()
    return queue


def finish() -> None:
    """Draw the run's queued plots, if any (idempotent)."""
    while _QUEUE:
        _QUEUE.pop().finish()


_ALLURE_HOOK: list[Any] = []


def _register_allure_hook() -> None:
    """Learn under which file name Allure stores a pending picture (an allure-commons hook implementation,
    called after Allure's own file writer has written the empty placeholder)."""
    if _ALLURE_HOOK:
        return
    try:
        from allure_commons import hookimpl, plugin_manager
    except ImportError:  # Allure is optional for plain pytest runs
        return

    class AllureAttachments:
        @hookimpl(trylast=True)
        def report_attached_data(self, body: Any, file_name: str) -> None:
            queue = current()
            if queue is not None and isinstance(body, PendingAttachment):
                queue.attached(body.picture_key, file_name)

    hooks = AllureAttachments()
    plugin_manager.register(hooks)
    _ALLURE_HOOK.append(hooks)


class PlotQueuePlugin:
    """The pytest side: a queue per session of a run that writes plots into a run directory."""

    def __init__(self, allure_dir: Path | None) -> None:
        self.allure_dir = allure_dir

    def pytest_sessionstart(self) -> None:
        start(self.allure_dir)

    def pytest_sessionfinish(self) -> None:
        finish()


def install(config: Any) -> None:
    """Register the queue's plugin when the run draws plots into a run directory (``--run-dir``,
    ``--transfer-plots=on``); plain test runs keep drawing at once."""
    if not config.getoption("--run-dir", None) or config.getoption("--transfer-plots", "on") != "on":
        return
    allure_dir = config.getoption("--alluredir", None)
    config.pluginmanager.register(PlotQueuePlugin(Path(allure_dir) if allure_dir else None), "harness-plot-queue")
