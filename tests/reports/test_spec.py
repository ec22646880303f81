"""The living specification's model and pages (harness.reports.spec) and `ota-conformance spec`.

The model is checked on small feature folders written here (gaps, verdict join, Background and Rule steps,
broken and absent files) and on the repository's own features, cross-checked against pytest-bdd's parser.
The browser checks of the rendered site are in tests/browser/.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
from pytest_bdd.parser import FeatureParser

from harness.cli import main
from harness.reports.features import features_hash
from harness.reports.spec import NOT_RUN, build_spec, render_pages, write_spec
from harness.reports.statement import RunInfo, ScenarioResult, build_statement, read_statement
from harness.requirements import Verification, load_catalogue, requirement_ids_from_tags
from harness.verdicts import Verdict

REPO_FEATURES = Path(__file__).resolve().parents[2] / "features"
CATALOGUE = load_catalogue()

ACTIVATION = """\
    @spec:ZCL-OTA-11.13
    Feature: Sample activation
      What the sample checks.

      Background:
        Given the PPMID has joined the Communications Hub's network

      @req:PZ-21 @pics:GB.OTA.C.UPGRADE_TIME_HOLD
      Scenario: The PPMID waits when told to
        Given the Communications Hub answers with UpgradeTime 0xFFFFFFFF
        When the PPMID downloads the image
        Then the PPMID still runs its old firmware version

      @req:PZ-21 @req:PZ-20 @pics:OTA.C.C03.Tx
      Scenario: The PPMID ignores another file
        When the PPMID downloads the image
        Then the PPMID still runs its old firmware version

      @req:PZ-27 @pics:OTA.C.C03.Tx
      Scenario Outline: The PPMID ignores a notify (<case>)
        When the Communications Hub broadcasts an Image Notify with jitter <jitter>
        Then the PPMID sends no Query Next Image Request

        Examples:
          | case   | jitter |
          | zero   | 0      |
          | over   | 101    |
    """

RULED = """\
    @pics:OTA.C
    Feature: Sample with a rule

      Background:
        Given the device has joined the HAN

      @req:CS-10
      Rule: Power loss
        Background:
          Given the device has downloaded the image

        @assumption
        Scenario: Power loss during activation
          When the device is power-cycled
          Then the device runs a valid image
            | version | state   |
            | old     | allowed |
    """


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def features(tmp_path: Path) -> Path:
    root = tmp_path / "features"
    _write(root, "ppmid/activation.feature", ACTIVATION)
    _write(root, "common/ruled.feature", RULED)
    return root


def _statement(features_dir: Path, results: list[ScenarioResult]) -> dict:
    """A conformance statement of the shape `ota-conformance run` writes (built by the same function)."""
    run = RunInfo(
        run_id="20260101T000000Z-abc123",
        suite_version="0.1.0",
        started_utc="2026-01-01T00:00:00+00:00",
        finished_utc="2026-01-01T00:00:10+00:00",
        features_hash=features_hash(features_dir),
        profile_path="profiles/emulated-ppmid.yaml",
        profile={},
        undeclared_pics=[],
        dut={"role": "ppmid"},
        radio="loopback",
        clock="virtual",
    )
    return json.loads(json.dumps(build_statement(run, results, CATALOGUE)))


def _result(feature: str, scenario: str, verdict: Verdict, rids: list[str], message: str = "") -> ScenarioResult:
    return ScenarioResult(
        nodeid=f"steps/test_features.py::{scenario}",
        feature=feature,
        scenario=scenario,
        requirement_ids=rids,
        tags=[f"req:{r}" for r in rids],
        verdict=verdict,
        message=message,
    )


# --- catalogue coverage and gaps -------------------------------------------------------------------------


def test_every_catalogue_requirement_is_in_the_model_and_on_the_index(features: Path) -> None:
    spec = build_spec(features)
    assert [r.id for r in spec.requirements] == list(CATALOGUE.ids)
    grouped = [r.id for _, _, reqs in spec.groups for r in reqs]
    assert sorted(grouped) == sorted(CATALOGUE.ids), "every requirement is in exactly one device group"
    assert [heading for _, heading, _ in spec.groups][:2] == ["PPMID", "HCALCS"]
    assert all(r.requirement.role.value == role for role, _, reqs in spec.groups for r in reqs)
    pages = render_pages(spec)
    for rid in CATALOGUE.ids:
        assert f'href="req-{rid}.html"' in pages["index.html"]
        assert f'data-requirement="{rid}"' in pages["matrix.html"]
        assert f"req-{rid}.html" in pages
    assert pages["matrix.html"].count("data-requirement=") == len(CATALOGUE)


def test_gaps_are_scenario_requirements_without_a_scenario(features: Path) -> None:
    spec = build_spec(features)
    gaps = {r.id for r in spec.gaps}
    covered = {"PZ-20", "PZ-21", "PZ-27", "CS-10"}
    expected = {r.id for r in CATALOGUE if r.verification is Verification.SCENARIO} - covered
    assert gaps == expected
    assert "PZ-23" in gaps and "PZ-21" not in gaps
    unit = spec.requirement("PZ-04")  # verified by a unit test of the suite's CH: never a gap
    assert not unit.is_gap and unit.verdict_label == "n/a" and unit.coverage == "unit-test"
    assert spec.requirement("PZ-23").verdict_label == "gap"
    matrix = render_pages(spec)["matrix.html"]
    gap_section = matrix[matrix.index('id="gaps"') :]
    assert 'href="req-PZ-23.html"' in gap_section and 'href="req-PZ-21.html"' not in gap_section


def test_with_no_features_every_scenario_requirement_is_a_gap(tmp_path: Path) -> None:
    spec = build_spec(tmp_path / "absent")
    assert spec.features == [] and spec.problems == []
    assert len(spec.gaps) == len(CATALOGUE.select(verification=Verification.SCENARIO))


# --- feature files ---------------------------------------------------------------------------------------


def test_scenarios_carry_background_steps_tags_and_examples(features: Path) -> None:
    spec = build_spec(features)
    waits = next(s for s in spec.scenarios if s.name == "The PPMID waits when told to")
    assert [(st.keyword, st.text) for st in waits.background] == [
        ("Given", "the PPMID has joined the Communications Hub's network")
    ]
    assert [st.keyword for st in waits.steps] == ["Given", "When", "Then"]
    assert waits.requirement_ids == ("PZ-21",)
    assert "spec:ZCL-OTA-11.13" in waits.tags, "feature tags are inherited"
    assert waits.pics == ("pics:GB.OTA.C.UPGRADE_TIME_HOLD",)
    outline = next(s for s in spec.scenarios if s.keyword == "Scenario Outline")
    assert outline.examples[0].header == ("case", "jitter")
    assert outline.examples[0].rows == (("zero", "0"), ("over", "101"))
    assert ("<jitter>", True) in outline.steps[0].parts
    ruled = next(s for s in spec.scenarios if s.name == "Power loss during activation")
    assert ruled.rule == "Power loss" and ruled.assumption and ruled.requirement_ids == ("CS-10",)
    assert [st.text for st in ruled.background] == [
        "the device has joined the HAN",
        "the device has downloaded the image",
    ]
    assert ruled.steps[1].table == (("version", "state"), ("old", "allowed"))
    pz21 = spec.requirement("PZ-21")
    assert [s.name for s in pz21.scenarios] == ["The PPMID waits when told to", "The PPMID ignores another file"]


def test_requirement_page_shows_text_clause_confidence_and_steps(features: Path) -> None:
    spec = build_spec(features)
    page = render_pages(spec)["req-PZ-21.html"]
    req = CATALOGUE.get("PZ-21")
    assert req.text.split()[0] in page and req.source.replace("&", "&amp;") in page
    assert "Given</span> the Communications Hub answers with UpgradeTime 0xFFFFFFFF" in page
    assert 'class="background"' in page and "the PPMID has joined the Communications Hub&#39;s network" in page
    assert 'class="badge pics"' in page and 'href="req-PZ-20.html"' in page  # tags as badges, req tags link
    unit_page = render_pages(spec)["req-PZ-04.html"]
    assert CATALOGUE.get("PZ-04").assumption.split()[0] in unit_page and "unit tests check it" in unit_page


def test_broken_partial_and_unknown_features_become_problems_not_crashes(features: Path) -> None:
    _write(features, "hcalcs/half-written.feature", "Feature: H\n  Scenario: x\n    Given a\n  Background:\n")
    _write(features, "hcalcs/empty.feature", "# the lead is still writing this one\n")
    _write(
        features,
        "hcalcs/unknown.feature",
        "Feature: U\n  @req:HG-99 @pics:OTA.C\n  Scenario: y\n    Given a\n",
    )
    spec = build_spec(features)
    by_path = {p.path: p.message for p in spec.problems}
    assert "not shown" in by_path["hcalcs/half-written.feature"]
    assert "no 'Feature:'" in by_path["hcalcs/empty.feature"]
    assert "HG-99" in by_path["hcalcs/unknown.feature"]
    assert {f.path for f in spec.features} == {
        "common/ruled.feature",
        "ppmid/activation.feature",
        "hcalcs/unknown.feature",
    }
    assert 'id="problems"' in render_pages(spec)["index.html"]


def test_repository_features_match_pytest_bdds_own_reading() -> None:
    """Each scenario pytest-bdd would run is on the site with the same requirements and steps."""
    spec = build_spec(REPO_FEATURES)
    shown = {(f.path, s.name): s for f in spec.features for s in f.scenarios}
    broken = {p.path for p in spec.problems if p.message.startswith("not shown")}
    for path in sorted(REPO_FEATURES.rglob("*.feature")):
        relative = path.relative_to(REPO_FEATURES).as_posix()
        try:
            feature = FeatureParser(str(REPO_FEATURES), relative).parse()
        except Exception:  # a file being written: pytest-bdd cannot read it either
            assert relative in broken
            continue
        for name, template in feature.scenarios.items():
            scenario = shown[(relative, name)]
            tags = set(template.tags) | set(feature.tags) | (set(template.rule.tags) if template.rule else set())
            assert list(scenario.requirement_ids) == requirement_ids_from_tags(tags), name
            assert [st.text for st in (*scenario.background, *scenario.steps)] == [st.name for st in template.steps]
    assert len(shown) == sum(len(f.scenarios) for f in spec.features)


# --- a run's verdicts ------------------------------------------------------------------------------------


def test_verdicts_join_by_feature_and_scenario_name(features: Path) -> None:
    results = [
        _result("Sample activation", "The PPMID waits when told to", Verdict.PASS, ["PZ-21"]),
        _result("Sample activation", "The PPMID ignores another file", Verdict.FAIL, ["PZ-20", "PZ-21"], "boom"),
        _result("Sample activation", "The PPMID ignores a notify (<case>)", Verdict.PASS, ["PZ-27"]),
        _result("Sample activation", "The PPMID ignores a notify (<case>)", Verdict.INCONCLUSIVE, ["PZ-27"]),
        _result("Removed feature", "A scenario since deleted", Verdict.PASS, ["PZ-13"]),
    ]
    spec = build_spec(features, statement=_statement(features, results), run_path="reports/x")
    assert spec.run is not None and spec.run.same_features and spec.run.run_id == "20260101T000000Z-abc123"
    assert spec.run.unmatched == ("Removed feature: A scenario since deleted",)
    verdicts = {s.name: (s.verdict, s.runs) for s in spec.scenarios}
    assert verdicts["The PPMID waits when told to"] == ("PASS", 1)
    assert verdicts["The PPMID ignores another file"] == ("FAIL", 1)
    assert verdicts["The PPMID ignores a notify (<case>)"] == ("INCONCLUSIVE", 2), "outline rows combine"
    assert verdicts["Power loss during activation"] == (None, 0)
    assert spec.requirement("PZ-21").verdict == "FAIL", "one failing scenario fails the requirement"
    assert spec.requirement("PZ-27").verdict == "INCONCLUSIVE"
    assert spec.requirement("CS-10").verdict_label == NOT_RUN
    assert spec.requirement("PZ-13").verdict_label == "gap", "a result for a deleted scenario is no coverage"
    pages = render_pages(spec)
    row = re.search(r'<tr id="row-PZ-21".*?</tr>', pages["matrix.html"], re.S)
    assert row is not None and "verdict FAIL" in row.group(0)
    assert "boom" in pages["req-PZ-21.html"]


def test_the_matrix_shows_the_step_level_attribution_of_a_fail(features: Path) -> None:
    """A FAIL counts for the requirements its failing step checks: PZ-20 and PZ-21 keep PASS (decided before
    the failing step), and PZ-24, which the step checks but the scenario does not tag, shows the FAIL."""
    failing = _result("Sample activation", "The PPMID ignores another file", Verdict.FAIL, ["PZ-20", "PZ-21"], "boom")
    failing.failed_requirements = ["PZ-24"]
    failing.failure_attribution = {"requirements": ["PZ-24"], "rule": "step", "note": "PZ-24: the step's own"}
    spec = build_spec(features, statement=_statement(features, [failing]), run_path="reports/x")
    assert spec.requirement("PZ-24").verdict == "FAIL"
    assert spec.requirement("PZ-24").attributed_by_step == ("The PPMID ignores another file",)
    assert spec.requirement("PZ-20").verdict == "PASS" and spec.requirement("PZ-21").verdict == "PASS"
    row = re.search(r'<tr id="row-PZ-24".*?</tr>', render_pages(spec)["matrix.html"], re.S)
    assert row is not None and "failed by a step that checks it" in row.group(0) and "verdict FAIL" in row.group(0)


def test_without_a_run_every_scenario_requirement_is_not_run(features: Path) -> None:
    spec = build_spec(features)
    assert spec.run is None
    assert spec.requirement("PZ-21").verdict_label == NOT_RUN
    assert "No run was given" in render_pages(spec)["index.html"]


def test_a_run_of_other_feature_text_is_flagged(features: Path) -> None:
    statement = _statement(features, [])
    statement["run"]["features_hash"] = "0" * 64
    spec = build_spec(features, statement=statement)
    assert spec.run is not None and not spec.run.same_features
    assert "other feature text" in render_pages(spec)["index.html"]


# --- scope and page hygiene ------------------------------------------------------------------------------


def test_ihds_are_stated_out_of_scope_on_the_index(features: Path) -> None:
    spec = build_spec(features)
    assert any("IHD" in item and "BR-7" in item for item in spec.out_of_scope)
    index = render_pages(spec)["index.html"]
    scope = index[index.index('<section id="scope">') : index.index("</section>", index.index('id="scope"'))]
    assert "Out of scope" in scope and "In-home displays (IHDs)" in scope


def test_pages_are_self_contained_with_relative_links_and_no_script(features: Path) -> None:
    pages = render_pages(build_spec(features))
    for name, html in pages.items():
        assert "<script" not in html.lower(), name
        assert "<style>" in html, name
        for target in re.findall(r'(?:href|src)="([^"]*)"', html):
            if target == "data:,":  # the empty inline favicon (stops a browser asking for /favicon.ico)
                continue
            assert not re.match(r"^(?:[a-z]+:|/)", target), f"{name}: {target} is not a relative link"
            page = target.partition("#")[0]
            assert not page or page in pages, f"{name} links to missing page {target}"


# --- the CLI ---------------------------------------------------------------------------------------------


def test_cli_writes_the_site_and_shows_a_runs_verdicts(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "reports" / "run1"
    run_dir.mkdir(parents=True)
    results = [_result("Sample activation", "The PPMID waits when told to", Verdict.PASS, ["PZ-21"])]
    (run_dir / "conformance.json").write_text(json.dumps(_statement(features, results)))
    out = tmp_path / "site"
    code = main(["spec", "-o", str(out), "--run", str(run_dir), "--features", str(features)])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    assert (out / "index.html").is_file() and (out / "matrix.html").is_file() and (out / "req-PZ-21.html").is_file()
    assert "verdict PASS" in (out / "req-PZ-21.html").read_text()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no conformance.json"),
        ("{not json", "is not JSON"),
        ('{"format": "something/else"}', "expected a conformance statement of format"),
    ],
)
def test_cli_refuses_a_bad_run_dir_with_exit_2(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    if content is not None:
        (run_dir / "conformance.json").write_text(content)
    code = main(["spec", "-o", str(tmp_path / "site"), "--run", str(run_dir), "--features", str(features)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "site").exists(), "nothing is written when the run cannot be read"


def test_cli_refuses_a_missing_features_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["spec", "-o", str(tmp_path / "site"), "--features", str(tmp_path / "nope")])
    assert code == 2 and "not a directory" in capsys.readouterr().err


def test_cli_usage_error_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["spec"])
    assert exit_info.value.code == 2 and "-o/--output" in capsys.readouterr().err


def test_read_statement_accepts_a_real_statement(features: Path, tmp_path: Path) -> None:
    (tmp_path / "conformance.json").write_text(json.dumps(_statement(features, [])))
    assert read_statement(tmp_path)["format"].startswith("gb-ota-conformance/statement/")
    write_spec(build_spec(features, statement=read_statement(tmp_path)), tmp_path / "site")
    assert (tmp_path / "site" / "index.html").is_file()
