"""The living specification: a static site of the requirements and the scenarios that test them.

Why: a regulator reads what the suite checks without reading Python. The site is built from the two sources
of truth the suite itself runs on -- the requirement catalogue (``harness.requirements``) and the feature
files, parsed with the Gherkin parser pytest-bdd runs them with -- so it cannot drift from what is executed.
With a run's ``conformance.json`` it also shows each scenario's and requirement's latest verdict.

``build_spec`` makes the model (plain dataclasses, no HTML), ``write_spec`` renders it with the Jinja2
templates under ``templates/spec/`` into self-contained pages (inline CSS, relative links, no script).
A feature file that does not parse (e.g. one being written) is listed as a problem, never a crash.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.gherkin_parser import Background as GherkinBackground
from pytest_bdd.gherkin_parser import Scenario as GherkinScenario
from pytest_bdd.gherkin_parser import Step as GherkinStep
from pytest_bdd.gherkin_parser import Tag as GherkinTag
from pytest_bdd.gherkin_parser import get_gherkin_document

from harness.errors import UsageError
from harness.files import write_regular
from harness.reports.evidence_paths import scenario_run_name
from harness.reports.features import feature_files, features_hash
from harness.reports.statement import render_html
from harness.reports.text import plain
from harness.requirements import Catalogue, Requirement, Role, Verification, load_catalogue, parse_tags
from harness.verdicts import Verdict, combine_verdicts

#: The device groups of the site, in order: (role, heading).
GROUPS: tuple[tuple[Role, str], ...] = (
    (Role.PPMID, "PPMID"),
    (Role.HCALCS, "HCALCS"),
    (Role.COMMON, "Common (PPMID and HCALCS)"),
)

#: What the suite deliberately does not cover, stated on the index page.
OUT_OF_SCOPE: tuple[str, ...] = (
    "In-home displays (IHDs): SECMP0007 dropped them (business requirement BR-7), so no requirement, "
    "feature or scenario of this suite applies to an IHD.",
    "DCC / DSP service-request handling (requirements that bind the DCC): nothing of it reaches the HAN, so "
    "these requirements are listed for completeness and marked not testable here.",
)

#: What each confidence tag of the catalogue means, in a reader's words.
CONFIDENCE_MEANING: Mapping[str, str] = {
    "C": "confirmed from the cited public source",
    "C-data": "confirmed by decoding or verifying public sample data",
    "R": "from a reputable implementation that cites the clause",
    "I": "inferred: a design assumption, not a fact of the specification",
    "U": "an open question",
}

NOT_RUN = "not run"
_PLACEHOLDER = re.compile(r"(<[^<>]+>)")


# --- model ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecStep:
    """One Gherkin step as written (keyword as in the file: Given/When/Then/And/But)."""

    keyword: str
    text: str
    table: tuple[tuple[str, ...], ...] = ()
    docstring: str | None = None

    @property
    def parts(self) -> list[tuple[str, bool]]:
        """The text cut at ``<placeholder>`` marks of a Scenario Outline: (text, is_placeholder) pieces."""
        return [(piece, bool(_PLACEHOLDER.fullmatch(piece))) for piece in _PLACEHOLDER.split(self.text) if piece]


@dataclass(frozen=True)
class Examples:
    """One Examples block of a Scenario Outline."""

    name: str
    tags: tuple[str, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass
class SpecScenario:
    """A scenario with everything a reader needs: its Background, steps, tags and latest verdict."""

    feature_name: str
    feature_page: str  # file name of the feature's page
    anchor: str  # element id on the feature page
    keyword: str  # Scenario, Scenario Outline, Example, ...
    name: str
    description: str
    line: int
    tags: tuple[str, ...]  # effective tags (feature, rule, scenario), without "@", sorted
    requirement_ids: tuple[str, ...]
    pics: tuple[str, ...]
    specs: tuple[str, ...]
    assumption: bool
    other_tags: tuple[str, ...]
    rule: str | None
    background: tuple[SpecStep, ...]
    steps: tuple[SpecStep, ...]
    examples: tuple[Examples, ...]
    verdict: str | None = None  # None: not in the run (or no run given)
    runs: int = 0  # executions in the run (an outline runs once per example row)
    messages: tuple[str, ...] = ()

    @property
    def href(self) -> str:
        return f"{self.feature_page}#{self.anchor}"


@dataclass
class SpecFeature:
    """One feature file."""

    path: str  # relative to the features folder, POSIX
    page: str
    name: str
    description: str
    tags: tuple[str, ...]
    background: tuple[SpecStep, ...]
    scenarios: list[SpecScenario]


@dataclass(frozen=True)
class SpecProblem:
    """Something in the feature files the site could not show faithfully (the lint gives the full list)."""

    path: str
    line: int
    message: str


@dataclass
class SpecRequirement:
    """A catalogue requirement and what tests it."""

    requirement: Requirement
    scenarios: list[SpecScenario]
    #: The run's verdict for the requirement as the statement attributes it (step-level: a FAIL counts for the
    #: requirements its failing step checks), when a run is shown; and the scenarios whose FAIL a step
    #: attributed to this requirement although they do not tag it.
    run_verdict: str | None = None
    attributed_by_step: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.requirement.id

    @property
    def page(self) -> str:
        return requirement_page(self.requirement.id)

    @property
    def confidence_meaning(self) -> str:
        return CONFIDENCE_MEANING.get(self.requirement.confidence.value, "")

    @property
    def is_gap(self) -> bool:
        """A requirement a scenario should check, but none does yet."""
        return self.requirement.verification is Verification.SCENARIO and not self.scenarios

    @property
    def coverage(self) -> str:
        if self.is_gap:
            return "gap: no scenario yet"
        if self.requirement.verification is Verification.SCENARIO:
            return f"{len(self.scenarios)} scenario{'s' if len(self.scenarios) != 1 else ''}"
        return self.requirement.verification.value

    @property
    def scenarios_run(self) -> int:
        return sum(1 for s in self.scenarios if s.verdict is not None)

    @property
    def verdict(self) -> str | None:
        """The run's verdict for the requirement (the statement's step-level attribution); without one, the
        combined verdict of the scenarios that ran (None: none ran, or nothing to run)."""
        if self.run_verdict is not None:
            return self.run_verdict
        verdicts = [Verdict(s.verdict) for s in self.scenarios if s.verdict is not None]
        return combine_verdicts(verdicts).value if verdicts else None

    @property
    def verdict_label(self) -> str:
        """What the matrix shows in the verdict column."""
        if self.verdict is not None:
            return self.verdict
        if self.requirement.verification is not Verification.SCENARIO:
            return "n/a"
        return "gap" if self.is_gap else NOT_RUN


@dataclass(frozen=True)
class RunSummary:
    """The run whose verdicts the site shows."""

    path: str
    run_id: str
    suite_version: str
    finished_utc: str
    features_hash: str
    same_features: bool  # the run executed the feature text the site shows
    dut: Mapping[str, Any]
    totals: Mapping[str, int]
    overall: str | None
    unmatched: tuple[str, ...]  # scenarios of the run that no current feature file has


@dataclass
class LivingSpec:
    """The whole site's model."""

    catalogue: Catalogue
    features: list[SpecFeature]
    requirements: list[SpecRequirement]
    problems: list[SpecProblem]
    features_hash: str
    run: RunSummary | None = None
    out_of_scope: tuple[str, ...] = OUT_OF_SCOPE
    groups: list[tuple[str, str, list[SpecRequirement]]] = field(default_factory=list)  # (role, heading, reqs)

    @property
    def gaps(self) -> list[SpecRequirement]:
        return [r for r in self.requirements if r.is_gap]

    @property
    def scenarios(self) -> list[SpecScenario]:
        return [s for f in self.features for s in f.scenarios]

    def requirement(self, requirement_id: str) -> SpecRequirement:
        return next(r for r in self.requirements if r.id == requirement_id)


def requirement_page(requirement_id: str) -> str:
    return f"req-{requirement_id}.html"


def slug(text: str) -> str:
    """A readable id / file-name fragment: lowercase letters, digits and single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


# --- feature files --------------------------------------------------------------------------------------


def _steps(steps: Iterable[GherkinStep]) -> tuple[SpecStep, ...]:
    return tuple(
        SpecStep(
            keyword=step.keyword,
            text=step.text,
            table=tuple(tuple(str(c) for c in row) for row in step.datatable.raw()) if step.datatable else (),
            docstring=step.docstring.content if step.docstring else None,
        )
        for step in steps
    )


def _tag_names(tags: Iterable[GherkinTag]) -> list[str]:
    return [tag.name.removeprefix("@") for tag in tags]


def _background(background: GherkinBackground | None) -> tuple[SpecStep, ...]:
    return _steps(background.steps) if background is not None else ()


def _scenario(
    scenario: GherkinScenario,
    inherited_tags: list[str],
    background: tuple[SpecStep, ...],
    rule: str | None,
    feature_name: str,
    page: str,
    anchor: str,
) -> SpecScenario:
    tags = sorted({*inherited_tags, *_tag_names(scenario.tags)})
    sorted_tags = parse_tags(tags)
    return SpecScenario(
        feature_name=feature_name,
        feature_page=page,
        anchor=anchor,
        keyword=scenario.keyword,
        name=scenario.name,
        description=scenario.description.strip(),
        line=scenario.location.line,
        tags=tuple(tags),
        requirement_ids=sorted_tags.requirements,
        pics=sorted_tags.pics,
        specs=sorted_tags.specs,
        assumption=sorted_tags.assumption,
        other_tags=sorted_tags.other,
        rule=rule,
        background=background,
        steps=_steps(scenario.steps),
        examples=tuple(
            Examples(
                name=examples.name or "",
                tags=tuple(_tag_names(examples.tags)),
                header=tuple(c.value for c in examples.table_header.cells) if examples.table_header else (),
                rows=tuple(tuple(c.value for c in row.cells) for row in examples.table_body or ()),
            )
            for examples in scenario.examples
        ),
    )


def parse_feature(path: Path, features_dir: Path) -> SpecFeature:
    """One feature file as the site shows it. Raises GherkinParseError / KeyError as pytest-bdd's parser does."""
    relative = path.relative_to(features_dir).as_posix()
    document = get_gherkin_document(str(path.resolve()))
    feature = document.feature
    page = f"feature-{slug(relative.removesuffix('.feature'))}.html"
    feature_tags = _tag_names(feature.tags)
    feature_background: tuple[SpecStep, ...] = ()
    scenarios: list[SpecScenario] = []
    anchors: set[str] = set()

    def anchor_for(name: str) -> str:
        base = candidate = "s-" + slug(name)
        n = 2
        while candidate in anchors:
            candidate, n = f"{base}-{n}", n + 1
        anchors.add(candidate)
        return candidate

    for child in feature.children:
        if child.background is not None:
            feature_background = _background(child.background)
        elif child.scenario is not None:
            scenarios.append(
                _scenario(
                    child.scenario,
                    feature_tags,
                    feature_background,
                    None,
                    feature.name,
                    page,
                    anchor_for(child.scenario.name),
                )
            )
        elif child.rule is not None:
            rule_tags = [*feature_tags, *_tag_names(child.rule.tags)]
            rule_background = feature_background
            for grand in child.rule.children:
                if grand.background is not None:
                    rule_background = feature_background + _background(grand.background)
                elif grand.scenario is not None:
                    scenarios.append(
                        _scenario(
                            grand.scenario,
                            rule_tags,
                            rule_background,
                            child.rule.name,
                            feature.name,
                            page,
                            anchor_for(grand.scenario.name),
                        )
                    )
    return SpecFeature(
        path=relative,
        page=page,
        name=feature.name,
        description=feature.description.strip(),
        tags=tuple(feature_tags),
        background=feature_background,
        scenarios=scenarios,
    )


def load_features(features_dir: Path) -> tuple[list[SpecFeature], list[SpecProblem]]:
    """Every ``*.feature`` below ``features_dir`` (absent folder: none); unparsable files become problems."""
    features: list[SpecFeature] = []
    problems: list[SpecProblem] = []
    for path in feature_files(features_dir):
        relative = path.relative_to(features_dir).as_posix()
        try:
            features.append(parse_feature(path, features_dir))
        except GherkinParseError as err:
            problems.append(SpecProblem(relative, err.line or 1, f"not shown: {err.message}"))
        except KeyError as err:  # pytest-bdd's document model lacks a part it requires (mostly: no Feature)
            what = "the file has no 'Feature:'" if err.args == ("feature",) else f"pytest-bdd lacks its part {err}"
            problems.append(SpecProblem(relative, 1, f"not shown: {what}"))
        except (OSError, UnicodeDecodeError) as err:
            problems.append(SpecProblem(relative, 1, f"not shown: cannot read it ({err})"))
    return features, problems


# --- a run's results ------------------------------------------------------------------------------------


def _run_names(scenario: SpecScenario) -> list[str]:
    """The names a run records for a scenario: its name, and for an Outline each row's run name (and the
    name as written, which runs before the rows were named recorded)."""
    rows = [dict(zip(block.header, row, strict=False)) for block in scenario.examples for row in block.rows]
    return [scenario.name, *dict.fromkeys(scenario_run_name(scenario.name, row) for row in rows)]


def _join_run(features: list[SpecFeature], statement: Mapping[str, Any], path: str, current_hash: str) -> RunSummary:
    """Puts the run's verdicts on the scenarios, keyed by (feature name, scenario name) as the plugin records."""
    results: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for entry in statement["scenarios"]:
        if isinstance(entry, Mapping):
            results[(str(entry.get("feature", "")), str(entry.get("scenario", "")))].append(entry)
    matched: set[tuple[str, str]] = set()
    for feature in features:
        for scenario in feature.scenarios:
            keys = [(scenario.feature_name, name) for name in _run_names(scenario)]
            entries = [entry for key in keys for entry in results.get(key, [])]
            verdicts = []
            for entry in entries:
                try:
                    verdicts.append(Verdict(entry.get("verdict")))
                except ValueError:
                    verdicts.append(Verdict.ERROR)  # a verdict this version does not know is no verdict
            if verdicts:
                matched.update(keys)
                scenario.verdict = combine_verdicts(verdicts).value
                scenario.runs = len(verdicts)
                scenario.messages = tuple(str(e.get("message")) for e in entries if e.get("message"))
    run = statement["run"]
    run_hash = str(run.get("features_hash", ""))
    return RunSummary(
        path=path,
        run_id=str(run.get("run_id", "")),
        suite_version=str(run.get("suite_version", "")),
        finished_utc=str(run.get("finished_utc", "")),
        features_hash=run_hash,
        same_features=run_hash == current_hash,
        dut=dict(run.get("dut") or {}),
        totals=dict(statement.get("totals") or {}),
        overall=statement.get("overall"),
        unmatched=tuple(f"{feature}: {name}" for feature, name in sorted(results.keys() - matched)),
    )


def _join_requirement_verdicts(
    requirements: list[SpecRequirement], features: list[SpecFeature], statement: Mapping[str, Any]
) -> None:
    """The statement's per-requirement verdicts (step-level attribution: what each scenario says about the
    requirement) onto the matrix rows, from the scenarios the current feature files still have."""
    known = {(s.feature_name, s.name) for f in features for s in f.scenarios}
    entries = {str(e.get("id")): e for e in statement.get("requirements") or [] if isinstance(e, Mapping)}
    for requirement in requirements:
        rows = [
            row
            for row in (entries.get(requirement.id) or {}).get("scenarios") or []
            if isinstance(row, Mapping) and (str(row.get("feature")), str(row.get("scenario"))) in known
        ]
        verdicts = []
        for row in rows:
            try:
                verdicts.append(Verdict(row.get("requirement_verdict") or row.get("verdict")))
            except ValueError:
                verdicts.append(Verdict.ERROR)  # a verdict this version does not know is no verdict
        if verdicts:
            requirement.run_verdict = combine_verdicts(verdicts).value
        tagged = {s.name for s in requirement.scenarios}
        requirement.attributed_by_step = tuple(str(r["scenario"]) for r in rows if r.get("scenario") not in tagged)


# --- the model ------------------------------------------------------------------------------------------


def build_spec(
    features_dir: Path,
    catalogue: Catalogue | None = None,
    statement: Mapping[str, Any] | None = None,
    run_path: str = "",
) -> LivingSpec:
    """The site's model from the catalogue, the feature files and (optionally) a run's statement."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    features, problems = load_features(features_dir)
    current_hash = features_hash(features_dir)
    # plain(): a statement from a version that kept terminal colour codes in its messages shows none here
    run = _join_run(features, plain(statement), run_path, current_hash) if statement is not None else None
    by_requirement: dict[str, list[SpecScenario]] = defaultdict(list)
    for feature in features:
        for scenario in feature.scenarios:
            for rid in scenario.requirement_ids:
                if rid in catalogue:
                    by_requirement[rid].append(scenario)
                else:
                    problems.append(
                        SpecProblem(
                            feature.path,
                            scenario.line,
                            f"scenario {scenario.name!r} names @req:{rid}, which is not in the catalogue",
                        )
                    )
    requirements = [SpecRequirement(req, by_requirement.get(req.id, [])) for req in catalogue]
    if statement is not None:
        _join_requirement_verdicts(requirements, features, statement)
    groups = [
        (role.value, heading, [r for r in requirements if r.requirement.role is role]) for role, heading in GROUPS
    ]
    return LivingSpec(
        catalogue=catalogue,
        features=features,
        requirements=requirements,
        problems=problems,
        features_hash=current_hash,
        run=run,
        groups=groups,
    )


# --- the site -------------------------------------------------------------------------------------------


def render_pages(spec: LivingSpec) -> dict[str, str]:
    """File name -> HTML of every page of the site (all in one folder, so every link is a bare file name)."""

    def page(template: str, **context: Any) -> str:
        return render_html({"spec": spec, **context}, f"spec/{template}")

    pages = {
        "index.html": page("index.html.j2", title="Living specification"),
        "matrix.html": page("matrix.html.j2", title="Traceability matrix"),
    }
    for requirement in spec.requirements:
        pages[requirement.page] = page("requirement.html.j2", title=requirement.id, r=requirement)
    for feature in spec.features:
        pages[feature.page] = page("feature.html.j2", title=feature.name, f=feature)
    return pages


def write_spec(spec: LivingSpec, out_dir: Path) -> list[Path]:
    """Writes the site into ``out_dir`` (created if needed; pages of an older site are overwritten)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, html in render_pages(spec).items():
            path = out_dir / name
            write_regular(path, html, "page")  # never through a symbolic link
            written.append(path)
    except OSError as err:
        raise UsageError(f"cannot write the specification into {out_dir}: {err.strerror or err}") from None
    return written
