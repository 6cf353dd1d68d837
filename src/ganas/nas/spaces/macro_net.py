"""Zoph & Le (2017) macro network builder (imports only torch: ``export_source`` ships
this file).

A stack of conv layers, each conv ('same' padding per axis, so asymmetric kernels keep
the size up to the stride) -> BN -> ReLU. Skip connections follow the paper's anchor
points (Sec. 3.3): layer i takes the concatenation, along depth, of the outputs of the
earlier layers selected for it; a layer with no selected input takes the image; the
outputs that no layer takes are concatenated to form the final hidden state, then
global average pooling and a linear classifier. When maps to concatenate differ in
size (strides), the smaller ones are zero-padded (bottom and right) to the largest,
as the paper pads "the small layers with zeros".

``spec`` is a plain literal: ``{"layers": [{"fh": 3, "fw": 5, "nf": 36, "sh": 1,
"sw": 1, "inputs": [0, 2]}, ...]}``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def concat_padded(xs: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate maps along channels, zero-padding smaller ones to the largest H, W."""
    if len(xs) == 1:
        return xs[0]
    h = max(x.shape[2] for x in xs)
    w = max(x.shape[3] for x in xs)
    padded = [F.pad(x, (0, w - x.shape[3], 0, h - x.shape[2])) for x in xs]  # each (B, C_k, h, w)
    return torch.cat(padded, dim=1)  # (B, sum C_k, h, w)


class MacroLayer(nn.Module):
    """conv (fh x fw, nf filters, stride sh x sw, 'same' padding) -> BN -> ReLU."""

    def __init__(self, c_in: int, fh: int, fw: int, nf: int, sh: int, sw: int) -> None:
        super().__init__()
        # 'same' padding per axis; even kernels get the extra pixel on the bottom/right
        self.pad = ((fw - 1) // 2, fw // 2, (fh - 1) // 2, fh // 2)
        self.conv = nn.Conv2d(c_in, nf, (fh, fw), stride=(sh, sw), bias=False)
        self.bn = nn.BatchNorm2d(nf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, self.pad)  # (B, C_in, H + fh - 1, W + fw - 1)
        return F.relu(self.bn(self.conv(x)))  # (B, nf, ceil(H/sh), ceil(W/sw))


class MacroNetwork(nn.Module):
    """The Zoph & Le CNN for a list of layer specs (see the module docstring)."""

    def __init__(self, layers: list[dict[str, Any]], in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.inputs = [[int(j) for j in layer["inputs"]] for layer in layers]
        widths: list[int] = []
        mods = []
        for layer, ins in zip(layers, self.inputs):
            c_in = sum(widths[j] for j in ins) if ins else in_channels
            mods.append(MacroLayer(c_in, int(layer["fh"]), int(layer["fw"]), int(layer["nf"]), int(layer["sh"]), int(layer["sw"])))
            widths.append(int(layer["nf"]))
        self.layers = nn.ModuleList(mods)
        used = {j for ins in self.inputs for j in ins}
        self.outputs = [i for i in range(len(layers)) if i not in used]  # never empty: the last layer
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(sum(widths[i] for i in self.outputs), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs: list[torch.Tensor] = []
        for layer, ins in zip(self.layers, self.inputs):
            h = concat_padded([outs[j] for j in ins]) if ins else x  # (B, C_in, H_i, W_i)
            outs.append(layer(h))
        final = concat_padded([outs[i] for i in self.outputs])  # (B, C_final, H', W')
        return self.classifier(self.pool(final).flatten(1))  # (B, num_classes)


def build(spec: dict[str, Any], input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """The macro network for ``spec`` (see the module docstring) and input (C, H, W)."""
    return MacroNetwork(list(spec["layers"]), int(input_shape[0]), num_classes)
