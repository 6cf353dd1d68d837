"""The files of a run directory and of a search directory, named once.

Every module that writes or reads one of these files imports its name from here::

    RUN_DIR/                          (ganas train)
      config.yaml                     method, data spec, method config, train config
      checkpoints/step_XXXXXX.pt      the last ``keep_checkpoints``
      samples/step_XXXXXX.png         grids of fixed-noise samples over time
      metrics.jsonl                   one JSON object per logged step
      evals.jsonl                     one per ``--eval-every`` evaluation
      eval.json                       the last ``ganas eval``
      origin.json                     ``ganas train --from``: the checkpoint it started from
      report.html                     the self-contained report
      samples.png interpolation.png losses.svg     (ganas demo)

    SEARCH_DIR/                       (ganas search)
      search.yaml                     space, strategy, evaluator (with settings), budget, seed
      journal.jsonl                   one JSON line per finished evaluation
      strategy.pt                     the strategy's state after the last tell
      best.json                       the best evaluation
      search.json                     the best-so-far curve and strategy statistics
      best_so_far.png                 the curve as a picture
      report.html

``read_search_config`` is the one reader of ``search.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# -- a run directory ---------------------------------------------------------------
RUN_CONFIG = "config.yaml"
CHECKPOINTS = "checkpoints"
SAMPLES = "samples"
METRICS = "metrics.jsonl"
EVALS = "evals.jsonl"
EVAL = "eval.json"
ORIGIN = "origin.json"
REPORT = "report.html"
DEMO_SAMPLES = "samples.png"
DEMO_INTERPOLATION = "interpolation.png"
LOSS_CURVES = "losses.svg"

#: ``step_000500.pt`` (checkpoints) and ``step_000500.png`` (sample grids)
STEP_FILE = re.compile(r"^step_(\d+)\.(pt|png)$")

# -- a search directory --------------------------------------------------------------
SEARCH_CONFIG = "search.yaml"
JOURNAL = "journal.jsonl"
STRATEGY_STATE = "strategy.pt"
BEST = "best.json"
SUMMARY = "search.json"
BEST_PLOT = "best_so_far.png"
SEARCH_REPORT = REPORT


def step_name(step: int, suffix: str) -> str:
    """``step_000500.pt`` / ``step_000500.png``."""
    return f"step_{int(step):06d}{suffix}"


def checkpoint_file(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / step_name(step, ".pt")


def sample_file(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / SAMPLES / step_name(step, ".png")


def step_of(path: str | Path) -> int:
    """The step number in ``step_000500.pt``/``.png`` (-1 for another name)."""
    m = STEP_FILE.match(Path(path).name)
    return int(m.group(1)) if m else -1


def is_search_dir(d: str | Path) -> bool:
    """True for a search directory (it has a journal or a search.yaml), False for a run."""
    p = Path(d)
    return (p / JOURNAL).exists() or (p / SEARCH_CONFIG).exists()


def read_search_config(search_dir: str | Path, required: bool = True) -> dict[str, Any]:
    """The mapping in ``SEARCH_DIR/search.yaml``.

    A missing file is a ``DataError`` naming it (``{}`` when ``required`` is False);
    invalid YAML or something other than a mapping is a ``DataError`` either way.
    """
    import yaml

    from .errors import DataError

    d = Path(search_dir)
    p = d / SEARCH_CONFIG
    if not p.is_file():
        if not required:
            return {}
        raise DataError(f"{p}: not found ({d} is not a search directory)")
    try:
        cfg = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"{p}: not valid YAML ({e})") from None
    if not isinstance(cfg, dict):
        raise DataError(f"{p}: expected a mapping, got {type(cfg).__name__}")
    return cfg
