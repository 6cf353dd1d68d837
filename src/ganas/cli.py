"""``ganas`` command line: argument parsing and printing only; everything it does is a
function of the Python API, ``ganas.workflows`` (GAN runs and NAS alike).

Scripts outside the project depend on the sub-command names, flags and JSON keys here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import layout
from .config import load_yaml, parse_sets
from .errors import ConfigError, GanasError


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


# ----------------------------------------------------------------------------- GAN runs
def cmd_train(args: argparse.Namespace) -> int:
    from .gan import METHODS
    from .workflows import gan

    if args.method is not None:
        METHODS.get(args.method)  # unknown method -> error listing the valid ones
    if args.nproc is not None and args.nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {args.nproc}")
    if args.nproc and args.nproc > 1:
        from .train.distributed import env_world_size, launch

        if env_world_size() > 1:
            raise ConfigError("--nproc inside a torchrun worker: give either torchrun or --nproc, not both")
        return launch(args.nproc, args.argv)  # the workers run this command without --nproc
    result = gan.train(
        args.method, args.data, Path(args.out), _collect_sets(args), steps=args.steps, device=args.device,
        seed=args.seed, eval_every=args.eval_every, progress=not args.quiet, start_from=args.start_from,
    )
    if os.environ.get("RANK", "0") == "0":  # a torchrun worker other than rank 0 stays quiet
        print(f"{result.status} at step {result.step}: {Path(args.out) / layout.REPORT}")
    return 0 if result.status == "completed" else 130


def cmd_sample(args: argparse.Namespace) -> int:
    from .workflows import gan

    print(gan.sample(Path(args.run_dir), n=args.n, out=Path(args.out), seed=args.seed, device=args.device,
                     texts=args.text))
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from .workflows import gan

    print(gan.interpolate(Path(args.run_dir), out=Path(args.out), rows=args.rows, steps=args.steps,
                          seed=args.seed, mode=args.mode, device=args.device, texts=args.text))
    return 0


def cmd_arithmetic(args: argparse.Namespace) -> int:
    from .workflows import gan

    res = gan.arithmetic(Path(args.run_dir), out=Path(args.out), a=args.a, b=args.b, c=args.c,
                         seed=args.seed, device=args.device, exemplars=args.exemplars)
    if args.json:
        _print_json(res.as_dict())
    else:
        print(res.image)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .workflows import gan

    res = gan.evaluate(Path(args.run_dir), n=args.n, device=args.device, seed=args.seed,
                       features=args.features, weights=args.weights).as_dict()
    if args.json:
        _print_json(res)
    elif "caption_consistency" in res:  # the "text" evaluation (text-to-image)
        _print_text_eval(res)
    else:
        for k, v in res.items():
            print(f"{k}: {v}")
    return 0


def _print_text_eval(res: dict[str, Any]) -> None:
    cc, acc = res.get("caption_consistency"), res.get("classifier_accuracy") or {}
    if cc:
        for f, v in cc.items():
            real = f" (factor classifier on real test images: {acc[f]:.3f})" if f in acc else ""
            print(f"caption consistency, {f}: {v:.3f}{real}")
    for size, r in (res.get("by_size") or {}).items():
        parts = ", ".join(f"{f} {v:.3f} (real {r['real'][f]:.3f})" for f, v in r["generated"].items())
        print(f"  {size} ({r['n']} captions): {parts}")
    conf = res.get("shape_confusion")
    if conf:
        from .metrics.text import per_class_accuracy

        gen, real = per_class_accuracy(conf["generated"]), per_class_accuracy(conf["real"])
        parts = ", ".join(f"{s} {g:.3f} (real {r:.3f})" for s, g, r in zip(conf["shapes"], gen, real) if g is not None)
        print(f"  by shape named: {parts}")
    if res.get("fd") is not None:
        print(f"fd: {res['fd']:.3f} ({res.get('fd_features')})")
    if res.get("r_precision") is not None:
        print(f"r_precision: {res['r_precision']:.3f} (real images: {res['r_precision_real']:.3f}; "
              f"{res['candidates']} candidates)")
    for k, why in (res.get("unavailable") or {}).items():
        print(f"{k}: not available: {why}")
    print(f"n: {res.get('n')}, step: {res.get('step')}")


def cmd_translate(args: argparse.Namespace) -> int:
    from .workflows import translation

    res = translation.translate(args.run_dir, args.input, args.out, direction=args.direction,
                                device=args.device, seed=args.seed, progress=not args.no_progress,
                                target=args.target, grid=args.grid)
    if args.json:
        _print_json(res.as_dict())
    elif res.grid:
        print(f"wrote {len(res.files)} rows of single-domain changes into {res.out_dir}")
    else:
        print(f"translated {len(res.files)} images ({res.direction or 'to ' + str(res.target)}) into {res.out_dir}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .workflows import translation

    ckpt = translation.import_junyanz(args.file, args.method, args.out, _collect_sets(args))
    print(f"imported {args.file} as a {args.method} run: {ckpt}")
    print(f"use it with: ganas translate {args.out} --input DIR --out DIR")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_run_report, write_search_report

    d = Path(args.dir)
    out = write_search_report(d) if (d / layout.JOURNAL).exists() else write_run_report(d)
    print(out)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .workflows import gan

    res = gan.demo(Path(args.out), steps=args.steps, device=args.device, progress=not args.quiet)
    parts = ", ".join(f"{k} {v:.0f} s" for k, v in res.phases.items())
    print(f"demo took {res.seconds:.0f} s ({parts})")
    print(f"demo finished: open {res.report}")
    return 0


# ----------------------------------------------------------------------------- NAS
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


def cmd_search(args: argparse.Namespace) -> int:
    from .workflows import nas

    from .nas.rank_quality import format_rank_quality, parse_thresholds

    sets = _collect_sets(args)
    if args.thresholds and not args.seeds:
        raise ConfigError("--thresholds goes with --seeds (the multi-seed queries_to figure)")
    if args.seeds:
        if not args.benchmark:
            raise ConfigError("--seeds runs many searches and needs a tabular --benchmark")
        summary = nas.search_seeds(args.space, args.strategy, args.benchmark, args.budget,
                                   parse_seeds(args.seeds), dataset=args.dataset, sets=sets,
                                   thresholds=parse_thresholds(args.thresholds) if args.thresholds else None)
        if args.json:
            _print_json(summary)
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
    result = nas.search(args.space, args.strategy, Path(args.out), args.budget, data=args.data,
                        benchmark=args.benchmark, dataset=args.dataset, seed=args.seed, sets=sets,
                        executor=nas.make_executor(args.executor, args.workers, args.ray_address,
                                                   args.child_threads))
    best = result.best
    if args.json:
        _print_json({"best": best, "evaluations": len(result.history)})
    else:
        rep = best.get("metrics", {}).get("test_acc")
        extra = f", reported test accuracy {rep:.2f}" if isinstance(rep, (int, float)) else ""
        print(f"best of {len(result.history)} evaluations: {best['arch']} (reward {best['reward']:.4f}{extra})")
        if len(result.history) < args.budget:
            print(f"strategy {args.strategy!r} ended its schedule after {len(result.history)} of {args.budget} evaluations")
        rq = format_rank_quality(json.loads((Path(args.out) / layout.SUMMARY).read_text()).get("rank_quality"))
        if rq:
            print(rq)
        print(f"report: {Path(args.out) / layout.REPORT}")
    return 0


def cmd_nas(args: argparse.Namespace) -> int:
    from .workflows import nas

    if args.nas_command == "export":
        print(nas.export(Path(args.dir), Path(args.out), arch=args.arch))
        return 0
    res = nas.retrain(Path(args.dir), data=args.data, epochs=args.epochs, arch=args.arch, seed=args.seed,
                      sets=_collect_sets(args), device=args.device)
    if args.json:
        _print_json(res)
    else:
        print(f"{res['arch']}: test accuracy {res['test_acc']:.2f}% on {res['data']} "
              f"({res['params']:,} parameters, {res['flops']:,} multiply-adds, {res['seconds']:.0f} s)")
    return 0


# ----------------------------------------------------------------------------- parser
def _add_common(p: argparse.ArgumentParser, sets: bool = True) -> None:
    if sets:
        p.add_argument("--set", action="append", metavar="KEY=VALUE", default=[],
                       help="override a config key (repeatable); `ganas describe METHOD` lists them")
        p.add_argument("--config", metavar="FILE.yaml", help="YAML file of KEY: VALUE overrides")
    p.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, cuda:1, mps")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .workflows.gan import EVAL_N

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
    s.add_argument("method", nargs="?", help="a registered method (with --from: the source run's by default)")
    s.add_argument("--data", help="data spec: shapes, digits, mnist:PATH, folder:PATH, ... "
                   "(required, unless --from gives the source run's)")
    s.add_argument("--out", required=True, help="run directory")
    s.add_argument("--from", dest="start_from", metavar="RUN_OR_CHECKPOINT",
                   help="start a new run in --out from these trained weights: step 0, fresh optimizers, "
                        "the source's config with --set changes (not ones that change the networks)")
    s.add_argument("--steps", type=int, default=None, help="total optimisation steps")
    s.add_argument("--seed", type=int, default=None)
    s.add_argument("--eval-every", type=int, default=0,
                   help=f"compute metrics every N steps on {EVAL_N} samples, as ganas eval (0: never)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument("--nproc", type=int, default=None, metavar="N",
                   help="train on N local processes with DistributedDataParallel (torchrun --standalone "
                        "--nproc_per_node=N -m ganas train ...): gloo on the CPU, nccl on CUDA; batch_size "
                        "is the global batch")
    _add_common(s)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="a grid of samples from a run")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=64, help="samples (with --text: images per sentence)")
    s.add_argument("--text", action="append", metavar="SENTENCE",
                   help="text-to-image runs (gancls): n images of this sentence, each its own z; repeat for "
                        "one row per sentence (column j shares its z across rows)")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("interpolate", help="latent interpolations (rows of z0 -> z1); with --text A --text B, "
                                           "sentence A -> B")
    s.add_argument("run_dir")
    s.add_argument("--out", required=True)
    s.add_argument("--rows", type=int, default=8)
    s.add_argument("--steps", type=int, default=10)
    s.add_argument("--mode", choices=["slerp", "linear"], default="slerp", help="latent interpolation only")
    s.add_argument("--text", action="append", metavar="SENTENCE",
                   help="text-to-image runs (gancls), given twice: rows of one fixed z each, columns from the "
                        "first sentence's embedding to the second's (linear, as Reed et al. fig. 7)")
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

    s = sub.add_parser("translate", help="translate every image of a folder with a pix2pix/CycleGAN/StarGAN run")
    s.add_argument("run_dir")
    s.add_argument("--input", required=True, help="folder of images (each kept at its own size)")
    s.add_argument("--out", required=True, help="output folder (same file names)")
    s.add_argument("--direction", choices=["AtoB", "BtoA"], help="cyclegan: which generator (default AtoB)")
    s.add_argument("--target", metavar="DOMAIN[,DOMAIN...]",
                   help="stargan: the domains to switch on, e.g. Blond_Hair,Male or colour=red; the rest of each "
                        "image's labels, as D's classifier reads them, stay")
    s.add_argument("--grid", action="store_true",
                   help="stargan: for each input one row: the input, then every single-domain change")
    s.add_argument("--seed", type=int, default=0, help="test-time dropout noise (pix2pix)")
    s.add_argument("--no-progress", action="store_true")
    s.add_argument("--json", action="store_true")
    _add_common(s, sets=False)
    s.set_defaults(func=cmd_translate)

    s = sub.add_parser("import", help="turn a generator saved by reference code into a ganas run")
    s.add_argument("source", choices=["junyanz"], help="junyanz: pytorch-CycleGAN-and-pix2pix")
    s.add_argument("file", help="latest_net_G.pth (pix2pix) or latest_net_G_A.pth / _G_B.pth (cyclegan)")
    s.add_argument("--method", required=True, choices=["pix2pix", "cyclegan"])
    s.add_argument("--out", required=True, help="the run directory to create")
    _add_common(s)
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("eval", help="a run's evaluation: FD, coverage, precision/recall (generators); "
                                    "L1, PSNR, SSIM, sharpness, FD, factor accuracy (translation)")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=EVAL_N, help=f"samples (default {EVAL_N}, as --eval-every)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--features", default=None,
                   help="feature extractor for FD and precision/recall: classifier (default for generators; "
                        "labelled data), selfsup (trained without labels on the dataset itself; default for "
                        "translations, on the target domain) or inception")
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
    s.add_argument("--executor", default="local", choices=["local", "ray"],
                   help="where children are evaluated: in-process, or Ray workers (pip install ganas[ray])")
    s.add_argument("--workers", type=int, default=None, help="children evaluated at once (local: threads; default 1; ray: 2)")
    s.add_argument("--ray-address", default=None,
                   help="join a running Ray cluster: auto or HOST:PORT (default: a local instance in --out)")
    s.add_argument("--child-threads", type=int, default=1, help="torch threads (and Ray CPUs) per child")
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
    args.argv = list(sys.argv[1:] if argv is None else argv)  # ganas train --nproc relaunches it
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
