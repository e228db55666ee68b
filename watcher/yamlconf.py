"""YAML with line numbers, and small typed-record validation whose errors name file, line and field.

The file is read from libyaml's event stream straight into plain Python values: no node tree is kept
(a 5,000-source file's tree was 20 MB at its peak). Lines are only wanted for an error message, so they
are found then, by reading the events once more, and `sources[3].interval` is reported as
`sources.yaml:27`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError

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


def load(path: str, text: str | None = None) -> Doc:
    try:
        if text is None:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        value = _read(text, None)
    except OSError as exc:
        raise ConfigError(path, None, "(file)", f"cannot read: {exc.strerror}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, line, "(syntax)", str(exc.problem or exc)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, "(file)", "not UTF-8 text") from exc
    return Doc(path, value if value is not None else {}, text)


def _read(text: str, lines: dict[Path_, int] | None) -> Any:
    """The document's value; with `lines`, also where every value stood."""
    events: Iterator[Any] = yaml.parse(text, Loader=_LOADER)
    value, documents = None, 0
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.composer.ComposerError(
                    "expected a single document in the stream", None, "but found another document",
                    _mark(event),
                )  # fmt: skip
            value = _value(events, next(events), (), lines, {})
    return value


def _mark(event: Any) -> Any:
    return event.start_mark


def _value(events: Iterator[Any], event: Any, at: Path_, lines: dict[Path_, int] | None,
           anchors: dict[str, Any]) -> Any:  # fmt: skip
    # Events are typed Any: PyYAML's stubs give their marks a union of the C and Python classes.
    if lines is not None:
        lines[at] = event.start_mark.line + 1
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in anchors:
            raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                              _mark(event))  # fmt: skip
        return anchors[event.anchor]
    if isinstance(event, yaml.ScalarEvent):
        value = _scalar(event)
    elif isinstance(event, yaml.SequenceStartEvent):
        value = []
        for i, child in enumerate(events):  # nested values read on from the same stream
            if isinstance(child, yaml.SequenceEndEvent):
                break
            value.append(_value(events, child, (*at, i), lines, anchors))
    else:  # MappingStartEvent
        value = {}
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            key = str(key_event.value) if isinstance(key_event, yaml.ScalarEvent) else str(
                _value(events, key_event, at, None, anchors))  # fmt: skip
            value[key] = _value(events, next(events), (*at, key), lines, anchors)
            if lines is not None:  # a key's line, not its value's (which may be the next line)
                lines[(*at, key)] = key_event.start_mark.line + 1
    if getattr(event, "anchor", None):
        anchors[event.anchor] = value
    return value


def _scalar(event: Any) -> Any:
    """YAML's own typing of a scalar (int, float, bool, null, text), as SafeLoader does it."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
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
    """`${NAME}` from the environment; a missing variable is a configuration error."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise doc.error(at, f"environment variable {m.group(1)} is not set")
        return os.environ[m.group(1)]

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


def duration(value: Any) -> float:
    """Seconds from 90, "90s", "30m", "6h" or "1d"."""
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(value)
    return float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2] or "s"]


def check_duration(value: Any) -> str | None:
    try:
        return None if duration(value) > 0 else "must be more than zero"
    except ValueError:
        return "expected a duration such as 90, 30m, 6h or 1d"
