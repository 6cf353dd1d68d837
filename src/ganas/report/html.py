"""Self-contained ``report.html`` for a run directory or a search directory.

Everything is inlined (matplotlib's SVG charts, PNGs as data URIs), so the file opens in
a browser from disk, with no server and no network.
"""

from __future__ import annotations

import base64
import functools
import html
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml
from PIL import Image

from ..fileio import atomic_write_text, read_jsonl
from ..layout import EVAL, EVALS, JOURNAL, METRICS, REPORT, RUN_CONFIG, SAMPLES, SEARCH_REPORT, SUMMARY, read_search_config
from ..nas.best import running_best
from . import charts

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid figure{margin:0}figcaption{font-size:.8em;color:#555}
img.pix{image-rendering:pixelated;max-width:100%;height:auto}code{background:#f4f4f4;padding:1px 4px}
svg.chart{max-width:100%;height:auto;display:block;margin:.5em 0}.note{color:#a40}
"""


def _img_tag(path: Path, width: int | None = None, caption: str = "", min_width: int = 0) -> str:
    """A PNG as a data URI; ``min_width`` scales small grids up (pixelated), never down."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    if width is None and min_width:
        with Image.open(path) as im:
            width = min_width if im.width < min_width else None
    w = f' width="{width}"' if width else ""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img class="pix" src="data:image/png;base64,{data}"{w}>{cap}</figure>'


def _table(rows: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _page(title: str, body: list[str]) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>")


def _step_of(p: Path) -> int:
    m = re.search(r"(\d+)", p.stem)
    return int(m.group(1)) if m else -1


@functools.lru_cache(maxsize=16)
def _chart_svg(uid: str, kind: str, args_json: str) -> str:
    fig = getattr(charts, kind)(**json.loads(args_json))
    return "" if fig is None else charts.inline_svg(fig, uid)


class _Charts:
    """Draws the charts of one page: numbers them, so their SVG ids never clash, and
    remembers the SVG of each (chart, data): the report is rewritten at every checkpoint,
    and an evaluation history that did not change is not drawn again."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, kind: str, **args: Any) -> str:
        """``charts.<kind>(**args)`` as inline SVG ('' when it has nothing to show)."""
        self.n += 1
        return _chart_svg(f"c{self.n}", kind, json.dumps(args, sort_keys=True, default=list))


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _loss_units(method: Any) -> dict[str, str]:
    """The units a method class declares for its losses (``loss_units = {"loss_D": ..}``),
    or none when it declares none or is not installed."""
    try:
        from ..gan import METHODS

        cls = METHODS.get(str(method)).factory
    except Exception:  # an unknown or plugin method: the report still works, without units
        return {}
    units = getattr(cls, "loss_units", None)
    return {str(k): str(v) for k, v in units.items()} if isinstance(units, Mapping) else {}


def visual_grids(run: Path) -> dict[str, list[Path]]:
    """``{name: grids by step}`` of a run: ``samples/<name>/step_XXXXXX.png`` (the method's
    named visuals) and ``samples/step_XXXXXX.png`` (older runs; named ``samples``)."""
    out: dict[str, list[Path]] = {}
    root = run / SAMPLES
    flat = sorted(root.glob("step_*.png"), key=_step_of)
    if flat:
        out["samples"] = flat
    for sub in sorted(p for p in root.glob("*") if p.is_dir()):
        grids = sorted(sub.glob("step_*.png"), key=_step_of)
        if grids:
            out.setdefault(sub.name, [])
            out[sub.name] = sorted(out[sub.name] + grids, key=_step_of)
    return out


def evaluations(run: Path) -> list[dict[str, Any]]:
    """Every evaluation of a run, oldest first: ``evals.jsonl`` (``--eval-every``) and
    ``eval.json`` (``ganas eval``), each with ``"source"``. Ordered by step, then by
    time (a record's ``"time"``, else its file's modification time), so the last one is
    the latest even when ``eval.json`` was written before a resume trained further."""
    recs: list[dict[str, Any]] = []
    path = run / EVALS
    for r in read_jsonl(path):
        recs.append({**r, "source": "--eval-every", "_time": _when(r, path)})
    path = run / EVAL
    if path.exists():
        try:
            ev = json.loads(path.read_text())
        except json.JSONDecodeError:
            ev = None
        if isinstance(ev, dict):
            recs.append({**ev, "source": "ganas eval", "_time": _when(ev, path)})

    def key(r: Mapping[str, Any]) -> tuple[float, float]:
        step = r.get("step")
        return (float(step) if isinstance(step, (int, float)) else -1.0, float(r["_time"]))

    return sorted(recs, key=key)


def _when(record: Mapping[str, Any], path: Path) -> float:
    """A record's ``"time"`` (seconds since the epoch) when it has one, else its file's mtime."""
    t = record.get("time")
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else path.stat().st_mtime


def _grid_section(grids: Mapping[str, list[Path]], max_grids: int) -> list[str]:
    if not grids:
        return []
    main = "samples" if "samples" in grids else next(iter(grids))
    body = ["<h2>Latest samples</h2><div class='grid'>" + "".join(
        _img_tag(g[-1], caption=f"{name}, step {_step_of(g[-1])}", min_width=256) for name, g in grids.items())
        + "</div>"]
    strip = grids[main]
    if len(strip) > 1:
        if len(strip) > max_grids:  # evenly spaced, always keeping the first and the last
            idx = sorted({round(i * (len(strip) - 1) / (max_grids - 1)) for i in range(max_grids)})
            strip = [strip[i] for i in idx]
        body.append(f"<h2>{html.escape(main)} over time (fixed inputs)</h2><div class='grid'>"
                    + "".join(_img_tag(g, 160, f"step {_step_of(g)}") for g in strip) + "</div>")
    return body


def _eval_section(evals: list[dict[str, Any]], trained_to: int | None, chart: _Charts) -> list[str]:
    if not evals:
        return []
    latest = evals[-1]
    step = latest.get("step")
    head = f"<h2>Latest evaluation</h2><p>step {html.escape(str(step))}, by <code>{latest['source']}</code>"
    if isinstance(latest.get("n"), int):
        head += f", n={latest['n']}"
    head += "</p>"
    if isinstance(step, int) and trained_to is not None and trained_to > step:
        head += (f"<p class='note'>the run has trained to step {trained_to} since: run "
                 f"<code>ganas eval</code> again for figures of the current weights</p>")
    body = [head, _table((k, _fmt(v)) for k, v in latest.items()
                         if k not in ("coverage", "source", "_time"))]
    if isinstance(latest.get("coverage"), dict):
        body.append("<p>class coverage (share of samples per class)</p>"
                    + _table((k, f"{v:.3f}") for k, v in latest["coverage"].items()))
    if len(evals) > 1:
        body.append("<h2>Metrics during training</h2>" + chart("eval_chart", records=[
            {k: v for k, v in r.items() if k != "_time"} for r in evals]))
    return body


def write_run_report(run_dir: str | Path, max_grids: int = 12) -> Path:
    """Write ``RUN_DIR/report.html``: losses, learning rates, evaluations (the latest and
    their history), the latest grid of each visual and the main one over time, config."""
    run = Path(run_dir)
    cfg = yaml.safe_load((run / RUN_CONFIG).read_text()) if (run / RUN_CONFIG).exists() else {}
    cfg = cfg if isinstance(cfg, dict) else {}
    rows = [r for r in read_jsonl(run / METRICS) if "step" in r]
    chart = _Charts()
    body = [f"<h1>ganas run: {html.escape(str(cfg.get('method', '?')))} on "
            f"<code>{html.escape(str(cfg.get('data', '?')))}</code></h1>",
            f"<p>{html.escape(str(run.resolve()))}</p>"]
    trained_to = int(rows[-1]["step"]) if rows else None
    if rows:
        last = rows[-1]
        facts = [("steps", last["step"])]
        if isinstance(last.get("images_per_s"), (int, float)):
            facts.append(("images/s (last)", f"{last['images_per_s']:.1f}"))
        facts.append(("elapsed s", f"{last.get('elapsed', 0):.0f}"))
        body.append(_table(facts))
        body.append("<h2>Training</h2>" + chart("loss_chart", rows=rows, units=_loss_units(cfg.get("method")))
                    + chart("lr_chart", rows=rows) + chart("probe_chart", rows=rows))
    body += _eval_section(evaluations(run), trained_to, chart)
    body += _grid_section(visual_grids(run), max_grids)
    extra = sorted(run.glob("*.png"))
    if extra:
        body.append("<h2>Figures</h2><div class='grid'>" + "".join(_img_tag(p, 320, p.name) for p in extra) + "</div>")
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(cfg, sort_keys=False)) + "</pre>")
    out = run / REPORT
    atomic_write_text(out, _page(f"ganas run {run.name}", body))
    return out


def _search_summary(d: Path) -> dict[str, Any]:
    try:
        doc = json.loads((d / SUMMARY).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def write_search_report(search_dir: str | Path) -> Path:
    """Write ``DIR/report.html`` for an architecture search: best-so-far curve, best, journal."""
    d = Path(search_dir)
    cfg = read_search_config(d, required=False)
    rows = read_jsonl(d / JOURNAL)
    body = [f"<h1>ganas search: {html.escape(str(cfg.get('strategy', '?')))} on "
            f"{html.escape(str(cfg.get('space', '?')))}</h1>"]
    chart = _Charts()
    if rows:
        rewards = [float(r["reward"]) for r in rows]
        best_idx = [max(i, 0) for i in running_best(rewards)]  # first of equals; NaN never best
        best_row: dict[str, Any] = rows[best_idx[-1]]
        body.append(chart("search_chart", best=[rewards[i] for i in best_idx], rewards=rewards,
                          title="search progress"))
        rep = [rows[i].get("metrics", {}).get("test_acc") for i in best_idx]
        if all(isinstance(v, (int, float)) for v in rep):
            xs = list(range(1, len(rows) + 1))
            body.append(chart("line_chart", series={"reported test accuracy of the best so far": (xs, rep)},
                              title="reported (test) accuracy", xlabel="evaluations",
                              ylabel="test accuracy (%)", size=charts.SMALL, drawstyle="steps-post"))
        body.append("<h2>Best architecture</h2>" + _table(
            [("arch", best_row.get("arch")), ("reward", best_row.get("reward")), ("found at", best_row.get("i"))]
            + [(k, v) for k, v in best_row.get("metrics", {}).items()]
            + [(k, v) for k, v in best_row.get("cost", {}).items()]))
        top = sorted(rows, key=lambda r: -r["reward"])[:20]
        body.append("<h2>Top 20</h2><table><tr><th>#</th><th>reward</th><th>arch</th></tr>" + "".join(
            f"<tr><td>{r.get('i')}</td><td>{r['reward']:.4g}</td><td><code>{html.escape(str(r['arch']))}</code></td></tr>"
            for r in top) + "</table>")
    own_plot = _search_summary(d).get("plot")  # the search's PNG of the curve drawn above
    for p in sorted(d.glob("*.png")):
        if p.name != own_plot:
            body.append(_img_tag(p, 480, p.name))
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(cfg, sort_keys=False)) + "</pre>")
    out = d / SEARCH_REPORT
    atomic_write_text(out, _page(f"ganas search {d.name}", body))
    return out
