"""Tiny dependency-free SVG line charts for the self-contained HTML reports."""

from __future__ import annotations

import html
import math
from typing import Sequence

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + 1e-9 * step:
        if t >= lo - 1e-9 * step:
            ticks.append(round(t, 10))
        t += step
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.1e}"
    return f"{v:.4g}"


def line_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    width: int = 640,
    height: int = 320,
    smooth: int = 1,
) -> str:
    """An SVG string plotting each named (xs, ys) series; ``smooth`` is a moving-average window."""
    ml, mr, mt, mb = 60, 130, 28 if title else 12, 40
    pw, ph = width - ml - mr, height - mt - mb
    clean: dict[str, tuple[list[float], list[float]]] = {}
    for name, (xs, ys) in series.items():
        pts = [(float(x), float(y)) for x, y in zip(xs, ys) if math.isfinite(float(y))]
        if smooth > 1 and len(pts) > smooth:
            vals = [p[1] for p in pts]
            sm, acc = [], 0.0
            for i, v in enumerate(vals):
                acc += v
                if i >= smooth:
                    acc -= vals[i - smooth]
                sm.append(acc / min(i + 1, smooth))
            pts = [(p[0], s) for p, s in zip(pts, sm)]
        if pts:
            clean[name] = ([p[0] for p in pts], [p[1] for p in pts])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{ml}" y="18" font-size="13" font-weight="bold">{html.escape(title)}</text>')
    if not clean:
        out.append(f'<text x="{ml + 10}" y="{mt + ph / 2}">no data</text></svg>')
        return "".join(out)
    x_lo = min(min(xs) for xs, _ in clean.values())
    x_hi = max(max(xs) for xs, _ in clean.values())
    y_lo = min(min(ys) for _, ys in clean.values())
    y_hi = max(max(ys) for _, ys in clean.values())
    if x_hi == x_lo:
        x_hi = x_lo + 1
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = 0.05 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def sx(x: float) -> float:
        return ml + (x - x_lo) / (x_hi - x_lo) * pw

    def sy(y: float) -> float:
        return mt + ph - (y - y_lo) / (y_hi - y_lo) * ph

    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    for t in _nice_ticks(y_lo, y_hi):
        y = sy(t)
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                   f'<text x="{ml - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in _nice_ticks(x_lo, x_hi):
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" stroke="#999"/>'
                   f'<text x="{x:.1f}" y="{mt + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    if xlabel:
        out.append(f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle">{html.escape(xlabel)}</text>')
    if ylabel:
        out.append(f'<text x="14" y="{mt + ph / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 14 {mt + ph / 2})">{html.escape(ylabel)}</text>')
    for i, (name, (xs, ys)) in enumerate(clean.items()):
        colour = PALETTE[i % len(PALETTE)]
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        ly = mt + 14 + 16 * i
        out.append(f'<line x1="{ml + pw + 10}" x2="{ml + pw + 28}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"/>'
                   f'<text x="{ml + pw + 32}" y="{ly}">{html.escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
