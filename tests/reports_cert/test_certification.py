"""The certification report: one self-contained HTML file and a PDF of the same HTML, built from the
statement with the statement's renderer."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import sys
import types
from pathlib import Path

import pytest
from cert_fakerun import (
    EUI64,
    FAIL_REQUIREMENT,
    RUN_ID,
    SUITE_VERSION,
    VIOLATION,
    png_bytes,
)

from harness.errors import InputError
from harness.reports.certification import (
    HTML_NAME,
    PDF_NAME,
    ReportError,
    evidence_images,
    write_certification,
    write_pdf,
)
from harness.reports.manifest import CERTIFICATE_NAME, MANIFEST_NAME, verify_run_dir
from harness.reports.statement import read_statement


def _text(page: str) -> str:
    """The page's text without tags, entities decoded (what a reader sees)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture(scope="module")
def page(signed_template: Path) -> str:
    return (signed_template / HTML_NAME).read_text(encoding="utf-8")


def test_the_page_is_self_contained(page: str) -> None:
    assert "<style>" in page
    assert not re.search(r"<link\b|<script\b", page)
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources, "the FAIL scenario's transfer plot should be embedded"
    assert all(src.startswith("data:image/png;base64,") for src in sources)
    assert not re.search(r"url\(\s*['\"]?(?!data:)", page)


def test_the_plots_named_as_evidence_are_embedded_byte_for_byte(page: str) -> None:
    """The FAIL's violation plot; its transfer plot is not shown twice (the violation plot redraws it)."""
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert [base64.b64decode(u) for u in uris] == [png_bytes(4, 2)]
    assert VIOLATION in page


def test_identity_shows_declared_and_reported_values(page: str) -> None:
    text = _text(page)
    for value in (EUI64, "Acme Meters Ltd", "PPMID-9000", "0x121D", "0x0084", "0x1150"):
        assert value in text
    firmware_row = re.search(r"Firmware version \(running\).*?</tr>", page, re.S).group(0)
    assert "0x01020300" in firmware_row and "0x01020301" in firmware_row


def test_run_facts_profile_and_verdicts_are_shown(page: str, signed_template: Path) -> None:
    text = _text(page)
    statement = read_statement(signed_template)
    for value in (RUN_ID, SUITE_VERSION, "ab" * 32, "2026-12-02T12:00:00+00:00", "2026-12-02T12:00:09+00:00"):
        assert value in text
    assert "OTA.C" in text and "GB.HCALCS.CS06" in text and "budgets.join" in text
    assert "GB.PPMID.CS09" in text and "undeclared" in text
    fail_row = re.search(rf'<tr id="req-{FAIL_REQUIREMENT}">.*?</tr>', page, re.S).group(0)
    assert 'class="FAIL"' in fail_row
    assert len(re.findall(r'<tr id="req-[A-Z]+-\d+">', page)) == len(statement["requirements"])


def test_every_fail_and_inconclusive_has_its_detail_and_evidence(page: str) -> None:
    issues = re.findall(r'<div class="issue (\w+)" id="(issue-\d+)">(.*?)</div>', page, re.S)
    assert [(verdict, anchor) for verdict, anchor, _ in issues] == [("FAIL", "issue-1"), ("INCONCLUSIVE", "issue-2")]
    fail, inconclusive = (_text(body) for _, _, body in issues)
    assert "Expected Upgrade End Request status INVALID_IMAGE" in " ".join(fail.split())
    assert "Observed status SUCCESS at 5.864 s into the capture (run clock t=24137.177 s)" in " ".join(fail.split())
    assert "blocks consumed 46" in " ".join(fail.split())
    assert "the device never received the Image Notify within 60 s" in inconclusive
    assert "check that the DUT is joined, then re-run" in inconclusive and "blocks consumed 0" in " ".join(
        inconclusive.split()
    )
    assert '"blocks_consumed"' not in page  # evidence is a table, not a JSON dump


def test_the_signing_certificate_is_shown(page: str, signed_template: Path) -> None:
    manifest = json.loads((signed_template / MANIFEST_NAME).read_text())
    pem = (signed_template / CERTIFICATE_NAME).read_text()
    assert manifest["certificate_sha256"] in page
    assert pem.strip() in html.unescape(page)
    assert f"TEST run key {RUN_ID}" in page


def test_the_conformance_statement_uses_the_same_base(fake_run_template: Path, page: str) -> None:
    conformance = (fake_run_template / "conformance.html").read_text()
    style = re.search(r"<style>.*?</style>", conformance, re.S).group(0)
    assert style.removesuffix("</style>") in page  # the certification only adds CSS
    assert "Conformance statement" in conformance and "Effective profile" in conformance
    assert "Certification report" not in conformance


def test_pdf_holds_the_same_report(tmp_path: Path, fake_run_template: Path) -> None:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:  # OSError: pango missing
        pytest.skip(f"WeasyPrint cannot write PDFs here: {err}")
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text back")
    run_dir = Path(shutil.copytree(fake_run_template, tmp_path / RUN_ID))
    files = write_certification(run_dir)
    data = (run_dir / PDF_NAME).read_bytes()
    assert files.pdf == run_dir / PDF_NAME
    assert data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(run_dir / PDF_NAME).pages)
    assert EUI64 in text and FAIL_REQUIREMENT in text and "Acme Meters Ltd" in text
    assert files.fingerprint.split(":")[0] in text
    # Written before the manifest, so the manifest covers it.
    assert verify_run_dir(run_dir).valid
    assert PDF_NAME in {f.path for f in verify_run_dir(run_dir).files}


class _NoPango(types.ModuleType):
    """A weasyprint module whose import fails as it does when pango is missing (cffi's dlopen OSError)."""

    def __getattr__(self, name: str) -> object:
        if name == "HTML":
            raise OSError("cannot load library 'libpango-1.0-0'")
        raise AttributeError(name)


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (None, r"WeasyPrint is not installed.*pip install"),
        (_NoPango("weasyprint"), r"Debian packages libpango-1\.0-0 .*apt-get install"),
    ],
    ids=["not-installed", "no-pango"],
)
def test_a_missing_pdf_renderer_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: object, expected: str
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", module)
    with pytest.raises(ReportError, match=expected):
        write_pdf("<p>x</p>", tmp_path / PDF_NAME)
    assert not (tmp_path / PDF_NAME).exists()


def test_a_report_without_pdf_removes_an_older_pdf(fake_run: Path) -> None:
    (fake_run / PDF_NAME).write_bytes(b"%PDF-1.7 signed by another key")
    files = write_certification(fake_run, pdf=False)
    assert files.pdf is None and not (fake_run / PDF_NAME).exists()
    assert verify_run_dir(fake_run).valid


def test_a_pdf_failure_still_leaves_a_signed_directory(fake_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.reports.certification as certification

    def broken(html: str, path: Path) -> Path:
        raise ReportError("WeasyPrint cannot load its system libraries")

    monkeypatch.setattr(certification, "write_pdf", broken)
    with pytest.raises(ReportError, match="signed manifest were written without the PDF"):
        write_certification(fake_run)
    assert (fake_run / HTML_NAME).is_file() and not (fake_run / PDF_NAME).exists()
    assert verify_run_dir(fake_run).valid


def test_a_directory_without_statement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"conformance\.json does not exist.*ACTION"):
        write_certification(tmp_path)
    (tmp_path / "conformance.json").write_text("{not json")
    with pytest.raises(InputError, match="is not JSON"):
        read_statement(tmp_path)


def test_evidence_images_say_what_they_could_not_embed(tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(png_bytes())
    (tmp_path / "fake.png").write_text("not a png")
    (tmp_path.parent / "outside.png").write_bytes(png_bytes())
    evidence = {"plots": ["ok.png", "ok.png", {"p": "fake.png"}], "lost": "gone.png", "escape": "../outside.png"}
    images = {i["path"]: i for i in evidence_images(evidence, tmp_path)}
    assert list(images) == ["ok.png", "fake.png", "gone.png", "../outside.png"]
    assert images["ok.png"]["data_uri"].startswith("data:image/png;base64,")
    assert "not a PNG" in images["fake.png"]["problem"]
    assert "missing" in images["gone.png"]["problem"]
    assert "outside the run directory" in images["../outside.png"]["problem"]
    assert all("data_uri" not in images[name] for name in ("fake.png", "gone.png", "../outside.png"))


def test_a_statement_from_before_dut_seen_still_reports(fake_run: Path) -> None:
    path = fake_run / "conformance.json"
    statement = json.loads(path.read_text())
    del statement["dut_seen"]
    path.write_text(json.dumps(statement))
    write_certification(fake_run, pdf=False)
    page = (fake_run / HTML_NAME).read_text()
    identity = re.search(r'<h2 id="identity">Device identity</h2>.*?</table>', page, re.S).group(0)
    assert identity.count("not reported") == 7 and EUI64 in identity
