"""End to end: ``ganas search`` on a full synthetic NAS-Bench-201 table and on real
training, ``ganas nas export`` and ``ganas nas retrain``."""

from __future__ import annotations

import importlib.util
import json
import math
import re
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from e2e_helpers import NB201_OPTIMUM, assert_error, external_urls, nb201_test200, nb201_val12

BEST_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def _journal(d: Path) -> list[dict]:
    return [json.loads(ln) for ln in (d / "journal.jsonl").read_text().splitlines() if ln.strip()]


def _search(cli, table: Path, out: Path, budget: int, strategy: str = "evolution", *extra):
    return cli("search", "--space", "nb201", "--strategy", strategy, "--benchmark", table,
               "--budget", budget, "--out", out, *extra)


@pytest.fixture(scope="module")
def search_dir(tmp_path_factory: pytest.TempPathFactory, nb201_table: Path) -> Path:
    """An evolution search of budget 30 on the synthetic table (read-only for its users)."""
    from e2e_helpers import run_cli

    out = tmp_path_factory.mktemp("search") / "evo"
    res = run_cli(None, "search", "--space", "nb201", "--strategy", "evolution", "--benchmark", nb201_table,
                  "--budget", 30, "--out", out)
    assert res.rc == 0, res.err
    return out


def test_search_writes_journal_best_report_plot(cli, nb201_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "evo"
    res = _search(cli, nb201_table, out, 30)
    assert res.rc == 0, res.err
    rows = _journal(out)
    assert len(rows) == 30
    assert [r["i"] for r in rows] == list(range(30))
    for r in rows:  # each line is the table's value for its cell (the join by string is right)
        assert r["reward"] == pytest.approx(nb201_val12(r["arch"]) / 100)
        assert r["metrics"]["test_acc"] == pytest.approx(nb201_test200(r["arch"]))
    best = json.loads((out / "best.json").read_text())
    top = max(rows, key=lambda r: r["reward"])
    assert best["reward"] == pytest.approx(top["reward"])
    assert nb201_val12(best["arch"]) == pytest.approx(100 * top["reward"])
    assert best["arch"] in res.out
    with Image.open(out / "best_so_far.png") as im:
        assert im.format == "PNG" and im.size[0] > 50 and im.size[1] > 50
    html = (out / "report.html").read_text()
    assert "<svg" in html and best["arch"] in html
    assert external_urls(html) == []

    # the same command again: nothing is re-evaluated, the journal is untouched
    before = (out / "journal.jsonl").read_bytes()
    res = _search(cli, nb201_table, out, 30)
    assert res.rc == 0, res.err
    assert (out / "journal.jsonl").read_bytes() == before
    # a larger budget extends the same search
    res = _search(cli, nb201_table, out, 40, "evolution", "--json")
    assert res.rc == 0, res.err
    assert res.json()["evaluations"] == 40
    rows40 = _journal(out)
    assert len(rows40) == 40 and [r["i"] for r in rows40] == list(range(40))
    assert (out / "journal.jsonl").read_bytes().startswith(before)
    # a smaller budget or another strategy on the same folder is refused
    assert_error(_search(cli, nb201_table, out, 20), "budget")
    assert_error(_search(cli, nb201_table, out, 40, "random"), "evolution", "random")
    assert len(_journal(out)) == 40


def test_report_rewrites_a_search_report(cli, search_dir: Path) -> None:
    before = (search_dir / "report.html").read_text()
    res = cli("report", search_dir)
    assert res.rc == 0, res.err
    assert res.out.strip() == str(search_dir / "report.html")
    assert (search_dir / "report.html").read_text() == before  # same search, same page


def test_seeds_json_summary(cli, nb201_table: Path) -> None:
    res = cli("search", "--space", "nb201", "--strategy", "evolution", "--benchmark", nb201_table,
              "--budget", 30, "--seeds", "0-4", "--json")
    assert res.rc == 0, res.err
    s = res.json()
    assert {"strategy", "space", "budget", "seeds", "reported", "queries_to"} <= set(s)
    assert (s["strategy"], s["space"], s["budget"], s["seeds"]) == ("evolution", "nb201", 30, 5)
    assert set(s["reported"]) >= {"mean", "std"}
    assert math.isfinite(s["reported"]["std"]) and s["reported"]["std"] >= 0
    assert 60.0 <= s["reported"]["mean"] <= NB201_OPTIMUM
    assert isinstance(s["queries_to"], dict)
    # on CIFAR-10 the thresholds are 94.0 and 94.3; only the optimum (94.37) reaches them here
    assert set(s["queries_to"]) == {"94.0", "94.3"}


def test_exhaustive_random_search_finds_the_known_optimum(cli, nb201_table: Path) -> None:
    res = cli("search", "--space", "nb201", "--strategy", "random", "--benchmark", nb201_table,
              "--budget", 15625, "--seeds", "0", "--json")
    assert res.rc == 0, res.err
    s = res.json()
    assert s["reported"]["mean"] == pytest.approx(NB201_OPTIMUM)
    assert s["reported"]["std"] == pytest.approx(0.0)
    q = s["queries_to"]["94.3"]
    assert q is not None and 1 <= q <= 15625 and q == s["queries_to"]["94.0"]


@pytest.mark.parametrize("strategy", ["random", "reinforce", "evolution", "pnas"])
def test_every_strategy_runs_seeds(cli, nb201_table: Path, strategy: str) -> None:
    res = cli("search", "--space", "nb201", "--strategy", strategy, "--benchmark", nb201_table,
              "--budget", 25, "--seeds", "0-2", "--json")
    assert res.rc == 0, res.err
    s = res.json()
    assert s["strategy"] == strategy and s["seeds"] == 3 and s["budget"] == 25
    assert 60.0 <= s["reported"]["mean"] <= NB201_OPTIMUM and s["reported"]["std"] >= 0


def test_seeds_text_output(cli, nb201_table: Path) -> None:
    res = cli("search", "--space", "nb201", "--strategy", "random", "--benchmark", nb201_table,
              "--budget", 10, "--seeds", "1,2")
    assert res.rc == 0, res.err
    assert re.search(r"random on nb201, budget 10, 2 seeds: \d+\.\d\d \+- \d+\.\d\d", res.out), res.out


def test_export_py_is_standalone_and_builds(cli, search_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "best.py"
    res = cli("nas", "export", search_dir, "--out", out)
    assert res.rc == 0, res.err
    src = out.read_text()
    assert not re.search(r"^\s*(import|from)\s+ganas\b", src, re.M), "the export imports ganas"
    best = json.loads((search_dir / "best.json").read_text())["arch"]
    assert best in src
    spec = importlib.util.spec_from_file_location("e2e_exported_best", out)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.build_model().eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 10)
    assert torch.isfinite(y).all()


def test_export_py_runs_in_a_fresh_interpreter_without_ganas(search_dir: Path, tmp_path: Path) -> None:
    """The exported file needs torch only: ganas made unimportable in a child interpreter."""
    import subprocess

    out = tmp_path / "best.py"
    from ganas.cli import main

    assert main(["nas", "export", str(search_dir), "--out", str(out)]) == 0
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'ganas' or name.startswith('ganas.'): raise ImportError('ganas blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib.util, torch\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(out)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "print(tuple(m.build_model().eval()(torch.zeros(2, 3, 32, 32)).shape))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(2, 10)"


def test_export_pt_checkpoint(cli, search_dir: Path, tmp_path: Path) -> None:
    from ganas.nas.retrain import load_exported

    out = tmp_path / "best.pt"
    res = cli("nas", "export", search_dir, "--out", out)
    assert res.rc == 0, res.err
    ckpt = torch.load(out, map_location="cpu", weights_only=True)
    assert ckpt["arch"] == json.loads((search_dir / "best.json").read_text())["arch"]
    assert ckpt["space"] == "nb201" and ckpt["num_classes"] == 10 and list(ckpt["input_shape"]) == [3, 32, 32]
    model, info = load_exported(out)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # --arch exports another cell
    res = cli("nas", "export", search_dir, "--out", tmp_path / "opt.pt", "--arch", BEST_ARCH)
    assert res.rc == 0, res.err
    assert torch.load(tmp_path / "opt.pt", weights_only=True)["arch"] == BEST_ARCH
    assert_error(cli("nas", "export", search_dir, "--out", tmp_path / "best.txt"), ".py", ".pt")


def test_retrain_a_tabular_search_needs_data(cli, search_dir: Path) -> None:
    assert_error(cli("nas", "retrain", search_dir, "--epochs", 1), "--data")


def test_train_search_then_retrain(cli, tmp_path: Path) -> None:
    out = tmp_path / "S"
    res = cli("search", "--space", "nb201", "--strategy", "random", "--data", "digits", "--budget", 2, "--out", out,
              "--set", "C=4", "--set", "N=1", "--set", "image_size=8", "--set", "channels=1", "--set", "epochs=1",
              "--set", "optimizer=adam")
    assert res.rc == 0, res.err
    rows = _journal(out)
    assert len(rows) == 2
    assert all(0.0 <= r["reward"] <= 1.0 for r in rows)
    res = cli("nas", "retrain", out, "--epochs", 1, "--json")
    assert res.rc == 0, res.err
    r = res.json()
    assert {"test_acc", "params", "flops"} <= set(r)
    assert 0.0 <= r["test_acc"] <= 100.0
    assert type(r["params"]) is int and r["params"] > 0
    assert type(r["flops"]) is int and r["flops"] > 0
    assert r["arch"] == json.loads((out / "best.json").read_text())["arch"]
    # the search's recipe and space settings are reused
    assert r["train_settings"]["image_size"] == 8 and r["train_settings"]["channels"] == 1
    assert r["train_settings"]["optimizer"] == "adam"
    assert r["settings"] == {"C": 4, "N": 1}


def test_unknown_space_strategy_and_set(cli, nb201_table: Path, tmp_path: Path) -> None:
    out = tmp_path / "S"
    res = cli("search", "--space", "darts", "--strategy", "random", "--benchmark", nb201_table, "--budget", 3,
              "--out", out)
    assert_error(res, "darts", "nb201", "macro", "nasnet", "pnas")
    res = cli("search", "--space", "nb201", "--strategy", "bayesopt", "--benchmark", nb201_table, "--budget", 3,
              "--out", out)
    assert_error(res, "bayesopt", "random", "reinforce", "evolution", "pnas")
    res = cli("search", "--space", "nb201", "--strategy", "random", "--benchmark", nb201_table, "--budget", 3,
              "--out", out, "--set", "nonsense=1")
    assert_error(res, "nonsense")
    assert not (out / "journal.jsonl").exists()
