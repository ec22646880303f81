"""A profile is a file from outside: whatever it holds, loading it gives a Profile or a ProfileError (exit 2 of
`run`, with file, line and what to fix) — never another exception, and never minutes or gigabytes (issue 14).

Property tests mutate the shipped emulated-PPMID profile (values replaced by hostile YAML, characters flipped,
lines cut) and feed random text; fixed cases pin the attacks the issue measured.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.cli
from harness.profile import PROFILES_DIR, Profile, ProfileError, load_profile
from harness.profile.schema import MAX_NESTING

BASE = (PROFILES_DIR / "emulated-ppmid.yaml").read_text(encoding="utf-8")
BASE_LINES = BASE.splitlines(keepends=True)
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: YAML a hostile or careless profile holds in place of a value.
HOSTILE_VALUES = [
    "*anchor",
    "&a [1, 2]",
    "[" * 300 + "]" * 300,
    "9" * 5000,
    "0x" + "f" * 5000,
    "-.inf",
    ".nan",
    "1e999",
    "!!python/object/apply:os.system ['true']",
    "!!binary ZZZ",
    "!!timestamp 2026-13-45",
    "!!set {a, b}",
    "{? [a, b]: c}",
    '"\\x07\\x1b[31m"',
    "\x07",
    "\x1b[31m",
    "[]",
    "{}",
    "~",
    "'" + "x" * 10000 + "'",
    "2000000000000000000000000000000",
    "100000h",
    "-5",
    "[no-such-knob]",
]


def _load(tmp_path: Path, text: str) -> Profile | ProfileError:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        return load_profile(path)
    except ProfileError as err:
        assert str(path) in str(err)  # every problem names the file
        return err


@st.composite
def mutated_profile(draw: st.DrawFn) -> str:
    lines = list(BASE_LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        line = lines[index]
        action = draw(st.sampled_from(["value", "flip", "cut", "insert"]))
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[index] = f"{key}: {draw(st.sampled_from(HOSTILE_VALUES))}\n"
        elif action == "flip" and line:
            at = draw(st.integers(min_value=0, max_value=len(line) - 1))
            lines[index] = line[:at] + draw(st.characters(codec="utf-8")) + line[at + 1 :]
        elif action == "cut":
            lines[index] = line[: draw(st.integers(min_value=0, max_value=len(line)))]
        else:
            lines.insert(index, draw(st.text(max_size=40)) + "\n")
    return "".join(lines)


@SETTINGS
@given(text=mutated_profile())
def test_a_mutated_profile_loads_or_is_a_profile_error(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


@SETTINGS
@given(text=st.text(max_size=300))
def test_random_text_loads_or_is_a_profile_error(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


def _bomb(levels: int = 9) -> str:
    """The "billion laughs": 9 levels of 9 aliases each, about 5 KiB of text."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "text", "line", "says"),
    [
        ("alias bomb", _bomb(), 2, "aliases are not accepted"),
        ("deep nesting", "device:\n  description: " + "[" * 300 + "]" * 300 + "\n", 2, f"more than {MAX_NESTING}"),
        ("control character", BASE.replace("description: ", "description: \x07", 1), 7, "U+0007 is not allowed"),
        ("huge integer", BASE.replace("retry_limit: 3", "retry_limit: " + "9" * 4301), None, "4301 digits"),
        ("retry limit", BASE.replace("retry_limit: 3", "retry_limit: 1000000"), None, "from 0 to 255"),
        ("week-long budget", BASE.replace("join: 2m", "join: 168h"), 66, "at most 24h"),
        ("unknown knob", BASE.replace("faults: []", "faults: [stall-after-blok]"), None, "unknown fault knob"),
    ],
)
def test_each_measured_attack_is_exit_2_with_file_line_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, line: int | None, says: str
) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.monotonic()
    assert harness.cli.main(["run", "--profile", str(path), "--dry-run"]) == 2, name
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert (f"{path}:{line}:" if line else f"{path}:") in err
    assert time.monotonic() - started < 10  # the bomb took 138 s before
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB; it took 5.6 GB


@pytest.mark.parametrize("kind", ["fifo", "directory", "device", "sparse"])
def test_a_profile_that_is_not_a_small_regular_file_is_refused_unread(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "profile.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # opening it for reading would block forever without O_NONBLOCK
    elif kind == "directory":
        path.mkdir()
    elif kind == "device":
        path = Path("/dev/zero")
    else:
        with path.open("wb") as sparse:
            sparse.truncate(2 << 30)
    with pytest.raises(ProfileError, match="refused unread"):
        load_profile(path)


def test_a_vendor_device_class_brings_its_own_knobs(tmp_path: Path) -> None:
    text = BASE.replace("faults: []", "faults: [vendor-knob]").replace(
        "device_class: null", "device_class: tests.profile.vendor_knobs:VendorDevice", 1
    )
    loaded = _load(tmp_path, text)
    assert isinstance(loaded, Profile), loaded
    refused = _load(tmp_path, text.replace("[vendor-knob]", "[accept-downgrade]"))
    assert isinstance(refused, ProfileError) and "of the ppmid device tests.profile.vendor_knobs:VendorDevice" in str(
        refused
    )
