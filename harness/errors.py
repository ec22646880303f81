"""Typed errors that carry an operator message. The CLI turns them into a message and an exit code,
never a traceback."""


class HarnessError(Exception):
    """Base of every error the harness raises on purpose. `str(err)` is the operator message."""


class UsageError(HarnessError):
    """A command-line option or argument is wrong (exit 2)."""


class ConfigurationError(HarnessError):
    """A profile, key store or other input file is broken (exit 2). The message names file, key, problem."""


class InputError(HarnessError):
    """An input to a judging command could not be read at all (exit 2 of the check table)."""
