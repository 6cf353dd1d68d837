"""StarGAN: Choi, Choi, Kim, Ha, Kim, Choo, "StarGAN: Unified Generative Adversarial
Networks for Multi-Domain Image-to-Image Translation", CVPR 2018 (arXiv:1711.09020).

One generator ``G(x, c)`` translates an image to any target domain ``c``; the
discriminator ``D`` gives a patch real/fake map and domain logits. The step is
yunjey/stargan ``solver.py`` ``train()``:

- target labels: a random permutation of the batch's labels (``torch.randperm``);
- D (every step): ``-mean(D_src(x)) + mean(D_src(G(x, c_trg))) + lambda_cls * L_cls(D_cls(x), c_org)
  + lambda_gp * GP`` with the WGAN-GP penalty ``mean((||dD_src(x_hat)/dx_hat||_2 - 1)^2)`` on
  ``x_hat = a x + (1 - a) G(x, c_trg)``, ``a ~ U(0, 1)`` per image; one backward, one step;
- G (every ``n_critic``-th step): ``-mean(D_src(G(x, c_trg))) + lambda_rec * mean|x - G(G(x, c_trg), c_org)|
  + lambda_cls * L_cls(D_cls(G(x, c_trg)), c_trg)``.

``L_cls`` is BCE-with-logits summed over attributes and averaged over the batch for
multi-label attributes (CelebA), cross-entropy for single-label domains (RaFD). A step
returns only the losses it computed (G's on every ``n_critic``-th step); the trainer's
log averages each key over the steps that reported it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator, Literal, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.celeba import DEFAULT_ATTRS, HAIR_COLOURS
from ..errors import ConfigError, DataError
from ..nets.layers import preserved_bn_stats
from ..nets.stargan import LABEL_AT, StarGANDiscriminator, StarGANGenerator, d_kernel
from .base import METHODS, GANMethod, StepContext, TrainPlan, count_params

DOMAIN_KINDS: tuple[str, ...] = ("multi_label", "single_label")


@dataclass
class StarGANConfig:
    """StarGAN (Choi et al. 2018, sec. 4 and appendix; yunjey/stargan ``main.py`` defaults)."""

    image_size: int = 128  # CelebA: centre crop 178, resized to 128
    channels: int = 3
    c_dim: int = 5  # number of domain labels
    # "multi_label": field "attrs" (B, c_dim) of 0/1 (CelebA); "single_label": field
    # "label" (B,) of class indices 0..c_dim-1 (RaFD, folder: class subfolders)
    domains: Literal["multi_label", "single_label"] = "multi_label"
    # the c_dim domain names, comma-separated (the data's attr_names / class names);
    # "" names them domain0..; the mutually exclusive groups follow from the names
    # (``domain_groups``): CelebA hair colours, shapes' "group=value"
    attrs: str = DEFAULT_ATTRS
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6  # residual blocks of G
    d_repeat_num: int = 6  # stride-2 convolutions of D
    label_at: Literal["input", "bottleneck"] = "input"  # "bottleneck": not in the paper (nets/stargan.py)
    lambda_cls: float = 1.0
    lambda_rec: float = 10.0
    lambda_gp: float = 10.0
    batch_size: int = 16
    # the length and the decay: linear to 0 over the last num_iters_decay of num_iters
    # steps; under a TrainPlan the same fraction of its total_steps
    num_iters: int = 200000
    num_iters_decay: int = 100000
    g_lr: float = 1e-4
    d_lr: float = 1e-4
    n_critic: int = 5  # D updates per G update
    beta1: float = 0.5
    beta2: float = 0.999

    def validate(self) -> None:
        """Raise ``ConfigError`` naming the bad option."""
        if self.domains not in DOMAIN_KINDS:
            raise ConfigError(f"domains={self.domains!r} is not supported; allowed: {', '.join(DOMAIN_KINDS)}")
        if self.label_at not in LABEL_AT:
            raise ConfigError(f"label_at={self.label_at!r} is not supported; allowed: {', '.join(LABEL_AT)}")
        if self.channels not in (1, 3):
            raise ConfigError(f"channels={self.channels} is not supported by StarGAN; allowed: 1, 3")
        for key in ("c_dim", "g_conv_dim", "d_conv_dim", "d_repeat_num", "batch_size", "num_iters", "n_critic"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be a positive integer, got {getattr(self, key)}")
        if self.domains == "single_label" and self.c_dim < 2:
            raise ConfigError(f"c_dim must be >= 2 for single_label domains, got {self.c_dim}")
        if self.g_repeat_num < 0 or not 0 <= self.num_iters_decay <= self.num_iters:
            raise ConfigError(f"need g_repeat_num >= 0 and 0 <= num_iters_decay <= num_iters, got "
                              f"{self.g_repeat_num}, {self.num_iters_decay}, {self.num_iters}")
        if self.image_size % 4:
            raise ConfigError(f"image_size={self.image_size} must be a multiple of 4 (G halves it twice)")
        d_kernel(self.image_size, self.d_repeat_num)
        for key in ("lambda_cls", "lambda_rec", "lambda_gp"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key} must be >= 0, got {getattr(self, key)}")
        for key in ("g_lr", "d_lr"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)}")
        for key in ("beta1", "beta2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{key} must be in [0, 1), got {getattr(self, key)}")
        names = domain_names(self)
        if len(names) != self.c_dim or len(set(names)) != len(names):
            raise ConfigError(f"attrs={self.attrs!r} must name c_dim={self.c_dim} distinct domains "
                              f"(or be empty), got {len(names)}")


def domain_names(config: StarGANConfig) -> list[str]:
    """The ``c_dim`` domain names of ``config.attrs`` ("" -> domain0, domain1, ...)."""
    names = [a.strip() for a in config.attrs.split(",") if a.strip()]
    return names or [f"domain{i}" for i in range(config.c_dim)]


def domain_groups(names: Sequence[str], domains: str) -> list[list[int]]:
    """The mutually exclusive groups of domain indices, as the datasets declare them
    (``attr_groups``): single-label domains are one group; among multi-label attributes
    the CelebA hair colours form one group (one-hot at test time, StarGAN's
    ``create_labels``), names ``group=value`` (``shapes?task=attributes``) one group per
    prefix, every other attribute its own binary group."""
    if domains == "single_label":
        return [list(range(len(names)))]
    groups: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        key = "=hair" if n in HAIR_COLOURS else (n.split("=", 1)[0] + "=" if "=" in n else n)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def stargan_overrides(dataset: Any) -> dict[str, Any]:
    """Config overrides that match a dataset: ``attrs`` datasets (``attr_names``) give
    multi-label domains, labelled ones (``class_names``) single-label domains. The
    workflow applies them before building the method (``ganas train stargan --data ...``)."""
    names = getattr(dataset, "attr_names", None)
    if names:
        return {"domains": "multi_label", "c_dim": len(names), "attrs": ",".join(names)}
    classes = getattr(dataset, "class_names", None)
    if classes and len(classes) >= 2:
        return {"domains": "single_label", "c_dim": len(classes), "attrs": ",".join(classes)}
    raise DataError(f"{getattr(dataset, 'spec', type(dataset).__name__)}: StarGAN needs domains: attributes "
                    "(celeba:PATH, shapes?task=attributes) or at least two classes (folder:PATH with class subfolders)")


# -- losses (module level: tested on tiny tensors) ---------------------------------------
def gradient_penalty(out: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017) as yunjey/stargan ``gradient_penalty``:
    ``mean_i((||d sum(out_i) / d x_hat_i||_2 - 1)^2)`` for ``out`` (B, ...) computed from
    ``x_hat`` (B, C, H, W); the graph is kept so the penalty can be backpropagated."""
    grad = torch.autograd.grad(outputs=out, inputs=x_hat, grad_outputs=torch.ones_like(out),
                               retain_graph=True, create_graph=True, only_inputs=True)[0]
    norm = grad.flatten(1).pow(2).sum(dim=1).sqrt()  # (B,)
    return (norm - 1).pow(2).mean()


def classification_loss(logits: torch.Tensor, target: torch.Tensor, domains: str) -> torch.Tensor:
    """The domain classification loss of ``logits`` (B, c_dim): multi-label ``target``
    (B, c_dim) 0/1 -> BCE-with-logits summed over attributes, averaged over the batch
    (reference ``size_average=False`` / B); single-label ``target`` (B,) class indices ->
    cross-entropy (batch mean)."""
    if domains == "multi_label":
        return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="sum") / logits.size(0)
    return F.cross_entropy(logits, target.long())


class LinearDecay:
    """LambdaLR factor: 1 until ``total - decay`` steps are done, then linear to 0 at
    ``total`` (a callable object, so the scheduler's state_dict keeps it)."""

    def __init__(self, total: int, decay: int) -> None:
        self.total, self.decay = int(total), int(decay)

    def __call__(self, done: int) -> float:
        if self.decay <= 0:
            return 1.0
        return max(0.0, min(1.0, (self.total - done) / self.decay))


@contextlib.contextmanager
def _instance_statistics(g: nn.Module) -> Iterator[None]:
    """Run ``g`` in training mode (instance norm on each image's own statistics) with
    its running statistics restored afterwards.

    NOTE: yunjey/stargan never calls ``G.eval()``: its samples and test translations
    use each image's own statistics; we do the same whatever mode the method is in."""
    was = g.training
    g.train()
    try:
        with preserved_bn_stats(g):
            yield
    finally:
        g.train(was)


@METHODS.register("stargan", help="StarGAN (Choi et al. 2018): multi-domain image-to-image translation")
class StarGAN(GANMethod):
    """Generator ``G(x, c)`` and discriminator ``D(x) -> (src, cls)`` of StarGAN."""

    Config = StarGANConfig
    # the class declares the multi-label fields; an instance with single_label domains
    # narrows it to ("image", "label") in __init__ (what the trainer checks)
    batch_fields: tuple[str, ...] = ("image", "attrs")
    visual_fields = None  # the fixed batch's images and labels
    latent = False
    evaluation = "attributes"
    schedule = "step"
    loss_units = {"loss_D": "WGAN-GP critic + cls + GP", "loss_G": "adv + rec L1 + cls"}

    def __init__(self, config: StarGANConfig | None = None) -> None:
        config = config if config is not None else StarGANConfig()
        config.validate()
        super().__init__(config)
        c = config
        self.batch_fields = ("image", "attrs") if c.domains == "multi_label" else ("image", "label")
        self.names = domain_names(c)
        self.groups = domain_groups(self.names, c.domains)
        self.G = StarGANGenerator(c.g_conv_dim, c.c_dim, c.g_repeat_num, c.channels, c.label_at)
        self.D = StarGANDiscriminator(c.image_size, c.d_conv_dim, c.c_dim, c.d_repeat_num, c.channels)
        self.configure_optimizers()

    # -- declarations ------------------------------------------------------------------
    @classmethod
    def data_defaults(cls, config: StarGANConfig) -> dict[str, Any]:
        # celeba:PATH centre-crops 178 by default (its ?center_crop=), then resizes to image_size;
        # yunjey/stargan data_loader.py flips the training images of CelebA and RaFD alike
        return {"image_size": config.image_size, "channels": config.channels, "crop": "center", "flip": True}

    @classmethod
    def config_from_data(cls, dataset: Any) -> dict[str, Any]:
        return stargan_overrides(dataset)  # domains, c_dim, attrs: never set by hand

    @classmethod
    def train_defaults(cls, config: StarGANConfig) -> dict[str, Any]:
        return {"steps": config.num_iters, "n_samples": 8}

    @classmethod
    def tiny_config(cls) -> StarGANConfig:
        # n_critic=1: the first step updates G too, so every code path runs in one step
        return StarGANConfig(image_size=16, c_dim=3, attrs="", g_conv_dim=4, d_conv_dim=4, g_repeat_num=1,
                             d_repeat_num=2, batch_size=4, n_critic=1, num_iters=4, num_iters_decay=2)

    # -- labels ------------------------------------------------------------------------
    def labels(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(c_org (B, c_dim) float for G, label_org for the classification loss: the same
        for multi-label domains, class indices (B,) for single-label ones)."""
        c = self.config
        if c.domains == "multi_label":
            a = batch["attrs"].float()
            if a.dim() != 2 or a.size(1) != c.c_dim:
                raise DataError(f"StarGAN: field 'attrs' must be (B, c_dim={c.c_dim}), got {tuple(a.shape)}; "
                                "set c_dim/attrs to the data's attributes")
            return a, a
        y = batch["label"].long().reshape(-1)
        if int(y.min()) < 0 or int(y.max()) >= c.c_dim:
            raise DataError(f"StarGAN: labels must be in 0..{c.c_dim - 1} (c_dim), got {int(y.min())}..{int(y.max())}")
        return F.one_hot(y, c.c_dim).float(), y

    def single_domain_targets(self, c_org: torch.Tensor) -> list[torch.Tensor]:
        """For each domain i, the labels (B, c_dim) of changing only i: in a group of
        several (hair colours, one-hot domains) set i and clear the rest, a binary
        attribute flipped (yunjey/stargan ``create_labels``)."""
        out = []
        for i in range(self.config.c_dim):
            group = next(g for g in self.groups if i in g)
            t = c_org.clone()
            if len(group) > 1:
                t[:, group] = 0
                t[:, i] = 1
            else:
                t[:, i] = (t[:, i] == 0).to(t.dtype)
            out.append(t)
        return out

    def target_labels(self, target: torch.Tensor | str | Sequence[str], n: int,
                      source: torch.Tensor | None = None) -> torch.Tensor:
        """Labels (n, c_dim) from ``target``: a tensor (c_dim,) or (n, c_dim), or domain
        names (a comma-separated string or a sequence) switched on, each clearing the rest
        of its group, over ``source`` (n, c_dim) (the images' own labels; zeros if None)."""
        c = self.config
        device = next(self.G.parameters()).device
        if isinstance(target, torch.Tensor):
            t = target.float().to(device)
            t = t.expand(n, -1) if t.dim() == 1 else t
            if tuple(t.shape) != (n, c.c_dim):
                raise ConfigError(f"target labels must be (c_dim={c.c_dim},) or ({n}, {c.c_dim}), got {tuple(target.shape)}")
            return t
        wanted = [w.strip() for w in (target.split(",") if isinstance(target, str) else target) if w.strip()]
        unknown = [w for w in wanted if w not in self.names]
        if not wanted or unknown:
            raise ConfigError(f"target: unknown domain(s) {', '.join(unknown) or '(none given)'}; "
                              f"valid: {', '.join(self.names)}")
        for g in self.groups:
            same = [w for w in wanted if len(g) > 1 and self.names.index(w) in g]
            if len(same) > 1:
                raise ConfigError(f"target: {', '.join(same)} are exclusive domains (one of "
                                  f"{', '.join(self.names[i] for i in g)}); name one of them")
        t = (source.float().to(device).clone() if source is not None
             else torch.zeros(n, c.c_dim, device=device))
        for w in wanted:
            i = self.names.index(w)
            t[:, next(g for g in self.groups if i in g)] = 0
            t[:, i] = 1
        return t

    @torch.no_grad()
    def estimate_labels(self, x: torch.Tensor) -> torch.Tensor:
        """The domain labels (B, c_dim) of images ``x`` (B, C, H, W) in [-1, 1] of any size,
        as D's domain classifier sees them at ``image_size`` (area/bilinear resize): the
        most likely member of each group of several, a binary attribute on when its logit
        is positive.

        NOTE: yunjey/stargan's test translations start from the dataset's labels; a folder
        of images (``ganas translate``) has none, so D's classifier, trained on the real
        labelled images, estimates them: a target then changes only the domains it names."""
        c = self.config
        device = next(self.D.parameters()).device
        x = x.to(device).float()
        if tuple(x.shape[-2:]) != (c.image_size, c.image_size):
            shrink = max(x.shape[-2:]) > c.image_size
            x = F.interpolate(x, size=(c.image_size, c.image_size), mode="area" if shrink else "bilinear",
                              align_corners=None if shrink else False)  # (B, C, S, S)
        was = self.D.training
        self.D.eval()
        try:
            logits = self.D(x)[1].float()  # (B, c_dim)
        finally:
            self.D.train(was)
        out = torch.zeros_like(logits)
        for g in self.groups:
            if len(g) > 1:
                idx = torch.tensor(g, device=device)
                out[torch.arange(len(x), device=device), idx[logits[:, g].argmax(dim=1)]] = 1.0
            else:
                out[:, g[0]] = (logits[:, g[0]] > 0).to(out.dtype)
        return out

    # -- protocol --------------------------------------------------------------------
    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D}

    def configure_optimizers(self, plan: TrainPlan | None = None) -> None:
        """Adam(1e-4, (0.5, 0.999)) for G and D; each lr constant, then linear to 0 over
        the last ``num_iters_decay / num_iters`` of the run (per step).

        NOTE: the paper decays linearly to 0 over the second half; yunjey/stargan's
        ``lr -= lr0 / num_iters_decay`` every ``lr_update_step`` (1000) steps lowers the lr
        by only 0.1% in all. We follow the paper, per step, over the plan's length."""
        c = self.config
        betas = (c.beta1, c.beta2)
        self.optimizers = {
            "G": torch.optim.Adam(self.G.parameters(), lr=c.g_lr, betas=betas),
            "D": torch.optim.Adam(self.D.parameters(), lr=c.d_lr, betas=betas),
        }
        total = plan.total_steps if plan is not None else c.num_iters
        decay = round(total * c.num_iters_decay / c.num_iters)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(total, decay))
                           for k, opt in self.optimizers.items()}

    def train_step(self, batch: Mapping[str, torch.Tensor], ctx: StepContext) -> dict[str, torch.Tensor]:
        c = self.config
        x = batch["image"]  # (B, C, H, W) in [-1, 1]
        b = x.size(0)
        c_org, label_org = self.labels(batch)  # (B, c_dim), (B, c_dim) or (B,)
        perm = torch.randperm(b).to(x.device)  # reference: target labels = the batch's, shuffled
        c_trg, label_trg = c_org[perm], label_org[perm]
        g_step = ctx.step % c.n_critic == 0  # reference: (i + 1) % n_critic == 0, i 0-based
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]

        # (1) D: -D_src(x) + D_src(G(x, c_trg)) + lambda_cls L_cls(x) + lambda_gp GP.
        # NOTE: on G steps the reference computes G(x, c_trg) again after D's update; G is
        # unchanged by it, so we keep the first translation's graph for G's loss (same
        # values; G's instance-norm running statistics move once instead of twice).
        with ctx.autocast(), torch.set_grad_enabled(g_step):
            x_fake = self.G(x, c_trg)  # (B, C, H, W)
        with ctx.autocast():
            src_real, cls_real = self.D(x)  # (B, 1, k, k), (B, c_dim)
            src_fake, _ = self.D(x_fake.detach())
        d_real = -src_real.float().mean()
        d_fake = src_fake.float().mean()
        d_cls = classification_loss(cls_real.float(), label_org, c.domains)
        alpha = torch.rand(b, 1, 1, 1).to(x.device)  # (B, 1, 1, 1)
        x_hat = (alpha * x.detach() + (1 - alpha) * x_fake.detach().to(x.dtype)).requires_grad_(True)
        with ctx.autocast():
            src_hat, _ = self.D(x_hat)
        d_gp = gradient_penalty(src_hat.float(), x_hat)
        d_loss = d_real + d_fake + c.lambda_cls * d_cls + c.lambda_gp * d_gp
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        out = {"loss_D": d_loss.detach(), "D_loss_real": d_real.detach(), "D_loss_fake": d_fake.detach(),
               "D_loss_cls": d_cls.detach(), "D_loss_gp": d_gp.detach()}
        if not g_step:
            return out

        # (2) G: -D_src(G(x, c_trg)) + lambda_rec |x - G(G(x, c_trg), c_org)| + lambda_cls L_cls.
        # NOTE: the reference's backward also fills D's gradients (discarded at the next
        # reset_grad); we freeze D instead (same update).
        opt_g.zero_grad(set_to_none=True)
        self.D.requires_grad_(False)
        try:
            with ctx.autocast():
                src_gen, cls_gen = self.D(x_fake)
                x_rec = self.G(x_fake, c_org)  # (B, C, H, W)
            g_fake = -src_gen.float().mean()
            g_cls = classification_loss(cls_gen.float(), label_trg, c.domains)
            g_rec = (x.float() - x_rec.float()).abs().mean()
            g_loss = g_fake + c.lambda_rec * g_rec + c.lambda_cls * g_cls
            g_loss.backward()
        finally:
            self.D.requires_grad_(True)
        opt_g.step()
        out.update({"loss_G": g_loss.detach(), "G_loss_fake": g_fake.detach(), "G_loss_rec": g_rec.detach(),
                    "G_loss_cls": g_cls.detach()})
        return out

    @torch.no_grad()
    def translate(self, x: torch.Tensor, target: torch.Tensor | str | Sequence[str] | None = None,
                  source: torch.Tensor | None = None) -> torch.Tensor:
        """G(x, c) for images (B, C, H, W) in [-1, 1] -> (B, C, H, W): ``target`` labels
        (B, c_dim) or (c_dim,), or domain names (``"Blond_Hair"``, ``"Blond_Hair,Male"``,
        ``["colour=red"]``) set over ``source`` (B, c_dim), the images' own labels (zeros
        when None: name every attribute the output should have). Instance statistics, as
        the reference (running statistics untouched)."""
        if target is None:
            raise ConfigError(f"translate needs a target: labels or domain names among {', '.join(self.names)}")
        device = next(self.G.parameters()).device
        c = self.target_labels(target, x.size(0), source)
        with _instance_statistics(self.G):
            return self.G(x.to(device), c).float()

    @torch.no_grad()
    def translation_grid(self, x: torch.Tensor, c_org: torch.Tensor | None = None) -> torch.Tensor:
        """(R, 1 + c_dim, C, H, W): per input row, the input then every single-domain change
        (the paper's figure layout; ``single_domain_targets``) from the inputs' own labels
        ``c_org`` (R, c_dim) (zeros when unknown: each binary attribute is then switched on)."""
        device = next(self.G.parameters()).device
        x = x.to(device)
        c_org = (c_org.to(device).float() if c_org is not None
                 else torch.zeros(x.size(0), self.config.c_dim, device=device))
        rows = [x.float()] + [self.translate(x, t) for t in self.single_domain_targets(c_org)]
        return torch.stack(rows, dim=1).clamp(-1, 1)

    @torch.no_grad()
    def visuals(self, fixed: Mapping[str, torch.Tensor] | None, generator: torch.Generator,
                n: int = 8) -> dict[str, torch.Tensor]:
        """``{"translations": (n, 1 + c_dim, C, H, W)}``: each fixed input, then its
        translation to every single domain change (yunjey/stargan's sample grid)."""
        if fixed is None:
            raise ConfigError("StarGAN's visuals need a fixed batch of images and labels")
        x = fixed["image"][:n]
        c_org, _ = self.labels({k: v[:n] for k, v in fixed.items()})
        return {"translations": self.translation_grid(x, c_org)}

    def example_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        c = self.config
        device = next(self.G.parameters()).device
        image = torch.rand(batch_size, c.channels, c.image_size, c.image_size, device=device) * 2 - 1
        if c.domains == "single_label":
            label = torch.randint(0, c.c_dim, (batch_size,), device=device)
            return {"image": image, "label": label}
        attrs = torch.zeros(batch_size, c.c_dim, device=device)
        for g in self.groups:  # one-hot in groups of several, 0/1 for binary attributes
            if len(g) > 1:
                pick = torch.tensor(g, device=device)[torch.randint(0, len(g), (batch_size,), device=device)]
                attrs[torch.arange(batch_size, device=device), pick] = 1.0
            else:
                attrs[:, g[0]] = torch.randint(0, 2, (batch_size,), device=device).float()
        return {"image": image, "attrs": attrs, "label": torch.full((batch_size,), -1, dtype=torch.long, device=device)}

    def describe(self) -> dict[str, dict[str, Any]]:
        c = self.config
        k = d_kernel(c.image_size, c.d_repeat_num)
        return {
            "G": {"params": count_params(self.G), "output_shape": [c.channels, c.image_size, c.image_size]},
            "D": {"params": count_params(self.D), "output_shape": [[1, k, k], [c.c_dim]]},
        }
