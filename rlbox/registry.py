"""Name -> object registries whose entries are imported only when looked up.

Agents (rlbox.catalog) and backbones (rlbox.nn.backbone) are registered as "module:attribute"
strings, so that `import rlbox` stays fast and optional dependencies (SB3, TensorFlow) are
imported only when their entry is used.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from rlbox.errors import RlboxError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, str] = {}

    def register(self, name: str, target: str) -> None:
        """Register `target` ("package.module:attribute") under `name`."""
        if name in self._entries and self._entries[name] != target:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise RlboxError(unknown_name_message(self.kind, name, self.names()))
        module_name, attribute = self._entries[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)


def unknown_name_message(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; known: {', '.join(known)}"
