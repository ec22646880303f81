"""Transfer plots of a run are drawn after its scenarios (harness.reports.plot_queue): the same files, the
same octets, the Allure attachment filled in, each distinct picture drawn once."""

from __future__ import annotations

from pathlib import Path

import pytest
from allure_commons import plugin_manager
from allure_commons.logger import AllureFileLogger

from harness.reports import plot_queue
from harness.reports import transfer_plot as tp


def _transfer(blocks: int, start: float = 0.0) -> tp.Transfer:
    transfer = tp.Transfer(1, (0x121D, 0x0084, 0x01020400), image_size=blocks * 48)
    transfer.blocks = [tp.Block(start + n, n * 48, 48, retry=False, outcome=tp.SERVED) for n in range(blocks)]
    transfer.events.append(tp.Event(start + blocks, tp.COMPLETED, "Upgrade End: SUCCESS"))
    return transfer


@pytest.fixture
def queue(tmp_path: Path):
    queue = plot_queue.start(tmp_path / "allure")
    yield queue
    plot_queue.finish()


def test_queued_plots_are_written_at_finish_with_the_octets_drawn_at_once(queue, tmp_path: Path):
    transfer = _transfer(12)
    plot_queue.show(transfer, tmp_path / "a.png", "transfer 1", clock="virtual")
    plot_queue.show(transfer, tmp_path / "b.png", "transfer 1", clock="virtual")  # the same picture again
    plot_queue.show(_transfer(5), tmp_path / "c.png", "transfer 1", clock="virtual")
    assert not any((tmp_path / name).exists() for name in ("a.png", "b.png", "c.png"))  # nothing drawn yet
    assert (queue.shown, queue.drawn) == (3, 2)
    plot_queue.finish()
    drawn_at_once = plot_queue.draw((transfer, {"clock": "virtual"}))
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes() == drawn_at_once
    assert (tmp_path / "c.png").read_bytes().startswith(b"\x89PNG") and plot_queue.current() is None


def test_the_same_download_later_in_the_run_is_the_same_picture_and_drawn_once(queue, tmp_path: Path):
    early, late = _transfer(6, start=12.25), _transfer(6, start=98765.4321)
    late.blocks[2].time += 30.0  # a pause: the same in both, at another moment
    early.blocks[2].time += 30.0
    for block in (*early.blocks[3:], *late.blocks[3:]):
        block.time += 30.0
    early.events[0].time += 30.0
    late.events[0].time += 30.0
    assert plot_queue.draw((early, {"clock": "virtual"})) == plot_queue.draw((late, {"clock": "virtual"}))
    plot_queue.show(early, tmp_path / "early.png", "transfer 1", clock="virtual")
    plot_queue.show(late, tmp_path / "late.png", "transfer 1", clock="virtual")
    other = _transfer(6, start=12.25)
    other.blocks[5].outcome = tp.THROTTLED  # anything drawn differs: another picture
    plot_queue.show(other, tmp_path / "other.png", "transfer 1", clock="virtual")
    plot_queue.show(early, tmp_path / "real.png", "transfer 1", clock="real")  # another axis label
    assert (queue.shown, queue.drawn) == (4, 3)
    plot_queue.finish()
    assert (tmp_path / "early.png").read_bytes() == (tmp_path / "late.png").read_bytes()
    assert (tmp_path / "other.png").read_bytes() != (tmp_path / "early.png").read_bytes()


def test_the_allure_placeholder_is_filled_with_the_picture(queue, tmp_path: Path):
    allure_dir = tmp_path / "allure"
    allure_dir.mkdir()
    writer = AllureFileLogger(str(allure_dir))
    plugin_manager.register(writer)
    try:
        body = plot_queue.PendingAttachment()
        body.picture_key = queue.submit(_transfer(3), tmp_path / "plot.png", clock="virtual")
        plugin_manager.hook.report_attached_data(body=body, file_name="f00-attachment.png")  # what allure.attach does
        assert (allure_dir / "f00-attachment.png").read_bytes() == b""  # Allure's placeholder, for now
        plot_queue.finish()
    finally:
        plugin_manager.unregister(writer)
    assert (allure_dir / "f00-attachment.png").read_bytes() == (tmp_path / "plot.png").read_bytes() != b""


def test_without_a_queue_record_transfer_plots_draws_at_once(tmp_path: Path):
    assert plot_queue.current() is None
    plot_queue.show(_transfer(4), tmp_path / "now.png", "transfer 1", clock="virtual")
    assert (tmp_path / "now.png").read_bytes().startswith(b"\x89PNG")
