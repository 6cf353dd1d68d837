"""The training process shared by every GAN method.

The method (``ganas.gan.base.GANMethod``) computes one optimisation step and returns its
losses; the trainer owns the rest: device, precision, memory format, seeds, the data
order, sample grids, ``metrics.jsonl``, checkpoints, resume, Ctrl-C and non-finite
losses. It never names a method. A run directory holds::

    config.yaml             method, data spec, method config, train config
    checkpoints/step_XXXXXX.pt   the last ``keep_checkpoints``
    samples/step_XXXXXX.png      grids of ``method.sample(n_samples)`` with fixed noise
    metrics.jsonl           one JSON object per logged step
"""

from __future__ import annotations

import importlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Mapping

import torch
import yaml

from ..config import from_dict, to_dict
from ..errors import CheckpointError, ConfigError, NonFiniteLossError
from ..gan.base import METHODS, GANMethod, StepContext
from ..fileio import atomic_write
from ..images import save_grid
from ..layout import CHECKPOINTS, RUN_CONFIG, sample_file
from .checkpoint import (
    FORMAT, checkpoint_path, latest_checkpoint, load_checkpoint, prune_checkpoints,
    remove_temp_files, rng_state, save_checkpoint, seed_everything, set_rng_state,
)
from .config import TrainConfig, autocast_factory, resolve_device, resolve_memory_format, resolve_precision
from .data import BatchStream
from .metrics_log import MetricsLog
from .progress import Progress

#: train options that may differ when resuming: how long and where to run, not what.
RESUMABLE_CHANGES = frozenset({"steps", "progress", "device", "num_workers"})


@dataclass
class TrainResult:
    status: Literal["completed", "interrupted"]
    step: int  # steps completed
    run_dir: Path
    checkpoint: Path | None  # the last checkpoint written
    losses: dict[str, float] = field(default_factory=dict)  # of the last step
    elapsed: float = 0.0  # seconds of training, over all resumes
    images_per_s: float = 0.0  # of this fit() call


def load_training_state(method: GANMethod, payload: Mapping[str, Any], source: Path | str = "checkpoint") -> None:
    """Load weights, optimizer and scheduler states of ``payload`` into ``method``."""
    try:
        method.load_state_dict(payload["model"])
        for kind, table in (("optimizers", method.optimizers), ("schedulers", method.schedulers)):
            stored = payload.get(kind, {})
            if set(stored) != set(table):
                raise CheckpointError(f"{source}: {kind} {sorted(stored)} do not match the method's {sorted(table)}")
            for name, obj in table.items():
                obj.load_state_dict(stored[name])
    except (RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(f"{source}: does not fit the method: {str(e).splitlines()[0]}") from None


def restore_method(checkpoint_or_run_dir: str | Path) -> tuple[str, GANMethod, dict[str, Any]]:
    """Rebuild a trained method from a checkpoint (or a run's latest one) alone.

    The method class comes from the METHODS registry and its config from the checkpoint,
    so no training flag is needed again. Returns ``(method_name, method, payload)``;
    the method is on the CPU with its optimizers configured and restored.
    """
    p = Path(checkpoint_or_run_dir)
    ckpt = latest_checkpoint(p) if p.is_dir() else p
    if ckpt is None:
        raise CheckpointError(f"{p}: no readable checkpoint in {p / CHECKPOINTS}")
    payload = load_checkpoint(ckpt)
    _import_methods()
    name = payload["method"]
    entry = METHODS.get(name)
    cfg = from_dict(entry.factory.Config, payload["config"])  # type: ignore[attr-defined]
    method = METHODS.create(name, cfg)
    method.configure_optimizers()
    load_training_state(method, payload, ckpt)
    return name, method, payload


def _import_methods() -> None:
    """Importing ``ganas.gan`` registers the built-in methods (lazily: train names none)."""
    try:
        importlib.import_module("ganas.gan")
    except ModuleNotFoundError as e:
        if e.name != "ganas.gan":
            raise


class Trainer:
    """``Trainer(name, method, dataset, out_dir, train_cfg, data_spec).fit()``.

    ``fit()`` on a directory with checkpoints resumes from the latest readable one.
    ``on_checkpoint(path)`` runs after each checkpoint, ``on_sample(path)`` after each grid.
    """

    def __init__(self, method_name: str, method: GANMethod, dataset: Any, out_dir: str | Path,
                 train_cfg: TrainConfig | None = None, data_spec: str = "", *,
                 on_checkpoint: Callable[[Path], None] | None = None,
                 on_sample: Callable[[Path], None] | None = None) -> None:
        self.method_name, self.method, self.dataset = method_name, method, dataset
        self.run_dir = Path(out_dir)
        self.cfg = train_cfg if train_cfg is not None else TrainConfig()
        self.data_spec = data_spec
        self.on_checkpoint, self.on_sample = on_checkpoint, on_sample
        self.device = resolve_device(self.cfg.device)
        self.precision = resolve_precision(self.cfg.precision, self.device)
        self.memory_format = resolve_memory_format(self.cfg.memory_format, method.preferred_memory_format())
        self._stop = False
        self._last_ckpt: Path | None = None

    # -- setup -----------------------------------------------------------------------
    def _describe_run(self) -> dict[str, Any]:
        return {"method": self.method_name, "data": self.data_spec,
                "config": to_dict(self.method.config), "train": to_dict(self.cfg)}

    def _check_resumable(self, payload: Mapping[str, Any], ckpt: Path) -> None:
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
        if payload["step"] > self.cfg.steps:
            diffs.append(f"train.steps ({self.cfg.steps} is below the {payload['step']} steps already done)")
        if diffs:
            raise ConfigError(f"{self.run_dir}: cannot resume from {ckpt.name}, the stored settings differ: "
                              + "; ".join(diffs) + ". Use another output folder or the stored settings, or start a new run "
                              f"from its weights with these settings: ganas train --from {self.run_dir} --out NEW_DIR")

    def _payload(self, step: int, stream: BatchStream, log: MetricsLog, elapsed: float) -> dict[str, Any]:
        run = self._describe_run()
        return {"format": FORMAT, "method": run["method"], "config": run["config"], "data": run["data"],
                "train": run["train"], "step": step, "model": self.method.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.method.optimizers.items()},
                "schedulers": {k: s.state_dict() for k, s in self.method.schedulers.items()},
                "rng": rng_state(), "data_state": stream.state(), "metrics_offset": log.offset(),
                "elapsed": elapsed}

    # -- the loop ----------------------------------------------------------------------
    def fit(self) -> TrainResult:
        cfg, method, dev = self.cfg, self.method, self.device
        (self.run_dir / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
        remove_temp_files(self.run_dir)
        method.to(dev, memory_format=self.memory_format)
        method.train()
        if not method.optimizers:
            method.configure_optimizers()
        batch_size = getattr(method.config, "batch_size", None)
        if not isinstance(batch_size, int):
            raise ConfigError(f"{self.method_name}: the method config has no integer batch_size, which the trainer needs")
        stream = BatchStream(self.dataset, batch_size, cfg.seed, cfg.num_workers,
                             pin_memory=dev.type == "cuda")
        ckpt = latest_checkpoint(self.run_dir)
        start, offset, elapsed0 = 0, None, 0.0
        if ckpt is not None:
            payload = load_checkpoint(ckpt)
            self._check_resumable(payload, ckpt)
            load_training_state(method, payload, ckpt)
            set_rng_state(payload["rng"])
            stream.load_state(payload["data_state"])
            start, offset, elapsed0 = int(payload["step"]), int(payload["metrics_offset"]), float(payload.get("elapsed", 0.0))
            self._last_ckpt = ckpt
        else:
            seed_everything(cfg.seed)
        atomic_write(self.run_dir / RUN_CONFIG,
                     lambda f: f.write(yaml.safe_dump(self._describe_run(), sort_keys=False).encode()))
        if start >= cfg.steps:
            return TrainResult("completed", start, self.run_dir, self._last_ckpt, elapsed=elapsed0)

        log = MetricsLog(self.run_dir, offset, start)
        progress = Progress(cfg.steps, start, enabled=cfg.progress)
        autocast = autocast_factory(self.precision, dev)
        previous = self._install_signal_handlers()
        t0 = time.perf_counter()
        win_t, win_images, win_sums, win_n = t0, 0, {}, 0
        losses: dict[str, float] = {}
        rate = 0.0
        status: Literal["completed", "interrupted"] = "completed"
        try:
            for step in range(start + 1, cfg.steps + 1):
                batch = self._to_device(stream.next())
                out = method.train_step(batch, StepContext(step=step, device=dev, autocast=autocast))
                method.end_of_step()
                losses = _finite_losses(out, step, self._last_ckpt)
                win_images += _batch_size(batch)
                win_n += 1
                for k, v in losses.items():
                    win_sums[k] = win_sums.get(k, 0.0) + v
                now = time.perf_counter()
                rate = win_images / max(now - win_t, 1e-9)
                last = step == cfg.steps or self._stop
                if step % cfg.log_every == 0 or last:
                    # losses are averaged over the steps since the previous line
                    log.write({"step": step, "losses": {k: s / win_n for k, s in win_sums.items()},
                               "images_per_s": rate, "elapsed": elapsed0 + now - t0})
                    progress.update(step, losses, rate, log_line=True)
                    win_t, win_images, win_sums, win_n = now, 0, {}, 0
                else:
                    progress.update(step, losses, rate)
                if (cfg.sample_every and step % cfg.sample_every == 0) or last:
                    self._sample(step)
                if (cfg.checkpoint_every and step % cfg.checkpoint_every == 0) or last:
                    self._checkpoint(step, stream, log, elapsed0 + time.perf_counter() - t0)
                if self._stop:
                    status = "interrupted"
                    progress.write(f"interrupted: saved {self._last_ckpt} at step {step}")
                    break
        finally:
            self._restore_signal_handlers(previous)
            progress.close()
            log.close()
        total = time.perf_counter() - t0
        return TrainResult(status, step, self.run_dir, self._last_ckpt, losses, elapsed0 + total,
                           (step - start) * _batch_size(batch) / max(total, 1e-9))

    def _to_device(self, batch: Any) -> Any:
        if not isinstance(batch, Mapping):
            raise ConfigError(f"the dataset must yield dicts (ganas.data contract), got {type(batch).__name__}")
        out = {}
        for k, v in batch.items():
            if isinstance(v, torch.Tensor):
                v = v.to(self.device, non_blocking=True)
                if v.dim() == 4 and v.is_floating_point():
                    v = v.contiguous(memory_format=self.memory_format)  # (B, C, H, W)
            out[k] = v
        return out

    def _sample(self, step: int) -> None:
        # fixed noise from its own generator; forking the global RNG keeps sampling from
        # changing the training's random stream (so sample_every cannot change results)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            images = self.method.sample(self.cfg.n_samples, generator=torch.Generator().manual_seed(self.cfg.seed))
        self.method.train()
        path = save_grid(images, sample_file(self.run_dir, step))
        if self.on_sample is not None:
            self.on_sample(path)

    def _checkpoint(self, step: int, stream: BatchStream, log: MetricsLog, elapsed: float) -> None:
        path = save_checkpoint(checkpoint_path(self.run_dir, step), self._payload(step, stream, log, elapsed))
        self._last_ckpt = path
        prune_checkpoints(self.run_dir, self.cfg.keep_checkpoints)
        if self.on_checkpoint is not None:
            self.on_checkpoint(path)

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


def _finite_losses(losses: Mapping[str, Any], step: int, last_good: Path | None) -> dict[str, float]:
    """Scalar losses as floats; a NaN/inf one stops training (one host sync per step)."""
    if not losses:
        return {}
    tensors = {k: v for k, v in losses.items() if isinstance(v, torch.Tensor)}
    out = {k: float(v) for k, v in losses.items() if k not in tensors}
    if tensors:  # one device-to-host copy for all of them
        vals = torch.stack([v.detach().float().reshape(()) for v in tensors.values()]).cpu().tolist()
        out.update(zip(tensors.keys(), vals))
    out = {k: out[k] for k in losses}  # the method's order
    for k, v in out.items():
        if not math.isfinite(v):
            keep = f"the last good checkpoint is {last_good}" if last_good else "no checkpoint was written yet"
            raise NonFiniteLossError(f"step {step}: loss {k} is {v}; training stopped, no checkpoint of this "
                                     f"state was written ({keep})")
    return out
