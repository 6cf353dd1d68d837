"""End to end: ``ganas list | describe | train | sample | interpolate | eval | arithmetic``."""

from __future__ import annotations

import gzip
import json
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from torch import nn

from e2e_helpers import TINY, assert_error, external_urls

# ----------------------------------------------------------------------------- list / describe


def test_list_json_has_every_registry_and_builtin_name(cli) -> None:
    res = cli("list", "--json")
    assert res.rc == 0, res.err
    table = res.json()
    expected = {
        "methods": {"dcgan"},
        "datasets": {"shapes", "digits", "mnist", "folder", "cifar10"},
        "spaces": {"nb201", "macro", "nasnet", "pnas"},
        "strategies": {"random", "reinforce", "evolution", "pnas"},
        "evaluators": {"tabular", "train"},
        "executors": {"local"},
    }
    assert set(table) >= set(expected)
    for section, names in expected.items():
        assert isinstance(table[section], dict)
        assert names <= set(table[section]), (section, table[section])
        assert all(isinstance(h, str) and h for h in table[section].values()), section


def test_list_text_names_sections_and_entries(cli) -> None:
    res = cli("list")
    assert res.rc == 0, res.err
    lines = res.out.splitlines()
    for section in ("methods:", "datasets:", "spaces:", "strategies:", "evaluators:", "executors:"):
        assert section in lines
    # entries are indented under their section
    names = {ln.split()[0] for ln in lines if ln.startswith("  ") and ln.strip()}
    assert {"dcgan", "shapes", "mnist", "nb201", "evolution", "pnas"} <= names


def _reference_dcgan(nz: int = 100, ngf: int = 64, ndf: int = 64, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    """pytorch/examples dcgan/main.py Generator and Discriminator at 64 px."""
    g = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )
    return g, d


def test_describe_default_dcgan_matches_pytorch_examples_param_counts(cli) -> None:
    g, d = _reference_dcgan()
    ref_g, ref_d = sum(p.numel() for p in g.parameters()), sum(p.numel() for p in d.parameters())
    assert (ref_g, ref_d) == (3_576_704, 2_765_568)
    res = cli("describe", "dcgan", "--json")
    assert res.rc == 0, res.err
    nets = res.json()["networks"]
    assert nets["G"]["params"] == ref_g
    assert nets["D"]["params"] == ref_d
    assert nets["G"]["output_shape"] == [3, 64, 64]


def test_describe_json_shape_with_sets(cli) -> None:
    res = cli("describe", "dcgan", "--json", "--set", "image_size=32", "--set", "channels=1")
    assert res.rc == 0, res.err
    info = res.json()
    assert info["method"] == "dcgan"
    assert set(info["networks"]) == {"G", "D"}
    for net in ("G", "D"):
        assert type(info["networks"][net]["params"]) is int and info["networks"][net]["params"] > 0
        assert isinstance(info["networks"][net]["output_shape"], list)
    assert info["networks"]["G"]["output_shape"] == [1, 32, 32]
    # smaller images and one channel: fewer parameters than the 64 px RGB default
    assert info["networks"]["G"]["params"] < 3_576_704
    assert info["config"]["image_size"] == 32 and info["config"]["channels"] == 1


def test_describe_text_lists_networks_and_config(cli) -> None:
    res = cli("describe", "dcgan", "--set", "image_size=32")
    assert res.rc == 0, res.err
    assert re.search(r"G: [\d,]+ parameters, output \(3, 32, 32\)", res.out), res.out
    assert "image_size = 32" in res.out


# ----------------------------------------------------------------------------- train / resume


def _metric_steps(run: Path) -> list[int]:
    rows = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines() if ln.strip()]
    return [r["step"] for r in rows if "losses" in r]


def test_train_writes_a_run_and_resumes_without_sets(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 10, *TINY)
    assert res.rc == 0, res.err
    assert (run / "config.yaml").is_file()
    assert [p.name for p in sorted((run / "checkpoints").glob("*.pt"))] == ["step_000010.pt"]
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step_000010.png"]
    assert _metric_steps(run) == [5, 10]
    html = (run / "report.html").read_text()
    assert "<img" in html or "<svg" in html
    assert external_urls(html) == []
    # every image is inlined, none refers to a file beside the report
    assert not re.search(r"""src\s*=\s*["'](?!data:)""", html)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["method"] == "dcgan" and cfg["data"] == "digits"
    assert cfg["config"]["image_size"] == 16 and cfg["config"]["ngf"] == 8

    # the same command with more steps and none of the --set flags: resume
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 20, "--quiet", "--device", "cpu")
    assert res.rc == 0, res.err
    assert "completed at step 20" in res.out
    steps = _metric_steps(run)
    assert steps == [5, 10, 15, 20]  # continues, no step twice
    assert (run / "checkpoints" / "step_000020.pt").is_file()
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["config"]["ngf"] == 8 and cfg["config"]["image_size"] == 16  # the run's own settings kept
    assert cfg["train"]["steps"] == 20
    assert external_urls((run / "report.html").read_text()) == []
    # again at the same step count: nothing to do, nothing logged twice
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 20, "--quiet", "--device", "cpu")
    assert res.rc == 0 and "completed at step 20" in res.out
    assert _metric_steps(run) == [5, 10, 15, 20]
    # fewer steps than done is refused, naming the count
    assert_error(cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 10, "--quiet"), "steps", "20")

    # a conflicting --set is refused, naming the key; nothing is trained
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 30, "--set", "ngf=16", "--quiet")
    assert_error(res, "ngf")
    # another --data is refused, naming both specs
    res = cli("train", "dcgan", "--data", "shapes", "--out", run, "--steps", 30, "--quiet")
    assert_error(res, "digits", "shapes")
    assert _metric_steps(run) == [5, 10, 15, 20]
    assert not (run / "checkpoints" / "step_000030.pt").exists()


# ----------------------------------------------------------------------------- sample / interpolate / eval


def test_sample_writes_a_grid_of_n_images(cli, digits_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.png"
    res = cli("sample", digits_run, "--n", 9, "--out", out, "--device", "cpu")
    assert res.rc == 0, res.err
    assert res.out.strip() == str(out)
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (3 * 18 + 2, 3 * 18 + 2)  # 3x3 tiles of 16 px, 2 px padding
        assert im.mode == "L"  # one channel
        pix = np.asarray(im)
    # the tiles hold generated pixels, not a blank canvas
    tile = pix[2:18, 2:18]
    assert tile.std() > 0


def test_sample_is_reproducible_by_seed(cli, digits_run: Path, tmp_path: Path) -> None:
    for name, seed in (("a.png", 0), ("b.png", 0), ("c.png", 1)):
        assert cli("sample", digits_run, "--n", 4, "--out", tmp_path / name, "--seed", seed, "--device", "cpu").rc == 0
    a, b, c = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png", "c.png"))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_interpolate_writes_rows_by_steps_grid(cli, digits_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "interp.png"
    res = cli("interpolate", digits_run, "--out", out, "--rows", 2, "--steps", 5, "--device", "cpu")
    assert res.rc == 0, res.err
    with Image.open(out) as im:
        assert im.size == (5 * 18 + 2, 2 * 18 + 2)
    res = cli("interpolate", digits_run, "--out", tmp_path / "lin.png", "--rows", 1, "--steps", 3,
              "--mode", "linear", "--device", "cpu")
    assert res.rc == 0, res.err
    with Image.open(tmp_path / "lin.png") as im:
        assert im.size == (3 * 18 + 2, 1 * 18 + 2)


def test_report_rewrites_a_run_report(cli, digits_run: Path) -> None:
    report = digits_run / "report.html"
    report.unlink()
    res = cli("report", digits_run)
    assert res.rc == 0, res.err
    assert res.out.strip() == str(report)
    html = report.read_text()
    assert "<html" in html.lower() and external_urls(html) == []


def test_eval_json_keys_values_and_eval_json_file(cli, digits_run: Path) -> None:
    res = cli("eval", digits_run, "--json", "--n", 200, "--device", "cpu")
    assert res.rc == 0, res.err
    r = res.json()
    for k in ("fd", "fd_real_floor", "confidence", "precision", "recall"):
        assert isinstance(r[k], (int, float)) and math.isfinite(r[k]), (k, r[k])
    assert r["fd"] >= 0 and r["fd_real_floor"] >= 0
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and 0 <= r["confidence"] <= 1
    cov = r["coverage"]
    assert set(cov) == {str(d) for d in range(10)}  # digits' classes
    assert all(0 <= v <= 1 for v in cov.values())
    assert sum(cov.values()) == pytest.approx(1.0, abs=1e-6)
    saved = json.loads((digits_run / "eval.json").read_text())
    assert saved == r
    assert saved["step"] == 20
    # the report picks the evaluation up and stays self-contained
    assert external_urls((digits_run / "report.html").read_text()) == []


# ----------------------------------------------------------------------------- MNIST IDX files


def _write_idx_gz(path: Path, array: np.ndarray) -> None:
    """IDX as on LeCun's page: 0x00 0x00 0x08 (ubyte) ndim, big-endian uint32 sizes, data."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    head = bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    path.write_bytes(gzip.compress(head + a.tobytes()))


def _blob_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 28, 28) uint8 images of one bright blob whose position encodes the label 0..9."""
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:28, 0:28]
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        cy, cx = 6 + 8 * (c // 4) + rng.normal(0, 0.7), 5 + 6 * (c % 4) + rng.normal(0, 0.7)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0 ** 2))
        images[i] = np.clip(255 * blob + rng.normal(0, 8, (28, 28)), 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def test_train_on_mnist_idx_files(cli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = tmp_path / "mnist"
    root.mkdir()
    for prefix, n in (("train", 1000), ("t10k", 200)):
        x, y = _blob_digits(n, rng)
        _write_idx_gz(root / f"{prefix}-images-idx3-ubyte.gz", x)
        _write_idx_gz(root / f"{prefix}-labels-idx1-ubyte.gz", y)
    run = tmp_path / "run"
    res = cli("train", "dcgan", "--data", f"mnist:{root}", "--out", run, "--steps", 10, *TINY)
    assert res.rc == 0, res.err
    assert (run / "checkpoints" / "step_000010.pt").is_file()
    assert yaml.safe_load((run / "config.yaml").read_text())["data"] == f"mnist:{root}"
    # eval trains a classifier on these files: if images and labels line up (blob position
    # = label) it does far better than chance (10%); 1000 images are enough for ~90%
    res = cli("eval", run, "--json", "--n", 100, "--device", "cpu")
    assert res.rc == 0, res.err
    r = res.json()
    assert set(r["coverage"]) == {str(d) for d in range(10)}
    assert r["classifier_accuracy"] > 0.5


# ----------------------------------------------------------------------------- arithmetic


@pytest.fixture(scope="module")
def shapes_run(tmp_path_factory: pytest.TempPathFactory, ganas_cache: Path) -> Path:
    from e2e_helpers import run_cli

    out = tmp_path_factory.mktemp("shapes_run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANAS_CACHE", str(ganas_cache))
        res = run_cli(None, "train", "dcgan", "--data", "shapes?n=400", "--out", out, "--steps", 10,
                      "--set", "image_size=16", "--set", "channels=3", "--set", "ngf=8", "--set", "ndf=8",
                      "--set", "batch_size=16", "--device", "cpu", "--quiet")
    assert res.rc == 0, res.err
    return out


def test_arithmetic_gives_an_image_or_a_clear_error(cli, shapes_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "arith.png"
    res = cli("arithmetic", shapes_run, "--out", out, "--a", "shape=circle,colour=red", "--b", "colour=red",
              "--c", "colour=blue", "--json", "--device", "cpu")
    if res.rc == 0:  # the generator makes such images: the documented result
        r = res.json()
        assert r["image"] == str(out) and out.is_file()
        assert r["groups"] == {"A": {"shape": "circle", "colour": "red"}, "B": {"colour": "red"},
                               "C": {"colour": "blue"}}
        assert 0 <= r["result_match_rate"] <= 1
        assert len(r["result_predictions"]) == r["results"]
        with Image.open(out) as im:  # rows A, B, C (3 exemplars) and 8 results, 8 per row
            assert im.size == (8 * 18 + 2, 3 * 18 + 2)
    else:  # an untrained generator never makes a confident red circle: a clear error
        assert_error(res, "latents")
        assert not out.exists()


def test_arithmetic_unknown_factor_or_value(cli, shapes_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    res = cli("arithmetic", shapes_run, "--out", out, "--a", "shape=blob", "--b", "colour=red", "--c", "colour=blue")
    assert_error(res, "blob", "circle")  # lists the valid shapes
    res = cli("arithmetic", shapes_run, "--out", out, "--a", "texture=rough", "--b", "colour=red", "--c", "colour=blue")
    assert_error(res, "texture", "shape", "colour")
    res = cli("arithmetic", shapes_run, "--out", out, "--a", "circle", "--b", "colour=red", "--c", "colour=blue")
    assert_error(res, "FACTOR=VALUE")
    assert not out.exists()


def test_arithmetic_on_a_digits_run_is_refused(cli, digits_run: Path, tmp_path: Path) -> None:
    res = cli("arithmetic", digits_run, "--out", tmp_path / "x.png", "--a", "shape=circle", "--b", "colour=red",
              "--c", "colour=blue")
    assert_error(res, "shapes", "digits")


def test_eval_every_logs_metrics_that_survive_resume(cli, tmp_path: Path) -> None:
    run = tmp_path / "run"
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 10, "--eval-every", 5,
              *TINY, "--set", "checkpoint_every=5")
    assert res.rc == 0, res.err
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 15, "--eval-every", 5,
              "--quiet", "--device", "cpu")
    assert res.rc == 0, res.err
    rows = [json.loads(x) for x in (run / "evals.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15]
    assert all(np.isfinite(r["fd"]) and 0 <= r["coverage_min"] <= 1 for r in rows)
    # the same sample count as `ganas eval`, so the figures compare
    from ganas.workflows import EVAL_N

    assert [r["n"] for r in rows] == [EVAL_N] * 3
    assert "Metrics during training" in (run / "report.html").read_text()
    res = cli("train", "dcgan", "--data", "digits", "--out", run, "--steps", 20, "--eval-every", 3,
              "--quiet", "--device", "cpu")
    assert res.rc == 2 and "multiple of checkpoint_every" in res.err
