"""Transfer plots: one picture per OTA transfer (block offset against time) from a scenario's transcript.

Why: a verdict message says *that* a download went wrong; the picture shows *how* at a glance — where the
device paused, where the hub throttled it (WAIT_FOR_DATA, delayed or dropped responses), which offsets it
asked for again, and when the transfer ended (rejected, aborted, or activation ordered).

Two halves, so the cheap one can run without matplotlib: ``transfers(transcript)`` reads the transcript
into ``Transfer`` records (pure Python), ``render(transfer)`` draws one (matplotlib, imported lazily, Agg
backend, fixed size and DPI, no date or version in the PNG metadata, so the same transcript gives the same
bytes). ``record_transfer_plots`` does both for a scenario, writes the PNGs into the run directory and
attaches them to Allure (during a run through ``harness.reports.plot_queue``: off the scenario loop).

A transfer is a run of Image Block Requests for one file (manufacturer code, image type, file version). It
ends with the device's Upgrade End Request or the hub's ABORT; the next block request starts a new one.
Times are the transcript's, i.e. the run's clock (virtual on the emulator), relative to the transfer's
first Image Block Request.
"""

from __future__ import annotations

import io
import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.reports import plot_queue
from harness.reports.evidence_paths import evidence_dir
from harness.transcript import OTA_CLUSTER_ID, Direction, EntryKind, Transcript, TranscriptEntry

if TYPE_CHECKING:  # matplotlib is imported only when a plot is drawn (it costs ~0.5 s to import)
    from matplotlib.figure import Figure

#: Figure size (inches) and resolution: small and fixed, so plots are cheap and byte-for-byte reproducible.
FIGSIZE = (7.0, 3.2)
DPI = 80
#: A gap between two block requests is a pause when longer than this many median gaps (and MIN_PAUSE_S).
PAUSE_FACTOR = 4.0
MIN_PAUSE_S = 2.0
#: Upgrade End Response's UpgradeTime meaning "wait for an upgrade-now" (ZCL OTA 11.13.9).
UPGRADE_TIME_WAIT = 0xFFFFFFFF

# Marker kinds: the ``gid`` of the artist that draws them (tests and readers look them up by it).
SERVED, RETRY, THROTTLED, DELAYED, NO_RESPONSE, MALFORMED = (
    "served",
    "retry",
    "throttled",
    "delayed",
    "no-response",
    "malformed-response",
)
PAUSE, ABORT, REJECTED, COMPLETED, ACTIVATION, REJOIN = (
    "pause",
    "abort",
    "rejected",
    "download-complete",
    "activation",
    "rejoin",
)


#: The mark of a FAIL's decisive frame (and, when nothing arrived, the budget that ran out).
VIOLATION = "violation"


@dataclass(frozen=True)
class Violation:
    """Where a FAIL's verdict rests, on the run's clock: the decisive frame and, for a FAIL where nothing
    arrived, the end of the budget that ran from it."""

    time: float
    label: str
    budget_end: float | None = None


@dataclass
class Block:
    """One Image Block Request and what the hub did with it."""

    time: float
    offset: int
    size: int
    retry: bool
    outcome: str = NO_RESPONSE  # SERVED, THROTTLED, DELAYED, NO_RESPONSE, MALFORMED or ABORT


@dataclass
class Event:
    """A moment worth a vertical line: the end of the transfer, an activation order, a rejoin."""

    time: float
    kind: str  # ABORT, REJECTED, COMPLETED, ACTIVATION, REJOIN
    label: str


@dataclass
class Transfer:
    """One file's download as the transcript shows it (times on the run's clock, absolute)."""

    number: int
    identity: tuple[int, int, int]  # manufacturer code, image type, file version
    image_size: int | None = None
    blocks: list[Block] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    closed: bool = False

    @property
    def start(self) -> float:
        return self.blocks[0].time

    @property
    def retries(self) -> int:
        return sum(b.retry for b in self.blocks)

    def pauses(self) -> list[tuple[float, float]]:
        """Gaps between consecutive block requests much longer than the usual one: (from, to). A gap after a
        block the hub throttled, delayed or left unanswered is explained by that marker, so it is no pause."""
        pairs = list(itertools.pairwise(self.blocks))
        if not pairs:
            return []
        threshold = max(PAUSE_FACTOR * statistics.median(b.time - a.time for a, b in pairs), MIN_PAUSE_S)
        return [(a.time, b.time) for a, b in pairs if b.time - a.time > threshold and a.outcome == SERVED]

    def outcome(self) -> str:
        """How it ended, in words (for the title and the evidence)."""
        ends = [e for e in self.events if e.kind in (ABORT, REJECTED, COMPLETED)]
        return ends[-1].label if ends else "no Upgrade End Request"


def _status(entry: TranscriptEntry) -> str:
    status = entry.fields.get("status")
    return getattr(status, "name", str(status))


def _is_ota_command(entry: TranscriptEntry, command: str, direction: Direction) -> bool:
    return (
        entry.kind is EntryKind.FRAME
        and entry.direction is direction
        and entry.cluster_id == OTA_CLUSTER_ID
        and entry.command == command
        and entry.zcl is not None
        and entry.zcl.frame_type == "cluster"
    )


def _activation_label(entry: TranscriptEntry) -> str:
    now, at = entry.fields.get("current_time"), entry.fields.get("upgrade_time")
    if at is None:
        return "activation ordered"
    if int(at) == UPGRADE_TIME_WAIT:
        return "activation: wait for upgrade-now"
    delay = int(at) if not now else int(at) - int(now)
    return "activation ordered: now" if delay <= 0 else f"activation ordered: in {delay} s"


def transfers(entries: Iterable[TranscriptEntry] | Transcript) -> list[Transfer]:
    """The OTA transfers in a scenario's transcript, in order (empty when the DUT asked for no block)."""
    found: list[Transfer] = []
    current: Transfer | None = None
    pending: dict[int, Block] = {}  # TSN of an open block request -> its block
    by_index: dict[int, Block] = {}  # transcript index of a block request -> its block
    seen: dict[int, Block] = {}  # offset -> its latest request in the current transfer
    sizes: dict[int, int] = {}  # file version -> image size, from Query Next Image Responses
    for entry in entries:
        if _is_ota_command(entry, "query_next_image_response", Direction.TO_DUT) and _status(entry) == "SUCCESS":
            if entry.fields.get("file_version") is not None and entry.fields.get("image_size") is not None:
                sizes[int(entry.fields["file_version"])] = int(entry.fields["image_size"])
        elif _is_ota_command(entry, "image_block", Direction.FROM_DUT) and not entry.malformed:
            f = entry.fields
            identity = (int(f["manufacturer_code"]), int(f["image_type"]), int(f["file_version"]))
            if current is None or current.closed or current.identity != identity:
                current = Transfer(len(found) + 1, identity, sizes.get(identity[2]))
                found.append(current)
                seen, pending = {}, {}
            offset = int(f["file_offset"])
            # Asking again after WAIT_FOR_DATA is what the hub asked for, not a retry.
            retry = offset in seen and seen[offset].outcome != THROTTLED
            block = Block(entry.time, offset, int(f["maximum_data_size"]), retry=retry)
            seen[offset] = block
            current.blocks.append(block)
            by_index[entry.index] = block
            if entry.tsn is not None:
                pending[entry.tsn] = block
        elif current is None:
            continue
        elif _is_ota_command(entry, "image_block_response", Direction.TO_DUT) and entry.transmitted:
            block = pending.pop(entry.tsn, None) if entry.tsn is not None else None
            status = "MALFORMED" if entry.malformed else _status(entry)
            if block is not None:
                block.outcome = {"SUCCESS": SERVED, "WAIT_FOR_DATA": THROTTLED, "MALFORMED": MALFORMED}.get(
                    status, ABORT
                )
            if status not in ("SUCCESS", "WAIT_FOR_DATA", "MALFORMED") and not current.closed:
                current.events.append(Event(entry.time, ABORT, f"{status} from the hub"))
                current.closed = True
        elif entry.kind is EntryKind.DECISION and entry.in_reply_to in by_index:
            block = by_index[entry.in_reply_to]
            if entry.decision.startswith("scheduled"):
                block.outcome = DELAYED
            elif entry.decision.startswith("dropped"):
                block.outcome = NO_RESPONSE
        elif _is_ota_command(entry, "upgrade_end", Direction.FROM_DUT) and not current.closed:
            status = _status(entry)
            if status == "SUCCESS":
                current.events.append(Event(entry.time, COMPLETED, "Upgrade End: SUCCESS"))
            else:
                kind = ABORT if status == "ABORT" else REJECTED
                current.events.append(Event(entry.time, kind, f"Upgrade End: {status} (rejected)"))
            current.closed = True
        elif _is_ota_command(entry, "upgrade_end_response", Direction.TO_DUT) and entry.delivered:
            current.events.append(Event(entry.time, ACTIVATION, _activation_label(entry)))
        elif entry.direction is Direction.FROM_DUT and entry.command == "Device_annce":
            current.events.append(Event(entry.time, REJOIN, "device rejoined (Device_annce)"))
    return found


# -- drawing -------------------------------------------------------------------------------------------
_STYLE: dict[str, dict[str, Any]] = {
    SERVED: {"marker": ".", "color": "#2a7ab0", "label": "block served"},
    RETRY: {"marker": "o", "color": "#d62728", "label": "retry (offset asked again)", "mfc": "none"},
    THROTTLED: {"marker": "s", "color": "#ff7f0e", "label": "WAIT_FOR_DATA"},
    DELAYED: {"marker": "D", "color": "#9467bd", "label": "response delayed"},
    NO_RESPONSE: {"marker": "x", "color": "#d62728", "label": "no response"},
    MALFORMED: {"marker": "*", "color": "#8c564b", "label": "malformed response"},
    ABORT: {"marker": "X", "color": "#000000", "label": "ABORT"},
}
_EVENT_COLOURS = {ABORT: "#000000", REJECTED: "#d62728", COMPLETED: "#2ca02c", ACTIVATION: "#2ca02c", REJOIN: "#777"}


_FIGURE: list[Any] = []  # the one (figure, axes) pair every plot is drawn on (see ``_canvas``)


def _canvas() -> tuple[Figure, Any]:
    """A figure and axes made once per process, emptied for each plot.

    Why: a fresh figure costs ~3 times as much (new tick objects, cold text-metric cache), and a run draws
    a plot for most scenarios. Only the data artists change between plots; limits are set explicitly, so a
    plot does not depend on the one before it (the tests check the bytes are the same).
    """
    if not _FIGURE:
        # The Agg canvas directly, not pyplot: no global backend switch, no figure registry, no GUI.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator

        figure = Figure(figsize=FIGSIZE, dpi=DPI)
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.set_ylabel("file offset (octets)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(6))
        ax.yaxis.set_major_locator(MaxNLocator(5, integer=True))
        figure.subplots_adjust(left=0.11, right=0.98, bottom=0.15, top=0.9)  # fixed: tight_layout costs 50 ms
        _FIGURE[:] = [figure, ax]
    figure, ax = _FIGURE
    for artist in [*ax.lines, *ax.texts, *ax.patches, *ax.collections, *figure.texts]:
        artist.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    return figure, ax


def render(
    transfer: Transfer, *, clock: str = "virtual", title: str = "", violation: Violation | None = None
) -> Figure:
    """Draw one transfer (valid until the next call; not saved). Every marker kind is its own artist whose
    ``gid`` is the kind; events and pauses are annotations with the same ``gid``.

    The x axis is the run's clock since the first block request. On the emulator an undisturbed transfer
    takes no virtual time at all; then the x axis is the request's number instead (the events after the
    last block are drawn just after it, their labels say what they were), and the axis label says so.
    """
    figure, ax = _canvas()
    start = transfer.start
    if max(b.time for b in transfer.blocks) > start:
        position = {id(b): b.time - start for b in transfer.blocks}

        def x_at(time: float) -> float:
            return time - start

        ax.set_xlabel(f"s since the first block request ({clock} clock)", fontsize=8)
    else:  # every request at one instant: spread them by number so the picture still shows the order
        position = {id(b): float(n) for n, b in enumerate(transfer.blocks, 1)}

        def x_at(time: float) -> float:
            return len(transfer.blocks) + 0.5

        ax.set_xlabel(f"block request number (all at one {clock}-clock instant)", fontsize=8)
    xs = [position[id(b)] for b in transfer.blocks]
    ax.step(xs, [b.offset for b in transfer.blocks], where="post", color="#bbb", linewidth=0.8, gid="offset-line")
    for kind, style in _STYLE.items():
        points = [b for b in transfer.blocks if b.outcome == kind and not (kind == SERVED and b.retry)]
        if points:
            ax.plot(
                [position[id(b)] for b in points],
                [b.offset for b in points],
                linestyle="none",
                markersize=5 if kind != SERVED else 3,
                gid=kind,
                **style,
            )
    retries = [b for b in transfer.blocks if b.retry]
    if retries:
        ax.plot(
            [position[id(b)] for b in retries],
            [b.offset for b in retries],
            linestyle="none",
            markersize=8,
            gid=RETRY,
            **_STYLE[RETRY],
        )
    for begin, end in transfer.pauses():
        ax.axvspan(x_at(begin), x_at(end), color="#ffe9a8", alpha=0.6, gid=PAUSE, label="pause")
        ax.annotate(
            f"pause {end - begin:.0f} s",
            ((x_at(begin) + x_at(end)) / 2, 0),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=7,
            gid=PAUSE,
        )
    top = transfer.image_size or max(b.offset + b.size for b in transfer.blocks)
    if transfer.image_size:
        ax.axhline(transfer.image_size, color="#999", linestyle=":", linewidth=0.8, gid="image-size")
    marks = [] if violation is None else [x_at(t) for t in (violation.time, violation.budget_end) if t is not None]
    left, right = min([*xs, *marks]), max([*xs, *(x_at(e.time) for e in transfer.events), *marks])
    pad = max((right - left) * 0.03, 0.5)
    ax.set_xlim(left - pad, right + pad)
    for n, event in enumerate(transfer.events):
        x = x_at(event.time)
        before = x > (left + right) / 2  # labels in the right half go left of their line, so they stay inside
        ax.axvline(x, color=_EVENT_COLOURS[event.kind], linestyle="--", linewidth=1, gid=event.kind)
        ax.annotate(
            event.label,
            (x, top),
            xytext=(-3 if before else 3, -10 - 9 * (n % 3)),
            textcoords="offset points",
            ha="right" if before else "left",
            fontsize=7,
            color=_EVENT_COLOURS[event.kind],
            gid=event.kind,
        )
    if violation is not None:
        _mark_violation(ax, violation, x_at, top, right_half=x_at(violation.time) > (left + right) / 2)
    ax.set_ylim(0, top * 1.08 + 1)
    # A figure text, not ax.set_title: placing an axes title measures every tick label (~15 ms a plot).
    figure.text(
        0.5,
        0.97,
        title or f"Transfer {transfer.number}: {transfer.outcome()}",
        ha="center",
        va="top",
        fontsize=9,
        gid="title",
    )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), fontsize=6, loc="lower right", framealpha=0.8)
    return figure


def _mark_violation(ax: Any, violation: Violation, x_at: Any, top: float, *, right_half: bool) -> None:
    """A thick red line at the decisive frame, labelled; a hatched span to the budget's end when nothing
    arrived (each artist's ``gid`` is ``VIOLATION``)."""
    x = x_at(violation.time)
    if violation.budget_end is not None and x_at(violation.budget_end) > x:
        ax.axvspan(x, x_at(violation.budget_end), color="#d62728", alpha=0.12, hatch="//", gid=VIOLATION)
        ax.axvline(x_at(violation.budget_end), color="#d62728", linestyle=":", linewidth=1.5, gid=VIOLATION)
    ax.axvline(x, color="#d62728", linewidth=2.5, gid=VIOLATION, label="FAIL: decisive frame")
    ax.annotate(
        violation.label,
        (x, top),
        xytext=(-4 if right_half else 4, 4),
        textcoords="offset points",
        ha="right" if right_half else "left",
        fontsize=8,
        fontweight="bold",
        color="#d62728",
        gid=VIOLATION,
    )


def png_bytes(figure: Figure) -> bytes:
    """The PNG of ``figure``, without the matplotlib version in its metadata (reproducible bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


# -- one scenario --------------------------------------------------------------------------------------
def record_transfer_plots(
    transcript: Transcript | Sequence[TranscriptEntry], run_dir: Path, scenario: str, *, clock: str = "virtual"
) -> list[dict[str, Any]]:
    """Draw every transfer of a scenario, write ``evidence/<slug>/transfer-<n>.png`` under ``run_dir`` and
    attach each to Allure. ``scenario`` is the pytest item name (``harness.reports.evidence_paths``). Returns
    the evidence records (paths relative to ``run_dir``), empty when the DUT asked for no block."""
    found = transfers(transcript)
    if not found:
        return []
    folder = evidence_dir(run_dir, scenario)
    folder.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    for transfer in found:
        path = folder / f"transfer-{transfer.number}.png"
        plot_queue.show(transfer, path, f"transfer {transfer.number}", clock=clock)  # now, or off the loop
        records.append(
            {
                "path": path.relative_to(run_dir).as_posix(),
                "blocks": len(transfer.blocks),
                "retries": transfer.retries,
                "pauses": len(transfer.pauses()),
                "outcome": transfer.outcome(),
            }
        )
    return records
