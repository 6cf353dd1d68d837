"""The run's log: ``metrics.jsonl`` (always) and TensorBoard event files under
``RUN_DIR/tensorboard`` (when enabled and the ``tensorboard`` package imports): each
record's losses (``loss/<key>``), learning rates (``lr/<name>``) and images/s
(``perf/images_per_s``) as scalars, and sample grids by ``add_image``. On resume the file
is cut back to the byte offset stored in the checkpoint, and TensorBoard's events after
the checkpoint's step are purged, so no step is logged twice."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from PIL import Image

from ..errors import GanasError
from ..fileio import read_jsonl
from ..layout import METRICS
from ..images import make_grid


class MetricsLog:
    """``write(record)`` per logged step, ``add_image(name, grid, step)`` per sample grid,
    ``offset()`` for the checkpoint, ``close()`` at the end."""

    def __init__(self, run_dir: Path, resume_offset: int | None, resume_step: int = 0, tensorboard: bool = True) -> None:
        self.path = run_dir / METRICS
        mode = "r+b" if self.path.exists() and resume_offset is not None else "wb"
        self._f = open(self.path, mode)
        if mode == "r+b":
            cut = min(int(resume_offset), self.path.stat().st_size)
            self._f.truncate(cut)
            self._f.seek(cut)
        self._tb: Any = None
        if tensorboard:
            try:  # optional: needs the ``tensorboard`` package
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                SummaryWriter = None  # noqa: N806
            if SummaryWriter is not None:
                # purge_step hides events at steps >= it: those the killed run wrote after its
                # checkpoint at resume_step (the checkpoint's own step was logged and is kept)
                purge = resume_step + 1 if resume_offset is not None else None
                self._tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)

    def write(self, record: Mapping[str, Any]) -> None:
        self._f.write((json.dumps(record, sort_keys=False) + "\n").encode())
        self._f.flush()
        if self._tb is not None:
            step = int(record["step"])
            for group, field in (("loss", "losses"), ("lr", "lr")):
                for k, v in (record.get(field) or {}).items():
                    self._tb.add_scalar(f"{group}/{k}", float(v), step)
            if "images_per_s" in record:
                self._tb.add_scalar("perf/images_per_s", float(record["images_per_s"]), step)

    @property
    def tensorboard(self) -> bool:
        """Whether TensorBoard events are being written."""
        return self._tb is not None

    def add_image(self, name: str, image: torch.Tensor | str | Path, step: int) -> None:
        """A sample grid in TensorBoard as ``images/<name>`` at ``step`` (no-op without it).

        ``image``: a batch ``(N, C, H, W)`` or one image ``(C, H, W)``, float in [-1, 1] as
        ``GANMethod.visuals`` returns them (laid out as ``ganas.images.make_grid`` does), or
        the path of a PNG the trainer already wrote (e.g. ``samples/step_000500.png``).
        """
        if self._tb is None:
            return
        if isinstance(image, torch.Tensor):
            pix = make_grid(image)  # (H, W, C) uint8
        else:
            try:
                with Image.open(image) as im:
                    pix = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
            except OSError as e:
                raise GanasError(f"add_image {name!r}: cannot read {image}: {e}") from None
        if pix.shape[2] == 1:
            pix = np.repeat(pix, 3, axis=2)  # (H, W, 3)
        self._tb.add_image(f"images/{name}", pix, int(step), dataformats="HWC")
        self._tb.flush()

    def offset(self) -> int:
        """Bytes written so far (stored in checkpoints); fsyncs so the bytes exist on disk."""
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def flush(self) -> None:
        """Push pending TensorBoard events to disk (metrics.jsonl is flushed on write)."""
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` (a partial last line from a killed run is ignored)."""
    return read_jsonl(Path(run_dir) / METRICS)
