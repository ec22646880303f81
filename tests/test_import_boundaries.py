"""Nothing above the radio may depend on the emulator: the steps, the CH, the DUT adapter and the transcript
import nothing from ``harness.emulator`` (the adapter loads an emulator class by name from the profile).

Why: the same scenario must run unchanged against real hardware; a static import of the emulator from that
code path is how special-casing starts. The check walks the AST, so imports inside functions and under
``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = "harness.emulator"
GUARDED = [
    ROOT / "steps",
    ROOT / "harness" / "ch",
    ROOT / "harness" / "dut",
    ROOT / "harness" / "transcript.py",
    ROOT / "harness" / "evidence",
]


def _modules() -> list[Path]:
    files: list[Path] = []
    for path in GUARDED:
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
    return files


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a (possibly relative) ``from ... import`` names."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _forbidden(name: str) -> bool:
    return name == FORBIDDEN or name.startswith(FORBIDDEN + ".")


def emulator_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: statement`` for every import of ``harness.emulator`` in the file."""
    module = _module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, path.name == "__init__.py")
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(_forbidden(name) for name in names):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_guarded_packages_exist():
    assert (ROOT / "harness" / "ch").is_dir() and (ROOT / "harness" / "dut").is_dir()
    assert any(p.name == "adapter.py" for p in _modules())


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_above_the_radio_imports_the_emulator(path: Path):
    assert emulator_imports(path) == [], "import the emulator by name from the profile, never statically"


@pytest.mark.parametrize(
    ("source", "where"),
    [
        ("import harness.emulator", "harness/dut/x.py"),
        ("import harness.emulator.ppmid as p", "harness/dut/x.py"),
        ("from harness.emulator.node import EmulatedDevice", "harness/dut/x.py"),
        ("from harness import emulator", "harness/dut/x.py"),
        ("from .. import emulator", "harness/dut/x.py"),
        ("from ..emulator.ppmid import PpmidEmulator", "harness/ch/x.py"),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.emulator import node", "steps/x.py"),
        ("def f():\n    import harness.emulator.ppmid", "steps/x.py"),
    ],
)
def test_the_check_catches_every_spelling(tmp_path: Path, source: str, where: str):
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    assert len(emulator_imports(path, tmp_path)) == 1


@pytest.mark.parametrize(
    "source",
    [
        'SPEC = "harness.emulator.ppmid:PpmidEmulator"',
        "import importlib\nimportlib.import_module(SPEC)",
        "from harness import radio",
        "from harness.emulators_docs import x",
    ],
)
def test_names_and_neighbours_are_not_imports(tmp_path: Path, source: str):
    path = tmp_path / "harness" / "dut" / "x.py"
    path.parent.mkdir(parents=True)
    path.write_text(source, encoding="utf-8")
    assert emulator_imports(path, tmp_path) == []
