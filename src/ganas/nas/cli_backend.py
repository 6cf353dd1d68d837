"""What ``ganas search`` and ``ganas nas export|retrain`` do, behind the argument parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..config import route_overrides
from ..errors import ConfigError


def parse_seeds(text: str) -> list[int]:
    """``"0-99"`` -> [0..99]; ``"1,5,9"``; ``"3"``."""
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (part, part)
                out.extend(range(int(lo), int(hi) + 1))
            elif part:
                out.append(int(part))
    except ValueError:
        raise ConfigError(f"--seeds expects e.g. 0-99 or 1,2,3; got {text!r}") from None
    if not out:
        raise ConfigError(f"--seeds {text!r} names no seed")
    return out


def _build(args: argparse.Namespace, sets: dict[str, Any]):
    from .evaluators import make_evaluator
    from .spaces import SPACES, make_space
    from .strategies import STRATEGIES, make_strategy, strategy_config

    SPACES.get(args.space)
    STRATEGIES.get(args.strategy)
    if args.benchmark:
        ev_name, ev_kwargs = "tabular", {"path": args.benchmark, "dataset": args.dataset}
    else:
        ev_name, ev_kwargs = "train", {"data_spec": args.data}
    from .evaluators import evaluator_config

    targets = {"space": SPACES.get(args.space).factory.Settings(), "strategy": strategy_config(args.strategy),
               "evaluator": evaluator_config(ev_name)}
    routed = route_overrides(sets, targets)
    space = make_space(args.space, routed["space"])
    evaluator = make_evaluator(ev_name, **ev_kwargs, overrides=routed["evaluator"])
    return space, evaluator, routed


def search_command(args: argparse.Namespace, sets: dict[str, Any]) -> int:
    from ..report import write_search_report
    from .search import run_search, run_seeds
    from .strategies import make_strategy

    space, evaluator, routed = _build(args, sets)
    if args.seeds:
        if not args.benchmark:
            raise ConfigError("--seeds runs many searches and needs a tabular --benchmark")
        summary = run_seeds(space, args.strategy, evaluator, args.budget, parse_seeds(args.seeds),
                            routed["strategy"])
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            rep = summary["reported"]
            print(f"{summary['strategy']} on {summary['space']}, budget {summary['budget']}, {summary['seeds']} seeds: "
                  f"{rep['mean']:.2f} +- {rep['std']:.2f}; queries to {summary['queries_to']}")
        return 0
    if not args.out:
        raise ConfigError("ganas search needs --out DIR (or --seeds with --benchmark)")
    strategy = make_strategy(args.strategy, space, args.seed, routed["strategy"])
    meta = {"space": args.space, "strategy": args.strategy, "benchmark": args.benchmark, "data": args.data,
            "dataset": args.dataset if args.benchmark else None, "settings": routed}
    result = run_search(space, strategy, evaluator, args.budget, Path(args.out), args.seed, meta=meta)
    write_search_report(Path(args.out))
    best = result.best
    if args.json:
        print(json.dumps({"best": best, "evaluations": result.evaluations}, indent=2))
    else:
        print(f"best after {result.evaluations} evaluations: {best['arch']} (reward {best['reward']:.4g})")
        print(f"report: {Path(args.out) / 'report.html'}")
    return 0


def nas_command(args: argparse.Namespace, sets: dict[str, Any]) -> int:
    from .retrain import best_from_search, export, retrain

    space, arch, meta = best_from_search(Path(args.dir))
    if getattr(args, "arch", None):
        arch = space.from_string(args.arch)
    if args.nas_command == "export":
        path = export(space, arch, Path(args.out), meta=meta)
        print(path)
        return 0
    data = args.data or meta.get("data")
    if not data:
        raise ConfigError("this search used a tabular benchmark: give --data SPEC to retrain on real data")
    res = retrain(space, arch, data, epochs=args.epochs, seed=args.seed, device=args.device, overrides=sets)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    return 0
