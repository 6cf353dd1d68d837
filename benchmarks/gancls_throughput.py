"""GAN-CLS training throughput: our ``train_step`` vs a plain PyTorch loop (docs/benchmarks.md).

The plain loop is Reed et al.'s algorithm 1 (reedscot/icml2016 ``main_cls.lua``; the
aelnouby/Text-to-Image-Synthesis PyTorch port's ``_train``) written out with plain
modules (``plain_step``) on copies of the same networks: tokenise the right and wrong
captions with the same vocabulary, embed them with the frozen text encoder under
``no_grad``, D on {real, right}, {real, wrong}, {fake, right} (the two fake terms
averaged), then G against the updated D; Adam(2e-4, (0.5, 0.999)). Ours is
``method.train_step`` in its GAN phase (the step the trainer calls; the encoder
pre-training phase is over and ``finetune_encoder`` is off, as by default).

Two configs: ``paper`` (64 px, ngf = ndf = 64, 1024-d embeddings, batch 64: the paper's
sizes with our encoder) and ``bench`` (the quality benchmark's: 32 px, width 32, 128-d,
batch 64). Variants alternate in one process: every round times ``--steps`` steps of
each (after one untimed warm-up step each), in an order rotated per round; the figure is
the median of the per-round paired ratios to the plain loop from process CPU time (with
one thread, what a step costs, less disturbed by other processes on a shared machine).

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/gancls_throughput.py --configs bench paper
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _paired import paired_ratios, timed  # noqa: E402

from ganas.data.shapes import caption, scene_for  # noqa: E402
from ganas.gan.base import StepContext  # noqa: E402
from ganas.gan.gancls import GANCLS, GANCLSConfig  # noqa: E402
from ganas.nets.text_encoder import scaled_embedding  # noqa: E402

CONFIGS = {
    "paper": dict(image_size=64, ngf=64, ndf=64, embed_dim=1024, batch_size=64),
    "bench": dict(image_size=32, ngf=32, ndf=32, embed_dim=128, encoder_hidden=128, word_dim=64,
                  image_encoder_width=16, batch_size=64),
}
VARIANTS = ("plain", "ours")


def plain_step(G, D, E_text, vocab, opt_g, opt_d, real, captions, wrong, nz, max_words) -> None:
    """Algorithm 1 of Reed et al. 2016 with plain modules (GAN-CLS, no GAN-INT)."""
    b = real.size(0)
    with torch.no_grad():  # right and wrong captions embedded apart, as ours does
        emb, emb_wrong = (scaled_embedding(E_text(*vocab.encode(list(t), max_words))) for t in (captions, wrong))
    z = torch.randn(b, nz, 1, 1)
    ones, zeros = torch.ones(b), torch.zeros(b)
    opt_d.zero_grad()
    s_real, s_wrong = D(real, emb), D(real, emb_wrong)
    fake = G(z, emb)
    s_fake = D(fake.detach(), emb)
    loss_d = (F.binary_cross_entropy_with_logits(s_real, ones)
              + 0.5 * (F.binary_cross_entropy_with_logits(s_wrong, zeros)
                       + F.binary_cross_entropy_with_logits(s_fake, zeros)))
    loss_d.backward()
    opt_d.step()
    for p in D.parameters():
        p.requires_grad = False
    opt_g.zero_grad()
    loss_g = F.binary_cross_entropy_with_logits(D(fake, emb), ones)
    loss_g.backward()
    opt_g.step()
    for p in D.parameters():
        p.requires_grad = True


def build(config: str, variant: str, steps: int) -> Callable[[], tuple[float, float]]:
    """A function running ``steps`` steps of ``variant`` and returning (wall, cpu) s."""
    torch.manual_seed(0)
    cfg = GANCLSConfig(**CONFIGS[config], encoder_steps=0)
    m = GANCLS(cfg)
    b, s = cfg.batch_size, cfg.image_size
    rng = torch.Generator().manual_seed(1)
    caps = [caption(scene_for(i), i) for i in range(2 * b)]
    real = torch.rand(b, 3, s, s, generator=rng) * 2 - 1
    m.vocab.add(caps)
    batch = {"image": real, "caption": caps[:b], "wrong_caption": caps[b:]}
    if variant == "plain":
        G, D, E = copy.deepcopy(m.G), copy.deepcopy(m.D), copy.deepcopy(m.E_text)
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        step = lambda: plain_step(G, D, E, m.vocab, opt_g, opt_d, real, caps[:b], caps[b:], cfg.nz,  # noqa: E731
                                  cfg.max_words)
    else:
        ctx = StepContext(cfg.encoder_steps + 1, torch.device("cpu"))  # the GAN phase
        step = lambda: m.train_step(batch, ctx)  # noqa: E731
    step()  # warm-up
    return timed(step, steps)


def throughput(config: str, rounds: int, steps: int) -> dict:
    fns = {v: build(config, v, steps) for v in VARIANTS}
    return paired_ratios(fns, rounds, steps * CONFIGS[config]["batch_size"], "plain",
                         lambda r: VARIANTS if r % 2 == 0 else VARIANTS[::-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["bench", "paper"], choices=list(CONFIGS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    for config in args.configs:
        results[config] = throughput(config, args.rounds, args.steps)
        print(json.dumps({config: results[config]}), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
