"""Workflows over a run directory: train, sample, interpolate, arithmetic, eval, demo.

The CLI is a thin layer over these functions; they are the Python API for scripts:

    from ganas.runs import train_run, eval_run
    train_run("dcgan", "shapes", Path("runs/a"), {"image_size": 32}, steps=2000)
    print(eval_run(Path("runs/a")))
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
import yaml

from .config import replace, route_overrides
from .errors import ConfigError, GanasError
from .gan.base import require_latent


def _stored_run(out_dir: Path) -> dict[str, Any] | None:
    """The config of a run that has trained (has a checkpoint); None for a fresh folder,
    including one whose first attempt failed before its first checkpoint."""
    from .train import latest_checkpoint

    p = out_dir / "config.yaml"
    if not p.exists() or latest_checkpoint(out_dir) is None:
        return None
    return yaml.safe_load(p.read_text())


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")


def train_run(
    method_name: str,
    data_spec: str,
    out_dir: Path,
    sets: Mapping[str, Any] | None = None,
    steps: int | None = None,
    device: str = "auto",
    seed: int | None = None,
    eval_every: int = 0,
    eval_n: int = 1000,
    progress: bool = True,
    on_checkpoint: Callable[[Path], None] | None = None,
):
    """Train (or resume, when ``out_dir`` holds a run) and keep report.html current."""
    from .data import DataOptions, make_dataset
    from .gan import METHODS
    from .report import write_run_report
    from .train import TrainConfig, Trainer, seed_everything

    cls = METHODS.get(method_name).factory
    stored = _stored_run(out_dir)
    mcfg, tcfg = cls.Config(), TrainConfig()
    if stored is not None:  # resume: the run's own config is the base; new flags must agree
        if stored.get("method") != method_name:
            raise ConfigError(f"{out_dir} holds a {stored.get('method')!r} run, not {method_name!r}")
        if stored.get("data") != data_spec:
            raise ConfigError(f"{out_dir} was trained on --data {stored.get('data')!r}, not {data_spec!r}")
        mcfg = replace(mcfg, stored.get("config", {}))
        tcfg = replace(tcfg, stored.get("train", {}))
    routed = route_overrides(dict(sets or {}), {"method": mcfg, "train": tcfg})
    mcfg = replace(mcfg, routed["method"])
    train_updates: dict[str, Any] = dict(routed["train"])
    if steps is not None:
        train_updates["steps"] = steps
    if seed is not None:
        train_updates["seed"] = seed
    if device != "auto":  # an explicit --device wins over --set device=...
        train_updates["device"] = device
    else:
        train_updates.setdefault("device", "auto")  # a resumed run does not keep its old device
    if not progress:
        train_updates["progress"] = False
    tcfg = replace(tcfg, train_updates)
    if eval_every and eval_every % tcfg.checkpoint_every:
        raise ConfigError(f"--eval-every {eval_every} must be a multiple of checkpoint_every ({tcfg.checkpoint_every})")

    opts = DataOptions(image_size=getattr(mcfg, "image_size", 64), channels=getattr(mcfg, "channels", 3))
    dataset = make_dataset(data_spec, "train", opts)
    want = (opts.channels, opts.image_size, opts.image_size)
    got = tuple(getattr(dataset, "image_shape", want))
    if got != want:  # e.g. ?image_size= in the spec disagreeing with the method's config
        raise ConfigError(f"--data {data_spec!r} yields images of shape {got}, but {method_name} is configured "
                          f"for {want} (set image_size/channels with --set, not in the data spec)")
    seed_everything(tcfg.seed)  # initial weights reproducible from --seed (a resume loads them)
    method = cls(mcfg)

    def checkpoint_hook(path: Path) -> None:
        step = int(path.stem.rsplit("_", 1)[-1])  # checkpoints/step_000500.pt
        if eval_every and step % eval_every == 0:
            _eval_during_training(method, data_spec, out_dir, step, eval_n)
        write_run_report(out_dir)
        if on_checkpoint is not None:
            on_checkpoint(path)

    trainer = Trainer(method_name, method, dataset, out_dir, tcfg, data_spec, on_checkpoint=checkpoint_hook)
    result = trainer.fit()
    write_run_report(out_dir)
    return result


def _evaluate(method, data_spec: str, n: int, seed: int, features: str = "classifier",
              weights: str | None = None) -> dict[str, Any]:
    """``evaluate_generator`` on ``n`` samples of ``method`` (seeded noise, its own config)."""
    from .metrics import evaluate_generator

    g = torch.Generator().manual_seed(seed)
    cfg = method.config
    return evaluate_generator(lambda k: method.sample(k, generator=g).float().cpu(), data_spec,
                              image_size=cfg.image_size, channels=cfg.channels, n=n, extractor=features,
                              extractor_options={"weights": weights} if weights else None)


def _eval_during_training(method, data_spec: str, out_dir: Path, step: int, n: int) -> None:
    from .fileio import atomic_write_text, read_jsonl

    was_training = method.training
    method.eval()
    try:
        with torch.random.fork_rng(devices=[]):  # evaluating must not change training's random stream
            res = _evaluate(method, data_spec, n, seed=1234)
    finally:
        method.train(was_training)
    row = {"step": step, **{k: v for k, v in res.items() if k != "coverage"},
           "coverage_min": min(res["coverage"].values()) if res.get("coverage") else None}
    # a file of its own: metrics.jsonl is cut back to the checkpoint's offset on resume
    path = out_dir / "evals.jsonl"
    kept = [r for r in read_jsonl(path) if r.get("step") != step] + [row]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))


def load_run(run_dir: Path, device: str = "auto"):
    """(method name, method in eval mode on ``device``, checkpoint payload) of a run."""
    from .train import resolve_device, restore_method

    if not run_dir.exists():
        raise GanasError(f"run directory not found: {run_dir}")
    name, method, payload = restore_method(run_dir)
    method.to(resolve_device(device)).eval()
    return name, method, payload


def sample_run(run_dir: Path, n: int, out: Path, seed: int = 0, device: str = "auto") -> Path:
    from .images import save_grid

    _positive("--n", n)
    _, method, _ = load_run(run_dir, device)
    require_latent(method, "sample")
    imgs = method.sample(n, generator=torch.Generator().manual_seed(seed))
    save_grid(imgs.float().cpu(), out)
    return out


def interpolate_run(run_dir: Path, out: Path, rows: int = 8, steps: int = 10, seed: int = 0,
                    mode: str = "slerp", device: str = "auto") -> Path:
    from .gan.latent import interpolate
    from .images import save_grid

    _positive("--rows", rows)
    _positive("--steps", steps)
    _, method, _ = load_run(run_dir, device)
    require_latent(method, "interpolate")
    sampler = method.latent_sampler
    g = torch.Generator().manual_seed(seed)
    ends = sampler.sample(2 * rows, generator=g)  # (2R, nz, 1, 1)
    zs = torch.cat([interpolate(ends[2 * r], ends[2 * r + 1], steps, mode=mode) for r in range(rows)])
    with torch.no_grad():
        imgs = method.generate(zs.to(next(method.parameters()).device))
    save_grid(imgs.float().cpu(), out, nrow=steps)
    return out


def _parse_factors(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"a group is FACTOR=VALUE[,FACTOR=VALUE], got {text!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    if not out:
        raise ConfigError("an empty group")
    return out


def arithmetic_run(run_dir: Path, out: Path, a: str, b: str, c: str, seed: int = 0,
                   device: str = "auto", exemplars: int = 3, results: int = 8) -> dict[str, Any]:
    """mean z(A) - mean z(B) + mean z(C), groups chosen by factors through classifiers.

    Needs a run on the built-in ``shapes`` data: one cached classifier per factor named
    in the groups (shape, colour, size, position) labels generated images.
    """
    from .data import parse_spec
    from .data.shapes import FACTORS
    from .gan.latent import arithmetic, perturb, select_latents
    from .images import save_grid
    from .metrics import get_classifier

    _positive("--exemplars", exemplars)
    _, method, payload = load_run(run_dir, device)
    require_latent(method, "arithmetic")
    data = parse_spec(str(payload.get("data", "")))
    if data.name != "shapes":
        raise ConfigError(f"arithmetic picks groups by factors of the built-in shapes data; this run used {str(data)!r}")
    groups = {"A": _parse_factors(a), "B": _parse_factors(b), "C": _parse_factors(c)}
    for group in groups.values():
        for f, v in group.items():
            if f not in FACTORS:
                raise ConfigError(f"unknown shapes factor {f!r}; valid: {', '.join(FACTORS)}")
            if v not in FACTORS[f]:
                raise ConfigError(f"unknown {f} {v!r}; valid: {', '.join(FACTORS[f])}")
    cfg = method.config
    factors = sorted({f for g in groups.values() for f in g})
    clfs = {}
    for f in factors:
        # a classifier of factor f on the run's own shapes data (same view, seed, size)
        spec = dataclasses.replace(data, params={**data.params, "label": f})
        clfs[f] = get_classifier(str(spec), cfg.image_size, cfg.channels)
    dev = next(method.parameters()).device

    def classify(images: torch.Tensor) -> list[dict[str, tuple[str, float]]]:
        per = [dict() for _ in range(images.shape[0])]
        for f, clf in clfs.items():
            _, probs = clf.embed(images.float().cpu())  # (N, K)
            conf, idx = probs.max(dim=1)
            for i in range(images.shape[0]):
                per[i][f] = (clf.class_names[int(idx[i])], float(conf[i]))
        return per

    def matcher(group: dict[str, str]) -> Callable[[dict[str, tuple[str, float]]], bool]:
        return lambda pred: all(pred[f][0] == v and pred[f][1] >= 0.8 for f, v in group.items())

    def gen(z: torch.Tensor) -> torch.Tensor:
        return method.generate(z.to(dev)).float().cpu()  # (B, C, H, W); eval mode: running BN stats

    picks = {key: select_latents(gen, classify, matcher(group), n=exemplars, batch=256, seed=seed + i,
                                 max_tries=40, sampler=method.latent_sampler)
             for i, (key, group) in enumerate(groups.items())}
    z = arithmetic(picks["A"].z, picks["B"].z, picks["C"].z)  # (1, nz, 1, 1)
    # the paper shows 8 samples around the result: uniform noise of scale 0.25 (Fig. 7)
    z_res = perturb(z, results, scale=0.25, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        result_images = gen(z_res)  # (results, C, H, W)
    # rows: the exemplars of A, B, C, then the results (grid rows of max(exemplars, results))
    width = max(exemplars, results)
    rows = [picks[k].images for k in "ABC"] + [result_images]
    pad = lambda x: torch.cat([x, -torch.ones(width - len(x), *x.shape[1:])]) if len(x) < width else x  # noqa: E731
    save_grid(torch.cat([pad(r) for r in rows]), out, nrow=width)
    # what the result should be: A's factors that B does not name, plus C's
    expected = {**{k: v for k, v in groups["A"].items() if k not in groups["B"]}, **groups["C"]}
    preds = classify(result_images)
    hits = sum(all(p[f][0] == v for f, v in expected.items()) for p in preds)
    return {"image": str(out), "groups": groups, "expected": expected, "results": results,
            "result_predictions": [{f: v[0] for f, v in p.items()} for p in preds],
            "result_match_rate": hits / results,
            "samples_tried": {k: picks[k].tried for k in "ABC"}}


def eval_run(run_dir: Path, n: int = 2000, device: str = "auto", seed: int = 0,
             features: str = "classifier", weights: str | None = None) -> dict[str, Any]:
    """Metrics of a run's generator (``features``: an entry of ``ganas.metrics.FEATURES``
    for FD and precision/recall, e.g. ``inception`` with a local ``weights`` file)."""
    from .metrics import FEATURES

    _positive("--n", n)
    FEATURES.get(features)  # unknown names -> the list of valid ones
    _, method, payload = load_run(run_dir, device)
    res = _evaluate(method, payload["data"], n, seed, features, weights)
    res["step"] = payload.get("step")
    tmp = run_dir / ".eval.json.tmp"
    tmp.write_text(json.dumps(res, indent=2))
    tmp.replace(run_dir / "eval.json")
    from .report import write_run_report

    write_run_report(run_dir)
    return res


def write_loss_curves(run_dir: Path) -> Path:
    """``RUN_DIR/losses.svg``: the loss curves of ``metrics.jsonl`` as a standalone SVG."""
    from .fileio import atomic_write_text
    from .report.plot import line_chart
    from .train import read_metrics

    rows = [r for r in read_metrics(run_dir) if "losses" in r]
    keys = sorted({k for r in rows for k in r["losses"] if k.startswith("loss")})
    series = {k: ([r["step"] for r in rows], [r["losses"][k] for r in rows]) for k in keys}
    out = run_dir / "losses.svg"
    atomic_write_text(out, line_chart(series, title="losses", xlabel="step", ylabel="BCE"))
    return out


def demo(out: Path, steps: int | None = None, device: str = "auto", progress: bool = True) -> Path:
    """DCGAN on the built-in real digits (scikit-learn's) at 32x32: samples, loss curves,
    an interpolation, metrics and report.html, in a few minutes on a laptop CPU."""
    t0 = time.time()
    sets = {"image_size": 32, "channels": 1, "checkpoint_every": 250, "sample_every": 250, "log_every": 25}
    train_run("dcgan", "digits", out, sets, steps=steps or 2000, device=device, progress=progress)
    sample_run(out, 64, out / "samples.png", device=device)
    interpolate_run(out, out / "interpolation.png", rows=8, steps=10, device=device)
    write_loss_curves(out)
    eval_run(out, n=1000, device=device)
    print(f"demo took {time.time() - t0:.0f} s")
    return out
