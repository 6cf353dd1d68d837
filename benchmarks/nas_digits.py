"""Architecture search with real child training on the CPU: scikit-learn digits.

For each (space, strategy) pair, a search of ``--budget`` children, each trained for
``--epochs`` epochs (reward: accuracy on a validation split carved from the training
split), then the best architecture retrained from scratch for ``--retrain-epochs`` and
tested on the held-out test split (never seen by the search).

    .venv/bin/python benchmarks/nas_digits.py            # writes a section of docs/benchmarks.md

``pnas`` needs a space with progressive growth: it runs on the ``pnas`` space; on the
``macro`` space (no progressive structure) regularized evolution takes its place.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _docs import write_section

import torch

from ganas.nas import make_space
from ganas.nas.evaluators import TrainEvaluator
from ganas.nas.retrain import retrain
from ganas.nas.search import run_search
from ganas.nas.strategies import make_strategy

SPACES = {
    "macro": {"layers": 4},
    "pnas": {"blocks": 3, "N": 1, "R": 1, "C": 8},
}
STRATEGIES = {"macro": ["random", "reinforce", "evolution"], "pnas": ["random", "reinforce", "pnas"]}
STRATEGY_SETTINGS = {"reinforce": {"batch": 4}, "pnas": {"K": 4, "initial": 8}, "evolution": {}, "random": {}}
RECIPE = {"image_size": 16, "channels": 1, "optimizer": "adam", "batch_size": 64}
MARK_START, MARK_END = "<!-- nas_digits:start -->", "<!-- nas_digits:end -->"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--retrain-epochs", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench-nas-digits")
    ap.add_argument("--doc", default="docs/benchmarks.md")
    args = ap.parse_args()
    rows = []
    t_all = time.time()
    for space_name, settings in SPACES.items():
        for strat in STRATEGIES[space_name]:
            space = make_space(space_name, settings)
            strategy = make_strategy(strat, space, args.seed, STRATEGY_SETTINGS[strat])
            evaluator = TrainEvaluator("digits", epochs=args.epochs, **RECIPE)
            t0 = time.time()
            res = run_search(space, strategy, evaluator, args.budget, Path(args.out) / f"{space_name}-{strat}", args.seed)
            search_s = time.time() - t0
            best = res.best
            rt = retrain(space, res.best_arch, "digits", epochs=args.retrain_epochs, seed=args.seed, **RECIPE)
            row = {"space": space_name, "strategy": strat, "search_s": search_s, "val": 100 * best["reward"],
                   "test": rt["test_acc"], "params": rt["params"], "flops": rt["flops"], "arch": best["arch"],
                   "retrain_s": rt["seconds"]}
            rows.append(row)
            print(row, flush=True)
    wall = time.time() - t_all
    lines = [MARK_START, "## NAS with real child training: digits (CPU)", "",
             f"Command: `.venv/bin/python benchmarks/nas_digits.py` ({wall:.0f} s in all, torch "
             f"{torch.__version__}, {torch.get_num_threads()} threads). Budget {args.budget} children per search, each "
             f"trained {args.epochs} epochs (Adam, batch 64, 16x16 grey) on 90% of the digits training split and "
             f"scored on the other 10%; the best is retrained from scratch for {args.retrain_epochs} epochs on the "
             "whole training split and tested on the held-out test split (359 images). Spaces: "
             f"macro {SPACES['macro']}, pnas {SPACES['pnas']}.", "",
             "| space | strategy | search s | best val. acc. | retrained test acc. | params | multiply-adds |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['space']} | {r['strategy']} | {r['search_s']:.0f} | {r['val']:.1f} | {r['test']:.1f} | "
                     f"{r['params']:,} | {r['flops']:,} |")
    lines += ["", "Best architectures:", ""] + [f"- {r['space']}/{r['strategy']}: `{r['arch']}`" for r in rows]
    lines.append(MARK_END)
    doc = Path(args.doc)
    write_section(doc, MARK_START, MARK_END, "\n".join(lines), default="# Benchmarks\n")


if __name__ == "__main__":
    main()
