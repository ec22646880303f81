"""The certification report: the conformance statement as a vendor submits it, in HTML and PDF, signed.

Built from the run's ``conformance.json`` with the statement's own renderer (``statement.render_html``, a
second template over the shared base and section macros), so the two reports cannot disagree. It adds what a
certifier reads: the device's identity as declared and as reported by the device, the profile's PICS and
PIXIT as tables, every FAIL, INCONCLUSIVE and ERROR with its operator message and evidence (PNG evidence,
such as transfer plots, embedded as data: URIs so the HTML stays one file), and the certificate of the
per-run key that signs ``manifest.json`` (``harness.reports.manifest``), written after the report so the
manifest covers it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.reports.manifest import CERTIFICATE_NAME, MANIFEST_NAME, RunKey, certificate_summary, write_manifest
from harness.reports.statement import read_statement, render_html
from harness.verdicts import Verdict

HTML_NAME = "certification.html"
PDF_NAME = "certification.pdf"
TEMPLATE = "certification.html.j2"
#: Scenarios the report details one by one: the device failed, or no verdict could be reached.
ISSUE_VERDICTS = (Verdict.FAIL.value, Verdict.INCONCLUSIVE.value, Verdict.ERROR.value)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Debian packages WeasyPrint loads at run time (pango and its font stack; fonts to draw text with).
PDF_SYSTEM_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core"

#: (label, key in the statement's run.dut, key in dut_seen)
_IDENTITY_ROWS = (
    ("Manufacturer (Basic ManufacturerName)", None, "manufacturer"),
    ("Model (Basic ModelIdentifier)", None, "model"),
    ("EUI-64", "eui64", None),
    ("Manufacturer code", "manufacturer_code", "manufacturer_codes"),
    ("Image type", "image_type", "image_types"),
    ("Hardware version", "hardware_version", "hardware_versions"),
    ("Firmware version (running)", "current_file_version", "file_versions"),
)


class ReportError(HarnessError):
    """The report could not be written (e.g. the PDF renderer or its system libraries are missing)."""


@dataclass(frozen=True)
class CertificationFiles:
    html: Path
    pdf: Path | None
    manifest: Path
    certificate: Path
    fingerprint: str


# -- input ---------------------------------------------------------------------------------------------
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
        if not path.is_relative_to(root):
            images.append({"path": name, "problem": "outside the run directory; not embedded"})
        elif not path.is_file():
            images.append({"path": name, "problem": "named as evidence but missing from the run directory"})
        elif not (data := path.read_bytes()).startswith(PNG_MAGIC):
            images.append({"path": name, "problem": "not a PNG file; not embedded"})
        else:
            uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
            images.append({"path": name, "data_uri": uri})
    return images


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


def certification_context(
    statement: Mapping[str, Any], run_dir: Path, signing: Mapping[str, str], generated_utc: str
) -> dict[str, Any]:
    """What the certification template adds to the statement (passed to it as ``c``)."""
    issues, plots = [], []
    for scenario in statement["scenarios"]:
        entry = {**scenario, "images": evidence_images(scenario.get("evidence", {}), run_dir)}
        if scenario["verdict"] in ISSUE_VERDICTS:
            issues.append(entry)
        elif entry["images"]:
            plots.append(entry)
    return {
        "generated_utc": generated_utc,
        "identity": _identity(statement),
        "description": statement["run"].get("dut", {}).get("description", ""),
        "role": statement["run"].get("dut", {}).get("role", ""),
        "pics": _profile_rows(statement, "pics"),
        "pixit": _profile_rows(statement, "pixit"),
        "issues": issues,
        "plots": plots,
        "signing": dict(signing),
        "files": {"manifest": MANIFEST_NAME, "certificate": CERTIFICATE_NAME},
    }


def render_certification(statement: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    return render_html(statement, TEMPLATE, c=context)


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
            "`ota-conformance report RUN_DIR` again."
        ) from None
    HTML(string=html).write_pdf(path)
    return path


def write_certification(run_dir: Path, *, pdf: bool = True) -> CertificationFiles:
    """Write certification.html (and .pdf), then sign the whole run directory with a new per-run key.

    Without ``pdf``, an older certification.pdf is removed: it would show another key's fingerprint.
    """
    statement = read_statement(run_dir)
    run = statement["run"]
    key = RunKey.generate(str(run["run_id"]), str(run["suite_version"]))
    signing = certificate_summary(key.certificate)
    generated = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    html = render_certification(statement, certification_context(statement, run_dir, signing, generated))
    html_path = run_dir / HTML_NAME
    html_path.write_text(html, encoding="utf-8")
    pdf_path = run_dir / PDF_NAME
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
    manifest = write_manifest(run_dir, key, run_id=str(run["run_id"]), suite_version=str(run["suite_version"]))
    if pdf_error:
        raise ReportError(f"{pdf_error}\n{HTML_NAME} and the signed manifest were written without the PDF.")
    return CertificationFiles(
        html=html_path,
        pdf=pdf_path if pdf else None,
        manifest=manifest,
        certificate=run_dir / CERTIFICATE_NAME,
        fingerprint=signing["fingerprint_sha256"],
    )
