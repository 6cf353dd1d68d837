"""Every chart ganas draws, by matplotlib: loss, learning-rate and evaluation curves of a
run, and the progress of an architecture search.

Figures are built on ``matplotlib.figure.Figure`` (no pyplot: no global figure state, so
charts can be drawn from any thread and never open a window); PNGs are rendered by Agg,
SVGs by matplotlib's SVG backend with text kept as text. ``inline_svg`` turns a figure into
markup for a self-contained HTML page; ``save_figure`` writes a standalone file.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..fileio import atomic_write_bytes, atomic_write_text, read_jsonl
from ..layout import LOSS_CURVES, METRICS

#: a series: (xs, ys)
XY = tuple[Sequence[float], Sequence[float]]

#: series with at most this many points are drawn with a marker on every point, so a
#: single logged point (or a few) is visible; longer ones as lines
MARKER_MAX_POINTS = 25

_RC = {
    "svg.fonttype": "none",   # text stays <text> (searchable, small), not glyph paths
    "svg.hashsalt": "ganas",  # deterministic ids: the same data gives the same page
    "font.size": 9.0,
    "axes.grid": True,
    "grid.color": "#e6e6e6",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.formatter.limits": (-3, 4),  # 2e-4 as 2 with a "1e-4" offset, not 0.00020
    "legend.frameon": True,
    "legend.framealpha": 0.8,
    "legend.edgecolor": "#dddddd",
}
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}

WIDE = (7.0, 3.2)   # inches: a main chart
SMALL = (7.0, 2.2)  # a secondary one (learning rates)
SEARCH = (6.4, 4.0)  # the search curve: 640 x 400 px as PNG at 100 dpi


def _finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def moving_average(ys: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (fewer at the start), same length as ``ys``."""
    if window <= 1 or len(ys) == 0:
        return ys
    c = np.cumsum(np.insert(ys, 0, 0.0))
    idx = np.arange(1, len(ys) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


#: margins and gaps between panels, in inches. Fixed, not a layout engine's: constrained
#: layout measured every text twice and made a report take seconds per checkpoint; with
#: legends inside the axes and short tick labels, fixed margins fit every chart here.
_LEFT, _RIGHT, _BOTTOM, _TOP, _WGAP, _HGAP = 0.8, 0.2, 0.5, 0.35, 0.6, 0.75


def new_figure(size: tuple[float, float] = WIDE, rows: int = 1, cols: int = 1) -> tuple[Figure, Any]:
    """A figure with ``rows x cols`` axes (one Axes when 1x1), with fixed margins."""
    w, h = size
    aw = (w - _LEFT - _RIGHT - (cols - 1) * _WGAP) / cols  # one panel's size
    ah = (h - _BOTTOM - _TOP - (rows - 1) * _HGAP) / rows
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=size)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=_LEFT / w, right=1 - _RIGHT / w, bottom=_BOTTOM / h, top=1 - _TOP / h,
                            wspace=_WGAP / aw, hspace=_HGAP / ah)
        axes = fig.subplots(rows, cols, squeeze=True)
    return fig, axes


def plot_series(ax: Any, series: Mapping[str, XY], smooth: int = 1, drawstyle: str = "default") -> int:
    """Draw each named series on ``ax``; returns how many had a finite point.

    Short series get a marker on each point (a single point is a dot, not nothing). With
    ``smooth > 1`` a long series is drawn faint and its moving average over it.
    ``drawstyle="steps-post"`` draws a running best as the step function it is.
    """
    drawn = 0
    with matplotlib.rc_context(_RC):
        for i, (name, (xs, ys)) in enumerate(series.items()):
            x, y = _finite(xs, ys)
            if len(x) == 0:
                continue
            colour = f"C{i % 10}"
            if smooth > 1 and len(x) > 2 * smooth:
                ax.plot(x, y, color=colour, alpha=0.25, linewidth=0.8)
                ax.plot(x, moving_average(y, smooth), color=colour, linewidth=1.5, label=name)
            else:
                marker = "o" if len(x) <= MARKER_MAX_POINTS else None
                ax.plot(x, y, color=colour, linewidth=1.5, marker=marker, markersize=4, label=name,
                        drawstyle=drawstyle)
            drawn += 1
    return drawn


def _finish_axes(ax: Any, drawn: int, title: str = "", xlabel: str = "", ylabel: str = "",
                 legend: bool = True) -> None:
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if drawn == 0:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="#888")
    elif legend:  # inside the axes: its width never depends on the viewer's fonts
        ax.legend(loc="best", fontsize=8)


def line_chart(series: Mapping[str, XY], title: str = "", xlabel: str = "", ylabel: str = "",
               smooth: int = 1, size: tuple[float, float] = WIDE, drawstyle: str = "default") -> Figure:
    """One axes with every named ``(xs, ys)`` series; non-finite points are dropped."""
    fig, ax = new_figure(size)
    _finish_axes(ax, plot_series(ax, series, smooth, drawstyle), title, xlabel, ylabel)
    return fig


# -- output -------------------------------------------------------------------------------
def svg_text(fig: Figure) -> str:
    """The figure as a standalone SVG document."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata=_NO_METADATA)
    return buf.getvalue()


def inline_svg(fig: Figure, uid: str) -> str:
    """The figure as an ``<svg>`` element to put in an HTML page beside other charts.

    The XML prolog and DOCTYPE go (they are invalid inside HTML), ``xlink:href`` becomes
    SVG 2's ``href``, and every id gets the prefix ``uid`` so that several charts on one
    page never share an id.
    """
    svg = svg_text(fig)
    svg = svg[svg.index("<svg"):]
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "").replace("xlink:href=", "href=")
    svg = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{uid}-{m.group(1)}"', svg)
    svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{uid}-{m.group(2)}", svg)
    return svg.replace("<svg ", '<svg class="chart" ', 1).strip()


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write the figure to ``path`` (atomic): SVG or PNG by the file's suffix."""
    p = Path(path)
    if p.suffix.lower() == ".svg":
        atomic_write_text(p, svg_text(fig))
    elif p.suffix.lower() == ".png":
        buf = io.BytesIO()
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        atomic_write_bytes(p, buf.getvalue())
    else:
        raise ValueError(f"{p}: charts are written as .svg or .png")
    return p


# -- charts of a run ------------------------------------------------------------------------
def _keyed_series(rows: Iterable[Mapping[str, Any]], field: str,
                  keep: Any = lambda k: True) -> dict[str, tuple[list[float], list[float]]]:
    """``{key: (steps, values)}`` of ``row[field][key]``, each key only where a row has it."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for r in rows:
        table = r.get(field)
        if "step" not in r or not isinstance(table, Mapping):
            continue
        for k, v in table.items():
            if keep(k) and isinstance(v, (int, float)) and not isinstance(v, bool):
                xs, ys = out.setdefault(str(k), ([], []))
                xs.append(float(r["step"]))
                ys.append(float(v))
    return dict(sorted(out.items()))


def _label(key: str, units: Mapping[str, str]) -> str:
    return f"{key} [{units[key]}]" if units.get(key) else key


def loss_chart(rows: Sequence[Mapping[str, Any]], units: Mapping[str, str] | None = None,
               smooth: int = 5) -> Figure | None:
    """The ``losses`` of ``metrics.jsonl`` records against step, one series per key (named
    by its key and, where the method declares it, its unit); None when nothing is logged."""
    series = _keyed_series(rows, "losses", lambda k: str(k).startswith("loss"))
    if not series:
        return None
    units = units or {}
    return line_chart({_label(k, units): xy for k, xy in series.items()},
                      title="losses", xlabel="step", ylabel="loss", smooth=smooth)


def probe_chart(rows: Sequence[Mapping[str, Any]], smooth: int = 5) -> Figure | None:
    """Logged values that are not losses (e.g. ``D_real``, ``D_fake``: D's mean outputs)."""
    series = _keyed_series(rows, "losses", lambda k: not str(k).startswith("loss"))
    if not series:
        return None
    return line_chart(series, title="other logged values", xlabel="step", ylabel="value", smooth=smooth)


def lr_chart(rows: Sequence[Mapping[str, Any]]) -> Figure | None:
    """Learning rates (records' ``"lr": {"G": .., "D": ..}``) against step, or None."""
    series = _keyed_series(rows, "lr")
    if not series:
        return None
    return line_chart({f"lr {k}": xy for k, xy in series.items()}, title="learning rate",
                      xlabel="step", ylabel="learning rate", size=SMALL)


#: evaluation fields that are bookkeeping, not figures to chart
_EVAL_SKIP = frozenset({"step", "time", "seed", "n", "classifier_accuracy"})
FLOOR_SUFFIX = "_real_floor"


def eval_keys(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The numeric figures of evaluation records, in first-seen order (``fd`` first)."""
    keys: dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if (k in _EVAL_SKIP or k.startswith("n_") or k.startswith("_") or k.endswith(FLOOR_SUFFIX)
                    or not isinstance(v, (int, float)) or isinstance(v, bool)):
                continue
            keys[k] = None
    return sorted(keys, key=lambda k: (k != "fd", list(keys).index(k)))


def eval_chart(records: Sequence[Mapping[str, Any]], max_keys: int = 6) -> Figure | None:
    """Evaluation figures against step, one panel each; ``KEY_real_floor`` is drawn on
    KEY's panel. Records carry ``"source"`` (e.g. ``--eval-every``, ``ganas eval``): one
    series per source, so a ``ganas eval`` after training stands out from the history."""
    keys = eval_keys(records)[:max_keys]
    if not keys:
        return None
    cols = min(len(keys), 3)
    nrows = math.ceil(len(keys) / cols)
    fig, axes = new_figure((WIDE[0], 2.3 * nrows), nrows, cols)
    flat = list(np.atleast_1d(axes).ravel())
    sources = list(dict.fromkeys(str(r.get("source", "")) for r in records))
    for ax, key in zip(flat, keys):
        series: dict[str, XY] = {}
        for src in sources:
            rs = [r for r in records if str(r.get("source", "")) == src and "step" in r]
            series[src or key] = ([r["step"] for r in rs], [r.get(key, math.nan) for r in rs])
        floor = key + FLOOR_SUFFIX
        rs = [r for r in records if isinstance(r.get(floor), (int, float)) and "step" in r]
        if rs:
            series["real floor"] = ([r["step"] for r in rs], [r[floor] for r in rs])
        drawn = plot_series(ax, series)
        _finish_axes(ax, drawn, title=key, xlabel="step", legend=False)
        if ax is flat[0] and drawn:
            ax.legend(fontsize=7, loc="best")
    for ax in flat[len(keys):]:
        ax.set_visible(False)
    return fig


def write_loss_curves(run_dir: str | Path) -> Path:
    """``RUN_DIR/losses.svg``: the loss curves of the run's ``metrics.jsonl``."""
    run = Path(run_dir)
    fig = loss_chart(read_jsonl(run / METRICS)) or line_chart({}, title="losses", xlabel="step",
                                                                     ylabel="loss")
    return save_figure(fig, run / LOSS_CURVES)


# -- charts of a search ---------------------------------------------------------------------
def search_chart(best: Sequence[float], rewards: Sequence[float] | None = None, title: str = "") -> Figure:
    """Best reward so far (line) and every evaluation's reward (dots) against evaluations."""
    fig, ax = new_figure(SEARCH)
    drawn = 0
    with matplotlib.rc_context(_RC):
        if rewards:
            x, y = _finite(range(1, len(rewards) + 1), rewards)
            if len(x):
                ax.scatter(x, y, s=9, color="#999999", label="reward", zorder=2)
                drawn += 1
    drawn += plot_series(ax, {"best so far": (range(1, len(best) + 1), best)}, drawstyle="steps-post")
    _finish_axes(ax, drawn, title, "evaluations", "reward")
    return fig


def write_search_curve(path: str | Path, best: Sequence[float], rewards: Sequence[float] | None = None,
                       title: str = "") -> Path:
    """The search's best-so-far curve as a PNG (or SVG) file: ``search_chart`` saved."""
    return save_figure(search_chart(best, rewards, title), path)
