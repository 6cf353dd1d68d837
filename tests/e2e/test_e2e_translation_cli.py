"""End to end: pix2pix and CycleGAN through the CLI on the built-in shapes tasks: train a
few steps, resume, translate a folder (every image at its own size), eval; and the
junyanz import path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from e2e_helpers import assert_error

TINY_P2P = ["--set", "image_size=64", "--set", "ngf=2", "--set", "ndf=2", "--set", "batch_size=2",
            "--set", "n_epochs=1", "--set", "n_epochs_decay=1", "--set", "sample_every=2",
            "--set", "checkpoint_every=2", "--set", "log_every=1", "--device", "cpu"]
TINY_CYC = ["--set", "image_size=32", "--set", "ngf=2", "--set", "ndf=2", "--set", "n_blocks=1",
            "--set", "pool_size=2", "--set", "batch_size=2", "--set", "n_epochs=1", "--set", "n_epochs_decay=1",
            "--set", "sample_every=2", "--set", "checkpoint_every=2", "--set", "log_every=1", "--device", "cpu"]


def _images(folder: Path, sizes: list[tuple[int, int]]) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


@pytest.mark.parametrize("method,data,tiny", [
    ("pix2pix", "shapes?task=edges2photo&n=8", TINY_P2P),
    ("cyclegan", "shapes?task=day2night&n=8", TINY_CYC),
])
def test_train_resume_translate_eval(cli, tmp_path: Path, method: str, data: str, tiny: list[str]) -> None:
    out = tmp_path / "run"
    res = cli("train", method, "--data", data, "--out", out, "--steps", 2, *tiny)
    assert res.rc == 0, res.err
    res = cli("train", method, "--data", data, "--out", out, "--steps", 4, *tiny)  # resume to step 4
    assert res.rc == 0, res.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and all("lr" in r for r in rows)
    grids = sorted(p.relative_to(out).as_posix() for p in (out / "samples").rglob("*.png"))
    assert grids and all("/" in g for g in grids)  # named visuals: samples/<name>/step_*.png

    src = tmp_path / "in"
    _images(src, [(40, 24), (64, 64), (70, 33)])  # odd sizes: padded for the net, cropped back
    res = cli("translate", out, "--input", src, "--out", tmp_path / "translated", "--json", "--device", "cpu",
              "--no-progress")
    assert res.rc == 0, res.err
    assert res.json()["images"] == 3
    for f in src.iterdir():
        assert Image.open(tmp_path / "translated" / f.name).size == Image.open(f).size

    res = cli("eval", out, "--json", "--n", 4, "--device", "cpu")
    assert res.rc == 0, res.err
    ev = res.json()
    assert ev["n"] == 4 and ev["step"] == 4
    assert 0 <= ev["L1"] <= 2 and 0 < ev["PSNR"] < 100 and -1 <= ev["SSIM"] <= 1
    # FD against the real targets (self-supervised features of the target domain), and the
    # built-in tasks' factor classifiers on the translations beside the real images' ceiling
    assert ev["features"] == "selfsup" and ev["paired"] is True and ev["fd"] >= 0 and ev["fd_real_floor"] >= 0
    for key in ("factor_accuracy", "classifier_accuracy"):
        assert set(ev[key]) == {"shape", "colour"} and all(0 <= v <= 1 for v in ev[key].values())
    assert json.loads((out / "eval.json").read_text())["factor_accuracy"] == ev["factor_accuracy"]

    # a translation method has no latent input: the latent commands say so
    assert_error(cli("sample", out, "--out", tmp_path / "s.png", "--device", "cpu"), "latent")


def test_translate_refuses_a_generator_run(cli, digits_run: Path, tmp_path: Path) -> None:
    _images(tmp_path / "in", [(16, 16)])
    assert_error(cli("translate", digits_run, "--input", tmp_path / "in", "--out", tmp_path / "o"), "image-to-image")


def test_import_junyanz_then_translate(cli, tmp_path: Path) -> None:
    """A generator state dict with the reference's key names (built from our own U-Net
    through the documented mapping) becomes a run ``ganas translate`` uses, with the
    same outputs as the network it came from."""
    from ganas.gan import create_method
    from ganas.gan.junyanz_import import key_map

    m = create_method("pix2pix", {"image_size": 64, "ngf": 2, "ndf": 2, "test_mode": "eval"})
    prefixes = key_map(m.G)  # our module prefix -> the reference's (documented in junyanz_import)
    theirs = {}
    for key, value in m.G.state_dict().items():
        prefix, _, name = key.rpartition(".")
        theirs[f"{prefixes[prefix]}.{name}"] = value
    f = tmp_path / "latest_net_G.pth"
    torch.save(theirs, f)
    res = cli("import", "junyanz", f, "--method", "pix2pix", "--out", tmp_path / "imported", "--set", "test_mode=eval")
    assert res.rc == 0, res.err
    _images(tmp_path / "in", [(64, 64)])
    res = cli("translate", tmp_path / "imported", "--input", tmp_path / "in", "--out", tmp_path / "o", "--device",
              "cpu", "--no-progress")
    assert res.rc == 0, res.err
    x = torch.from_numpy(np.asarray(Image.open(tmp_path / "in" / "img0.png"), dtype=np.float32)).permute(2, 0, 1)
    want = m.translate(x[None] / 127.5 - 1)[0]  # (3, H, W) in [-1, 1]
    got = torch.from_numpy(np.asarray(Image.open(tmp_path / "o" / "img0.png"), dtype=np.float32)).permute(2, 0, 1)
    assert (got / 127.5 - 1 - want).abs().max() < 2 / 127.5 + 1e-4  # 8-bit rounding
    assert_error(cli("import", "junyanz", f, "--method", "pix2pix", "--out", tmp_path / "imported"), "already holds")


def test_eval_every_runs_the_methods_own_evaluation(cli, tmp_path: Path) -> None:
    """``--eval-every`` on a translation run scores it as ``ganas eval`` does (L1, PSNR,
    SSIM, FD against the targets), not with the unconditional generator metrics."""
    out = tmp_path / "run"
    res = cli("train", "pix2pix", "--data", "shapes?task=edges2photo&n=8", "--out", out, "--steps", 2,
              "--eval-every", 2, *TINY_P2P)
    assert res.rc == 0, res.err
    rows = [json.loads(line) for line in (out / "evals.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2]
    assert 0 < rows[0]["PSNR"] < 100 and rows[0]["features"] == "selfsup" and rows[0]["fd"] >= 0
