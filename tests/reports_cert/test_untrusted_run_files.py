"""Property tests: random and mutated statements and manifests through `report` and `verify` (issue 14).

A run directory is a file a test house may receive from anyone. Whatever ``conformance.json`` or
``manifest.json`` holds, the commands end with an exit code of the README's table (report: 0 written, 2
unusable; verify: 0 valid, 1 invalid, 2 unusable) and never with a traceback: any other exception escapes
``harness.cli.main`` and fails the test. Bounded examples keep it to seconds in CI.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.cli
from harness.reports.manifest import MANIFEST_NAME
from harness.reports.statement import STATEMENT_NAME

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Any JSON value, small.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)
#: Text a forger would try: terminal escapes, a name past 255 octets, odd code points, a NUL.
NASTY_TEXT = st.sampled_from(
    ["\x1b]0;title\x07\x1b[31mred", "a" * 300, "../../etc/passwd", "x\x00y", "\udcff", "é/☃", "", "/abs", "a/" * 200]
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document (the root excluded), as a key/index path."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, inner in items:
        yield (*prefix, key)
        yield from _paths(inner, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with one to three places replaced, deleted or emptied."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        places = list(_paths(doc))
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "nasty", "delete", "empty"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "empty":
            parent[path[-1]] = type(parent[path[-1]])() if isinstance(parent[path[-1]], list | dict | str) else None
        else:
            parent[path[-1]] = draw(JSON_VALUES if action == "replace" else NASTY_TEXT)
    return doc


def _main(*argv: str | Path) -> int:
    """The CLI in-process, its output swallowed; an exception other than the CLI's own handling fails."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = harness.cli.main([str(a) for a in argv])
    assert "Traceback" not in err.getvalue()
    return code


@pytest.fixture(scope="module")
def statement_document(fake_run_template: Path) -> dict[str, Any]:
    return json.loads((fake_run_template / STATEMENT_NAME).read_text(encoding="utf-8"))


def _report_exit(tmp_path: Path, template: Path, text: str) -> int:
    run_dir = tmp_path / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(template, run_dir)
    (run_dir / STATEMENT_NAME).write_text(text, encoding="utf-8", errors="surrogatepass")
    return _main("report", run_dir, "--no-pdf")


@SETTINGS
@given(data=st.data())
def test_report_on_a_mutated_statement_writes_it_or_exits_2(
    tmp_path: Path, fake_run_template: Path, statement_document: dict[str, Any], data: st.DataObject
) -> None:
    document = data.draw(mutated(statement_document))
    assert _report_exit(tmp_path, fake_run_template, json.dumps(document)) in (0, 2)


@SETTINGS
@given(document=JSON_VALUES, cut=st.integers(min_value=0, max_value=4000))
def test_report_on_a_random_or_cut_statement_exits_2(
    tmp_path: Path, fake_run_template: Path, statement_document: dict[str, Any], document: Any, cut: int
) -> None:
    if isinstance(document, dict):
        document["format"] = statement_document["format"]
    assert _report_exit(tmp_path, fake_run_template, json.dumps(document)) == 2
    assert _report_exit(tmp_path, fake_run_template, json.dumps(statement_document)[:cut]) == 2


def test_report_names_the_field_it_cannot_use(tmp_path: Path, fake_run: Path, capsys: pytest.CaptureFixture) -> None:
    document = json.loads((fake_run / STATEMENT_NAME).read_text(encoding="utf-8"))
    document["scenarios"][1]["verdict"] = "MAYBE"
    (fake_run / STATEMENT_NAME).write_text(json.dumps(document), encoding="utf-8")
    assert harness.cli.main(["report", str(fake_run), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert "field scenarios[1].verdict: expected one of" in err and "found 'MAYBE'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def manifest_document(signed_template: Path) -> dict[str, Any]:
    return json.loads((signed_template / MANIFEST_NAME).read_text(encoding="utf-8"))


@SETTINGS
@given(data=st.data())
def test_verify_on_a_mutated_manifest_exits_with_a_table_code(
    signed_run: Path, manifest_document: dict[str, Any], data: st.DataObject
) -> None:
    document = data.draw(mutated(manifest_document))
    (signed_run / MANIFEST_NAME).write_text(json.dumps(document), encoding="utf-8", errors="surrogatepass")
    assert _main("verify", signed_run) in (1, 2)  # the signature no longer matches: never 0


@SETTINGS
@given(document=JSON_VALUES, raw=st.binary(max_size=200))
def test_verify_on_a_random_manifest_exits_with_a_table_code(signed_run: Path, document: Any, raw: bytes) -> None:
    if isinstance(document, dict):
        document.setdefault("format", "gb-ota-conformance/manifest/2")
        document.setdefault("files", [{"path": "a" * 300}, {"path": 5}, "x"])
    (signed_run / MANIFEST_NAME).write_text(json.dumps(document), encoding="utf-8")
    assert _main("verify", signed_run) in (1, 2)
    (signed_run / MANIFEST_NAME).write_bytes(raw)
    assert _main("verify", signed_run) == 2


# -- symbolic links and other entries that are not regular files -------------------------------------------
def _tamper(run_dir: Path, how: str, outside: Path) -> str:
    """Put one entry that is not a regular file into ``run_dir``; returns its path relative to the run."""
    if how == "symlinked file":
        (run_dir / "certification.html").unlink()
        (run_dir / "certification.html").symlink_to(outside)
        return "certification.html"
    if how == "symlinked directory":
        (run_dir / "elsewhere").symlink_to(outside.parent)
        return "elsewhere"
    if how == "fifo":
        os.mkfifo(run_dir / "evidence" / "pipe")
        return "evidence/pipe"
    (run_dir / "evidence" / "empty").mkdir()
    return "evidence/empty"


TAMPERING = ["symlinked file", "symlinked directory", "fifo", "empty directory"]


@pytest.mark.parametrize("how", TAMPERING)
def test_verify_reports_every_entry_that_is_not_a_regular_file(
    tmp_path: Path, signed_run: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    outside = tmp_path / "outside.html"
    outside.write_text("not the run's")
    rel = _tamper(signed_run, how, outside)
    assert harness.cli.main(["verify", str(signed_run), "-q"]) == 1
    out = capsys.readouterr().out
    assert f"NOT_REGULAR {rel}" in out


@pytest.mark.parametrize("how", TAMPERING[:3])
def test_report_refuses_a_run_directory_with_a_link_and_writes_nothing_through_it(
    tmp_path: Path, fake_run: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    outside = tmp_path / "outside.html"
    outside.write_text("not the run's")
    (fake_run / "certification.html").write_text("old")
    rel = _tamper(fake_run, how, outside)
    assert harness.cli.main(["report", str(fake_run), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert f"{fake_run / rel} is " in err and "not followed" in err
    assert outside.read_text() == "not the run's"
    assert not (fake_run / "manifest.json").exists()


def test_spec_refuses_an_output_directory_with_a_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    victim = tmp_path / "victim.html"
    victim.write_text("kept")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").symlink_to(victim)
    assert harness.cli.main(["spec", "-o", str(site)]) == 2
    assert f"{site / 'index.html'} is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "kept"


def test_verify_prints_no_terminal_escape_from_a_manifest(signed_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads((signed_run / MANIFEST_NAME).read_text(encoding="utf-8"))
    document["run_id"] = "\x1b]0;owned\x07\x1b[2J"
    document["files"].append({"path": "\x1b[31m" + "a" * 300, "size": 1, "sha256": "0"})
    (signed_run / MANIFEST_NAME).write_text(json.dumps(document), encoding="utf-8")
    assert harness.cli.main(["verify", str(signed_run)]) == 1
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
