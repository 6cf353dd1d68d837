"""matplotlib charts: markers for short series, labels by key, inline SVG that can share a page."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from ganas.report import charts


def _lines(fig):
    return [ln for ax in fig.axes for ln in ax.get_lines()]


def _ids_and_refs(svg: str) -> tuple[list[str], set[str]]:
    ids = re.findall(r'\bid="([^"]+)"', svg)
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    return ids, refs


def test_a_single_point_is_drawn_with_a_marker():
    fig = charts.line_chart({"loss_D": ([7], [0.5])}, xlabel="step", ylabel="loss")
    (line,) = _lines(fig)
    assert line.get_marker() == "o" and line.get_markersize() > 0
    assert list(line.get_xdata()) == [7.0] and list(line.get_ydata()) == [0.5]
    svg = charts.inline_svg(fig, "c1")
    assert "<use" in svg  # matplotlib draws markers as <use> of one marker path


def test_long_series_are_lines_and_smoothing_keeps_the_raw_curve_faint():
    xs = list(range(100))
    ys = [float(i % 7) for i in xs]
    fig = charts.line_chart({"loss_G": (xs, ys)}, smooth=5)
    raw, avg = _lines(fig)
    assert raw.get_alpha() < 1 and list(raw.get_ydata()) == ys
    assert np.allclose(avg.get_ydata(), charts.moving_average(np.array(ys), 5))
    assert avg.get_label() == "loss_G" and avg.get_marker() in ("None", None, "")


def test_moving_average_is_trailing_and_shorter_at_the_start():
    got = charts.moving_average(np.array([1.0, 3.0, 5.0, 7.0]), 2)
    assert got.tolist() == [1.0, 2.0, 4.0, 6.0]


def test_non_finite_points_are_dropped_and_empty_says_no_data():
    fig = charts.line_chart({"a": ([1, 2, 3], [1.0, float("nan"), float("inf")])})
    (line,) = _lines(fig)
    assert list(line.get_xdata()) == [1.0]
    empty = charts.line_chart({"a": ([], [])})
    assert not _lines(empty) and "no data" in charts.inline_svg(empty, "c9")


def test_inline_svgs_are_xml_with_ids_of_their_own():
    a = charts.inline_svg(charts.line_chart({"x": ([1, 2], [1, 2])}), "c1")
    b = charts.inline_svg(charts.line_chart({"x": ([1, 2], [1, 2])}), "c2")
    for svg, uid in ((a, "c1"), (b, "c2")):
        assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg
        assert "xlink" not in svg
        ET.fromstring(svg)  # well-formed
        ids, refs = _ids_and_refs(svg)
        assert ids and all(i.startswith(uid + "-") for i in ids)
        assert refs and refs <= set(ids)  # every reference resolves inside the same chart
    assert not set(_ids_and_refs(a)[0]) & set(_ids_and_refs(b)[0])
    # the same data gives the same markup (deterministic pages)
    assert a == charts.inline_svg(charts.line_chart({"x": ([1, 2], [1, 2])}), "c1")
    assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", a)


def _rows():
    rows = []
    for s in range(1, 11):
        losses = {"loss_G": 1.0 + s, "D_x": 0.5}
        if s % 2 == 0:  # several D updates per G update: D reports on some steps only
            losses["loss_D"] = 0.1 * s
        rows.append({"step": s, "losses": losses, "images_per_s": 10.0})
    return rows


def test_loss_chart_names_series_by_key_and_plots_each_where_logged():
    fig = charts.loss_chart(_rows(), units={"loss_G": "L1"}, smooth=1)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "loss" and ax.get_xlabel() == "step"
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"loss_D", "loss_G [L1]"}  # D_x is not a loss
    assert list(lines["loss_D"].get_xdata()) == [2, 4, 6, 8, 10]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["loss_D", "loss_G [L1]"]
    assert "BCE" not in charts.inline_svg(fig, "c1")
    probes = charts.probe_chart(_rows())
    assert [ln.get_label() for ln in probes.axes[0].get_lines()] == ["D_x"]
    assert charts.loss_chart([{"step": 1}]) is None


def test_lr_chart_only_when_learning_rates_are_logged():
    assert charts.lr_chart(_rows()) is None
    rows = [{"step": s, "losses": {}, "lr": {"G": 2e-4 * (1 - s / 10), "D": 2e-4}} for s in range(1, 11)]
    fig = charts.lr_chart(rows)
    labels = sorted(ln.get_label() for ln in fig.axes[0].get_lines())
    assert labels == ["lr D", "lr G"] and fig.axes[0].get_ylabel() == "learning rate"
    (g,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "lr G"]
    assert math.isclose(g.get_ydata()[-1], 0.0, abs_tol=1e-12)


def test_eval_chart_one_panel_per_figure_with_floor_and_sources():
    recs = [{"step": 100, "fd": 9.0, "fd_real_floor": 1.0, "precision": 0.2, "n": 1000, "source": "--eval-every"},
            {"step": 200, "fd": 5.0, "fd_real_floor": 1.1, "precision": 0.4, "n": 1000, "source": "--eval-every"},
            {"step": 200, "fd": 4.0, "fd_real_floor": 0.9, "precision": 0.5, "n": 2000, "source": "ganas eval"}]
    assert charts.eval_keys(recs) == ["fd", "precision"]
    fig = charts.eval_chart(recs)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title(loc="left") for ax in visible] == ["fd", "precision"]
    fd_lines = {ln.get_label(): list(ln.get_ydata()) for ln in visible[0].get_lines()}
    assert fd_lines == {"--eval-every": [9.0, 5.0], "ganas eval": [4.0], "real floor": [1.0, 1.1, 0.9]}
    assert charts.eval_chart([{"step": 1, "n": 5}]) is None


def test_search_curve_png_and_chart(tmp_path):
    rewards = [1.0, 3.0, 2.0, float("nan"), 4.0]
    best = [1.0, 3.0, 3.0, 3.0, 4.0]
    fig = charts.search_chart(best, rewards, title="t")
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == best and ax.get_xlabel() == "evaluations" and ax.get_ylabel() == "reward"
    assert line.get_drawstyle() == "steps-post"  # a running best is a step function
    (dots,) = ax.collections
    assert dots.get_offsets().shape == (4, 2)  # the NaN reward is left out
    p = charts.write_search_curve(tmp_path / "best.png", best, rewards, title="t")
    with Image.open(p) as im:
        assert im.format == "PNG" and im.width >= 600
    one = charts.search_chart([2.0], [2.0])  # one evaluation: still a visible point
    assert one.axes[0].get_lines()[0].get_marker() == "o"


def test_write_loss_curves_is_a_standalone_svg(tmp_path):
    import json

    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows()))
    p = charts.write_loss_curves(tmp_path)
    text = p.read_text()
    root = ET.fromstring(text.encode())
    assert root.tag.endswith("svg") and "loss_D" in text and ">loss<" in text and "BCE" not in text
