"""docs/ota-images.md stays in step with the code: every variant and every finding code is documented."""

from __future__ import annotations

from pathlib import Path

from harness.ota import VARIANTS, FindingCode

DOC = Path(__file__).resolve().parents[2] / "docs" / "ota-images.md"


def _table(first_header_cell: str) -> dict[str, list[str]]:
    """Rows of the Markdown table whose header starts with `first_header_cell`, keyed by first cell."""
    rows: dict[str, list[str]] = {}
    inside = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            inside = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == first_header_cell:
            inside = True
        elif inside and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells
    return rows


def test_every_variant_is_documented_with_its_requirements() -> None:
    rows = _table("Variant")
    assert set(rows) == set(VARIANTS)
    for variant in VARIANTS.values():
        assert rows[variant.name][2] == ", ".join(variant.requirements), variant.name


def test_every_finding_code_is_documented_with_its_requirements() -> None:
    rows = _table("Finding code")
    assert set(rows) == {code.value for code in FindingCode}
    for code in FindingCode:
        assert rows[code.value][3] == ", ".join(code.requirements), code.value
