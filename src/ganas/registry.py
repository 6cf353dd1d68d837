"""Registries by name, the way timm's register_model/create_model/list_models work.

Every extensible axis (GAN methods, datasets, NAS spaces, strategies, evaluators,
executors) has one ``Registry``. Entries are factories (usually classes); nothing is
constructed until ``create`` is called. The first look-up of any registry loads the
``ganas.plugins`` entry points (``ganas.plugins``), so a user's own entries are found
by name like the built-in ones.
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

    @property
    def _table(self) -> dict[str, Entry[T]]:
        """The entries, after loading the plugins (once per process)."""
        from .plugins import load_plugins

        load_plugins()
        return self._entries

    def get(self, name: str) -> Entry[T]:
        entries = self._table
        try:
            return entries[name]
        except KeyError:
            valid = ", ".join(sorted(entries)) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {valid}") from None

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        return self.get(name).factory(*args, **kwargs)

    def list(self) -> list[str]:
        return sorted(self._table)

    def describe(self) -> dict[str, str]:
        return {n: self._table[n].help for n in self.list()}

    def __contains__(self, name: object) -> bool:
        return name in self._table

    def unregister(self, name: str) -> None:
        """Remove an entry (tests that register temporary entries clean up with it)."""
        self._entries.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self._table)
