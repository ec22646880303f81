"""pytest-bdd plumbing: the one event loop steps run coroutines on, and the guard against async steps."""
