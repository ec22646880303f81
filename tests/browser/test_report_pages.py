"""The run's own pages in a real headless Chromium, as the living specification is checked: conformance.html and
certification.html of a run with a FAIL (inside the run, and beside it as a derived report) and of a partial
run load without console errors, never scroll sideways at a desktop or a narrow width, and every link resolves:
an anchor to an element of the page, a relative link to a file of the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from harness.reports.certification import HTML_NAME, derived_dir

pytestmark = pytest.mark.xdist_group("browser")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"
WIDTHS = (1280, 760)

_FACTS = """
return {
  ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
  links: Array.from(document.querySelectorAll('a[href]'), a => [a.getAttribute('href'), a.href]),
  scrollWidth: document.documentElement.scrollWidth,
  clientWidth: document.documentElement.clientWidth,
  scripts: document.querySelectorAll('script').length,
};
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A short real run with FAILs (its report also written beside it) and a partial run that passed."""
    reports = tmp_path_factory.mktemp("pages")
    knob = "emulator.faults=[accept-tampered-image]"
    selections = {
        "fails": ["--pixit", knob, "-k", "manufacturer_signature or bit_changed or wait_for_data or broadcast"],
        "partial": ["-k", "unicast_image_notify"],
    }
    for run_id, args in selections.items():
        command = [str(CLI), "run", "--reports-dir", str(reports), "--run-id", run_id, *args]
        subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, timeout=600, check=False)
    done = subprocess.run([str(CLI), "report", str(reports / "fails"), "--no-pdf"], cwd=PROJECT_ROOT, check=False)
    assert done.returncode == 0
    return [reports / "fails", derived_dir(reports / "fails"), reports / "partial"]


def _pages(runs: list[Path]) -> list[Path]:
    return [d / name for d in runs for name in ("conformance.html", HTML_NAME) if (d / name).is_file()]


def test_the_pages_exist(runs: list[Path]) -> None:
    assert len(_pages(runs)) == 5  # a derived report directory holds the certification report only


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(browser, runs: list[Path], width: int) -> None:
    browser.set_window_size(width, 900)
    wide = {}
    for page in _pages(runs):
        browser.get(page.as_uri())
        facts = browser.execute_script(_FACTS)
        if facts["scrollWidth"] > facts["clientWidth"]:
            wide[str(page)] = (facts["scrollWidth"], facts["clientWidth"])
    assert not wide, f"pages wider than the window at {width} px: {wide}"


def test_every_link_resolves_and_no_console_error(browser, runs: list[Path]) -> None:
    broken, errors, checked = [], {}, 0
    for page in _pages(runs):
        browser.get(page.as_uri())
        logged = [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        if logged:
            errors[str(page)] = logged
        facts = browser.execute_script(_FACTS)
        assert facts["scripts"] == 0
        ids = set(facts["ids"])
        for written, resolved in facts["links"]:
            checked += 1
            if written.startswith("#"):
                if unquote(written[1:]) not in ids:
                    broken.append(f"{page.name} in {page.parent.name}: {written} has no target")
            elif urlparse(written).scheme in ("http", "https"):
                continue  # a source's public address
            elif not Path(unquote(urlparse(resolved).path)).is_file():
                broken.append(f"{page.name} in {page.parent.name}: {written} leads to no file")
    assert not errors, errors
    assert not broken, "\n".join(broken)
    assert checked > 500


def test_the_sideways_check_sees_a_page_wider_than_the_window(browser, tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    page.write_text("<!DOCTYPE html><html><body><table><tr><td><code>" + "0A:" * 300 + "</code></td></tr></table>")
    browser.set_window_size(760, 900)
    browser.get(page.as_uri())
    facts = browser.execute_script(_FACTS)
    assert facts["scrollWidth"] > facts["clientWidth"]
