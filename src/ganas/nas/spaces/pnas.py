"""PNAS cell space (Liu et al., ECCV 2018, "Progressive Neural Architecture Search").

One cell of 1..B blocks (B = 5) is used at every position, with stride 2 at the
reduction positions; each block adds the outputs of two ops (the 8 PNAS ops, Sec. 3.1)
applied to two inputs chosen among h_{i-2}, h_{i-1} and the earlier blocks; the cell's
output concatenates all its block outputs (``cell_output=all_blocks``, the authors'
PNASNet-5 code; see ``cell_net``). The network is the one of ``cell_net`` (stem, N cells, a reduction cell, repeated R times,
then N cells). Paper settings (CIFAR-10, PNASNet-5): B=5, N=3, F=48; defaults here use
a small N and C so CPU children are cheap.

Architectures of fewer blocks: the arch tuple of a b-block cell is 4*b choice indices
(in1, in2, op1, op2 per block, the controller order), so the number of blocks is the
tuple's length / 4. ``decisions()`` lists the decisions of a full B-block cell;
``sample``/``enumerate``/``size`` cover full cells, while ``validate``, ``to_string``,
``from_string``, ``to_vector``, ``neighbors`` and ``build`` accept any 1..B-block cell.
The string is the blocks joined by ';' (``0:sep_conv_3x3,1:identity;2:max_pool_3x3,0:sep_conv_5x5``),
so it says how many blocks the cell has.

Progressive growth (PNAS Sec. 3.2): ``progressive_levels() = B``; ``initial()`` = all
1-block cells; ``expand(cell)`` = every way to append one block; ``complete(cell)`` =
the cell itself. Symmetry: a block's two branches are added, so (in1, op1, in2, op2)
and (in2, op2, in1, op1) are the same block. The paper counts 2^2 * 8^2 = 256 1-block
cells and 136 after removing these duplicates; we keep the canonical order
(in1, op1) <= (in2, op2) (lexicographic on input index, then op index) for every block
that ``initial``/``expand`` produce: 136 = 16*17/2 one-block cells, and each b-block
cell has (2+b)*8 * ((2+b)*8 + 1) / 2 children (300 for b=1). ``canonical(arch)``
brings any cell to that form.
NOTE: cells that differ only by the order of independent blocks are not merged (the
paper does not merge them either).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Literal, Sequence

from ...errors import ConfigError
from ..base import SPACES, Arch, Decision
from .cell_space import CellNetSettings, CellSpaceBase
from .common import bad_string

PNAS_OPS = (
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "conv_1x7_7x1",
    "identity",
    "avg_pool_3x3",
    "max_pool_3x3",
    "dil_conv_3x3",
)


@dataclass
class PNASSettings(CellNetSettings):
    """``blocks``: B, the largest cell; see ``CellNetSettings`` for the network settings."""

    blocks: int = 5
    # the authors' PNASNet code: all B block outputs (see cell_net); "unused_blocks" is
    # ganas's earlier rule (only those no later block reads)
    cell_output: Literal["all_blocks", "unused_states", "unused_blocks"] = "all_blocks"
    size_key: ClassVar[str] = "blocks"


@SPACES.register("pnas", help="PNAS cell of 1..B blocks, 8 ops, addition; progressive growth")
class PNASSpace(CellSpaceBase):
    """The PNAS search space (see the module docstring)."""

    name = "pnas"
    Settings: ClassVar[type] = PNASSettings
    OPS = PNAS_OPS
    WITH_COMBINE = False
    EXAMPLE = "0:sep_conv_3x3,1:identity;2:max_pool_3x3,0:sep_conv_5x5"

    def decisions(self) -> list[Decision]:
        ds: list[Decision] = []
        for b in range(self.settings.blocks):
            ds += self.block_decisions(b)
        return ds

    def validate(self, arch: Arch) -> None:
        arch = tuple(arch)
        w, B = self.block_width, self.settings.blocks
        if not arch or len(arch) % w or len(arch) // w > B:
            raise ConfigError(f"space 'pnas': a cell of 1..{B} blocks has 4*b choices, got {len(arch)}: {arch}")
        for a, d in zip(arch, self.decisions()):
            if not isinstance(a, int) or not 0 <= a < d.n:
                raise ConfigError(f"space 'pnas': decision {d.name!r} takes 0..{d.n - 1}, got {a!r}")

    def num_blocks(self, arch: Arch) -> int:
        return len(arch) // self.block_width

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Every cell with the same number of blocks differing in one decision."""
        self.validate(arch)
        arch = tuple(arch)
        ds = self.decisions()
        return [arch[:i] + (c,) + arch[i + 1 :] for i in range(len(arch)) for c in range(ds[i].n) if c != arch[i]]

    def to_string(self, arch: Arch) -> str:
        self.validate(arch)
        return self.blocks_text(tuple(arch))

    def from_string(self, s: str) -> Arch:
        text = s.strip()
        if not text or text.count(";") + 1 > self.settings.blocks:
            raise bad_string(self.name, s, f"need 1..{self.settings.blocks} blocks separated by ';'", self.EXAMPLE)
        return tuple(self.parse_blocks(s, text))

    def spec(self, arch: Arch) -> dict[str, Any]:
        # one cell for normal and reduction positions (stride 2 there)
        return self.net_spec(tuple(arch), tuple(arch))

    # -- progressive growth ---------------------------------------------------------
    @staticmethod
    def _canonical_block(v: Sequence[int]) -> tuple[int, ...]:
        (i1, o1), (i2, o2) = sorted([(v[0], v[2]), (v[1], v[3])])
        return (i1, i2, o1, o2)

    def canonical(self, arch: Arch) -> Arch:
        """``arch`` with every block's two branches in canonical order."""
        self.validate(arch)
        out: tuple[int, ...] = ()
        for k in range(0, len(arch), 4):
            out += self._canonical_block(arch[k : k + 4])
        return out

    def _blocks_at(self, b: int) -> Iterable[tuple[int, ...]]:
        """Every canonical block at position b (0-based)."""
        pairs = [(i, o) for i in range(2 + b) for o in range(len(self.OPS))]
        for x in range(len(pairs)):
            for y in range(x, len(pairs)):
                (i1, o1), (i2, o2) = pairs[x], pairs[y]
                yield (i1, i2, o1, o2)

    def progressive_levels(self) -> int:
        return self.settings.blocks

    def initial(self) -> list[Arch]:
        return [blk for blk in self._blocks_at(0)]

    def expand(self, partial: Any) -> list[Arch]:
        self.validate(partial)
        b = self.num_blocks(partial)
        if b >= self.settings.blocks:
            return []
        return [tuple(partial) + blk for blk in self._blocks_at(b)]

    def complete(self, partial: Any) -> Arch:
        self.validate(partial)
        return tuple(partial)
