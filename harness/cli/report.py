"""`ota-conformance report RUN_DIR` and `ota-conformance verify RUN_DIR`: the signed certification report.

`report` writes certification.html and certification.pdf from the run's conformance statement, then signs
the whole run directory (manifest.json, manifest.sig, manifest.cert.pem) with a new per-run key. `verify`
checks that signature and every file; its exit codes are the check table (`harness.exitcodes.CheckExit`):
0 valid, 1 invalid (a file edited, added or removed, or a bad signature), 2 unusable (no manifest).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.exitcodes import CheckExit
from harness.reports.manifest import FileStatus, verify_run_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="write the certification report (HTML, PDF) of a run and sign the run directory",
        description=__doc__.splitlines()[0],
    )
    report.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory, e.g. reports/<run-id>")
    report.add_argument("--no-pdf", action="store_true", help="write certification.html only (no PDF)")
    report.set_defaults(handler=report_command, error_exit_code=2)

    verify = subparsers.add_parser(
        "verify",
        help="check a run directory against its signed manifest",
        description="Check the manifest's signature and every file of a run directory. "
        "Exit 0 valid, 1 invalid, 2 unusable (no manifest).",
    )
    verify.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory, e.g. reports/<run-id>")
    verify.add_argument("-q", "--quiet", action="store_true", help="print only the files that do not match")
    verify.set_defaults(handler=verify_command, error_exit_code=CheckExit.UNUSABLE)


def report_command(args: argparse.Namespace) -> int:
    from harness.reports.certification import ReportError, write_certification

    try:
        files = write_certification(args.run_dir, pdf=not args.no_pdf)
    except OSError as err:  # e.g. a read-only archive copy of the run
        raise ReportError(f"cannot write into {args.run_dir}: {err}. ACTION: work on a writable copy.") from None
    written = [files.html, *([files.pdf] if files.pdf else []), files.manifest]
    print("Certification report: " + ", ".join(str(p) for p in written))
    print(f"Signed with a per-run test key; certificate {files.certificate}, SHA-256 {files.fingerprint}")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    result = verify_run_dir(args.run_dir)
    manifest = result.manifest
    print(
        f"Manifest of run {manifest.get('run_id')} (suite {manifest.get('suite_version')}, "
        f"signed {manifest.get('created_utc')}): {len(manifest['files'])} files"
    )
    if result.certificate:
        print(f"Certificate SHA-256 {result.certificate['fingerprint_sha256']}")
    print(f"{'OK' if result.signature_valid else 'INVALID':<9} signature: {result.signature_detail}")
    for check in result.files:
        if check.status is FileStatus.OK and args.quiet:
            continue
        print(f"{check.status.value:<9} {check.path}" + (f": {check.detail}" if check.detail else ""))
    if result.valid:
        print(f"VALID: the signature and all {len(result.files)} files match the manifest.")
        return CheckExit.VALID
    problems = len(result.problems) + (not result.signature_valid)
    print(
        f"INVALID: {problems} problem(s). The run directory is not the one that was signed; "
        "do not submit it. ACTION: re-run the suite, or get the original run directory back.",
        file=sys.stderr,
    )
    return CheckExit.INVALID


def certify_after_run(run_dir: Path) -> None:
    """Called at the end of `ota-conformance run`: write certification.html and sign the run directory.

    No PDF (WeasyPrint takes seconds; `report` writes it). Never changes the run's exit code: a failure
    here is a message saying how to retry.
    """
    from harness.reports.certification import write_certification
    from harness.reports.statement import STATEMENT_NAME

    if not (run_dir / STATEMENT_NAME).is_file():
        return
    try:
        files = write_certification(run_dir, pdf=False)
    except Exception as err:  # the verdicts stand whatever happens to the report
        print(
            f"ota-conformance run: the certification report was not completed ({type(err).__name__}: {err}). "
            f"The verdicts above stand. ACTION: run `ota-conformance report {run_dir}`.",
            file=sys.stderr,
        )
        return
    print(
        f"Certification report: {files.html} (signed manifest {files.manifest}, certificate SHA-256 "
        f"{files.fingerprint}). For the PDF: `ota-conformance report {run_dir}` (signs the directory anew)."
    )
