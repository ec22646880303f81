"""Start-up work a run does not need, put off until it is needed.

Why: every ``ota-conformance`` command and every warm worker pays for what importing its libraries does,
and some of it is not importing at all. zigpy's OTA providers (``zigpy.ota.providers``, imported by every
zigpy device) build SSL contexts for IKEA's, Sonoff's and others' firmware servers when the module is
imported, each loading the system's CA certificates (about 20 ms each, more on a loaded machine), and
aiohttp, which it imports, builds two more. The suite never downloads from those servers.

``install()`` (called when ``harness`` is imported) puts a finder on ``sys.meta_path`` that only acts on
that one module: while it executes, ``SSLContext.load_default_certs`` notes what it was asked for instead
of loading, and the context loads its certificates when it first wraps a connection (``wrap_socket`` and
``wrap_bio``: the only ways to use it), so a provider that does connect verifies exactly as before.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import ssl
import sys
import threading
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

#: Modules whose import builds SSL contexts the suite does not use.
DEFERRED_CERTIFICATES = frozenset({"zigpy.ota.providers"})

_lock = threading.Lock()


def _load_on_first_use(context: ssl.SSLContext, purpose: ssl.Purpose) -> None:
    """Make ``context`` load its default certificates just before its first connection."""
    cls = type(context)

    def loaded() -> None:
        for name in ("wrap_socket", "wrap_bio"):
            vars(context).pop(name, None)
        cls.load_default_certs(context, purpose)

    def wrap_socket(*args: Any, **kwargs: Any) -> Any:
        loaded()
        return cls.wrap_socket(context, *args, **kwargs)

    def wrap_bio(*args: Any, **kwargs: Any) -> Any:
        loaded()
        return cls.wrap_bio(context, *args, **kwargs)

    vars(context).update(wrap_socket=wrap_socket, wrap_bio=wrap_bio)


@contextlib.contextmanager
def default_certificates_on_first_use() -> Iterator[None]:
    """SSL contexts whose default certificates are asked for inside this block load them when first used."""
    with _lock:
        real = ssl.SSLContext.load_default_certs

        def noted(self: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
            _load_on_first_use(self, purpose)

        ssl.SSLContext.load_default_certs = noted  # type: ignore[method-assign]
        try:
            yield
        finally:
            ssl.SSLContext.load_default_certs = real  # type: ignore[method-assign]


class _DeferringLoader(importlib.abc.Loader):
    """The module's own loader, executing it inside ``default_certificates_on_first_use``."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with default_certificates_on_first_use():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_code, is_package ... for tracebacks and tools
        return getattr(self._loader, name)


class _DeferringFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in DEFERRED_CERTIFICATES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferringLoader(spec.loader)
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent; no effect on a module already imported)."""
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())
