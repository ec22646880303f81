"""`ota-conformance`: the one console script.

Each sub-command lives in its own module exposing `register(subparsers)`; the registered handler takes the
parsed arguments and returns an exit code from `harness.exitcodes`. Errors derived from `HarnessError` become
a one-paragraph message on stderr with the exit code of the command's table; nothing prints a traceback
unless `--debug` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from harness import __version__
from harness.errors import HarnessError

_SUBCOMMAND_MODULES = (
    "harness.cli.run",
    "harness.cli.image",
    "harness.cli.gbcs",
    "harness.cli.spec",
    "harness.cli.report",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, matching both exit-code tables; keep its message short."""


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="ota-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks (for developers)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.handler(args))
    except HarnessError as err:
        if args.debug:
            raise
        print(f"ota-conformance {args.command}: {err}", file=sys.stderr)
        return int(getattr(args, "error_exit_code", 2))
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("ota-conformance: interrupted", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
