"""Registries by name, the way timm's register_model/create_model/list_models work.

Every extensible axis (GAN methods, datasets, NAS spaces, strategies, evaluators,
executors) has one ``Registry``. Entries are factories (usually classes); nothing is
constructed until ``create`` is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterator, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    factory: Callable[..., T]
    help: str


class Registry(Generic[T]):
    """A name -> factory table for one kind of thing (``kind`` is used in messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str | None = None, *, help: str = "") -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: ``@REG.register("dcgan", help="...")``."""

        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            key = name or getattr(factory, "__name__", None)
            if not key:
                raise ValueError("registry entries need a name")
            if key in self._entries and self._entries[key].factory is not factory:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            doc = help or (factory.__doc__ or "").strip().splitlines()[0:1]
            self._entries[key] = Entry(key, factory, doc if isinstance(doc, str) else (doc[0] if doc else ""))
            return factory

        return deco

    def get(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(sorted(self._entries)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        return self.get(name).factory(*args, **kwargs)

    def list(self) -> list[str]:
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        return {n: self._entries[n].help for n in self.list()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._entries)
