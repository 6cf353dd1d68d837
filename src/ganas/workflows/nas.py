"""NAS workflows: search (one search into a directory, or many seeds on a table), export
and retrain the architecture a search found.

Typed arguments in, plain results out; nothing here parses arguments or prints
(``ganas.cli`` does both). ``sets`` are ``KEY=VALUE`` overrides routed to the space
settings, the strategy settings and (for real training) the evaluator's
``TrainSettings``; a key that two of them have must be qualified (``strategy.lr``,
``evaluator.lr``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import layout
from ..config import route_overrides
from ..errors import ConfigError, DataError

#: input shape and class count of the NAS-Bench-201 tasks (CIFAR at 32x32; ImageNet16-120 at 16x16)
BENCHMARK_TASKS = {"cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
                   "imagenet16-120": ((3, 16, 16), 120)}
#: evaluator settings of the search that a retrain does not take over by default
NOT_RETRAINED = ("data_spec", "epochs", "val_fraction", "max_train")


@dataclasses.dataclass
class SearchTask:
    """What a finished search was solving, read from its ``search.yaml``."""

    data: str | None  # the data spec of real training; None for a tabular benchmark
    input_shape: tuple[int, int, int]
    num_classes: int
    recipe: dict[str, Any]  # the evaluator's TrainSettings as recorded ({} for a table)


@dataclasses.dataclass
class Setup:
    """A space, an evaluator, and the routed ``sets`` (``routed["strategy"]`` etc.)."""

    space: Any
    evaluator: Any
    routed: dict[str, dict[str, Any]]


def setup(space: str, strategy: str, *, data: str | None = None, benchmark: str | None = None,
          dataset: str = "cifar10", sets: Mapping[str, Any] | None = None) -> Setup:
    """Build the space and the evaluator (``train`` on ``data``, or ``tabular`` on
    ``benchmark``) and route ``sets`` among space, strategy and evaluator."""
    from ..nas.base import SPACES
    from ..nas.evaluators import TabularEvaluator, TrainEvaluator
    from ..nas.evaluators.common import TrainSettings
    from ..nas.spaces import make_space
    from ..nas.strategies import STRATEGIES, strategy_settings

    if (data is None) == (benchmark is None):
        raise ConfigError("a search needs exactly one of --data SPEC (train each child) or --benchmark PATH")
    SPACES.get(space)  # unknown names -> errors listing the valid ones
    STRATEGIES.get(strategy)
    targets: dict[str, Any] = {"space": SPACES.get(space).factory.Settings(),
                               "strategy": strategy_settings(strategy)}
    if benchmark is None:
        targets["evaluator"] = TrainSettings()
    routed = route_overrides(dict(sets or {}), targets)
    sp = make_space(space, routed["space"])
    if benchmark is not None:
        evaluator = TabularEvaluator(benchmark, dataset=dataset)
    else:
        evaluator = TrainEvaluator(data_spec=data, **routed["evaluator"])
    return Setup(sp, evaluator, routed)


def make_executor(executor: str = "local", workers: int | None = None, ray_address: str | None = None,
                  child_threads: int = 1) -> Any:
    """The executor a search evaluates its children on: ``local`` (in-process; ``workers``
    threads, default 1) or ``ray`` (``workers`` Ray workers, default 2; a local instance
    inside the search directory, or the cluster at ``ray_address``: ``auto`` or HOST:PORT)."""
    from ..nas.executors import make_executor as make

    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if child_threads < 1:
        raise ConfigError(f"--child-threads must be >= 1, got {child_threads}")
    if executor == "local":
        if ray_address:
            raise ConfigError("--ray-address needs --executor ray")
        return make("local", workers=workers or 1)
    if executor == "ray":
        return make("ray", workers=workers or 2, address=ray_address, child_threads=child_threads)
    raise ConfigError(f"unknown executor {executor!r}; valid: local, ray")


def search(space: str, strategy: str, out: str | Path, budget: int, *, data: str | None = None,
           benchmark: str | None = None, dataset: str = "cifar10", seed: int = 0,
           sets: Mapping[str, Any] | None = None, executor: Any = None):
    """One search of ``budget`` evaluations into ``out`` (resumed when ``out`` holds it);
    writes the journal, best.json, search.json and report.html. Returns the loop's
    ``SearchResult`` (``best``, ``history``...)."""
    from ..nas.search import run_search
    from ..nas.strategies import make_strategy
    from ..report import write_search_report

    s = setup(space, strategy, data=data, benchmark=benchmark, dataset=dataset, sets=sets)
    strat = make_strategy(strategy, s.space, seed, s.routed["strategy"])
    result = run_search(s.space, strat, s.evaluator, budget, Path(out), seed, executor=executor)
    write_search_report(Path(out))
    return result


def search_seeds(space: str, strategy: str, benchmark: str, budget: int, seeds: Sequence[int], *,
                 dataset: str = "cifar10", sets: Mapping[str, Any] | None = None,
                 thresholds: Sequence[float] | None = None) -> dict[str, Any]:
    """One in-memory search per seed on a tabular benchmark: the summary of
    ``nas.search.run_seeds`` (mean/std of the returned cells' test accuracy, queries to
    each threshold: per-dataset defaults, ``ganas.nas.rank_quality.DEFAULT_THRESHOLDS``;
    the PNAS predictor's rank quality per stage)."""
    from ..nas.rank_quality import default_thresholds
    from ..nas.search import run_seeds

    s = setup(space, strategy, benchmark=benchmark, dataset=dataset, sets=sets)
    if thresholds is None:
        thresholds = default_thresholds(s.evaluator.dataset)
    return run_seeds(s.space, strategy, s.evaluator, budget, list(seeds), s.routed["strategy"],
                     thresholds=tuple(thresholds))


def search_task(search_dir: str | Path) -> SearchTask:
    """The task of a search (data spec, input shape, class count, training recipe)."""
    d = Path(search_dir)
    cfg = layout.read_search_config(d)
    ev = cfg.get("evaluator_settings") or {}
    if cfg.get("evaluator") == "tabular":
        shape, classes = BENCHMARK_TASKS[ev.get("dataset", "cifar10")]
        return SearchTask(None, shape, classes, {})
    from ..data import DataOptions, make_dataset

    spec = ev.get("data_spec")
    if not spec:
        raise DataError(f"{d / layout.SEARCH_CONFIG}: no evaluator data_spec recorded")
    size, ch = int(ev.get("image_size", 32)), int(ev.get("channels", 3))
    ds = make_dataset(spec, "train", DataOptions(image_size=size, channels=ch))
    return SearchTask(spec, (ch, size, size), int(ds.num_classes), dict(ev))


def _chosen(search_dir: Path, arch: str | None):
    from ..nas.retrain import best_from_search

    space, best = best_from_search(search_dir)
    return space, (space.from_string(arch) if arch else best)


def export(search_dir: str | Path, out: str | Path, arch: str | None = None) -> Path:
    """The search's best architecture (or ``arch``) as a standalone ``.py`` or a ``.pt``."""
    from ..nas.retrain import export as write

    d = Path(search_dir)
    space, a = _chosen(d, arch)
    task = search_task(d)
    return write(space, a, Path(out), task.input_shape, task.num_classes)


def retrain(search_dir: str | Path, data: str | None = None, epochs: int = 10, arch: str | None = None,
            seed: int = 0, sets: Mapping[str, Any] | None = None, device: str = "auto") -> dict[str, Any]:
    """Train the search's best architecture (or ``arch``) from scratch and test it.

    The search's recipe (optimizer, lr, image size...) unless ``sets`` says otherwise
    (bare ``TrainSettings`` keys or ``evaluator.KEY``); ``data`` another spec
    transfers. Returns ``nas.retrain.retrain``'s result (accuracies in percent).
    """
    from ..nas.evaluators.common import TrainSettings
    from ..nas.retrain import retrain as fit

    d = Path(search_dir)
    space, a = _chosen(d, arch)
    task = search_task(d)
    spec = data or task.data
    if not spec:
        raise ConfigError("this search used a tabular benchmark: give --data SPEC to retrain on real data")
    options = {k: v for k, v in task.recipe.items() if k not in NOT_RETRAINED}
    routed = route_overrides(dict(sets or {}), {"evaluator": TrainSettings()})["evaluator"]
    for key, flag in (("epochs", "--epochs"), ("data_spec", "--data")):
        if key in routed:
            raise ConfigError(f"retrain: give {key} with {flag}, not --set")
    options.update(routed)
    if device != "auto":
        options["device"] = device
    return fit(space, a, spec, epochs=epochs, seed=seed, **options)
