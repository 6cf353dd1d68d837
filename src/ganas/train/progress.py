"""The training progress display on stderr, by tqdm.

On a terminal: a tqdm bar (steps, ETA, the last step's losses and images/s as postfix),
redrawn at most every ``min_interval`` seconds. Elsewhere (a log file, CI, a pipe, where
a redrawn bar would leave a stream of carriage returns): one plain line every
``log_every`` steps, formatted by tqdm's ``format_meter`` so both read alike.
"""

from __future__ import annotations

import sys
import time
from typing import Mapping, TextIO

from tqdm import tqdm

#: a plain log line: global step / total, elapsed, time left, this run's rate
LINE_FORMAT = "step {n_fmt}/{total_fmt} [{elapsed}, ETA {remaining}, {rate_fmt}]"


def format_losses(losses: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in losses.items())


class Progress:
    """``update(step, losses, images_per_s)`` after each step; ``write(msg)`` for a message
    that does not garble the bar; ``close()`` at the end. ``start`` is the step a resumed
    run begins at (the bar starts there; rates and ETA count this run's steps only);
    ``width`` the bar line's width in characters (default: the terminal's, followed)."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, stream: TextIO | None = None,
                 min_interval: float = 0.25, width: int | None = None) -> None:
        self.total, self.start, self.enabled = total, start, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        self._bar: tqdm | None = None
        if enabled and self.tty:
            self._bar = tqdm(total=total, initial=start, file=self.stream, mininterval=min_interval,
                             ncols=width, dynamic_ncols=width is None,
                             unit="step", leave=True, smoothing=0.1)

    def line(self, step: int, losses: Mapping[str, float], images_per_s: float) -> str:
        """``'step 50/100 [00:10, ETA 00:10, 5.00step/s] loss_D=0.7 loss_G=1.2 320.0 img/s'``."""
        meter = tqdm.format_meter(step, self.total, time.perf_counter() - self._t0, unit="step",
                                  initial=self.start, bar_format=LINE_FORMAT)
        return " ".join(meter.split()) + f" {format_losses(losses)} {images_per_s:.1f} img/s"

    def update(self, step: int, losses: Mapping[str, float], images_per_s: float, log_line: bool = False) -> None:
        """Move the bar to ``step`` (terminal) or print a line (``log_line``, not a terminal)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(f"{format_losses(losses)} {images_per_s:.1f} img/s", refresh=False)
            self._bar.update(step - self._bar.n)
            if step >= self.total:
                self._bar.refresh()  # the last step always shows
        elif log_line:
            self.stream.write(self.line(step, losses, images_per_s) + "\n")
            self.stream.flush()

    def write(self, message: str) -> None:
        """A message on its own line (above the bar on a terminal)."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(message, file=self.stream)
        else:
            self.stream.write(message + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
