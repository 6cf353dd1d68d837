"""StarGAN on the built-in ``shapes?task=attributes`` task after a fixed CPU budget:
the label at G's input (the paper) against the label at the bottleneck.

Each variant trains the same number of steps with the Trainer (same ``--seed``, same
data order), then runs the ``"attributes"`` evaluation (``ganas.metrics.attributes``):
per-domain accuracy of the translations by classifiers fitted once on real training
images (``--classifier-n`` of the train split, default ``ATTRIBUTE_TRAIN_N``, with the
``ATTRIBUTE_CLASSIFIER`` recipe of ``ganas eval``; the same classifiers for every
variant and every point of the curve),
reconstruction L1 and FD; ``d_accuracy`` is D's own domain classifier on the real test
images. ``--curve K`` evaluates K times during training (on ``--curve-test`` test
images, the RNG forked so the run is the one without a curve).

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python benchmarks/stargan_quality.py --steps 600 --out runs/bench-stargan

``--classifiers-only`` fits the classifiers and prints each one's accuracy on the
``--n-test`` real test images (the ceiling of the attribute accuracy), then stops.

``--checkpoints FILE[,FILE...]`` first evaluates checkpoints of earlier runs (same data
and domains) with the same classifiers, on ``--n-test`` images (``checkpoints.json``): a
run re-measured after a change of the measure without training it again
(``--variants ''`` to stop there).

``--classifier-cache FILE`` keeps the fitted classifiers in FILE (a ``metrics.cache``
network file whose key holds the data, size, groups and recipe) and loads them from it
when the key matches: runs on the same data then share one fit.

``--d-probe STEPS`` trains D's domain classifier alone on the real images (no G, no
adversarial loss) for each of ``--d-probe-dims``: does D learn the labels at all, and how fast?

``--set KEY=VALUE`` changes any StarGAN config key (e.g. ``d_conv_dim=64``); times are
process CPU seconds (one thread), less disturbed by other jobs than wall time.

Target (issue 8): attribute accuracy at least 90% on the built-in task.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch

from ganas import layout
from ganas.config import parse_sets
from ganas.data import make_dataset
from ganas.data.base import DataOptions
from ganas.gan import create_method
from ganas.gan.stargan import stargan_overrides
from ganas.metrics.attributes import (ATTRIBUTE_TRAIN_N, attribute_classifier_config, evaluate_attributes,
                                      fit_group_classifiers, group_labels, group_name, load_labelled,
                                      predict_classes)
from ganas.metrics.cache import load_or_fit
from ganas.metrics.classifier import SmallClassifier
from ganas.train import TrainConfig, Trainer

CACHE_FORMAT = "stargan-quality-classifiers"


def _group_means(method, acc: dict[str, float]) -> dict[str, float]:
    return {group_name(method.names, g): round(statistics.mean(acc[method.names[i]] for i in g), 3)
            for g in method.groups}


def _loss_windows(run: Path, keys: tuple[str, ...], windows: int = 5) -> list[dict[str, float]]:
    """Each key of metrics.jsonl averaged over ``windows`` equal parts of the run."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    size = max(1, len(rows) // windows)
    out = []
    for w in range(0, len(rows), size):
        part = rows[w : w + size]
        vals = {k: [r["losses"][k] for r in part if k in r["losses"]] for k in keys}
        out.append({"to_step": part[-1]["step"], **{k: round(statistics.mean(v), 3) for k, v in vals.items() if v}})
    return out


def cached_classifiers(method, data, data_spec: str, cfg, n: int, cache: str) -> tuple[list, float]:
    """The group classifiers (``fit_group_classifiers``) and the CPU seconds of their fit,
    loaded from ``cache`` instead when it holds the same key (0.0 s then;
    ``metrics.cache.load_or_fit``)."""
    key = {"format": CACHE_FORMAT, "data": data_spec, "image_size": method.config.image_size,
           "groups": method.groups, "config": dataclasses.asdict(cfg)}
    fitted: list[float] = []

    def build() -> torch.nn.ModuleList:
        return torch.nn.ModuleList(SmallClassifier(method.config.channels, max(2, len(g)), cfg.width,
                                                   cfg.feature_dim, cfg.input_size) for g in method.groups)

    def fit() -> tuple[torch.nn.ModuleList, dict]:
        t0 = time.process_time()
        models = torch.nn.ModuleList(fit_group_classifiers(method, data, cfg, max_train=n))
        fitted.append(time.process_time() - t0)
        return models, {"fit_cpu_s": fitted[0]}

    models, _ = load_or_fit(Path(cache) if cache else None, CACHE_FORMAT, "attribute classifiers", key, build, fit)
    return list(models.eval()), (fitted[0] if fitted else 0.0)


def d_probe(overrides: dict, train, test, steps: int, dims: list[int], every: int = 100) -> list[dict]:
    """D's domain classifier alone (``classification_loss`` on real images and their
    labels, Adam at the config's d_lr, batch_size), per D width: held-out accuracy per
    group every ``every`` updates. Tells a label or architecture bug (stuck at chance
    however long) from slow learning."""
    from ganas.gan.stargan import classification_loss
    from ganas.metrics.attributes import group_labels

    xs = torch.stack([train[i]["image"] for i in range(len(train))])
    cs = torch.stack([train[i]["attrs"] for i in range(len(train))])
    xt = torch.stack([test[i]["image"] for i in range(len(test))])
    ct = torch.stack([test[i]["attrs"] for i in range(len(test))])
    out = []
    for dim in dims:
        torch.manual_seed(0)
        m = create_method("stargan", {**overrides, "d_conv_dim": dim})
        c = m.config
        opt = torch.optim.Adam(m.D.parameters(), c.d_lr, betas=(c.beta1, c.beta2))
        g = torch.Generator().manual_seed(0)
        t0 = time.process_time()
        for step in range(1, steps + 1):
            idx = torch.randint(0, len(xs), (c.batch_size,), generator=g)
            loss = classification_loss(m.D(xs[idx])[1], cs[idx], c.domains)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % every == 0:
                est = m.estimate_labels(xt)
                row = {"d_conv_dim": dim, "d_lr": c.d_lr, "step": step, "cpu_s": round(time.process_time() - t0, 1),
                       **{group_name(m.names, gr): round(float((group_labels(est, gr) == group_labels(ct, gr))
                                                               .float().mean()), 3) for gr in m.groups}}
                out.append(row)
                print(json.dumps(row), flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600, help="trainer steps (D updates) per variant")
    ap.add_argument("--image-size", type=int, default=16)
    ap.add_argument("--attrs", default="colour,size,background", help="shapes factor groups")
    ap.add_argument("--conv-dim", type=int, default=16, help="g_conv_dim and d_conv_dim (unless --set)")
    ap.add_argument("--repeat", type=int, default=3, help="residual blocks of G")
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="StarGAN config overrides")
    ap.add_argument("--n-train", type=int, default=4000)
    ap.add_argument("--n-test", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0, help="StarGAN's seed (initialisation, data order, noise)")
    ap.add_argument("--classifier-n", type=int, default=ATTRIBUTE_TRAIN_N,
                    help="real training images of the attribute classifiers (the first of the train split)")
    ap.add_argument("--classifier-epochs", type=int, default=None, help="default: ATTRIBUTE_CLASSIFIER's")
    ap.add_argument("--classifier-shift", type=float, default=None, help="default: ATTRIBUTE_CLASSIFIER's")
    ap.add_argument("--classifier-cache", default="", metavar="FILE", help="load/save the fitted classifiers")
    ap.add_argument("--classifiers-only", action="store_true",
                    help="fit the classifiers, print their accuracy on the real test images, stop")
    ap.add_argument("--curve", type=int, default=0, help="evaluations during training (0: at the end only)")
    ap.add_argument("--curve-test", type=int, default=100, help="test images per evaluation of the curve")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", default="input,bottleneck")
    ap.add_argument("--checkpoints", default="", metavar="FILE[,FILE...]",
                    help="first evaluate these checkpoints with the classifiers")
    ap.add_argument("--d-probe", type=int, default=0, metavar="STEPS",
                    help="instead: train D's classification head alone for STEPS updates per --d-probe-dims")
    ap.add_argument("--d-probe-dims", default="16,64", help="D widths of --d-probe")
    ap.add_argument("--out", default="runs/bench-stargan")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    size = args.image_size
    opts = DataOptions(image_size=size, progress=False, crop="center", flip=False)
    base = f"shapes?task=attributes&attrs={args.attrs}"
    train = make_dataset(f"{base}&n={args.n_train}", "train", opts)
    test = make_dataset(f"{base}&n={args.n_test}", "test", opts)
    d_repeat = size.bit_length() - 1  # D halves a power-of-two image down to 1x1
    overrides = {**stargan_overrides(train), "image_size": size, "d_repeat_num": d_repeat,
                 "g_conv_dim": args.conv_dim, "d_conv_dim": args.conv_dim, "g_repeat_num": args.repeat,
                 "n_critic": args.n_critic, **parse_sets(args.set)}
    if args.d_probe:
        rows = d_probe(overrides, train, test, args.d_probe, [int(d) for d in args.d_probe_dims.split(",")])
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "d_probe.json").write_text(json.dumps(rows, indent=1))
        return
    clf_cfg = attribute_classifier_config()
    if args.classifier_epochs is not None:
        clf_cfg.epochs = args.classifier_epochs
    if args.classifier_shift is not None:
        clf_cfg.shift = args.classifier_shift
    clf_spec = f"{base}&n={args.classifier_n}"  # StarGAN's n_train images are its first
    clf_train = train if args.classifier_n == args.n_train else make_dataset(clf_spec, "train", opts)
    probe_m = create_method("stargan", overrides)
    classifiers, clf_s = cached_classifiers(probe_m, clf_train, clf_spec, clf_cfg, args.classifier_n,
                                            args.classifier_cache)
    if args.classifiers_only:
        x_te, c_te = load_labelled(probe_m, test, args.n_test)
        row = {"classifier_n": args.classifier_n, "epochs": clf_cfg.epochs, "shift": clf_cfg.shift,
               "n_test": len(x_te), "fit_cpu_s": round(clf_s, 1),
               "real_accuracy": {group_name(probe_m.names, g): round(float(
                   (predict_classes(model, x_te, torch.device("cpu"))[0] == group_labels(c_te, g)).float().mean()), 4)
                   for g, model in zip(probe_m.groups, classifiers)}}
        print(json.dumps(row), flush=True)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "classifiers.json").write_text(json.dumps(row, indent=1))
        return
    if args.checkpoints:
        from ganas.train import restore_method

        rows = []
        for ck in args.checkpoints.split(","):
            _, m, _ = restore_method(ck)
            m.eval()
            ev = evaluate_attributes(m, train, test, max_test=args.n_test, classifiers=classifiers)
            rows.append({"checkpoint": ck, "label_at": m.config.label_at, "classifier_fit_cpu_s": round(clf_s, 1),
                         "per_group": _group_means(m, ev["attribute_accuracy"]), **ev})
            print(json.dumps(rows[-1]), flush=True)
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "checkpoints.json").write_text(json.dumps(rows, indent=1))
    rows = []
    for label_at in filter(None, args.variants.split(",")):
        torch.manual_seed(args.seed)
        m = create_method("stargan", {**overrides, "label_at": label_at})
        curve: list[dict] = []

        def point(path: Path, m=m, curve=curve) -> None:
            step = layout.step_of(path)
            if step == args.steps:
                return  # the final evaluation below
            with torch.random.fork_rng(devices=[]):
                ev = evaluate_attributes(m, train, test, max_test=args.curve_test, classifiers=classifiers)
            curve.append({"step": step, "accuracy_mean": round(ev["attribute_accuracy_mean"], 3),
                          "per_group": _group_means(m, ev["attribute_accuracy"]),
                          "d_accuracy": {k: round(v, 3) for k, v in ev["d_accuracy"].items()},
                          "rec_l1": round(ev["rec_l1"], 3)})
            print(json.dumps({"label_at": label_at, **curve[-1]}), flush=True)

        every = args.steps // args.curve if args.curve else args.steps
        tc = TrainConfig(steps=args.steps, sample_every=args.steps, checkpoint_every=every, log_every=50,
                         device="cpu", progress=False, n_samples=6, seed=args.seed)
        run = Path(args.out) / label_at
        t0, w0 = time.process_time(), time.time()
        Trainer("stargan", m, train, run, tc, data_spec=f"{base}&n={args.n_train}", visual_data=test,
                on_checkpoint=point if args.curve else None).fit()
        train_cpu, train_wall = time.process_time() - t0, time.time() - w0
        t0 = time.process_time()
        ev = evaluate_attributes(m, train, test, max_test=args.n_test, classifiers=classifiers)
        row = {"label_at": label_at, "seed": args.seed, "steps": args.steps, "g_updates": args.steps // m.config.n_critic,
               "n_train": args.n_train, "classifier": {"n": args.classifier_n, "epochs": clf_cfg.epochs,
                                                       "shift": clf_cfg.shift},
               "train_cpu_s": round(train_cpu, 1), "train_wall_s": round(train_wall, 1),
               "eval_cpu_s": round(time.process_time() - t0, 1), "classifier_fit_cpu_s": round(clf_s, 1),
               "G_params": m.describe()["G"]["params"], "D_params": m.describe()["D"]["params"],
               "config": {k: v for k, v in overrides.items() if k != "attrs"},
               "per_group": _group_means(m, ev["attribute_accuracy"]), **ev, "curve": curve,
               "losses": _loss_windows(run, ("D_loss_cls", "G_loss_cls", "G_loss_rec", "D_loss_gp"))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out) / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
