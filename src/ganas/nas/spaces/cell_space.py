"""What the NASNet and PNAS cell spaces share: block decisions, block strings, specs.

A block of a cell is encoded as its decisions in the NASNet controller's order
(Zoph et al. 2018, Sec. 3): first input, second input, op for the first, op for the
second, then (NASNet only) the combination. Inputs are indices into the cell's hidden
states: 0 = h_{i-2}, 1 = h_{i-1}, 2 + k = the output of block k of the same cell, so
block b chooses among 2 + b inputs.

A block's text is ``in1:op1,in2:op2`` plus ``,add`` or ``,concat`` where the space
has a combination decision; blocks are separated by ``;``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ...errors import ConfigError
from ..base import Arch, Decision
from . import cell_net
from .cell_net import CELL_COMBINES, CELL_OUTPUTS
from .common import SpaceBase, bad_string


@dataclass
class CellNetSettings:
    """Network settings shared by the cell spaces: ``N`` cells per stack, ``R``
    reductions, ``C`` filters of the first stack, stem filters = ``stem_multiplier`` * C.
    Subclasses add the cell size and name it in ``size_key``, and ``cell_output``: which
    states form a cell's output (``cell_net.CELL_OUTPUTS``), defaulting to what the
    authors' code of the space does."""

    N: int = 2
    R: int = 2
    C: int = 8
    stem_multiplier: int = 3

    def validate(self) -> None:
        key = getattr(self, "size_key", "B")
        size = getattr(self, key)
        rule = getattr(self, "cell_output", "unused_blocks")
        if rule not in CELL_OUTPUTS:
            raise ConfigError(f"{type(self).__name__}: cell_output must be one of {', '.join(CELL_OUTPUTS)}, got {rule!r}")
        if size < 1 or self.N < 1 or self.R < 0 or self.C < 2 or self.stem_multiplier < 1:
            raise ConfigError(
                f"{type(self).__name__}: need {key}>=1, N>=1, R>=0, C>=2, stem_multiplier>=1 "
                f"(got {key}={size}, N={self.N}, R={self.R}, C={self.C}, stem_multiplier={self.stem_multiplier})"
            )


class CellSpaceBase(SpaceBase):
    """Decisions, strings and specs of blocks; subclasses say how cells are laid out."""

    builder = cell_net
    OPS: ClassVar[tuple[str, ...]]
    WITH_COMBINE: ClassVar[bool]
    EXAMPLE: ClassVar[str]

    @property
    def block_width(self) -> int:
        """Number of decisions (arch entries) per block."""
        return 5 if self.WITH_COMBINE else 4

    def block_decisions(self, b: int, prefix: str = "") -> list[Decision]:
        inputs = tuple(range(2 + b))
        ds = [
            Decision(f"{prefix}b{b}.in1", inputs),
            Decision(f"{prefix}b{b}.in2", inputs),
            Decision(f"{prefix}b{b}.op1", self.OPS),
            Decision(f"{prefix}b{b}.op2", self.OPS),
        ]
        if self.WITH_COMBINE:
            ds.append(Decision(f"{prefix}b{b}.combine", CELL_COMBINES))
        return ds

    def blocks_text(self, values: Arch) -> str:
        """``in1:op1,in2:op2[,combine]`` per block, joined by ``;``."""
        w = self.block_width
        out = []
        for k in range(0, len(values), w):
            v = values[k : k + w]
            text = f"{v[0]}:{self.OPS[v[2]]},{v[1]}:{self.OPS[v[3]]}"
            if self.WITH_COMBINE:
                text += f",{CELL_COMBINES[v[4]]}"
            out.append(text)
        return ";".join(out)

    def parse_blocks(self, s: str, text: str) -> list[int]:
        """The arch entries of ``text`` (blocks joined by ``;``); ``s`` is quoted in errors."""
        values: list[int] = []
        for b, block in enumerate(text.split(";")):
            parts = block.strip().split(",")
            if len(parts) != (3 if self.WITH_COMBINE else 2):
                form = "in1:op1,in2:op2" + (",add|concat" if self.WITH_COMBINE else "")
                raise bad_string(self.name, s, f"block {b} {block!r} is not {form}", self.EXAMPLE)
            pairs = []
            for part in parts[:2]:
                idx, sep, op = part.partition(":")
                if not sep or not idx.strip().isdigit():
                    raise bad_string(self.name, s, f"block {b}: {part!r} is not input:op", self.EXAMPLE)
                i, op = int(idx), op.strip()
                if i >= 2 + b:
                    raise bad_string(self.name, s, f"block {b} can only take inputs 0..{1 + b}, got {i}", self.EXAMPLE)
                if op not in self.OPS:
                    raise bad_string(self.name, s, f"unknown op {op!r} (valid: {', '.join(self.OPS)})", self.EXAMPLE)
                pairs.append((i, self.OPS.index(op)))
            values += [pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1]]
            if self.WITH_COMBINE:
                comb = parts[2].strip()
                if comb not in CELL_COMBINES:
                    raise bad_string(self.name, s, f"block {b}: combination {comb!r} is not add or concat", self.EXAMPLE)
                values.append(CELL_COMBINES.index(comb))
        return values

    def spec_blocks(self, values: Arch) -> list[list[Any]]:
        """Blocks as the builder takes them: ``[in1, op1, in2, op2, combine]``."""
        w = self.block_width
        out = []
        for k in range(0, len(values), w):
            v = values[k : k + w]
            out.append([v[0], self.OPS[v[2]], v[1], self.OPS[v[3]], CELL_COMBINES[v[4]] if self.WITH_COMBINE else "add"])
        return out

    def net_spec(self, normal: Arch, reduction: Arch) -> dict[str, Any]:
        st = self.settings
        return {
            "normal": self.spec_blocks(normal),
            "reduction": self.spec_blocks(reduction),
            "C": st.C,
            "N": st.N,
            "R": st.R,
            "stem_multiplier": st.stem_multiplier,
            "output": st.cell_output,
        }
