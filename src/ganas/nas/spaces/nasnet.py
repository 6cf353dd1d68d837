"""NASNet cell space (Zoph, Vasudevan, Shlens & Le, CVPR 2018).

An architecture is a normal cell and a reduction cell of B blocks each (B = 5 in the
paper). Each block picks two inputs (h_{i-2}, h_{i-1} or an earlier block of the same
cell), an op for each from the paper's 13 ops, and a combination (add or concat); see
``cell_space`` for the encoding and ``cell_net`` for the network (stem, then N normal
cells and a reduction cell, repeated R times, then N normal cells; filters double at
each reduction; reduction cells apply stride 2 to ops on cell inputs; h_{i-2} goes
through a factorized reduction when its size does not match). A cell's output is the
concatenation of its unused hidden states, an unused cell input included
(``cell_output=unused_states``, the authors' code; ``unused_blocks`` for block outputs
only).

The decision order is the controller's (normal cell, then reduction cell; per block
in1, in2, op1, op2, combine). The string is
``normal=0:sep_conv_3x3,1:identity,add;...|reduction=...``.

Paper settings (CIFAR-10): B=5, R=2, N=6 with 32 initial filters for NASNet-A
(6 @ 768); the search phase trained smaller children. Defaults here are the paper's
B and R with a small N and C so CPU children are cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..base import SPACES, Arch, Decision
from .cell_net import CELL_OPS
from .cell_space import CellNetSettings, CellSpaceBase
from .common import bad_string

NASNET_OPS = tuple(CELL_OPS)  # the 13 ops of Zoph et al. 2018, Sec. 3


@dataclass
class NASNetSettings(CellNetSettings):
    """``B`` blocks per cell; see ``CellNetSettings`` for the network settings."""

    B: int = 5
    # the authors' code: every unused hidden state, cell inputs included (see cell_net);
    # "unused_blocks" is ganas's earlier rule (block outputs only)
    cell_output: Literal["unused_states", "all_blocks", "unused_blocks"] = "unused_states"
    size_key: ClassVar[str] = "B"


@SPACES.register("nasnet", help="NASNet normal + reduction cells of B blocks, 13 ops, add/concat")
class NASNetSpace(CellSpaceBase):
    """The NASNet search space (see the module docstring)."""

    name = "nasnet"
    Settings: ClassVar[type] = NASNetSettings
    OPS = NASNET_OPS
    WITH_COMBINE = True
    EXAMPLE = "normal=0:sep_conv_3x3,1:identity,add;...|reduction=0:sep_conv_5x5,1:max_pool_3x3,add;..."

    def decisions(self) -> list[Decision]:
        ds: list[Decision] = []
        for cell in ("normal", "reduction"):
            for b in range(self.settings.B):
                ds += self.block_decisions(b, prefix=f"{cell}.")
        return ds

    def _halves(self, arch: Arch) -> tuple[Arch, Arch]:
        half = self.settings.B * self.block_width
        return tuple(arch[:half]), tuple(arch[half:])

    def to_string(self, arch: Arch) -> str:
        self.validate(arch)
        normal, reduction = self._halves(arch)
        return f"normal={self.blocks_text(normal)}|reduction={self.blocks_text(reduction)}"

    def from_string(self, s: str) -> Arch:
        cells = s.strip().split("|")
        if len(cells) != 2:
            raise bad_string(self.name, s, "need two cells separated by '|'", self.EXAMPLE)
        values: list[int] = []
        for cell, text in zip(("normal", "reduction"), cells):
            label, sep, body = text.partition("=")
            if label.strip() != cell or not sep:
                raise bad_string(self.name, s, f"the {cell} cell must start with '{cell}='", self.EXAMPLE)
            if body.count(";") + 1 != self.settings.B:
                raise bad_string(self.name, s, f"the {cell} cell needs B={self.settings.B} blocks", self.EXAMPLE)
            values += self.parse_blocks(s, body)
        return tuple(values)

    def spec(self, arch: Arch) -> dict[str, Any]:
        normal, reduction = self._halves(arch)
        return self.net_spec(normal, reduction)
