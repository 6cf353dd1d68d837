"""GAN workflows over a run directory: train (resume, or start from trained weights),
sample, interpolate, arithmetic, evaluate, demo.

Typed arguments in, plain results (dataclasses, paths) out; nothing here parses
arguments or prints (``ganas.cli`` does both). Heavy modules are imported inside the
functions, so ``import ganas.workflows`` stays quick.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .. import layout
from ..config import replace, route_overrides, to_dict
from ..errors import CheckpointError, ConfigError, GanasError

#: samples per evaluation: ``ganas eval``, ``ganas train --eval-every`` and the demo all use
#: it, so their FD / precision / recall figures compare (FD is biased by the sample count)
EVAL_N = 2000
#: the noise seed of evaluations during training (fixed: the curve compares steps)
EVAL_SEED = 1234


# ----------------------------------------------------------------------------- results
@dataclasses.dataclass
class Evaluation:
    """What ``evaluate`` measured (``metrics``: the keys of ``evaluate_generator``)."""

    run_dir: Path
    step: int | None
    metrics: dict[str, Any]
    path: Path  # RUN_DIR/eval.json

    def as_dict(self) -> dict[str, Any]:
        """The content of ``eval.json`` (and of ``ganas eval --json``)."""
        return {**self.metrics, "step": self.step}


@dataclasses.dataclass
class ArithmeticResult:
    image: Path
    groups: dict[str, dict[str, str]]
    expected: dict[str, str]
    results: int
    result_predictions: list[dict[str, str]]
    result_match_rate: float
    samples_tried: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["image"] = str(self.image)
        return d


@dataclasses.dataclass
class DemoResult:
    out: Path
    seconds: float
    train: Any  # ganas.train.TrainResult
    evaluation: Evaluation
    report: Path
    phases: dict[str, float] = dataclasses.field(default_factory=dict)  # wall seconds per part


# ----------------------------------------------------------------------------- helpers
def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")


def _latest_payload(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """(path, payload) of the newest readable checkpoint of ``run_dir``, read once;
    None for a fresh folder (or one whose first attempt failed before a checkpoint)."""
    import warnings

    from ..train.checkpoint import list_checkpoints, load_checkpoint

    for f in reversed(list_checkpoints(run_dir)):
        try:
            return f, load_checkpoint(f)
        except CheckpointError as e:
            warnings.warn(f"skipping checkpoint: {e}", stacklevel=3)
    return None


def _source_payload(source: Path) -> tuple[Path, dict[str, Any]]:
    """The checkpoint ``--from`` names: a checkpoint file, or a run's latest one."""
    from ..train.checkpoint import load_checkpoint

    if source.is_dir():
        found = _latest_payload(source)
        if found is None:
            raise CheckpointError(f"--from {source}: no readable checkpoint in {source / layout.CHECKPOINTS}")
        return found
    if not source.exists():
        raise CheckpointError(f"--from {source}: no such run directory or checkpoint file")
    return source, load_checkpoint(source)


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return [f"{k} (stored {old.get(k)!r}, requested {new.get(k)!r})"
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def _load_weights(method: Any, payload: Mapping[str, Any], source: Path) -> None:
    """The trained weights of ``payload`` into ``method`` (strict); a config that changes
    the networks is refused, naming the keys that differ from the checkpoint's."""
    try:
        method.load_state_dict(payload["model"], strict=True)
    except (RuntimeError, KeyError, ValueError) as e:
        diffs = _changed(payload.get("config", {}), to_dict(method.config))
        what = "; ".join(diffs) if diffs else "the method's networks"
        raise ConfigError(
            f"--from {source}: the trained weights do not fit the requested settings: {what} change the "
            f"architecture ({str(e).splitlines()[0]}). Only settings that keep the networks' shapes can "
            "change when starting from trained weights (learning rates, betas, batch size, steps...)"
        ) from None


def data_options(cls: Any, config: Any) -> DataOptions:
    """The data options a method expects (its ``data_defaults``: size, channels, load
    size, crop, flip...); a data spec's ``?key=value`` overrides them."""
    from ..data import DataOptions

    fields = {f.name for f in dataclasses.fields(DataOptions)}
    defaults = {k: v for k, v in cls.data_defaults(config).items() if k in fields}
    return replace(DataOptions(), defaults)


def check_data_shapes(method: Any, dataset: Any, data: str, name: str) -> None:
    """Refuse data whose image fields do not have the shapes the method is configured
    for (e.g. ``?image_size=`` in the spec disagreeing with ``--set image_size``)."""
    example = method.example_batch(1)
    shapes = dict(getattr(dataset, "field_shapes", None) or {})
    if not shapes and hasattr(dataset, "image_shape"):
        shapes = {"image": tuple(dataset.image_shape)}
    for field in method.batch_fields:
        want, got = example.get(field), shapes.get(field)
        if getattr(want, "dim", lambda: 0)() == 4 and got is not None and tuple(got) != tuple(want.shape[1:]):
            raise ConfigError(f"--data {data!r} yields {field!r} images of shape {tuple(got)}, but {name} is "
                              f"configured for {tuple(want.shape[1:])} (set image_size/channels with --set, "
                              "not in the data spec)")


def _test_split(data: str, opts: DataOptions) -> Any:
    """The data's test split for the fixed visual inputs (None when it has none)."""
    from ..data import make_dataset
    from ..errors import DataError

    try:
        return make_dataset(data, "test", opts)
    except (DataError, ConfigError, FileNotFoundError):
        return None


def _resume_kwargs(found: tuple[Path, dict[str, Any]] | None) -> dict[str, Any]:
    """The checkpoint this workflow already read, handed to the trainer
    (``Trainer(resume_from=LoadedCheckpoint)``): a resume then reads its file once."""
    from ..train.checkpoint import LoadedCheckpoint

    return {} if found is None else {"resume_from": LoadedCheckpoint(*found)}


def _latent_sampler(method: Any, what: str) -> Any:
    """The latent sampler of a latent-variable generator; a clear error for the others."""
    from ..gan.base import require_latent

    require_latent(method, what)
    return method.latent_sampler


def _resolve_eval_features(features: str) -> None:
    from ..metrics import FEATURES

    FEATURES.get(features)  # unknown names -> the list of valid ones


# ----------------------------------------------------------------------------- train
def train(
    method: str | None,
    data: str | None,
    out: str | Path,
    sets: Mapping[str, Any] | None = None,
    *,
    steps: int | None = None,
    device: str = "auto",
    seed: int | None = None,
    eval_every: int = 0,
    eval_n: int = EVAL_N,
    progress: bool = True,
    start_from: str | Path | None = None,
    on_checkpoint: Callable[[Path], None] | None = None,
):
    """Train ``method`` on the data spec ``data`` into ``out``; keeps report.html current.

    Under torchrun (``WORLD_SIZE > 1``) every process calls this: it joins the process
    group (``ganas.train.distributed``), rank 0 alone writes the run folder.

    - ``out`` holds a run: resume it (its own config is the base; ``sets`` must agree).
    - ``start_from`` (a run directory or a checkpoint file): a new run in ``out`` that
      starts from those trained weights, at step 0, with fresh optimizers, the source's
      method, data and config as the base and ``sets`` on top (fine-tuning, or going on
      after a NaN with a lower lr). Settings that change the networks are refused.
      ``method`` and ``data`` may be None (the source's).

    ``sets``: ``KEY=VALUE`` overrides of the method config and ``TrainConfig``
    (``method.KEY`` / ``train.KEY`` when a key is in both). Returns the trainer's
    ``TrainResult``.
    """
    from ..train.distributed import init_from_env, shutdown

    created = init_from_env(device)
    try:
        return _train(method, data, out, sets, steps=steps, device=device, seed=seed, eval_every=eval_every,
                      eval_n=eval_n, progress=progress, start_from=start_from, on_checkpoint=on_checkpoint)
    finally:
        if created:
            shutdown()


def _train(method: str | None, data: str | None, out: str | Path, sets: Mapping[str, Any] | None, *,
           steps: int | None, device: str, seed: int | None, eval_every: int, eval_n: int, progress: bool,
           start_from: str | Path | None, on_checkpoint: Callable[[Path], None] | None):
    from ..data import DataOptions, make_dataset
    from ..gan import METHODS
    from ..report import write_run_report
    from ..train import TrainConfig, Trainer, seed_everything
    from ..train.distributed import DistContext

    ddp = DistContext.current()

    out_dir = Path(out)
    source: tuple[Path, dict[str, Any]] | None = None
    found: tuple[Path, dict[str, Any]] | None = None
    if start_from is not None:
        source = _source_payload(Path(start_from))
        src_path, src = source
        if method is not None and method != src["method"]:
            raise ConfigError(f"--from {start_from} holds a {src['method']!r} run, not {method!r}")
        method, data = src["method"], data or src["data"]
        if _latest_payload(out_dir) is not None or (out_dir / layout.RUN_CONFIG).exists():
            raise ConfigError(f"--out {out_dir} already holds a run; --from starts a new run in a new folder")
        stored = src
    else:
        if method is None:
            raise ConfigError("ganas train needs a METHOD (or --from RUN_OR_CHECKPOINT to start from trained weights)")
        found = _latest_payload(out_dir)  # read once: also handed to the trainer below
        stored = found[1] if found is not None else None
    if data is None:
        raise ConfigError("ganas train needs --data SPEC")
    cls = METHODS.get(method).factory
    mcfg, tcfg = cls.Config(), TrainConfig()
    hint = f"; to start a new run from its weights with other settings: ganas train --from {out_dir} --out NEW_DIR"
    if stored is not None:  # the run's own config is the base
        if source is None and stored.get("method") != method:
            raise ConfigError(f"{out_dir} holds a {stored.get('method')!r} run, not {method!r}{hint}")
        if source is None and stored.get("data") != data:
            raise ConfigError(f"{out_dir} was trained on --data {stored.get('data')!r}, not {data!r}{hint}")
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
    _positive("--eval-n", eval_n)

    opts = data_options(cls, mcfg)
    dataset = make_dataset(data, "train", opts)
    mcfg = _apply_data_config(cls, mcfg, dataset, data, routed["method"])
    ddp.barrier()  # every rank has read the run folder before rank 0 writes into it
    seed_everything(tcfg.seed)  # initial weights reproducible from --seed (a resume loads them)
    gan = cls(mcfg)
    check_data_shapes(gan, dataset, data, method)
    visual_data = _test_split(data, opts)
    if source is not None:
        src_path, src = source
        _load_weights(gan, src, src_path)  # weights only: the optimizers start afresh, at step 0
        from ..fileio import atomic_write_text

        origin = {"from": str(src_path), "step": int(src.get("step", 0)), "method": src["method"],
                  "data": src["data"], "changed": {
                      "data": data if data != src["data"] else None,
                      "config": _changed(src.get("config", {}), to_dict(mcfg)),
                      "train": _changed(src.get("train", {}), to_dict(tcfg))}}
        if ddp.is_main:
            atomic_write_text(out_dir / layout.ORIGIN, json.dumps(origin, indent=2) + "\n")

    def checkpoint_hook(path: Path) -> None:
        step = layout.step_of(path)
        if eval_every and step % eval_every == 0:
            _eval_during_training(gan, data, out_dir, step, eval_n)
        write_run_report(out_dir)
        if on_checkpoint is not None:
            on_checkpoint(path)

    trainer = Trainer(method, gan, dataset, out_dir, tcfg, data, on_checkpoint=checkpoint_hook,
                      visual_data=visual_data, **_resume_kwargs(found if source is None else None))
    result = trainer.fit()
    if ddp.is_main:
        write_run_report(out_dir)
    return result


def _apply_data_config(cls: Any, mcfg: Any, dataset: Any, data: str, user: Mapping[str, Any]) -> Any:
    """``mcfg`` with what follows from the data (``cls.config_from_data``: StarGAN's
    domains); a ``--set`` of one of those keys to another value is refused."""
    derived = cls.config_from_data(dataset)
    if not derived:
        return mcfg
    asked = replace(cls.Config(), {k: v for k, v in user.items() if k in derived})
    clash = [f"{k}={getattr(asked, k)!r} (the data gives {v!r})" for k, v in derived.items()
             if k in user and getattr(asked, k) != v]
    if clash:
        raise ConfigError(f"--set {'; '.join(clash)}: {cls.__name__} takes {', '.join(derived)} from --data "
                          f"{data!r}; leave them unset (choose the domains in the data spec instead, e.g. "
                          "celeba:PATH?attrs=Blond_Hair,Male or shapes?task=attributes&attrs=colour)")
    return replace(mcfg, derived)


def _evaluate(method: Any, data_spec: str, n: int, seed: int, features: str = "classifier",
              weights: str | None = None) -> dict[str, Any]:
    """``evaluate_generator`` on ``n`` samples of ``method`` (seeded noise, its own config)."""
    import torch

    from ..metrics import evaluate_generator

    g = torch.Generator().manual_seed(seed)
    cfg = method.config
    return evaluate_generator(lambda k: method.sample(k, generator=g).float().cpu(), data_spec,
                              image_size=cfg.image_size, channels=cfg.channels, n=n, extractor=features,
                              extractor_options={"weights": weights} if weights else None)


def evaluate_method(method: Any, data_spec: str, n: int = EVAL_N, device: str = "auto", seed: int = 0,
                    features: str | None = None, weights: str | None = None) -> dict[str, Any]:
    """The method's declared evaluation (``method.evaluation``) on ``data_spec``: one
    dispatch for ``ganas eval`` and ``--eval-every``. ``features`` None: ``classifier``
    for generators, ``selfsup`` of the target domain for translations."""
    kind = getattr(method, "evaluation", "unconditional")
    if kind == "attributes":  # multi-domain translation (StarGAN): at most n test images
        from .attributes import evaluate as evaluate_attributes_run

        return evaluate_attributes_run(method, data_spec, device, max_test=n)
    if kind in ("paired", "unpaired"):  # translation: against the test split's targets
        from .translation import evaluate_paired

        _resolve_eval_features(features or "selfsup")
        return evaluate_paired(method, data_spec, device, max_items=n, features=features or "selfsup",
                               weights=weights, seed=seed)
    if kind == "unconditional":
        _resolve_eval_features(features or "classifier")
        return _evaluate(method, data_spec, n, seed, features or "classifier", weights)
    if kind == "text":  # text-to-image: caption consistency, FD, R-precision
        from .text import evaluate as evaluate_text_run

        _resolve_eval_features(features or "classifier")
        return evaluate_text_run(method, data_spec, n, seed, device, features or "classifier", weights)
    raise ConfigError(f"ganas eval: the {kind!r} evaluation of {type(method).__name__} is not available yet")


def _device_of(method: Any) -> Any:
    return next(method.parameters()).device


def _eval_during_training(method: Any, data_spec: str, out_dir: Path, step: int, n: int) -> None:
    import torch

    from ..fileio import atomic_write_text, read_jsonl

    was_training = method.training
    method.eval()
    try:
        with torch.random.fork_rng(devices=[]):  # evaluating must not change training's random stream
            res = evaluate_method(method, data_spec, n, device=str(_device_of(method)), seed=EVAL_SEED)
    finally:
        method.train(was_training)
    row = {"step": step, **{k: v for k, v in res.items() if k != "coverage"},
           "coverage_min": min(res["coverage"].values()) if res.get("coverage") else None}
    # a file of its own: metrics.jsonl is cut back to the checkpoint's offset on resume
    path = out_dir / layout.EVALS
    kept = [r for r in read_jsonl(path) if r.get("step") != step] + [row]
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))


# ----------------------------------------------------------------------------- a trained run
def load_run(run_dir: str | Path, device: str = "auto"):
    """(method name, method in eval mode on ``device``, checkpoint payload) of a run
    (a run directory's latest checkpoint, or a checkpoint file)."""
    from ..train import resolve_device, restore_method

    p = Path(run_dir)
    if not p.exists():
        raise GanasError(f"run directory not found: {p}")
    name, method, payload = restore_method(p)
    method.to(resolve_device(device)).eval()
    return name, method, payload


def sample(run_dir: str | Path, n: int, out: str | Path, seed: int = 0, device: str = "auto",
           texts: Sequence[str] | None = None) -> Path:
    """A grid of ``n`` samples (noise seeded by ``seed``) written to ``out``. ``texts``
    (text-conditional methods, ``ganas sample --text``): ``n`` images of each sentence,
    one row per sentence when there are several (``workflows.text.sample_text``)."""
    import torch

    from ..images import save_grid

    _positive("--n", n)
    _, method, _ = load_run(run_dir, device)
    if texts:
        from .text import require_text, sample_text

        require_text(method, "sample")  # before the latent check: the clearer error
        imgs, nrow = sample_text(method, texts, n, seed)
        return save_grid(imgs, Path(out), nrow=nrow)
    _latent_sampler(method, "sample")
    imgs = method.sample(n, generator=torch.Generator().manual_seed(seed))
    return save_grid(imgs.float().cpu(), Path(out))


def interpolate(run_dir: str | Path, out: str | Path, rows: int = 8, steps: int = 10, seed: int = 0,
                mode: str = "slerp", device: str = "auto", texts: Sequence[str] | None = None) -> Path:
    """``rows`` interpolations of ``steps`` images each between pairs of latents. With
    ``texts`` (two sentences, a text-conditional method): each row keeps one z and goes
    from the first sentence to the second (``workflows.text.interpolate_text``). A
    text-conditional method without ``texts`` keeps one stored caption per row."""
    import torch

    from ..gan.latent import interpolate as between
    from ..images import save_grid
    from .text import interpolate_text, is_text_conditional, latent_rows, require_text

    _positive("--rows", rows)
    _positive("--steps", steps)
    _, method, _ = load_run(run_dir, device)
    if texts:
        require_text(method, "interpolate")
    sampler = _latent_sampler(method, "interpolate")
    if texts:
        return save_grid(interpolate_text(method, texts, rows, steps, seed), Path(out), nrow=steps)
    g = torch.Generator().manual_seed(seed)
    ends = sampler.sample(2 * rows, generator=g)  # (2R, nz, 1, 1)
    zs = torch.cat([between(ends[2 * r], ends[2 * r + 1], steps, mode=mode) for r in range(rows)])
    zs = zs.to(next(method.parameters()).device)  # (R*steps, nz, 1, 1)
    with torch.no_grad():
        if is_text_conditional(method):  # one caption per row: the row varies z only
            imgs = method.generate_from_text([t for t in latent_rows(method, rows) for _ in range(steps)], zs)
        else:
            imgs = method.generate(zs)
    return save_grid(imgs.float().cpu(), Path(out), nrow=steps)


def parse_factors(text: str) -> dict[str, str]:
    """``"shape=circle,colour=red"`` -> ``{"shape": "circle", "colour": "red"}``."""
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


def arithmetic(run_dir: str | Path, out: str | Path, a: Mapping[str, str] | str, b: Mapping[str, str] | str,
               c: Mapping[str, str] | str, seed: int = 0, device: str = "auto", exemplars: int = 3,
               results: int = 8) -> ArithmeticResult:
    """mean z(A) - mean z(B) + mean z(C), groups chosen by factors through classifiers.

    Groups are ``{factor: value}`` (or ``"factor=value,..."``). Needs a run on the
    built-in ``shapes`` data: one cached classifier per factor named in the groups
    (shape, colour, size, position) labels generated images.
    """
    import torch

    from ..data import parse_spec
    from ..data.shapes import FACTORS
    from ..gan.latent import arithmetic as combine, perturb, select_latents
    from ..images import save_grid
    from ..metrics import get_classifier

    _positive("--exemplars", exemplars)
    out = Path(out)
    groups = {k: parse_factors(g) if isinstance(g, str) else dict(g) for k, g in (("A", a), ("B", b), ("C", c))}
    _, method, payload = load_run(run_dir, device)
    sampler = _latent_sampler(method, "arithmetic")
    data = parse_spec(str(payload.get("data", "")))
    if data.name != "shapes":
        raise ConfigError(f"arithmetic picks groups by factors of the built-in shapes data; this run used {str(data)!r}")
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
        per: list[dict[str, tuple[str, float]]] = [dict() for _ in range(images.shape[0])]
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
                                 max_tries=40, sampler=sampler)
             for i, (key, group) in enumerate(groups.items())}
    z = combine(picks["A"].z, picks["B"].z, picks["C"].z)  # (1, nz, 1, 1)
    # the paper shows 8 samples around the result: uniform noise of scale 0.25 (Fig. 7)
    z_res = perturb(z, results, scale=0.25, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        result_images = gen(z_res)  # (results, C, H, W)
    # rows: the exemplars of A, B, C, then the results (grid rows of max(exemplars, results))
    width = max(exemplars, results)

    def pad(x: torch.Tensor) -> torch.Tensor:  # (k, C, H, W) -> (width, C, H, W), blank tiles
        return torch.cat([x, -torch.ones(width - len(x), *x.shape[1:])]) if len(x) < width else x

    save_grid(torch.cat([pad(r) for r in [picks[k].images for k in "ABC"] + [result_images]]), out, nrow=width)
    # what the result should be: A's factors that B does not name, plus C's
    expected = {**{k: v for k, v in groups["A"].items() if k not in groups["B"]}, **groups["C"]}
    preds = classify(result_images)
    hits = sum(all(p[f][0] == v for f, v in expected.items()) for p in preds)
    return ArithmeticResult(image=out, groups=groups, expected=expected, results=results,
                            result_predictions=[{f: v[0] for f, v in p.items()} for p in preds],
                            result_match_rate=hits / results,
                            samples_tried={k: picks[k].tried for k in "ABC"})


def evaluate(run_dir: str | Path, n: int = EVAL_N, device: str = "auto", seed: int = 0,
             features: str | None = None, weights: str | None = None) -> Evaluation:
    """Metrics of a run's generator, saved to ``RUN_DIR/eval.json`` (and into report.html):
    the method's declared evaluation (``evaluation``): FD, precision/recall... for an
    unconditional generator; L1, PSNR, SSIM and sharpness on the test split (at most
    ``n`` pairs) for a translation method; caption consistency per factor, FD and
    R-precision for a text-to-image method (``workflows.text.evaluate``, at most ``n``
    test captions).

    ``features``: an entry of ``ganas.metrics.FEATURES`` for FD and precision/recall,
    e.g. ``inception`` with a local ``weights`` file (None: ``classifier`` for generators,
    ``selfsup`` of the target domain for translations; ``metrics/translation.py``).
    """
    from ..fileio import atomic_write_text
    from ..report import write_run_report

    _positive("--n", n)
    run = Path(run_dir)
    _, method, payload = load_run(run, device)
    res = evaluate_method(method, payload["data"], n, device, seed, features, weights)
    ev = Evaluation(run, payload.get("step"), res, run / layout.EVAL)
    atomic_write_text(ev.path, json.dumps(ev.as_dict(), indent=2))
    write_run_report(run)
    return ev


#: the demo's settings (``--set`` keys of ``ganas train``): DCGAN at 32x32 on one channel.
#: NOTE: ngf = ndf = 16, where pytorch/examples dcgan/main.py defaults to 64 (and the paper's
#: 64x64 LSUN generator, Radford et al. 2015 fig. 1, is wider still: 1024-512-256-128), so
#: that the demo trains in about 1.5 minutes on a 2-core CPU. The 8x8 digits upsampled to
#: 32 px need no more: at 2,000 steps width 16 scored FD 4.53 (floor 1.60) against 3.53 for
#: width 32, at about a third of the CPU time per step; 16x16 images at width 32 stalled at
#: FD 17.6 (floor 2.7) (docs/benchmarks.md, "make demo"). Batch (64), lr (2e-4) and Adam's
#: betas are the paper's.
DEMO_SETS: dict[str, Any] = {"image_size": 32, "channels": 1, "ngf": 16, "ndf": 16,
                             "checkpoint_every": 500, "sample_every": 500, "log_every": 25}
DEMO_STEPS = 1500


def demo(out: str | Path, steps: int | None = None, device: str = "auto", progress: bool = True) -> DemoResult:
    """DCGAN on the built-in real digits (scikit-learn's) at 32x32 (``DEMO_SETS``,
    ``DEMO_STEPS``): samples, loss curves, an interpolation, metrics (``EVAL_N`` samples, as
    ``ganas eval``) and report.html, in under 2 minutes on a quiet 2-core CPU.

    ``DemoResult.phases``: wall seconds of each part (train, pictures, evaluate); on a
    first run ``evaluate`` includes training the metric classifier (then cached).
    """
    from ..report.charts import write_loss_curves

    t0 = time.time()
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.time()
        phases[name] = now - since
        return now

    run = Path(out)
    result = train("dcgan", "digits", run, DEMO_SETS, steps=steps or DEMO_STEPS, device=device, progress=progress)
    t = lap("train", t0)
    sample(run, 64, run / layout.DEMO_SAMPLES, device=device)
    interpolate(run, run / layout.DEMO_INTERPOLATION, rows=8, steps=10, device=device)
    write_loss_curves(run)
    t = lap("pictures", t)
    ev = evaluate(run, device=device)  # EVAL_N samples; writes eval.json, then report.html
    lap("evaluate", t)
    return DemoResult(run, time.time() - t0, result, ev, run / layout.REPORT, phases)
