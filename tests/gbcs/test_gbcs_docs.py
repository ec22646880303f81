"""docs/gbcs.md stays in step with the message table: every (code, CRA flag) is documented with its codec and
protection."""

from __future__ import annotations

from pathlib import Path

from harness.gbcs import MESSAGES

DOC = Path(__file__).resolve().parents[2] / "docs" / "gbcs.md"


def _message_rows() -> dict[tuple[int, str], list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `0x") and len(cells) == 8:
            rows[int(cells[0].strip("`"), 16), cells[1]] = cells
    return rows


def test_every_message_is_documented() -> None:
    rows = _message_rows()
    assert set(rows) == {(code, cra.name.lower()) for code, cra in MESSAGES}
    for (code, cra), spec in MESSAGES.items():
        row = rows[code, cra.name.lower()]
        assert row[2] == spec.name
        assert row[3].split()[0].strip("`") == spec.codec.name
        assert (row[4], row[5]) == ("yes" if spec.signed else "no", "yes" if spec.mac else "no")
        assert {int(c, 16) for c in row[6].split(", ") if c} == spec.alert_codes
