"""Progress bars (tqdm) for the slow parts of data preparation: scanning a large folder,
checking or decoding every file, parsing a large annotation file, filling a cache.

A bar is shown only when it is wanted and someone can see it: ``DataOptions.progress``
(``?progress=false`` turns it off), standard error a terminal, and the environment
variable ``GANAS_PROGRESS`` not ``0``. It appears only after ``DELAY`` seconds, so quick
scans print nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")

#: seconds before a bar appears (tqdm's ``delay``); tests set it to 0
DELAY = 1.0


def progress_enabled(enabled: bool = True) -> bool:
    """Whether a bar may be drawn: asked for, stderr is a TTY, GANAS_PROGRESS is not 0."""
    if not enabled or os.environ.get("GANAS_PROGRESS", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress(
    iterable: Iterable[T] | None, desc: str, total: int | None = None, unit: str = "it", enabled: bool = True
) -> tqdm:
    """A tqdm bar on stderr over ``iterable`` (or a manual one, ``update(n)``, when None)."""
    return tqdm(
        iterable, desc=desc, total=total, unit=unit, file=sys.stderr, delay=DELAY,
        disable=not progress_enabled(enabled), leave=False, dynamic_ncols=True,
    )
