"""End to end: GAN-CLS through the CLI: train a few steps on the built-in caption task,
resume, ``sample --text`` (one sentence; several, one row each), ``interpolate --text A
--text B``, ``eval --json`` (the "text" evaluation, eval.json); user caption data (a CSV)
where caption consistency is not available; and the error cases."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from e2e_helpers import assert_error, run_cli

TINY_CLS = ["--set", "image_size=16", "--set", "nz=8", "--set", "embed_dim=16", "--set", "proj_dim=8",
            "--set", "ngf=4", "--set", "ndf=4", "--set", "batch_size=4", "--set", "vocab_size=64",
            "--set", "word_dim=8", "--set", "encoder_hidden=8", "--set", "image_encoder_width=4",
            "--set", "encoder_steps=2", "--set", "checkpoint_every=2", "--set", "sample_every=2",
            "--set", "log_every=1", "--device", "cpu", "--quiet"]
DATA = "shapes?task=captions&n=16"
A, B = "a large blue square on a white background", "a small red circle in the top left corner"


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory: pytest.TempPathFactory, ganas_cache: Path) -> Path:
    """2 encoder steps + 2 GAN steps, in two invocations (train to 2, resume to 4)."""
    out = tmp_path_factory.mktemp("gancls") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANAS_CACHE", str(ganas_cache))
        for steps in (2, 4):
            res = run_cli(None, "train", "gancls", "--data", DATA, "--out", out, "--steps", steps, *TINY_CLS)
            assert res.rc == 0, res.err
    return out


def _tiles(path: Path, rows: int, cols: int, size: int = 16, pad: int = 2) -> np.ndarray:
    """The (rows, cols, size, size, 3) tiles of a grid written by save_grid."""
    g = np.asarray(Image.open(path).convert("RGB"))
    assert g.shape[:2] == (pad + rows * (size + pad), pad + cols * (size + pad)), g.shape
    return np.stack([np.stack([g[pad + r * (size + pad): pad + r * (size + pad) + size,
                                 pad + c * (size + pad): pad + c * (size + pad) + size] for c in range(cols)])
                     for r in range(rows)]).astype(np.int16)


def test_resumed_run_logs_every_step(cls_run: Path) -> None:
    rows = [json.loads(line) for line in (cls_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    losses = [r["losses"] for r in rows]  # the encoder phase, then the GAN phase
    assert all("loss_enc" in r for r in losses[:2]) and all("loss_D" in r and "loss_G" in r for r in losses[2:])


def test_sample_text(cli, cls_run: Path, tmp_path: Path) -> None:
    res = cli("sample", cls_run, "--text", A, "--n", 4, "--out", tmp_path / "one.png", "--device", "cpu")
    assert res.rc == 0, res.err
    t = _tiles(tmp_path / "one.png", 2, 2).reshape(4, 16, 16, 3)  # n=4: a 2x2 grid
    # the same seed gives the same images; another seed other ones
    assert cli("sample", cls_run, "--text", A, "--n", 4, "--out", tmp_path / "again.png").rc == 0
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "one.png").read_bytes()
    assert cli("sample", cls_run, "--text", A, "--n", 4, "--seed", 1, "--out", tmp_path / "s1.png").rc == 0
    assert (tmp_path / "s1.png").read_bytes() != (tmp_path / "one.png").read_bytes()
    # several sentences: one row each, n columns
    res = cli("sample", cls_run, "--text", A, "--text", B, "--n", 4, "--out", tmp_path / "rows.png")
    assert res.rc == 0, res.err
    rows = _tiles(tmp_path / "rows.png", 2, 4)
    assert np.abs(rows[0] - t).max() <= 1  # row A: the single-sentence images (same seed, same z per column)


def _method(run: Path):
    from ganas.workflows import gan

    return gan.load_run(run, "cpu")[1]


def test_sample_text_rows_share_z_and_differ_by_sentence(cls_run: Path) -> None:
    """The workflow's tensors (a tiny G's images are too flat to compare as PNG pixels)."""
    import torch

    from ganas.workflows.text import sample_text

    m = _method(cls_run)
    one, nrow = sample_text(m, [A], 4, seed=0)
    assert one.shape == (4, 3, 16, 16) and nrow is None
    assert all(not torch.equal(one[i], one[j]) for i in range(4) for j in range(i))  # each its own z
    two, nrow = sample_text(m, [A, "  " + B + " "], 4, seed=0)
    assert two.shape == (8, 3, 16, 16) and nrow == 4
    assert torch.equal(two[:4], one)  # column j: the same z in every row
    assert all(not torch.equal(two[j], two[4 + j]) for j in range(4))  # the sentence changes the image
    z = m.latent_sampler.sample(4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(two[4:], m.generate_from_text([B] * 4, z).float())  # whitespace collapsed


def test_interpolate_between_two_sentences(cli, cls_run: Path, tmp_path: Path) -> None:
    import torch

    from ganas.workflows.text import interpolate_text

    res = cli("interpolate", cls_run, "--text", A, "--text", B, "--rows", 2, "--steps", 4,
              "--out", tmp_path / "i.png", "--device", "cpu")
    assert res.rc == 0, res.err
    t = _tiles(tmp_path / "i.png", 2, 4)  # rows of one z, columns A -> B
    m = _method(cls_run)
    x = interpolate_text(m, [A, B], rows=2, steps=4, seed=0)  # (8, C, H, W)
    px = ((x.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().reshape(2, 4, 16, 16, 3)
    assert np.abs(t - px).max() <= 1  # the grid is these images, row-major
    z = m.latent_sampler.sample(2, generator=torch.Generator().manual_seed(0))
    for r in range(2):  # first column sentence A with the row's z, last column sentence B with it
        ends = m.generate_from_text([A, B], z[r: r + 1].expand(2, -1, -1, -1)).float()
        assert torch.allclose(x[4 * r], ends[0], atol=1e-6) and torch.allclose(x[4 * r + 3], ends[1], atol=1e-6)
        assert not torch.equal(x[4 * r + 1], x[4 * r]) and not torch.equal(x[4 * r + 1], x[4 * r + 3])
    assert not torch.equal(x[0], x[4])  # the rows' z differ

    # without --text: latent rows, each keeping one stored caption
    assert cli("interpolate", cls_run, "--rows", 2, "--steps", 3, "--out", tmp_path / "z.png").rc == 0
    _tiles(tmp_path / "z.png", 2, 3)


def test_eval_text_on_the_builtin_task(cli, cls_run: Path) -> None:
    res = cli("eval", cls_run, "--json", "--n", 16, "--device", "cpu")
    assert res.rc == 0, res.err
    ev = res.json()
    assert ev["step"] == 4 and ev["n"] == 16 and ev["unavailable"] == {}
    for key in ("caption_consistency", "classifier_accuracy"):
        assert set(ev[key]) == {"shape", "colour"} and all(0 <= v <= 1 for v in ev[key].values())
    assert ev["fd"] >= 0 and 0 <= ev["r_precision"] <= 1 and 0 <= ev["r_precision_real"] <= 1
    assert 2 <= ev["candidates"] <= 16
    conf = ev["shape_confusion"]
    assert len(conf["shapes"]) == 6 and sum(map(sum, conf["generated"])) == sum(map(sum, conf["real"])) == 16
    assert json.loads((cls_run / "eval.json").read_text()) == ev
    res = cli("eval", cls_run, "--n", 16, "--device", "cpu")  # the readable form
    assert res.rc == 0 and "caption consistency, shape" in res.out and "r_precision" in res.out
    assert "by shape named:" in res.out


def _caption_csv(folder: Path, n: int = 40) -> Path:
    """``n`` shapes images with two captions each and their colour as the class."""
    from ganas.data.shapes import caption, render, scene_for

    folder.mkdir()
    with (folder / "caps.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "caption", "class"])
        for i in range(n):
            s = scene_for(i)
            render(s, 16).save(folder / f"im{i}.png")
            for k in (i, i + n):
                w.writerow([f"im{i}.png", caption(s, k), s.colour])
    return folder / "caps.csv"


def test_eval_text_on_user_captions(cli, tmp_path: Path) -> None:
    data = f"captions:{_caption_csv(tmp_path / 'data')}?holdout=0.5"
    out = tmp_path / "run"
    assert cli("train", "gancls", "--data", data, "--out", out, "--steps", 2, *TINY_CLS).rc == 0
    res = cli("eval", out, "--json", "--device", "cpu")
    assert res.rc == 0, res.err
    ev = res.json()
    # the captions' factors are unknown: no consistency, said so; FD and R-precision still are
    assert ev["caption_consistency"] is None and ev["classifier_accuracy"] is None and ev["shape_confusion"] is None
    assert "caption_consistency" in ev["unavailable"] and "shapes?task=captions" in ev["unavailable"]["caption_consistency"]
    assert "fd" not in ev["unavailable"] and ev["fd"] >= 0 and ev["fd_real_floor"] >= 0
    assert ev["fd_features"] == "classifier" and 0 <= ev["r_precision"] <= 1
    assert ev["n"] == 20 and 2 <= ev["candidates"] <= 20
    res = cli("eval", out, "--device", "cpu")
    assert res.rc == 0 and "caption_consistency: not available" in res.out


def test_text_errors(cli, cls_run: Path, digits_run: Path, tmp_path: Path) -> None:
    # --text on a method without text conditioning
    assert_error(cli("sample", digits_run, "--text", A, "--out", tmp_path / "x.png"), "--text", "text-conditional",
                 "DCGAN")
    assert_error(cli("interpolate", digits_run, "--text", A, "--text", B, "--out", tmp_path / "x.png"),
                 "text-conditional")
    # interpolation needs exactly two sentences, and at least two steps
    assert_error(cli("interpolate", cls_run, "--text", A, "--out", tmp_path / "x.png"), "exactly two", "got 1")
    assert_error(cli("interpolate", cls_run, "--text", A, "--text", B, "--text", A, "--out", tmp_path / "x.png"),
                 "exactly two", "got 3")
    assert_error(cli("interpolate", cls_run, "--text", A, "--text", B, "--steps", 1, "--out", tmp_path / "x.png"),
                 "--steps")
    assert_error(cli("sample", cls_run, "--text", "  ", "--out", tmp_path / "x.png"), "empty sentence")
    assert_error(cli("sample", cls_run, "--text", A, "--n", 0, "--out", tmp_path / "x.png"), "--n")
    assert not (tmp_path / "x.png").exists()
