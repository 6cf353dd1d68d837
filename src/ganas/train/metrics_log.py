"""The run's scalar log: ``metrics.jsonl`` (always) and TensorBoard scalars (when
``torch.utils.tensorboard`` imports). On resume the file is cut back to the byte offset
stored in the checkpoint, so no step is logged twice."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from ..fileio import read_jsonl
from ..layout import METRICS


class MetricsLog:
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
                # purge_step drops events the killed run wrote after the checkpoint
                self._tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step if resume_offset is not None else None)

    def write(self, record: Mapping[str, Any]) -> None:
        self._f.write((json.dumps(record, sort_keys=False) + "\n").encode())
        self._f.flush()
        if self._tb is not None:
            step = int(record["step"])
            for k, v in record.get("losses", {}).items():
                self._tb.add_scalar(f"loss/{k}", v, step)
            self._tb.add_scalar("perf/images_per_s", record.get("images_per_s", 0.0), step)

    def offset(self) -> int:
        """Bytes written so far (stored in checkpoints); fsyncs so the bytes exist on disk."""
        self._f.flush()
        os.fsync(self._f.fileno())
        return self._f.tell()

    def close(self) -> None:
        self._f.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl`` (a partial last line from a killed run is ignored)."""
    return read_jsonl(Path(run_dir) / METRICS)
