"""Reports people act on: page 1 of the certification report (verdict, totals, not run, every FAIL /
INCONCLUSIVE / ERROR with requirement, reason and links), a FAIL's detail, the other role as a count, Outline
rows with their values, NOT_APPLICABLE reasons in words, legends and sources; a partial run headlined in every
artefact; no terminal control sequences. On the fake run of ``cert_fakerun`` (no conformance run needed)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from cert_fakerun import CAPTURE, NA_PICS, NOT_RUN, OUTLINE_ROW, TRANSCRIPT, build_fake_run

from harness.profile.schema import PICS_ITEMS
from harness.reports.certification import HTML_NAME, PDF_NAME, write_certification
from harness.reports.selection import PARTIAL_HEADLINE
from harness.reports.statement import read_statement, write_statement
from harness.reports.text import has_control_sequences, plain_text
from harness.reports.view import operator_parts
from harness.requirements import load_catalogue, source_keys


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def page(signed_template: Path) -> str:
    return (signed_template / HTML_NAME).read_text(encoding="utf-8")


def _page_one(page: str) -> str:
    return re.search(r'<section class="page-one" id="summary">(.*?)</section>', page, re.S).group(1)


def test_page_one_has_the_verdict_totals_not_run_and_every_problem_with_links(page: str) -> None:
    one = _page_one(page)
    text = _text(one)
    assert "Verdict FAIL" in text
    assert "PASS 2, FAIL 1, INCONCLUSIVE 1, ERROR 0, NOT_APPLICABLE 1" in text  # the PPMID's and common scenarios
    assert "and 1 HCALCS scenario, which never apply to a PPMID" in text
    assert "Not run nothing: every applicable scenario ran" in text
    rows = re.findall(r"<tr>\s*<td class=\"(FAIL|INCONCLUSIVE|ERROR)\">.*?</tr>", one, re.S)
    assert rows == ["FAIL", "INCONCLUSIVE"]
    fail_row = re.search(r'<td class="FAIL">.*?</tr>', one, re.S).group(0)
    assert 'href="#req-PZ-13"' in fail_row and 'href="#issue-1" class="pageref"' in fail_row
    assert f'href="{CAPTURE}"' in fail_row and f'href="{TRANSCRIPT}"' in fail_row
    assert "observed status SUCCESS" in _text(fail_row)


def test_a_fail_detail_has_expected_observed_what_to_do_frame_plot_and_transcript(page: str) -> None:
    detail = re.search(r'<div class="issue FAIL" id="issue-1">(.*?)</div>', page, re.S).group(1)
    text = _text(detail)
    assert "Expected Upgrade End Request status INVALID_IMAGE" in text
    assert "Observed status SUCCESS at 5.864 s into the capture (run clock t=24137.177 s)" in text
    assert "What to do The device is the suspect: make it meet PZ-13" in text
    assert "Start with frame 110 of capture.pcapng, at 5.864 s" in text
    assert "Decisive frame Frame 110 at 5.864 s" in text and "seconds since the first frame of capture.pcapng" in text
    assert "Run it again" in text and "-k test_fail" in text
    assert 'alt="evidence/a-tampered-image/violation.png"' in detail
    assert f'href="{TRANSCRIPT}"' in detail and f'href="{CAPTURE}"' in detail


def test_the_other_roles_scenarios_are_a_count_not_rows(page: str) -> None:
    assert "An HCALCS-only scenario" not in page
    assert "Not listed: 1 HCALCS scenarios, which never apply to a PPMID" in _text(page)


def test_outline_rows_show_their_example_values_and_na_rows_their_pics_item_in_words(page: str) -> None:
    assert OUTLINE_ROW in page and "(&lt;case&gt;)" not in page and "(<case>)" not in page
    row = re.search(r'<tr id="sc-\d+">(?:(?!</tr>).)*The PPMID waits for an upgrade-now.*?</tr>', page, re.S).group(0)
    text = _text(row)
    assert f"PICS {NA_PICS} is false in acme" in text
    assert f"{NA_PICS} : {' '.join(PICS_ITEMS[NA_PICS].description.split())}" in text
    assert "harness.verdicts.NotApplicable" not in page


def test_legends_and_sources_make_every_code_readable(page: str) -> None:
    text = _text(page)
    for code in ("C", "C-data", "R", "I", "U"):
        assert f" {code} " in text.split("Confidence (how sure")[1].split("Binds")[0]
    for binds in ("device", "ch", "suite-format", "dcc"):
        assert f"{binds} " in text.split("Binds (whose obligation")[1].split("Source:")[0]
    catalogue = load_catalogue()
    cited = {key for r in catalogue for key in source_keys(r.source)}
    assert cited and cited <= {s.key for s in catalogue.sources}
    for key in cited:
        assert f'id="source-{key}"' in page and f'href="#source-{key}"' in page


def test_every_internal_link_of_both_pages_has_its_target(signed_template: Path) -> None:
    for name in (HTML_NAME, "conformance.html"):
        page = (signed_template / name).read_text()
        ids = set(re.findall(r'\bid="([^"]+)"', page))
        for href in re.findall(r'href="([^"]+)"', page):
            if href.startswith("#"):
                assert href[1:] in ids, f"{name}: {href}"
            elif not href.startswith("https://"):
                assert (signed_template / href).is_file(), f"{name}: {href}"


@pytest.fixture
def partial_run(tmp_path: Path) -> Path:
    run = build_fake_run(tmp_path / "partial", partial=True)
    write_certification(run, pdf=False)
    return run


def test_a_partial_run_is_headlined_in_every_artefact(partial_run: Path) -> None:
    statement = read_statement(partial_run)
    assert statement["overall"] == "INCOMPLETE" and statement["overall_of_selected"] == "FAIL"
    assert [e["scenario"] for e in statement["selection"]["not_run"]] == [NOT_RUN]
    pz11 = next(r for r in statement["requirements"] if r["id"] == "PZ-11")
    assert pz11["verdict"] is None and pz11["coverage"] == "not run (1 of 2 applicable scenarios ran)"
    for name in ("conformance.html", HTML_NAME):
        text = _text((partial_run / name).read_text())
        assert f"INCOMPLETE: {PARTIAL_HEADLINE}" in text, name
        assert NOT_RUN in text and "not run (1 of 2 applicable scenarios ran)" in text
    page_one = _text(_page_one((partial_run / HTML_NAME).read_text()))
    assert f"Verdict INCOMPLETE ({PARTIAL_HEADLINE}; of the scenarios that ran: FAIL)" in page_one
    assert f"Not run 1 applicable scenario: {NOT_RUN}" in page_one


def test_the_pdf_of_a_partial_run_says_so_on_page_one(partial_run: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text back")
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:
        pytest.skip(f"WeasyPrint cannot write PDFs here: {err}")
    write_certification(partial_run, pdf=True)
    reader = pypdf.PdfReader(partial_run / PDF_NAME)
    first = " ".join(reader.pages[0].extract_text().split())
    assert f"INCOMPLETE: {PARTIAL_HEADLINE}" in first
    assert re.search(r"detail \(page \d+\)", first), first  # links become page references
    text = "".join(p.extract_text() for p in reader.pages)
    assert not has_control_sequences(text)


def test_messages_are_cut_into_what_a_reader_acts_on() -> None:
    parts = operator_parts("FAIL: expected A within 5 s, observed nothing; the DUT is the suspect\nassert x")
    assert (parts["expected"], parts["observed"], parts["detail"]) == ("A within 5 s", "nothing", "assert x")
    parts = operator_parts("INCONCLUSIVE: No verdict: the radio failed. ACTION: plug it in")
    assert parts["reason"] == "the radio failed" and parts["action"] == "plug it in"
    assert operator_parts("repetition 2 of 3: FAIL: expected B, observed C")["expected"] == "B"


def test_terminal_control_sequences_never_reach_an_artefact(fake_run: Path) -> None:
    """pytest's coloured assertion diff, and a device's ManufacturerName with an escape in it."""
    statement = json.loads((fake_run / "conformance.json").read_text())
    coloured = "\n  \x1b[0m\x1b[91m- INVALID_IMAGE\x1b[39;49;00m\n  \x1b[92m+ SUCCESS\x1b[0m"
    statement["scenarios"][1]["message"] += coloured
    statement["dut_seen"]["manufacturer"] = ["Acme\x1b]0;pwned\x07 Meters\x9b31m"]
    write_statement(statement, fake_run)
    write_certification(fake_run, pdf=False)
    for path in fake_run.rglob("*"):
        if path.suffix in (".json", ".html", ".xml", ".txt", ".md"):
            assert not has_control_sequences(path.read_text(encoding="utf-8")), path
    assert "- INVALID_IMAGE" in (fake_run / "conformance.json").read_text()
    assert plain_text("a\x07b\x1b[1mc") == "a\\x07bc"


def test_page_one_of_the_pdf_holds_every_fail_of_an_11_fail_run(fake_run: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text back")
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:
        pytest.skip(f"WeasyPrint cannot write PDFs here: {err}")
    statement = json.loads((fake_run / "conformance.json").read_text())
    fail = next(s for s in statement["scenarios"] if s["verdict"] == "FAIL")
    for n in range(2, 12):
        statement["scenarios"].append(
            {**fail, "nodeid": f"{fail['nodeid']}_{n}", "scenario": f"The PPMID rejects tampered image number {n}"}
        )
    write_statement(statement, fake_run)
    write_certification(fake_run, pdf=True)
    first = " ".join(pypdf.PdfReader(fake_run / PDF_NAME).pages[0].extract_text().split())
    assert len(re.findall(r"detail \(page \d+\)", first)) == 12, first  # 11 FAILs and the INCONCLUSIVE
