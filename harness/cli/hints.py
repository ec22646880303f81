"""Commands the CLI prints as hints, in a form that works when pasted into a shell in the project directory.

Why: the console script lives in ``.venv/bin/``, which is not on PATH unless the venv is activated, so a hint
reading ``ota-conformance report reports/x`` fails as printed. ``command`` names the script the way the
operator can run it from where they are: as typed when it was found through PATH, else its path relative
to the current directory (``.venv/bin/ota-conformance``), else absolute; every argument is shell-quoted.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

SCRIPT = "ota-conformance"


def script() -> str:
    """How to invoke the console script from the current directory."""
    installed = Path(sys.executable).parent / SCRIPT
    on_path = shutil.which(SCRIPT)
    if on_path and installed.exists() and os.path.samefile(on_path, installed):
        return SCRIPT
    target = installed if installed.exists() else Path(sys.argv[0] or SCRIPT)
    return shell_path(target)


def shell_path(path: Path | str) -> str:
    """``path`` relative to the current directory when it lies under it (``reports/x``, ``.venv/bin/...``),
    else absolute; quoted for a POSIX shell."""
    resolved = Path(os.path.abspath(path))  # not resolve(): .venv/bin/python is a symlink to keep as it is
    try:
        shown = resolved.relative_to(Path.cwd()).as_posix()
        if "/" not in shown and resolved.is_file() and os.access(resolved, os.X_OK):
            shown = f"./{shown}"  # an executable in the current directory needs ./ to run
    except ValueError:
        shown = str(resolved)
    return shlex.quote(shown)


def command(*args: str | Path) -> str:
    """``ota-conformance ARGS`` as the operator can paste it (paths shown relative when possible)."""
    shown = [shell_path(a) if isinstance(a, Path) else shlex.quote(a) for a in args]
    return " ".join([script(), *shown])


__all__ = ["command", "script", "shell_path"]
