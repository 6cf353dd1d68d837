"""Plugins: a user's own methods, datasets, spaces, strategies... through entry points.

A distribution declares entry points in the group ``ganas.plugins``; each names a module
(importing it registers its entries, e.g. with ``@SPACES.register("mine")``) or a
callable (called with no arguments; it registers them)::

    # pyproject.toml of the user's package
    [project.entry-points."ganas.plugins"]
    mine = "my_package.ganas_plugin"            # a module
    more = "my_package.other:register"          # or a callable

Plugins load lazily: the first time any registry is looked up or listed (``ganas list``,
``ganas search --space mine``, ``make_space("mine")``), once per process. A plugin that
fails to load is reported with a warning naming it, and the others still load.
``GANAS_NO_PLUGINS=1`` turns loading off.
"""

from __future__ import annotations

import importlib.metadata
import os
import types
import warnings

GROUP = "ganas.plugins"

#: the packages whose import registers the built-in entries
BUILTINS = ("ganas.data", "ganas.gan", "ganas.metrics", "ganas.nas.spaces", "ganas.nas.strategies",
            "ganas.nas.evaluators", "ganas.nas.executors")

_state = {"loaded": False}
#: "name = value" of every plugin entry point loaded so far
LOADED: list[str] = []


def load_plugins(force: bool = False) -> list[str]:
    """Load every ``ganas.plugins`` entry point (once; ``force`` loads them again).

    Returns the entry points loaded by this call, as ``"name = value"``.
    """
    if (_state["loaded"] and not force) or os.environ.get("GANAS_NO_PLUGINS", "") not in ("", "0"):
        return []
    _state["loaded"] = True  # first: a plugin that looks a registry up must not recurse
    eps = list(importlib.metadata.entry_points(group=GROUP))
    if eps:  # built-ins first, so a plugin reusing a built-in name is the one refused
        for mod in BUILTINS:
            importlib.import_module(mod)
    done: list[str] = []
    for ep in eps:
        label = f"{ep.name} = {ep.value}"
        try:
            obj = ep.load()
            if not isinstance(obj, types.ModuleType):
                if not callable(obj):
                    raise TypeError(f"{ep.value} is neither a module nor a callable")
                obj()
        except Exception as e:  # noqa: BLE001 - one broken plugin must not take ganas down
            warnings.warn(f"ganas plugin {label!r} (entry point group {GROUP!r}) failed to load: "
                          f"{type(e).__name__}: {e}", stacklevel=2)
            continue
        done.append(label)
    LOADED.extend(done)
    return done


def reset() -> None:
    """Forget that plugins were loaded (the next registry look-up loads them again)."""
    _state["loaded"] = False
    LOADED.clear()
