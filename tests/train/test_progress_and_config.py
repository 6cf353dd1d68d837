"""The progress display (tqdm), the metrics log (metrics.jsonl + TensorBoard), TrainConfig
options and device/precision resolution."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganas.config import replace, to_dict
from ganas.errors import ConfigError, GanasError
from ganas.images import make_grid
from ganas.train import TrainConfig, read_metrics, resolve_device
from ganas.train.config import autocast_factory, resolve_memory_format, resolve_precision
from ganas.train.metrics_log import MetricsLog
from ganas.train.progress import Progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_tty():
    out = io.StringIO()
    p = Progress(total=10, start=2, enabled=True, stream=out)
    p.update(3, {"loss_D": 1.5}, 10.0)  # not a log step: nothing
    p.update(5, {"loss_D": 1.25, "loss_G": 0.5}, 123.4, log_line=True)
    p.write("saved")
    p.close()
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 2 and "\r" not in text and lines[1] == "saved"
    # tqdm's meter: global step / total, elapsed, time left, this run's rate
    assert re.fullmatch(r"step 5/10 \[\d\d:\d\d, ETA \d\d:\d\d, *[\d.]+[kM]?step/s\] "
                        r"loss_D=1\.25 loss_G=0\.5 123\.4 img/s",
                        lines[0]), lines[0]


def test_tty_bar_is_tqdm_rate_limited_and_messages_keep_their_own_line():
    out = FakeTTY()
    p = Progress(total=100, start=20, stream=out, min_interval=3600.0)
    first = out.getvalue()
    assert "20/100" in first  # a resumed run's bar starts at its step
    for s in range(21, 50):
        p.update(s, {"l": 0.1}, 1.0)
    assert out.getvalue() == first  # within min_interval: no redraw
    p.update(100, {"l": 0.25}, 2.5)  # the last step always draws
    assert re.search(r"100/100 .*l=0\.25 2\.5 img/s", out.getvalue())
    p.write("saved")
    p.close()
    text = out.getvalue()
    assert "\rsaved\n" in text or "\nsaved\n" in text
    assert text.endswith("\n")  # close() leaves the finished bar on its own line


def test_disabled_progress_prints_nothing():
    for out in (FakeTTY(), io.StringIO()):
        p = Progress(total=3, enabled=False, stream=out)
        p.update(3, {}, 1.0, log_line=True)
        p.write("x")
        p.close()
        assert out.getvalue() == ""


# -- MetricsLog: metrics.jsonl and TensorBoard events, read back by TensorBoard itself ----------
def _events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def _record(step: int, value: float) -> dict:
    return {"step": step, "losses": {"loss_D": value, "loss_G": 2 * value}, "lr": {"G": 1e-3 / step},
            "images_per_s": 50.0 + step, "elapsed": float(step)}


def test_metrics_log_writes_tensorboard_scalars_and_images(tmp_path):
    log = MetricsLog(tmp_path, None)
    assert log.tensorboard
    for s in (1, 2, 3):
        log.write(_record(s, 0.5 * s))
    grid = torch.linspace(-1, 1, 4 * 3 * 8 * 8).reshape(4, 3, 8, 8)  # (N, C, H, W) in [-1, 1]
    log.add_image("samples", grid, 3)
    gray = tmp_path / "g.png"
    Image.fromarray(np.full((10, 12), 200, np.uint8)).save(gray)  # a grid the trainer wrote ("L")
    log.add_image("AtoB", gray, 3)
    log.close()
    assert [r["step"] for r in read_metrics(tmp_path)] == [1, 2, 3]

    acc = _events(tmp_path)
    assert {"loss/loss_D", "loss/loss_G", "lr/G", "perf/images_per_s"} <= set(acc.Tags()["scalars"])
    assert [(e.step, e.value) for e in acc.Scalars("loss/loss_D")] == [(1, 0.5), (2, 1.0), (3, 1.5)]
    assert acc.Scalars("lr/G")[-1].value == pytest.approx(1e-3 / 3)
    assert set(acc.Tags()["images"]) == {"images/samples", "images/AtoB"}
    (img,) = acc.Images("images/samples")
    assert img.step == 3 and (img.width, img.height) == (2 * 10 + 2, 2 * 10 + 2)  # make_grid's 2x2 layout
    with Image.open(io.BytesIO(img.encoded_image_string)) as im:
        pix = np.asarray(im.convert("RGB"))
    assert np.array_equal(pix, make_grid(grid))  # the same pixels as the PNG grid
    (png,) = acc.Images("images/AtoB")
    with Image.open(io.BytesIO(png.encoded_image_string)) as im:
        assert im.size == (12, 10) and np.asarray(im.convert("L")).max() == 200


def test_metrics_log_resume_keeps_the_checkpoint_step_and_drops_later_events(tmp_path):
    log = MetricsLog(tmp_path, None)
    for s in (1, 2):
        log.write(_record(s, 1.0))
    offset = log.offset()  # a checkpoint at step 2
    log.add_image("samples", torch.zeros(1, 1, 4, 4), 2)
    for s in (3, 4):  # the killed run went on past the checkpoint
        log.write(_record(s, 9.0))
    log.close()
    log = MetricsLog(tmp_path, offset, resume_step=2)
    for s in (3, 4):
        log.write(_record(s, 3.0))
    log.close()
    assert [(r["step"], r["losses"]["loss_D"]) for r in read_metrics(tmp_path)] == [(1, 1.0), (2, 1.0), (3, 3.0), (4, 3.0)]
    acc = _events(tmp_path)
    # the step-2 point was logged before the checkpoint: purging it would leave a hole
    assert [(e.step, e.value) for e in acc.Scalars("loss/loss_D")] == [(1, 1.0), (2, 1.0), (3, 3.0), (4, 3.0)]
    assert [e.step for e in acc.Images("images/samples")] == [2]


def test_metrics_log_without_tensorboard_and_bad_image(tmp_path):
    log = MetricsLog(tmp_path, None, tensorboard=False)
    log.write(_record(1, 1.0))
    log.add_image("samples", torch.zeros(1, 1, 4, 4), 1)  # a no-op without TensorBoard
    log.close()
    assert not (tmp_path / "tensorboard").exists() and len(read_metrics(tmp_path)) == 1
    (tmp_path / "b").mkdir()
    log = MetricsLog(tmp_path / "b", None)
    with pytest.raises(GanasError, match="missing.png"):
        log.add_image("x", tmp_path / "missing.png", 1)
    log.close()


def test_train_config_coerces_and_validates():
    cfg = replace(TrainConfig(), {"steps": "20", "progress": "false", "precision": "bf16", "keep_checkpoints": "2"})
    assert (cfg.steps, cfg.progress, cfg.precision, cfg.keep_checkpoints) == (20, False, "bf16", 2)
    assert TrainConfig().keep_checkpoints == 3 and TrainConfig().num_workers == 0
    assert TrainConfig().steps is None and TrainConfig().epochs is None and TrainConfig().n_samples is None
    assert replace(TrainConfig(), {"epochs": "3"}).epochs == 3
    with pytest.raises(ConfigError, match="steps .*and epochs .*both set"):
        replace(TrainConfig(), {"steps": 3, "epochs": 2})
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        replace(TrainConfig(), {"epochs": 0})
    assert replace(replace(TrainConfig(), {"steps": 3}), {"steps": "none", "epochs": 2}).epochs == 2
    with pytest.raises(ConfigError, match="valid: .*checkpoint_every"):
        replace(TrainConfig(), {"stepz": 3})
    with pytest.raises(ConfigError, match="steps must be >= 1"):
        replace(TrainConfig(), {"steps": 0})
    with pytest.raises(ConfigError, match="precision"):
        replace(TrainConfig(), {"precision": "fp16"})
    assert to_dict(cfg)["steps"] == 20


def test_training_length_from_steps_epochs_or_the_method():
    from ganas.train.config import resolve_n_samples, resolve_plan

    tc = TrainConfig()
    assert resolve_plan(tc, {}, 7).total_steps == 1000  # nothing said: 1000 steps
    plan = resolve_plan(tc, {"epochs": 3}, 7)  # junyanz: n_epochs + n_epochs_decay
    assert (plan.total_steps, plan.steps_per_epoch, plan.total_epochs) == (21, 7, 3)
    assert resolve_plan(tc, {"steps": 5}, 7).total_steps == 5
    assert resolve_plan(TrainConfig(epochs=2), {"steps": 5}, 7).total_steps == 14  # the user's choice wins
    plan = resolve_plan(TrainConfig(steps=10), {"epochs": 3}, 4)
    assert (plan.total_steps, plan.total_epochs) == (10, 3)  # the last epoch is partial
    assert [plan.epoch_of(s) for s in (1, 4, 5, 10)] == [0, 0, 1, 2]
    assert [s for s in range(1, 11) if plan.ends_epoch(s)] == [4, 8]
    assert resolve_n_samples(tc, {}) == 64 and resolve_n_samples(tc, {"n_samples": 8}) == 8
    assert resolve_n_samples(TrainConfig(n_samples=3), {"n_samples": 8}) == 3


def test_device_precision_memory_format():
    expect = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto").type == expect
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="device"):
        resolve_device("nonsense")
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "fp32" and resolve_precision("auto", torch.device("cuda")) == "bf16"
    lin = torch.nn.Linear(4, 4)
    with autocast_factory("bf16", cpu)():
        assert lin(torch.randn(2, 4)).dtype == torch.bfloat16
    with autocast_factory("fp32", cpu)():
        assert lin(torch.randn(2, 4)).dtype == torch.float32
    assert resolve_memory_format("auto") == torch.contiguous_format
    assert resolve_memory_format("channels_last") == torch.channels_last
    assert resolve_memory_format("auto", preferred="channels_last") == torch.channels_last
