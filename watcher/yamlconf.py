"""YAML with line numbers, and small typed-record validation whose errors name file, line and field.

PyYAML's composer keeps a mark on every node; we turn the node tree into plain Python values while
remembering where each one stood, so `sources[3].interval` can be reported as `sources.yaml:27`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import ConfigError

Path_ = tuple[str | int, ...]


@dataclass
class Doc:
    """A loaded YAML document: its value and the line of every value in it (1-based)."""

    path: str
    value: Any
    lines: dict[Path_, int]

    def line(self, at: Path_) -> int | None:
        while at:
            if at in self.lines:
                return self.lines[at]
            at = at[:-1]
        return self.lines.get(())

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
        node = yaml.compose(text, Loader=_LOADER)
    except OSError as exc:
        raise ConfigError(path, None, "(file)", f"cannot read: {exc.strerror}") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, line, "(syntax)", str(exc.problem or exc)) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, "(file)", "not UTF-8 text") from exc
    lines: dict[Path_, int] = {}
    value = _convert(node, (), lines) if node is not None else {}
    return Doc(path, value, lines)


def _convert(node: yaml.Node, at: Path_, lines: dict[Path_, int]) -> Any:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            lines[(*at, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*at, key), lines)
            lines[(*at, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, (*at, i), lines) for i, child in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)


# libyaml's composer when PyYAML has it: three times faster on a 5,000-source file, same marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.SafeLoader("")  # only its constructor is used: YAML's own typing of scalars


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
