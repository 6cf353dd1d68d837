"""End to end: StarGAN through the CLI on the built-in attributes task (and a folder of
class subfolders): train a few steps with the domains taken from the data, resume,
translate a folder with --target and with --grid, eval --json; and the error cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from e2e_helpers import assert_error, run_cli

DATA = "shapes?task=attributes&n=12"
#: the 16 domains of the default attributes task: colour (7), size (3), background (6)
N_DOMAINS = 16
TINY = ["--set", "image_size=16", "--set", "g_conv_dim=4", "--set", "d_conv_dim=4", "--set", "g_repeat_num=1",
        "--set", "d_repeat_num=2", "--set", "batch_size=4", "--set", "n_critic=2", "--set", "checkpoint_every=2",
        "--set", "sample_every=2", "--set", "log_every=1", "--device", "cpu", "--quiet"]
SIZES = [(16, 16), (23, 18), (40, 36)]  # odd sizes: padded to a multiple of 4 for G, cropped back

pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")


def _images(folder: Path, sizes: list[tuple[int, int]]) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


@pytest.fixture(scope="module")
def stargan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny StarGAN run: 2 steps, then resumed to 4 (c_dim never set by hand)."""
    out = tmp_path_factory.mktemp("stargan") / "run"
    for steps in (2, 4):
        res = run_cli(None, "train", "stargan", "--data", DATA, "--out", out, "--steps", steps, *TINY)
        assert res.rc == 0
    return out


def test_train_takes_the_domains_from_the_data_and_resumes(stargan_run: Path) -> None:
    from ganas.train import restore_method

    rows = [json.loads(line) for line in (stargan_run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert [("loss_G" in r["losses"]) for r in rows] == [False, True, False, True]  # n_critic=2
    assert sorted(p.name for p in (stargan_run / "samples" / "translations").glob("*.png")) == [
        "step_000002.png", "step_000004.png"]
    name, m, payload = restore_method(stargan_run)  # no flags: the checkpoint carries the domains
    assert name == "stargan" and payload["step"] == 4
    assert (m.config.c_dim, m.config.domains) == (N_DOMAINS, "multi_label")
    assert m.names[:2] == ["colour=red", "colour=orange"] and m.names[-1] == "background=sky gradient"
    assert [len(g) for g in m.groups] == [7, 3, 6]


def test_translate_a_folder_to_a_target(cli, stargan_run: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    _images(src, SIZES)
    outs = {}
    for target in ("colour=red", "colour=blue,size=large"):
        out = tmp_path / target.replace(",", "_")
        res = cli("translate", stargan_run, "--input", src, "--out", out, "--target", target, "--json",
                  "--device", "cpu", "--no-progress")
        assert res.rc == 0, res.err
        assert res.json() == {"out": str(out), "images": 3, "target": target, "grid": False}
        for f in src.iterdir():
            assert Image.open(out / f.name).size == Image.open(f).size
        outs[target] = np.asarray(Image.open(out / "img2.png"), dtype=np.int16)
    assert np.abs(outs["colour=red"] - outs["colour=blue,size=large"]).max() > 0  # the label reaches G


def test_translate_grid_rows(cli, stargan_run: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    _images(src, SIZES)
    res = cli("translate", stargan_run, "--input", src, "--out", tmp_path / "grid", "--grid", "--device", "cpu",
              "--no-progress")
    assert res.rc == 0, res.err
    assert "3 rows" in res.out
    for f in src.iterdir():
        w, h = Image.open(f).size
        row = np.asarray(Image.open(tmp_path / "grid" / f.name))
        # one row: the input, then one tile per single-domain change, 2 px apart (make_grid)
        assert row.shape == (h + 4, (1 + N_DOMAINS) * (w + 2) + 2, 3)
        assert np.array_equal(row[2:2 + h, 2:2 + w], np.asarray(Image.open(f).convert("RGB")))


def test_eval_json_and_eval_file(cli, stargan_run: Path) -> None:
    res = cli("eval", stargan_run, "--json", "--n", 6, "--device", "cpu")
    assert res.rc == 0, res.err
    ev = res.json()
    acc = ev["attribute_accuracy"]
    assert len(acc) == N_DOMAINS and all(0.0 <= v <= 1.0 for v in acc.values())
    assert ev["attribute_accuracy_mean"] == pytest.approx(sum(acc.values()) / N_DOMAINS)
    assert 0 < ev["rec_l1"] <= 2 and np.isfinite(ev["fd"]) and ev["n_test"] == 6 and ev["step"] == 4
    assert set(ev["classifier_accuracy"]) == {"colour", "size", "background"}
    assert json.loads((stargan_run / "eval.json").read_text()) == ev


def test_errors_name_the_option(cli, stargan_run: Path, tmp_path: Path) -> None:
    _images(tmp_path / "in", [(16, 16)])
    common = ("--input", tmp_path / "in", "--out", tmp_path / "o", "--device", "cpu", "--no-progress")
    assert_error(cli("translate", stargan_run, *common, "--target", "colour=mauve"),
                 "colour=mauve", "valid: colour=red", "background=sky gradient")
    assert_error(cli("translate", stargan_run, *common, "--direction", "AtoB"), "--direction", "--target", "--grid")
    assert_error(cli("translate", stargan_run, *common), "--target", "--grid", "colour=red")
    assert_error(cli("translate", stargan_run, *common, "--target", "colour=red", "--grid"), "not both")
    assert not (tmp_path / "o").exists()  # refused before anything is written
    # a --set that disagrees with the data's domains is refused, naming both values
    assert_error(cli("train", "stargan", "--data", DATA, "--out", tmp_path / "r", "--steps", 1, *TINY,
                     "--set", "c_dim=5"), "c_dim=5", "the data gives 16", "leave them unset")
    assert_error(cli("translate", stargan_run, *common, "--target", "colour=red,colour=blue"),
                 "exclusive", "colour=red, colour=blue")
    # --target / --grid on a one-way translation run
    p2p = tmp_path / "p2p"
    assert cli("train", "pix2pix", "--data", "shapes?task=edges2photo&n=4", "--out", p2p, "--steps", 1,
               "--set", "image_size=64", "--set", "ngf=2", "--set", "ndf=2", "--set", "batch_size=2",
               "--device", "cpu", "--quiet").rc == 0
    for flag in (("--target", "colour=red"), ("--grid",)):
        assert_error(cli("translate", p2p, *common, *flag), "--target and --grid are for multi-domain runs",
                     "pix2pix")
    # data without domains: a flat folder of images (no class subfolders)
    assert_error(cli("train", "stargan", "--data", f"folder:{tmp_path / 'in'}", "--out", tmp_path / "r2",
                     "--steps", 1, *TINY), "StarGAN needs domains")


def test_single_label_folder_domains(cli, tmp_path: Path) -> None:
    """``folder:PATH`` with class subfolders: one-hot domains named after the classes."""
    root = tmp_path / "faces"
    rng = np.random.default_rng(1)
    for cls in ("happy", "sad", "angry"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / cls / f"{i}.png")
    run = tmp_path / "run"
    res = cli("train", "stargan", "--data", f"folder:{root}?holdout=0.25", "--out", run, "--steps", 2, *TINY)
    assert res.rc == 0, res.err
    _images(tmp_path / "in", [(20, 16)])
    res = cli("translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o", "--target", "sad", "--json",
              "--device", "cpu", "--no-progress")
    assert res.rc == 0, res.err
    assert res.json()["images"] == 1
    assert_error(cli("translate", run, "--input", tmp_path / "in", "--out", tmp_path / "o2", "--target", "happy,sad",
                     "--device", "cpu"), "happy", "sad")  # one-hot domains: one target at a time
