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

from e2e_helpers import TINY, nb201_test200, nb201_val12, run_cli


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
