"""The lock files pin what pyproject.toml pins, with hashes for every package (issue 14, supply chain).

`make` installs from ``requirements/dev.lock`` with ``--require-hashes``; a pin changed in pyproject.toml
without ``make lock`` would install the old version silently, so this test fails first and says what to run.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {"dev.lock": ("dev",), "hardware.lock": ("dev", "hardware")}
_ENTRY = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)(?P<rest>[^\n]*(?:\n\s+--hash[^\n]*)*)", re.M
)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock(name: str) -> dict[str, list[tuple[str, str]]]:
    """Package → [(version, the entry's text)]: a universal lock may pin two versions under markers."""
    entries: dict[str, list[tuple[str, str]]] = {}
    for match in _ENTRY.finditer((ROOT / "requirements" / name).read_text(encoding="utf-8")):
        entries.setdefault(_canonical(match["name"]), []).append((match["version"], match["rest"]))
    return entries


def _pins(extras: tuple[str, ...]) -> dict[str, str]:
    """The ``name==version`` pins pyproject.toml declares for the base install plus ``extras`` (recursively)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project["optional-dependencies"]
    pins: dict[str, str] = {}
    todo, seen = [*project["dependencies"]], set()
    for extra in extras:
        todo += optional[extra]
    while todo:
        requirement = todo.pop()
        self_ref = re.fullmatch(r"gb-ota-conformance\[(?P<extras>[^\]]+)\]", requirement)
        if self_ref:
            for extra in self_ref["extras"].split(","):
                if extra.strip() not in seen:
                    seen.add(extra.strip())
                    todo += optional[extra.strip()]
            continue
        name, _, version = requirement.partition("==")
        assert version, f"pyproject.toml: {requirement!r} is not pinned with ==; certification runs need exact pins"
        pins[_canonical(name)] = version
    return pins


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_lock_pins_what_pyproject_pins(lock_name: str) -> None:
    lock = _lock(lock_name)
    stale = {
        name: (version, [v for v, _ in lock.get(name, [])])
        for name, version in _pins(LOCKS[lock_name]).items()
        if version not in [v for v, _ in lock.get(name, [])]
    }
    assert not stale, (
        f"requirements/{lock_name} disagrees with pyproject.toml (package: (pyproject, lock)): {stale}. "
        "ACTION: run `make lock` and commit the lock files."
    )


@pytest.mark.parametrize("lock_name", sorted(LOCKS))
def test_every_locked_package_has_hashes_and_the_build_tools_are_locked(lock_name: str) -> None:
    lock = _lock(lock_name)
    unhashed = sorted(name for name, entries in lock.items() for _, text in entries if "--hash=sha256:" not in text)
    assert not unhashed, f"requirements/{lock_name}: packages without hashes: {unhashed}. ACTION: run `make lock`."
    assert {"pip", "setuptools", "wheel"} <= set(lock), (
        "the build tools must be locked too (requirements/build-tools.in)"
    )


def test_make_installs_from_the_lock_with_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK   := requirements/dev.lock" in makefile
    assert re.search(r"^\$\(STAMP\): .*\$\(LOCK\)", makefile, re.M), "the venv must be rebuilt when the lock changes"
