"""The four-way split of architecture search (as NNI does it).

- ``SearchSpace``: describes architectures, encodes/decodes them and builds modules.
- ``Strategy``: proposes architectures and receives results. Nothing else: it imports
  no evaluator and no executor.
- ``Evaluator``: turns an architecture into metrics (trains a child, or looks up a table).
- ``Executor``: runs evaluations (in-process now; Ray later) -- one class each.

An architecture is a tuple of choice indices, one per ``Decision`` of its space, in the
space's fixed decision order. ``SearchSpace.to_string`` gives the canonical string
(journals, tables and the CLI use strings; strategies use tuples/vectors).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from torch import nn

from ..registry import Registry

Arch = tuple  # tuple[int, ...]: one choice index per decision


@dataclass(frozen=True)
class Decision:
    """One categorical decision: the controller emits one token over ``choices``."""

    name: str
    choices: tuple[Any, ...]

    @property
    def n(self) -> int:
        return len(self.choices)


class SearchSpace(ABC):
    """A space of architectures; subclasses register in ``SPACES``."""

    name: str = ""

    @abstractmethod
    def decisions(self) -> list[Decision]: ...

    def sample(self, rng: random.Random) -> Arch:
        return tuple(rng.randrange(d.n) for d in self.decisions())

    @abstractmethod
    def to_string(self, arch: Arch) -> str: ...

    @abstractmethod
    def from_string(self, s: str) -> Arch: ...

    def to_vector(self, arch: Arch) -> list[int]:
        return list(arch)

    def from_vector(self, v: Sequence[int]) -> Arch:
        arch = tuple(int(x) for x in v)
        self.validate(arch)
        return arch

    def validate(self, arch: Arch) -> None:
        ds = self.decisions()
        if len(arch) != len(ds) or any(not 0 <= a < d.n for a, d in zip(arch, ds)):
            raise ValueError(f"not an architecture of space {self.name!r}: {arch}")

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Every architecture differing in exactly one decision (mutation)."""
        out = []
        for i, d in enumerate(self.decisions()):
            for c in range(d.n):
                if c != arch[i]:
                    out.append(arch[:i] + (c,) + arch[i + 1 :])
        return out

    def size(self) -> int:
        n = 1
        for d in self.decisions():
            n *= d.n
        return n

    def enumerate(self) -> Iterator[Arch]:
        import itertools

        return iter(itertools.product(*[range(d.n) for d in self.decisions()]))

    @abstractmethod
    def build(self, arch: Arch, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module: ...

    # -- progressive growth (PNAS); spaces that support it override these ----------
    def progressive_levels(self) -> int:
        """Number of growth stages (B blocks for cell spaces); 0: not supported."""
        return 0

    def initial(self) -> list[Any]:
        """All partial architectures of the first level."""
        raise NotImplementedError(f"space {self.name!r} does not support progressive growth")

    def expand(self, partial: Any) -> list[Any]:
        """Every one-level extension of a partial architecture."""
        raise NotImplementedError

    def complete(self, partial: Any) -> Arch:
        """A partial architecture as an evaluable architecture of this space."""
        raise NotImplementedError


class Strategy(ABC):
    """Proposes architectures (``ask``) and receives their results (``tell``)."""

    name: str = ""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed

    @abstractmethod
    def ask(self) -> Arch: ...

    @abstractmethod
    def tell(self, arch: Arch, reward: float) -> None: ...

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue, RNG state included."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass
class EvalResult:
    """What an evaluator returns: ``reward`` drives the search; the rest is reported."""

    reward: float
    metrics: dict[str, float] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)  # params, flops, seconds
    # per-epoch series, e.g. {"val_acc": [fraction after epoch 1, 2, ...]} (train evaluator)
    curve: dict[str, list[float]] = field(default_factory=dict)


class Evaluator(ABC):
    name: str = ""

    @abstractmethod
    def evaluate(self, space: SearchSpace, arch: Arch, seed: int = 0) -> EvalResult: ...


SPACES: Registry[SearchSpace] = Registry("search space")
STRATEGIES: Registry[Strategy] = Registry("strategy")
EVALUATORS: Registry[Evaluator] = Registry("evaluator")
EXECUTORS: Registry[Any] = Registry("executor")
