"""pix2pix and CycleGAN: quality after a fixed CPU budget (issue 7, sec. 6).

Each task trains with the project's trainer (``ganas.workflows.gan.train``, batch 1, the
papers' losses and Adam settings, junyanz's jitter) for a budget of *process CPU
seconds* (one thread), then runs the evaluation ``ganas eval`` runs
(``workflows.gan.evaluate``: L1, PSNR, SSIM, sharpness, FD of the translations against
the real targets with its floor, and on the built-in tasks the shape/colour factor
classifiers on the translations and on the real targets), and writes a sample grid
(rows of input | output | target, the first test items) to ``docs/img/translation_<task>.png``.

The budget: a first ``--probe`` steps measure the CPU cost per step, then the run resumes
(bit-identical) up to the step count the rest of the budget affords at that cost, again
until less than ``--probe / 2`` steps' worth is left (the first chunk's cost includes the
trainer's start-up, so its estimate is high). NOTE: the facades, edges2photo and
label2photo figures in docs/benchmarks.md were measured with a single resume after the
probe, which left a third of their budget unused; their CPU seconds are the ones spent. The learning rate stays at its initial
value (the schedules' constant first ``n_epochs``: every budget here is under one epoch
of decay-free training). Networks are narrower than the papers' (``TASKS``: ``ngf``,
``ndf``) to fit a CPU budget; everything else is the paper default.

    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/translation_quality.py --tasks facades --budget 360
    OMP_NUM_THREADS=1 PYTHONPATH=src python benchmarks/translation_quality.py --write-docs

Results accumulate in ``--out``/results.json (one entry per task), so tasks can run one
at a time; ``--write-docs`` rewrites the table in docs/benchmarks.md from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _docs import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: ``../shared/data/facades`` from the main checkout (a worktree sits one level deeper)
FACADES = next((p for p in (ROOT.parent / "shared/data/facades", ROOT.parents[1] / "shared/data/facades")
                if p.is_dir()), ROOT.parent / "shared/data/facades")
TRAIN_SETS = {"sample_every": 0, "checkpoint_every": 0, "log_every": 50, "num_workers": 0}

#: task -> method, data spec, --set overrides, test items evaluated
TASKS: dict[str, dict[str, Any]] = {
    "facades": {"method": "pix2pix", "data": f"aligned:{FACADES}", "n_test": 106,
                "sets": {"image_size": 128, "ngf": 32, "ndf": 32, "direction": "BtoA"},
                "what": "facades labels -> photo (400 train / 106 test pairs), 128 px"},
    "edges2photo": {"method": "pix2pix", "data": "shapes?task=edges2photo&n=5000", "n_test": 500,
                    "sets": {"image_size": 64, "ngf": 32, "ndf": 32},
                    "what": "built-in shapes edges -> photo (5,000 train scenes), 64 px"},
    "label2photo": {"method": "pix2pix", "data": "shapes?task=label2photo&n=5000", "n_test": 500,
                    "sets": {"image_size": 64, "ngf": 32, "ndf": 32},
                    "what": "built-in shapes label map -> photo (5,000 train scenes), 64 px"},
    "day2night": {"method": "cyclegan", "data": "shapes?task=day2night&n=5000", "n_test": 500,
                  "sets": {"image_size": 64, "ngf": 16, "ndf": 16},
                  "what": "built-in shapes day -> night, unpaired (5,000 + 5,000 train scenes), 64 px, "
                          "scored against the hidden pairs"},
}
START, END = "<!-- translation_quality:start -->", "<!-- translation_quality:end -->"


def train_for_budget(task: dict[str, Any], out: Path, budget: float, probe: int, seed: int) -> dict[str, Any]:
    from ganas.workflows import gan

    sets = {**task["sets"], **TRAIN_SETS}
    t0 = time.process_time()
    steps, done, used_before = probe, 0, 0.0
    while True:  # resume (bit-identical) in chunks sized by the last chunk's cost per step
        gan.train(task["method"], task["data"], out, sets, steps=steps, device="cpu", seed=seed, progress=False)
        used = time.process_time() - t0
        per_step = (used - used_before) / (steps - done)
        more = int((budget - used) / per_step)
        if more < max(10, probe // 2):
            break
        done, used_before, steps = steps, used, steps + more
    return {"steps": steps, "train_cpu_s": round(time.process_time() - t0, 1), "budget_cpu_s": budget}


def sample_grid(run: Path, data: str, path: Path, rows: int = 4) -> Path:
    """Rows of input | output | target for the first ``rows`` test items."""
    from ganas.data import make_dataset
    from ganas.gan.image_translation import rows as columns
    from ganas.images import save_grid
    from ganas.workflows.gan import data_options, load_run
    from ganas.workflows.translation import translation_triples

    _, method, _ = load_run(run, "cpu")
    ds = make_dataset(data, "test", data_options(type(method), method.config))
    items = [ds[i] for i in range(rows)]
    batch = {k: torch.stack([it[k] for it in items]) for k in ("A", "B", "B_true") if k in items[0]}
    fn, _ = translation_triples(method, torch.device("cpu"))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # pix2pix's test-time dropout noise, as ganas eval seeds it
        x, y_hat, y = fn(batch)
    return save_grid(columns(x.float(), y_hat.float().cpu(), y.float()), path, nrow=3)


def run_task(name: str, args: argparse.Namespace, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    from ganas.workflows import gan

    task = TASKS[name]
    out = Path(args.out) / name
    res: dict[str, Any] = {"task": name, "what": task["what"], "method": task["method"], "data": task["data"],
                           "sets": task["sets"]}
    if previous is not None:  # --reeval: the trained run again, with the current evaluation
        res.update({k: previous[k] for k in ("steps", "train_cpu_s", "budget_cpu_s")})
    elif out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists: remove it to rerun task {name} (or --reeval it)")
    else:
        res.update(train_for_budget(task, out, args.budget, args.probe, args.seed))
    t0 = time.process_time()
    ev = gan.evaluate(out, n=task["n_test"], device="cpu")
    res["eval_cpu_s"] = round(time.process_time() - t0, 1)
    res["eval"] = ev.metrics
    grid = sample_grid(out, task["data"], Path(args.grids) / f"translation_{name}.png")
    res["grid"] = str(grid)
    return res


def _f(v: Any, nd: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{nd}f}"


def table(results: dict[str, Any]) -> str:
    lines = ["| task | method | steps (CPU s) | L1 | PSNR (dB) | SSIM | sharpness | FD (floor) "
             "| shape acc. (real) | colour acc. (real) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in TASKS:
        r = results.get(name)
        if r is None:
            continue
        e = r["eval"]
        fa, ca = e.get("factor_accuracy") or {}, e.get("classifier_accuracy") or {}
        acc = [f"{_f(fa[g], 2)} ({_f(ca[g], 2)})" if g in fa else "n/a" for g in ("shape", "colour")]
        lines.append(f"| {name} | {r['method']} | {r['steps']} ({r['train_cpu_s']:.0f}) | {_f(e['L1'])} "
                     f"| {_f(e['PSNR'], 2)} | {_f(e['SSIM'])} | {_f(e['sharpness'], 2)} "
                     f"| {_f(e['fd'], 2)} ({_f(e['fd_real_floor'], 2)}) | {acc[0]} | {acc[1]} |")
    return "\n".join(lines)


def write_docs(results: dict[str, Any]) -> None:
    block = f"{START}\n{table(results)}\n{END}"
    write_section(ROOT / "docs" / "benchmarks.md", START, END, block)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", choices=list(TASKS), default=[])
    ap.add_argument("--budget", type=float, default=360.0, help="training CPU seconds per task")
    ap.add_argument("--probe", type=int, default=40, help="steps that measure the cost of a step")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench-translation")
    ap.add_argument("--reeval", nargs="+", choices=list(TASKS), default=[],
                    help="evaluate these tasks' trained runs again (keeps their training figures)")
    ap.add_argument("--grids", default="docs/img", help="folder of the sample grids")
    ap.add_argument("--write-docs", action="store_true", help="rewrite the table in docs/benchmarks.md")
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.chdir(ROOT)  # the data specs are relative to the repository root
    path = Path(args.out) / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in args.tasks + args.reeval:
        results[name] = run_task(name, args, results[name] if name in args.reeval else None)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))
        print(json.dumps(results[name], indent=1), flush=True)
    if args.write_docs:
        write_docs(results)
    print(table(results))


if __name__ == "__main__":
    main()
