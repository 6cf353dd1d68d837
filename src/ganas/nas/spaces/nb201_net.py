"""NAS-Bench-201 network builder (imports only torch: ``export_source`` ships this file).

Follows the reference code of Dong & Yang, "NAS-Bench-201: Extending the Scope of
Reproducible Neural Architecture Search" (ICLR 2020), D-X-Y/AutoDL-Projects
``xautodl/models/cell_infers/tiny_network.py``, ``cells.py`` (InferCell) and
``cell_operations.py`` (ReLUConvBN, POOLING, Zero, ResNetBasicblock):

- stem: 3x3 conv (C channels, no bias) + BN;
- three stages of N cells with C, 2C, 4C channels, separated by a ResNet basic block
  with stride 2 (the "residual reduction block");
- BN-ReLU, global average pooling, linear classifier.

A cell is a 4-node DAG; node i = sum over j < i of op_{i<-j}(node j); node 3 is the output.

``spec`` is a plain literal: ``{"ops": [6 op names in edge order 1<-0, 2<-0, 2<-1,
3<-0, 3<-1, 3<-2], "C": 16, "N": 5}``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))  # (to, from), string order


class ReLUConvBN(nn.Module):
    """ReLU -> Conv (no bias) -> BN, the NB201 ``nor_conv_kxk`` op."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)  # (B, c_out, H/stride, W/stride)


class Zero(nn.Module):
    """The ``none`` op: zeros of the input's shape (stride 1, same channels in a cell)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)  # (B, C, H, W)


def nb201_op(name: str, c: int) -> nn.Module:
    """One cell op on ``c`` channels, stride 1 (all NB201 cell edges keep the shape)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        # reference POOLING: AvgPool2d(3, stride, padding=1, count_include_pad=False)
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {name!r}; valid: {', '.join(NB201_OPS)}")


class NB201Cell(nn.Module):
    """InferCell: node i = sum_j op_{i<-j}(node j); returns node 3."""

    def __init__(self, ops: list[str], c: int) -> None:
        super().__init__()
        self.edges = list(NB201_EDGES)
        self.layers = nn.ModuleList(nb201_op(name, c) for name in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]  # each (B, C, H, W)
        k = 0
        for i in range(1, 4):
            total = None
            for j in range(i):
                y = self.layers[k](nodes[j])
                total = y if total is None else total + y
                k += 1
            nodes.append(total)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: two ReLU-Conv-BN 3x3 (first strided) plus
    a shortcut AvgPool(2) -> 1x1 conv, as ``ResNetBasicblock`` in the reference."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.downsample: nn.Module = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
            )
        elif c_in != c_out:
            self.downsample = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.downsample = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))  # (B, c_out, H/s, W/s)
        return self.downsample(x) + out


class NB201Network(nn.Module):
    """TinyNetwork: stem, 3 x N cells (C, 2C, 4C) with residual reductions, head."""

    def __init__(self, ops: list[str], c: int, n: int, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c)
        )
        layers: list[nn.Module] = []
        c_prev = c
        for stage, width in enumerate((c, 2 * c, 4 * c)):
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, width, 2))
            layers.extend(NB201Cell(ops, width) for _ in range(n))
            c_prev = width
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.cells(self.stem(x))  # (B, 4C, H/4, W/4)
        h = self.global_pooling(self.lastact(h)).flatten(1)  # (B, 4C)
        return self.classifier(h)  # (B, num_classes)


def build(spec: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """The NB201 network for ``spec`` (see the module docstring) and input (C, H, W)."""
    return NB201Network(list(spec["ops"]), int(spec["C"]), int(spec["N"]), int(input_shape[0]), num_classes)
