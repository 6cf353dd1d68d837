"""The files of a search directory: the journal, the strategy state, the settings.

``OUT/journal.jsonl``: one JSON line ``{"i", "arch", "reward", "metrics", "cost",
"seed", "time"}`` per finished evaluation, in the order the results arrived (``arch``:
the space's canonical string; ``seed``: the evaluation's seed; ``time``: wall-clock
seconds of the evaluation). A failed evaluation adds ``"failed": true, "error": ...,
"attempts": n`` (its ``reward`` is the search's failure reward). Lines are appended
with one ``write`` of the whole batch, then fsync; a torn last line (a kill in the
middle of a write) is detected on read and cut.

``OUT/strategy.pt``: ``{"version": 2, "told", "next", "pending", "slots", "strategy"}``
written atomically (temporary file, fsync, rename) and loaded with
``weights_only=True``: ``told`` = how many journal lines (in file order) the strategy
has been told, ``next`` = the next evaluation index, ``pending`` = the jobs asked but
not yet told ``[[i, arch, seed], ...]``. Version 1 files (``told`` only) still load.

``OUT/search.yaml``: space, strategy, evaluator (with their settings), seed and budget,
plus ``runs``: one ``{executor, slots, at}`` per invocation (``at``: evaluations
already told). A resume with another space/strategy/evaluator/seed is refused;
executor, slots and the evaluator's placement settings (``Evaluator.placement_keys``,
e.g. the device) may change.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from ..config import to_dict
from ..errors import CheckpointError, ConfigError, DataError
from ..fileio import atomic_write_bytes
from .base import Evaluator, SearchSpace, Strategy

from ..layout import BEST, BEST_PLOT as PLOT, JOURNAL, SEARCH_CONFIG as CONFIG, STRATEGY_STATE as STATE, SUMMARY  # noqa: E402,F401


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def normalise(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``entry`` as it reads back from the journal (plain JSON types)."""
    return json.loads(json.dumps(entry, default=_jsonable))


class Journal:
    """Append-only JSON-lines file of finished evaluations."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """All complete entries in file order; a torn last line is dropped (and cut)."""
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        cut = raw.rfind(b"\n") + 1  # everything after the last newline is torn
        if cut < len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
        entries = []
        for n, line in enumerate(raw[:cut].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                int(e["i"]), str(e["arch"]), float(e["reward"])
            except (ValueError, KeyError, TypeError) as err:
                raise DataError(f"{self.path}: line {n} is not a journal entry ({err})") from None
            entries.append(e)
        return entries

    def append(self, entry: Mapping[str, Any]) -> None:
        self.append_many([entry])

    def append_many(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Append whole lines with one write and one fsync."""
        data = b"".join((json.dumps(e, default=_jsonable, sort_keys=True) + "\n").encode() for e in entries)
        if not data:
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        view = memoryview(data)
        while view:  # one write in practice; loop only on short writes
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _settings_of(obj: Any) -> dict[str, Any]:
    for attr in ("settings", "cfg", "config"):
        v = getattr(obj, attr, None)
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return to_dict(v)
    return {}


def search_config(space: SearchSpace, strategy: Strategy, evaluator: Evaluator, budget: int,
                  seed: int) -> dict[str, Any]:
    return {
        "space": space.name,
        "space_settings": _settings_of(space),
        "strategy": strategy.name,
        "strategy_settings": _settings_of(strategy),
        "evaluator": evaluator.name or type(evaluator).__name__,
        "evaluator_settings": _settings_of(evaluator),
        "budget": int(budget),
        "seed": int(seed),
    }


def check_config(path: Path, old: Mapping[str, Any], new: Mapping[str, Any],
                 free_keys: Iterable[str] = ()) -> None:
    """Refuse a resume with other settings; ``free_keys`` of the evaluator settings
    (where the worker runs: the device) may differ."""
    free = set(free_keys)
    for key in ("space", "space_settings", "strategy", "strategy_settings", "evaluator",
                "evaluator_settings", "seed"):
        a, b = old.get(key), new.get(key)
        if key == "evaluator_settings" and isinstance(a, dict) and isinstance(b, dict):
            a = {k: v for k, v in a.items() if k not in free}
            b = {k: v for k, v in b.items() if k not in free}
        if a != b:
            raise ConfigError(
                f"{path}: this search was started with {key}={old.get(key)!r}, not {new.get(key)!r}; "
                "resume it with the same settings or use another output folder"
            )
    if int(new["budget"]) < int(old.get("budget", 0)):
        raise ConfigError(
            f"{path}: budget may grow but not shrink (was {old.get('budget')}, asked {new['budget']})"
        )


def eval_seed(seed: int, i: int) -> int:
    """The seed of evaluation ``i`` of a search seeded ``seed``."""
    return (int(seed) * 1_000_003 + int(i)) % (2**31 - 1)


def save_state(path: Path, state: Mapping[str, Any]) -> None:
    buf = io.BytesIO()
    torch.save({"version": 2, **state}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    """The saved loop state, version 1 (``told`` only) upgraded to version 2."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad checkpoint
        raise CheckpointError(f"{path}: cannot load the strategy state safely ({e})") from None
    if not isinstance(state, dict) or "told" not in state or "strategy" not in state:
        raise CheckpointError(f"{path}: not a strategy state written by run_search")
    state.setdefault("next", int(state["told"]))
    state.setdefault("pending", [])
    return state
