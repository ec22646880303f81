"""The requirement catalogue (``catalogue.yaml``), the feature-tag convention, and the lint that ties them.

Why: every verdict in a conformance statement names a requirement. The catalogue is the one list of those
requirements (packaged with the harness: a user's clone has nothing else to read at run time), validated
on load so a typo cannot silently drop a requirement from a report.

Catalogue fields (every requirement)
------------------------------------
``id``            ``PZ-nn`` (PPMID over Zigbee), ``HG-nn`` (HCALCS over GBCS) or ``CS-nn`` (common/security);
                  the prefix fixes ``role`` (ppmid, hcalcs, common).
``title``, ``text`` short name; the requirement, precise enough to decide PASS or FAIL.
``source``        source keys of the domain digest and the specification clause where known; every key
                  (``S7``) must be listed in the top-level ``sources`` (title and where to find it), so a
                  report can resolve it.
``confidence``    C, C-data, R, I or U (see ``Confidence``).
``assumption``    null, or what is inferred and how the suite makes it configurable. Required for I and U.
``binds``         whose obligation it is: ``device`` (the device under test), ``ch`` (the Communications Hub,
                  which the suite plays), ``suite-format`` (what the suite itself builds or reports), ``dcc``
                  (DCC/DSP service-request level).
``devices``       only with ``binds: device``: the devices it applies to (``[ppmid]``, ``[hcalcs]`` or both).
``verification``  ``scenario`` (device requirements), ``unit-test`` (ch and suite-format) or
                  ``not-testable-here`` (dcc, and device properties a black-box test cannot observe).
``verification_note``  why, or which unit test; required unless ``verification`` is ``scenario``.
``declared_by_pics``   optional, for I/U device requirements whose open part is a vendor *choice*: the PICS
                  item by which the vendor declares that choice (see the assumption rule below).

Tag convention for feature files
--------------------------------
``@req:<ID>``         the requirement a scenario checks (one or more; each must be in the catalogue).
``@pics:<ITEM>``      run the scenario only when the device's PICS claims ITEM.
``@pics:!<ITEM>``     run it only when the PICS does *not* claim ITEM. ``!`` is the one negation form: it
                      cannot collide with an item name (``not-ITEM`` could), so ``@pics:not-X`` is rejected.
                      Several ``@pics`` tags must all hold. ``harness.profile`` owns the PICS items and
                      evaluates these tags; the lint uses its parser, so an unknown item is a lint problem.
``@spec:<doc-clause>``  the specification clause, e.g. ``@spec:GBCS-11.5``.
``@assumption``       the verdict rests on an inference (a catalogue requirement of confidence I or U).
``@needs:<NAME>``     what the scenario needs from the test setup (an image, a bench capability), decided
                      before the run: ``harness.profile.needs`` names them, ``harness.dut.needs`` decides them.

Tags may be put on the Feature, a Rule or the Scenario; a scenario's tags are the union of the three, which
is exactly what pytest-bdd 9 turns into pytest marks (``scenario.tags | feature.tags | rule.tags``, tag text
without ``@``, e.g. a mark named ``req:PZ-13``). They must not be put on an ``Examples:`` block: pytest-bdd
applies those as raw marks without the ``pytest_bdd_apply_tag`` hook, so PICS selection would not see them.

Feature lint rules (``lint_feature_file``; each problem has a code)
-------------------------------------------------------------------
``parse-error``, ``no-feature``  the file is not a Gherkin feature.
``bad-tag``                 unknown tag namespace, or a malformed ID / PICS item / spec clause.
``unknown-requirement``     ``@req:`` names an ID that is not in the catalogue.
``examples-tag``            a ``req:``/``pics:``/``spec:`` tag on an Examples block.
``duplicate-scenario``      two scenarios of one file share a name (pytest-bdd keeps only the last).
``no-steps``                a scenario without steps (it would PASS without checking anything).
``missing-req``, ``missing-pics``  a scenario without any ``@req:`` / ``@pics:`` tag.
``not-device-requirement``  the requirement binds the CH, the suite's format or the DCC: unit tests check
                            it (or nothing can), never a device scenario.
``not-scenario-requirement``  a device requirement the catalogue marks ``not-testable-here``.
``wrong-device``            a scenario under ``features/ppmid/`` (``hcalcs/``) checks a requirement that does
                            not apply to that device.
``missing-needs``, ``unused-needs``  the steps (Background included) need something the scenario does not
                            declare with ``@needs:``, or it declares a need no step has (``harness.profile.needs``).
``missing-assumption``      the assumption rule: a scenario checking a requirement of confidence I or U
                            must be tagged ``@assumption`` -- unless the requirement has ``declared_by_pics``
                            and the scenario carries ``@pics:<that item>`` or ``@pics:!<that item>``. Then
                            the open part is the vendor's declared choice, recorded with the PICS in every
                            report, and the verdict no longer rests on our inference.

With the step library (``steps=``: ``harness.bdd.checks.StepDefinitions``), step-level attribution adds:

``undefined-step``          no step definition matches the step (pytest-bdd would fail the scenario).
``undeclared-step``         a Then step whose definition declares no requirement (``@checks``): its FAIL
                            could only be blamed on every tag of the scenario.
``unchecked-requirement``   ``@req:`` names a requirement no step of the scenario declares: no FAIL of the
                            scenario can ever be attributed to it, so the tag claims a check that is not made.
``lint_step_declarations`` checks the declarations themselves: every ID in the catalogue, a device requirement
that a scenario verifies.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml
from pytest_bdd.exceptions import GherkinParseError
from pytest_bdd.gherkin_parser import Scenario as GherkinScenario
from pytest_bdd.gherkin_parser import Tag as GherkinTag
from pytest_bdd.gherkin_parser import get_gherkin_document

from harness.errors import ConfigurationError
from harness.profile.needs import need_problem, needs_of, needs_of_steps
from harness.profile.selection import PicsTagError, pics_conditions

if TYPE_CHECKING:
    from pytest_bdd.gherkin_parser import Step as GherkinStep

    from harness.bdd.checks import StepDefinitions

CATALOGUE_RESOURCE = "catalogue.yaml"

ID_PATTERN = re.compile(r"^(PZ|HG|CS)-\d{2}$")
PICS_ITEM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

TAG_REQ = "req"
TAG_PICS = "pics"
TAG_SPEC = "spec"
TAG_NEEDS = "needs"
TAG_ASSUMPTION = "assumption"
_NAMESPACES = (TAG_REQ, TAG_PICS, TAG_SPEC, TAG_NEEDS)


class Confidence(StrEnum):
    """How well the public sources support a requirement (the digest's tags)."""

    C = "C"  # confirmed from the cited source
    C_DATA = "C-data"  # confirmed by decoding/verifying public sample data
    R = "R"  # from a reputable implementation that cites the clause
    I = "I"  # noqa: E741 - the digest's tag; inferred, a design assumption
    U = "U"  # open question

    @property
    def is_assumption(self) -> bool:
        return self in (Confidence.I, Confidence.U)


class Role(StrEnum):
    PPMID = "ppmid"
    HCALCS = "hcalcs"
    COMMON = "common"


class Binds(StrEnum):
    DEVICE = "device"
    CH = "ch"
    SUITE_FORMAT = "suite-format"
    DCC = "dcc"


class Device(StrEnum):
    PPMID = "ppmid"
    HCALCS = "hcalcs"


class Verification(StrEnum):
    SCENARIO = "scenario"
    UNIT_TEST = "unit-test"
    NOT_TESTABLE_HERE = "not-testable-here"


_ROLE_FOR_PREFIX = {"PZ": Role.PPMID, "HG": Role.HCALCS, "CS": Role.COMMON}
_DEVICES_FOR_ROLE = {
    Role.PPMID: {(Device.PPMID,)},
    Role.HCALCS: {(Device.HCALCS,)},
    Role.COMMON: {(Device.PPMID,), (Device.HCALCS,), (Device.PPMID, Device.HCALCS)},
}
_VERIFICATION_FOR_BINDS = {
    Binds.DEVICE: {Verification.SCENARIO, Verification.NOT_TESTABLE_HERE},
    Binds.CH: {Verification.UNIT_TEST},
    Binds.SUITE_FORMAT: {Verification.UNIT_TEST},
    Binds.DCC: {Verification.NOT_TESTABLE_HERE},
}


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    text: str
    source: str
    confidence: Confidence
    assumption: str | None
    role: Role
    binds: Binds
    devices: tuple[Device, ...]  # empty unless binds is DEVICE
    verification: Verification
    verification_note: str | None = None
    declared_by_pics: str | None = None

    @property
    def checked_by_scenario(self) -> bool:
        return self.verification is Verification.SCENARIO


@dataclass(frozen=True)
class Source:
    """One entry of the digest's source list: the key requirements cite, what it is and where to find it."""

    key: str
    title: str
    where: str


#: A source key as requirements cite it (``S7``, ``S22``).
SOURCE_KEY = re.compile(r"\bS\d+\b")


def source_keys(text: str) -> list[str]:
    """The source keys a requirement's ``source`` text cites, in order."""
    return list(dict.fromkeys(SOURCE_KEY.findall(text)))


@dataclass(frozen=True)
class Catalogue:
    version: str
    drawn_from: str
    scope: str
    requirements: tuple[Requirement, ...]
    origin: str  # file the catalogue was read from (for messages)
    sources: tuple[Source, ...] = ()  # the source keys requirements cite (S1, S4, ...), each resolvable

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {r.id: r for r in self.requirements})

    def get(self, requirement_id: str) -> Requirement:
        try:
            return self._by_id[requirement_id]  # type: ignore[attr-defined,no-any-return]
        except KeyError:
            raise KeyError(f"{requirement_id!r} is not a requirement of the catalogue {self.origin}") from None

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self._by_id  # type: ignore[attr-defined]

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.requirements)

    def select(
        self,
        *,
        role: Role | None = None,
        binds: Binds | None = None,
        device: Device | None = None,
        verification: Verification | None = None,
        confidence: Confidence | None = None,
    ) -> tuple[Requirement, ...]:
        """Requirements matching every given criterion (``device``: those a scenario on it may check)."""
        return tuple(
            r
            for r in self.requirements
            if (role is None or r.role is role)
            and (binds is None or r.binds is binds)
            and (device is None or device in r.devices)
            and (verification is None or r.verification is verification)
            and (confidence is None or r.confidence is confidence)
        )


class CatalogueError(ConfigurationError):
    """The catalogue file is unreadable or breaks a rule; the message lists every problem."""


# --- loading --------------------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (PyYAML would keep the last silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

_TOP_FIELDS = ("catalogue_version", "drawn_from", "scope", "sources", "requirements")
_REQUIRED_FIELDS = (
    "id",
    "title",
    "text",
    "source",
    "confidence",
    "assumption",
    "role",
    "binds",
    "verification",
)
_OPTIONAL_FIELDS = ("devices", "verification_note", "declared_by_pics")

E = TypeVar("E", bound=StrEnum)


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """The packaged catalogue (cached), or the catalogue at ``path`` (read afresh; for tests and tools)."""
    if path is None:
        return _load_packaged()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise CatalogueError(f"cannot read requirement catalogue {path}: {err.strerror or err}") from err
    return parse_catalogue(text, origin=str(path))


@functools.cache
def _load_packaged() -> Catalogue:
    resource = resources.files(__package__) / CATALOGUE_RESOURCE
    return parse_catalogue(resource.read_text(encoding="utf-8"), origin=str(resource))


def parse_catalogue(text: str, origin: str = "<catalogue>") -> Catalogue:
    """Builds and validates a catalogue from YAML text; raises CatalogueError naming every problem."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise CatalogueError(f"requirement catalogue {origin} is not valid YAML: {err}") from err
    problems: list[str] = []
    catalogue = _build(data, origin, problems)
    if problems or catalogue is None:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise CatalogueError(f"requirement catalogue {origin} is invalid ({len(problems)} problems):\n{listing}")
    return catalogue


def _build(data: Any, origin: str, problems: list[str]) -> Catalogue | None:
    if not isinstance(data, dict):
        problems.append("the file must be a mapping with keys " + ", ".join(_TOP_FIELDS))
        return None
    for key in data.keys() - set(_TOP_FIELDS):
        problems.append(f"top level: unknown key {key!r} (expected {', '.join(_TOP_FIELDS)})")
    top = {}
    for key in ("catalogue_version", "drawn_from", "scope"):
        top[key] = _text(data.get(key), f"top level: field {key!r}", problems, required=True)
    entries = data.get("requirements")
    if not isinstance(entries, list) or not entries:
        problems.append("top level: field 'requirements' must be a non-empty list")
        return None
    requirements: list[Requirement] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        requirement = _requirement(entry, index, problems)
        if requirement is None:
            continue
        if requirement.id in seen:
            problems.append(
                f"requirement {requirement.id} (entry {index}): duplicate id (first at entry {seen[requirement.id]})"
            )
            continue
        seen[requirement.id] = index
        requirements.append(requirement)
    sources = _sources(data.get("sources"), requirements, problems)
    if problems:
        return None
    return Catalogue(
        version=str(top["catalogue_version"]),
        drawn_from=str(top["drawn_from"]),
        scope=str(top["scope"]),
        requirements=tuple(requirements),
        origin=origin,
        sources=sources,
    )


def _sources(data: Any, requirements: list[Requirement], problems: list[str]) -> tuple[Source, ...]:
    """The ``sources`` mapping (optional); every source key a requirement cites must be listed in it."""
    if data is None:
        return ()
    if not isinstance(data, dict):
        problems.append("top level: field 'sources' must map source keys (S1, ...) to a title and a where")
        return ()
    sources: list[Source] = []
    for key, entry in data.items():
        if not isinstance(key, str) or not SOURCE_KEY.fullmatch(key):
            problems.append(f"sources: key {key!r} is not a source key such as S7")
            continue
        entry = entry if isinstance(entry, dict) else {}
        title = _text(entry.get("title"), f"sources: {key} field 'title'", problems, required=True)
        where = _text(entry.get("where"), f"sources: {key} field 'where'", problems, required=True)
        if title and where:
            sources.append(Source(key, title, where))
    listed = {source.key for source in sources}
    for requirement in requirements:
        for key in source_keys(requirement.source):
            if key not in listed:
                problems.append(f"requirement {requirement.id}: source {key} is not listed under 'sources'")
    return tuple(sources)


def _text(value: Any, where: str, problems: list[str], *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a non-empty text" + ("" if required else " or null"))
        return None
    return value.strip()


def _enum(cls: type[E], value: Any, where: str, problems: list[str]) -> E | None:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        problems.append(f"{where}: {value!r} is not one of {allowed}")
        return None


def _requirement(entry: Any, index: int, problems: list[str]) -> Requirement | None:
    if not isinstance(entry, dict):
        problems.append(f"requirement entry {index}: must be a mapping")
        return None
    rid = entry.get("id")
    label = f"requirement {rid} (entry {index})" if isinstance(rid, str) else f"requirement entry {index}"
    before = len(problems)

    def where(field: str) -> str:
        return f"{label}: field {field!r}"

    for field in _REQUIRED_FIELDS:
        if field not in entry:
            problems.append(f"{where(field)}: missing")
    for field in entry.keys() - set(_REQUIRED_FIELDS) - set(_OPTIONAL_FIELDS):
        problems.append(f"{where(field)}: unknown field")
    if len(problems) > before:
        return None

    if not isinstance(rid, str) or not ID_PATTERN.match(rid):
        problems.append(f"{where('id')}: {rid!r} is not of the form PZ-nn, HG-nn or CS-nn")
    title = _text(entry["title"], where("title"), problems, required=True)
    text = _text(entry["text"], where("text"), problems, required=True)
    source = _text(entry["source"], where("source"), problems, required=True)
    assumption = _text(entry["assumption"], where("assumption"), problems, required=False)
    note = _text(entry.get("verification_note"), where("verification_note"), problems, required=False)
    pics = _text(entry.get("declared_by_pics"), where("declared_by_pics"), problems, required=False)
    confidence = _enum(Confidence, entry["confidence"], where("confidence"), problems)
    role = _enum(Role, entry["role"], where("role"), problems)
    binds = _enum(Binds, entry["binds"], where("binds"), problems)
    verification = _enum(Verification, entry["verification"], where("verification"), problems)
    devices = _devices(entry.get("devices"), where("devices"), problems)
    if len(problems) > before:
        return None
    assert confidence and role and binds and verification and devices is not None  # for the type checker

    expected_role = _ROLE_FOR_PREFIX[rid[:2]]
    if role is not expected_role:
        problems.append(f"{where('role')}: {rid[:2]} requirements have role {expected_role.value!r}")
    if confidence.is_assumption and assumption is None:
        problems.append(f"{where('assumption')}: required for confidence {confidence.value} (say what is inferred)")
    if verification not in _VERIFICATION_FOR_BINDS[binds]:
        allowed = " or ".join(sorted(v.value for v in _VERIFICATION_FOR_BINDS[binds]))
        problems.append(f"{where('verification')}: a {binds.value!r} requirement is verified by {allowed}")
    if verification is not Verification.SCENARIO and note is None:
        problems.append(f"{where('verification_note')}: required when verification is {verification.value!r}")
    if binds is Binds.DEVICE:
        if devices not in _DEVICES_FOR_ROLE[role]:
            problems.append(f"{where('devices')}: {[d.value for d in devices]} does not fit role {role.value!r}")
    elif devices:
        problems.append(f"{where('devices')}: only for binds 'device' (this one binds {binds.value!r})")
    if pics is not None:
        if not PICS_ITEM_PATTERN.match(pics):
            problems.append(f"{where('declared_by_pics')}: {pics!r} is not a PICS item name")
        if not (confidence.is_assumption and binds is Binds.DEVICE):
            problems.append(f"{where('declared_by_pics')}: only for device requirements of confidence I or U")
    if len(problems) > before:
        return None
    return Requirement(
        id=rid,
        title=title or "",
        text=text or "",
        source=source or "",
        confidence=confidence,
        assumption=assumption,
        role=role,
        binds=binds,
        devices=devices,
        verification=verification,
        verification_note=note,
        declared_by_pics=pics,
    )


def _devices(value: Any, where: str, problems: list[str]) -> tuple[Device, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list such as [ppmid, hcalcs]")
        return None
    devices = [_enum(Device, v, where, problems) for v in value]
    if None in devices:
        return None
    if len(set(devices)) != len(devices):
        problems.append(f"{where}: lists a device twice")
        return None
    return tuple(sorted(devices, key=list(Device).index))  # type: ignore[arg-type]


# --- tags -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioTags:
    """A scenario's tags, sorted by meaning. Values are as written; ``lint_feature_file`` validates them."""

    requirements: tuple[str, ...]
    pics: tuple[str, ...]  # the pics tags themselves ("pics:ITEM", "pics:!ITEM"), as harness.profile reads them
    specs: tuple[str, ...]
    assumption: bool
    other: tuple[str, ...]  # plain tags (e.g. @slow) and unknown namespaces
    needs: tuple[str, ...] = ()  # the need names of ``@needs:`` tags (harness.profile.needs)


def parse_tags(tags: Iterable[str]) -> ScenarioTags:
    """Sorts tags (with or without the leading ``@``, e.g. pytest-bdd's ``scenario.tags``) by meaning."""
    found: dict[str, set[str]] = {TAG_REQ: set(), TAG_PICS: set(), TAG_SPEC: set(), TAG_NEEDS: set()}
    other: set[str] = set()
    assumption = False
    for raw in tags:
        tag = raw.removeprefix("@")
        namespace, colon, value = tag.partition(":")
        if tag == TAG_ASSUMPTION:
            assumption = True
        elif colon and namespace in found:
            found[namespace].add(tag if namespace == TAG_PICS else value)
        else:
            other.add(tag)
    return ScenarioTags(
        requirements=tuple(sorted(found[TAG_REQ])),
        pics=tuple(sorted(found[TAG_PICS])),
        specs=tuple(sorted(found[TAG_SPEC])),
        assumption=assumption,
        other=tuple(sorted(other)),
        needs=tuple(sorted(found[TAG_NEEDS])),
    )


def requirement_ids_from_tags(tags: Iterable[str]) -> list[str]:
    """The IDs of ``@req:<ID>`` tags, sorted, without repeats: ``["PZ-13"]`` for ``{"req:PZ-13", "slow"}``."""
    return list(parse_tags(tags).requirements)


# --- feature lint ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureProblem:
    """One broken rule of the tag convention, at a line of a feature file."""

    path: Path
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} [{self.code}]"


Coded = tuple[str, str]  # (problem code, message)


def _tag_problems(tag: GherkinTag, catalogue: Catalogue) -> Iterator[Coded]:
    """What is wrong with one tag on its own (codes ``bad-tag`` / ``unknown-requirement``)."""
    namespace, colon, value = tag.name.removeprefix("@").partition(":")
    if not colon:
        return
    if namespace not in _NAMESPACES:
        yield (
            "bad-tag",
            f"unknown tag namespace in {tag.name!r} (use req:, pics:, spec: or plain @assumption)",
        )
    elif namespace == TAG_REQ:
        if not ID_PATTERN.match(value):
            yield "bad-tag", f"{tag.name!r}: a requirement ID looks like PZ-13, HG-04 or CS-08"
        elif value not in catalogue:
            yield "unknown-requirement", f"{tag.name!r}: {value} is not in the requirement catalogue"
    elif namespace == TAG_PICS:
        if value.startswith("not-"):
            hint = value.removeprefix("not-")
            yield "bad-tag", f"{tag.name!r}: negate a PICS item with '!', e.g. @pics:!{hint}"
            return
        try:
            pics_conditions([tag.name])  # harness.profile owns the PICS items and the tag syntax
        except PicsTagError as err:
            yield "bad-tag", str(err)
    elif namespace == TAG_NEEDS:
        if problem := need_problem(value):
            yield "bad-tag", f"{tag.name!r}: {problem}"
    elif not value:
        yield "bad-tag", f"{tag.name!r}: give the clause, e.g. @spec:GBCS-11.5"


def _scenario_problems(
    scenario: GherkinScenario,
    tags: ScenarioTags,
    folder_device: Device | None,
    catalogue: Catalogue,
    background: list[str] | None = None,
) -> Iterator[Coded]:
    """What is wrong with one scenario given its effective tags (``background``: the sentences of the
    Background steps that run before it)."""
    yield from _needs_problems([*(background or []), *(step.text for step in scenario.steps)], tags)
    if not scenario.steps:
        yield "no-steps", "the scenario has no steps, so it would pass without checking anything"
    if not tags.requirements:
        yield "missing-req", "the scenario has no @req:<ID> tag"
    if not tags.pics:
        yield "missing-pics", "the scenario has no @pics:<ITEM> tag (which device claim selects it?)"
    pics_items = _pics_items(tags.pics)
    for rid in tags.requirements:
        if rid not in catalogue:
            continue  # reported once, at the tag
        req = catalogue.get(rid)
        if req.binds is not Binds.DEVICE:
            yield (
                "not-device-requirement",
                f"{rid} binds {req.binds.value!r}, not the device: it is verified by "
                f"{req.verification.value}, not by a scenario ({req.verification_note})",
            )
            continue
        if not req.checked_by_scenario:
            yield "not-scenario-requirement", f"{rid} is not testable by a scenario: {req.verification_note}"
        if folder_device is not None and folder_device not in req.devices:
            yield (
                "wrong-device",
                f"{rid} does not apply to a {folder_device.value} (it applies to {_names(req.devices)})",
            )
        waived = req.declared_by_pics is not None and req.declared_by_pics in pics_items
        if req.confidence.is_assumption and not tags.assumption and not waived:
            hint = f" or gate it on @pics:{req.declared_by_pics}" if req.declared_by_pics else ""
            yield (
                "missing-assumption",
                f"{rid} has confidence {req.confidence.value} ({req.assumption}); tag the scenario @assumption{hint}",
            )


def _needs_problems(sentences: list[str], tags: ScenarioTags) -> Iterator[Coded]:
    """The scenario's ``@needs:`` tags against what its steps need (harness.profile.needs)."""
    needed, declared = needs_of_steps(sentences), set(needs_of(f"{TAG_NEEDS}:{name}" for name in tags.needs))
    for name in sorted(needed - declared):
        yield "missing-needs", f"a step needs {name}: tag the scenario @{TAG_NEEDS}:{name}"
    for name in sorted(declared - needed):
        if need_problem(name) is None:  # an unknown name is reported once, at its tag
            yield "unused-needs", f"@{TAG_NEEDS}:{name} is declared, but no step of the scenario needs it"


def _pics_items(pics_tags: Iterable[str]) -> set[str]:
    """Items named by the well-formed ``@pics`` tags, negated or not (bad tags are reported on their own)."""
    items: set[str] = set()
    for tag in pics_tags:
        with contextlib.suppress(PicsTagError):
            items.update(condition.item for condition in pics_conditions([tag]))
    return items


def _names(devices: Iterable[Device]) -> str:
    return ", ".join(d.value for d in devices)


def _folder_device(path: Path) -> Device | None:
    """``features/ppmid/...`` -> PPMID, ``features/hcalcs/...`` -> HCALCS, anything else -> None.

    Only the folder right below the last ``features`` directory counts, wherever the checkout lives.
    """
    folders = path.parts[:-1]
    if "features" not in folders:
        return None
    below = folders[len(folders) - folders[::-1].index("features") :]
    return next((d for d in Device if below[:1] == (d.value,)), None)


_STEP_TYPES = {"Context": "given", "Action": "when", "Outcome": "then"}


def _step_problems(
    steps: list[GherkinStep],
    examples: list[dict[str, str]],
    tags: ScenarioTags,
    definitions: StepDefinitions,
) -> Iterator[tuple[int, Coded]]:
    """Step-level rules for one scenario (its Background's steps first), once per Examples row."""
    declared: set[str] = set()
    reported: set[tuple[int, str]] = set()
    for row in examples or [{}]:
        last = "given"
        for step in steps:
            step_type = _STEP_TYPES.get(step.keyword_type, last)
            last = step_type
            text = step.text
            for name, value in row.items():
                text = text.replace(f"<{name}>", value)
            found = definitions.find(step_type, text)
            problem: Coded | None = None
            if found is None:
                problem = ("undefined-step", f"no step definition matches {step.keyword} {text!r}")
            else:
                declared.update(found.requirements)
                if step_type == "then" and not found.requirements:
                    problem = ("undeclared-step", f"{found.name} declares no requirement (@checks)")
            if problem and (step.location.line, problem[0]) not in reported:
                reported.add((step.location.line, problem[0]))
                yield step.location.line, problem
    for rid in tags.requirements:
        if rid not in declared:
            yield 0, ("unchecked-requirement", f"@req:{rid}: no step of the scenario checks {rid} (@checks)")


def lint_step_declarations(definitions: StepDefinitions, catalogue: Catalogue | None = None) -> list[str]:
    """Problems of the step library's ``@checks`` declarations: an ID not in the catalogue, or one no
    scenario may check (not a device requirement verified by a scenario)."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    problems = []
    for definition in definitions.definitions:
        for rid in definition.requirements:
            if rid not in catalogue:
                problems.append(f"{definition.name}: @checks names {rid}, which is not in the catalogue")
            elif not catalogue.get(rid).checked_by_scenario or catalogue.get(rid).binds is not Binds.DEVICE:
                problems.append(f"{definition.name}: @checks names {rid}, which no device scenario verifies")
    return problems


def lint_feature_file(
    path: Path | str, catalogue: Catalogue | None = None, steps: StepDefinitions | None = None
) -> list[FeatureProblem]:
    """Every rule of the tag convention (module docstring) that ``path`` breaks; empty when it is clean.
    With ``steps`` (the step library) the step-level rules too."""
    path = Path(path)
    catalogue = catalogue if catalogue is not None else load_catalogue()
    problems: list[FeatureProblem] = []

    def add(line: int, coded: Coded) -> None:
        problems.append(FeatureProblem(path, line, *coded))

    try:
        document = get_gherkin_document(str(path.resolve()))
    except GherkinParseError as err:
        add(err.line or 1, ("parse-error", err.message))
        return problems
    except KeyError as err:  # pytest-bdd's document model requires a Feature
        if err.args != ("feature",):
            raise
        add(1, ("no-feature", "the file has no 'Feature:'"))
        return problems

    feature = document.feature
    scenarios: list[tuple[GherkinScenario, list[GherkinTag]]] = []
    backgrounds: dict[int, list[GherkinStep]] = {}  # id(scenario) -> the steps of its Background(s)
    all_tags: list[GherkinTag] = list(feature.tags)
    feature_background = [step for child in feature.children if child.background for step in child.background.steps]
    for child in feature.children:
        if child.scenario is not None:
            scenarios.append((child.scenario, list(feature.tags)))
            backgrounds[id(child.scenario)] = feature_background
        elif child.rule is not None:
            all_tags.extend(child.rule.tags)
            rule_background = [s for grand in child.rule.children if grand.background for s in grand.background.steps]
            for grand in child.rule.children:
                if grand.scenario is not None:
                    scenarios.append((grand.scenario, [*feature.tags, *child.rule.tags]))
                    backgrounds[id(grand.scenario)] = feature_background + rule_background

    seen_names: dict[str, int] = {}
    folder_device = _folder_device(path)
    for scenario, inherited in scenarios:
        steps_before = [step.text for step in backgrounds[id(scenario)]]
        all_tags.extend(scenario.tags)
        for examples in scenario.examples:
            all_tags.extend(examples.tags)
            for tag in examples.tags:
                if tag.name.removeprefix("@").partition(":")[0] in _NAMESPACES:
                    add(
                        tag.location.line,
                        ("examples-tag", f"{tag.name!r} on Examples: put it on the Scenario"),
                    )
        line = scenario.location.line
        if scenario.name in seen_names:
            add(line, ("duplicate-scenario", f"{scenario.name!r} repeats line {seen_names[scenario.name]}"))
        seen_names.setdefault(scenario.name, line)
        effective = parse_tags(tag.name for tag in [*inherited, *scenario.tags])
        for coded in _scenario_problems(scenario, effective, folder_device, catalogue, steps_before):
            add(line, coded)
        if steps is not None and scenario.steps:
            rows = [
                dict(zip([c.value for c in ex.table_header.cells], [c.value for c in r.cells], strict=False))
                for ex in scenario.examples
                if ex.table_header is not None
                for r in ex.table_body
            ]
            for step_line, coded in _step_problems(
                [*backgrounds[id(scenario)], *scenario.steps], rows, effective, steps
            ):
                add(step_line or line, coded)

    for tag in all_tags:
        for coded in _tag_problems(tag, catalogue):
            add(tag.location.line, coded)
    return sorted(problems, key=lambda p: (p.line, p.code, p.message))


def lint_features(
    root: Path | str, catalogue: Catalogue | None = None, steps: StepDefinitions | None = None
) -> list[FeatureProblem]:
    """``lint_feature_file`` over every ``*.feature`` below ``root`` (none found: no problems)."""
    catalogue = catalogue if catalogue is not None else load_catalogue()
    problems: list[FeatureProblem] = []
    for path in sorted(Path(root).rglob("*.feature")):
        problems.extend(lint_feature_file(path, catalogue, steps))
    return problems
