"""GAN-CLS / GAN-INT: Reed, Akata, Yan, Logeswaran, Schiele, Lee, "Generative Adversarial
Text to Image Synthesis", ICML 2016 (arXiv:1605.05396); reference code reedscot/icml2016
(``main_cls.lua``, ``main_cls_int.lua``), PyTorch port aelnouby/Text-to-Image-Synthesis.

Matching-aware training (the paper's algorithm 1): D scores {real image, right text} as
real, {real image, wrong text} and {fake image, right text} as fake, the two fake terms
averaged (``L_D = log s_r + (log(1 - s_w) + log(1 - s_f)) / 2``); G maximises
``log s_f`` with ``s_f`` rescored by the updated D (non-saturating, as DCGAN). GAN-INT
(``gan_int=True``) adds to G's loss the term for embeddings interpolated between each
caption and another caption of the batch, ``beta t1 + (1 - beta) t2`` (beta 0.5, eq. 5).

Text embeddings come either from a trainable encoder (``ganas.nets.text_encoder``: a
word embedding + GRU trained with a symmetric contrastive loss against an image encoder
on the same images) or from a file of precomputed vectors (``embeddings=PATH``).

The encoder is trained by this method during the first ``encoder_steps`` steps of the
run (the pre-training phase: those steps update only the encoders and report
``loss_enc``); then the GAN trains on the frozen encoder's embeddings (with
``finetune_encoder`` the encoders keep training on every step). The vocabulary is built
from the captions of the batches the encoder trains on and frozen with it; the encoder's
weights are part of the method's state dict and its vocabulary of ``extra_state``, so
checkpoints carry both.

Precomputed embeddings (``embeddings=PATH``): a ``torch.save`` file (read with
``weights_only=True``) holding a dict ``{"captions": list[str] (N), "embeddings":
FloatTensor (N, E)}``: row i is the vector of caption i (e.g. Reed's 1024-d
char-CNN-RNN vectors, one row per caption). Captions are matched after collapsing
whitespace; ``E`` must equal ``embed_dim``. A batch caption missing from the file raises
``DataError`` naming the file. The table is not copied into checkpoints: a run restored
later needs the file at the same path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.latent import LATENT_DISTS, LatentSampler
from ..errors import ConfigError, DataError
from ..nets.dcgan import DCGAN_CHANNELS, dcgan_depth
from ..nets.gancls import CanonicalFrameGenerator, GANCLSDiscriminator, GANCLSGenerator
from ..nets.layers import init_dcgan_weights, preserved_bn_stats
from ..nets.text_encoder import ImageEncoder, TextEncoder, Vocabulary, contrastive_loss, scaled_embedding
from .base import METHODS, GANMethod, StepContext, TrainPlan, count_params
from .dcgan import _bce as bce  # BCE on logits against a constant, in float32


#: ``GANCLSConfig.matching_batch``: {real, right} and {real, wrong} in two D passes or one
MATCHING_BATCHES: tuple[str, ...] = ("separate", "mixed")


@dataclass
class GANCLSConfig:
    """GAN-CLS (Reed et al. 2016, sec. 3-5; reedscot/icml2016 ``main_cls.lua`` defaults)."""

    image_size: int = 64
    channels: int = 3
    nz: int = 100  # reedscot: nz = 100
    embed_dim: int = 1024  # reedscot: txtSize = 1024 (char-CNN-RNN)
    proj_dim: int = 128  # reedscot: nt = 128
    ngf: int = 64
    ndf: int = 64
    projection_bn: bool = False  # G's text projection: reedscot Linear+LeakyReLU; aelnouby adds BN
    # NOTE: reedscot's G (main_cls.lua) adds residual blocks at 4x4 and 8x8 (and uses ngf
    # 128); the paper describes the plain DCGAN G, aelnouby's port too (our default)
    residual: bool = False
    # NOTE: not in the paper nor its references: G draws its foreground upright in a
    # canonical frame and turns it by a rotation drawn uniformly from z
    # (``ganas.nets.gancls.CanonicalFrameGenerator``, with the reasons and figures). Off:
    # the paper's G. Only for data whose objects appear at every rotation equally often.
    canonical_frame: bool = False
    join_conv: bool = True  # D's 1x1 conv after the join (paper, reedscot); aelnouby has none
    batch_size: int = 64  # reedscot: batchSize = 64
    lr: float = 2e-4  # reedscot: 0.0002
    # NOTE: the paper gives only the base rate (sec. 5: 0.0002); reedscot's main_cls.lua
    # halves it at every 100th epoch (lr_decay = 0.5, decay_every = 100; G and D).
    # Default: constant, as the paper's text; ``lr_decay=0.5`` gives reedscot's schedule,
    # epochs counted over the whole run (the encoder phase included).
    lr_decay: float = 1.0
    decay_every: int = 100  # epochs
    beta1: float = 0.5
    beta2: float = 0.999
    cls: bool = True  # matching-aware D (GAN-CLS); False: plain conditional GAN
    # NOTE: three stabilisers of the aelnouby/Text-to-Image-Synthesis port (trainer.py), not
    # in the paper nor reedscot (whose values are the defaults): D's target for {real,
    # right text} (one-sided label smoothing, Salimans et al. 2016; aelnouby lowers a random
    # third of the targets by up to 0.3, we use one constant), and two extra terms of G's
    # loss: feature matching, the squared distance between the batch means of D's trunk
    # maps on fake and real images (aelnouby ``l2_coef`` = 100), and L1 to the real image
    # of the caption (aelnouby ``l1_coef`` = 50).
    real_label: float = 1.0
    feature_matching: float = 0.0
    l1_weight: float = 0.0
    # NOTE: not in the paper nor its references: instance noise (Sonderby et al. 2017,
    # "Amortised MAP inference for image super-resolution", sec. 3.2; Arjovsky & Bottou
    # 2017): Gaussian noise of std ``instance_noise`` (images in [-1, 1]) added to every
    # image D sees, real and fake, annealed linearly to 0 over the run. Flat-shaded
    # procedural images lie on a thin manifold that D separates from G's early blur at
    # once; the noise makes the two distributions overlap. 0 = off (the paper).
    instance_noise: float = 0.0
    # NOTE: how D's BatchNorm sees the matching pairs. "separate" (reedscot's main_cls.lua,
    # one netD:forward per kind of pair; our default): {real, right} and {real, wrong} in
    # two passes, so each batch is all-right or all-wrong and D can tell them apart by
    # the batch statistics of its join layer instead of checking each pair; on the
    # built-in task a D trained on matching alone that way reaches a training loss of
    # 0.013 and checks shape in 74% of held-out pairs, colour in 87%. "mixed": both kinds
    # in one pass (B right + B wrong), so only the per-pair check pays: 86% / 100%
    # (docs/benchmarks.md, "GAN-CLS"). {fake, right} is its own pass either way (DCGAN).
    matching_batch: Literal["separate", "mixed"] = "separate"
    gan_int: bool = False  # GAN-INT: G also trained on interpolated embeddings
    int_beta: float = 0.5  # paper: beta = 0.5
    latent: Literal["normal", "uniform"] = "normal"
    # text embeddings: "" = the trained encoder below; else a file of precomputed vectors
    embeddings: str = ""
    # NOTE: the trainable encoder stands in for Reed's pre-trained char-CNN-RNN (nothing can
    # be downloaded); its sizes are ours, not the paper's.
    vocab_size: int = 2048  # rows of the word table (specials included)
    word_dim: int = 128
    encoder_hidden: int = 256  # per GRU direction
    image_encoder_width: int = 32
    max_words: int = 32
    encoder_steps: int = 2000  # pre-training phase: the first steps train only the encoders
    encoder_lr: float = 1e-3  # Adam (0.9, 0.999)
    temperature: float = 0.1
    finetune_encoder: bool = False  # keep training the encoders during the GAN phase

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad option."""
        dcgan_depth(self.image_size)
        if self.channels not in DCGAN_CHANNELS:
            raise ConfigError(f"channels={self.channels} is not supported by GAN-CLS; allowed: 1, 3")
        for key in ("nz", "embed_dim", "proj_dim", "ngf", "ndf", "batch_size", "word_dim", "encoder_hidden",
                    "image_encoder_width", "max_words"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be a positive integer, got {getattr(self, key)}")
        if self.encoder_steps < 0:
            raise ConfigError(f"encoder_steps must be >= 0, got {self.encoder_steps}")
        for key in ("lr", "encoder_lr", "temperature"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)}")
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{key} must be in [0, 1), got {getattr(self, key)}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.decay_every < 1:
            raise ConfigError(f"decay_every must be a positive number of epochs, got {self.decay_every}")
        if not 0.0 < self.real_label <= 1.0:
            raise ConfigError(f"real_label must be in (0, 1], got {self.real_label}")
        for key in ("feature_matching", "l1_weight", "instance_noise"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, got {getattr(self, key)}")
        if not 0.0 <= self.int_beta <= 1.0:
            raise ConfigError(f"int_beta must be in [0, 1], got {self.int_beta}")
        if self.matching_batch not in MATCHING_BATCHES:
            raise ConfigError(f"matching_batch={self.matching_batch!r} is not supported; allowed: "
                              f"{', '.join(MATCHING_BATCHES)}")
        if self.latent not in LATENT_DISTS:
            raise ConfigError(f"latent={self.latent!r} is not supported; allowed: {', '.join(LATENT_DISTS)}")
        if self.canonical_frame and (self.latent != "normal" or self.nz < 3):
            raise ConfigError(f"canonical_frame=true turns G by the direction of z's first two components, "
                              f"uniform only for latent=normal and nz >= 3; got latent={self.latent!r}, nz={self.nz}")


def discriminator_loss(s_real: torch.Tensor, s_wrong: torch.Tensor | None, s_fake: torch.Tensor,
                       real_label: float = 1.0) -> torch.Tensor:
    """D's loss from logits (B,) of {real, right text}, {real, wrong text}, {fake, right text}.

    GAN-CLS (algorithm 1): ``BCE(s_r, 1) + (BCE(s_w, 0) + BCE(s_f, 0)) / 2``; without the
    wrong-text term (``s_wrong=None``, plain conditional GAN): ``BCE(s_r, 1) + BCE(s_f, 0)``.
    ``real_label`` < 1: the target of ``s_r`` (one-sided label smoothing)."""
    if s_wrong is None:
        return bce(s_real, real_label) + bce(s_fake, 0.0)
    return bce(s_real, real_label) + 0.5 * (bce(s_wrong, 0.0) + bce(s_fake, 0.0))


def feature_matching_loss(fake_maps: torch.Tensor, real_maps: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the batch means of D's trunk maps (B, C, 4, 4) on
    fake and (detached) real images (aelnouby's ``l2_loss(mean fake, mean real)``)."""
    return F.mse_loss(fake_maps.float().mean(0), real_maps.float().mean(0).detach())


def interpolate_embeddings(e1: torch.Tensor, e2: torch.Tensor, beta: float | torch.Tensor) -> torch.Tensor:
    """GAN-INT's ``beta * t1 + (1 - beta) * t2`` for embeddings (B, E) (``beta`` a float or
    a (B, 1) tensor)."""
    return beta * e1 + (1.0 - beta) * e2


class EveryNthEpoch:
    """LambdaLR factor after ``done`` finished epochs: ``gamma ** ((done + 1) // every)``,
    reedscot's ``if epoch % decay_every == 0 then lr = lr * lr_decay`` at the start of
    1-based epoch ``done + 1`` (a callable object, so the scheduler's state_dict keeps it)."""

    def __init__(self, every: int, gamma: float) -> None:
        self.every, self.gamma = int(every), float(gamma)

    def __call__(self, done: int) -> float:
        return self.gamma ** ((done + 1) // self.every)


def _key(caption: str) -> str:
    return " ".join(caption.split())


def load_embedding_file(path: str | Path, embed_dim: int) -> tuple[dict[str, int], torch.Tensor]:
    """Read a precomputed-embedding file (format in the module docstring): caption -> row,
    and the float32 table (N, E). ``DataError`` names the file when it does not fit."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"embeddings={str(p)!r}: no such file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001  (a corrupt or foreign file)
        raise DataError(f"embeddings={str(p)!r}: not a torch.save file of a dict ({e})") from e
    if not isinstance(obj, dict) or "captions" not in obj or "embeddings" not in obj:
        raise DataError(f"embeddings={str(p)!r}: expected a dict with keys 'captions' and 'embeddings'")
    caps, table = obj["captions"], obj["embeddings"]
    if not isinstance(table, torch.Tensor) or table.dim() != 2 or not isinstance(caps, (list, tuple)) \
            or len(caps) != table.size(0):
        raise DataError(f"embeddings={str(p)!r}: 'embeddings' must be a (N, E) tensor and 'captions' a list of N strings")
    if table.size(1) != embed_dim:
        raise ConfigError(f"embeddings={str(p)!r} holds {table.size(1)}-d vectors but embed_dim={embed_dim}; "
                          f"set embed_dim={table.size(1)}")
    return {_key(str(c)): i for i, c in enumerate(caps)}, table.float()


@METHODS.register("gancls", help="GAN-CLS (Reed et al. 2016): text-to-image synthesis, matching-aware D")
class GANCLS(GANMethod):
    """Text-conditional ``G``, matching-aware ``D`` and (by default) the trained text
    encoder ``E_text`` with its image-side partner ``E_image``."""

    Config = GANCLSConfig
    batch_fields = ("image", "caption", "wrong_caption")
    visual_fields = ("caption",)
    latent = True
    evaluation = "text"
    schedule = "epoch"  # schedulers only with lr_decay < 1 (reedscot's halving)
    loss_units = {"loss_D": "BCE real + (BCE wrong + BCE fake) / 2",
                  "loss_G": "BCE (+ feature_matching x loss_G_fm + l1_weight x loss_G_l1 + loss_G_int when set)",
                  "loss_G_fm": "MSE of D's batch-mean maps", "loss_G_l1": "L1", "loss_G_int": "BCE",
                  "loss_enc": "symmetric InfoNCE"}

    def __init__(self, config: GANCLSConfig | None = None) -> None:
        config = config if config is not None else GANCLSConfig()
        config.validate()
        super().__init__(config)
        c = config
        g_cls = CanonicalFrameGenerator if c.canonical_frame else GANCLSGenerator
        self.G = init_dcgan_weights(g_cls(c.nz, c.embed_dim, c.proj_dim, c.ngf, c.channels, c.image_size,
                                          c.projection_bn, c.residual))
        self.D = init_dcgan_weights(GANCLSDiscriminator(c.channels, c.ndf, c.image_size, c.embed_dim,
                                                        c.proj_dim, c.join_conv))
        self.latent_sampler = LatentSampler(c.nz, c.latent)
        self._table: torch.Tensor | None = None
        self._rows: dict[str, int] = {}
        if c.embeddings:
            self._rows, self._table = load_embedding_file(c.embeddings, c.embed_dim)
            self.E_text: TextEncoder | None = None
            self.E_image: ImageEncoder | None = None
        else:
            self.E_text = TextEncoder(c.vocab_size, c.embed_dim, c.word_dim, c.encoder_hidden)
            self.E_image = ImageEncoder(c.channels, c.image_encoder_width, c.image_size, c.embed_dim)
        self.vocab = Vocabulary(c.vocab_size)
        #: captions ``sample`` uses when given none: the fixed held-out batch's (set by
        #: ``visuals``), else the first training batch's
        self.sample_captions: list[str] = []
        self.configure_optimizers()

    # -- declarations ------------------------------------------------------------------
    @classmethod
    def data_defaults(cls, config: GANCLSConfig) -> dict[str, Any]:
        return {"image_size": config.image_size, "channels": config.channels}

    @classmethod
    def train_defaults(cls, config: GANCLSConfig) -> dict[str, Any]:
        # NOTE: reedscot trains 600 epochs of CUB; our default length is in steps: the
        # encoder phase plus as many GAN steps.
        return {"steps": max(1000, 2 * config.encoder_steps), "n_samples": 64}

    @classmethod
    def tiny_config(cls) -> GANCLSConfig:
        # encoder_steps=0 with finetune_encoder: every step updates G, D and both encoders
        return GANCLSConfig(image_size=16, nz=8, embed_dim=16, proj_dim=8, ngf=4, ndf=4, batch_size=4,
                            vocab_size=64, word_dim=8, encoder_hidden=8, image_encoder_width=4,
                            encoder_steps=0, finetune_encoder=True, gan_int=True)

    # -- protocol --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        nets: dict[str, nn.Module] = {"G": self.G, "D": self.D}
        if self.E_text is not None and self.E_image is not None:
            nets.update(E_text=self.E_text, E_image=self.E_image)
        return nets

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        """Adam(2e-4, (0.5, 0.999)) for G and D (reedscot); Adam(encoder_lr) for the encoders;
        with ``lr_decay`` < 1, G's and D's rates multiplied by it every ``decay_every`` epochs."""
        c = self.config
        betas = (c.beta1, c.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=c.lr, betas=betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=c.lr, betas=betas),
        }
        if self.E_text is not None and self.E_image is not None:
            params = list(self.E_text.parameters()) + list(self.E_image.parameters())
            self.optimizers["E"] = torch.optim.Adam(params, lr=c.encoder_lr)
        self.schedulers = {}
        if c.lr_decay < 1.0:
            rule = EveryNthEpoch(c.decay_every, c.lr_decay)
            self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(self.optimizers[k], rule) for k in ("G", "D")}

    @property
    def device(self) -> torch.device:
        """The device of the method's networks."""
        return next(self.G.parameters()).device

    # -- text ------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """The trained text encoder's raw features (B, E) (with gradients; ``embed_text``
        is their ``scaled_embedding``); the space ``E_image`` is trained into."""
        assert self.E_text is not None
        ids, lengths = self.vocab.encode(list(texts), self.config.max_words)  # (B, L), (B,)
        return self.E_text(ids.to(self.device), lengths)

    @torch.no_grad()
    def embed_text(self, texts: Sequence[str]) -> torch.Tensor:
        """The conditioning vectors (B, embed_dim), float32 on the method's device:
        ``scaled_embedding`` of the trained encoder, or the rows of the embedding file."""
        texts = list(texts)
        if not texts:
            raise ConfigError("embed_text needs at least one caption")
        if self._table is not None:
            missing = [t for t in texts if _key(t) not in self._rows]
            if missing:
                raise DataError(f"embeddings={self.config.embeddings!r} has no vector for caption {missing[0]!r}"
                                f" ({len(missing)} of {len(texts)} missing)")
            rows = torch.tensor([self._rows[_key(t)] for t in texts])
            return self._table[rows].to(self.device)
        return scaled_embedding(self.encode_text(texts))

    def encoder_step(self, images: torch.Tensor, captions: Sequence[str]) -> torch.Tensor:
        """One contrastive update of the encoders on matching (image, caption) pairs; grows
        the vocabulary with the captions first. Returns the detached loss."""
        assert self.E_image is not None
        self.vocab.add(captions)
        opt = self.optimizers["E"]
        opt.zero_grad(set_to_none=True)
        # NOTE: the encoders run in float32 outside autocast (a packed GRU under CPU bf16
        # autocast is not supported everywhere; they are small beside G and D).
        loss = contrastive_loss(self.encode_text(captions), self.E_image(images.float()), self.config.temperature)
        loss.backward()
        opt.step()
        return loss.detach()

    def in_encoder_phase(self, step: int) -> bool:
        return self.E_text is not None and step <= self.config.encoder_steps

    # -- training --------------------------------------------------------------------
    def train_step(self, batch: Mapping[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        real = batch["image"]  # (B, C, H, W) in [-1, 1]
        captions, wrong = list(batch["caption"]), list(batch["wrong_caption"])
        b = real.size(0)
        if len(captions) != b or len(wrong) != b:
            raise DataError(f"gancls: a batch of {b} images has {len(captions)} captions and {len(wrong)} wrong captions")
        if not self.sample_captions:
            self.sample_captions = captions[:64]
        out: dict[str, torch.Tensor] = {}
        if self.E_text is not None and (self.in_encoder_phase(ctx.step) or self.config.finetune_encoder):
            out["loss_enc"] = self.encoder_step(real, captions)
        if self.in_encoder_phase(ctx.step):
            return out

        c = self.config
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        emb, emb_wrong = self.embed_text(captions), self.embed_text(wrong)  # (B, E) each, no grad
        z = self.latent_sampler.sample(b, device=real.device)  # (B, nz, 1, 1)

        sigma = c.instance_noise * max(0.0, 1.0 - (ctx.step - 1) / max(1, ctx.total_steps))
        noisy = (lambda x: x + sigma * torch.randn_like(x)) if sigma > 0 else (lambda x: x)

        # (1) D: {real, right} real; {real, wrong} and {fake, right} fake, averaged.
        # {real, right} and {real, wrong} in separate passes or one (``matching_batch``).
        opt_d.zero_grad(set_to_none=True)
        with ctx.autocast():
            real_d = noisy(real)  # (B, C, H, W): what D sees of the real images
            if c.cls and c.matching_batch == "mixed":
                s_both = self.D(torch.cat([real_d, real_d]), torch.cat([emb, emb_wrong]))  # (2B,)
                s_real, s_wrong = s_both[:b], s_both[b:]  # (B,) each
            else:
                s_real = self.D(real_d, emb)  # (B,)
                s_wrong = self.D(real_d, emb_wrong) if c.cls else None
            fake = self.G(z, emb)  # (B, C, H, W)
            fake_d = noisy(fake)
            s_fake = self.D(fake_d.detach(), emb)
        loss_d = discriminator_loss(s_real, s_wrong, s_fake, c.real_label)
        loss_d.backward()
        opt_d.step()

        # (2) G: make {fake, right} real for the updated D (D's parameters frozen).
        opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(False)
        try:
            with ctx.autocast():
                if c.feature_matching > 0:
                    s_gen, maps_fake = self.D(fake_d, emb, return_features=True)  # (B,), (B, C', 4, 4)
                    with torch.no_grad():
                        maps_real = self.D.trunk(real_d)  # (B, C', 4, 4)
                else:
                    s_gen = self.D(fake_d, emb)  # (B,)
            loss_g = bce(s_gen, 1.0)
            if c.feature_matching > 0:
                loss_fm = feature_matching_loss(maps_fake, maps_real)
                loss_g = loss_g + c.feature_matching * loss_fm
                out["loss_G_fm"] = loss_fm.detach()
            if c.l1_weight > 0:
                loss_l1 = (fake.float() - real.float()).abs().mean()
                loss_g = loss_g + c.l1_weight * loss_l1
                out["loss_G_l1"] = loss_l1.detach()
            if c.gan_int:
                # GAN-INT: interpolate each caption's embedding with the next one's in the batch
                emb_int = interpolate_embeddings(emb, emb.roll(1, dims=0), c.int_beta)  # (B, E)
                z_int = self.latent_sampler.sample(b, device=real.device)
                with ctx.autocast():
                    s_int = self.D(noisy(self.G(z_int, emb_int)), emb_int)  # (B,)
                loss_int = bce(s_int, 1.0)
                loss_g = loss_g + loss_int
                out["loss_G_int"] = loss_int.detach()
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        opt_g.step()

        with torch.no_grad():
            out.update(loss_D=loss_d.detach(), loss_G=loss_g.detach(),
                       D_real=torch.sigmoid(s_real.float()).mean(),
                       D_fake=torch.sigmoid(s_fake.float()).mean(),
                       D_G_z=torch.sigmoid(s_gen.float()).mean())
            if s_wrong is not None:
                out["D_wrong"] = torch.sigmoid(s_wrong.float()).mean()
        return out

    # -- generation ------------------------------------------------------------------
    @torch.no_grad()
    def generate_from_embedding(self, embedding: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """G(z, t): embedding (n, E), z (n, nz) or (n, nz, 1, 1) -> (n, C, H, W) in [-1, 1]
        (G in its current mode, BatchNorm running statistics untouched)."""
        device = self.device
        with preserved_bn_stats(self.G):
            return self.G(z.to(device), embedding.to(device))

    @torch.no_grad()
    def generate_from_text(self, texts: Sequence[str], z: torch.Tensor | None = None,
                           generator: torch.Generator | None = None) -> torch.Tensor:
        """One image per caption: (len(texts), C, H, W) in [-1, 1]; ``z`` (n, nz[, 1, 1])
        or drawn from ``generator``. Repeat a caption to get several images of it."""
        texts = list(texts)
        if z is None:
            z = self.latent_sampler.sample(len(texts), generator=generator)
        if z.size(0) != len(texts):
            raise ConfigError(f"generate_from_text: {len(texts)} captions but {z.size(0)} latent vectors")
        return self.generate_from_embedding(self.embed_text(texts), z)

    @torch.no_grad()
    def interpolate_text(self, text_a: str, text_b: str, steps: int = 8, z: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """Images along ``(1 - a) t_A + a t_B`` for ``a`` in ``linspace(0, 1, steps)``, one
        shared z (1, nz[, 1, 1]) (the paper's fig. 7 interpolations): (steps, C, H, W)."""
        if steps < 2:
            raise ConfigError(f"interpolate_text: steps must be >= 2, got {steps}")
        e = self.embed_text([text_a, text_b])  # (2, E)
        a = torch.linspace(0, 1, steps, device=e.device)[:, None]  # (steps, 1)
        emb = interpolate_embeddings(e[0:1], e[1:2], 1 - a)  # (steps, E)
        if z is None:
            z = self.latent_sampler.sample(1, generator=generator)
        return self.generate_from_embedding(emb, z.reshape(1, -1).expand(steps, -1))

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z, t) for the default captions (``sample_captions``, cycled) -> (n, C, H, W)."""
        return self.generate_from_text(self._default_texts(z.size(0)), z)

    def _default_texts(self, n: int) -> list[str]:
        if not self.sample_captions:
            raise ConfigError("gancls: no captions to sample from yet (train a step, or call "
                              "generate_from_text with captions)")
        k = len(self.sample_captions)
        return [self.sample_captions[i % k] for i in range(n)]

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images for the captions of the fixed held-out batch (cycled)."""
        return self.generate(self.latent_sampler.sample(n, generator=generator))

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, Any] | None, generator: torch.Generator,
                n: int = 64) -> dict[str, torch.Tensor]:
        """``{"samples": (R, K, C, H, W)}``: row r is K images of caption r of the fixed batch,
        one fixed z per column (so a column shares its noise across captions)."""
        captions = list(fixed["caption"]) if fixed is not None else self._default_texts(n)
        if fixed is not None:
            self.sample_captions = captions[:64]
        k = max(1, round(math.sqrt(n)))
        r = max(1, min(len(captions), math.ceil(n / k)))
        z = self.latent_sampler.sample(k, generator=generator)  # (K, nz, 1, 1)
        texts = [captions[i] for i in range(r) for _ in range(k)]
        x = self.generate_from_text(texts, z.repeat(r, 1, 1, 1))  # (R*K, C, H, W)
        return {"samples": x.reshape(r, k, *x.shape[1:])}

    # -- state -----------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"vocab": self.vocab.state(), "sample_captions": list(self.sample_captions)}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        self.vocab = Vocabulary.from_state(self.config.vocab_size, list(state.get("vocab", [])))
        self.sample_captions = list(state.get("sample_captions", []))

    def example_batch(self, batch_size: int) -> dict[str, Any]:
        from ..data.shapes import caption, scene_for

        c = self.config
        device = self.device
        image = torch.rand(batch_size, c.channels, c.image_size, c.image_size, device=device) * 2 - 1
        rng = np.random.default_rng(0)
        caps = [caption(scene_for(i), rng) for i in range(2 * batch_size)]
        return {"image": image, "caption": caps[:batch_size], "wrong_caption": caps[batch_size:]}

    def describe(self) -> dict[str, dict[str, Any]]:
        c = self.config
        out = {
            "G": {"params": count_params(self.G), "output_shape": [c.channels, c.image_size, c.image_size]},
            "D": {"params": count_params(self.D), "output_shape": [1]},
        }
        if self.E_text is not None and self.E_image is not None:
            out["E_text"] = {"params": count_params(self.E_text), "output_shape": [c.embed_dim]}
            out["E_image"] = {"params": count_params(self.E_image), "output_shape": [c.embed_dim]}
        return out
