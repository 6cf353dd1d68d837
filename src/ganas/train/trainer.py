"""The training process shared by every GAN method.

The method (``ganas.gan.base.GANMethod``) computes one optimisation step and returns its
losses; the trainer owns the rest: device, precision, memory format, seeds, the data
order, the training plan and the schedules, visual grids, ``metrics.jsonl``,
checkpoints, resume, Ctrl-C and non-finite losses. It reads the method's declarations
(``docs/protocol.md``) and never names a method. A run directory holds::

    config.yaml                     method, data spec, method config, train config
    checkpoints/step_XXXXXX.pt      the last ``keep_checkpoints``
    samples/step_XXXXXX.png         the visual grid named "samples" (DCGAN's G(fixed noise))
    samples/<name>/step_XXXXXX.png  every other named visual grid (translation: "AtoB"...)
    metrics.jsonl                   one JSON object per logged step
"""

from __future__ import annotations

import contextlib
import importlib
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping

import torch
import yaml
from torch.utils.data import default_collate

from ..config import from_dict, to_dict
from ..errors import CheckpointError, ConfigError, DataError, NonFiniteLossError
from ..fileio import atomic_write
from ..gan.base import METHODS, SCHEDULES, GANMethod, StepContext, TrainPlan
from ..images import save_grid
from ..layout import CHECKPOINTS, RUN_CONFIG, SAMPLES
from .checkpoint import (
    FORMAT, LoadedCheckpoint, checkpoint_path, find_latest, load_checkpoint, preserved_rng,
    prune_checkpoints, remove_temp_files, rng_state, save_checkpoint, seed_everything, set_rng_state,
)
from .config import (
    TrainConfig, autocast_factory, resolve_device, resolve_memory_format, resolve_n_samples, resolve_plan,
    resolve_precision,
)
from .data import BatchStream, accepts_keys
from .distributed import DistContext, NetworkWrapper, NoWrapper, rank_seed
from .metrics_log import MetricsLog
from .progress import Progress

#: train options that may differ when resuming: how long and where to run, not what.
RESUMABLE_CHANGES = frozenset({"steps", "epochs", "progress", "device", "num_workers", "sync_bn",
                               "find_unused_parameters"})
#: the visual grid stored at the top of samples/ (what the report shows for DCGAN)
MAIN_VISUAL = SAMPLES


@dataclass
class TrainResult:
    status: Literal["completed", "interrupted"]
    step: int  # steps completed
    run_dir: Path
    checkpoint: Path | None  # the last checkpoint written
    losses: dict[str, float] = field(default_factory=dict)  # of the last step
    elapsed: float = 0.0  # seconds of training, over all resumes
    images_per_s: float = 0.0  # of this fit() call
    plan: TrainPlan | None = None


def visual_path(run_dir: str | Path, name: str, step: int) -> Path:
    """Where the visual grid ``name`` of ``step`` is written (see the module docstring)."""
    folder = Path(run_dir) / SAMPLES
    if name != MAIN_VISUAL:
        folder = folder / name
    return folder / f"step_{step:06d}.png"


class LossWindow:
    """Per-key sums and counts of the losses since the last metrics line.

    Each key is averaged over the steps that reported it (a loss computed every other
    step is not halved); the state goes into checkpoints, so a resumed run logs the
    same lines as an uninterrupted one.
    """

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        self.sums: dict[str, float] = dict(state["sums"]) if state else {}
        self.counts: dict[str, int] = dict(state["counts"]) if state else {}

    def add(self, losses: Mapping[str, float]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
            self.counts[k] = self.counts.get(k, 0) + 1

    def means(self) -> dict[str, float]:
        return {k: s / self.counts[k] for k, s in self.sums.items()}

    def state(self) -> dict[str, dict[str, Any]]:
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def clear(self) -> None:
        self.sums, self.counts = {}, {}


def batch_to_device(batch: Mapping[str, Any], device: torch.device,
                    memory_format: torch.memory_format = torch.contiguous_format) -> dict[str, Any]:
    """A batch dict on ``device``: tensors moved (non-blocking), float images (4-d) in
    ``memory_format``; other fields (captions, file names) as they are."""
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            v = v.to(device, non_blocking=True)
            if v.dim() == 4 and v.is_floating_point():
                v = v.contiguous(memory_format=memory_format)  # (B, C, H, W)
        out[k] = v
    return out


def learning_rates(optimizers: Mapping[str, torch.optim.Optimizer]) -> dict[str, float]:
    """The current lr of each optimizer (``G``; ``G.1``... for further param groups)."""
    out: dict[str, float] = {}
    for name, opt in optimizers.items():
        for i, group in enumerate(opt.param_groups):
            out[name if i == 0 else f"{name}.{i}"] = float(group["lr"])
    return out


def _plan_of(payload: Mapping[str, Any]) -> TrainPlan | None:
    plan = payload.get("plan")
    return TrainPlan(**plan) if plan else None


def load_training_state(method: GANMethod, payload: Mapping[str, Any], source: Path | str = "checkpoint") -> None:
    """Load weights, optimizer, scheduler and extra states of ``payload`` into ``method``."""
    try:
        method.load_state_dict(payload["model"])
        for kind, table in (("optimizers", method.optimizers), ("schedulers", method.schedulers)):
            stored = payload.get(kind, {})
            if set(stored) != set(table):
                raise CheckpointError(f"{source}: {kind} {sorted(stored)} do not match the method's {sorted(table)}")
            for name, obj in table.items():
                obj.load_state_dict(stored[name])
        method.load_extra_state(payload.get("extra_state", {}))
    except (RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(f"{source}: does not fit the method: {str(e).splitlines()[0]}") from None


def method_from_checkpoint(checkpoint: LoadedCheckpoint) -> tuple[str, GANMethod]:
    """``(method_name, method)`` rebuilt from an already-loaded checkpoint alone: the class
    from the METHODS registry, its config, optimizers (for the stored plan) and every
    state from the payload; the method is on the CPU. Reads no file."""
    payload = checkpoint.payload
    _import_methods()
    name = payload["method"]
    entry = METHODS.get(name)
    cfg = from_dict(entry.factory.Config, payload["config"])  # type: ignore[attr-defined]
    method = METHODS.create(name, cfg)
    method.configure_optimizers(_plan_of(payload))
    load_training_state(method, payload, checkpoint.path)
    return name, method


def load_run_checkpoint(checkpoint_or_run_dir: str | Path) -> LoadedCheckpoint:
    """A checkpoint file, or a run directory's latest readable one, read once."""
    p = Path(checkpoint_or_run_dir)
    if p.is_dir():
        found = find_latest(p)
        if found is None:
            raise CheckpointError(f"{p}: no readable checkpoint in {p / CHECKPOINTS}")
        return found
    return LoadedCheckpoint(p, load_checkpoint(p))


def restore_method(checkpoint_or_run_dir: str | Path) -> tuple[str, GANMethod, dict[str, Any]]:
    """Rebuild a trained method from a checkpoint (or a run's latest one) alone.

    The method class comes from the METHODS registry and its config from the checkpoint,
    so no training flag is needed again. Returns ``(method_name, method, payload)``;
    the method is on the CPU with its optimizers configured and restored. The file is
    read once (``load_run_checkpoint`` + ``method_from_checkpoint`` for callers that
    also pass the payload on to ``Trainer(resume_from=...)``).
    """
    loaded = load_run_checkpoint(checkpoint_or_run_dir)
    name, method = method_from_checkpoint(loaded)
    return name, method, loaded.payload


def _import_methods() -> None:
    """Importing ``ganas.gan`` registers the built-in methods (lazily: train names none)."""
    try:
        importlib.import_module("ganas.gan")
    except ModuleNotFoundError as e:
        if e.name != "ganas.gan":
            raise


@contextlib.contextmanager
def _first_step_quiet(first: bool) -> Iterator[None]:
    """On a run's first step, silence PyTorch's "lr_scheduler.step() before optimizer.step()"
    warning (it checks only a scheduler's first step): a method that steps an optimizer
    every k-th step only (StarGAN's G, n_critic) still counts its decay in trainer steps."""
    if not first:
        yield
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step", category=UserWarning)
        yield


class Trainer:
    """``Trainer(name, method, dataset, out_dir, train_cfg, data_spec).fit()``.

    ``fit()`` on a directory with checkpoints resumes from the latest readable one, or
    from ``resume_from`` (a checkpoint the caller has already read: no file is read
    again). ``visual_data`` is the dataset the fixed held-out batch of the visuals is
    taken from (the test split; default: ``dataset``). ``on_checkpoint(path)`` runs
    after each checkpoint, ``on_sample(path)`` after each visual grid.
    """

    def __init__(self, method_name: str, method: GANMethod, dataset: Any, out_dir: str | Path,
                 train_cfg: TrainConfig | None = None, data_spec: str = "", *,
                 on_checkpoint: Callable[[Path], None] | None = None,
                 on_sample: Callable[[Path], None] | None = None,
                 resume_from: LoadedCheckpoint | None = None,
                 visual_data: Any = None) -> None:
        self.method_name, self.method, self.dataset = method_name, method, dataset
        self.run_dir = Path(out_dir)
        self.cfg = train_cfg if train_cfg is not None else TrainConfig()
        self.data_spec = data_spec
        self.on_checkpoint, self.on_sample = on_checkpoint, on_sample
        self.resume_from = resume_from
        self.visual_data = visual_data if visual_data is not None else dataset
        self.dist = DistContext.current()  # torch.distributed: rank 0 alone writes (distributed.py)
        self.device = self.dist.device(resolve_device(self.cfg.device))
        self.precision = resolve_precision(self.cfg.precision, self.device)
        self.memory_format = resolve_memory_format(self.cfg.memory_format, method.preferred_memory_format())
        self.n_samples = resolve_n_samples(self.cfg, method.train_defaults(method.config))
        self._stop = False
        self._last_ckpt: Path | None = None
        self._nets: NetworkWrapper | NoWrapper = NoWrapper()  # the DDP wrappers while fit() runs
        self._fixed: dict[str, torch.Tensor] | None = None  # on the CPU, as stored

    # -- setup -----------------------------------------------------------------------
    def batch_size(self) -> int:
        batch_size = getattr(self.method.config, "batch_size", None)
        if not isinstance(batch_size, int):
            raise ConfigError(f"{self.method_name}: the method config has no integer batch_size, which the trainer needs")
        return batch_size

    def plan(self) -> TrainPlan:
        """Steps per epoch and total steps of this run (``TrainConfig.steps``/``epochs``,
        else the method's ``train_defaults``)."""
        try:
            n = len(self.dataset)
        except TypeError:
            raise DataError("the trainer needs a dataset with a length (map-style)") from None
        bs = self.batch_size()
        if n // bs == 0:
            raise DataError(f"the dataset has {n} examples, fewer than one batch of {bs}")
        return resolve_plan(self.cfg, self.method.train_defaults(self.method.config), n // bs)

    def _describe_run(self) -> dict[str, Any]:
        return {"method": self.method_name, "data": self.data_spec,
                "config": to_dict(self.method.config), "train": to_dict(self.cfg)}

    def _check_resumable(self, payload: Mapping[str, Any], ckpt: Path, plan: TrainPlan) -> None:
        want = self._describe_run()
        diffs: list[str] = []
        if payload["method"] != want["method"]:
            diffs.append(f"method (stored {payload['method']!r}, requested {want['method']!r})")
        if payload["data"] != want["data"]:
            diffs.append(f"data (stored {payload['data']!r}, requested {want['data']!r})")
        for section, skip in (("config", frozenset()), ("train", RESUMABLE_CHANGES)):
            old, new = payload[section], want[section]
            for k in sorted(set(old) | set(new)):
                if k not in skip and old.get(k) != new.get(k):
                    diffs.append(f"{section}.{k} (stored {old.get(k)!r}, requested {new.get(k)!r})")
        if payload["step"] > plan.total_steps:
            diffs.append(f"train.steps ({plan.total_steps} in all is below the {payload['step']} steps already done)")
        if diffs:
            raise ConfigError(f"{self.run_dir}: cannot resume from {ckpt.name}, the stored settings differ: "
                              + "; ".join(diffs) + ". Use another output folder or the stored settings, or start a new run "
                              f"from its weights with these settings: ganas train --from {self.run_dir} --out NEW_DIR")

    def _check_fields(self, batch: Any, fields: tuple[str, ...], what: str) -> None:
        if not isinstance(batch, Mapping):
            raise ConfigError(f"the dataset must yield dicts (ganas.data contract), got {type(batch).__name__}")
        missing = [f for f in fields if f not in batch]
        if missing:
            raise ConfigError(
                f"{self.method_name} reads the {what} field(s) {', '.join(map(repr, missing))}, which --data "
                f"{self.data_spec!r} does not yield (its items have {', '.join(map(repr, batch))}); "
                f"give a data spec of the layout {self.method_name} needs")

    def _pick_fixed(self) -> dict[str, torch.Tensor] | None:
        """The held-out batch of the visuals: ``n_samples`` items of ``visual_data`` in a
        seeded order, chosen once (then kept in the checkpoints); global RNGs untouched."""
        fields = self.method.visual_fields
        fields = self.method.batch_fields if fields is None else fields
        if not fields:
            return None
        data = self.visual_data
        n = min(self.n_samples, len(data))
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.cfg.seed))[:n].tolist()
        keyed = accepts_keys(data)
        with preserved_rng():
            items = [data[(i, 0, self.cfg.seed)] if keyed else data[i] for i in order]
        batch = default_collate(items)
        self._check_fields(batch, fields, "visual")
        return {f: batch[f] for f in fields}

    def _payload(self, step: int, plan: TrainPlan, stream: BatchStream, log: MetricsLog,
                 window: LossWindow, elapsed: float) -> dict[str, Any]:
        run = self._describe_run()
        return {"format": FORMAT, "method": run["method"], "config": run["config"], "data": run["data"],
                "train": run["train"], "step": step, "plan": plan.to_dict(), "model": self.method.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.method.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.method.schedulers.items()},
                "extra_state": self.method.extra_state(), "fixed": self._fixed,
                "rng": rng_state(), "data_state": stream.state(), "metrics_offset": log.offset(),
                "log_window": window.state(), "elapsed": elapsed}

    # -- the loop ----------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg, method, dev = self.cfg, self.method, self.device
        if method.schedule not in SCHEDULES:
            raise ConfigError(f"{self.method_name}: schedule {method.schedule!r} is not one of {', '.join(SCHEDULES)}")
        plan = self.plan()
        ddp, main = self.dist, self.dist.is_main
        if main:
            (self.run_dir / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
            remove_temp_files(self.run_dir)
        method.to(dev, memory_format=self.memory_format)
        method.train()
        method.configure_optimizers(plan)  # the plan is known now; states are loaded below
        # batch_size is the global batch: each rank reads its slice of it
        stream = BatchStream(self.dataset, self.batch_size(), cfg.seed, cfg.num_workers,
                             pin_memory=dev.type == "cuda", rank=ddp.rank, world_size=ddp.world_size)
        loaded = self.resume_from if self.resume_from is not None else find_latest(self.run_dir)
        start, offset, elapsed0, window_state = 0, None, 0.0, None
        if loaded is not None:
            payload = loaded.payload
            self._check_resumable(payload, loaded.path, plan)
            load_training_state(method, payload, loaded.path)
            set_rng_state(payload["rng"])
            if ddp.rank > 0:  # this rank's own stream; a resume on another world size starts a new one
                ranks = payload.get("rng_ranks") or []
                if len(ranks) == ddp.world_size - 1:
                    set_rng_state(ranks[ddp.rank - 1])
                else:
                    seed_everything(rank_seed(cfg.seed + int(payload["step"]), ddp.rank))
            stream.load_state(payload["data_state"])
            start, offset = int(payload["step"]), int(payload["metrics_offset"])
            elapsed0, window_state = float(payload.get("elapsed", 0.0)), payload.get("log_window")
            self._fixed = payload["fixed"] if "fixed" in payload else self._pick_fixed()
            self._last_ckpt = loaded.path
        else:
            seed_everything(rank_seed(cfg.seed, ddp.rank))  # each rank its own noise (rank 0: cfg.seed)
            self._fixed = self._pick_fixed()
        self.resume_from = None  # a second fit() reads the run folder again
        if main:
            atomic_write(self.run_dir / RUN_CONFIG,
                         lambda f: f.write(yaml.safe_dump(self._describe_run(), sort_keys=False).encode()))
        if start >= plan.total_steps:
            return TrainResult("completed", start, self.run_dir, self._last_ckpt, elapsed=elapsed0, plan=plan)

        self._nets = (NetworkWrapper(method, ddp, dev, cfg.sync_bn, cfg.find_unused_parameters)
                      if ddp.enabled else NoWrapper())
        log = MetricsLog(self.run_dir, offset, start) if main else _NullLog()
        progress = Progress(plan.total_steps, start, enabled=cfg.progress and main)
        autocast = autocast_factory(self.precision, dev)
        window = LossWindow(window_state)
        previous = self._install_signal_handlers()
        t0 = time.perf_counter()
        win_t, win_images = t0, 0
        losses: dict[str, float] = {}
        status: Literal["completed", "interrupted"] = "completed"
        step, batch = start, {}
        try:
            for step in range(start + 1, plan.total_steps + 1):
                raw = stream.next()
                if step == start + 1:
                    self._check_fields(raw, method.batch_fields, "batch")
                batch = self._to_device(raw)
                ctx = StepContext(step=step, device=dev, autocast=autocast, epoch=plan.epoch_of(step),
                                  steps_per_epoch=plan.steps_per_epoch, total_steps=plan.total_steps)
                out = method.train_step(batch, ctx)
                lrs = learning_rates(method.optimizers)  # the lr this step used
                if method.schedule == "step" or plan.ends_epoch(step):
                    with _first_step_quiet(step == start + 1):
                        for sched in method.schedulers.values():
                            sched.step()
                losses = _finite_losses(out, step, self._last_ckpt, ddp)
                window.add(losses)
                win_images += _batch_size(batch) * ddp.world_size
                now = time.perf_counter()
                rate = win_images / max(now - win_t, 1e-9)
                stop = ddp.any(self._stop)  # one reading (every rank stops at the same step)
                last = step == plan.total_steps or stop
                if step % cfg.log_every == 0 or step == plan.total_steps:
                    log.write({"step": step, "epoch": ctx.epoch, "losses": window.means(), "lr": lrs,
                               "images_per_s": rate, "elapsed": elapsed0 + now - t0})
                    progress.update(step, losses, rate, log_line=True)
                    window.clear()
                    win_t, win_images = now, 0
                else:
                    progress.update(step, losses, rate)
                if (cfg.sample_every and step % cfg.sample_every == 0) or last:
                    self._visuals(step)
                if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or last:
                    # an interrupted run keeps its partial log window in the checkpoint
                    # (no off-schedule line): the resumed log equals an uninterrupted one
                    self._checkpoint(step, plan, stream, log, window, elapsed0 + time.perf_counter() - t0)
                if stop:
                    status = "interrupted"
                    progress.write(f"interrupted: saved {self._last_ckpt} at step {step}")
                    break
        finally:
            self._nets.unwrap()
            self._restore_signal_handlers(previous)
            progress.close()
            log.close()
        total = time.perf_counter() - t0
        return TrainResult(status, step, self.run_dir, self._last_ckpt, losses, elapsed0 + total,
                           (step - start) * _batch_size(batch) * ddp.world_size / max(total, 1e-9), plan)

    def _to_device(self, batch: Any) -> Any:
        if not isinstance(batch, Mapping):
            raise ConfigError(f"the dataset must yield dicts (ganas.data contract), got {type(batch).__name__}")
        return batch_to_device(batch, self.device, self.memory_format)

    def _visuals(self, step: int) -> None:
        # fixed inputs and noise; the global RNGs are restored afterwards, so visuals
        # cannot change the training's random stream (sample_every changes no result)
        # every rank computes them (a SyncBatchNorm in training mode is a collective); rank 0 writes
        fixed = self._to_device(self._fixed) if self._fixed is not None else None
        with preserved_rng(), torch.no_grad(), self._nets.unwrapped():
            grids = self.method.visuals(fixed, torch.Generator().manual_seed(self.cfg.seed), self.n_samples)
        self.method.train()
        if not self.dist.is_main:
            return
        for name, images in grids.items():
            nrow = None
            if images.dim() == 5:  # (R, K, C, H, W): R rows of K images
                nrow = images.shape[1]
                images = images.flatten(0, 1)
            path = save_grid(images.detach().float().cpu(), visual_path(self.run_dir, name, step), nrow=nrow)
            if self.on_sample is not None:
                self.on_sample(path)

    def _checkpoint(self, step: int, plan: TrainPlan, stream: BatchStream, log: MetricsLog,
                    window: LossWindow, elapsed: float) -> None:
        path = checkpoint_path(self.run_dir, step)
        ranks = self.dist.gather(rng_state())  # every rank's RNG state, on rank 0
        if self.dist.is_main:
            with self._nets.unwrapped():  # plain state_dict keys; the hook may evaluate on rank 0 alone
                payload = self._payload(step, plan, stream, log, window, elapsed)
                if self.dist.enabled:
                    payload["rng_ranks"] = ranks[1:]
                save_checkpoint(path, payload)
                prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints)
                if self.on_checkpoint is not None:
                    self.on_checkpoint(path)
        self._last_ckpt = path
        self.dist.barrier()  # no rank runs on before the checkpoint is complete

    # -- Ctrl-C: finish the step, checkpoint, return "interrupted" -----------------------
    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        self._stop = False

        def handler(signum: int, frame: Any) -> None:
            if self._stop:  # a second Ctrl-C stops at once
                raise KeyboardInterrupt
            self._stop = True

        previous = {}
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if sig is not None:
                previous[sig] = signal.signal(sig, handler)
        return previous

    @staticmethod
    def _restore_signal_handlers(previous: Mapping[int, Any]) -> None:
        for sig, h in previous.items():
            signal.signal(sig, h)


def _batch_size(batch: Mapping[str, Any]) -> int:
    for v in batch.values():
        if isinstance(v, torch.Tensor) and v.dim() > 0:
            return int(v.shape[0])
    return 0


class _NullLog:
    """The metrics log of a rank other than 0 (which writes nothing)."""

    def write(self, record: Mapping[str, Any]) -> None:
        pass

    def offset(self) -> int:
        return 0

    def close(self) -> None:
        pass


def _finite_losses(losses: Mapping[str, Any], step: int, last_good: Path | None,
                   ddp: DistContext = DistContext()) -> dict[str, float]:
    """Scalar losses as floats (means over the ranks when distributed: every rank then sees
    the same values and stops together); a NaN/inf one stops training (one host sync per step)."""
    if not losses:
        return {}
    tensors = {k: v for k, v in losses.items() if isinstance(v, torch.Tensor)}
    out = {k: float(v) for k, v in losses.items() if k not in tensors}
    if tensors:  # one device-to-host copy for all of them
        vals = torch.stack([v.detach().float().reshape(()) for v in tensors.values()]).cpu().tolist()
        out.update(zip(tensors.keys(), vals))
    out = {k: out[k] for k in losses}  # the method's order
    out = dict(zip(out, ddp.mean(list(out.values()))))
    for k, v in out.items():
        if not math.isfinite(v):
            keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was written yet"
            raise NonFiniteLossError(f"step {step}: loss {k} is {v}; training stopped, no checkpoint of this "
                                     f"state was written ({keep})")
    return out
