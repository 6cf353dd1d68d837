"""End to end: bad input gives exit code 2 and one ``ganas: error:`` line naming the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from e2e_helpers import TINY, assert_error


def _image_folder(root: Path, n: int = 40, corrupt: str | None = None) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / f"img{i:03d}.png")
    if corrupt:
        (root / corrupt).write_bytes(b"this is not a PNG file\n")
    return root


def test_unknown_method_lists_dcgan(cli, tmp_path: Path) -> None:
    assert_error(cli("train", "stylegan9", "--data", "digits", "--out", tmp_path / "r"), "stylegan9", "dcgan")
    assert_error(cli("describe", "stylegan9"), "stylegan9", "dcgan")
    assert not (tmp_path / "r").exists()


def test_unknown_set_key_lists_valid_keys(cli, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", "digits", "--out", tmp_path / "r", "--set", "bogus=1")
    assert_error(res, "bogus", "image_size", "ngf", "steps")
    assert_error(cli("describe", "dcgan", "--set", "bogus=1"), "bogus", "image_size")


def test_unknown_dataset_lists_valid_ones(cli, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", "imagenet", "--out", tmp_path / "r", *TINY)
    assert_error(res, "imagenet", "shapes", "digits", "mnist", "folder", "cifar10")


def test_folder_with_a_corrupt_png_names_the_file(cli, tmp_path: Path) -> None:
    data = _image_folder(tmp_path / "photos", corrupt="broken.png")
    res = cli("train", "dcgan", "--data", f"folder:{data}", "--out", tmp_path / "r", "--steps", 5, *TINY)
    assert_error(res, "broken.png")


def test_folder_skip_bad_trains_past_the_corrupt_file(cli, tmp_path: Path) -> None:
    data = _image_folder(tmp_path / "photos", corrupt="broken.png")
    with pytest.warns(UserWarning, match="skipped 1 bad image"):
        res = cli("train", "dcgan", "--data", f"folder:{data}?skip_bad=true", "--out", tmp_path / "r", "--steps", 5, *TINY)
    assert res.rc == 0, res.err
    assert (tmp_path / "r" / "checkpoints" / "step_000005.pt").is_file()


def test_retry_after_a_failed_start_may_change_data(cli, tmp_path: Path) -> None:
    data = _image_folder(tmp_path / "photos", corrupt="broken.png")
    run = tmp_path / "r"
    assert_error(cli("train", "dcgan", "--data", f"folder:{data}", "--out", run, "--steps", 5, *TINY), "broken.png")
    assert not list((run / "checkpoints").glob("*.pt"))  # nothing was trained
    res = cli("train", "dcgan", "--data", f"folder:{data}?skip_bad=true", "--out", run, "--steps", 5, *TINY)
    assert res.rc == 0, res.err


def test_missing_folder(cli, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", f"folder:{tmp_path / 'nowhere'}", "--out", tmp_path / "r", *TINY)
    assert_error(res, "nowhere")


def test_image_size_48_refused_naming_allowed_sizes(cli, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", "digits", "--out", tmp_path / "r", "--steps", 5, "--set", "image_size=48")
    assert_error(res, "48", "16, 32, 64, 128, 256")
    assert_error(cli("describe", "dcgan", "--set", "image_size=48"), "48", "16, 32, 64, 128, 256")


def test_sample_without_checkpoints(cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "s.png"
    assert_error(cli("sample", empty, "--n", 4, "--out", out), "checkpoint")
    assert_error(cli("sample", tmp_path / "absent", "--n", 4, "--out", out), "absent")
    assert_error(cli("eval", empty, "--n", 10), "checkpoint")
    assert not out.exists()


def test_bad_seeds(cli, nb201_table: Path) -> None:
    base = ("search", "--space", "nb201", "--strategy", "random", "--benchmark", nb201_table, "--budget", 2)
    assert_error(cli(*base, "--seeds", "abc"), "--seeds", "abc")
    assert_error(cli(*base, "--seeds", "5-3"), "5-3")
    # --seeds needs a table: with --data each search would train networks
    assert_error(cli("search", "--space", "nb201", "--strategy", "random", "--data", "digits", "--budget", 2,
                     "--seeds", "0-1"), "--seeds", "--benchmark")


def test_bad_integer_flag_is_an_argparse_error(cli, tmp_path: Path) -> None:
    res = cli("sample", tmp_path, "--n", "nine", "--out", tmp_path / "s.png")
    assert res.rc == 2
    assert "--n" in res.err and "nine" in res.err


@pytest.mark.parametrize("rows", [0, -2])
def test_interpolate_bad_rows(cli, digits_run: Path, tmp_path: Path, rows: int) -> None:
    assert_error(cli("interpolate", digits_run, "--out", tmp_path / "i.png", "--rows", rows, "--device", "cpu"), "rows")


def test_sample_negative_n(cli, digits_run: Path, tmp_path: Path) -> None:
    assert_error(cli("sample", digits_run, "--n", -1, "--out", tmp_path / "s.png", "--device", "cpu"), "-1")


def test_sample_zero_n_and_interpolate_one_step(cli, digits_run: Path, tmp_path: Path) -> None:
    assert_error(cli("sample", digits_run, "--n", 0, "--out", tmp_path / "s.png", "--device", "cpu"))
    assert_error(cli("interpolate", digits_run, "--out", tmp_path / "i.png", "--steps", 1, "--device", "cpu"),
                 "steps", ">= 2")
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "i.png").exists()


def test_eval_with_inception_needs_a_local_weights_file(cli, digits_run: Path, tmp_path: Path) -> None:
    assert_error(cli("eval", digits_run, "--features", "inception", "--weights", tmp_path / "none.pth",
                     "--n", 10, "--device", "cpu"), "none.pth")
    assert_error(cli("eval", digits_run, "--features", "bogus", "--n", 10, "--device", "cpu"), "inception")


def test_data_spec_size_disagreeing_with_the_method_is_refused(cli, tmp_path: Path) -> None:
    res = cli("train", "dcgan", "--data", "digits?image_size=32", "--out", tmp_path / "r", "--steps", 1,
              "--set", "image_size=16", "--set", "channels=1", "--quiet", "--device", "cpu")
    assert res.rc == 2 and "(1, 32, 32)" in res.err and "(1, 16, 16)" in res.err
