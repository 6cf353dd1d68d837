"""Evaluate children on Ray actors, ``workers`` at a time (``pip install ganas[ray]``).

Each worker is a Ray actor holding the evaluator and the space (shipped once through
the object store; a ``TrainEvaluator`` leaves its data behind and loads them once per
worker). An actor requests ``cpus_per_child`` CPUs (default ``child_threads``) and,
where the cluster has GPUs, one GPU (``gpus_per_child``); it sets
``torch.set_num_threads(child_threads)`` and places the evaluator on its own device:
``cuda`` when Ray gave it a GPU, else ``cpu`` (the worker decides, not the search's
settings). ``concurrency`` > 1 runs that many evaluations per actor in threads (for
simulated training times; real training wants 1).

Where Ray runs:
- ``address=None``: a local Ray instance started for this search, no dashboard, its
  temporary folder inside the search directory (``OUT/ray``). Ray puts AF_UNIX sockets
  there and a socket path may not exceed 107 bytes, so when that folder's path is
  longer than 40 characters Ray is given a short symbolic link to it instead
  (``/tmp/ganas-ray-<hash>``, removed at close). ``close()`` shuts the instance down.
- ``address="auto"`` or ``"HOST:PORT"``: join a running cluster (``ray start --head``
  on one machine, ``ray start --address HOST:PORT`` on the others); ``close()`` only
  disconnects.
- Ray already initialised in this process (a notebook, the tests): used as it is.

A worker that dies in the middle of an evaluation (killed, out of memory) is replaced
by a fresh actor and the job goes back to the retry policy of ``Executor.collect``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ..base import Evaluator, SearchSpace
from .base import Attempt, Executor, Job, evaluate_job

try:
    import ray
    from ray.exceptions import RayError
except ImportError as e:  # pragma: no cover - exercised where ray is absent
    raise ConfigError("the ray executor needs Ray: pip install 'ganas[ray]'") from e

#: longest temporary-folder path handed to Ray (its socket names add ~60 characters)
MAX_TEMP_PATH = 40


class EvalWorker:
    """The actor: one evaluator, one space, its own device."""

    def __init__(self, evaluator: Evaluator, space: SearchSpace, threads: int, name: str) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.evaluator, self.space, self.name = evaluator, space, name
        self.device = "cuda" if ray.get_gpu_ids() else "cpu"  # Ray sets CUDA_VISIBLE_DEVICES
        evaluator.place(self.device)
        self._first = threading.Lock()
        self._warm = False

    def pid(self) -> int:
        return os.getpid()

    def evaluate(self, job: Job) -> Attempt:
        if not self._warm:  # with concurrency > 1: one thread loads data / builds caches, the others wait
            with self._first:
                if not self._warm:
                    try:
                        return evaluate_job(self.evaluator, self.space, job, f"{self.name}@{self.device}")
                    finally:
                        self._warm = True
        return evaluate_job(self.evaluator, self.space, job, f"{self.name}@{self.device}")


class _RayCall:
    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def result(self) -> Any:
        return ray.get(self.ref)

    def done(self) -> bool:
        return bool(ray.wait([self.ref], timeout=0)[0])


class _RayRef:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def call(self, method: str, *args: Any) -> _RayCall:
        return _RayCall(getattr(self.handle, method).remote(*args))


class RayHost:
    """``ActorHost`` on Ray: each spawned object is an actor (no CPU reserved)."""

    def __init__(self) -> None:
        self.handles: list[Any] = []

    def spawn(self, cls: type, *args: Any, **kwargs: Any) -> _RayRef:
        h = ray.remote(cls).options(num_cpus=0).remote(*args, **kwargs)
        self.handles.append(h)
        return _RayRef(h)

    def close(self) -> None:
        for h in self.handles:
            ray.kill(h)
        self.handles.clear()


def short_temp_dir(folder: Path) -> tuple[Path, Path | None]:
    """(the path to give Ray, the symbolic link made for it or None)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if len(str(folder)) <= MAX_TEMP_PATH:
        return folder, None
    link = Path(tempfile.gettempdir()) / f"ganas-ray-{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}"
    if link.is_symlink() and Path(os.readlink(link)) != folder:
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(folder, target_is_directory=True)
    return link, link


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int = 2, address: str | None = None, child_threads: int = 1,
                 cpus_per_child: float | None = None, gpus_per_child: float | None = None,
                 concurrency: int = 1, retries: int = 2, num_cpus: int | None = None) -> None:
        super().__init__(retries)
        if workers < 1 or concurrency < 1 or child_threads < 1:
            raise ConfigError(f"ray executor: workers, concurrency and child_threads must be >= 1 "
                              f"(got {workers}, {concurrency}, {child_threads})")
        self.workers, self.address, self.child_threads = workers, address, child_threads
        self.cpus_per_child = float(child_threads if cpus_per_child is None else cpus_per_child)
        self.gpus_per_child, self.concurrency, self.num_cpus = gpus_per_child, concurrency, num_cpus
        self.slots = workers * concurrency
        self._owns_ray = False
        self._link: Path | None = None
        self._host: RayHost | None = None
        self._actors: list[Any] = []
        self._gen: list[int] = []
        self._load: list[int] = []
        self._inflight: dict[Any, tuple[Job, int, int]] = {}  # ref -> (job, actor, generation)
        self._args: tuple[Any, ...] = ()

    # -- Ray itself -----------------------------------------------------------------
    def _connect(self, run_dir: Path | None) -> None:
        if ray.is_initialized():
            return
        common: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "logging_level": "warning"}
        if self.address:
            try:
                ray.init(address=self.address, **common)
            except ConnectionError as e:
                raise ConfigError(f"--ray-address {self.address}: no Ray cluster there ({e}); start one "
                                  "with `ray start --head`") from None
        else:
            kw: dict[str, Any] = {}
            if run_dir is not None:
                temp, self._link = short_temp_dir(Path(run_dir) / "ray")
                kw["_temp_dir"] = str(temp)
            ray.init(num_cpus=self.num_cpus or os.cpu_count() or 1, **common, **kw)
        self._owns_ray = True

    @property
    def host(self) -> RayHost:
        if self._host is None:
            self._connect(None)
            self._host = RayHost()
        return self._host

    # -- workers --------------------------------------------------------------------
    def start(self, evaluator: Evaluator, space: SearchSpace, run_dir: Path | None = None) -> None:
        super().start(evaluator, space, run_dir)
        self._connect(run_dir)
        gpus = self.gpus_per_child
        if gpus is None:
            gpus = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        self._cls = ray.remote(EvalWorker).options(num_cpus=self.cpus_per_child, num_gpus=gpus,
                                                     max_concurrency=self.concurrency, max_restarts=0)
        self._args = (ray.put(evaluator), ray.put(space))  # shipped once, shared by every actor
        self._actors = [self._spawn(k) for k in range(self.workers)]
        self._gen = [0] * self.workers
        self._load = [0] * self.workers
        self.worker_pids()  # return once every worker is up (its process started, torch imported)

    def _spawn(self, k: int) -> Any:
        return self._cls.remote(*self._args, self.child_threads, f"ray-worker-{k}")

    def worker_pids(self) -> list[int]:
        """Process ids of the worker actors (for tests and diagnostics)."""
        return ray.get([a.pid.remote() for a in self._actors])

    @property
    def pending(self) -> int:
        return len(self._inflight)

    def _submit(self, job: Job) -> None:
        k = min(range(self.workers), key=lambda i: self._load[i])
        self._inflight[self._actors[k].evaluate.remote(job)] = (job, k, self._gen[k])
        self._load[k] += 1

    def _collect(self, timeout: float | None) -> list[Attempt]:
        refs = list(self._inflight)
        if not refs:
            return []
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        out = []
        for ref in ready:
            job, k, gen = self._inflight.pop(ref)
            self._load[k] -= 1
            try:
                out.append(ray.get(ref))
            except RayError as e:  # the worker died (or its result could not be read)
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                out.append(Attempt(job, None, 0.0, f"{type(e).__name__}: {msg}", True, f"ray-worker-{k}"))
                if gen == self._gen[k]:  # replace it once, whatever else was running there
                    ray.kill(self._actors[k], no_restart=True)
                    self._actors[k] = self._spawn(k)
                    self._gen[k] += 1
        return sorted(out, key=lambda a: a.job.index)

    def close(self) -> None:
        if not ray.is_initialized():
            return
        for a in self._actors:
            ray.kill(a, no_restart=True)
        self._actors, self._inflight = [], {}
        if self._host is not None:
            self._host.close()
            self._host = None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
        if self._link is not None and self._link.is_symlink():
            self._link.unlink()
            self._link = None
