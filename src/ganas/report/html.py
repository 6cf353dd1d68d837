"""Self-contained ``report.html`` for a run directory or a search directory.

Everything is inlined (SVG charts, PNGs as data URIs), so the file opens in a browser
from disk, with no server and no network.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..fileio import atomic_write_text, read_jsonl
from ..layout import EVAL, EVALS, JOURNAL, METRICS, REPORT, RUN_CONFIG, SAMPLES, SEARCH_REPORT, read_search_config
from .plot import line_chart

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid figure{margin:0}figcaption{font-size:.8em;color:#555}
img.pix{image-rendering:pixelated}code{background:#f4f4f4;padding:1px 4px}
"""


def _img_tag(path: Path, width: int | None = None, caption: str = "") -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
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


def write_run_report(run_dir: str | Path, max_grids: int = 12) -> Path:
    """Write ``RUN_DIR/report.html``: config, loss curves, sample grids over time, metrics."""
    run = Path(run_dir)
    cfg = yaml.safe_load((run / RUN_CONFIG).read_text()) if (run / RUN_CONFIG).exists() else {}
    rows = [{**r, **r.get("losses", {})} for r in read_jsonl(run / METRICS)]  # losses flattened
    body = [f"<h1>ganas run: {html.escape(str(cfg.get('method', '?')))} on "
            f"<code>{html.escape(str(cfg.get('data', '?')))}</code></h1>",
            f"<p>{html.escape(str(run.resolve()))}</p>"]
    train_rows = [r for r in rows if "step" in r and "images_per_s" in r]
    if train_rows:
        last = train_rows[-1]
        body.append(_table([("steps", last["step"]), ("images/s (last)", f"{last['images_per_s']:.1f}"),
                            ("elapsed s", f"{last.get('elapsed', 0):.0f}")]))
        keys = sorted({k for r in train_rows for k, v in r.items()
                       if k.startswith("loss") and isinstance(v, (int, float))})
        series = {k: ([r["step"] for r in train_rows if k in r], [r[k] for r in train_rows if k in r]) for k in keys}
        body.append("<h2>Losses</h2>" + line_chart(series, xlabel="step", ylabel="loss", smooth=5))
        probes = sorted({k for r in train_rows for k in r if k.startswith("D_")})
        if probes:
            series = {k: ([r["step"] for r in train_rows if k in r], [r[k] for r in train_rows if k in r])
                      for k in probes}
            body.append(line_chart(series, title="discriminator outputs", xlabel="step", smooth=5))
    evals = read_jsonl(run / EVALS)  # ganas train --eval-every
    eval_file = run / EVAL
    if evals:
        body.append("<h2>Metrics during training</h2>")
        for key in ("fd", "confidence", "precision", "recall"):
            pts = [(r["step"], r[key]) for r in evals if isinstance(r.get(key), (int, float))]
            if pts:
                floor = [r.get("fd_real_floor") for r in evals]
                series = {key: ([p[0] for p in pts], [p[1] for p in pts])}
                if key == "fd" and all(isinstance(f, (int, float)) for f in floor):
                    series["real floor"] = ([r["step"] for r in evals], floor)
                body.append(line_chart(series, title=key, xlabel="step"))
    if eval_file.exists():
        ev = json.loads(eval_file.read_text())
        body.append("<h2>Final evaluation</h2>")
        flat = [(k, (f"{v:.4g}" if isinstance(v, float) else v)) for k, v in ev.items() if k != "coverage"]
        body.append(_table(flat))
        if isinstance(ev.get("coverage"), dict):
            body.append("<p>class coverage (share of samples per class)</p>"
                        + _table((k, f"{v:.3f}") for k, v in ev["coverage"].items()))
    grids = sorted((run / SAMPLES).glob("step_*.png"), key=_step_of)
    if grids:
        if len(grids) > max_grids:  # evenly spaced, always keeping the last
            idx = sorted({round(i * (len(grids) - 1) / (max_grids - 1)) for i in range(max_grids)})
            grids = [grids[i] for i in idx]
        body.append("<h2>Samples over time (fixed noise)</h2><div class='grid'>"
                    + "".join(_img_tag(g, 256, f"step {_step_of(g)}") for g in grids) + "</div>")
    extra = [p for p in sorted(run.glob("*.png"))]
    if extra:
        body.append("<h2>Figures</h2><div class='grid'>" + "".join(_img_tag(p, 320, p.name) for p in extra) + "</div>")
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(cfg, sort_keys=False)) + "</pre>")
    out = run / REPORT
    atomic_write_text(out, _page(f"ganas run {run.name}", body))
    return out


def write_search_report(search_dir: str | Path) -> Path:
    """Write ``DIR/report.html`` for an architecture search: best-so-far curve, best, journal."""
    d = Path(search_dir)
    cfg = read_search_config(d, required=False)
    rows = read_jsonl(d / JOURNAL)
    body = [f"<h1>ganas search: {html.escape(str(cfg.get('strategy', '?')))} on "
            f"{html.escape(str(cfg.get('space', '?')))}</h1>"]
    if rows:
        from ..nas.best import running_best

        at = running_best([r["reward"] for r in rows])
        best_so_far = [rows[i]["reward"] for i in at]
        rep = [rows[i].get("metrics", {}).get("test_acc") for i in at]
        best_row: dict[str, Any] = rows[at[-1]]
        xs = list(range(1, len(rows) + 1))
        series = {"best reward so far": (xs, best_so_far), "reward": (xs, [r["reward"] for r in rows])}
        body.append(line_chart(series, title="search progress", xlabel="evaluations", ylabel="reward"))
        if all(isinstance(v, (int, float)) for v in rep):
            body.append(line_chart({"reported test accuracy of the best so far": (xs, rep)},
                                   title="reported (test) accuracy", xlabel="evaluations", ylabel="%"))
        body.append("<h2>Best architecture</h2>" + _table(
            [("arch", best_row.get("arch")), ("reward", best_row.get("reward")), ("found at", best_row.get("i"))]
            + [(k, v) for k, v in best_row.get("metrics", {}).items()]
            + [(k, v) for k, v in best_row.get("cost", {}).items()]))
        top = sorted(rows, key=lambda r: -r["reward"])[:20]
        body.append("<h2>Top 20</h2><table><tr><th>#</th><th>reward</th><th>arch</th></tr>" + "".join(
            f"<tr><td>{r.get('i')}</td><td>{r['reward']:.4g}</td><td><code>{html.escape(str(r['arch']))}</code></td></tr>"
            for r in top) + "</table>")
    for p in sorted(d.glob("*.png")):
        body.append(_img_tag(p, 480, p.name))
    body.append("<h2>Configuration</h2><pre>" + html.escape(yaml.safe_dump(cfg, sort_keys=False)) + "</pre>")
    out = d / SEARCH_REPORT
    atomic_write_text(out, _page(f"ganas search {d.name}", body))
    return out
