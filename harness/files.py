"""Reading files the suite did not make: regular files only, each kind with a size limit.

Why: test houses run the suite on files they did not make (a vendor's image, a key folder, a run directory
sent for review). A path to ``/dev/zero`` must not exhaust memory, a FIFO must not block the command forever,
a 2 GiB file must not be read whole, and a symbolic link inside a run directory must not make ``report`` sign
(or write over) a file outside it. Every reader of outside input goes through this module; each refusal is an
``InputError`` (exit 2 of every command's table) in one line that names the file and what to do.

How, without a check-then-open race: the path is opened with ``O_NONBLOCK`` (a FIFO opens at once instead of
waiting for a writer) and the *descriptor* is checked with ``fstat``: a regular file, no larger than the
limit. A ``stat`` before the open refuses devices and FIFOs without opening them at all (opening a serial port
or a tape has effects of its own); the ``fstat`` after it is the check that counts. The read stops one octet
past the limit, so a file that grows while it is read is refused too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NoReturn

from harness.errors import InputError

KIB = 1 << 10
MIB = 1 << 20

#: The size limit of each kind of file the suite reads (octets). An OTA file's header states its size in 32
#: bits, but no HAN device stores more than a few MiB: ``image inspect --read-limit`` raises this one.
OTA_IMAGE_LIMIT = 16 * MIB
#: A firmware payload given to ``image build --payload`` (it becomes an image of at most OTA_IMAGE_LIMIT).
PAYLOAD_LIMIT = OTA_IMAGE_LIMIT
#: A PEM or DER key or certificate (a chain of a few certificates is a few KiB).
KEY_LIMIT = 256 * KIB
#: A GBCS APDU as binary or hex text (RTDS .HEX files are a few KiB; a command is at most a few hundred).
APDU_LIMIT = 1 * MIB
#: A DUT profile (YAML; the shipped ones are about 3 KiB).
PROFILE_LIMIT = 1 * MIB
#: A conformance statement (conformance.json; a full run with evidence summaries is about 1 MiB).
STATEMENT_LIMIT = 64 * MIB
#: A run manifest (manifest.json: about 200 octets per file of the run).
MANIFEST_LIMIT = 16 * MIB
#: A PNG the certification report embeds (transfer plots are about 100 KiB).
EVIDENCE_IMAGE_LIMIT = 16 * MIB
#: A small JSON or text file the suite wrote itself earlier (network backups, emulator snapshots).
STATE_LIMIT = 16 * MIB

_CHUNK = 1 * MIB


class FileRefused(InputError):
    """A file that is not a regular file, larger than its kind allows, or unreadable: refused (exit 2).
    ``reason`` is the message without the path, for callers that name the file themselves."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


def describe_mode(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO", "a character device", ...)."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    return next((text for test, text in kinds if test(mode)), "not a regular file")


def size_text(octets: int) -> str:
    """Octets as a person reads a limit: "16 MiB", "256 KiB", "100 octets"."""
    if octets >= MIB:
        return f"{octets / MIB:g} MiB"
    return f"{octets / KIB:g} KiB" if octets >= KIB else f"{octets} octets"


def _not_regular(path: Path, what: str, kind: str) -> FileRefused:
    reason = f"is {kind}, not a regular file: the {what} was refused unread"
    return FileRefused(f"{path} {reason}. ACTION: give a regular file.", reason)


def _too_large(path: Path, what: str, size: str, limit: int, hint: str) -> FileRefused:
    reason = f"{size}, more than the {what} limit of {size_text(limit)}: refused unread"
    return FileRefused(f"{path} {reason}{hint}.", reason)


def _unreadable(path: Path, what: str, err: OSError) -> FileRefused:
    reason = f"cannot read it: {err.strerror or err}"
    return FileRefused(f"cannot read {what} {path}: {err.strerror or err}.", reason)


def _raise(error: type[Exception], refused: FileRefused) -> NoReturn:
    """``refused`` as the caller's error type (a command's table may want a ConfigurationError)."""
    if error is FileRefused:
        raise refused
    raise error(str(refused)) from None


def _check(path: Path, st: os.stat_result, what: str, limit: int | None, hint: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(path, what, describe_mode(st.st_mode))
    if limit is not None and st.st_size > limit:
        raise _too_large(path, what, f"is {st.st_size} octets", limit, hint)


def _open_flags(follow_symlinks: bool) -> int:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    return flags if follow_symlinks else flags | getattr(os, "O_NOFOLLOW", 0)


@contextmanager
def open_regular(
    path: str | os.PathLike[str],
    what: str,
    *,
    limit: int | None = None,
    limit_hint: str = "",
    follow_symlinks: bool = True,
    error: type[Exception] = FileRefused,
) -> Iterator[tuple[BinaryIO, int]]:
    """``(stream, size)`` of a regular file of at most ``limit`` octets (None: any size, for streaming).

    ``what`` names the kind in messages ("OTA image", "key file"); ``limit_hint`` says how to allow more
    ("; raise it with --read-limit N"); ``follow_symlinks=False`` refuses a symbolic link itself. Refusals and
    unreadable files raise FileRefused (an InputError), or ``error`` with the same message where a command's
    table wants another type (a ConfigurationError).
    """
    path = Path(path)
    try:
        try:
            _check(path, os.stat(path, follow_symlinks=follow_symlinks), what, limit, limit_hint)
            fd = os.open(path, _open_flags(follow_symlinks))  # devices and FIFOs were refused unopened
        except OSError as err:
            if not follow_symlinks and os.path.islink(path):
                raise _not_regular(path, what, "a symbolic link (not followed here)") from None
            raise _unreadable(path, what, err) from None
        try:
            st = os.fstat(fd)  # the check that counts: the file actually opened
            _check(path, st, what, limit, limit_hint)
            os.set_blocking(fd, True)
            stream = os.fdopen(fd, "rb", buffering=0)
        except BaseException:
            os.close(fd)
            raise
    except FileRefused as refused:
        _raise(error, refused)
    with stream:
        yield stream, st.st_size  # type: ignore[misc]


def read_regular(
    path: str | os.PathLike[str],
    what: str,
    limit: int,
    *,
    limit_hint: str = "",
    follow_symlinks: bool = True,
    error: type[Exception] = FileRefused,
) -> bytes:
    """The octets of a regular file of at most ``limit`` octets (see ``open_regular``)."""
    opened = open_regular(path, what, limit=limit, limit_hint=limit_hint, follow_symlinks=follow_symlinks, error=error)
    with opened as (stream, _):
        chunks: list[bytes] = []
        total = 0
        try:
            while total <= limit and (chunk := stream.read(min(_CHUNK, limit + 1 - total))):
                chunks.append(chunk)
                total += len(chunk)
        except OSError as err:
            _raise(error, _unreadable(Path(path), what, err))
        if total > limit:
            _raise(error, _too_large(Path(path), what, "grew while it was read", limit, limit_hint))
        return b"".join(chunks)


def read_regular_text(
    path: str | os.PathLike[str],
    what: str,
    limit: int,
    *,
    encoding: str = "utf-8",
    follow_symlinks: bool = True,
    error: type[Exception] = FileRefused,
) -> str:
    """A regular text file of at most ``limit`` octets, decoded; a file that is not ``encoding`` is refused
    with the offset of the first bad octet."""
    data = read_regular(path, what, limit, follow_symlinks=follow_symlinks, error=error)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        reason = f"is not {encoding.upper()} text (octet 0x{data[err.start]:02X} at offset {err.start})"
        _raise(error, FileRefused(f"{path} {reason}: save the {what} as {encoding.upper()}.", reason))


# -- writing -------------------------------------------------------------------------------------------------
@contextmanager
def create_regular(path: str | os.PathLike[str], what: str) -> Iterator[BinaryIO]:
    """A binary stream that writes ``path`` as a regular file, replacing an older regular file; a symbolic link
    (or a FIFO or device) at ``path`` is refused with OSError, never written through (``O_NOFOLLOW``)."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as err:
        if os.path.islink(path):
            raise OSError(err.errno, f"{path} is a symbolic link; the {what} is not written through it") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(f"{path} is {describe_mode(mode)}; the {what} is written only as a regular file")
        os.set_blocking(fd, True)
        stream = os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise
    with stream:
        yield stream


def write_regular(path: str | os.PathLike[str], data: bytes | str, what: str = "file") -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through ``create_regular``: never through a symbolic link."""
    with create_regular(path, what) as stream:
        stream.write(data.encode("utf-8") if isinstance(data, str) else data)


# -- directories the suite reads whole, signs or writes into ------------------------------------------------
def links_and_specials(directory: Path) -> Iterator[tuple[Path, str]]:
    """Every entry under ``directory`` that is neither a regular file nor an ordinary directory, with what it
    is: symbolic links (never followed), FIFOs, sockets, devices, and empty directories. In path order."""
    found: list[tuple[Path, str]] = []
    for root, dirs, files in os.walk(directory, followlinks=False, onerror=None):
        base = Path(root)
        if base != directory and not dirs and not files:
            found.append((base, "an empty directory"))
        for name in [*dirs, *files]:
            path = base / name
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue  # vanished meanwhile
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) or stat.S_ISLNK(mode):
                found.append((path, describe_mode(mode)))
    yield from sorted(found)


def refuse_links(directory: Path, what: str, action: str) -> None:
    """InputError naming the first symbolic link, FIFO, socket or device inside ``directory`` (``what``: "run
    directory", "output directory"): a command that signs or writes there never follows one. ``action``
    says what to do instead."""
    if directory.is_symlink() and not directory.is_dir():
        raise FileRefused(f"{directory} is a symbolic link to nothing; {action}.")
    if not directory.is_dir():
        return
    for path, kind in links_and_specials(directory):
        if kind != "an empty directory":
            raise FileRefused(
                f"{path} is {kind} inside the {what} {directory}; it is not followed, read or written through. "
                f"ACTION: {action}."
            )


__all__ = [
    "APDU_LIMIT",
    "EVIDENCE_IMAGE_LIMIT",
    "KEY_LIMIT",
    "MANIFEST_LIMIT",
    "OTA_IMAGE_LIMIT",
    "PAYLOAD_LIMIT",
    "PROFILE_LIMIT",
    "STATEMENT_LIMIT",
    "STATE_LIMIT",
    "FileRefused",
    "create_regular",
    "describe_mode",
    "links_and_specials",
    "open_regular",
    "read_regular",
    "read_regular_text",
    "refuse_links",
    "size_text",
    "write_regular",
]
