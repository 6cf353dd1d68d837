"""NAS-Bench-201 topology space (Dong & Yang, ICLR 2020; NATS-Bench "tss").

A cell is a 4-node DAG with 6 edges (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2), each one of
5 ops (none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3): 5**6 = 15,625
cells. The canonical string is the benchmark's ``arch_str``:
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``; the decision order is the edge order of that
string, and choice indices follow ``NB201_OPS`` (the order of the reference code's
``NAS_BENCH_201`` op list).

Progressive growth (for PNAS-style strategies), by node:

- level 1 assigns the edge into node 1 (5 partial cells),
- level 2 the two edges into node 2 (x25),
- level 3 the three edges into node 3 (x125).

A partial cell is the prefix of the full arch tuple (length 1, 3 or 6). The cell's
output is node 3, so unassigned edges cannot simply be ``none``: node 3 would be all
zeros and every partial cell would score the same. ``complete`` makes the newest
assigned node the output instead: the edge from it to the next node is
``skip_connect`` and the other unassigned edges are ``none``. Node 3 then equals the
newest node, so the completed cell computes exactly the partial DAG (same function,
same parameters) and is itself one of the 15,625 benchmark cells, so tabular
evaluators can score partial cells too. E.g. level 1 ``(nor_conv_3x3,)`` completes to
``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

from ...errors import ConfigError
from ..base import SPACES, Arch, Decision
from . import nb201_net
from .common import SpaceBase, bad_string
from .nb201_net import NB201_EDGES, NB201_OPS

_EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
# progressive levels: number of arch entries assigned after level k (edges into node k)
_LEVEL_END = (0, 1, 3, 6)


@dataclass
class NB201Settings:
    """``C``: channels of the first stage (16 in the benchmark); ``N``: cells per stage (5)."""

    C: int = 16
    N: int = 5

    def validate(self) -> None:
        if self.C < 1 or self.N < 1:
            raise ConfigError(f"nb201: C and N must be >= 1 (got C={self.C}, N={self.N})")


@SPACES.register("nb201", help="NAS-Bench-201 cell: 6 edges x 5 ops (15,625 cells)")
class NB201Space(SpaceBase):
    """NAS-Bench-201 topology search space (see the module docstring)."""

    name = "nb201"
    Settings: ClassVar[type] = NB201Settings
    builder = nb201_net

    def decisions(self) -> list[Decision]:
        return [Decision(f"edge{i}<-{j}", NB201_OPS) for i, j in NB201_EDGES]

    def to_string(self, arch: Arch) -> str:
        self.validate(arch)
        parts, k = [], 0
        for node in range(1, 4):
            ops = []
            for j in range(node):
                ops.append(f"{NB201_OPS[arch[k]]}~{j}")
                k += 1
            parts.append("|" + "|".join(ops) + "|")
        return "+".join(parts)

    def from_string(self, s: str) -> Arch:
        text = s.strip()
        nodes = text.split("+")
        if len(nodes) != 3:
            raise bad_string(self.name, s, f"{len(nodes)} nodes separated by '+', need 3", _EXAMPLE)
        arch: list[int] = []
        for node, part in enumerate(nodes, start=1):
            if not (part.startswith("|") and part.endswith("|")) or len(part) < 2:
                raise bad_string(self.name, s, f"node {node} {part!r} must look like |op~0|...|", _EXAMPLE)
            edges = part[1:-1].split("|")
            if len(edges) != node:
                raise bad_string(self.name, s, f"node {node} needs {node} edges, got {len(edges)}", _EXAMPLE)
            for j, edge in enumerate(edges):
                op, sep, src = edge.partition("~")
                if not sep or src != str(j):
                    raise bad_string(self.name, s, f"edge {edge!r} of node {node} must be 'op~{j}'", _EXAMPLE)
                if op not in NB201_OPS:
                    raise bad_string(self.name, s, f"unknown op {op!r} (valid: {', '.join(NB201_OPS)})", _EXAMPLE)
                arch.append(NB201_OPS.index(op))
        return tuple(arch)

    def spec(self, arch: Arch) -> dict[str, Any]:
        return {"ops": [NB201_OPS[a] for a in arch], "C": self.settings.C, "N": self.settings.N}

    # -- progressive growth by node (see the module docstring) ---------------------
    def progressive_levels(self) -> int:
        return 3

    def _level(self, partial: Any) -> int:
        p = tuple(partial)
        if len(p) not in _LEVEL_END[1:] or any(not isinstance(a, int) or not 0 <= a < len(NB201_OPS) for a in p):
            raise ConfigError(f"nb201: a partial cell is a tuple of 1, 3 or 6 op indices, got {partial!r}")
        return _LEVEL_END.index(len(p))

    def initial(self) -> list[Arch]:
        return [(a,) for a in range(len(NB201_OPS))]

    def expand(self, partial: Any) -> list[Arch]:
        level = self._level(partial)
        if level == 3:
            return []
        width = _LEVEL_END[level + 1] - _LEVEL_END[level]
        return [tuple(partial) + ext for ext in itertools.product(range(len(NB201_OPS)), repeat=width)]

    def complete(self, partial: Any) -> Arch:
        level = self._level(partial)
        arch = list(partial)
        none, skip = NB201_OPS.index("none"), NB201_OPS.index("skip_connect")
        newest = level  # the newest assigned node becomes the output
        for node in range(level + 1, 4):
            for j in range(node):
                arch.append(skip if j == newest else none)
            newest = node
        return tuple(arch)
