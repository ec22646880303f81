"""Fixtures of the tunnel tests; they live in tunnel_support.py so test modules can import its helpers by a
name no other test folder uses (every folder has a conftest.py)."""

from tunnel_support import (  # noqa: F401  (fixtures are found by name in this module)
    app,
    ch,
    config,
    granted,
    make_node,
    node,
    run,
    tap,
    transcript,
)
