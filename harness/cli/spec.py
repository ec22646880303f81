"""`ota-conformance spec`: write the living specification (a static site) for regulators and reviewers.

`spec -o DIR [--run RUN_DIR]` renders the requirement catalogue and the feature files into DIR/index.html,
a traceability matrix and one page per requirement and per feature file; with `--run` it shows the verdicts
of that run's conformance.json. Exit 0 when written, 2 on a usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import UsageError
from harness.exitcodes import RunExit
from harness.files import refuse_links

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FEATURES = PROJECT_ROOT / "features"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "spec",
        help="write the living specification (static HTML site) into a folder",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--run", type=Path, metavar="RUN_DIR", help="a run directory (reports/<run-id>/)")
    parser.add_argument(
        "--features", type=Path, default=DEFAULT_FEATURES, metavar="DIR", help="feature folder (default: features/)"
    )
    parser.set_defaults(handler=spec_command, error_exit_code=int(RunExit.USAGE))


def spec_command(args: argparse.Namespace) -> int:
    # Imported here: it loads pytest-bdd's parser, which must not precede pytest's assertion rewriting in `run`.
    from harness.reports.spec import build_spec, write_spec
    from harness.reports.statement import read_statement

    if not args.features.is_dir():
        raise UsageError(f"--features {args.features}: not a directory (give the suite's features/ folder)")
    refuse_links(args.features, "features directory", "give the suite's features/ folder (regular files only)")
    if args.output.is_symlink():
        raise UsageError(f"-o {args.output} is a symbolic link; give a directory (nothing is written through a link)")
    refuse_links(args.output, "output directory", "remove it, or write the site into a new directory")
    if args.run is not None:
        refuse_links(args.run, "run directory", "give the original run directory (it holds regular files only)")
    statement = read_statement(args.run) if args.run is not None else None
    spec = build_spec(args.features, statement=statement, run_path=str(args.run or ""))
    pages = write_spec(spec, args.output)
    for problem in spec.problems:
        print(f"warning: features/{problem.path}:{problem.line}: {problem.message}", file=sys.stderr)
    gaps = len(spec.gaps)
    verdicts = f"verdicts of run {spec.run.run_id}" if spec.run else "no run (every scenario: not run)"
    print(
        f"wrote {len(pages)} pages to {args.output} (open {args.output / 'index.html'}):"
        f" {len(spec.requirements)} requirements, {len(spec.scenarios)} scenarios, {gaps} gaps; {verdicts}"
    )
    return 0
