"""Shared NASNet / PNAS cell network builder (imports only torch: ``export_source``
ships this file).

Ops follow Zoph et al. 2018 ("Learning Transferable Architectures for Scalable Image
Recognition", Sec. 3, the 13 ops) and Liu et al. 2018 ("Progressive Neural
Architecture Search", Sec. 3.1, 8 of them), with the conventions of the reference
TensorFlow code (tensorflow/models ``research/slim/nets/nasnet/nasnet_utils.py``):
every conv op is ReLU -> conv -> BN; separable convs are applied twice (the second with
stride 1); pools get the input's channels (all cell states are C wide here).

A cell takes h_{i-2} (input index 0) and h_{i-1} (index 1), each first mapped to C
channels (ReLU-1x1 conv-BN; a factorized reduction for h_{i-2} when it is twice as
large, i.e. after a reduction cell). Block b computes
``combine(op1(state[in1]), op2(state[in2]))`` and becomes state 2 + b. In a reduction
cell, ops whose input is a cell input (index 0 or 1) use stride 2. The cell output is
the concatenation, along channels, of the states named by ``spec["output"]``:

- ``unused_states`` (the ``nasnet`` space's default): every hidden state no block of
  the cell reads, the two cell inputs included; an unused cell input of a reduction
  cell first goes through a factorized reduction to the cell's output size. This is
  the NASNet paper's rule ("all unused hidden states ... are concatenated", Zoph et al.
  2018 Sec. 3) as the authors' code applies it (tensorflow/models
  ``research/slim/nets/nasnet/nasnet_utils.py``, ``NasNetABaseCell._combine_unused_states``:
  every state marked unused, cell inputs included, reduced when its size differs).
- ``all_blocks`` (the ``pnas`` space's default): all B block outputs, whether or not a
  later block reads them, and neither cell input, as the authors' PNASNet-5 cell
  (``research/slim/nets/nasnet/pnasnet.py``, ``PNasNetNormalCell``: used_hiddenstates
  = [1, 1, 0, 0, 0, 0, 0], although its 4th block reads the 3rd).
- ``unused_blocks``: the block outputs no later block reads, never a cell input
  (the rule of earlier versions, and of DARTS-style PyTorch ports); a spec without ``output``
  is built this way.

NOTE: NASNet-A's released cells list their used states by hand, and that list does
not always follow the rule (the normal cell concatenates its h_{i-2} input although
its blocks read it); for searched cells we apply the rule.
NOTE: combination "concat" (NASNet's second option) concatenates the two branch
outputs along channels and maps them back to C with a 1x1 conv + BN, so every hidden
state of a cell keeps C channels and can feed any op.
NOTE: no drop-path and no auxiliary head (training tricks of the papers, not part of
the space).

``spec`` is a plain literal: ``{"normal": [[in1, op1, in2, op2, combine], ...],
"reduction": [...], "C": 8, "N": 2, "R": 2, "stem_multiplier": 3, "output": "all_blocks"}``; the network is
stem, then (N normal cells + a reduction cell) x R, then N normal cells, filters
doubling at each reduction, then ReLU, global average pooling and a linear layer.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

CELL_COMBINES = ("add", "concat")
CELL_OUTPUTS = ("unused_states", "all_blocks", "unused_blocks")  # see the module docstring


def relu_conv_bn(c_in: int, c_out: int, kernel: tuple[int, int], stride: tuple[int, int], dilation: int = 1) -> list[nn.Module]:
    """ReLU -> conv with 'same' padding per axis -> BN, as a list of layers."""
    pad = (dilation * (kernel[0] - 1) // 2, dilation * (kernel[1] - 1) // 2)
    return [
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class FactorizedReduce(nn.Module):
    """Halve H and W without losing pixels: two 1x1 stride-2 convs, one on the input
    shifted by one pixel, concatenated (NASNet ``factorized_reduction``)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # (B, C, H, W), shifted one pixel
        out = torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1)  # (B, c_out, ceil(H/2), ceil(W/2))
        return self.bn(out)


class SepConv(nn.Module):
    """Depthwise-separable conv applied twice: (ReLU, depthwise kxk, pointwise, BN) x 2."""

    def __init__(self, c: int, k: int, stride: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for s in (stride, 1):
            layers += [
                nn.ReLU(inplace=False),
                nn.Conv2d(c, c, k, stride=s, padding=k // 2, groups=c, bias=False),
                nn.Conv2d(c, c, 1, bias=False),
                nn.BatchNorm2d(c),
            ]
        self.op = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)  # (B, C, H/stride, W/stride)


def _identity(c: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c)


def _stacked(k: int) -> Callable[[int, int], nn.Module]:
    # "1xk then kx1" conv: ReLU, 1xk conv, kx1 conv, BN (stride split over the two axes)
    def make(c: int, stride: int) -> nn.Module:
        return nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, (1, k), stride=(1, stride), padding=(0, k // 2), bias=False),
            nn.Conv2d(c, c, (k, 1), stride=(stride, 1), padding=(k // 2, 0), bias=False),
            nn.BatchNorm2d(c),
        )

    return make


def _conv(k: int, dilation: int = 1) -> Callable[[int, int], nn.Module]:
    return lambda c, stride: nn.Sequential(*relu_conv_bn(c, c, (k, k), (stride, stride), dilation))


def _pool(kind: str, k: int) -> Callable[[int, int], nn.Module]:
    if kind == "avg":
        return lambda c, stride: nn.AvgPool2d(k, stride=stride, padding=k // 2, count_include_pad=False)
    return lambda c, stride: nn.MaxPool2d(k, stride=stride, padding=k // 2)


def _sep(k: int) -> Callable[[int, int], nn.Module]:
    return lambda c, stride: SepConv(c, k, stride)


# name -> factory(channels, stride); every op maps (B, C, H, W) -> (B, C, ceil(H/s), ceil(W/s))
CELL_OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "identity": _identity,
    "conv_1x3_3x1": _stacked(3),
    "conv_1x7_7x1": _stacked(7),
    "dil_conv_3x3": _conv(3, dilation=2),
    "avg_pool_3x3": _pool("avg", 3),
    "max_pool_3x3": _pool("max", 3),
    "max_pool_5x5": _pool("max", 5),
    "max_pool_7x7": _pool("max", 7),
    "conv_1x1": _conv(1),
    "conv_3x3": _conv(3),
    "sep_conv_3x3": _sep(3),
    "sep_conv_5x5": _sep(5),
    "sep_conv_7x7": _sep(7),
}


def unused_blocks(blocks: list[list[Any]]) -> list[int]:
    """Indices of the blocks no later block takes as input."""
    used = {int(b[0]) - 2 for b in blocks} | {int(b[2]) - 2 for b in blocks}
    return [i for i in range(len(blocks)) if i not in used]


def output_states(blocks: list[list[Any]], rule: str = "unused_blocks") -> list[int]:
    """The hidden states (0, 1: cell inputs; 2 + b: block b) concatenated into the cell
    output under ``rule`` (one of ``CELL_OUTPUTS``)."""
    if rule == "all_blocks":
        return [2 + i for i in range(len(blocks))]
    if rule == "unused_blocks":
        return [2 + i for i in unused_blocks(blocks)]
    if rule == "unused_states":
        used = {int(b[0]) for b in blocks} | {int(b[2]) for b in blocks}
        return [i for i in range(2 + len(blocks)) if i not in used]
    raise ValueError(f"cell output rule {rule!r} is not one of {', '.join(CELL_OUTPUTS)}")


class Cell(nn.Module):
    """One NASNet/PNAS cell (see the module docstring)."""

    def __init__(self, blocks: list[list[Any]], c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool,
                 output: str = "unused_blocks") -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else nn.Sequential(*relu_conv_bn(c_pp, c, (1, 1), (1, 1)))
        self.pre1 = nn.Sequential(*relu_conv_bn(c_p, c, (1, 1), (1, 1)))
        self.inputs = [(int(b[0]), int(b[2])) for b in blocks]
        self.combines = [str(b[4]) if len(b) > 4 else "add" for b in blocks]
        self.ops = nn.ModuleList()
        self.projections = nn.ModuleDict()
        for i, b in enumerate(blocks):
            for idx, op in ((int(b[0]), str(b[1])), (int(b[2]), str(b[3]))):
                stride = 2 if reduction and idx < 2 else 1
                self.ops.append(CELL_OPS[op](c, stride))
            if self.combines[i] == "concat":
                self.projections[str(i)] = nn.Sequential(nn.Conv2d(2 * c, c, 1, bias=False), nn.BatchNorm2d(c))
        self.outputs = output_states(blocks, output)
        # an unused cell input of a reduction cell is reduced to the blocks' size
        self.reduce_inputs = nn.ModuleDict({str(i): FactorizedReduce(c, c) for i in self.outputs if i < 2 and reduction})
        self.multiplier = len(self.outputs)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]  # each (B, C, H, W)
        for i, (in1, in2) in enumerate(self.inputs):
            a = self.ops[2 * i](states[in1])  # (B, C, H', W')
            b = self.ops[2 * i + 1](states[in2])
            if self.combines[i] == "concat":
                states.append(self.projections[str(i)](torch.cat([a, b], dim=1)))
            else:
                states.append(a + b)
        outs = [self.reduce_inputs[str(i)](states[i]) if str(i) in self.reduce_inputs else states[i] for i in self.outputs]
        return torch.cat(outs, dim=1)  # (B, multiplier*C, H', W')


class CellNetwork(nn.Module):
    """Stem, (N normal + 1 reduction) x R, N normal, then ReLU, pool, linear."""

    def __init__(self, spec: dict[str, Any], in_channels: int, num_classes: int) -> None:
        super().__init__()
        c, n, r = int(spec["C"]), int(spec["N"]), int(spec["R"])
        c_stem = int(spec.get("stem_multiplier", 3)) * c
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, padding=1, bias=False), nn.BatchNorm2d(c_stem))
        c_pp, c_p, c_cur = c_stem, c_stem, c
        cells: list[Cell] = []
        reduction_prev = False
        for stage in range(r + 1):
            kinds = [False] * n + ([True] if stage < r else [])
            for reduction in kinds:
                if reduction:
                    c_cur *= 2
                cell = Cell(spec["reduction" if reduction else "normal"], c_pp, c_p, c_cur, reduction, reduction_prev,
                            str(spec.get("output", "unused_blocks")))
                cells.append(cell)
                c_pp, c_p = c_p, cell.multiplier * c_cur
                reduction_prev = reduction
        self.cells = nn.ModuleList(cells)
        self.head = nn.Sequential(nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)  # (B, stem_multiplier*C, H, W)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.head(s1).flatten(1))  # (B, num_classes)


def build(spec: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """The cell network for ``spec`` (see the module docstring) and input (C, H, W)."""
    return CellNetwork(spec, int(input_shape[0]), num_classes)
