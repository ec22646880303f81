"""The certification report: the conformance statement as a vendor submits it, in HTML and PDF, signed.

Built from the run's ``conformance.json`` with the statement's own renderer (``statement.render_html``, a
second template over the shared base and section macros), so the two reports cannot disagree; the HTML and
the PDF are the same document (WeasyPrint prints the HTML). ``report_model`` is everything the template adds
to the statement, arranged for a reader who must act on it:

- page 1: the verdict (``INCOMPLETE`` and "partial run — not a certification" when applicable scenarios did
  not run), the totals of the device's role (the other role's scenarios as one count), what was not run, and
  every FAIL, INCONCLUSIVE and ERROR with its requirement, a one-line reason and links (HTML) or page numbers
  (PDF) to its detail and its evidence;
- each such scenario's detail: expected, observed, what to do, the decisive frame (its time since the start
  of the scenario's capture and its frame number there; for a FAIL where nothing arrived, the stimulus frame
  and the budget's end), the transfer plot with the violation marked, and links to ``capture.pcapng`` and
  ``transcript.txt``;
- requirements with legends for confidence and "Binds" and their sources resolved; NOT_APPLICABLE scenarios
  with the PICS item and what it means; the profile; the signed manifest.

Where it goes (``report_run``): at the end of ``ota-conformance run`` into the run directory, signed with the
owner's key or a per-run key (``harness.cli.report.certify_after_run``). A later ``ota-conformance report``
never replaces the run's signature silently: with the same owned key it re-signs the run and records that it
did; otherwise (another key, or none: the per-run key is gone) it writes its files into the sibling directory
``<run-id>.report/`` under a manifest of their own that names the run's manifest by SHA-256.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.files import EVIDENCE_IMAGE_LIMIT, FileRefused, create_regular, read_regular, refuse_links, write_regular
from harness.reports.manifest import (
    CERTIFICATE_NAME,
    MANIFEST_NAME,
    OPENSSL_COMMANDS,
    derived_from_run,
    manifest_sha256,
    signer_summary,
    verify_run_dir,
    write_manifest,
)
from harness.reports.signing import INTEGRITY_ONLY, RunKey, SigningKey
from harness.reports.statement import read_statement, render_html
from harness.reports.view import issue_rows, one_line, operator_parts, statement_view
from harness.verdicts import Verdict

HTML_NAME = "certification.html"
PDF_NAME = "certification.pdf"
TEMPLATE = "certification.html.j2"
#: The sibling directory a report goes to when it cannot be signed into the run (``<run-id>.report``).
DERIVED_SUFFIX = ".report"
#: Scenarios the report details one by one: the device failed, or no verdict could be reached.
ISSUE_VERDICTS = (Verdict.FAIL.value, Verdict.INCONCLUSIVE.value, Verdict.ERROR.value)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Debian packages WeasyPrint loads at run time (pango and its font stack; fonts to draw text with).
PDF_SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"
#: Evidence keys shown as files or elsewhere, not in the evidence table.
_FILE_EVIDENCE = ("capture", "transcript", "transfer_plots", "decisive", "dut_seen")

#: (label, key in the statement's run.dut, key in dut_seen)
_IDENTITY_ROWS = (
    ("Manufacturer (Basic ManufacturerName)", None, "manufacturer"),
    ("Model (Basic ModelIdentifier)", None, "model"),
    ("EUI-64", "eui64", "eui64"),
    ("Manufacturer code", "manufacturer_code", "manufacturer_codes"),
    ("Image type", "image_type", "image_types"),
    ("Hardware version", "hardware_version", "hardware_versions"),
    ("Firmware version (running)", "current_file_version", "file_versions"),
)


class ReportError(HarnessError):
    """The report could not be written (e.g. the PDF renderer or its system libraries are missing)."""


@dataclass(frozen=True)
class CertificationFiles:
    directory: Path
    html: Path
    pdf: Path | None
    manifest: Path
    certificate: Path
    fingerprint: str
    owned: bool
    resigned: bool = False  # the run was signed again with the same owned key
    derived: bool = False  # written beside the run (its signature untouched)


# -- evidence ------------------------------------------------------------------------------------------
def _png_paths(value: Any) -> Iterator[str]:
    """Every string in an evidence value (nested dicts and lists included) that names a .png file."""
    if isinstance(value, str):
        if value.lower().endswith(".png"):
            yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _png_paths(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _png_paths(item)


def evidence_images(evidence: Mapping[str, Any], run_dir: Path) -> list[dict[str, str]]:
    """The PNG files a scenario's evidence names (paths relative to the run directory), as data: URIs.

    A path that leaves the run directory, a missing file or one that is not a PNG is listed with the
    problem instead, so the report says what it could not show.
    """
    images: list[dict[str, str]] = []
    root = run_dir.resolve()
    for name in dict.fromkeys(_png_paths(evidence)):
        path = (run_dir / name).resolve()
        data = b""
        if not path.is_relative_to(root):
            images.append({"path": name, "problem": "outside the run directory; not embedded"})
        elif not path.is_file():
            images.append({"path": name, "problem": "named as evidence but missing from the run directory"})
        elif not (data := _read_evidence(path)).startswith(PNG_MAGIC):
            images.append({"path": name, "problem": "not a PNG file; not embedded"})
        else:
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            images.append({"path": name, "data_uri": uri})
    return images


def _read_evidence(path: Path) -> bytes:
    """A PNG the report embeds, bounded; b"" (reported as "not a PNG") when it is refused."""
    try:
        return read_regular(path, "evidence image", EVIDENCE_IMAGE_LIMIT, follow_symlinks=False)
    except FileRefused:
        return b""


def _evidence_rows(evidence: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The evidence that is not a file, as (what, value) rows a person reads (no JSON)."""
    rows: list[tuple[str, str]] = []
    for key, value in evidence.items():
        if key in _FILE_EVIDENCE:
            continue
        if key == "transcript_summary" and isinstance(value, Mapping):
            for direction, counts in (value.get("frames") or {}).items():
                listed = ", ".join(f"{name} {count}" for name, count in counts.items())
                rows.append((f"frames {direction}", listed))
            extra = {k: v for k, v in value.items() if k not in ("frames", "decisions") and v}
            if extra:
                rows.append(("transcript", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in extra.items())))
            continue
        label = key.replace("_", " ")
        if isinstance(value, Mapping):
            text = ", ".join(f"{k.replace('_', ' ')}: {_plain_value(v)}" for k, v in value.items())
        else:
            text = _plain_value(value)
        rows.append((label, text))
    return rows


def _plain_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain_value(v) for v in value)
    return str(value)


# -- the model -----------------------------------------------------------------------------------------
def _identity(statement: Mapping[str, Any]) -> list[dict[str, Any]]:
    declared, seen = statement["run"].get("dut", {}), statement.get("dut_seen", {})
    rows = []
    for label, declared_key, seen_key in _IDENTITY_ROWS:
        value = declared.get(declared_key) if declared_key else None
        reported = list(seen.get(seen_key, [])) if seen_key else None
        differs = bool(value and reported and seen_key != "file_versions" and reported != [value])
        rows.append({"label": label, "declared": value, "seen": reported, "differs": differs})
    return rows


def _profile_rows(statement: Mapping[str, Any], section: str) -> list[dict[str, Any]]:
    items = statement["run"].get("profile", {}).get(section, {})
    return [{"name": name, **item} for name, item in items.items()]


def _rerun_command(statement: Mapping[str, Any], nodeid: str) -> str:
    """The command that runs one scenario again (its test function: every row of an Outline)."""
    from harness.cli.hints import command

    test = nodeid.rpartition("::")[2].split("[", 1)[0]
    profile = str(statement["run"].get("profile_path") or "")
    return command("run", *(["--profile", Path(profile)] if profile else []), "-k", test) if test else ""


_RUN_CLOCK_TIME = re.compile(r"\bt=(\d+(?:\.\d+)?) s\b")


def capture_times(message: str, decisive: Mapping[str, Any] | None) -> str:
    """A message's run-clock times (``t=24137.177 s``, seconds since the run began) also given as the time in
    the scenario's capture, the clock a reader of ``capture.pcapng`` sees."""
    origin = (decisive or {}).get("clock_origin_s")
    if origin is None:
        return message

    def both(match: re.Match[str]) -> str:
        return f"{float(match[1]) - float(origin):.3f} s into the capture (run clock t={match[1]} s)"

    return _RUN_CLOCK_TIME.sub(both, message)


def _failure_action(row: Mapping[str, Any], decisive: Mapping[str, Any] | None) -> str:
    """What to do about a FAIL whose message names no ACTION: the device is the suspect."""
    where = ""
    if decisive and decisive.get("frame") not in (None, "-"):
        where = f" Start with frame {decisive['frame']} of capture.pcapng, at {decisive['time_s']:.3f} s."
    requirements = ", ".join(row["requirement_ids"]) or "the requirement"
    return (
        f"The device is the suspect: make it meet {requirements} (the requirement's text is in the table of "
        f"requirements).{where} Run this scenario again on its own to check the fix, then the whole suite."
    )


def _issue(
    index: int, statement: Mapping[str, Any], row: Mapping[str, Any], scenario: Mapping[str, Any], run_dir: Path
) -> dict[str, Any]:
    """One FAIL, INCONCLUSIVE or ERROR in detail."""
    evidence = scenario.get("evidence") or {}
    decisive = evidence.get("decisive")
    parts = operator_parts(capture_times(str(scenario.get("message") or ""), decisive))
    if scenario["verdict"] == Verdict.FAIL.value and not parts["action"]:
        parts["action"] = _failure_action(row, decisive)
    decisive_plot = (decisive or {}).get("plot")
    marked = f"/transfer-{(decisive or {}).get('transfer')}.png"  # drawn again as the violation plot
    plots = [p for p in evidence.get("transfer_plots") or [] if not str(p.get("path", "")).endswith(marked)]
    return {
        **row,
        "anchor": f"issue-{index}",
        "scenario_anchor": row["anchor"],
        "parts": parts,
        "reason": one_line(parts["reason"] or "no message"),
        "summary_reason": one_line(parts["reason"] or "no message", 150),  # page 1 holds every problem
        "decisive": decisive,
        "evidence_rows": _evidence_rows(evidence),
        "rerun": _rerun_command(statement, str(scenario.get("nodeid", ""))),
        "violation": evidence_images({"plot": decisive_plot}, run_dir) if decisive_plot else [],
        "images": evidence_images({"plots": plots}, run_dir),
    }


def report_model(
    statement: Mapping[str, Any],
    run_dir: Path,
    signing: Mapping[str, Any],
    generated_utc: str,
    *,
    evidence_base: str = "",
) -> dict[str, Any]:
    """What the certification template renders besides the statement (``c``): the shared view
    (``harness.reports.view``) and the report's own parts. ``evidence_base``: how the report's directory
    reaches the run's files (``""`` inside the run, ``"../<run-id>/"`` from a derived report's directory)."""
    view = statement_view(statement, evidence_base=evidence_base)
    by_anchor = {f"sc-{n}": s for n, s in enumerate(statement["scenarios"], start=1)}
    issues = [
        _issue(n, statement, row, by_anchor[row["anchor"]], run_dir)
        for n, row in enumerate(issue_rows(view, ISSUE_VERDICTS), start=1)
    ]
    issue_of = {issue["scenario_anchor"]: issue["anchor"] for issue in issues}
    for row in view["scenarios"]:
        row["issue"] = issue_of.get(row["anchor"])
    return {
        **view,
        "generated_utc": generated_utc,
        "issues": issues,
        "identity": _identity(statement),
        "description": statement["run"].get("dut", {}).get("description", ""),
        "pics": _profile_rows(statement, "pics"),
        "pixit": _profile_rows(statement, "pixit"),
        "signing": dict(signing),
        "integrity_only": INTEGRITY_ONLY,
        "openssl": OPENSSL_COMMANDS,
        "files": {"manifest": MANIFEST_NAME, "certificate": CERTIFICATE_NAME},
    }


def render_certification(statement: Mapping[str, Any], model: Mapping[str, Any]) -> str:
    return render_html(statement, TEMPLATE, c=model)


# -- output --------------------------------------------------------------------------------------------
def write_pdf(html: str, path: Path) -> Path:
    """Render the report's HTML to PDF with WeasyPrint (no browser needed; pango does the text layout)."""
    try:
        from weasyprint import HTML
    except ImportError as err:
        raise ReportError(
            f"the PDF cannot be written: WeasyPrint is not installed ({err}). "
            "ACTION: install the project's dependencies (`.venv/bin/pip install -e .`)."
        ) from None
    except OSError as err:  # WeasyPrint loads pango through cffi at import time
        raise ReportError(
            f"the PDF cannot be written: WeasyPrint cannot load its system libraries ({err}). "
            f"ACTION: install the Debian packages {PDF_SYSTEM_PACKAGES} (apt-get install), then run "
            "the report again."
        ) from None
    with create_regular(path, "PDF") as stream:  # never written through a symbolic link
        HTML(string=html).write_pdf(stream)
    return path


def write_certification(
    run_dir: Path,
    *,
    key: SigningKey | None = None,
    pdf: bool = True,
    out_dir: Path | None = None,
    history: list[Mapping[str, Any]] | None = None,
    derived_from: Mapping[str, Any] | None = None,
) -> CertificationFiles:
    """Write certification.html (and .pdf) from ``run_dir``'s statement into ``out_dir`` (default: the run
    directory), then sign ``out_dir`` with ``key`` (default: a new per-run key). Everything in ``out_dir`` is
    finished before the manifest is signed; without ``pdf`` an older certification.pdf is removed."""
    statement = read_statement(run_dir)
    run = statement["run"]
    out_dir = out_dir or run_dir
    key = key or RunKey.generate(str(run["run_id"]), str(run["suite_version"]))
    signing = {**signer_summary(key), "history": list(history or []), "derived_from": derived_from}
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    base = "" if out_dir == run_dir else f"../{run_dir.name}/"
    html = render_certification(statement, report_model(statement, run_dir, signing, generated, evidence_base=base))
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / HTML_NAME
    write_regular(html_path, html, "certification report")
    pdf_path = out_dir / PDF_NAME
    pdf_error: ReportError | None = None
    try:
        if pdf:
            write_pdf(html, pdf_path)
    except ReportError as err:
        pdf_error = err
    except Exception as err:  # a renderer defect must not leave the directory under an older manifest
        pdf_error = ReportError(f"the PDF renderer failed ({type(err).__name__}: {err})")
    if not pdf or pdf_error:
        pdf_path.unlink(missing_ok=True)
    # Signed even when the PDF failed: the directory must never be left under an older manifest.
    manifest = write_manifest(
        out_dir,
        key,
        run_id=str(run["run_id"]),
        suite_version=str(run["suite_version"]),
        history=history,
        derived_from=derived_from,
    )
    if pdf_error:
        raise ReportError(f"{pdf_error}\n{HTML_NAME} and the signed manifest were written without the PDF.")
    return CertificationFiles(
        directory=out_dir,
        html=html_path,
        pdf=pdf_path if pdf else None,
        manifest=manifest,
        certificate=out_dir / CERTIFICATE_NAME,
        fingerprint=signing["fingerprint_sha256"],
        owned=key.owned,
        derived=out_dir != run_dir,
    )


def derived_dir(run_dir: Path) -> Path:
    """``<run-id>.report/`` beside the run: where a report goes that cannot be signed into the run."""
    return run_dir.with_name(run_dir.name + DERIVED_SUFFIX)


def report_run(run_dir: Path, *, key: SigningKey | None = None, pdf: bool = True) -> CertificationFiles:
    """``ota-conformance report``: the certification report of a run, never replacing its signature silently.

    A signed run must still match its manifest (a report would otherwise certify edited files). Signed with
    the same owned ``key``: the report is written into the run, which is re-signed with a ``history`` entry.
    Signed by another key, or by a per-run key (gone), or ``key`` is None: the report goes to
    ``<run-id>.report/`` with a manifest of its own, whose ``derived_from`` names the run's manifest.
    A run that was never signed is signed in place.
    """
    read_statement(run_dir)  # a clear error for a directory that is not a run
    refuse_links(run_dir, "run directory", _NO_LINKS)
    if not (run_dir / MANIFEST_NAME).is_file():
        return write_certification(run_dir, key=key, pdf=pdf)
    verification = verify_run_dir(run_dir)
    if not (verification.signature_valid and not verification.problems):
        problems = len(verification.problems) + (not verification.signature_valid)
        raise RunChangedError(
            f"{run_dir} does not match its signed manifest ({problems} problem(s)): it was changed after the run "
            "signed it, and a report would certify the changed files. ACTION: see `verify` for what changed, "
            "and report from the original run directory."
        )
    manifest = verification.manifest
    same_key = (
        key is not None
        and key.owned
        and verification.certificate is not None
        and verification.certificate["fingerprint_sha256"] == signer_summary(key)["fingerprint_sha256"]
    )
    if same_key:
        history = [
            *(manifest.get("history") or []),
            {
                "event": "re-signed by `ota-conformance report` (certification report rewritten)",
                "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "previous_created_utc": manifest.get("created_utc"),
                "previous_manifest_sha256": manifest_sha256(run_dir),
            },
        ]
        files = write_certification(run_dir, key=key, pdf=pdf, history=history)
        return CertificationFiles(**{**files.__dict__, "resigned": True})
    out_dir = derived_dir(run_dir)
    if out_dir.is_symlink():
        raise FileRefused(f"{out_dir} is a symbolic link; the report is not written through it. ACTION: {_NO_LINKS}.")
    if out_dir.exists():
        shutil.rmtree(out_dir)  # derived: rebuilt from the run, nothing of its own to lose
    return write_certification(run_dir, key=key, pdf=pdf, out_dir=out_dir, derived_from=derived_from_run(run_dir))


#: What to do about a symbolic link (or FIFO, device) inside a run directory ``report`` was given.
_NO_LINKS = (
    "replace it by the file it stands for, or report from the original run directory (a run directory holds "
    "regular files only; the report never reads, signs or writes through a link)"
)


class RunChangedError(ReportError):
    """The run directory no longer matches its signed manifest: no report is made from it (exit 1)."""


__all__ = [
    "DERIVED_SUFFIX",
    "HTML_NAME",
    "PDF_NAME",
    "CertificationFiles",
    "ReportError",
    "RunChangedError",
    "derived_dir",
    "evidence_images",
    "report_model",
    "report_run",
    "write_certification",
    "write_pdf",
]
