"""`ota-conformance report RUN_DIR` and `ota-conformance verify RUN_DIR`: the signed certification report.

`report` writes certification.html and certification.pdf from the run's conformance statement. It never
replaces the run's signature silently (``harness.reports.certification.report_run``): with the same owned key
(``--signing-key``/``--signing-cert`` or the environment) it re-signs the run and records that it did; with
another key or none it writes ``<run-id>.report/`` beside the run, signed on its own. A run that no longer
matches its manifest gets no report (exit 1).

`verify` checks the signature and every file; ``--trust CERT_OR_SHA256_FINGERPRINT`` also checks that the
signer is that certificate. Exit codes: the check table (`harness.exitcodes.CheckExit`): 0 valid, 1 invalid (a
file edited, added or removed, a bad signature, another signer than the trusted one), 2 unusable (no manifest,
bad option).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from harness.cli.hints import command
from harness.errors import InputError
from harness.exitcodes import CheckExit
from harness.reports.manifest import FileStatus, parse_trust, verify_run_dir
from harness.reports.signing import INTEGRITY_ONLY, OwnedKey, add_signing_options, signing_key_from_args
from harness.reports.statement import STATEMENT_NAME
from harness.reports.text import plain_text


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report",
        help="write the certification report (HTML, PDF) of a run, signed",
        description=__doc__.splitlines()[0],
    )
    report.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory, e.g. reports/<run-id>")
    report.add_argument("--no-pdf", action="store_true", help="write certification.html only (no PDF)")
    add_signing_options(report)
    report.set_defaults(handler=report_command, error_exit_code=2)

    verify = subparsers.add_parser(
        "verify",
        help="check a run directory against its signed manifest",
        description="Check the manifest's signature and every file of a run directory (or a report directory "
        "beside it). Exit 0 valid, 1 invalid, 2 unusable (no manifest, bad option).",
    )
    verify.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory, e.g. reports/<run-id>")
    verify.add_argument(
        "--trust",
        metavar="CERT_OR_SHA256_FINGERPRINT",
        help="pass only if the manifest was signed by this certificate (a PEM/DER file or its SHA-256 "
        "fingerprint); without it the signer is unverified",
    )
    verify.add_argument("-q", "--quiet", action="store_true", help="print only the files that do not match")
    verify.set_defaults(handler=verify_command, error_exit_code=CheckExit.UNUSABLE)


def signer_line(owned: bool, fingerprint: str, subject: str = "") -> str:
    """How every output names the signer: an owned key's certificate, or "integrity only" for a per-run key."""
    if owned:
        return f"Signed by {subject or 'your key'}, certificate SHA-256 {fingerprint}"
    return f"Signed with a key made for this run and discarded ({INTEGRITY_ONLY}); certificate SHA-256 {fingerprint}"


def report_command(args: argparse.Namespace) -> int:
    from jinja2 import TemplateError

    from harness.reports.certification import ReportError, RunChangedError, report_run

    key = signing_key_from_args(args)
    try:
        files = report_run(args.run_dir, key=key, pdf=not args.no_pdf)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, TemplateError) as err:  # a field unchecked
        raise InputError(
            f"{args.run_dir / STATEMENT_NAME}: a field the report needs is missing or of the wrong type "
            f"({type(err).__name__}: {str(err)[:200]}). ACTION: report from the original run directory."
        ) from err
    except RunChangedError as err:
        print(f"ota-conformance report: {err}", file=sys.stderr)
        print(f"  {command('verify', args.run_dir)}", file=sys.stderr)
        return CheckExit.INVALID
    except OSError as err:  # e.g. a read-only archive copy of the run
        raise ReportError(
            f"cannot write the report of {args.run_dir}: {err}. ACTION: work on a writable copy."
        ) from None
    written = [files.html, *([files.pdf] if files.pdf else []), files.manifest]
    print("Certification report: " + ", ".join(str(p) for p in written))
    subject = key.certificate.subject.rfc4514_string() if key is not None else ""
    print(signer_line(files.owned, files.fingerprint, subject))
    if files.resigned:
        print(f"The run was re-signed with the same key; {files.manifest} records the earlier signature (history).")
    elif files.derived:
        print(
            f"Written beside the run, in {files.directory}, under a manifest of its own that names the run's "
            f"manifest: the run's signature is unchanged. Check both: `{command('verify', args.run_dir)}` and "
            f"`{command('verify', files.directory)}`."
        )
    return 0


def _say(text: str, file: TextIO | None = None) -> None:
    """One line of `verify`'s output: text from the manifest is the signer's (or a forger's), so terminal
    escape sequences are removed and other control characters shown as \\xNN (``harness.reports.text``)."""
    print(plain_text(text), file=file or sys.stdout)


def _field(manifest: dict, name: str) -> str:
    """A manifest field as printed: text, at most 200 characters."""
    value = str(manifest.get(name))
    return value if len(value) <= 200 else value[:199] + "…"


def verify_command(args: argparse.Namespace) -> int:
    trusted = parse_trust(args.trust) if args.trust else None
    result = verify_run_dir(args.run_dir, trusted)
    manifest = result.manifest
    _say(
        f"Manifest of run {_field(manifest, 'run_id')} (suite {_field(manifest, 'suite_version')}, "
        f"signed {_field(manifest, 'created_utc')}): {len(manifest['files'])} files"
    )
    if result.certificate:
        _say(f"Certificate SHA-256 {result.certificate['fingerprint_sha256']} ({result.certificate['subject']})")
    _say(f"{'OK' if result.signature_valid else 'INVALID':<9} signature: {result.signature_detail}")
    trust_status = {None: "UNVERIFIED", True: "TRUSTED", False: "INVALID"}[result.trusted]
    _say(f"{trust_status:<9} signer: {result.trust_detail}")
    if result.derived is not None:
        _say(f"{'OK' if result.derived[0] else 'INVALID':<9} run: {result.derived[1]}")
    for note in result.notes:
        _say(f"{'NOTE':<9} {note}")
    for check in result.files:
        if check.status is FileStatus.OK and args.quiet:
            continue
        _say(f"{check.status.value:<9} {check.path}" + (f": {check.detail}" if check.detail else ""))
    if result.valid:
        who = "by the trusted certificate" if result.trusted else f"(signer unverified: {_unverified(result)})"
        _say(f"VALID: the signature and all {len(result.files)} files match the manifest, signed {who}.")
        return CheckExit.VALID
    problems = len(result.problems) + (not result.signature_valid) + (result.trusted is False)
    problems += result.derived is not None and not result.derived[0]
    _say(
        f"INVALID: {problems} problem(s). The directory is not the one that was signed, or not by the key you "
        "trust; do not submit it. ACTION: re-run the suite, or get the original run directory back.",
        file=sys.stderr,
    )
    return CheckExit.INVALID


def _unverified(result: object) -> str:
    return INTEGRITY_ONLY if getattr(result, "per_run_key", True) else "pass --trust to check the key"


def certify_after_run(run_dir: Path, *, signing: OwnedKey | None = None, pdf: bool = False) -> None:
    """Called at the end of `ota-conformance run`: write certification.html (and the PDF with ``pdf``) and
    sign the run directory with ``signing`` (the owner's key) or a per-run key.

    Never changes the run's exit code: a failure here is a message saying how to retry.
    """
    from harness.reports.certification import write_certification
    from harness.reports.statement import STATEMENT_NAME

    if not (run_dir / STATEMENT_NAME).is_file():
        return
    try:
        files = write_certification(run_dir, key=signing, pdf=pdf)
    except Exception as err:  # the verdicts stand whatever happens to the report
        print(
            f"ota-conformance run: the certification report was not completed ({type(err).__name__}: {err}). "
            f"The verdicts above stand. ACTION: run `{command('report', run_dir)}`.",
            file=sys.stderr,
        )
        return
    subject = signing.certificate.subject.rfc4514_string() if signing is not None else ""
    print(f"Certification report: {files.html}{' and ' + str(files.pdf) if files.pdf else ''}")
    print(f"{signer_line(files.owned, files.fingerprint, subject)}; manifest {files.manifest}")
    if not files.pdf:
        options = (
            [] if signing is None else ["--signing-key", signing.key_path, "--signing-cert", signing.certificate_path]
        )
        where = "signs the run again with your key" if signing else "writes it beside the run, signed on its own"
        print(f"For the PDF: `{command('report', run_dir, *options)}` ({where}), or `run --pdf` next time.")
