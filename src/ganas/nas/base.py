"""The four-way split of architecture search (as NNI does it).

- ``SearchSpace``: describes architectures, encodes/decodes them and builds modules.
- ``Strategy``: proposes architectures and receives results. Nothing else: it imports
  no evaluator and no executor.
- ``Evaluator``: turns an architecture into metrics (trains a child, or looks up a table).
- ``Executor``: runs evaluations (in-process, threads, or Ray workers) -- one class each.

Strategies that keep stateful helpers elsewhere (the parameter server of
``reinforce-ps``) get an ``ActorHost`` through ``Strategy.bind``: in-process objects
with the local executor, Ray actors with the Ray executor. The strategy never knows
which.

An architecture is a tuple of choice indices, one per ``Decision`` of its space, in the
space's fixed decision order. ``SearchSpace.to_string`` gives the canonical string
(journals, tables and the CLI use strings; strategies use tuples/vectors).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

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


class Call(Protocol):
    """The pending result of a call on an actor."""

    def result(self) -> Any: ...

    def done(self) -> bool: ...


class ActorRef(Protocol):
    def call(self, method: str, *args: Any) -> Call: ...


class ActorHost(Protocol):
    """Where a strategy may place stateful helpers (``spawn(cls, *args)``)."""

    def spawn(self, cls: type, *args: Any, **kwargs: Any) -> ActorRef: ...


class _Now:
    """An already finished call."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value

    def done(self) -> bool:
        return True


class _LocalRef:
    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def call(self, method: str, *args: Any) -> _Now:
        return _Now(getattr(self.obj, method)(*args))


class InProcessHost:
    """The ``ActorHost`` of in-process execution: plain objects, calls run at once."""

    def spawn(self, cls: type, *args: Any, **kwargs: Any) -> _LocalRef:
        return _LocalRef(cls(*args, **kwargs))


class Strategy(ABC):
    """Proposes architectures (``ask``) and receives their results (``tell``).

    The search loop asks whenever a worker is free and tells each result as it arrives
    (in arrival order, which with several workers is not the order of the asks).
    ``ask`` may return None: "nothing until more results arrive" (a synchronous
    parameter server at its barrier); the loop then waits for a result.
    """

    name: str = ""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.seed = seed

    @abstractmethod
    def ask(self) -> Arch | None: ...

    def bind(self, host: ActorHost) -> None:
        """Called by the search loop, before any state is loaded, with the executor's
        actor host. Most strategies keep everything in-process and ignore it."""

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
    """Turns an architecture into an ``EvalResult``.

    The worker that runs it decides where: it calls ``place(device)`` once before its
    first evaluation. ``placement_keys`` name the settings ``place`` changes; a resumed
    search may differ in them (a CPU search may move onto GPU workers). An evaluator is
    pickled to every worker, so it must not carry loaded data when pickled (load it
    lazily, once per worker).
    """

    name: str = ""
    placement_keys: tuple[str, ...] = ()

    def place(self, device: str) -> None:
        """Run on ``device`` ("cpu", "cuda", "cuda:1"...). Default: nothing to place."""

    @abstractmethod
    def evaluate(self, space: SearchSpace, arch: Arch, seed: int = 0) -> EvalResult: ...


SPACES: Registry[SearchSpace] = Registry("search space")
STRATEGIES: Registry[Strategy] = Registry("strategy")
EVALUATORS: Registry[Evaluator] = Registry("evaluator")
EXECUTORS: Registry[Any] = Registry("executor")
