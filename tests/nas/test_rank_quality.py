"""Predictor rank quality on a table (ganas.nas.rank_quality) and the --thresholds option."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pytest
from scipy.stats import spearmanr

from ganas.errors import ConfigError
from ganas.nas.evaluators import TabularEvaluator
from ganas.nas.rank_quality import (default_thresholds, format_rank_quality, mean_rank_quality, parse_thresholds,
                                    rank_quality)
from ganas.nas.search import run_search, run_seeds
from ganas.nas.strategies import make_strategy

try:  # tests/nas is on sys.path (pytest's default import mode, no __init__.py)
    import test_strategies_toy as toy
except ImportError:  # tests/nas became a package
    from . import test_strategies_toy as toy  # type: ignore[no-redef]

PNAS = {"K": "4", "epochs": "20", "members": "2", "hidden": "8"}


def _val(arch: tuple) -> float:  # percent, the search signal
    return 0.9 * toy.toy_reward(arch)


def _test(arch: tuple) -> float:  # the "reported" accuracy: correlated, not identical
    return _val(arch) - 3.0 * (arch[5] % 2)


def write_tables(d: Path, rows: Iterable[tuple[str, list[str], list[str]]]) -> Path:
    """The NAS-Bench-201 file layout: per architecture string, the 12-epoch columns
    (c10 test, c10 val, c100 test, c100 val, imagenet test, imagenet val) and the
    200-epoch test accuracies (c10, c100, imagenet)."""
    with (d / "nb201_hp12_val_test_acc.csv").open("w", newline="") as f12, \
            (d / "nats_tss_200ep_test_acc.csv").open("w", newline="") as f200:
        w12, w200 = csv.writer(f12), csv.writer(f200)
        w12.writerow(["index", "arch_str", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val",
                      "imagenet-test", "imagenet-val"])
        w200.writerow(["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs",
                       "ImageNetTestAccuracy200Epochs", "ArchitectureString"])
        for i, (s, hp12, hp200) in enumerate(rows):
            w12.writerow([i, s, *hp12])
            w200.writerow([*hp200, s])
    return d


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> TabularEvaluator:
    """Every toy architecture (4**6) in the NAS-Bench-201 file layout."""
    space = toy.ToySpace()
    rows = ((space.to_string(a), ["50", f"{_val(a):.4f}", "50", "50", "25", "25"], [f"{_test(a):.4f}", "60", "30"])
            for a in space.enumerate())
    return TabularEvaluator(write_tables(tmp_path_factory.mktemp("toy_table"), rows), expected_rows=None)


def test_each_stage_is_scored_over_every_candidate_it_ranked(table: TabularEvaluator) -> None:
    space = toy.ToySpace()
    s = make_strategy("pnas", space, seed=0, overrides=PNAS)
    for _ in range(s.schedule_length()):
        a = s.ask()
        s.tell(a, table.evaluate(space, a).reward)
    log = s.rank_log()
    rows = rank_quality(s, space, table)
    assert [(r["stage"], r["level"], r["ranked"]) for r in rows] == [(st, lv, len(a)) for st, lv, a, _ in log]
    for r, (_, _, archs, preds) in zip(rows, log):  # an independent recomputation
        assert r["ranked"] > 4  # more than the K it evaluated
        assert r["spearman"] == pytest.approx(spearmanr(preds, [_val(a) for a in archs]).statistic)
        assert r["spearman_test"] == pytest.approx(spearmanr(preds, [_test(a) for a in archs]).statistic)
    assert all(-1.0 <= r["spearman"] <= 1.0 for r in rows)
    assert "stage 1 (level 2)" in format_rank_quality(rows)


def test_rank_quality_feeds_nothing_back(table: TabularEvaluator) -> None:
    """Scoring the rankings in the middle of a search does not change what it proposes."""
    space = toy.ToySpace()
    ref, probed = (make_strategy("predictor_local", space, seed=1, overrides=PNAS) for _ in range(2))
    a_ref, a_probed = [], []
    for step in range(40):
        for s, out in ((ref, a_ref), (probed, a_probed)):
            a = s.ask()
            out.append(a)
            s.tell(a, table.evaluate(space, a).reward)
        if step % 7 == 0:
            n = len(probed.data)
            rank_quality(probed, space, table)
            assert len(probed.data) == n
    assert a_ref == a_probed


def test_no_rank_quality_without_a_table_or_a_predictor(table: TabularEvaluator) -> None:
    space = toy.ToySpace()
    s = make_strategy("pnas", space, seed=0, overrides=PNAS)
    for _ in range(20):
        a = s.ask()
        s.tell(a, toy.toy_reward(a))
    assert rank_quality(s, space, toy.ToyEvaluator()) is None  # real training would have to train them all
    assert rank_quality(make_strategy("random", space), space, table) is None
    assert format_rank_quality(None) == ""


def test_mean_over_seeds_stage_by_stage() -> None:
    a = [{"stage": 1, "level": 2, "ranked": 10, "spearman": 0.2, "spearman_test": None},
         {"stage": 2, "level": 3, "ranked": 30, "spearman": 0.6, "spearman_test": 0.1}]
    b = [{"stage": 1, "level": 2, "ranked": 20, "spearman": 0.4, "spearman_test": 0.3}]
    m = mean_rank_quality([a, None, b])
    assert m[0]["seeds"] == 2 and m[0]["ranked"] == 15
    assert m[0]["spearman"] == pytest.approx({"mean": 0.3, "std": 0.1})
    assert m[0]["spearman_test"] == {"mean": 0.3, "std": 0.0}
    assert m[1]["seeds"] == 1 and m[1]["spearman"] == {"mean": 0.6, "std": 0.0}
    assert mean_rank_quality([None, None]) is None


def test_run_seeds_and_run_search_report_it(table: TabularEvaluator, tmp_path: Path) -> None:
    space = toy.ToySpace()
    out = run_seeds(space, "pnas", table, 100, range(3), PNAS, thresholds=())
    assert out["evaluations"] == {"mean": 24.0, "max": 24}  # the paper's schedule: 16 + 2 K, then it stops
    rq = out["rank_quality"]
    assert [(r["stage"], r["level"], r["seeds"]) for r in rq] == [(1, 2, 3), (2, 3, 3)]
    assert all(r["spearman"] is not None and math.isfinite(r["spearman"]["mean"]) for r in rq)
    assert run_seeds(space, "random", table, 5, range(2), thresholds=())["rank_quality"] is None
    res = run_search(space, make_strategy("pnas", space, overrides=PNAS), table, 100, tmp_path)
    assert len(res.history) == 24
    summary = json.loads((tmp_path / "search.json").read_text())
    assert [r["stage"] for r in summary["rank_quality"]] == [1, 2]
    assert summary["rank_quality"][0]["ranked"] == 60  # 4 parents x 16 children, less 4 already evaluated


def test_thresholds_defaults_and_parsing() -> None:
    assert default_thresholds("cifar10") == (94.0, 94.3)
    assert default_thresholds("cifar100") == (72.5, 73.0) and default_thresholds("imagenet16-120") == (46.0, 46.5)
    assert default_thresholds("other") == ()
    assert parse_thresholds("70, 71.5") == (70.0, 71.5)
    for bad in ("x", "", "nan"):
        with pytest.raises(ConfigError, match="--thresholds"):
            parse_thresholds(bad)
    assert np.isfinite(parse_thresholds("1e1")[0])


@pytest.fixture(scope="module")
def nb201_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic full NAS-Bench-201 table: CIFAR-100 accuracies rise with the number of
    3x3 convolutions (the best cell reports 75.0)."""
    from ganas.nas import make_space

    space = make_space("nb201")

    def row(a: tuple) -> tuple[str, list[str], list[str]]:
        acc = 63.0 + 2.0 * sum(x == 3 for x in a)
        return space.to_string(a), ["50", "50", f"{acc:.2f}", f"{acc - 1:.2f}", "25", "25"], ["90", f"{acc:.2f}", "40"]

    return write_tables(tmp_path_factory.mktemp("nb201_synthetic"), (row(a) for a in space.enumerate()))


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    from ganas.cli import main

    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_seeds_json_has_queries_to_for_every_dataset(nb201_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ("search", "--space", "nb201", "--strategy", "random", "--benchmark", nb201_dir, "--dataset", "cifar100",
            "--budget", 30, "--seeds", "0-1", "--json")
    rc, out, _ = _cli(capsys, *base)
    assert rc == 0
    assert set(json.loads(out)["queries_to"]) == {"72.5", "73.0"}  # CIFAR-100's defaults, not none
    rc, out, _ = _cli(capsys, *base, "--thresholds", "65,75.5")
    q = json.loads(out)["queries_to"]
    assert set(q) == {"65.0", "75.5"} and q["75.5"] is None and 1 <= q["65.0"] <= 30
    rc, out, _ = _cli(capsys, "search", "--space", "nb201", "--strategy", "pnas", "--benchmark", nb201_dir,
                   "--dataset", "cifar100", "--budget", 100, "--seeds", "0-1")
    assert rc == 0 and "schedule ended after 25 evaluations" in out and "stage 2 (level 3)" in out
    rc, _, err = _cli(capsys, *base[:-3], "--out", nb201_dir / "s", "--thresholds", "70")
    assert rc != 0 and "--thresholds goes with --seeds" in err
