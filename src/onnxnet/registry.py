"""A tiny name -> object registry with a decorator, for the things users extend.

Search spaces, encodings, predictors and losses each have one registry; adding a new one is one file
that decorates its class with ``@REGISTRY.register("name")``.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from onnxnet.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to registered objects (usually classes) of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name`` (names are case-insensitive)."""

        def deco(obj: T) -> T:
            key = name.lower()
            if key in self._items and self._items[key] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[key] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        """Return the object registered as ``name``, or raise a clear error listing the choices."""
        try:
            return self._items[name.lower()]
        except KeyError:
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(sorted(self._items))}"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
