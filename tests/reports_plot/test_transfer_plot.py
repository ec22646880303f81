"""Transfer plots from a hand-built transcript: segmentation into transfers, the markers on the figure
(read from its artists, not its pixels), reproducible PNG bytes and the evidence written for a scenario."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from zigpy.zcl import foundation
from zigpy.zcl.clusters.general import Ota

from harness.radio.frames import FrameAddress, FrameDirection, RawFrame, zcl_frame
from harness.reports import transfer_plot as tp
from harness.transcript import Role, Transcript

pytest.importorskip("matplotlib")

DUT = "00-DB-12-34-56-78-90-A4"
DUT_NWK = 0x4A21
REQ, RSP = Ota.ServerCommandDefs, Ota.ClientCommandDefs
C2S, S2C = foundation.Direction.Client_to_Server, foundation.Direction.Server_to_Client
Status = foundation.Status
IDENTITY = {"manufacturer_code": 0x121D, "image_type": 0x0084, "file_version": 0x01020400}
BLOCK = 48


class StepClock:
    """Just what the transcript reads from a clock; the test moves ``t`` by hand."""

    virtual = True

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def utcnow(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)

    def notify(self) -> None:
        pass


def _address(nwk: int, endpoint: int) -> FrameAddress:
    import zigpy.types as t

    return FrameAddress.from_zigpy(t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=nwk), endpoint)


class Script:
    """Builds a transcript the way the CH would see a transfer: requests in, responses and decisions out."""

    def __init__(self) -> None:
        self.clock = StepClock()
        self.transcript = Transcript(self.clock, dut_eui64=DUT, name="plot")
        self.transcript.register_party(DUT, Role.DUT, nwk=DUT_NWK)
        self.tsn = 0

    def _frame(self, direction: FrameDirection, data: bytes) -> int:
        inbound = direction is FrameDirection.IN
        dut, ch = _address(DUT_NWK, 1), _address(0x0000, 3)
        raw = RawFrame(
            direction=direction,
            loop_time=self.clock.t,
            src=dut if inbound else ch,
            dst=ch if inbound else dut,
            profile_id=0x0109,
            cluster_id=Ota.cluster_id,
            data=data,
            aps_counter=1,
            lqi=255,
            rssi=-40,
        )
        return self.transcript.record_frame(raw).index

    def at(self, t: float) -> Script:
        self.clock.t = t
        return self

    def offer(self, size: int) -> None:
        body = RSP.query_next_image_response.schema(status=Status.SUCCESS, image_size=size, **IDENTITY)
        self._frame(
            FrameDirection.OUT, zcl_frame(RSP.query_next_image_response.id, body.serialize(), tsn=1, direction=S2C)
        )

    def request(self, offset: int, file_version: int = IDENTITY["file_version"]) -> int:
        self.tsn += 1
        ident = {**IDENTITY, "file_version": file_version}
        body = REQ.image_block.schema(field_control=0, file_offset=offset, maximum_data_size=BLOCK, **ident)
        return self._frame(
            FrameDirection.IN, zcl_frame(REQ.image_block.id, body.serialize(), tsn=self.tsn, direction=C2S)
        )

    def respond(self, status: Status = Status.SUCCESS, offset: int = 0) -> None:
        if status == Status.SUCCESS:
            body = RSP.image_block_response.schema(
                status=status, file_offset=offset, image_data=b"\0" * BLOCK, **IDENTITY
            )
        elif status == Status.WAIT_FOR_DATA:
            body = RSP.image_block_response.schema(
                status=status, current_time=0, request_time=3, minimum_block_period=0
            )
        else:
            body = RSP.image_block_response.schema(status=status)
        data = zcl_frame(RSP.image_block_response.id, body.serialize(), tsn=self.tsn, direction=S2C)
        self._frame(FrameDirection.OUT, data)

    def serve(self, offset: int) -> None:
        self.request(offset)
        self.respond(Status.SUCCESS, offset)

    def drop(self, offset: int) -> None:
        index = self.request(offset)
        self.transcript.record_decision(f"dropped: block at offset {offset} not answered (injected)", in_reply_to=index)

    def end(self, status: Status) -> None:
        self.tsn += 1
        body = REQ.upgrade_end.schema(status=status, **IDENTITY)
        self._frame(FrameDirection.IN, zcl_frame(REQ.upgrade_end.id, body.serialize(), tsn=self.tsn, direction=C2S))

    def activate(self, now: int, at: int) -> None:
        body = RSP.upgrade_end_response.schema(current_time=now, upgrade_time=at, **IDENTITY)
        data = zcl_frame(RSP.upgrade_end_response.id, body.serialize(), tsn=self.tsn, direction=S2C)
        self._frame(FrameDirection.OUT, data)


def troubled_transfer() -> Script:
    """Throttled once, a lost block asked again, a 60 s stall, then rejected by the device."""
    s = Script()
    s.offer(10 * BLOCK)
    for n in range(3):
        s.at(n * 0.5).serve(n * BLOCK)
    s.at(1.5).request(3 * BLOCK)
    s.respond(Status.WAIT_FOR_DATA)
    s.at(4.5).serve(3 * BLOCK)  # asked again after WAIT_FOR_DATA: not a retry
    s.at(5.0).drop(4 * BLOCK)
    s.at(9.0).serve(4 * BLOCK)  # retry after the lost block
    s.at(69.0).serve(5 * BLOCK)  # after a 60 s stall
    s.at(69.5).end(Status.INVALID_IMAGE)
    return s


def _gids(figure) -> dict[str, list]:
    found: dict[str, list] = {}
    ax = figure.axes[0]
    for artist in [*ax.lines, *ax.patches, *ax.texts, *ax.collections, *figure.texts]:
        found.setdefault(artist.get_gid(), []).append(artist)
    return found


def test_a_troubled_transfer_is_read_with_throttling_retries_pauses_and_the_rejection():
    (transfer,) = tp.transfers(troubled_transfer().transcript)
    assert transfer.image_size == 10 * BLOCK
    assert [b.offset // BLOCK for b in transfer.blocks] == [0, 1, 2, 3, 3, 4, 4, 5]
    assert [b.outcome for b in transfer.blocks] == [tp.SERVED] * 3 + [tp.THROTTLED, tp.SERVED, tp.NO_RESPONSE] + [
        tp.SERVED
    ] * 2
    assert [b.retry for b in transfer.blocks] == [False] * 6 + [True, False]
    assert transfer.pauses() == [(9.0, 69.0)]
    assert [(e.kind, e.label) for e in transfer.events] == [(tp.REJECTED, "Upgrade End: INVALID_IMAGE (rejected)")]
    assert transfer.outcome() == "Upgrade End: INVALID_IMAGE (rejected)"


def test_the_figure_carries_a_marker_for_each_kind_of_trouble_and_the_rejection():
    (transfer,) = tp.transfers(troubled_transfer().transcript)
    figure = tp.render(transfer)
    gids = _gids(figure)
    (throttled,) = gids[tp.THROTTLED]
    assert list(throttled.get_xdata()) == [1.5] and list(throttled.get_ydata()) == [3 * BLOCK]
    (retry,) = gids[tp.RETRY]
    assert list(retry.get_xdata()) == [9.0] and list(retry.get_ydata()) == [4 * BLOCK]
    (lost,) = gids[tp.NO_RESPONSE]
    assert list(lost.get_xdata()) == [5.0]
    assert any(t.get_text() == "pause 60 s" for t in gids[tp.PAUSE] if hasattr(t, "get_text"))
    labels = [t.get_text() for t in gids[tp.REJECTED] if hasattr(t, "get_text")]
    assert labels == ["Upgrade End: INVALID_IMAGE (rejected)"]
    assert [line.get_xdata()[0] for line in gids[tp.REJECTED] if not hasattr(line, "get_text")] == [69.5]
    assert figure.texts[0].get_text() == "Transfer 1: Upgrade End: INVALID_IMAGE (rejected)"
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert {"WAIT_FOR_DATA", "no response", "retry (offset asked again)", "pause"} <= set(legend)


def test_an_abort_from_the_hub_ends_the_transfer_and_the_next_block_starts_another():
    s = Script()
    s.serve(0)
    s.at(1.0).request(BLOCK)
    s.respond(Status.ABORT)
    s.at(30.0).serve(0)
    s.at(31.0).end(Status.SUCCESS)
    s.at(31.0).activate(now=1000, at=1060)
    first, second = tp.transfers(s.transcript)
    assert [e.kind for e in first.events] == [tp.ABORT] and first.outcome() == "ABORT from the hub"
    assert first.blocks[-1].outcome == tp.ABORT
    assert [(e.kind, e.label) for e in second.events] == [
        (tp.COMPLETED, "Upgrade End: SUCCESS"),
        (tp.ACTIVATION, "activation ordered: in 60 s"),
    ]
    gids = _gids(tp.render(first))
    assert "ABORT from the hub" in [t.get_text() for t in gids[tp.ABORT] if hasattr(t, "get_text")]


def test_a_transfer_at_one_virtual_instant_is_spread_by_request_number():
    s = Script()
    for n in range(4):
        s.serve(n * BLOCK)
    s.end(Status.SUCCESS)
    s.activate(now=5, at=0xFFFFFFFF)
    (transfer,) = tp.transfers(s.transcript)
    figure = tp.render(transfer)
    assert figure.axes[0].get_xlabel().startswith("block request number")
    assert list(_gids(figure)[tp.SERVED][0].get_xdata()) == [1.0, 2.0, 3.0, 4.0]
    assert transfer.events[-1].label == "activation: wait for upgrade-now"


def test_a_scenario_without_image_block_requests_gets_no_plot(tmp_path: Path):
    s = Script()
    s.offer(480)
    assert tp.transfers(s.transcript) == []
    assert tp.record_transfer_plots(s.transcript, tmp_path, "test_no_download") == []
    assert not (tmp_path / "evidence").exists()


def test_record_writes_one_png_per_transfer_with_a_relative_path_and_reproducible_bytes(tmp_path: Path):
    script = troubled_transfer()
    records = tp.record_transfer_plots(script.transcript, tmp_path, "test_the_ppmid_rejects[x-1]")
    assert records == [
        {
            "path": "evidence/the-ppmid-rejects-x-1/transfer-1.png",
            "blocks": 8,
            "retries": 1,
            "pauses": 1,
            "outcome": "Upgrade End: INVALID_IMAGE (rejected)",
        }
    ]
    first = (tmp_path / records[0]["path"]).read_bytes()
    assert first.startswith(b"\x89PNG") and b"Software" not in first and b"matplotlib" not in first
    other = Script()
    other.serve(0)
    tp.png_bytes(tp.render(tp.transfers(other.transcript)[0]))  # a plot in between must leave no trace
    again = tp.record_transfer_plots(script.transcript, tmp_path / "again", "test_the_ppmid_rejects[x-1]")
    assert (tmp_path / "again" / again[0]["path"]).read_bytes() == first
