"""What every search space shares: typed settings, ``make_space``, validation with
clear errors, and ``export_source``.

Each space keeps its network builder in a module that imports only torch
(``nb201_net``, ``macro_net``, ``cell_net``) and exposes
``build(spec, input_shape, num_classes)`` where ``spec`` is a plain literal (dicts,
lists, strings, ints). ``SearchSpace.build`` calls that function; ``export_source``
returns that module's source plus the spec literal and a ``build_model()`` function,
so an exported network needs no ganas import.
"""

from __future__ import annotations

import dataclasses
import inspect
from types import ModuleType
from typing import Any, ClassVar, Mapping

from torch import nn

from ...config import replace, to_dict
from ...errors import ConfigError
from ..base import SPACES, Arch, SearchSpace


class SpaceBase(SearchSpace):
    """A ``SearchSpace`` with a settings dataclass (``Settings``) and a torch-only builder.

    Subclasses define ``Settings`` (a dataclass with defaults), ``builder`` (the
    torch-only module) and ``spec(arch)`` (the plain literal the builder takes).
    """

    Settings: ClassVar[type]
    builder: ClassVar[ModuleType]

    def __init__(self, settings: Any = None) -> None:
        if settings is None or isinstance(settings, Mapping):
            settings = replace(self.Settings(), dict(settings or {}))
        elif not isinstance(settings, self.Settings):
            raise ConfigError(f"space {self.name!r}: settings must be a {self.Settings.__name__} or a dict")
        self.settings = settings

    def settings_dict(self) -> dict[str, Any]:
        """The settings as plain builtins (for journals and reports)."""
        return to_dict(self.settings)

    def validate(self, arch: Arch) -> None:
        ds = self.decisions()
        arch = tuple(arch)
        if len(arch) != len(ds):
            raise ConfigError(f"space {self.name!r}: an architecture has {len(ds)} choices, got {len(arch)}: {arch}")
        for a, d in zip(arch, ds):
            if not isinstance(a, int) or not 0 <= a < d.n:
                raise ConfigError(f"space {self.name!r}: decision {d.name!r} takes 0..{d.n - 1}, got {a!r}")

    def spec(self, arch: Arch) -> Any:
        """The plain literal that ``builder.build`` takes for ``arch``."""
        raise NotImplementedError

    def build(self, arch: Arch, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
        self.validate(arch)
        return self.builder.build(self.spec(arch), tuple(input_shape), int(num_classes))

    def export_source(self, arch: Arch, input_shape: tuple[int, int, int], num_classes: int) -> str:
        """A standalone Python file (torch only) defining the network and ``build_model()``."""
        self.validate(arch)
        body = inspect.getsource(self.builder)
        shape = tuple(int(x) for x in input_shape)
        return (
            f"# Exported by ganas from search space {self.name!r}: {self.to_string(arch)}\n"
            + body.rstrip()
            + "\n\n\n"
            + f"SPEC = {self.spec(arch)!r}\n"
            + f"INPUT_SHAPE = {shape!r}\n"
            + f"NUM_CLASSES = {int(num_classes)!r}\n\n\n"
            + "def build_model() -> nn.Module:\n"
            + '    """The exported network, untrained."""\n'
            + "    return build(SPEC, INPUT_SHAPE, NUM_CLASSES)\n"
        )


def make_space(name: str, overrides: Mapping[str, Any] | None = None) -> SearchSpace:
    """Create the search space ``name`` with its settings changed by ``overrides``
    (strings are coerced; unknown keys are refused with the list of valid ones)."""
    return SPACES.create(name, dict(overrides or {}))


def settings_fields(space: SpaceBase) -> list[str]:
    return [f.name for f in dataclasses.fields(space.Settings)]


def bad_string(space: str, s: str, why: str, example: str) -> ConfigError:
    """The error for an architecture string that does not parse."""
    return ConfigError(f"space {space!r}: cannot read architecture {s!r}: {why}; expected e.g. {example!r}")
