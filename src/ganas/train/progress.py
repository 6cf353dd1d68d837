"""A small progress display on stderr (no tqdm): a bar refreshed at most ~4 times a second
on a terminal, plain log lines every ``log_every`` steps otherwise."""

from __future__ import annotations

import sys
import time
from typing import Mapping, TextIO


def format_duration(seconds: float) -> str:
    s = int(max(0.0, seconds) + 0.5)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h:d}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def format_losses(losses: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in losses.items())


class Progress:
    """``update(step, losses, images_per_s)`` after each step; ``close()`` at the end."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, stream: TextIO | None = None,
                 min_interval: float = 0.25, width: int = 24) -> None:
        self.total, self.start, self.enabled = total, start, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval, self.width = min_interval, width
        self._t0 = time.perf_counter()
        self._last = -1e9
        self._drawn = False

    def line(self, step: int, losses: Mapping[str, float], images_per_s: float) -> str:
        done = step - self.start
        elapsed = time.perf_counter() - self._t0
        eta = elapsed / done * (self.total - step) if done > 0 else float("nan")
        frac = step / self.total if self.total else 1.0
        fill = int(frac * self.width)
        bar = "#" * fill + "-" * (self.width - fill)
        eta_s = format_duration(eta) if eta == eta else "--:--"
        return f"[{bar}] {step}/{self.total} {format_losses(losses)} {images_per_s:.1f} img/s ETA {eta_s}"

    def update(self, step: int, losses: Mapping[str, float], images_per_s: float, log_line: bool = False) -> None:
        """Redraw the bar (terminal, rate-limited) or print a line (``log_line``, not a terminal)."""
        if not self.enabled:
            return
        if self.tty:
            now = time.perf_counter()
            if now - self._last < self.min_interval and step != self.total:
                return
            self._last = now
            self.stream.write("\r" + self.line(step, losses, images_per_s) + "\x1b[K")
            self._drawn = True
        elif log_line:
            self.stream.write(self.line(step, losses, images_per_s) + "\n")
        self.stream.flush()

    def write(self, message: str) -> None:
        """A message that does not garble the bar."""
        if not self.enabled:
            return
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        self.stream.write(message + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
