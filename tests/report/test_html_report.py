"""report.html of a run and of a search: self-contained, the latest evaluation, named grids."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from ganas.report import write_run_report, write_search_report
from ganas.report.html import evaluations, visual_grids


def _external_urls(html: str) -> list[str]:
    return [u for u in re.findall(r"https?://[^\s\"'<>)]+", html) if u != "http://www.w3.org/2000/svg"]


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", html, flags=re.S)


def _png(path: Path, value: int = 0, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def _run(tmp_path: Path, method: str = "dcgan", steps: range = range(5, 100, 5)) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"method": method, "data": "shapes"}))
    rows = [{"step": s, "losses": {"loss_D": 1.0 / s, "loss_G": 2.0}, "images_per_s": 100.0, "elapsed": s}
            for s in steps]
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{torn")
    return tmp_path


def _set_mtime(path: Path, t: float) -> None:
    os.utime(path, (t, t))


def test_run_report_is_self_contained_with_valid_charts(tmp_path):
    run = _run(tmp_path)
    for s in (5, 10, 15):
        _png(run / "samples" / f"step_{s:06d}.png", s)
    html = write_run_report(run).read_text()
    assert _external_urls(html) == []
    assert not re.search(r"""src\s*=\s*["'](?!data:)""", html)  # every image inlined
    svgs = _svgs(html)
    assert svgs
    ids = []
    for svg in svgs:
        ET.fromstring(svg)  # each inline chart is well-formed XML
        ids += re.findall(r'\bid="([^"]+)"', svg)
    assert len(ids) == len(set(ids))  # no id shared by two charts of the page
    assert "loss_D" in html and "loss_G" in html and "step 15" in html


def test_loss_axis_says_loss_and_units_come_from_the_method(tmp_path):
    dcgan = write_run_report(_run(tmp_path / "a", "dcgan")).read_text()
    assert ">loss<" in dcgan and "loss_D [BCE real + BCE fake]" in dcgan  # DCGAN declares its losses
    other = write_run_report(_run(tmp_path / "b", "some_plugin_method")).read_text()
    assert ">loss<" in other and "BCE" not in other  # no unit claimed for a method that declares none


def test_a_single_logged_point_is_visible(tmp_path):
    run = _run(tmp_path, steps=range(5, 6))
    html = write_run_report(run).read_text()
    (loss_svg,) = [s for s in _svgs(html) if "loss_D" in s]
    assert "<use" in loss_svg  # a marker per point; a one-point polyline would draw nothing


def test_learning_rates_get_their_own_chart(tmp_path):
    run = _run(tmp_path)
    assert "learning rate" not in write_run_report(run).read_text()
    rows = [{"step": s, "losses": {"loss_G": 1.0}, "lr": {"G": 1e-3 * (1 - s / 20)}} for s in range(1, 20)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    html = write_run_report(run).read_text()
    assert "learning rate" in html and "lr G" in html


def test_the_latest_evaluation_is_shown_not_one_from_before_a_resume(tmp_path):
    run = _run(tmp_path)
    # `ganas eval` at step 40, then training resumed and --eval-every logged steps 50 and 90
    (run / "eval.json").write_text(json.dumps({"step": 40, "fd": 7.25, "n": 2000, "coverage": {"a": 1.0}}))
    _set_mtime(run / "eval.json", 1_000_000)
    (run / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (
        {"step": 50, "fd": 6.5, "fd_real_floor": 1.0, "n": 2000},
        {"step": 90, "fd": 3.125, "fd_real_floor": 1.0, "n": 2000})))
    _set_mtime(run / "evals.jsonl", 2_000_000)
    assert [(r["step"], r["source"]) for r in evaluations(run)] == [
        (40, "ganas eval"), (50, "--eval-every"), (90, "--eval-every")]
    html = write_run_report(run).read_text()
    latest = html.split("<h2>Latest evaluation</h2>", 1)[1].split("<h2>", 1)[0]
    assert "step 90" in latest and "3.125" in latest and "7.25" not in latest
    assert "trained to step 95 since" in latest  # metrics.jsonl goes to step 95
    history = html.split("<h2>Metrics during training</h2>", 1)[1]
    assert "real floor" in history and "ganas eval" in history and "--eval-every" in history

    # a `ganas eval` after training at the same step as the last --eval-every wins (newer)
    (run / "eval.json").write_text(json.dumps({"step": 90, "fd": 2.5, "n": 2000}))
    _set_mtime(run / "eval.json", 3_000_000)
    latest = write_run_report(run).read_text().split("<h2>Latest evaluation</h2>", 1)[1].split("<h2>", 1)[0]
    assert "ganas eval" in latest and "2.5" in latest and "3.125" not in latest
    # a record's own "time" wins over its file's modification time
    (run / "eval.json").write_text(json.dumps({"step": 90, "fd": 2.5, "time": 1.0}))
    assert evaluations(run)[-1]["source"] == "--eval-every"


def test_eval_json_alone_with_coverage(tmp_path):
    run = _run(tmp_path)
    (run / "eval.json").write_text(json.dumps({"step": 95, "fd": 3.5, "coverage": {"a": 0.5, "b": 0.5}}))
    html = write_run_report(run).read_text()
    assert "class coverage" in html and "3.5" in html and "trained to step" not in html
    assert "Metrics during training" not in html  # one evaluation: a table, no history chart


def test_named_visual_grids_latest_of_each_and_a_strip_of_the_main_one(tmp_path):
    run = _run(tmp_path)
    for s in (10, 20, 30):
        _png(run / "samples" / "AtoB" / f"step_{s:06d}.png", s)
        _png(run / "samples" / "BtoA" / f"step_{s:06d}.png", 100 + s)
    _png(run / "samples" / "BtoA" / "step_000040.png", 140)
    grids = visual_grids(run)
    assert list(grids) == ["AtoB", "BtoA"] and [p.name for p in grids["BtoA"]][-1] == "step_000040.png"
    html = write_run_report(run, max_grids=2).read_text()
    latest = html.split("<h2>Latest samples</h2>", 1)[1].split("<h2>", 1)[0]
    assert "AtoB, step 30" in latest and "BtoA, step 40" in latest and latest.count("<img") == 2
    strip = html.split("<h2>AtoB over time", 1)[1].split("<h2>", 1)[0]
    assert strip.count("<img") == 2 and "step 10" in strip and "step 30" in strip  # first and last kept

    old = _run(tmp_path / "old")  # an older run: samples/step_XXXXXX.png, the main grid
    for s in (5, 10):
        _png(old / "samples" / f"step_{s:06d}.png")
    _png(old / "samples" / "extra" / "step_000010.png")
    assert list(visual_grids(old)) == ["samples", "extra"]
    html = write_run_report(old).read_text()
    assert "<h2>samples over time" in html and "extra, step 10" in html


def test_search_report(tmp_path):
    (tmp_path / "search.yaml").write_text(yaml.safe_dump({"space": "nb201", "strategy": "random"}))
    rows = [{"i": i, "arch": f"a{i}", "reward": r, "metrics": {"test_acc": r + 1}}
            for i, r in enumerate([1, 3, float("nan"), 2])]
    (tmp_path / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    html = write_search_report(tmp_path).read_text()
    assert "a1" in html and "search progress" in html and "reported test accuracy of the best so far" in html
    assert _external_urls(html) == [] and len(_svgs(html)) == 2
    assert write_search_report(tmp_path).read_text() == html  # deterministic: same search, same page
    # the search's own PNG of the curve is not shown twice; other figures are
    (tmp_path / "search.json").write_text(json.dumps({"plot": "best_so_far.png"}))
    _png(tmp_path / "best_so_far.png")
    _png(tmp_path / "extra.png")
    html = write_search_report(tmp_path).read_text()
    assert html.count("data:image/png;base64,") == 1 and "extra.png" in html


def test_unchanged_charts_are_not_redrawn_changed_ones_are(tmp_path, monkeypatch):
    from ganas.report import charts

    calls = []
    real = charts.eval_chart
    monkeypatch.setattr(charts, "eval_chart", lambda **kw: calls.append(1) or real(**kw))
    run = _run(tmp_path)
    evals = [{"step": 10, "fd": 8.875, "n": 64}, {"step": 20, "fd": 6.375, "n": 64}]
    (run / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    first = write_run_report(run).read_text()
    assert write_run_report(run).read_text() == first and len(calls) == 1  # same data: drawn once
    (run / "evals.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals + [{"step": 30, "fd": 1.0}]))
    second = write_run_report(run).read_text()
    assert len(calls) == 2 and second != first  # a new evaluation: the history is drawn again
