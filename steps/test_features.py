"""Binds every scenario under ``features/`` (the conformance run collects this module only)."""

from pathlib import Path

from pytest_bdd import scenarios

FEATURES_DIR = Path(__file__).resolve().parent.parent / "features"

if any(FEATURES_DIR.rglob("*.feature")):
    scenarios(str(FEATURES_DIR))
