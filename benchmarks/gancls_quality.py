"""GAN-CLS quality after a fixed CPU budget on the built-in caption task (docs/benchmarks.md).

Trains the encoder for ``--encoder-steps`` steps, then the GAN until ``--gan-steps`` steps
or ``--minutes`` of wall time (``--cpu-minutes`` of process CPU time; whichever first),
then runs ``evaluate_text`` (caption consistency per factor, FD, R-precision) with G in
eval mode (``result``: BatchNorm running statistics, as ``ganas eval``) and in train
mode (``result_train_mode``), one factor classifier for both, and prints one JSON line.

    PYTHONPATH=src python benchmarks/gancls_quality.py --image-size 16 --minutes 12

``--classifier-only``: fit the factor classifier alone (no GAN training) and print its
accuracy on real test images as they are (the ceiling of caption consistency at that
size), blurred, and with the colour channels rotated (``measure_check``).
``--run DIR``: no training; evaluate every checkpoint of a ``ganas train gancls`` run
(``DIR/checkpoints/step_*.pt``, G in eval mode as ``ganas eval``) with one factor
classifier (``fit_factor_classifier``'s recipe, cached; ``--classifier-blur`` /
``--classifier-noise`` change its augmentation), one JSON line per checkpoint: the
training curve of a CLI run, with ``d_matching``: D's check of each factor against the
text (right captions against captions with one factor changed, on real images), and
``encoder_matching``: the same check for the text and image encoders, with the distance
between the right and the changed caption's conditioning vectors, and ``d_corners``: how
often D scores a real non-circle shape above the same scene drawn as a disc or with
its outline rounded, each with the scene's own caption.

``--grid PATH``: also write a sample grid of the trained G (one row per caption of
``GRID_CAPTIONS``, the same z per column; ``ganas.workflows.text.sample_text``).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import time
from typing import Callable

import numpy as np
import torch
from PIL import Image

from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.data.spec import parse_spec
from ganas.gan.base import StepContext
from ganas.gan.gancls import GANCLS, GANCLSConfig
from ganas.metrics.text import FACTOR_CLASSIFIER, evaluate_text, fit_factor_classifier
from ganas.images import save_grid
from ganas.workflows.text import sample_text

#: one row each in ``--grid``: every shape, several colours and backgrounds
GRID_CAPTIONS = (
    "a large red circle in the center",
    "a large blue square in the center",
    "a large green triangle in the center",
    "a large yellow pentagon in the center on a black background",
    "a large purple hexagon in the center",
    "a large orange star in the center on a white background",
)


def measure_check(factor_model: torch.nn.Module, spec: str, image_size: int, n: int) -> dict:
    """Shape / colour accuracy of the factor classifier on ``n`` real test images as they
    are (the ceiling of caption consistency), blurred (sigma 1 px: an imperfect but right
    generator should keep most of it), with their outlines rounded (``render_rounded`` by
    0.1 / 0.2 / 0.4 of the circumradius: soft corners should keep most of it, the last is
    beyond the classifier's training range), with the colour channels rotated (RGB -> GBR:
    wrong colours must score far lower) and redrawn as discs of the same colour, size and
    place (a generator that draws one disc for every caption: shape must fall to the
    share of circle captions, about 1/6)."""
    from ganas.metrics.text import CONSISTENCY_FACTORS, predict_factors, read_items
    from ganas.data.shapes import FACTOR_NAMES, SHAPES, Scene, render, render_rounded
    from ganas.metrics.classifier import from_pixels, gaussian_blur
    from ganas.data.transforms import to_tensor

    test = read_items(spec, "test", image_size, 3, n, 1)
    x = from_pixels(test["image"])  # (n, 3, H, W)
    truth = test["factors"][:, [FACTOR_NAMES.index(f) for f in CONSISTENCY_FACTORS]]  # (n, 2)
    ds = make_dataset(spec, "test", DataOptions(image_size=image_size, flip=False))
    scenes = [ds.scene(int(i)) for i in test["index"]]

    def drawn(draw: Callable[[Scene], Image.Image]) -> torch.Tensor:
        return torch.stack([to_tensor(np.asarray(draw(s)).copy(), normalize=True) for s in scenes])  # (n, 3, H, W)

    variants = {"real": x, "blurred_sigma1": gaussian_blur(x, torch.ones(len(x)))}
    for r in (0.1, 0.2, 0.4):
        variants[f"rounded_{r}"] = drawn(lambda s: render_rounded(s, image_size, r))
    variants["colours_rotated"] = x[:, [1, 2, 0]]
    variants["discs"] = drawn(lambda s: render(dataclasses.replace(s, shape="circle"), image_size))
    out = {}
    for name, images in variants.items():
        _, pred = predict_factors(factor_model, images)
        out[name] = {f: round(float((pred[:, j] == truth[:, j]).float().mean()), 4) for j, f in enumerate(CONSISTENCY_FACTORS)}
        right = pred[:, 0] == truth[:, 0]
        out[name]["by_shape"] = {s: round(float(right[truth[:, 0] == k].float().mean()), 3) for k, s in enumerate(SHAPES)}
    return out


@functools.lru_cache(maxsize=2)
def _swap_pairs(image_size: int, n: int, rotation: str = "free") -> tuple[torch.Tensor, list[str], dict[str, list[str]]]:
    """``n`` real test images (n, C, H, W), their captions, and per factor of
    ``SWAP_FACTORS`` the same captions (same template and words) with that factor set to
    another value. Cached: ``evaluate_run`` asks for the same pairs at every checkpoint,
    for D and for the encoders (callers only read them)."""
    import numpy as np

    from ganas.data.shapes import SWAP_FACTORS, caption, swap_factor

    ds = make_dataset(f"shapes?task=captions&n={n}&rotation={rotation}", "test",
                      DataOptions(image_size=image_size, flip=False))
    x = torch.stack([ds[i]["image"] for i in range(len(ds))])  # (n, C, H, W)
    scenes = [ds.scene(i) for i in range(len(ds))]
    rng = np.random.default_rng(0)
    right = [caption(sc, np.random.default_rng(i)) for i, sc in enumerate(scenes)]
    return x, right, {f: [caption(swap_factor(sc, f, rng), np.random.default_rng(i)) for i, sc in enumerate(scenes)]
                      for f in SWAP_FACTORS}


@torch.no_grad()
def d_matching(method: GANCLS, image_size: int, n: int = 500, rotation: str = "free") -> dict[str, float]:
    """How well D tells right text from text with one factor changed, on ``n`` real test
    images: per factor of ``SWAP_FACTORS``, the fraction of images whose caption D scores
    above the same scene's caption with that factor set to another value (0.5: D ignores
    the factor; 1.0: it always notices). G learns a factor only as well as D checks it."""
    x, right, swapped = _swap_pairs(image_size, n, rotation)

    def score(texts: list[str]) -> torch.Tensor:
        return torch.cat([method.D(x[i:i + 250], method.embed_text(texts[i:i + 250])) for i in range(0, n, 250)])

    s_right = score(right)  # (n,)
    return {f: round(float((s_right > score(t)).float().mean()), 3) for f, t in swapped.items()}


@functools.lru_cache(maxsize=2)
def _corner_pairs(image_size: int, n: int, rotation: str = "free") -> tuple[torch.Tensor, list[str], torch.Tensor, torch.Tensor]:
    """The non-circle scenes of ``_swap_pairs``' ``n`` test images: their real renders
    (k, C, H, W), right captions, and the same scenes redrawn as discs and with outlines
    rounded by 0.2. Cached: ``evaluate_run`` asks for them at every checkpoint."""
    from ganas.data.shapes import render, render_rounded
    from ganas.data.transforms import to_tensor

    x, right, _ = _swap_pairs(image_size, n, rotation)
    ds = make_dataset(f"shapes?task=captions&n={n}&rotation={rotation}", "test",
                      DataOptions(image_size=image_size, flip=False))
    scenes = {i: ds.scene(i) for i in range(len(ds)) if ds.scene(i).shape != "circle"}

    def drawn(draw: Callable) -> torch.Tensor:
        return torch.stack([to_tensor(np.asarray(draw(sc)).copy(), normalize=True) for sc in scenes.values()])

    keep = list(scenes)
    return (x[keep], [right[i] for i in keep],
            drawn(lambda sc: render(dataclasses.replace(sc, shape="circle"), image_size)),
            drawn(lambda sc: render_rounded(sc, image_size, 0.2)))


@torch.no_grad()
def d_corners(method: GANCLS, image_size: int, n: int = 500, rotation: str = "free") -> dict[str, float]:
    """Does D reward the outline? On the non-circle scenes of ``n`` real test images, with
    each scene's own (right) caption: the fraction D scores above the same scene redrawn
    as a disc (same colour, size and place; ``real_over_disc``) and above the scene with
    its outline rounded by 0.2 of its size (``real_over_rounded``, ``render_rounded``). 0.5:
    D is indifferent to corners, so a G that draws discs gets no gradient toward them."""
    real, texts, discs, rounded = _corner_pairs(image_size, n, rotation)
    emb = method.embed_text(texts)  # (k, E)
    s_real = method.D(real, emb)  # (k,)
    return {"real_over_disc": round(float((s_real > method.D(discs, emb)).float().mean()), 3),
            "real_over_rounded": round(float((s_real > method.D(rounded, emb)).float().mean()), 3),
            "n": len(texts)}


@torch.no_grad()
def encoder_matching(method: GANCLS, image_size: int, n: int = 500, rotation: str = "free") -> dict[str, float] | None:
    """The same check for the trained encoders (cosine of ``E_image`` against ``E_text``),
    and per factor the mean distance between the conditioning vectors of the right and the
    swapped caption (``embed_text``; its vectors have norm sqrt(embed_dim)): what G and D
    receive of each factor. None without an image encoder (precomputed embeddings)."""
    import torch.nn.functional as F

    from ganas.nets.text_encoder import scaled_embedding

    if method.E_image is None:
        return None
    x, right, swapped = _swap_pairs(image_size, n, rotation)
    was_training = method.E_image.training
    method.E_image.eval()
    try:
        img = F.normalize(method.E_image(x), dim=1)  # (n, E)
        t_right = method.encode_text(right)  # (n, E); embed_text is scaled_embedding of it
        s_right = (img * F.normalize(t_right, dim=1)).sum(1)  # (n,)
        out = {}
        for f, t in swapped.items():
            t_swap = method.encode_text(t)  # (n, E)
            out[f] = round(float((s_right > (img * F.normalize(t_swap, dim=1)).sum(1)).float().mean()), 3)
            dist = (scaled_embedding(t_right) - scaled_embedding(t_swap)).norm(dim=1)  # (n,)
            out[f"{f}_embedding_distance"] = round(float(dist.mean()), 2)
        return out
    finally:
        method.E_image.train(was_training)


def evaluate_run(args: argparse.Namespace, clf_kw: dict) -> None:
    """One JSON line per checkpoint of ``args.run`` (its own image size and data spec)."""
    from ganas.train.checkpoint import STEP_FILE, list_checkpoints
    from ganas.workflows.gan import load_run

    files = list_checkpoints(args.run)
    files = [f for i, f in enumerate(files) if i % args.every == args.every - 1 or i == len(files) - 1]
    files = [f for f in files if int(STEP_FILE.match(f.name).group(1)) >= args.min_step]
    factor_model = None
    for f in files:
        _, m, payload = load_run(f, "cpu")  # G in eval mode (BatchNorm running statistics)
        spec = str(payload["data"])  # the run's test split (the classifier: every rotation)
        rotation = parse_spec(spec).params.get("rotation", "free")
        if factor_model is None:
            t0 = time.process_time()
            factor_model = fit_factor_classifier(spec, m.config.image_size, m.config.channels, **clf_kw)
            print(json.dumps({"classifier_cpu_s": round(time.process_time() - t0, 1), **{
                k: v for k, v in vars(args).items() if k.startswith("classifier")}}), flush=True)
        t0 = time.process_time()
        res = evaluate_text(m, spec, n=args.n_eval, candidates=100, factor_model=factor_model)
        k = min(args.n_eval, 500)
        res["d_matching"] = d_matching(m, m.config.image_size, k, rotation)
        res["encoder_matching"] = encoder_matching(m, m.config.image_size, k, rotation)
        res["d_corners"] = d_corners(m, m.config.image_size, k, rotation)
        print(json.dumps({"checkpoint": str(f), "step": int(payload.get("step", -1)),
                          "eval_cpu_s": round(time.process_time() - t0, 1), **res}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image-size", type=int, default=16)
    ap.add_argument("--width", type=int, default=32, help="ngf = ndf")
    ap.add_argument("--embed-dim", type=int, default=128)
    ap.add_argument("--encoder-steps", type=int, default=200)
    ap.add_argument("--gan-steps", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=12.0, help="wall budget of the GAN phase")
    ap.add_argument("--cpu-minutes", type=float, default=None,
                    help="budget of the GAN phase in process CPU time instead of wall time (a shared machine)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--n-train", type=int, default=5000)
    ap.add_argument("--n-eval", type=int, default=500)
    ap.add_argument("--gan-int", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--classifier-only", action="store_true", help="only the factor classifier's real accuracy")
    ap.add_argument("--grid", help="write a sample grid PNG of the trained G here")
    ap.add_argument("--classifier-epochs", type=int, default=None, help="default: fit_factor_classifier's recipe")
    ap.add_argument("--classifier-n", type=int, default=None, help="its training images (default: its recipe)")
    ap.add_argument("--classifier-blur", type=float, default=None, help="ClassifierConfig.blur (default: the recipe's)")
    ap.add_argument("--classifier-noise", type=float, default=None, help="ClassifierConfig.noise (default: the recipe's)")
    ap.add_argument("--classifier-rounding", type=float, default=None,
                    help="fit_factor_classifier's rounding (default: FACTOR_ROUNDING; 0 = the classifier before it)")
    ap.add_argument("--rotation", choices=("free", "upright"), default="free",
                    help="--classifier-only: the test scenes the check reads (shapes' rotation option)")
    ap.add_argument("--run", help="evaluate the checkpoints of this ganas train run instead of training")
    ap.add_argument("--every", type=int, default=1, help="with --run: every k-th checkpoint (and the last)")
    ap.add_argument("--min-step", type=int, default=0, help="with --run: only checkpoints of this step or later")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = GANCLSConfig(image_size=args.image_size, ngf=args.width, ndf=args.width, embed_dim=args.embed_dim,
                       encoder_hidden=128, word_dim=64, image_encoder_width=16, batch_size=args.batch,
                       encoder_steps=args.encoder_steps, gan_int=args.gan_int)
    m = GANCLS(cfg)
    m.configure_optimizers()
    clf_kw: dict = {}
    recipe = {k: v for k, v in (("epochs", args.classifier_epochs), ("blur", args.classifier_blur),
                                ("noise", args.classifier_noise)) if v is not None}
    if recipe:
        clf_kw["classifier"] = dataclasses.replace(FACTOR_CLASSIFIER, **recipe)
    if args.classifier_n is not None:
        clf_kw["train_n"] = args.classifier_n
    if args.classifier_rounding is not None:
        clf_kw["rounding"] = args.classifier_rounding
    eval_spec = f"shapes?task=captions&n={max(args.n_train, 2 * args.n_eval, args.classifier_n or 0)}"
    if args.run:
        evaluate_run(args, clf_kw)
        return
    if args.classifier_only:
        t0 = time.process_time()
        spec = f"shapes?task=captions&rotation={args.rotation}"  # the data ganas eval uses (20,000 training scenes)
        factor_model = fit_factor_classifier(spec, args.image_size, 3, **clf_kw)  # fitted on every rotation
        print(json.dumps({"measure_check": measure_check(factor_model, spec, args.image_size, args.n_eval),
                          "cpu_s": round(time.process_time() - t0, 1), "args": vars(args)}), flush=True)
        return
    spec = f"shapes?task=captions&n={args.n_train}"
    ds = make_dataset(spec, "train", DataOptions(image_size=args.image_size))
    gen = torch.Generator().manual_seed(args.seed)
    clock = time.process_time if args.cpu_minutes is not None else time.perf_counter
    budget = args.cpu_minutes if args.cpu_minutes is not None else args.minutes
    step, t0, t_gan, last = 0, time.perf_counter(), None, {}
    epoch = 0
    while True:
        perm = torch.randperm(len(ds), generator=gen).tolist()
        for i in range(0, len(perm) - args.batch + 1, args.batch):
            items = [ds[(j, epoch, args.seed)] for j in perm[i: i + args.batch]]
            batch = torch.utils.data.default_collate(items)
            step += 1
            if step == args.encoder_steps + 1:
                t_gan = clock()
            last = {k: float(v) for k, v in m.train_step(batch, StepContext(step, torch.device("cpu"))).items()}
            if step % 50 == 0:
                print(json.dumps({"step": step, "elapsed": round(time.perf_counter() - t0, 1), **last}), flush=True)
            gan_done = step - args.encoder_steps
            if t_gan is not None and (gan_done >= args.gan_steps or clock() - t_gan > 60 * budget):
                break
        else:
            epoch += 1
            continue
        break
    train_s = time.perf_counter() - t0
    factor_model = fit_factor_classifier(eval_spec, args.image_size, 3, **clf_kw)
    # G in train mode (BatchNorm on each evaluation batch of 250) and in eval mode (running
    # statistics: what ganas eval and ganas sample use)
    res_train = evaluate_text(m, eval_spec, n=args.n_eval, candidates=100, factor_model=factor_model)
    m.eval()
    res = evaluate_text(m, eval_spec, n=args.n_eval, candidates=100, factor_model=factor_model)
    if args.grid:
        imgs, _ = sample_text(m, GRID_CAPTIONS, 8, seed=args.seed)
        save_grid(imgs, args.grid, nrow=8)
    print(json.dumps({"result": res, "result_train_mode": res_train, "encoder_steps": args.encoder_steps, "cpu_s": round(time.process_time(), 1),
                      "gan_steps": step - args.encoder_steps, "train_s": round(train_s, 1),
                      "eval_s": round(time.perf_counter() - t0 - train_s, 1), "args": vars(args),
                      "last_losses": last}), flush=True)


if __name__ == "__main__":
    main()
