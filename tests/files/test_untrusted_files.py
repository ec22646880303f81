"""Every file the suite reads is opened only if it is a regular file of a size its kind allows (issue 14):
`/dev/zero`, a FIFO (which must not block), a directory and a 2 GiB sparse file are refused with exit 2 and one
line, by every command that takes a file. ``harness.files`` is the one reader; these tests go through the CLI.
"""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import harness.cli
from harness.errors import ConfigurationError
from harness.files import (
    KEY_LIMIT,
    FileRefused,
    links_and_specials,
    read_regular,
    read_regular_text,
    refuse_links,
    write_regular,
)
from harness.ota.factory import ImageSpec, build_image
from harness.ota.format import Layout

KINDS = ["dev-zero", "fifo", "directory", "sparse-2GiB"]


@pytest.fixture(autouse=True)
def _never_block() -> Iterator[None]:
    """A reader that blocks on a FIFO fails the test in 20 s instead of hanging CI."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("a read blocked: a FIFO was opened without O_NONBLOCK")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"hostile-{kind}"
    if kind == "dev-zero":
        return Path("/dev/zero")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        with path.open("wb") as sparse:
            sparse.truncate(2 << 30)  # 2 GiB, no blocks on disk
    return path


@pytest.fixture
def key_pem(tmp_path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "key.pem"
    path.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "image.ota"
    path.write_bytes(build_image(ImageSpec(0x1234, 0x0084, 1, payload_size=64, layout=Layout.GB_UNSIGNED)))
    return path


COMMANDS: dict[str, Callable[[Path, Path, Path, Path], list[str | Path]]] = {
    "image inspect FILE": lambda bad, image, key, out: ["image", "inspect", bad],
    "image inspect --key": lambda bad, image, key, out: ["image", "inspect", image, "--key", bad],
    "image build --payload": lambda bad, image, key, out: ["image", "build", "-o", out, "--payload", bad],
    "image build --from": lambda bad, image, key, out: [
        *("image", "build", "-o", out, "--variant", "wrong-magic", "--from", bad),
    ],
    "gbcs decode FILE": lambda bad, image, key, out: ["gbcs", "decode", bad],
    "run --profile": lambda bad, image, key, out: ["run", "--profile", bad, "--dry-run"],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_file_that_is_not_a_small_regular_file(
    tmp_path: Path, image: Path, key_pem: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    bad = hostile(tmp_path, kind)
    argv = COMMANDS[command](bad, image, key_pem, tmp_path / "out.ota")
    assert harness.cli.main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(bad) in err
    assert "not a regular file" in err or "more than the" in err


@pytest.mark.parametrize("kind", ["fifo", "sparse-2GiB"])  # a directory is ignored by name already
def test_a_key_store_skips_what_is_not_a_regular_key_file(tmp_path: Path, kind: str) -> None:
    from harness.crypto.keystore import KeyStore

    store = tmp_path / "keys"
    store.mkdir()
    bad = hostile(store, kind)
    bad.rename(store / "00db123456789001-ds.pem")
    with pytest.raises(ConfigurationError, match=r"00db123456789001-ds\.pem: skipped: .*refused unread"):
        KeyStore.load(store)


def test_the_read_limit_is_a_new_option_not_the_devices_storage(tmp_path: Path, image: Path) -> None:
    size = image.stat().st_size
    assert harness.cli.main(["image", "inspect", str(image), "--read-limit", str(size - 1)]) == 2
    assert harness.cli.main(["image", "inspect", str(image), "--read-limit", str(size)]) == 0
    assert harness.cli.main(["image", "inspect", str(image), "--max-size", str(size - 1)]) == 1  # CS-15: too big


def test_inspect_summarises_past_n_subelements(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(build_image(ImageSpec(0x1234, 0x0084, 1, payload_size=16, layout=Layout.ZIGBEE)))
    data += struct.pack("<HI", 0xF000, 0) * 200_000  # 1.2 MB of empty sub-elements
    struct.pack_into("<I", data, 52, len(data))  # Total Image Size
    path = tmp_path / "many.ota"
    path.write_bytes(data)
    assert harness.cli.main(["image", "inspect", str(path), "--profile", "zigbee"]) == 0
    out = capsys.readouterr().out
    assert out.count("sub-element tag") == 32
    assert "... 199969 more sub-elements not listed (of 200001; --max-subelements N lists more)" in out
    assert "0xF000 ×199969 (0 octets)" in out
    assert len(out) < 10_000


def test_read_regular_stops_past_the_limit_and_refuses_links_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "target.pem"
    target.write_bytes(b"x" * 10)
    link = tmp_path / "link.pem"
    link.symlink_to(target)
    assert read_regular(link, "key file", KEY_LIMIT) == b"x" * 10
    with pytest.raises(FileRefused, match="symbolic link"):
        read_regular(link, "key file", KEY_LIMIT, follow_symlinks=False)
    with pytest.raises(FileRefused, match="more than the key file limit of 9 octets"):
        read_regular(target, "key file", 9)
    target.write_bytes(b"\xff\xfe")
    with pytest.raises(FileRefused, match="not UTF-8 text"):
        read_regular_text(target, "profile", KEY_LIMIT)


def test_write_regular_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("kept")
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").symlink_to(victim)
    with pytest.raises(OSError, match="symbolic link"):
        write_regular(out / "index.html", "<html>", "page")
    assert victim.read_text() == "kept"
    with pytest.raises(FileRefused, match=r"index\.html is a symbolic link inside the output directory"):
        refuse_links(out, "output directory", "remove it")


def test_links_and_specials_lists_every_entry_that_is_not_a_file_or_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir" / "empty").mkdir(parents=True)
    (tmp_path / "dir" / "file").write_text("x")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "etc").symlink_to("/etc")
    found = {path.relative_to(tmp_path).as_posix(): kind for path, kind in links_and_specials(tmp_path)}
    assert found == {"dir/empty": "an empty directory", "etc": "a symbolic link", "pipe": "a FIFO (named pipe)"}
