"""GAN-CLS generator and discriminator (Reed, Akata, Yan, Logeswaran, Schiele, Lee,
"Generative Adversarial Text to Image Synthesis", ICML 2016, sec. 3.1; reedscot/icml2016).

G: the text embedding is compressed by a fully connected layer to ``proj_dim`` (128)
with LeakyReLU(0.2), concatenated with z (100) and fed to the DCGAN generator
(``ganas.nets.dcgan.DCGANGenerator``, any size it supports). D: the DCGAN discriminator's
downsampling trunk to 4x4; the embedding, compressed to 128 (FC + BN + LeakyReLU, as
aelnouby's projection; NOTE: reedscot's ``fcD`` in ``main_cls.lua`` is Linear + LeakyReLU
without the BN), is replicated 4x4 and concatenated depth-wise with the feature maps;
a 1x1 convolution (+BN+LeakyReLU) then the 4x4 convolution give one logit.

Parameter counts with a 1024-d embedding at 64 px (``tests/nets/test_gancls_nets.py``),
beside aelnouby/Text-to-Image-Synthesis (``models/gan_cls.py``: G 4,756,736, D 2,899,072):

- G: 4,756,480 = aelnouby's minus 256: aelnouby puts a BatchNorm1d(128) in G's projection;
  reedscot's ``fcG`` is Linear + LeakyReLU only, our default. ``projection_bn=True`` gives
  aelnouby's 4,756,736 exactly (every other layer matches: DCGAN blocks without conv bias
  where a BatchNorm follows; NOTE: reedscot's Torch convolutions carry biases).
- D: 3,225,728 = aelnouby's + 326,656: aelnouby has no 1x1 convolution after the join
  (its 4x4 head reads the 512 + 128 maps directly); the paper and reedscot have it:
  1x1 conv 640 -> 512 (327,680) + BN (1,024), and the head reads 512 maps (8,192 instead
  of 10,240). ``join_conv=False`` gives aelnouby's 2,899,072 exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_depth
from .layers import bottleneck_residual, conv_block


class TextProjection(nn.Sequential):
    """Embedding (B, embed_dim) -> (B, proj_dim): Linear [+ BatchNorm1d] + LeakyReLU(0.2)."""

    def __init__(self, embed_dim: int = 1024, proj_dim: int = 128, batch_norm: bool = False) -> None:
        layers: list[nn.Module] = [nn.Linear(embed_dim, proj_dim)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(proj_dim))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        super().__init__(*layers)


class GANCLSGenerator(nn.Module):
    """z (B, nz) or (B, nz, 1, 1) and embedding (B, embed_dim) -> image (B, C, S, S) in [-1, 1].

    ``residual=True``: reedscot's G (``main_cls.lua``, ``main_cls_int.lua``; not in the
    paper's text): a bottleneck residual block (``bottleneck_residual``, width / 4 inside)
    after the BatchNorm of the 4x4 and of the 8x8 layer, before their ReLU. NOTE: its D
    has one too in the code, but the block's branch is added as ``skipD``, a name never
    defined, so only the identity runs: D stays the plain DCGAN trunk, as here.
    """

    def __init__(self, nz: int = 100, embed_dim: int = 1024, proj_dim: int = 128, ngf: int = 64,
                 channels: int = 3, image_size: int = 64, projection_bn: bool = False,
                 residual: bool = False) -> None:
        super().__init__()
        self.nz, self.embed_dim = nz, embed_dim
        self.projection = TextProjection(embed_dim, proj_dim, batch_norm=projection_bn)
        self.net = DCGANGenerator(nz + proj_dim, ngf, channels, image_size)
        if residual:  # blocks 0 and 1 (4x4, 8x8): (ConvT, BN, ReLU) -> (ConvT, BN, residual, ReLU)
            for i in (0, 1):
                conv, bn, relu = self.net.main[i]
                self.net.main[i] = nn.Sequential(conv, bn, bottleneck_residual(bn.num_features), relu)

    def forward(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        z = z.reshape(z.size(0), -1)  # (B, nz)
        h = torch.cat([z, self.projection(embedding)], dim=1)  # (B, nz + proj_dim)
        return self.net(h[:, :, None, None])  # (B, C, S, S)


def placement_affine(log_scale: torch.Tensor, shift: torch.Tensor,
                     turn: torch.Tensor | None = None) -> torch.Tensor:
    """``affine_grid``'s theta (B, 2, 3), output coordinates -> a drawing's frame: scaled by
    ``exp(log_scale)`` (B,) and shifted by ``shift`` (B, 2), then turned by ``turn`` (B, 2)
    = (cos a, sin a) when given. Placed first, turned second, so the turn is about the
    drawing's own centre (the output point that maps to the frame's origin)."""
    scale = log_scale.exp()
    zero = torch.zeros_like(scale)
    theta = torch.stack([torch.stack([scale, zero, shift[:, 0]], 1),
                         torch.stack([zero, scale, shift[:, 1]], 1)], 1)  # (B, 2, 3)
    if turn is None:
        return theta
    cos, sin = turn[:, 0], turn[:, 1]
    rot = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)  # (B, 2, 2)
    return rot @ theta


class CanonicalFrameGenerator(GANCLSGenerator):
    """A layered GAN-CLS G that draws its foreground upright and turns it by a rotation
    drawn as a nuisance latent: z (B, nz) and embedding (B, E) -> image (B, C, S, S).

    NOTE: not in the paper nor reedscot/aelnouby (their G is the DCGAN G above). After
    LR-GAN (Yang et al. 2017, a foreground and mask composited over a background by an
    affine ``grid_sample``): the DCGAN trunk of ``GANCLSGenerator`` (``residual`` as
    there) draws C + 1 maps, the foreground's colour and a mask ``(tanh + 1) / 2``, in a
    canonical frame; a linear layer of the same input predicts a scale and a translation
    that place it, and another a 4x4 background (bilinearly upsampled, tanh); out =
    mask * fg + (1 - mask) * bg. The turn is not learned: it is the direction of z's
    first two components, ``(cos a, sin a) = z[:2] / |z[:2]|``, uniform on the circle
    for a standard normal z; the trunk reads only ``z[2:]``. So the rotations G draws are
    uniform, as the built-in task's (``ganas.data.shapes``: U(0, 360) degrees), and G
    never has to learn to rotate an outline: on the render probe a G that must learn the
    rotation draws a disc for every shape (0.20-0.22 shape accuracy), the same G given the
    rotation draws them (0.82; docs/benchmarks.md, "Rotation is what G fails to learn").
    Inside GAN-CLS it did not raise shape consistency (0.16-0.25 over 10,583-15,821 GAN
    steps, three runs, against 0.18-0.28 for the plain residual G): the GAN's D does not reward
    corners (docs/benchmarks.md, "The canonical-frame G in the GAN"). Only for data whose
    objects appear at every rotation with equal probability.
    """

    def __init__(self, nz: int = 100, embed_dim: int = 1024, proj_dim: int = 128, ngf: int = 64,
                 channels: int = 3, image_size: int = 64, projection_bn: bool = False,
                 residual: bool = False) -> None:
        if nz < 3:
            raise ValueError(f"CanonicalFrameGenerator needs nz >= 3 (two components turn it), got {nz}")
        super().__init__(nz - 2, embed_dim, proj_dim, ngf, channels, image_size, projection_bn, residual)
        self.nz, self.channels, self.side = nz, channels, image_size
        head = self.net.main[-1]  # (ConvT to C, Tanh) -> (ConvT to C + 1, Tanh): colour + mask
        old = head[0]
        head[0] = nn.ConvTranspose2d(old.in_channels, channels + 1, 4, 2, 1, bias=False)
        width = nz - 2 + proj_dim
        self.place = nn.Linear(width, 3)  # log-scale (about log 2), tx, ty
        self.background = nn.Linear(width, channels * 16)  # (C, 4, 4)

    def forward(self, z: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        z = z.reshape(z.size(0), -1)  # (B, nz)
        b, c, s = z.size(0), self.channels, self.side
        turn = F.normalize(z[:, :2].float(), dim=1, eps=1e-6)  # (B, 2): cos a, sin a
        h = torch.cat([z[:, 2:], self.projection(embedding)], dim=1)  # (B, nz - 2 + proj)
        canon = self.net(h[:, :, None, None]).float()  # (B, C + 1, S, S) in [-1, 1]
        canon = torch.cat([canon[:, :c], (canon[:, c:] + 1) / 2], dim=1)  # colour, mask in [0, 1]
        p = self.place(h).float()  # (B, 3)
        # the frame starts at half the image (scale 2: output coordinates -> the frame's)
        theta = placement_affine(p[:, 0] + math.log(2.0), p[:, 1:], turn)  # (B, 2, 3)
        grid = F.affine_grid(theta, [b, c + 1, s, s], align_corners=False)  # (B, S, S, 2)
        fg = F.grid_sample(canon, grid, align_corners=False, padding_mode="zeros")  # (B, C + 1, S, S)
        bg = F.interpolate(self.background(h).float().reshape(b, c, 4, 4), size=(s, s), mode="bilinear",
                           align_corners=False).tanh()  # (B, C, S, S)
        mask = fg[:, c:]  # (B, 1, S, S): 0 outside the frame (zero padding)
        return mask * fg[:, :c] + (1 - mask) * bg  # (B, C, S, S)


class GANCLSDiscriminator(nn.Module):
    """Image (B, C, S, S) and embedding (B, embed_dim) -> one matching/real logit (B,)."""

    def __init__(self, channels: int = 3, ndf: int = 64, image_size: int = 64, embed_dim: int = 1024,
                 proj_dim: int = 128, join_conv: bool = True) -> None:
        super().__init__()
        k = dcgan_depth(image_size)
        width = ndf * 2 ** (k - 3)  # feature maps at 4x4
        # DCGAN downsampling, without its 4x4 head: (B, C, S, S) -> (B, width, 4, 4)
        self.trunk = DCGANDiscriminator(channels, ndf, image_size).main[:-1]
        self.projection = TextProjection(embed_dim, proj_dim, batch_norm=True)
        joined = width + proj_dim
        if join_conv:
            # (B, width + proj, 4, 4) -> (B, width, 4, 4)
            self.joint: nn.Module = conv_block(joined, width, 1, 1, 0, norm="batch", act="leaky_relu")
            joined = width
        else:
            self.joint = nn.Identity()
        self.head = conv_block(joined, 1, 4, 1, 0, norm="none", act="none", bias=False)  # (B, 1, 1, 1)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor,
                return_features: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B,); with ``return_features`` also the trunk's maps (B, width, 4, 4)
        before the join (what aelnouby's feature-matching term compares)."""
        h = self.trunk(x)  # (B, width, 4, 4)
        t = self.projection(embedding)[:, :, None, None].expand(-1, -1, h.size(2), h.size(3))  # (B, proj, 4, 4)
        logits = self.head(self.joint(torch.cat([h, t], dim=1))).reshape(-1)  # (B,)
        return (logits, h) if return_features else logits
