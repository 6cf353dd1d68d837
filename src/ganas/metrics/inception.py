"""Inception-v3 pool3 features (2048-d) from weights the user supplies as a local file.

This is the network FID is defined with (Heusel et al. 2017; TF graph
``inception-2015-12-05``), in the PyTorch port of mseitzer/pytorch-fid
(``src/pytorch_fid/inception.py``), whose weights file is
``pt_inception-2015-12-05-6726825d.pth``. Nothing is downloaded: pass the file's path
(``weights=``) or set ``$GANAS_INCEPTION_WEIGHTS``. Module and parameter names follow
torchvision's ``Inception3`` (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn
.running_mean``...) so that file's state dict loads as is; ``fc.*`` and ``AuxLogits.*``
entries are ignored (pool3 comes before them).

The FID port differs from torchvision's ImageNet Inception in its pooling (pytorch-fid
``FIDInceptionA/C/E_1/E_2``): the average pools inside Mixed_5*, Mixed_6b-e and Mixed_7b
exclude the zero padding (TensorFlow's behaviour), and Mixed_7c's pool branch uses max
pooling. Both are reproduced here. NOTE: torchvision's own ImageNet weights load too (same
names) but are run with these FID pools, so their FD values are not FID values.

Inputs are (B, C, H, W) in [-1, 1] (the range the port expects after its ``2x - 1``),
resized bilinearly to 299x299 as pytorch-fid does; one-channel images are repeated to RGB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CheckpointError, ConfigError
from .features import FEATURES

#: trunk parameters of torchvision's inception_v3 (27,161,264) minus AuxLogits and fc
TRUNK_PARAMETERS = 21_785_568


class BasicConv2d(nn.Module):
    """conv (no bias) -> BN (eps 1e-3, as in the TF graph) -> ReLU."""

    def __init__(self, cin: int, cout: int, **conv: Any) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **conv)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TensorFlow's 3x3/1 'SAME' average pool does not count the padded zeros
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block: 1x1, 5x5, double 3x3 and pool branches -> 224 + pool_features channels."""

    def __init__(self, cin: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)


class InceptionB(nn.Module):
    """35x35 -> 17x17 reduction: strided 3x3, strided double 3x3, max pool."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions -> 768 channels."""

    def __init__(self, cin: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        row, col = {"kernel_size": (1, 7), "padding": (0, 3)}, {"kernel_size": (7, 1), "padding": (3, 0)}
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row)
        self.branch7x7_3 = BasicConv2d(c7, 192, **col)
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row)
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))], 1)


class InceptionD(nn.Module):
    """17x17 -> 8x8 reduction -> 320 + 192 + cin channels."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 1x3/3x1 outputs -> 2048 channels; ``max_pool`` for Mixed_7c."""

    def __init__(self, cin: int, max_pool: bool = False) -> None:
        super().__init__()
        row, col = {"kernel_size": (1, 3), "padding": (0, 1)}, {"kernel_size": (3, 1), "padding": (1, 0)}
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, **row)
        self.branch3x3_2b = BasicConv2d(384, 384, **col)
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, **row)
        self.branch3x3dbl_3b = BasicConv2d(384, 384, **col)
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        # pytorch-fid FIDInceptionE_2: the TF graph's last block max-pools here
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class InceptionV3Features(nn.Module):
    """Inception-v3 up to the final average pool: (B, C, H, W) in [-1, 1] -> (B, 2048)."""

    feature_dim = 2048

    def __init__(self, resize_to: Optional[int] = 299) -> None:
        super().__init__()
        self.resize_to = resize_to  # pytorch-fid resizes every input to 299x299 (bilinear)
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048, max_pool=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # (B, 3, H, W)
        if x.shape[1] != 3:
            raise ConfigError(f"inception features need 1 or 3 channels, got {x.shape[1]}")
        if self.resize_to:
            x = F.interpolate(x, size=(self.resize_to, self.resize_to), mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # (B, 64, 147, 147)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (B, 64, 73, 73)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # (B, 192, 71, 71)
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # (B, 192, 35, 35)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)  # ... -> (B, 2048, 8, 8)
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # (B, 2048)


def load_inception(path: str | Path, resize_to: Optional[int] = 299) -> InceptionV3Features:
    """Build the network and load a local weights file (``weights_only=True``)."""
    path = Path(path)
    hint = "supply pytorch-fid's pt_inception-2015-12-05-6726825d.pth (a plain state dict)"
    if not path.is_file():
        raise CheckpointError(f"inception weights {path} not found; {hint}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"inception weights {path} cannot be loaded safely ({type(e).__name__}: {e})") from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise CheckpointError(f"inception weights {path} hold a {type(state).__name__}, not a state dict; {hint}")
    state = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
    net = InceptionV3Features(resize_to)
    missing, unexpected = (sorted(set(net.state_dict()) - set(state)), sorted(set(state) - set(net.state_dict())))
    if missing or unexpected:
        raise CheckpointError(
            f"inception weights {path} do not match Inception-v3: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}; {hint}"
        )
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"inception weights {path} do not match Inception-v3 ({e})") from e
    return net.eval()


class InceptionExtractor:
    """``FeatureExtractor`` wrapper: batched, no grad, features returned on CPU."""

    feature_dim = InceptionV3Features.feature_dim

    def __init__(self, net: InceptionV3Features, device: str | torch.device = "cpu", batch: int = 50) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.batch = batch

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        out = []
        for i in range(0, images.shape[0], self.batch):
            out.append(self.net(images[i : i + self.batch].to(self.device, torch.float32)).float().cpu())
        return torch.cat(out)  # (N, 2048)


@FEATURES.register(
    "inception", help="Inception-v3 pool3 (FID) from a local weights file (weights= or $GANAS_INCEPTION_WEIGHTS)"
)
def inception_extractor(
    data_spec: str = "",
    image_size: int = 0,
    channels: int = 3,
    weights: Optional[str | Path] = None,
    device: str | torch.device = "cpu",
    batch: int = 50,
    resize_to: Optional[int] = 299,
) -> InceptionExtractor:
    """The dataset arguments are accepted for a uniform factory signature and not used."""
    path = weights or os.environ.get("GANAS_INCEPTION_WEIGHTS")
    if not path:
        raise ConfigError(
            "the inception feature extractor needs a local weights file: pass weights=PATH or set "
            "GANAS_INCEPTION_WEIGHTS (pytorch-fid's pt_inception-2015-12-05-6726825d.pth); ganas downloads nothing"
        )
    return InceptionExtractor(load_inception(path, resize_to), device, batch)
