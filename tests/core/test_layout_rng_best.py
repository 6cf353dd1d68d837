"""One place for each thing: file names (ganas.layout), the RNG-state encoding
(ganas.rng), the best-so-far computation (ganas.nas.best), the search.yaml reader."""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from ganas import layout
from ganas.errors import DataError
from ganas.nas.best import BestSoFar, best_so_far, running_best
from ganas.rng import global_rng_state, python_rng_state, set_global_rng_state, set_python_rng_state

SRC = Path(__file__).resolve().parents[2] / "src" / "ganas"


def test_file_names_are_written_once_in_layout() -> None:
    """No module but layout.py spells a run or search file name as a string literal.
    (``samples`` is left out: it is also the name of a method's main visual.)"""
    names = {layout.RUN_CONFIG, layout.METRICS, layout.EVALS, layout.EVAL, layout.REPORT, layout.ORIGIN,
             layout.SEARCH_CONFIG, layout.JOURNAL, layout.STRATEGY_STATE, layout.BEST, layout.SUMMARY,
             layout.BEST_PLOT, layout.CHECKPOINTS, layout.LOSS_CURVES, layout.DEMO_SAMPLES,
             layout.DEMO_INTERPOLATION}
    offenders = []
    for py in SRC.rglob("*.py"):
        if py.name == "layout.py":
            continue
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                offenders.append(f"{py.relative_to(SRC)}:{node.lineno} {node.value!r}")
    assert offenders == []


def test_layout_names_and_steps() -> None:
    assert layout.checkpoint_file("r", 500) == Path("r/checkpoints/step_000500.pt")
    assert layout.sample_file("r", 7) == Path("r/samples/step_000007.png")
    assert layout.step_of("r/checkpoints/step_000500.pt") == 500 and layout.step_of("x.pt") == -1


def test_read_search_config_is_the_one_reader(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="search.yaml: not found"):
        layout.read_search_config(tmp_path)
    assert layout.read_search_config(tmp_path, required=False) == {}
    (tmp_path / "search.yaml").write_text("- a list\n")
    with pytest.raises(DataError, match="search.yaml: expected a mapping"):
        layout.read_search_config(tmp_path)
    (tmp_path / "search.yaml").write_text("space: [unclosed\n")
    with pytest.raises(DataError, match="search.yaml: not valid YAML"):
        layout.read_search_config(tmp_path)
    # the report reads it through the same reader: a broken file is named, not a traceback
    from ganas.report import write_search_report

    with pytest.raises(DataError, match="search.yaml"):
        write_search_report(tmp_path)


def test_one_rng_encoding_for_checkpoints_and_strategies() -> None:
    from ganas.nas import make_space
    from ganas.nas.strategies import make_strategy
    from ganas.train.checkpoint import rng_state

    strat = make_strategy("random", make_space("nb201"), seed=3)
    ours, theirs = rng_state()["python"], strat.state_dict()["python_rng"]
    assert [type(x) for x in ours] == [type(x) for x in theirs]
    assert isinstance(ours[1], torch.Tensor) and ours[1].dtype == torch.int64 and ours[1].shape == (625,)
    assert torch.equal(theirs[1], python_rng_state(strat.rng)[1])


def test_rng_roundtrip_and_the_older_list_encoding(tmp_path: Path) -> None:
    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    state = global_rng_state()
    p = tmp_path / "s.pt"
    torch.save(state, p)
    want = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    set_global_rng_state(torch.load(p, weights_only=True))
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == want
    # checkpoints written before the one encoding stored the python state as a list of ints
    r = random.Random(5)
    version, internal, gauss = r.getstate()
    expected = r.random()
    other = random.Random(0)
    set_python_rng_state(other, [version, list(internal), gauss])
    assert other.random() == expected


def test_running_best_first_of_equals_and_nan() -> None:
    assert running_best([0.3, 0.5, 0.5, 0.4, 0.6]) == [0, 1, 1, 1, 4]
    assert running_best([float("nan"), 0.2, float("nan")]) == [-1, 1, 1]
    assert best_so_far([0.3, 0.1, 0.5]) == [0.3, 0.3, 0.5]
    assert running_best([]) == []
    tracker = BestSoFar()
    assert [tracker.update(r) for r in (0.2, 0.2, 0.1, 0.3)] == [True, False, False, True]
    assert (tracker.index, tracker.best) == (3, 0.3)


def test_search_files_report_and_harness_agree_on_the_best(tmp_path: Path) -> None:
    """Ties: the loop's best.json and curve, the report, the retrain reader and the
    multi-seed harness all return the first of equal rewards."""
    from ganas.nas import make_space
    from ganas.nas.base import EvalResult
    from ganas.nas.retrain import _best_arch_string
    from ganas.nas.search import run_search, run_seeds
    from ganas.nas.strategies import make_strategy
    from ganas.report import write_search_report

    space = make_space("nb201", {"C": 4, "N": 1})

    class Ties:  # two reward levels: many ties; test_acc tells the tied architectures apart
        name = "ties"

        def evaluate(self, sp, arch, seed=0):
            return EvalResult(reward=float(sum(arch) % 2), metrics={"test_acc": float(sum(arch))}, cost={})

    res = run_search(space, make_strategy("random", space, seed=0), Ties(), 12, tmp_path, seed=0)
    journal = [json.loads(x) for x in (tmp_path / layout.JOURNAL).read_text().splitlines()]
    first = next(e for e in journal if e["reward"] == max(r["reward"] for r in journal))
    assert json.loads((tmp_path / layout.BEST).read_text())["i"] == first["i"] == res.best["i"]
    curve = json.loads((tmp_path / layout.SUMMARY).read_text())["curve"]["best_so_far"]
    assert curve == best_so_far([e["reward"] for e in journal])
    assert _best_arch_string(tmp_path) == first["arch"]
    (tmp_path / layout.BEST).unlink()
    assert _best_arch_string(tmp_path) == first["arch"]  # from the journal
    assert first["arch"] in write_search_report(tmp_path).read_text()
    # the harness reports the test_acc of that same first-best architecture
    summary = run_seeds(space, "random", Ties(), 12, [0], report_key="test_acc", thresholds=())
    assert summary["reported"]["mean"] == first["metrics"]["test_acc"]


def test_only_the_cli_parses_arguments_or_prints() -> None:
    """ganas.cli parses and prints; nothing below it (workflows included) does either."""
    offenders = []
    for py in SRC.rglob("*.py"):
        if py.name == "cli.py" and py.parent == SRC:
            continue
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{py.relative_to(SRC)}:{node.lineno} print()")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if "argparse" in mods:
                    offenders.append(f"{py.relative_to(SRC)}:{node.lineno} import argparse")
    assert offenders == []
