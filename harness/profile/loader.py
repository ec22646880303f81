"""Read, check and hold a DUT profile (YAML: `device`, `pics`, `pixit`).

Why so strict: a profile mistake found after two hours on a bench costs the run, so every problem in the
file (unknown key, wrong type, missing item, YAML syntax) is collected and reported at start, each naming the
file, line, dotted key and what is wrong. Why PICS stay tri-state: an item the vendor did not declare is
unknown, not "unsupported"; selection reports the two differently. Command-line overrides go through the same
checks as the file, and every value in a report says whether it came from the profile, a default or an
override.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from harness.errors import ConfigurationError
from harness.files import PROFILE_LIMIT, FileRefused, read_regular_text
from harness.profile.device_class import unknown_knob_problems
from harness.profile.schema import (
    DEPRECATED_PICS,
    DEVICE_ITEMS,
    MAX_NESTING,
    PICS_ITEMS,
    PIXIT_ITEMS,
    SECTIONS,
    BoolType,
    PixitItem,
    ValueProblem,
    ValueType,
    children,
    pixit_groups,
    seen,
    suggest,
)
from harness.profile.setup import RunSetup, SetupProblem, resolve_setup

PROFILES_DIR = Path(__file__).resolve().parents[2] / "profiles"
DEFAULT_PROFILE_PATH = PROFILES_DIR / "emulated-ppmid.yaml"
"""Used when no profile is given: the built-in reference PPMID on the loopback radio."""


def default_profile_path() -> Path:
    """The profile used when none is given (the emulated PPMID)."""
    return DEFAULT_PROFILE_PATH


OVERRIDE_LABEL = "<command-line override>"

Source = Literal["profile", "default", "override"]

_VALUED_SECTIONS = (("device", DEVICE_ITEMS), ("pixit", PIXIT_ITEMS))
"""The sections whose items have types and defaults (PICS items are plain booleans without defaults)."""

_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"


class _Refused(yaml.composer.ComposerError):
    """YAML a profile never needs and a hostile file uses (an alias, deep nesting): not a syntax error."""


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 sexagesimal and octal integers, so that an unquoted EUI-64 such as
    12:34:56:78:9a:bc:de:f0 or a code such as 0010 never turns silently into a number.

    It also refuses what a profile never needs and a hostile file uses: aliases (``*name``: a few KiB of
    nested aliases expand to gigabytes, the "billion laughs") and nesting deeper than MAX_NESTING."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise _Refused(
                None,
                None,
                f"an alias (*{event.anchor}) repeats another value: aliases are not accepted in a profile; "
                "write the value out where it is needed",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _Refused(
                    None,
                    None,
                    f"nested more than {MAX_NESTING} levels deep: a profile needs at most 4 "
                    "(e.g. pixit: budgets: join: 2m); flatten it",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _INT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"), list("-+0123456789")
)


# ----------------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True)
class Where:
    """A position in a profile (or the command line) for messages."""

    file: str
    line: int | None = None
    column: int | None = None

    @classmethod
    def at(cls, file: str, mark: yaml.Mark | None) -> Where:
        return cls(file) if mark is None else cls(file, mark.line + 1, mark.column + 1)

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class ProfileProblem:
    """One thing wrong with a profile: where, which dotted key, what."""

    where: Where
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.message}" if self.key else f"{self.where}: {self.message}"


class ProfileError(ConfigurationError):
    """A profile (or an override) is broken; `problems` holds every problem found, the message shows all."""

    def __init__(self, subject: str, problems: Sequence[ProfileProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(f"profile {subject}: {count} problem{'' if count == 1 else 's'}:\n{lines}")


class UnknownItemError(ConfigurationError, AttributeError):
    """Code asked for a PICS or PIXIT item the schema does not declare (a harness bug, not a profile one)."""


def unknown_key_message(key: str) -> str:
    """'unknown key' plus the closest known dotted key, or the keys allowed there (files and overrides)."""
    guess, known = _closest_key(key)
    return f"unknown key; did you mean {guess!r}?" if guess else f"unknown key ({known})"


def _closest_key(key: str) -> tuple[str | None, str]:
    """The best guess for a mistyped dotted key, and what is allowed at that place."""
    section, _, rest = key.partition(".")
    if section in SECTIONS and not rest:
        return None, f"name an item, e.g. {section}.<name>"
    if section not in SECTIONS:
        if key in PIXIT_ITEMS or key in PICS_ITEMS:
            return f"{'pixit' if key in PIXIT_ITEMS else 'pics'}.{key}", ""
        return suggest(key, SECTIONS), f"a profile has the sections {', '.join(SECTIONS)}"
    if section == "pics":
        found = suggest(rest, PICS_ITEMS)
        return (f"pics.{found}" if found else None), "not a PICS item of this suite; see profiles/README.md"
    if section == "device":
        found = suggest(rest, DEVICE_ITEMS)
        return (f"device.{found}" if found else None), f"device has {', '.join(DEVICE_ITEMS)}"
    return _closest_pixit(rest)


def _closest_pixit(rest: str) -> tuple[str | None, str]:
    """Closest sibling in the deepest known group; failing that, an item anywhere with that last name."""
    parts = rest.split(".")
    group = ""
    for index in range(len(parts) - 1, 0, -1):
        if ".".join(parts[:index]) in pixit_groups():
            group = ".".join(parts[:index])
            break
    siblings = children(group)
    known = f"known under pixit{'.' + group if group else ''}: {', '.join(siblings)}"
    found = suggest(parts[len(group.split(".")) if group else 0], siblings)
    if found:
        return f"pixit.{group + '.' if group else ''}{found}", known
    leaves = {name.rsplit(".", 1)[-1]: name for name in PIXIT_ITEMS}
    found = suggest(parts[-1], leaves)
    return (f"pixit.{leaves[found]}" if found else None), known


def _item_type(key: str) -> ValueType | None:
    """The value type behind a dotted key, or None when the key is unknown."""
    section, _, rest = key.partition(".")
    if section == "pics":
        return BoolType() if rest in PICS_ITEMS or rest in DEPRECATED_PICS else None
    item = _pixit_item(key)
    return item.type if item else None


def _pixit_item(key: str) -> PixitItem | None:
    section, _, rest = key.partition(".")
    return dict(_VALUED_SECTIONS).get(section, {}).get(rest)


def _role_of(pics_name: str) -> str | None:
    """GB.PPMID.* items only make sense for a PPMID, GB.HCALCS.* only for an HCALCS."""
    match = re.match(r"GB\.(PPMID|HCALCS)\.", pics_name)
    return match.group(1).lower() if match else None


# ----------------------------------------------------------------------------------------------------
# Reading YAML into entries


@dataclass(frozen=True)
class Entry:
    """One value as written (before checking): its dotted key, where it was written and by whom."""

    key: str
    value: Any
    where: Where
    """Where the value was written (its key, when the value spans several lines)."""
    source: Literal["profile", "override"]
    base_dir: Path | None
    key_where: Where | None = None
    """Where the key was written, for unknown-key messages; None: same as `where`."""


class _NodeReader:
    """Walks the composed YAML tree into entries, keeping the line and column of every key and value."""

    def __init__(self, loader: _YamlLoader, label: str, base_dir: Path) -> None:
        self.loader = loader
        self.label = label
        self.base_dir = base_dir
        self.entries: list[Entry] = []
        self.problems: list[ProfileProblem] = []

    def read(self, root: Node | None) -> None:
        if root is None:
            self._problem(None, "", "the file is empty; a profile has the sections device, pics and pixit")
            return
        for name, key_node, value_node in self._pairs(root, ""):
            if name in ("device", "pics"):
                for item, item_key, item_value in self._pairs(value_node, name):
                    self._entry(f"{name}.{item}", item_key, item_value)
            elif name == "pixit":
                self._read_pixit(value_node, "")
            else:
                self._entry(name, key_node, value_node)

    def _read_pixit(self, node: Node, group: str) -> None:
        prefix = f"pixit.{group}" if group else "pixit"
        for name, key_node, value_node in self._pairs(node, prefix):
            dotted = f"{group}.{name}" if group else name
            if dotted in pixit_groups() and dotted not in PIXIT_ITEMS:
                self._read_pixit(value_node, dotted)
            else:
                self._entry(f"pixit.{dotted}", key_node, value_node)

    def _pairs(self, node: Node, key: str) -> Iterator[tuple[str, Node, Node]]:
        """The (name, key node, value node) of a mapping; a null value counts as an empty mapping."""
        if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
            return
        if not isinstance(node, MappingNode):
            value = self._construct(node, key)
            self._problem(node, key, f"expected a mapping of names to values, got {seen(value)}")
            return
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, key, "a key must be a plain name")
                continue
            name = str(key_node.value)
            dotted = f"{key}.{name}" if key else name
            if name in first_line:
                self._problem(key_node, dotted, f"duplicate key (first written at line {first_line[name]})")
                continue
            first_line[name] = key_node.start_mark.line + 1
            yield name, key_node, value_node

    def _entry(self, key: str, key_node: Node, value_node: Node) -> None:
        value = self._construct(value_node, key)
        if value is not _FAILED:
            node = value_node if isinstance(value_node, ScalarNode) else key_node
            where = Where.at(self.label, node.start_mark)
            key_where = Where.at(self.label, key_node.start_mark)
            self.entries.append(Entry(key, value, where, "profile", self.base_dir, key_where))

    def _construct(self, node: Node, key: str) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            self._problem(node, key, f"unreadable value: {getattr(err, 'problem', None) or err}")
        except ValueError as err:  # e.g. an integer of more than 4,300 digits (Python's int() limit)
            self._problem(node, key, f"unreadable value: {_value_error(node, err)}")
        return _FAILED

    def _problem(self, node: Node | None, key: str, message: str) -> None:
        where = Where.at(self.label, node.start_mark if node is not None else None)
        self.problems.append(ProfileProblem(where, key, message))


_FAILED = object()


def _yaml_problem(label: str, err: yaml.YAMLError) -> ProfileProblem:
    """A YAML syntax error as a problem with line and column."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        detail = err.problem or "invalid YAML"
        if err.context:
            detail = f"{detail} ({err.context}"
            if err.context_mark is not None and err.context_mark is not mark:
                detail += f" at line {err.context_mark.line + 1}"
            detail += ")"
        kind = "not accepted" if isinstance(err, _Refused) else "YAML syntax error"
        return ProfileProblem(Where.at(label, mark), "", f"{kind}: {detail}")
    return ProfileProblem(Where(label), "", f"YAML error: {err}")


def _value_error(node: Node, err: ValueError) -> str:
    """A value Python refused to convert, said in the profile's terms."""
    text = str(getattr(node, "value", ""))
    if node.tag == _INT_TAG or re.fullmatch(r"[-+]?[0-9_]+", text):
        return f"a number of {len(text)} digits; write a number that fits its item (see profiles/README.md)"
    return str(err)


def _reader_problem(label: str, text: str, err: yaml.reader.ReaderError) -> ProfileProblem:
    """A character YAML does not allow (a control character, a lone surrogate), with its line and column."""
    line = text.count("\n", 0, err.position) + 1
    column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
    character = f"U+{err.character:04X}" if isinstance(err.character, int) else repr(err.character)
    message = (
        f"character {character} is not allowed in YAML (a control character?); delete it, or write it as an "
        "escape inside a double-quoted string"
    )
    return ProfileProblem(Where(label, line, column), "", message)


def _read_entries(path: Path) -> tuple[list[Entry], list[ProfileProblem]]:
    label = str(path)
    try:
        text = read_regular_text(path, "profile", PROFILE_LIMIT)
    except FileRefused as err:
        raise ProfileError(label, [ProfileProblem(Where(label), "", err.reason)]) from None
    try:
        loader = _YamlLoader(text)
    except yaml.reader.ReaderError as err:  # the reader checks every character before anything is parsed
        raise ProfileError(label, [_reader_problem(label, text, err)]) from None
    try:
        try:
            root = loader.get_single_node()
        except yaml.reader.ReaderError as err:
            raise ProfileError(label, [_reader_problem(label, text, err)]) from None
        except yaml.YAMLError as err:
            raise ProfileError(label, [_yaml_problem(label, err)]) from None
        reader = _NodeReader(loader, label, path.resolve().parent)
        reader.read(root)
        return reader.entries, reader.problems
    finally:
        loader.dispose()


# ----------------------------------------------------------------------------------------------------
# The profile


class PixitView:
    """Attribute access to PIXIT values by their dotted names: `profile.pixit.budgets.join`."""

    __slots__ = ("_prefix", "_values")

    def __init__(self, values: Mapping[str, Any], prefix: str = "") -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        dotted = self._prefix + name
        if dotted in self._values:
            return self._values[dotted]
        if dotted in pixit_groups():
            return PixitView(self._values, f"{dotted}.")
        raise UnknownItemError(f"pixit.{dotted}: {unknown_key_message('pixit.' + dotted)}")

    def __repr__(self) -> str:
        names = [name for name in self._values if name.startswith(self._prefix)]
        return f"PixitView({', '.join(f'{name}={self._values[name]!r}' for name in names)})"


@dataclass(frozen=True)
class Profile:
    """A checked DUT profile: declared PICS (tri-state), all PIXIT values (defaults filled), their sources."""

    name: str
    path: Path
    role: str
    description: str
    declared_pics: Mapping[str, bool]
    pixit_values: Mapping[str, Any]
    sources: Mapping[str, Source]
    """Dotted key ("pics.X", "pixit.Y", "device.Z") -> where its value came from."""
    entries: tuple[Entry, ...] = field(repr=False)
    """The values as written, kept so that overrides can be re-checked together with the file."""
    setup: RunSetup = field(repr=False)
    """The run's setup decisions: radio kind, clock, image source, what the reports call the run's target."""
    deprecations: tuple[str, ...] = ()
    """Warnings about deprecated items the profile uses (``DEPRECATED_PICS``), for the operator."""

    def pics(self, item: str) -> bool | None:
        """True/False as declared; None when the profile does not declare the item (unknown, not false).

        A deprecated name answers for the items it stands for: True only when all are, False when any is."""
        if item in DEPRECATED_PICS:
            values = [self.declared_pics.get(name) for name in DEPRECATED_PICS[item]]
            return False if False in values else (True if all(values) else None)
        if item not in PICS_ITEMS:
            raise UnknownItemError(f"pics.{item}: {unknown_key_message('pics.' + item)}")
        return self.declared_pics.get(item)

    def undeclared_pics(self) -> list[str]:
        """Schema items this profile leaves undeclared, in schema order."""
        return [name for name in PICS_ITEMS if name not in self.declared_pics]

    @property
    def pixit(self) -> PixitView:
        return PixitView(self.pixit_values)

    def pixit_value(self, name: str) -> Any:
        """A PIXIT value by dotted name ("budgets.join"); the default when the profile does not set it."""
        if name not in self.pixit_values:
            raise UnknownItemError(f"pixit.{name}: {unknown_key_message('pixit.' + name)}")
        return self.pixit_values[name]

    def dut_identity(self) -> dict[str, str]:
        """Who the device under test is, as the profile declares it (reports add what the device said)."""
        identity = {"role": self.role, "description": self.description}
        for name in (
            "dut.eui64",
            "dut.manufacturer_code",
            "dut.image_type",
            "dut.current_file_version",
            "dut.hardware_version",
        ):
            item = PIXIT_ITEMS[name]
            identity[name.removeprefix("dut.")] = str(item.type.render(self.pixit_values[name]))
        return identity

    def effective(self) -> dict[str, Any]:
        """Every value used, with its source, in plain types (JSON/YAML-serialisable) for the run report."""
        device = {
            name: {"value": getattr(self, name), "source": self.sources.get(f"device.{name}", "default")}
            for name in DEVICE_ITEMS
        }
        pics = {
            name: {
                "value": self.declared_pics.get(name),
                "source": self.sources.get(f"pics.{name}", "undeclared"),
            }
            for name in PICS_ITEMS
        }
        pixit: dict[str, Any] = {}
        for name, item in PIXIT_ITEMS.items():
            shown: dict[str, Any] = {
                "value": item.type.render(self.pixit_values[name]),
                "source": self.sources.get(f"pixit.{name}", "default"),
            }
            if item.unit:
                shown["unit"] = item.unit
            pixit[name] = shown
        identity: dict[str, Any] = {"name": self.name, "path": str(self.path)}
        if self.deprecations:
            identity["deprecations"] = list(self.deprecations)
        return {
            "profile": identity,
            "device": device,
            "pics": pics,
            "pixit": pixit,
        }


def _check_entry(entry: Entry) -> Any:
    """The checked value of one entry, or ValueProblem saying what is wrong."""
    value_type = _item_type(entry.key)
    if value_type is None:
        raise ValueProblem(unknown_key_message(entry.key))
    if entry.value is None:
        if entry.key.startswith("pics."):
            raise ValueProblem("expected true or false, got null (leave the item out to keep it undeclared)")
        item = _pixit_item(entry.key)
        if item is not None and item.default is not None:
            raise ValueProblem(f"expected {value_type.expected}, got null (leave the key out for the default)")
        return None
    return value_type.parse(entry.value, entry.base_dir)


def _missing_reason(item: PixitItem, setup: RunSetup, pics: Mapping[str, bool]) -> str | None:
    """Why an item left unset is a problem, or None when it may stay unset."""
    if item.required == "always":
        return "missing required item"
    if item.required == "external-radio" and setup.external_radio:
        return f"missing; required when the radio is not the loopback radio (radio: {setup.radio})"
    if item.required == "vendor-images" and setup.vendor_images:
        return f"missing; required when the images come from the vendor (images.source: {setup.images})"
    if item.required_if_pics and setup.power_cycle_by_command_only and pics.get(item.required_if_pics):
        return (
            f"missing; required when PICS {item.required_if_pics} is true and radio {setup.radio!r} can "
            "power-cycle the device only by command"
        )
    return None


def _missing_problems(
    label: str, given: Mapping[str, Any], failed: set[str], setup: RunSetup, pics: Mapping[str, bool]
) -> list[ProfileProblem]:
    """Required items left unset (items whose value failed its check are reported once, already)."""
    problems = []
    for section, items in _VALUED_SECTIONS:
        for item in items.values():
            key = f"{section}.{item.name}"
            if key in failed or given.get(key) is not None:
                continue
            reason = _missing_reason(item, setup, pics)
            if reason:
                message = f"{reason}: {item.description} Expected {item.type.expected}."
                problems.append(ProfileProblem(Where(label), key, message))
    return problems


def _pics_problems(pics: Mapping[str, bool], role: str | None, where_of: Mapping[str, Where]) -> list[ProfileProblem]:
    """Items declared true against a needed item declared false, or against the device role."""
    problems = []
    for name in (name for name, declared in pics.items() if declared):
        key = f"pics.{name}"
        for needed in PICS_ITEMS[name].depends_on:
            if pics.get(needed) is False:
                problems.append(ProfileProblem(where_of[key], key, f"is true, but it needs {needed}, which is false"))
        item_role = _role_of(name)
        if role is not None and item_role is not None and item_role != role:
            message = f"is true, but device.role is {role}, not {item_role}"
            problems.append(ProfileProblem(where_of[key], key, message))
    return problems


def _with_defaults(section: str, items: Mapping[str, PixitItem], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every item of a section: the checked value where one was given, else the default."""
    return {
        item_name: given[f"{section}.{item_name}"] if f"{section}.{item_name}" in given else item.default_value()
        for item_name, item in items.items()
    }


def _problem_order(problem: ProfileProblem) -> tuple[str, bool, int, int]:
    """File order: by file, then line and column; problems without a line (missing items) last."""
    where = problem.where
    return (where.file, where.line is None, where.line or 0, where.column or 0)


def _build(name: str, path: Path, entries: Sequence[Entry], problems: list[ProfileProblem]) -> Profile:
    """Check every entry, fill defaults, apply cross-item rules; raise ProfileError listing all problems."""
    given: dict[str, Any] = {}
    failed: set[str] = set()
    sources: dict[str, Source] = {}
    where_of: dict[str, Where] = {}
    for entry in entries:
        try:
            given[entry.key] = _check_entry(entry)
        except ValueProblem as err:
            known = _item_type(entry.key) is not None
            where = entry.where if known or entry.key_where is None else entry.key_where
            problems.append(ProfileProblem(where, entry.key, str(err)))
            failed.add(entry.key)
        else:
            sources[entry.key] = entry.source
            where_of[entry.key] = entry.where

    pics = {key.removeprefix("pics."): value for key, value in given.items() if key.startswith("pics.")}
    deprecations = _expand_deprecated_pics(pics, sources, where_of)
    values = {section: _with_defaults(section, items, given) for section, items in _VALUED_SECTIONS}
    role = values["device"]["role"]
    setup = None
    try:
        setup = resolve_setup(values["pixit"], sources)
    except SetupProblem as err:
        problems.append(ProfileProblem(where_of.get(err.key, Where(str(path))), err.key, str(err)))
    if setup is not None:
        problems += _missing_problems(str(path), given, failed, setup, pics)
    if "pixit.emulator.faults" not in failed and role is not None:
        where = where_of.get("pixit.emulator.faults", Where(str(path)))
        problems += [
            ProfileProblem(where, "pixit.emulator.faults", message)
            for message in unknown_knob_problems(role, values["pixit"])
        ]
    problems += _pics_problems(pics, role, where_of)
    if problems:
        raise ProfileError(str(path), sorted(problems, key=_problem_order))
    assert setup is not None
    return Profile(
        name=name,
        path=path,
        role=role,
        description=values["device"]["description"],
        declared_pics=MappingProxyType(pics),
        pixit_values=MappingProxyType(values["pixit"]),
        sources=MappingProxyType(sources),
        entries=tuple(entries),
        setup=setup,
        deprecations=tuple(deprecations),
    )


def _expand_deprecated_pics(pics: dict[str, bool], sources: dict[str, Source], where_of: dict[str, Where]) -> list[str]:
    """Replace each deprecated item declared in ``pics`` by the items it stands for (an item the profile also
    declares itself keeps its own value); returns one warning per deprecated item used."""
    warnings = []
    for old, new in DEPRECATED_PICS.items():
        if old not in pics:
            continue
        value, key = pics.pop(old), f"pics.{old}"
        taken = [name for name in new if name not in pics]
        for name in taken:
            pics[name] = value
            sources[f"pics.{name}"] = sources[key]
            where_of[f"pics.{name}"] = where_of[key]
        kept = [name for name in new if name not in taken]
        note = f" ({', '.join(kept)} keep their own declarations)" if kept else ""
        warnings.append(
            f"{where_of[key]}: pics.{old} is deprecated: it bundles {' and '.join(new)}, so it was read as "
            f"{str(value).lower()} for {', '.join(taken) or 'none of them'}{note}. Declare those items instead."
        )
    return warnings


def resolve_profile_path(spec: str | Path | None) -> Path:
    """A profile path from what the operator typed: None = the default; a bare name = profiles/<name>.yaml."""
    if spec is None:
        return default_profile_path()
    path = Path(spec)
    if not path.exists() and path.suffix == "" and len(path.parts) == 1:
        candidate = PROFILES_DIR / f"{path.name}.yaml"
        if candidate.exists():
            return candidate
    return path


def load_profile(path: str | Path | None = None) -> Profile:
    """Load and check a profile; raise ProfileError (a ConfigurationError) listing every problem found."""
    resolved = resolve_profile_path(path)
    entries, problems = _read_entries(resolved)
    return _build(resolved.stem, resolved, entries, problems)


def _value_from_text(key: str, value: Any) -> Any:
    """Command-line text read as a YAML scalar (true, 115200, 0x0084, [a, b]) unless the item is textual."""
    value_type = _item_type(key)
    if not isinstance(value, str) or (value_type is not None and value_type.textual):
        return value
    try:
        return yaml.load(value, Loader=_YamlLoader)  # a SafeLoader subclass: no arbitrary objects
    except (yaml.YAMLError, ValueError):  # not YAML, or a number Python will not convert: kept as text
        return value


def apply_overrides(profile: Profile, overrides: Mapping[str, Any]) -> Profile:
    """A new profile with dotted-key overrides ({"pixit.radio": "ezsp"}), checked exactly like the file."""
    cwd = Path.cwd()
    added = [
        Entry(key, _value_from_text(key, value), Where(OVERRIDE_LABEL), "override", cwd)
        for key, value in overrides.items()
    ]
    kept = [entry for entry in profile.entries if entry.key not in overrides]
    return _build(profile.name, profile.path, [*kept, *added], [])


def load_run_profile(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> Profile:
    """The effective profile of a run: the file (default: the emulated PPMID) plus command-line overrides."""
    profile = load_profile(path)
    return apply_overrides(profile, overrides) if overrides else profile
