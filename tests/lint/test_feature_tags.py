"""Feature files follow the tag convention (harness.requirements.catalogue), and the lint catches each breach.

The first test applies the lint to the repository's ``features/``; the others prove, on small sample feature
files, that every rule fires (so a clean result on the repository means something, even with few features).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pytest_bdd import parsers
from pytest_bdd.parser import FeatureParser

import steps
from harness.bdd.checks import StepDefinition, StepDefinitions, checks, declared_requirements
from harness.requirements import (
    lint_feature_file,
    lint_features,
    lint_step_declarations,
    parse_tags,
    requirement_ids_from_tags,
)

FEATURES = Path(__file__).resolve().parents[2] / "features"


def test_repository_features_follow_the_tag_convention() -> None:
    problems = lint_features(FEATURES, steps=StepDefinitions.registered(steps.STEP_MODULES))
    assert not problems, "feature tag problems:\n" + "\n".join(map(str, problems))


def test_every_then_step_of_the_library_declares_catalogue_requirements_it_can_check() -> None:
    library = StepDefinitions.registered(steps.STEP_MODULES)
    thens = [d for d in library.definitions if d.type == "then"]
    assert len(thens) > 40 and all(d.requirements for d in thens), [d.name for d in thens if not d.requirements]
    assert lint_step_declarations(library) == []


def _definition(step_type: str, text: str, *requirements: str) -> StepDefinition:
    def step() -> None: ...

    return StepDefinition(
        step_type, parsers.parse(text), checks(*requirements)(step) if requirements else step, requirements
    )


STEP_LEVEL = """\
    @pics:OTA.C
    Feature: Step-level sample

      Background:
        Given the device has joined the HAN

      @req:PZ-13 @req:PZ-11
      Scenario: A tag no step checks
        When the image is served
        Then the device sends Upgrade End Request SUCCESS

      @req:PZ-13
      Scenario: A Then that declares nothing, and a sentence nobody defined
        When the image is served
        Then the device sends Upgrade End Request SUCCESS
        And the device is happy
        And something nobody wrote a step for
"""


def test_step_level_rules_find_unchecked_tags_undeclared_thens_and_undefined_steps(tmp_path: Path) -> None:
    library = StepDefinitions(
        [
            _definition("given", "the device has joined the HAN"),
            _definition("when", "the image is served"),
            _definition("then", "the device sends Upgrade End Request SUCCESS", "PZ-13"),
            _definition("then", "the device is happy"),
        ]
    )
    found = [(p.line, p.code) for p in lint_feature_file(_write(tmp_path, STEP_LEVEL), steps=library)]
    assert found == [(8, "unchecked-requirement"), (16, "undeclared-step"), (17, "undefined-step")]
    assert lint_feature_file(_write(tmp_path, STEP_LEVEL)) == []  # without the library: tag rules only


def test_checks_declares_on_the_function_and_refuses_an_empty_declaration() -> None:
    @checks("PZ-13", "CS-07")
    def step() -> None: ...

    assert declared_requirements(step) == ("PZ-13", "CS-07") and declared_requirements(lambda: None) == ()
    with pytest.raises(ValueError, match="at least one"):
        checks()
    bad = StepDefinitions([_definition("then", "x", "PZ-99"), _definition("then", "y", "PZ-05")])
    problems = lint_step_declarations(bad)
    assert any("PZ-99" in p and "not in the catalogue" in p for p in problems)
    assert any("PZ-05" in p and "no device scenario" in p for p in problems)


def _write(tmp_path: Path, text: str, folder: str = "common") -> Path:
    path = tmp_path / "features" / folder / "sample.feature"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


CLEAN = """\
    @pics:OTA.C
    Feature: Clean sample

      Background:
        Given the device has joined the HAN

      @req:PZ-13 @spec:ZCL-OTA-6.10.8
      Scenario: Upgrade End SUCCESS only after the whole image
        When the image is served
        Then the device sends Upgrade End Request SUCCESS

      Rule: Inferred behaviour is marked
        @req:PZ-26 @pics:GB.OTA.C.RESUME_DOWNLOAD @assumption
        Scenario: An interrupted download completes
          When the download is interrupted
          Then it completes later

      @req:PZ-09 @pics:!GB.DEVICE.SLEEPY
      Scenario Outline: WAIT_FOR_DATA of <seconds> s is honoured
        When the CH answers WAIT_FOR_DATA for <seconds> s
        Then the next request comes no earlier

        @slow
        Examples:
          | seconds |
          | 5       |
"""


def test_clean_sample_has_no_problems(tmp_path) -> None:
    assert lint_feature_file(_write(tmp_path, CLEAN, "ppmid")) == []


def test_declared_pics_waives_the_assumption_tag(tmp_path) -> None:
    text = """\
        Feature: HCALCS alert
          @req:HG-19 @pics:GB.HCALCS.ALERT_8F43
          Scenario: 0x8F43 after activation
            Then the HCALCS raises 0x8F43
    """
    assert lint_feature_file(_write(tmp_path, text, "hcalcs")) == []
    negated = text.replace("@pics:GB.HCALCS.ALERT_8F43", "@pics:!GB.HCALCS.ALERT_8F43")
    assert lint_feature_file(_write(tmp_path, negated, "hcalcs")) == []
    other_pics = text.replace("@pics:GB.HCALCS.ALERT_8F43", "@pics:GB.HCALCS.CS06")
    assert [p.code for p in lint_feature_file(_write(tmp_path, other_pics, "hcalcs"))] == ["missing-assumption"]


SCENARIO = """\
    Feature: Sample
      {tags}
      Scenario: One
        Then something is checked
"""


@pytest.mark.parametrize(
    ("tags", "folder", "codes", "fragment"),
    [
        ("@pics:OTA.C", "common", ["missing-req"], "no @req:<ID> tag"),
        ("@req:PZ-13", "common", ["missing-pics"], "no @pics:<ITEM> tag"),
        (
            "@req:PZ-99 @pics:OTA.C",
            "common",
            ["unknown-requirement"],
            "PZ-99 is not in the requirement catalogue",
        ),
        ("@req:pz-13 @pics:OTA.C", "common", ["bad-tag"], "a requirement ID looks like PZ-13"),
        ("@req:PZ-05 @pics:OTA.C", "common", ["not-device-requirement"], "PZ-05 binds 'ch', not the device"),
        ("@req:CS-01 @pics:OTA.C", "common", ["not-device-requirement"], "binds 'suite-format'"),
        ("@req:PZ-01 @pics:OTA.C", "common", ["not-device-requirement"], "binds 'dcc'"),
        (
            "@req:CS-13 @pics:OTA.C",
            "common",
            ["not-scenario-requirement"],
            "CS-13 is not testable by a scenario",
        ),
        ("@req:PZ-14 @pics:OTA.C", "common", ["missing-assumption"], "PZ-14 has confidence I"),
        ("@req:CS-20 @pics:OTA.C", "common", ["missing-assumption"], "CS-20 has confidence U"),
        ("@req:HG-09 @pics:GB.HCALCS.CS06", "ppmid", ["wrong-device"], "HG-09 does not apply to a ppmid"),
        ("@req:PZ-13 @pics:OTA.C", "hcalcs", ["wrong-device"], "PZ-13 does not apply to a hcalcs"),
        ("@req:PZ-13 @pics:NO.SUCH.ITEM", "common", ["bad-tag"], "unknown PICS item"),
        (
            "@req:PZ-13 @pics:not-OTA.C",
            "common",
            ["bad-tag"],
            "negate a PICS item with '!', e.g. @pics:!OTA.C",
        ),
        ("@req:PZ-13 @pics:OTA.C @spec:", "common", ["bad-tag"], "give the clause"),
        (
            "@req:PZ-13 @pics:OTA.C @reqs:PZ-13",
            "common",
            ["bad-tag"],
            "unknown tag namespace in '@reqs:PZ-13'",
        ),
    ],
)
def test_each_rule_fires(tmp_path, tags: str, folder: str, codes: list[str], fragment: str) -> None:
    problems = lint_feature_file(_write(tmp_path, SCENARIO.format(tags=tags), folder))
    assert [p.code for p in problems] == codes
    assert fragment in problems[0].message


def test_structural_rules(tmp_path) -> None:
    text = """\
        @pics:OTA.C
        Feature: Structure
          @req:PZ-13
          Scenario: Same name
            Then a

          @req:PZ-11
          Scenario: Same name
            Then b

          @req:PZ-12
          Scenario: No steps

          @req:PZ-20
          Scenario Outline: Outline <n>
            Then <n>

            @req:PZ-21 @pics:OTA.C.C03.Tx
            Examples:
              | n |
              | 1 |
    """
    path = _write(tmp_path, text)
    found = [(p.line, p.code) for p in lint_feature_file(path)]
    assert found == [(8, "duplicate-scenario"), (12, "no-steps"), (18, "examples-tag"), (18, "examples-tag")]
    # requirement tags on Examples are still checked against the catalogue
    bad_examples = path.read_text().replace("@req:PZ-21", "@req:PZ-98")
    path.write_text(bad_examples)
    assert "unknown-requirement" in {p.code for p in lint_feature_file(path)}


def test_unreadable_files_are_problems_not_crashes(tmp_path) -> None:
    empty = tmp_path / "empty.feature"
    empty.write_text("# only a comment\n")
    assert [(p.line, p.code) for p in lint_feature_file(empty)] == [(1, "no-feature")]
    broken = tmp_path / "broken.feature"
    broken.write_text("Scenario: a\n  Given b\n")
    ((line, code, message),) = [(p.line, p.code, p.message) for p in lint_feature_file(broken)]
    assert (line, code) == (1, "parse-error") and "missing Feature section" in message


def test_lint_features_walks_a_tree_and_formats_problems(tmp_path) -> None:
    assert lint_features(tmp_path) == []  # no feature files: nothing to complain about
    path = _write(tmp_path, SCENARIO.format(tags="@pics:OTA.C"), "ppmid/negative")
    (problem,) = lint_features(tmp_path / "features")
    assert problem.path == path and problem.line == 3
    assert str(problem) == f"{path}:3: the scenario has no @req:<ID> tag [missing-req]"


def test_pytest_bdd_exposes_the_same_tags(tmp_path) -> None:
    """pytest-bdd 9 strips '@', keeps 'req:PZ-13' whole, and gives each scenario feature|rule|own tags."""
    path = _write(tmp_path, CLEAN, "ppmid")
    feature = FeatureParser(str(path.parent), path.name).parse()
    seen = {}
    for scenario in feature.scenarios.values():
        rule_tags = scenario.rule.tags if scenario.rule else set()
        tags = scenario.tags | feature.tags | rule_tags
        seen[scenario.name] = (
            requirement_ids_from_tags(tags),
            parse_tags(tags).pics,
            parse_tags(tags).assumption,
        )
    assert seen == {
        "Upgrade End SUCCESS only after the whole image": (["PZ-13"], ("pics:OTA.C",), False),
        "An interrupted download completes": (
            ["PZ-26"],
            ("pics:GB.OTA.C.RESUME_DOWNLOAD", "pics:OTA.C"),
            True,
        ),
        "WAIT_FOR_DATA of <seconds> s is honoured": (
            ["PZ-09"],
            ("pics:!GB.DEVICE.SLEEPY", "pics:OTA.C"),
            False,
        ),
    }


NEEDS_SAMPLE = """\
    Feature: Needs
      Background:
        Given the Communications Hub holds a valid image of a lower firmware version

      {tags}
      Scenario: One
        Given the Communications Hub holds the image variant "wrong-magic" of the next firmware version
        When the PPMID is power-cycled
        Then something is checked
"""


@pytest.mark.parametrize(
    ("needs", "problems"),
    [
        ("@needs:image:older @needs:variant:wrong-magic @needs:power-cycle", []),
        (
            "@needs:variant:wrong-magic",
            [
                ("missing-needs", "a step needs image:older: tag the scenario @needs:image:older"),
                ("missing-needs", "a step needs power-cycle: tag the scenario @needs:power-cycle"),
            ],
        ),
        (
            "@needs:image:older @needs:variant:wrong-magic @needs:power-cycle @needs:rogue-node",
            [("unused-needs", "@needs:rogue-node is declared, but no step of the scenario needs it")],
        ),
        (
            "@needs:image:older @needs:variant:wrong-magic @needs:power-cycle @needs:image:newest",
            [("bad-tag", "'@needs:image:newest': unknown need 'image:newest'; known: image:older")],
        ),
        (
            "@needs:image:older @needs:variant:wrong-magic @needs:power-cycle @needs:variant:no-such",
            [("bad-tag", "'no-such' is not an image variant")],
        ),
    ],
)
def test_needs_tags_agree_with_the_steps_background_included(tmp_path, needs: str, problems) -> None:
    tags = f"@req:PZ-13 @pics:OTA.C {needs}"
    found = lint_feature_file(_write(tmp_path, NEEDS_SAMPLE.format(tags=tags), "ppmid"))
    assert len(found) == len(problems)
    for problem, (code, fragment) in zip(found, problems, strict=True):
        assert problem.code == code and fragment in problem.message, problem
