"""Fixtures of the end-to-end tests of the ``ganas`` command line.

Everything runs in-process through ``ganas.cli.main`` (one test in ``test_e2e_entry.py``
runs the real entry point as a subprocess). Data is made in temporary folders; the metric
classifiers that ``eval``/``arithmetic`` train are cached in one directory per test
session (``GANAS_CACHE``), never in ``~/.cache``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from e2e_helpers import TINY, run_cli

#: the synthetic NAS-Bench-201 scores per op: every edge's best op is nor_conv_3x3, so the
#: all-nor_conv_3x3 cell is the unique optimum (its 200-epoch test accuracy is 94.37)
OP_SCORE = {"none": 0, "skip_connect": 1, "nor_conv_1x1": 3, "nor_conv_3x3": 4, "avg_pool_3x3": 2}
NB201_OPTIMUM = 94.37


def nb201_score(arch_str: str) -> int:
    """Sum of ``OP_SCORE`` over the 6 edges of an NB201 cell string (0..24)."""
    ops = [tok.split("~")[0] for tok in arch_str.replace("+", "").split("|") if tok]
    assert len(ops) == 6, arch_str
    return sum(OP_SCORE[o] for o in ops)


def nb201_val12(arch_str: str) -> float:
    return round(30.0 + 2.0 * nb201_score(arch_str), 4)


def nb201_test200(arch_str: str) -> float:
    return round(60.0 + nb201_score(arch_str) * (NB201_OPTIMUM - 60.0) / 24, 4)


@pytest.fixture(scope="session")
def ganas_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ganas_cache")


@pytest.fixture(autouse=True)
def _cache_env(ganas_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANAS_CACHE", str(ganas_cache))


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """``cli("train", "dcgan", ...)`` -> CliResult(rc, out, err)."""
    return lambda *argv: run_cli(capsys, *argv)


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory, ganas_cache: Path) -> Path:
    """A tiny DCGAN run on ``digits`` (20 steps), shared by sample/interpolate/eval tests."""
    out = tmp_path_factory.mktemp("digits_run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANAS_CACHE", str(ganas_cache))
        res = run_cli(None, "train", "dcgan", "--data", "digits", "--out", out, "--steps", 20, *TINY)
    assert res.rc == 0, res.err
    return out


@pytest.fixture(scope="session")
def nb201_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full synthetic NAS-Bench-201 table (15,625 rows in each file) in the real layout:
    ``nb201_hp12_val_test_acc.csv`` and ``nats_tss_200ep_test_acc.csv`` (headers as in
    /work/shared/data/nas-bench-201, row i = benchmark index i). Accuracies follow
    ``nb201_val12`` / ``nb201_test200``; the other datasets' columns are constants."""
    from ganas.nas import make_space

    d = tmp_path_factory.mktemp("nb201")
    space = make_space("nb201")
    archs = [space.to_string(a) for a in space.enumerate()]
    assert len(archs) == 15625 == len(set(archs))
    with (d / "nb201_hp12_val_test_acc.csv").open("w", newline="") as f12, \
            (d / "nats_tss_200ep_test_acc.csv").open("w", newline="") as f200:
        w12, w200 = csv.writer(f12), csv.writer(f200)
        w12.writerow(["index", "arch_str", "cifar10-test", "cifar10-val", "cifar100-test", "cifar100-val",
                      "imagenet-test", "imagenet-val"])
        w200.writerow(["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs",
                       "ImageNetTestAccuracy200Epochs", "ArchitectureString", "UniqueString"])
        for i, s in enumerate(archs):
            val = nb201_val12(s)
            w12.writerow([i, s, f"{val + 1:.4f}", f"{val:.4f}", "50.0000", "50.0000", "25.0000", "25.0000"])
            w200.writerow([f"{nb201_test200(s):.4f}", "60.0", "30.0", s, f"u{i}"])
    return d
