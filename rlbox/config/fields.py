"""Config fields: a dataclass field with a help text, value checks, and coercion of values from
the command line or YAML to a field's type. Agents declare their configs with these."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field
from typing import Any, Literal

from rlbox.errors import ConfigError
from rlbox.errors import check as check  # where config dataclasses have always found it


def param(default: Any, help: str) -> Any:
    """A dataclass field with a help text that `rlbox list --config` shows; a mapping default
    is copied for each instance."""
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


def default_of(f: dataclasses.Field) -> Any:
    """A field's default value, whether given directly or by a factory."""
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def field_type(cls: type, key: str) -> Any:
    return typing.get_type_hints(cls)[key]


def coerce(key: str, value: Any, annotation: Any) -> Any:
    """Convert `value` to `annotation`: int, float, bool, str, Literal, and nested tuple[X, ...]
    and dict[K, V] of those (from YAML lists and mappings or `a,b` / `k:v,k:v` strings)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(
                f"invalid value for {key!r}: expected one of {list(choices)}, got {value!r}"
            )
        return value
    if origin in (typing.Union, types.UnionType):
        raise TypeError(f"config field {key!r}: union types are not supported")
    if origin is dict:
        key_type, value_type = typing.get_args(annotation)
        if isinstance(value, str) and value.strip():  # --set key=a:1,b:2
            pairs = [item.partition(":") for item in value.split(",") if item.strip()]
            if any(not sep for _, sep, _ in pairs):
                raise ConfigError(f"invalid value for {key!r}: expected a mapping, got {value!r}")
            value = {k.strip(): v.strip() for k, _, v in pairs}
        if not isinstance(value, dict):
            raise ConfigError(f"invalid value for {key!r}: expected a mapping, got {value!r}")
        return {
            coerce(f"{key}.{k}", k, key_type): coerce(f"{key}.{k}", v, value_type)
            for k, v in value.items()
        }
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        if isinstance(value, str):
            value = [v for v in value.strip("[]() ").split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"invalid value for {key!r}: expected a list, got {value!r}")
        return tuple(coerce(key, v, item_type) for v in value)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
    elif annotation is int:
        number = _number(value)
        if number is not None and float(number).is_integer():
            return int(number)
    elif annotation is float:
        number = _number(value)
        if number is not None:
            return float(number)
    elif annotation is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"config field {key!r}: unsupported type {annotation!r}")
    raise ConfigError(f"invalid value for {key!r}: expected {annotation.__name__}, got {value!r}")


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def describe(cls: type) -> list[tuple[str, str, Any, str]]:
    """(key, type, default, help) for each field, for `rlbox list --config`."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        type_name = getattr(hints[f.name], "__name__", str(hints[f.name]))
        rows.append((f.name, type_name, default_of(f), f.metadata.get("help", "")))
    return rows


def to_plain(value: Any) -> Any:
    """Tuples become lists so that YAML and JSON hold only plain types."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value
