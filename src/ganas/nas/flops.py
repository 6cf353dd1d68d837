"""Cost of a network: multiply-adds of its convolutions and linear layers, and parameters.

FLOPs here are multiply-accumulates (MACs) of ``nn.Conv*d`` and ``nn.Linear`` for one
input sample, counted with forward hooks during one forward pass, the convention of
the NAS papers (NASNet/PNAS "mult-adds"; NAS-Bench-201 reports the same quantity as
"FLOPs"). Pooling, normalisation, activations and additions are not counted.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..utils import count_params  # noqa: F401  (re-exported for ganas.nas users)


def _conv_macs(m: nn.modules.conv._ConvNd, out: torch.Tensor) -> int:
    # every output element: (in_channels / groups) * prod(kernel) multiply-adds
    per_out = (m.in_channels // m.groups) * int(torch.tensor(m.kernel_size).prod().item())
    return int(out[0].numel()) * per_out  # out: (B, C_out, *spatial); one sample


def _linear_macs(m: nn.Linear, out: torch.Tensor) -> int:
    # out: (B, ..., out_features); one sample
    return int(out[0].numel()) * m.in_features


def count_flops(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of conv and linear layers for one input of shape ``input_shape``
    (e.g. ``(3, 32, 32)``, no batch dimension)."""
    total = 0

    def hook(m: nn.Module, _inp: Any, out: Any) -> None:
        nonlocal total
        if isinstance(m, nn.modules.conv._ConvNd):
            total += _conv_macs(m, out)
        elif isinstance(m, nn.Linear):
            total += _linear_macs(m, out)

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    was_training = module.training
    try:
        p = next(module.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
        module.eval()
        with torch.no_grad():
            module(torch.zeros((1, *input_shape), device=device))  # (1, C, H, W)
    finally:
        for h in handles:
            h.remove()
        module.train(was_training)
    return total
