"""The progress display, TrainConfig options and device/precision resolution."""

from __future__ import annotations

import io
import re

import pytest
import torch

from ganas.config import replace, to_dict
from ganas.errors import ConfigError
from ganas.train import TrainConfig, resolve_device
from ganas.train.config import autocast_factory, resolve_memory_format, resolve_precision
from ganas.train.progress import Progress, format_duration


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_tty():
    out = io.StringIO()
    p = Progress(total=10, enabled=True, stream=out)
    p.update(1, {"loss_D": 1.5}, 10.0)  # not a log step: nothing
    p.update(5, {"loss_D": 1.25, "loss_G": 0.5}, 123.4, log_line=True)
    p.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and "\r" not in out.getvalue()
    assert re.search(r"5/10 loss_D=1\.25 loss_G=0\.5 123\.4 img/s ETA \d\d:\d\d", lines[0])


def test_tty_bar_is_rate_limited():
    out = FakeTTY()
    p = Progress(total=100, stream=out, min_interval=3600.0)
    for s in range(1, 50):
        p.update(s, {"l": 0.1}, 1.0)
    assert out.getvalue().count("\r") == 1  # the first draw only
    p.update(100, {"l": 0.1}, 1.0)  # the last step always draws
    p.write("saved")
    p.close()
    text = out.getvalue()
    assert "100/100" in text and "saved\n" in text


def test_disabled_progress_prints_nothing():
    out = FakeTTY()
    p = Progress(total=3, enabled=False, stream=out)
    p.update(3, {}, 1.0, log_line=True)
    p.write("x")
    assert out.getvalue() == ""
    assert format_duration(3725) == "1:02:05" and format_duration(65) == "01:05"


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
