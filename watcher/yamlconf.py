"""YAML with line numbers, and small typed-record validation whose errors name file, line and field.

The file is read from libyaml's event stream straight into plain Python values: no node tree is kept
(a 5,000-source file's tree was 20 MB at its peak). Lines are only wanted for an error message, so they
are found then, by reading the events once more, and `sources[3].interval` is reported as
`sources.yaml:27`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from .errors import ConfigError, SecretError
from .secrets import secret

Path_ = tuple[str | int, ...]


@dataclass
class Doc:
    """A loaded YAML document: its value, and the line of any value in it (1-based) on request."""

    path: str
    value: Any
    text: str = field(repr=False)
    _lines: dict[Path_, int] | None = field(default=None, repr=False)

    def line(self, at: Path_) -> int | None:
        if self._lines is None:
            self._lines = {}
            _read(self.text, self._lines)
        while at:
            if at in self._lines:
                return self._lines[at]
            at = at[:-1]
        return self._lines.get(())

    def error(self, at: Path_, message: str) -> ConfigError:
        return ConfigError(self.path, self.line(at), dotted(at) or "(top)", message)


def dotted(at: Path_) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


Build = Mapping[Path_, Callable[["Doc", Path_, Any], Any]]


def load(path: str, text: str | None = None, build: Build | None = None) -> Doc:
    """The document at `path` (or `text`). `build` maps the path of a list to a function that turns each of
    its items into what is kept, as soon as the item is read: 100,000 sources become 100,000 small objects
    without 100,000 mappings held until the end of the file."""
    try:
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        doc = Doc(path, None, text)
        value = _read(text, None, doc, build)
    except OSError as exc:
        raise ConfigError(path, None, "(file)", f"cannot read: {exc.strerror}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, line, "(syntax)", str(exc.problem or exc)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, _line_of_byte(path, exc.start), "(file)", "not UTF-8 text") from exc
    except yaml.reader.ReaderError as exc:  # a NUL or another control character: no mark, a position
        line = (text or "")[: exc.position].count("\n") + 1
        raise ConfigError(
            path, line, "(file)", f"control character #x{exc.character:04x} is not allowed"
        ) from exc
    doc.value = value if value is not None else {}
    return doc


MAX_ALIASED = 200_000  # values that aliases may add to a document, each counted every time it is used


class _Size:
    """Values read so far, and those aliases stand for (counted at each use): a billion-laughs document
    fails at its first line past the cap, not after minutes and gigabytes. Values written out are not
    capped: a file of 100,000 sources is as long as it looks. Carries the document and its builders."""

    def __init__(self, doc: Doc | None = None, build: Build | None = None) -> None:
        self.total = 0
        self.aliased = 0
        self.anchored: dict[str, int] = {}
        self.doc, self.build = doc, build or {}

    def add(self, count: int, event: Any, alias: bool = False) -> None:
        self.total += count
        if alias:
            self.aliased += count
            if self.aliased > MAX_ALIASED:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand the document by more than {MAX_ALIASED:,} values",
                    _mark(event),
                )


def _line_of_byte(path: str, offset: int) -> int | None:
    try:
        with open(path, "rb") as f:
            return f.read(offset).count(b"\n") + 1
    except OSError:
        return None


def _read(
    text: str, lines: dict[Path_, int] | None, doc: Doc | None = None, build: Build | None = None
) -> Any:
    """The document's value; with `lines`, also where every value stood."""
    events: Iterator[Any] = yaml.parse(text, Loader=_LOADER)
    value, documents = None, 0
    size = _Size(doc, build)
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream", None, "but found another document",
                    _mark(event),
                )  # fmt: skip
            value = _value(events, next(events), (), lines, {}, size)
    return value


def _mark(event: Any) -> Any:
    return event.start_mark


def _value(events: Iterator[Any], event: Any, at: Path_, lines: dict[Path_, int] | None,
           anchors: dict[str, Any], size: _Size) -> Any:  # fmt: skip
    # Events are typed Any: PyYAML's stubs give their marks a union of the C and Python classes.
    if lines is not None:
        lines[at] = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in anchors:
            raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                              _mark(event))  # fmt: skip
        size.add(size.anchored[event.anchor], event, alias=True)
        return anchors[event.anchor]
    before = size.total
    size.add(1, event)
    if isinstance(event, yaml.ScalarEvent):
        value = _scalar(event)
    elif isinstance(event, yaml.SequenceStartEvent):
        value = []
        for i, child in enumerate(events):  # nested values read on from the same stream
            if isinstance(child, yaml.SequenceEndEvent):
                break
            item = _value(events, child, (*at, i), lines, anchors, size)
            if at in size.build and size.doc is not None:
                item = size.build[at](size.doc, (*at, i), item)
            value.append(item)
    else:  # MappingStartEvent
        value = {}
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            # Keys interned: a 100,000-source file repeats `name:` and `url:` 100,000 times each.
            key = sys.intern(str(key_event.value)) if isinstance(key_event, yaml.ScalarEvent) else _key(
                _value(events, key_event, at, None, anchors, size), key_event)  # fmt: skip
            if key in value:  # a second `subscribers:` would silently replace the first
                raise yaml.composer.ComposerError(None, None, f"duplicate key {key!r}", _mark(key_event))
            value[key] = _value(events, next(events), (*at, key), lines, anchors, size)
            if lines is not None:  # a key's line, not its value's (which may be the next line)
                lines[(*at, key)] = key_event.start_mark.line + 1
    if getattr(event, "anchor", None):
        anchors[event.anchor] = value
        size.anchored[event.anchor] = size.total - before
    return value


def _key(value: Any, event: Any) -> str:
    """A key that is not plain text (a list, a mapping): refused, it names nothing here."""
    if isinstance(value, list | dict):
        raise yaml.composer.ComposerError(None, None, "a key must be plain text", _mark(event))
    return str(value)


def _scalar(event: Any) -> Any:
    """YAML's own typing of a scalar (int, float, bool, null, text), as SafeLoader does it."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    construct: Any = _CONSTRUCTORS.get(tag, _CONSTRUCTORS[None])
    return construct(_SCALARS, node)  # called directly: construct_object() would keep every node


# libyaml's parser when PyYAML has it: three times faster on a 5,000-source file, same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_SCALARS = yaml.SafeLoader("")  # only its scalar constructors are used
_CONSTRUCTORS = yaml.SafeLoader.yaml_constructors


# ---------------------------------------------------------------- records

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(doc: Doc, at: Path_, value: str) -> str:
    """`${NAME}` from the environment, or from the file NAME_FILE names (a Docker secret); a missing
    variable is a configuration error."""

    def sub(m: re.Match[str]) -> str:
        try:
            found = secret(m.group(1))
        except SecretError as exc:
            raise doc.error(at, str(exc)) from exc
        if found is None:
            raise doc.error(at, f"environment variable {m.group(1)} is not set (nor {m.group(1)}_FILE)")
        return found

    return _ENV.sub(sub, value)


@dataclass(frozen=True)
class Field:
    types: type | tuple[type, ...]
    default: Any = ...
    check: Callable[[Any], str | None] | None = None  # returns an error message, or None
    convert: Callable[[Any], Any] | None = None


def record(doc: Doc, at: Path_, value: Any, fields: Mapping[str, Field], what: str) -> dict[str, Any]:
    """Validate a mapping against `fields`: unknown keys, missing keys, types and checks."""
    if not isinstance(value, dict):
        raise doc.error(at, f"{what} must be a mapping, not {type(value).__name__}")
    for key in value:
        if key not in fields:
            raise doc.error((*at, key), f"unknown key (known: {', '.join(fields)})")
    out = {}
    for name, spec in fields.items():
        if name not in value or value[name] is None:
            if spec.default is ...:
                raise doc.error((*at, name) if name in value else at, f"{what} needs '{name}'")
            out[name] = spec.default
            continue
        raw = value[name]
        if (isinstance(raw, bool) and bool not in _as_tuple(spec.types)) or not isinstance(raw, spec.types):
            raise doc.error((*at, name), f"expected {_type_names(spec.types)}, got {raw!r}")
        problem = spec.check(raw) if spec.check else None
        if problem:
            raise doc.error((*at, name), problem)
        out[name] = spec.convert(raw) if spec.convert else raw
    return out


def _as_tuple(types: type | tuple[type, ...]) -> tuple[type, ...]:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {"str": "text", "int": "a whole number", "float": "a number", "bool": "true or false"}
    return " or ".join(names.get(t.__name__, t.__name__) for t in _as_tuple(types))


def str_list(doc: Doc, at: Path_, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise doc.error(at, "expected a list of text")
    return tuple(str(v) for v in value)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")


@lru_cache(maxsize=1024)  # one float per distinct duration, shared by every source that gives it
def duration(value: Any) -> float:
    """Seconds from 90, "90s", "30m", "6h" or "1d"."""
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(value)
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2] or "s"]


MAX_DURATION = 366 * 86400.0


def check_duration(value: Any) -> str | None:
    try:
        seconds = duration(value)
    except ValueError:
        return "expected a duration such as 90, 30m, 6h or 1d"
    if seconds <= 0:
        return "must be more than zero"
    if not 1 <= seconds <= MAX_DURATION:  # .inf crashed the daemon; 1e-6 spun its scheduler
        return "must be from 1 second to a year"
    return None


def between(low: float, high: float) -> Callable[[Any], str | None]:
    """A check that a number lies in [low, high]: values that pass validation never crash at run time."""

    def check(value: Any) -> str | None:
        if isinstance(value, float) and value != value:  # NaN
            return f"must be a number from {low:g} to {high:g}"
        if value <= 0 < low:
            return "must be more than zero"
        return None if low <= value <= high else f"must be from {low:g} to {high:g}"

    return check
