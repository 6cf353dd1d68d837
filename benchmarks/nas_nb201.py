"""NAS-Bench-201 protocol for the search strategies, every figure labelled by what ran.

Protocol (Dong & Yang 2020; NATS-Bench, Dong et al. 2021): every search gets a budget
of queries; a strategy sees only the 12-epoch validation accuracy of the cells it
queries; the reported figure is the 200-epoch TEST accuracy of the cell it returns
(the best by the search signal), as mean +- std over seeds. ``queries_to[t]`` is the
median number of queries a seed needed before the returned cell reported >= t.

Parts (``--parts``, default all):

- ``tune``: the strategies we tuned (only ``predictor_local``) are tuned on CIFAR-100,
  seeds 0..29 (``--tune-seeds``), a small grid (``TUNE_GRID``); the best mean test
  accuracy wins. Nothing else is tuned: the other settings are the papers' or the
  NB201 reference code's.
- ``main``: (rows merged into ``--results``, then ``render`` writes the section from
  all rows: the work may be split over processes by ``--datasets``/``--variants``)
  budget 100 (``--budget``), seeds 1000.. (``--seeds``, default 100), on
  CIFAR-10, CIFAR-100 and ImageNet16-120. ``predictor_local`` is reported on CIFAR-10
  and ImageNet16-120 (datasets and seeds disjoint from its tuning); its CIFAR-100 row
  is marked as the tuning dataset. PNAS's per-stage predictor rank quality (Spearman
  over every candidate ranked, looked up in the table afterwards) is averaged over
  the seeds.
- ``long``: CIFAR-10, longer budgets (``LONG_BUDGET``), ``--long-seeds`` seeds.

Variants (``VARIANTS``; documented in docs/benchmarks_nas.md):

- random: uniform, no repeats.
- evolution: population 10, tournament 3 (Real et al. 2019; NB201's setting).
- reinforce-table: the NB201 reference settings (D-X-Y/AutoDL-Projects
  exps/NATS-algos/reinforce.py): a table policy (independent logits per edge, no
  LSTM), Adam lr 0.01, EMA baseline momentum 0.9 updated before the advantage, one
  architecture per update, the reward in percent and not cubed (``reward_scale=100``,
  ``reward_power=1``).
- reinforce-lstm: ganas's defaults, Zoph & Le 2017: 2x35 LSTM controller, Adam 6e-4,
  8 architectures per update, EMA baseline 0.95, the reward cubed.
- pnas: the paper's schedule (Liu et al. 2018) with the beam that fills the budget:
  all 5 level-1 cells, then K=47 per level (5 + 47 + 47 = 99 queries); then it stops.
- pnas-K10: the default beam, K=10 (25 queries; the schedule ends there).
- predictor_local: PNAS's levels with K from tuning, then predictor-ranked
  refinement over the last level's expansions and the neighbours of the K best.

Run:  OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/nas_nb201.py
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ganas.nas import make_space
from ganas.nas.evaluators import TabularEvaluator
from ganas.nas.rank_quality import DEFAULT_THRESHOLDS
from ganas.nas.search import run_seeds

# label -> (strategy, settings, what ran)
VARIANTS: dict[str, tuple[str, dict[str, str], str]] = {
    "random": ("random", {}, "uniform, no repeats"),
    "evolution": ("evolution", {"population": "10", "sample": "3"}, "regularized evolution, population 10, tournament 3"),
    "reinforce-table": ("reinforce", {"controller": "table", "lr": "0.01", "baseline_decay": "0.9",
                                      "baseline_order": "before", "batch": "1", "reward_scale": "100",
                                      "reward_power": "1"},
                        "REINFORCE, NB201's table policy and reference settings (not ganas's default)"),
    "reinforce-lstm": ("reinforce", {}, "REINFORCE, ganas's default: Zoph & Le's LSTM controller, reward cubed"),
    "pnas": ("pnas", {"K": "47"}, "PNAS, the paper's schedule, K=47 (5 + 47 + 47 = 99 queries)"),
    "pnas-K10": ("pnas", {"K": "10"}, "PNAS, the paper's schedule, default K=10 (25 queries)"),
    "predictor_local": ("predictor_local", {}, "predictor_local (not in a paper), settings from tuning"),
}
TUNED = {"predictor_local"}
TUNE_DATASET = "cifar100"
# the grid tried for predictor_local (every other setting at its default)
TUNE_GRID: list[dict[str, str]] = [{"K": "5"}, {"K": "10"}, {"K": "20"}, {"K": "10", "explore": "1"}]
PUBLISHED = {("cifar10", "random"): "93.70 ± 0.36", ("cifar10", "reinforce-table"): "93.85 ± 0.37",
             ("cifar10", "evolution"): "~93.9 ± 0.3"}
LONG_BUDGET = {"random": 2000, "evolution": 1000, "reinforce-table": 2000, "reinforce-lstm": 2000,
               "pnas": 200, "predictor_local": 200}
LONG_SETTINGS = {"pnas": {"K": "97"}}  # 5 + 97 + 97 = 199 queries
MARK = {"tune": ("<!-- nas_nb201_tune:start -->", "<!-- nas_nb201_tune:end -->"),
        "main": ("<!-- nas_nb201:start -->", "<!-- nas_nb201:end -->"),
        "long": ("<!-- nas_nb201_long:start -->", "<!-- nas_nb201_long:end -->")}


def _fmt_q(v: float | None) -> str:
    return "—" if v is None else f"{v:g}"


def _acc(r: dict[str, Any]) -> str:
    return f"{r['reported']['mean']:.2f} ± {r['reported']['std']:.2f}"


def _rho(v: dict[str, float] | None) -> str:
    return "—" if v is None else f"{v['mean']:.2f} ± {v['std']:.2f}"


def _header(args: argparse.Namespace, part: str, wall: float) -> list[str]:
    return [f"Command: `OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/nas_nb201.py {args.cmdline}` "
            f"(part `{part}`: {wall:.0f} s on {platform.machine()} CPU, one thread, shared with other jobs; "
            f"python {platform.python_version()}, torch {torch.__version__}).", ""]


def tune(args: argparse.Namespace, space: Any) -> tuple[dict[str, str], list[str]]:
    ev = TabularEvaluator(args.data, dataset=TUNE_DATASET)
    seeds = range(0, args.tune_seeds)
    t0 = time.perf_counter()
    rows = []
    for settings in TUNE_GRID:
        r = run_seeds(space, "predictor_local", ev, args.budget, seeds, settings, thresholds=())
        rows.append((settings, r))
        print(f"tune {TUNE_DATASET} predictor_local {settings}: {_acc(r)}", flush=True)
    best = max(rows, key=lambda sr: sr[1]["reported"]["mean"])[0]
    wall = time.perf_counter() - t0
    lines = [MARK["tune"][0], "### Tuning protocol (predictor_local)", ""] + _header(args, "tune", wall) + [
        f"Tuned on {TUNE_DATASET}, seeds 0..{args.tune_seeds - 1}, budget {args.budget}; reported elsewhere on "
        "CIFAR-10 and ImageNet16-120 with seeds 1000.. (disjoint datasets and seeds). Every other setting at its "
        "default (MLP ensemble of 5, 100 epochs, partial-cell encoding, neighbours radius 1). Chosen: "
        f"`{best}`.", "",
        "| settings | CIFAR-100 test acc. (tuning seeds) |", "|---|---|"]
    for settings, r in rows:
        lines.append(f"| `{settings}`{' **(chosen)**' if settings == best else ''} | {_acc(r)} |")
    lines.append(MARK["tune"][1])
    return best, lines


def main_part(args: argparse.Namespace, space: Any, tuned: dict[str, dict[str, str]]) -> list[dict]:
    """Run the main rows of ``args.datasets`` x ``args.variants``; each row is merged into
    the results file as it finishes (several processes may share the work)."""
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = []
    for ds in args.datasets:
        ev = TabularEvaluator(args.data, dataset=ds)
        for label in args.variants:
            name, settings, _ = VARIANTS[label]
            settings = {**settings, **tuned.get(label, {})}
            t0 = time.perf_counter()
            r = run_seeds(space, name, ev, args.budget, seeds, settings, thresholds=DEFAULT_THRESHOLDS[ds])
            r.update(dataset=ds, label=label, settings=settings, wall=time.perf_counter() - t0,
                     first_seed=args.first_seed, command=args.cmdline)
            rows.append(r)
            _merge_result(Path(args.results), r)
            print(f"{ds:15s} {label:16s} {_acc(r)}  queries_to {r['queries_to']}  evaluations "
                  f"{r['evaluations']['max']}  {r['seconds_per_search'] * 1e3:.0f} ms/search", flush=True)
    return rows


def _locked(path: Path):
    lock = open(str(path) + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def _merge_result(path: Path, row: dict) -> None:
    with _locked(path):
        old = json.loads(path.read_text()) if path.exists() else []
        old = [r for r in old if (r["dataset"], r["label"]) != (row["dataset"], row["label"])]
        path.write_text(json.dumps(old + [row], indent=1) + "\n")


def render_main(args: argparse.Namespace) -> list[str]:
    """The main section from every row in the results file (in VARIANTS order)."""
    path = Path(args.results)
    rows = json.loads(path.read_text()) if path.exists() else []
    order = {(ds, lb): (i, j) for i, ds in enumerate(DEFAULT_THRESHOLDS) for j, lb in enumerate(VARIANTS)}
    rows.sort(key=lambda r: order.get((r["dataset"], r["label"]), (99, 99)))
    n_seeds = sorted({(r["seeds"], r["first_seed"]) for r in rows})
    wall = sum(r["wall"] for r in rows)
    cmds = sorted({r["command"] for r in rows})
    lines = [MARK["main"][0], "## NAS-Bench-201: search strategies (tabular, 200-epoch test accuracy)", "",
             "Commands: " + "; ".join(f"`OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/nas_nb201.py {c}`" for c in cmds)
             + f" ({wall:.0f} s of searches in all, {platform.machine()} CPU, one thread per process, shared with "
             f"other jobs; python {platform.python_version()}, torch {torch.__version__}).", "",
             f"Protocol: budget {args.budget} queries; the strategy sees the 12-epoch validation accuracy; "
             "reported is the 200-epoch test accuracy of the returned cell (best by validation), "
             "mean ± std over the seeds " + ", ".join(f"{f}..{f + n - 1}" for n, f in n_seeds) + ". "
             "`queries to t`: median number of queries before the returned cell reports ≥ t "
             "(— where fewer than half of the seeds get there). `queries`: evaluations a search used "
             "(PNAS's schedule may end before the budget).", "",
             "| dataset | variant (what ran) | seeds | test acc. | published | queries | queries to t1 | queries to t2 | ms / search |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q = list(r["queries_to"].items())
        (t1, q1), (t2, q2) = q[0], q[1]
        label = f"`{r['label']}`: {VARIANTS[r['label']][2]}"
        if r["label"] in TUNED:
            label += f" `{r['settings']}`" + (" (**tuning dataset**)" if r["dataset"] == TUNE_DATASET else "")
        lines.append(f"| {r['dataset']} | {label} | {r['seeds']} | {_acc(r)} "
                     f"| {PUBLISHED.get((r['dataset'], r['label']), '')} "
                     f"| {r['evaluations']['max']} | {_fmt_q(q1)} (t={t1}) | {_fmt_q(q2)} (t={t2}) "
                     f"| {r['seconds_per_search'] * 1e3:.0f} |")
    rq = [r for r in rows if r.get("rank_quality")]
    if rq:
        lines += ["", "Predictor rank quality: per stage, Spearman correlation between the predictor's "
                  "prediction and the table's value over EVERY candidate the stage ranked (not only the K "
                  "evaluated), mean ± std over the seeds (`rank_quality` in the `--seeds` JSON "
                  "and in a search's search.json). Level 4 = predictor_local's refinement stages (the first "
                  "and the last shown).", "",
                  "| dataset | variant | stage (level) | candidates ranked | ρ vs 12-epoch val. (the target) | ρ vs 200-epoch test |",
                  "|---|---|---|---|---|---|"]
        for r in rq:
            stages = r["rank_quality"]
            shown = stages if len(stages) <= 3 else stages[:3] + [stages[-1]]
            for s in shown:
                lines.append(f"| {r['dataset']} | {r['label']} | {s['stage']} ({s['level']}) | {s['ranked']:.0f} "
                             f"| {_rho(s['spearman'])} | {_rho(s['spearman_test'])} |")
    lines.append(MARK["main"][1])
    return lines


def long_part(args: argparse.Namespace, space: Any, tuned: dict[str, dict[str, str]]) -> list[str]:
    ev = TabularEvaluator(args.data, dataset="cifar10")
    seeds = range(args.first_seed, args.first_seed + args.long_seeds)
    t0 = time.perf_counter()
    rows = []
    for label in args.variants:
        if label not in LONG_BUDGET:
            continue
        name, settings, _ = VARIANTS[label]
        settings = {**settings, **tuned.get(label, {}), **LONG_SETTINGS.get(label, {})}
        r = run_seeds(space, name, ev, LONG_BUDGET[label], seeds, settings, thresholds=(94.0, 94.3))
        r.update(label=label, settings=settings)
        rows.append(r)
        print(f"long cifar10 {label:16s} budget {LONG_BUDGET[label]}: queries_to {r['queries_to']} "
              f"({r['seconds_per_search']:.2f} s/search)", flush=True)
    wall = time.perf_counter() - t0
    lines = [MARK["long"][0], "### Longer budgets, CIFAR-10", ""] + _header(args, "long", wall) + [
        f"{args.long_seeds} seeds ({args.first_seed}..{args.first_seed + args.long_seeds - 1}): median queries "
        "until the returned cell reports ≥ 94.0 / ≥ 94.3 (— : fewer than half of the seeds within the budget; "
        "94.37 is the best of the 15,625 cells).", "",
        "| variant | settings | budget | queries used | queries to 94.0 | queries to 94.3 | test acc. at the end |",
        "|---|---|---|---|---|---|---|"]
    for r in rows:
        q = r["queries_to"]
        lines.append(f"| {r['label']} | `{r['settings']}` | {r['budget']} | {r['evaluations']['max']} "
                     f"| {_fmt_q(q['94.0'])} | {_fmt_q(q['94.3'])} | {_acc(r)} |")
    lines.append(MARK["long"][1])
    return lines


def _write(path: Path, part: str, lines: list[str]) -> None:
    """Replace (or append) the part's marked section of ``path``, under a file lock
    (the parts may run as separate processes)."""
    start, end = MARK[part]
    section = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        old = path.read_text() if path.exists() else "# Benchmarks: NAS\n"
        if start in old and end in old:
            new = old[: old.index(start)] + section + old[old.index(end) + len(end) + 1:]
        else:
            new = old.rstrip("\n") + "\n\n" + section
        path.write_text(new)
    print(f"wrote part {part} to {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "nas-bench-201"))
    ap.add_argument("--parts", default="tune,main,long", help="comma-separated: tune, main, long, render")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {', '.join(VARIANTS)}")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--tune-seeds", type=int, default=30)
    ap.add_argument("--long-seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--tuned", help="JSON file of tuned settings (written by part tune; read by main/long)",
                    default="benchmarks/nas_nb201_tuned.json")
    ap.add_argument("--datasets", default=",".join(DEFAULT_THRESHOLDS), help="main part: comma-separated datasets")
    ap.add_argument("--results", default="benchmarks/nas_nb201_results.json",
                    help="main part: rows are merged here; the section is rendered from all of them")
    ap.add_argument("--out", default="docs/benchmarks_nas.md")
    args = ap.parse_args(argv)
    args.cmdline = " ".join(argv if argv is not None else sys.argv[1:])
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in args.variants:
        if v not in VARIANTS:
            ap.error(f"unknown variant {v!r}; valid: {', '.join(VARIANTS)}")
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for d in args.datasets:
        if d not in DEFAULT_THRESHOLDS:
            ap.error(f"unknown dataset {d!r}; valid: {', '.join(DEFAULT_THRESHOLDS)}")
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    torch.set_num_threads(1)
    space = make_space("nb201", None)
    tuned_file = Path(args.tuned)
    tuned: dict[str, dict[str, str]] = json.loads(tuned_file.read_text()) if tuned_file.exists() else {}
    if "tune" in parts:
        best, lines = tune(args, space)
        tuned["predictor_local"] = best
        tuned_file.write_text(json.dumps(tuned, indent=2) + "\n")
        _write(Path(args.out), "tune", lines)
    if ("main" in parts or "long" in parts) and "predictor_local" in args.variants and "predictor_local" not in tuned:
        ap.error(f"predictor_local is reported with tuned settings: run part 'tune' first (no {tuned_file})")
    if "main" in parts:
        main_part(args, space, tuned)
    if "main" in parts or "render" in parts:
        _write(Path(args.out), "main", render_main(args))
    if "long" in parts and args.long_seeds > 0:
        _write(Path(args.out), "long", long_part(args, space, tuned))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
