"""``ganas`` command line: argument parsing only; everything it does is the Python API.

Scripts outside the project depend on the sub-command names, flags and JSON keys here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from .config import load_yaml, parse_sets
from .errors import GanasError


# ----------------------------------------------------------------------------- helpers
def _collect_sets(args: argparse.Namespace) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    if getattr(args, "config", None):
        sets.update(load_yaml(args.config))
    sets.update(parse_sets(getattr(args, "set", None) or []))
    return sets


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


# ----------------------------------------------------------------------------- list / describe
def cmd_list(args: argparse.Namespace) -> int:
    from .data import list_datasets
    from .gan import METHODS
    from .nas import EVALUATORS, EXECUTORS, SPACES, STRATEGIES
    from .metrics import FEATURES
    from .nas import evaluators, executors, strategies  # noqa: F401  (they register on import)

    table = {
        "methods": METHODS.describe(),
        "datasets": list_datasets(),
        "spaces": SPACES.describe(),
        "strategies": STRATEGIES.describe(),
        "evaluators": EVALUATORS.describe(),
        "executors": EXECUTORS.describe(),
        "features": FEATURES.describe(),
    }
    if args.json:
        _print_json(table)
        return 0
    for section, entries in table.items():
        print(f"{section}:")
        for name, help_ in entries.items():
            print(f"  {name:<16} {help_}")
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from .gan import create_method

    method = create_method(args.method, _collect_sets(args))
    info = {"method": args.method, "networks": method.describe(),
            "config": dataclasses.asdict(method.config)}
    if args.json:
        _print_json(info)
        return 0
    print(f"{args.method}: {type(method).__doc__.strip().splitlines()[0] if type(method).__doc__ else ''}")
    for net, d in info["networks"].items():
        print(f"  {net}: {d['params']:,} parameters, output {tuple(d['output_shape'])}")
    print("config:")
    for k, v in info["config"].items():
        print(f"  {k} = {v}")
    return 0


# ----------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from .gan import METHODS
    from .runs import train_run

    METHODS.get(args.method)  # unknown method -> error listing the valid ones
    result = train_run(
        method_name=args.method, data_spec=args.data, out_dir=Path(args.out), sets=_collect_sets(args),
        steps=args.steps, device=args.device, seed=args.seed, eval_every=args.eval_every,
        progress=not args.quiet,
    )
    print(f"{result.status} at step {result.step}: {Path(args.out) / 'report.html'}")
    return 0 if result.status == "completed" else 130


def cmd_sample(args: argparse.Namespace) -> int:
    from .runs import sample_run

    path = sample_run(Path(args.run_dir), n=args.n, out=Path(args.out), seed=args.seed, device=args.device)
    print(path)
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from .runs import interpolate_run

    path = interpolate_run(Path(args.run_dir), out=Path(args.out), rows=args.rows, steps=args.steps,
                           seed=args.seed, mode=args.mode, device=args.device)
    print(path)
    return 0


def cmd_arithmetic(args: argparse.Namespace) -> int:
    from .runs import arithmetic_run

    res = arithmetic_run(Path(args.run_dir), out=Path(args.out), a=args.a, b=args.b, c=args.c,
                         seed=args.seed, device=args.device, exemplars=args.exemplars)
    if args.json:
        _print_json(res)
    else:
        print(res["image"])
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .runs import eval_run

    res = eval_run(Path(args.run_dir), n=args.n, device=args.device, seed=args.seed,
                   features=args.features, weights=args.weights)
    if args.json:
        _print_json(res)
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_run_report, write_search_report

    d = Path(args.dir)
    out = write_search_report(d) if (d / "journal.jsonl").exists() else write_run_report(d)
    print(out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .runs import demo

    out = demo(Path(args.out), steps=args.steps, device=args.device, progress=not args.quiet)
    print(f"demo finished: open {out / 'report.html'}")
    return 0


# ----------------------------------------------------------------------------- NAS
def cmd_search(args: argparse.Namespace) -> int:
    from .nas.cli_backend import search_command

    return search_command(args, _collect_sets(args))


def cmd_nas(args: argparse.Namespace) -> int:
    from .nas.cli_backend import nas_command

    return nas_command(args, _collect_sets(args))


# ----------------------------------------------------------------------------- parser
def _add_common(p: argparse.ArgumentParser, sets: bool = True) -> None:
    if sets:
        p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                       help="override a config key (repeatable); `ganas describe METHOD` lists them")
        p.add_argument("--config", metavar="FILE.yaml", help="YAML file of KEY: VALUE overrides")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="ganas", description="GANs and neural architecture search, faithful to the papers.")
    p.add_argument("--version", action="version", version=f"ganas {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("list", help="registered methods, datasets, spaces, strategies")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("describe", help="a method's networks and config")
    s.add_argument("method")
    s.add_argument("--json", action="store_true")
    s.add_argument("--set", action="append", metavar="KEY=VALUE", default=[])
    s.add_argument("--config", metavar="FILE.yaml")
    s.set_defaults(func=cmd_describe)

    s = sub.add_parser("train", help="train a GAN method (resumes when --out holds a run)")
    s.add_argument("method")
    s.add_argument("--data", required=True, help="data spec: shapes, digits, mnist:PATH, folder:PATH, ...")
    s.add_argument("--out", required=True, help="run directory")
    s.add_argument("--steps", type=int, default=None, help="total optimisation steps")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--eval-every", type=int, default=0, help="compute metrics every N steps (0: never)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_common(s)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="a grid of samples from a run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=64)
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("interpolate", help="latent interpolations (rows of z0 -> z1)")
    s.add_argument("run_dir")
    s.add_argument("--out", required=True)
    s.add_argument("--rows", type=int, default=8)
    s.add_argument("--steps", type=int, default=10)
    s.add_argument("--mode", choices=["slerp", "linear"], default="slerp")
    s.add_argument("--seed", type=int, default=0)
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_interpolate)

    s = sub.add_parser("arithmetic", help="latent vector arithmetic: mean z(A) - mean z(B) + mean z(C)")
    s.add_argument("run_dir")
    s.add_argument("--out", required=True)
    s.add_argument("--a", required=True, help="group A by factors, e.g. shape=circle,colour=red")
    s.add_argument("--b", required=True, help="group B, e.g. colour=red")
    s.add_argument("--c", required=True, help="group C, e.g. colour=blue")
    s.add_argument("--exemplars", type=int, default=3, help="latents averaged per group (the paper: 3)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--json", action="store_true")
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_arithmetic)

    s = sub.add_parser("eval", help="FD, coverage, confidence, precision/recall of a run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=2000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--features", default="classifier",
                   help="feature extractor for FD and precision/recall: classifier (default) or inception")
    s.add_argument("--weights", help="local weights file of the inception extractor (or $GANAS_INCEPTION_WEIGHTS)")
    s.add_argument("--json", action="store_true")
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("report", help="(re)write report.html of a run or search directory")
    s.add_argument("dir")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("demo", help="train DCGAN on built-in data and leave samples, curves and a report")
    s.add_argument("--out", default="runs/demo")
    s.add_argument("--steps", type=int, default=None)
    s.add_argument("--quiet", action="store_true")
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("search", help="neural architecture search (resumes when --out holds a search)")
    s.add_argument("--space", required=True)
    s.add_argument("--strategy", required=True)
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--data", help="data spec: train each child (evaluator 'train')")
    g.add_argument("--benchmark", help="tabular benchmark: a NAS-Bench-201 folder, or nats:PATH")
    s.add_argument("--dataset", default="cifar10", help="benchmark dataset: cifar10, cifar100, imagenet16-120")
    s.add_argument("--budget", type=int, required=True, help="number of evaluated architectures")
    s.add_argument("--out", help="search directory (journal, best, report); not with --seeds")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--seeds", help="with --benchmark: one search per seed, e.g. 0-99")
    s.add_argument("--thresholds", help="with --seeds: reported accuracies for queries_to, e.g. 94.0,94.3 "
                   "(default per dataset: cifar10 94.0,94.3; cifar100 72.5,73.0; imagenet16-120 46.0,46.5)")
    s.add_argument("--json", action="store_true")
    _add_common(s)
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("nas", help="work with a finished search: export, retrain")
    nsub = s.add_subparsers(dest="nas_command", required=True, metavar="ACTION")
    e = nsub.add_parser("export", help="write the best architecture as a standalone .py or a .pt checkpoint")
    e.add_argument("dir")
    e.add_argument("--out", required=True)
    e.add_argument("--arch", help="an architecture string instead of the search's best")
    e.set_defaults(func=cmd_nas, set=[], config=None)
    r = nsub.add_parser("retrain", help="train the best architecture from scratch and report test accuracy")
    r.add_argument("dir")
    r.add_argument("--data", help="data spec (default: the search's); another one transfers")
    r.add_argument("--epochs", type=int, default=10)
    r.add_argument("--arch", help="an architecture string instead of the search's best")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--json", action="store_true")
    _add_common(r)
    r.set_defaults(func=cmd_nas)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GanasError as e:
        print(f"ganas: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
