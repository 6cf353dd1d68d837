"""What ``ganas search`` and ``ganas nas export|retrain`` do, behind the argument parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from ..config import route_overrides
from ..errors import ConfigError, DataError

#: input shape and class count of the NAS-Bench-201 tasks (CIFAR at 32x32; ImageNet16-120 at 16x16)
BENCHMARK_TASKS = {"cifar10": ((3, 32, 32), 10), "cifar100": ((3, 32, 32), 100),
                   "imagenet16-120": ((3, 16, 16), 120)}


def parse_seeds(text: str) -> list[int]:
    """``"0-99"`` -> [0..99]; ``"1,5,9"``; ``"3"``; ``"0-9,20"``."""
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                cut = part.index("-", 1)
                lo, hi = int(part[:cut]), int(part[cut + 1:])
                if hi < lo:
                    raise ValueError
                out.extend(range(lo, hi + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise ConfigError(f"--seeds expects e.g. 0-99 or 1,2,3; got {text!r}") from None
    if not out:
        raise ConfigError(f"--seeds {text!r} names no seed")
    return out


def _build(args: argparse.Namespace, sets: dict[str, Any]):
    from .evaluators import TabularEvaluator, TrainEvaluator
    from .evaluators.common import TrainSettings
    from .base import SPACES
    from .spaces import make_space
    from .strategies import STRATEGIES, strategy_settings

    SPACES.get(args.space)  # unknown names -> errors listing the valid ones
    STRATEGIES.get(args.strategy)
    targets: dict[str, Any] = {"space": SPACES.get(args.space).factory.Settings(),
                               "strategy": strategy_settings(args.strategy)}
    if not args.benchmark:
        targets["evaluator"] = TrainSettings()
    routed = route_overrides(sets, targets)
    space = make_space(args.space, routed["space"])
    if args.benchmark:
        evaluator = TabularEvaluator(args.benchmark, dataset=args.dataset)
    else:
        evaluator = TrainEvaluator(data_spec=args.data, **routed["evaluator"])
    return space, evaluator, routed


def search_command(args: argparse.Namespace, sets: dict[str, Any]) -> int:
    from ..report import write_search_report
    from .rank_quality import default_thresholds, format_rank_quality, parse_thresholds
    from .search import run_search, run_seeds
    from .strategies import make_strategy

    space, evaluator, routed = _build(args, sets)
    if getattr(args, "thresholds", None) and not args.seeds:
        raise ConfigError("--thresholds goes with --seeds (the multi-seed queries_to figure)")
    if args.seeds:
        if not args.benchmark:
            raise ConfigError("--seeds runs many searches and needs a tabular --benchmark")
        thresholds = (parse_thresholds(args.thresholds) if getattr(args, "thresholds", None)
                      else default_thresholds(evaluator.dataset))
        summary = run_seeds(space, args.strategy, evaluator, args.budget, parse_seeds(args.seeds),
                            routed["strategy"], thresholds=thresholds)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            rep = summary["reported"]
            print(f"{summary['strategy']} on {summary['space']}, budget {summary['budget']}, "
                  f"{summary['seeds']} seeds: {rep['mean']:.2f} +- {rep['std']:.2f}; "
                  f"queries to: {summary['queries_to']}")
            if summary["evaluations"]["max"] < summary["budget"]:
                print(f"the strategy's schedule ended after {summary['evaluations']['max']} evaluations")
            if summary.get("rank_quality"):
                print(format_rank_quality(summary["rank_quality"]))
        return 0
    if not args.out:
        raise ConfigError("ganas search needs --out DIR (or --seeds with --benchmark)")
    strategy = make_strategy(args.strategy, space, args.seed, routed["strategy"])
    result = run_search(space, strategy, evaluator, args.budget, Path(args.out), args.seed)
    write_search_report(Path(args.out))
    best = result.best
    if args.json:
        print(json.dumps({"best": best, "evaluations": len(result.history)}, indent=2))
    else:
        rep = best.get("metrics", {}).get("test_acc")
        extra = f", reported test accuracy {rep:.2f}" if isinstance(rep, (int, float)) else ""
        print(f"best of {len(result.history)} evaluations: {best['arch']} (reward {best['reward']:.4f}{extra})")
        if len(result.history) < args.budget:
            print(f"strategy {args.strategy!r} ended its schedule after {len(result.history)} of {args.budget} evaluations")
        rq = format_rank_quality(json.loads((Path(args.out) / "search.json").read_text()).get("rank_quality"))
        if rq:
            print(rq)
        print(f"report: {Path(args.out) / 'report.html'}")
    return 0


def search_task(search_dir: Path) -> tuple[str | None, tuple[int, int, int], int, dict[str, Any]]:
    """(data spec or None, input shape, class count, evaluator settings) of a search's task."""
    cfg_file = search_dir / "search.yaml"
    if not cfg_file.is_file():
        raise DataError(f"{cfg_file}: not found ({search_dir} is not a search directory)")
    cfg = yaml.safe_load(cfg_file.read_text()) or {}
    ev = cfg.get("evaluator_settings") or {}
    if cfg.get("evaluator") == "tabular":
        shape, classes = BENCHMARK_TASKS[ev.get("dataset", "cifar10")]
        return None, shape, classes, {}
    from ..data import DataOptions, make_dataset

    spec = ev.get("data_spec")
    if not spec:
        raise DataError(f"{cfg_file}: no evaluator data_spec recorded")
    size, ch = int(ev.get("image_size", 32)), int(ev.get("channels", 3))
    ds = make_dataset(spec, "train", DataOptions(image_size=size, channels=ch))
    return spec, (ch, size, size), int(ds.num_classes), ev


def nas_command(args: argparse.Namespace, sets: dict[str, Any]) -> int:
    from .retrain import best_from_search, export, retrain

    d = Path(args.dir)
    space, arch = best_from_search(d)
    if getattr(args, "arch", None):
        arch = space.from_string(args.arch)
    spec, shape, classes, recipe = search_task(d)
    if args.nas_command == "export":
        print(export(space, arch, Path(args.out), shape, classes))
        return 0
    data = args.data or spec
    if not data:
        raise ConfigError("this search used a tabular benchmark: give --data SPEC to retrain on real data")
    # the search's training recipe (optimizer, lr, image size...) unless --set says otherwise
    options = {k: v for k, v in recipe.items() if k not in ("data_spec", "epochs", "val_fraction", "max_train")}
    options.update(sets)
    if args.device != "auto":
        options["device"] = args.device
    res = retrain(space, arch, data, epochs=args.epochs, seed=args.seed, **options)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{res['arch']}: test accuracy {res['test_acc']:.2f}% on {res['data']} "
              f"({res['params']:,} parameters, {res['flops']:,} multiply-adds, {res['seconds']:.0f} s)")
    return 0
