"""`ota-conformance run` end to end, as a new user meets it: a selection that matches nothing, informational
options and usage errors leave no run directory; a partial run says INCOMPLETE everywhere; a lab fault stops the
run with one message; a run under a terminal leaves no control sequence in any artefact; a full run's PDF fits
the page and stays short; the README's exit codes and options are those of the CLI."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from harness.reports.certification import HTML_NAME, PDF_NAME, derived_dir
from harness.reports.manifest import verify_run_dir
from harness.reports.selection import PARTIAL_HEADLINE
from harness.reports.text import has_control_sequences

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ota-conformance"
TEXT_SUFFIXES = (".json", ".html", ".xml", ".txt", ".md")

pytestmark = pytest.mark.xdist_group("run-cli")


def _run(*args: object, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *map(str, args)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["-k", "no_such_scenario_anywhere"], 2, "matches no scenario; nothing was run and no run directory"),
        (["--collect-only", "-q"], 0, "--collect-only lists and runs nothing; no run directory was written"),
        (["--markers"], 0, "--markers lists and runs nothing"),
        (["--no-such-pytest-option"], 2, "usage or configuration error"),
        (["--repeat", "0"], 2, "--repeat takes a number of runs"),
    ],
    ids=["no-match", "collect-only", "markers", "bad-option", "bad-repeat"],
)
def test_nothing_to_run_leaves_no_run_directory(tmp_path: Path, args: list[str], code: int, says: str) -> None:
    result = _run("run", "--reports-dir", tmp_path, "--run-id", "r", *args)
    assert result.returncode == code, result.stdout[-2000:] + result.stderr[-2000:]
    assert says in result.stdout + result.stderr
    assert not (tmp_path / "r").exists() and "Traceback" not in result.stderr
    if args[0] == "-k":
        hint = re.search(r"`([^`]*--collect-only[^`]*)`", result.stderr).group(1)
        assert subprocess.run(hint, shell=True, cwd=PROJECT_ROOT, capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path_factory.mktemp("partial")
    return _run("run", "--reports-dir", reports, "--run-id", "p", "-k", "unicast_image_notify"), reports / "p"


def test_a_partial_run_exits_0_and_says_incomplete_everywhere(partial) -> None:
    result, run_dir = partial
    assert result.returncode == 0, result.stdout[-2000:]
    assert f"INCOMPLETE: {PARTIAL_HEADLINE}" in result.stdout
    assert "Exit code 0 (INCOMPLETE: the selected scenarios passed" in result.stdout
    statement = json.loads((run_dir / "conformance.json").read_text())
    assert statement["overall"] == "INCOMPLETE" and statement["selection"]["keyword"] == "unicast_image_notify"
    assert statement["selection"]["ran"] == 1 and len(statement["selection"]["not_run"]) == 55
    rows = {r["id"]: r for r in statement["requirements"]}
    assert rows["PZ-27"]["verdict"] is None and rows["PZ-27"]["coverage"].startswith("not run (1 of 7")
    gaps = {r["id"] for r in rows.values() if r["coverage"].startswith("gap")}
    assert gaps == {"PZ-30", "CS-11"}  # the real gaps only: never "gap" for a requirement whose scenarios did not run
    for page in ("conformance.html", HTML_NAME):
        assert PARTIAL_HEADLINE in (run_dir / page).read_text(), page
    assert verify_run_dir(run_dir).valid


def test_every_hint_the_run_prints_works_in_the_project_directory(partial) -> None:
    result, run_dir = partial
    (hint,) = re.findall(r"For the PDF: `([^`]+)`", result.stdout)
    assert hint.startswith(".venv/bin/ota-conformance report ") or hint.startswith("ota-conformance report ")
    done = subprocess.run(hint + " --no-pdf", shell=True, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert verify_run_dir(run_dir).valid and verify_run_dir(derived_dir(run_dir)).valid


def test_a_lab_fault_stops_the_run_with_one_message_and_exit_3(tmp_path: Path) -> None:
    missing = "emulator.device_class=no_such_vendor_module:Device"  # loads as a profile; fails as the lab's fault
    result = _run("run", "--reports-dir", tmp_path, "--run-id", "lab", "--pixit", missing)
    assert result.returncode == 3, result.stdout[-3000:]
    statement = json.loads((tmp_path / "lab" / "conformance.json").read_text())
    assert statement["totals"]["ERROR"] == 1  # one scenario met the fault; none after it started
    assert {e["reason"] for e in statement["selection"]["not_run"]} == {"not run: lab fault"}
    assert result.stdout.count("'no_such_vendor_module:Device' cannot be loaded") == 1
    assert "LAB FAULT" in result.stdout and "55 not run: lab fault" in result.stdout
    repeated = _run("run", "--reports-dir", tmp_path, "--run-id", "rep", "--repeat", "3", "--pixit", missing)
    assert repeated.returncode == 3
    assert "stopped on a lab fault; no more repetitions" in repeated.stderr
    assert not (tmp_path / "rep" / "repeat-2").exists()


def test_an_unknown_fault_knob_is_a_profile_error_before_anything_runs(tmp_path: Path) -> None:
    result = _run("run", "--reports-dir", tmp_path, "--run-id", "knob", "--pixit", "emulator.faults=[no-such-knob]")
    assert result.returncode == 2, result.stdout[-3000:]
    assert "unknown fault knob 'no-such-knob' of the ppmid device" in result.stderr
    assert not (tmp_path / "knob").exists()


def _run_under_a_terminal(args: list[str]) -> tuple[int, bytes]:
    """Run the CLI with its stdin, stdout and stderr on a pseudo-terminal (as an operator's shell does)."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    proc = subprocess.Popen([str(CLI), *args], cwd=PROJECT_ROOT, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    output = b""
    while True:
        ready, _, _ = select.select([master], [], [], 600)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    return proc.wait(timeout=60), output


def test_a_run_in_a_terminal_leaves_no_control_sequence_in_any_artefact(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's text back")
    knob = "emulator.faults=[accept-tampered-image]"
    args = ["run", "--reports-dir", str(tmp_path), "--run-id", "tty", "--pixit", knob]
    code, output = _run_under_a_terminal([*args, "-k", "bit_changed or unicast_image_notify", "--pdf"])
    assert code == 1, output[-3000:]
    assert b"\x1b[" in output  # the terminal did get colour (progress), so the check below means something
    run_dir = tmp_path / "tty"
    assert _run("report", run_dir).returncode == 0  # the derived PDF beside the run, too
    scanned = 0
    for directory in (run_dir, derived_dir(run_dir)):
        for path in directory.rglob("*"):
            if path.suffix in TEXT_SUFFIXES:
                assert not has_control_sequences(path.read_text(encoding="utf-8")), path
                scanned += 1
            elif path.suffix == ".pdf":
                text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
                assert not has_control_sequences(text), path
                assert "INVALID_IMAGE" in text
                scanned += 1
    assert scanned >= 10
    statement = json.loads((run_dir / "conformance.json").read_text())
    (failed,) = [s for s in statement["scenarios"] if s["verdict"] == "FAIL"]
    assert "- INVALID_IMAGE" not in failed["message"] or "\x1b" not in failed["message"]
    decisive = failed["evidence"]["decisive"]
    assert decisive["kind"] == "observed" and decisive["frame"] not in (None, "-") and decisive["time_s"] < 60
    assert (run_dir / decisive["plot"]).read_bytes().startswith(b"\x89PNG")
    assert (run_dir / failed["evidence"]["transcript"]).read_text().count("upgrade_end(status=SUCCESS") == 1


def _overflowing_boxes(html: str) -> list[str]:
    """Table, cell, line and image boxes of the printed HTML that reach past the page's content area."""
    from weasyprint import HTML
    from weasyprint.formatting_structure import boxes

    found = []
    for number, page in enumerate(HTML(string=html).render().pages, start=1):
        box = page._page_box
        right = box.content_box_x() + box.width
        for child in box.descendants():
            kinds = (boxes.TableBox, boxes.TableCellBox, boxes.LineBox, boxes.ReplacedBox)
            end = child.position_x + child.margin_width()
            if isinstance(child, kinds) and end > right + 0.5:
                found.append(f"page {number}: {type(child).__name__} ends at {end:.0f}, the page at {right:.0f}")
    return found


@pytest.fixture(scope="module")
def full_run_with_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as err:
        pytest.skip(f"WeasyPrint cannot write PDFs here: {err}")
    reports = tmp_path_factory.mktemp("full")
    result = _run("run", "--reports-dir", reports, "--run-id", "full", "--pdf")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # An operator's all-PASS run says nothing about pytest's internals (a rewrite warning printed on every run).
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout[-3000:] + result.stderr[-3000:]
    return reports / "full"


def test_a_full_all_pass_run_has_a_short_pdf_whose_tables_fit_the_page(full_run_with_pdf: Path) -> None:
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF back")
    run_dir = full_run_with_pdf
    statement = json.loads((run_dir / "conformance.json").read_text())
    assert statement["overall"] == "PASS" and statement["totals"]["PASS"] == 56
    pages = pypdf.PdfReader(run_dir / PDF_NAME).pages
    assert len(pages) <= 25, len(pages)
    first = " ".join(pages[0].extract_text().split())
    assert "Verdict PASS" in first and "PASS 56" in first and "33 HCALCS scenarios" in first
    assert "None: no scenario failed" in first
    assert _overflowing_boxes((run_dir / HTML_NAME).read_text()) == []
    assert verify_run_dir(run_dir).valid  # the PDF is part of the signed run
    reported = next(r for r in statement["dut_seen"]["eui64"])
    assert reported == statement["run"]["dut"]["eui64"]  # the joined device's EUI-64 is reported


def test_the_overflow_check_sees_a_table_that_runs_off_the_page() -> None:
    assert _overflowing_boxes("<table><tr><td>x</td><td>" + "A" * 400 + "</td></tr></table>")


# -- the README's truths ----------------------------------------------------------------------------------
README = (PROJECT_ROOT / "README.md").read_text()


def _help(*command: str) -> str:
    result = _run(*command, "--help")
    assert result.returncode == 0
    return result.stdout


def test_every_option_the_readme_names_for_run_is_in_run_help() -> None:
    run_help = _help("run")
    section = README.split("## Command line", 1)[1].split("## Verdicts", 1)[0]
    named = set(re.findall(r"(--[a-z][a-z-]+)", section))
    others = "".join(_help(*c) for c in (("image", "inspect"), ("image", "build"), ("gbcs", "decode"), ("spec",)))
    others += _help("report") + _help("verify") + _help()
    pytest_own = {"--tb", "--collect-only", "--markers"}
    pip_own = {"--require-hashes"}  # the install of the radio libraries from their lock
    missing = {o for o in named if o not in run_help and o not in others and o not in pytest_own | pip_own}
    assert not missing, f"README names options no command has: {missing}"
    for option in ("--repeat", "--progress", "--no-progress", "--transfer-plots", "--signing-key", "--signing-cert"):
        assert option in named and option in run_help, option


def test_the_readme_exit_code_table_says_what_make_does() -> None:
    """GNU make reports any failing command as 2: the table says so, and points CI at `run` for 1 and 3."""
    section = README.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in section.splitlines() if line.startswith("| `")}
    assert set(rows) >= {"`run`", "`make conformance`", "`image inspect`, `gbcs decode`, `verify`", "`report`"}
    make = [cell.strip() for cell in rows["`make conformance`"].split("|")[2:6]]
    assert make[1] == "—" and "GNU make" in make[2] and make[3] == "—"
    assert "no OTA file identifier" in rows["`image inspect`, `gbcs decode`, `verify`"]
    assert "`.venv/bin/ota-conformance run` directly" in section
