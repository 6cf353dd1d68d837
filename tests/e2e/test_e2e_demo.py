"""End to end: ``ganas demo`` (``make demo``) on a few steps leaves every file it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ganas import layout
from ganas.workflows import EVAL_N
from ganas.workflows.gan import DEMO_SETS


@pytest.mark.slow  # trains the demo's 32 px metric classifier (cold cache) and scores 2,000 samples
def test_demo_leaves_samples_curves_evaluation_and_report(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = cli("demo", "--out", out, "--steps", 3, "--quiet", "--device", "cpu")
    assert res.rc == 0, res.err
    # the README's list: samples.png, interpolation.png, losses.svg, grids over time,
    # metrics.jsonl, eval.json and a self-contained report.html
    for name in (layout.DEMO_SAMPLES, layout.DEMO_INTERPOLATION, layout.LOSS_CURVES, layout.METRICS,
                 layout.EVAL, layout.REPORT):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert list((out / "samples").glob("*.png")), "no sample grid over time"
    cfg = yaml.safe_load((out / layout.RUN_CONFIG).read_text())
    assert (cfg["method"], cfg["data"]) == ("dcgan", "digits")
    for key in ("image_size", "channels", "ngf", "ndf"):  # the demo's network, not the defaults
        assert cfg["config"][key] == DEMO_SETS[key], key
    ev = json.loads((out / layout.EVAL).read_text())
    assert ev["step"] == 3
    assert ev["n"] == EVAL_N  # the one evaluation size, as `ganas eval`, so the figures compare
    assert ev["fd_real_floor"] > 0 and ev["fd"] > ev["fd_real_floor"]  # 3 steps: far from real
    assert str(out / layout.REPORT) in res.out
    assert "train" in res.out and "evaluate" in res.out  # the time of each part is printed
    assert "Latest evaluation" in (out / layout.REPORT).read_text()  # written after eval.json
