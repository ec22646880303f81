"""Facts about the feature files that every report records (which specification text was run)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def feature_files(features_dir: Path) -> list[Path]:
    return sorted(features_dir.rglob("*.feature")) if features_dir.is_dir() else []


def features_hash(features_dir: Path) -> str:
    """SHA-256 over every feature file's relative path and bytes, in path order.

    Two runs with the same hash ran the same requirements text, whatever the checkout.
    """
    digest = hashlib.sha256()
    for path in feature_files(features_dir):
        digest.update(path.relative_to(features_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
