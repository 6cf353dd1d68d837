"""Tabular evaluation: look an architecture up in the NAS-Bench-201 / NATS-Bench tables.

Protocol (Dong & Yang, "NAS-Bench-201", ICLR 2020, sec. 5; Dong et al., "NATS-Bench",
TPAMI 2021, sec. 5): a search strategy sees only the *12-epoch validation* accuracy of
the cells it queries (the ``hp='12'`` schedule); what is reported for the cell a search
returns is its *200-epoch test* accuracy. This evaluator follows that split:

- ``reward``            = 12-epoch validation accuracy of the chosen dataset, as a
                          fraction in [0, 1] (every ganas evaluator returns a fraction, so
                          a strategy sees one scale whichever evaluator runs);
- ``metrics["val12"]``  = the same in percent, ``metrics["test12"]`` = 12-epoch test
                          accuracy (percent), ``metrics["test_acc"]`` = 200-epoch test
                          accuracy (percent; the figure papers report: 94.37 is the best
                          CIFAR-10 cell).

Files (the layout of ``/work/shared/data/nas-bench-201``, see its README):

- ``nb201_hp12_val_test_acc.csv``: ``index, arch_str, cifar10-test, cifar10-val,
  cifar100-test, cifar100-val, imagenet-test, imagenet-val`` (12-epoch schedule);
- ``nats_tss_200ep_test_acc.csv``: ``CIFAR10TestAccuracy200Epochs,
  CIFAR100TestAccuracy200Epochs, ImageNetTestAccuracy200Epochs, ArchitectureString``.

The two files are joined by architecture string. Architectures are mapped to rows through
the space's own ``from_string`` (the table knows strings, strategies know tuples), once per
space, so ``evaluate`` is one dict lookup (microseconds). ``reward_table(space)`` and
``reported_table(space)`` give numpy arrays in the space's enumeration order so a
simulation can vectorise.

NOTE: the NB201 API's ``simulate_train_eval`` returns the accuracy of one randomly chosen
training seed; the CSV holds one value per cell, so this signal is noise-free and ``seed``
is ignored. The official API (``nats:PATH``) is used with ``is_random=False`` (seed mean)
for the same reason.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DataError, GanasError, UnknownNameError
from ..base import EVALUATORS, Arch, EvalResult, Evaluator, SearchSpace

NB201_SIZE = 15625  # 5 ops ** 6 edges
HP12_FILE = "nb201_hp12_val_test_acc.csv"
HP200_FILE = "nats_tss_200ep_test_acc.csv"
HP12_ARCH = "arch_str"
HP200_ARCH = "ArchitectureString"


@dataclass
class TabularSettings:
    """What a tabular evaluator was made from (recorded in a search's ``search.yaml``)."""

    path: str = ""
    dataset: str = "cifar10"
    expected_rows: int | None = NB201_SIZE


@dataclass(frozen=True)
class _DatasetColumns:
    name: str  # canonical name
    val12: str  # column of the 12-epoch file
    test12: str
    test200: str  # column of the 200-epoch file
    nats_valid: str  # dataset name for the official API (search signal)
    nats_test: str  # dataset name for the official API (reported)


_DATASETS = {
    "cifar10": _DatasetColumns("cifar10", "cifar10-val", "cifar10-test", "CIFAR10TestAccuracy200Epochs",
                               "cifar10-valid", "cifar10"),
    "cifar100": _DatasetColumns("cifar100", "cifar100-val", "cifar100-test", "CIFAR100TestAccuracy200Epochs",
                                "cifar100", "cifar100"),
    "imagenet16-120": _DatasetColumns("imagenet16-120", "imagenet-val", "imagenet-test",
                                      "ImageNetTestAccuracy200Epochs", "ImageNet16-120", "ImageNet16-120"),
}
_ALIASES = {
    "cifar10": "cifar10", "cifar-10": "cifar10", "c10": "cifar10",
    "cifar100": "cifar100", "cifar-100": "cifar100", "c100": "cifar100",
    "imagenet16-120": "imagenet16-120", "imagenet16": "imagenet16-120", "imagenet": "imagenet16-120",
    "in16": "imagenet16-120", "imagenet-16-120": "imagenet16-120",
}


def resolve_dataset(name: str) -> str:
    """Canonical NB201 dataset name for ``name`` (case-insensitive aliases)."""
    key = str(name).strip().lower()
    if key not in _ALIASES:
        raise UnknownNameError(
            f"unknown NAS-Bench-201 dataset {name!r}; valid: {', '.join(_DATASETS)} "
            f"(aliases: {', '.join(sorted(set(_ALIASES) - set(_DATASETS)))})"
        )
    return _ALIASES[key]


def _read_csv(path: Path, columns: list[str], optional: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The named columns of a CSV file as lists of strings (``optional`` ones only when
    present); errors name file and column."""
    if not path.is_file():
        raise DataError(f"{path}: table file not found")
    try:
        with path.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: empty file (expected a header row)")
            header = [h.strip() for h in header]
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found: {', '.join(header)}")
            columns = columns + [c for c in optional if c in header]
            idx = [header.index(c) for c in columns]
            out: dict[str, list[str]] = {c: [] for c in columns}
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}: line {lineno} has {len(row)} fields, the header has {len(header)}")
                for c, i in zip(columns, idx):
                    out[c].append(row[i].strip())
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text CSV file ({e})") from None
    except csv.Error as e:
        raise DataError(f"{path}: malformed CSV ({e})") from None
    return out


def _floats(path: Path, column: str, values: list[str]) -> np.ndarray:
    """Parse accuracies in percent; a bad cell names file, line and column."""
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            x = float(v)
        except ValueError:
            x = math.nan
        if not (math.isfinite(x) and 0.0 <= x <= 100.0):
            raise DataError(f"{path}: line {i + 2}, column {column}: {v!r} is not an accuracy in percent [0, 100]")
        out[i] = x
    return out


class TabularEvaluator(Evaluator):
    """Look up NAS-Bench-201 accuracies (12-epoch val as reward, 200-epoch test reported).

    ``path``: the folder holding both CSV files (or either file; the other is taken from
    the same folder), or ``nats:PATH`` for the official ``nats_bench`` API's benchmark
    files. ``dataset``: cifar10, cifar100 or imagenet16-120 (aliases accepted).
    ``expected_rows``: the row count both files must have (15,625 for the full space;
    ``None`` accepts any count, for partial tables).
    """

    name = "tabular"

    def __init__(self, path: str | Path, dataset: str = "cifar10", expected_rows: int | None = NB201_SIZE) -> None:
        self.dataset = resolve_dataset(dataset)
        self.settings = TabularSettings(str(path), self.dataset, expected_rows)
        cols = _DATASETS[self.dataset]
        spec = str(path)
        if spec.startswith("nats:"):
            self.source = spec
            self.arch_strings, self.val12, self.test12, self.test200 = _load_nats(spec[len("nats:"):], cols)
        else:
            self.source = str(path)
            self.arch_strings, self.val12, self.test12, self.test200 = _load_csv(Path(path), cols, expected_rows)
        self._row_of_string = {s: i for i, s in enumerate(self.arch_strings)}
        # Python floats for the hot path (numpy scalar -> float costs more than the lookup).
        self._val12_list = self.val12.tolist()
        self._test12_list = self.test12.tolist()
        self._test200_list = self.test200.tolist()
        self._maps: dict[Any, dict[Arch, int]] = {}  # space signature -> {arch tuple: row}
        self._tables: dict[tuple[Any, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.arch_strings)

    # -- lookups -------------------------------------------------------------------
    def _row_map(self, space: SearchSpace) -> dict[Arch, int]:
        key = _space_signature(space)
        m = self._maps.get(key)
        if m is None:
            m = {}
            for row, s in enumerate(self.arch_strings):
                try:
                    arch = tuple(space.from_string(s))
                except (ValueError, KeyError, GanasError) as e:
                    raise DataError(
                        f"{self.source}: row {row}, column {HP12_ARCH}: {s!r} is not an architecture "
                        f"of space {space.name!r} ({e})"
                    ) from None
                m[arch] = row
            self._maps[key] = m
        return m

    def row(self, space: SearchSpace, arch: Arch) -> int:
        """The table row of ``arch``; UnknownNameError when the table lacks it."""
        r = self._row_map(space).get(tuple(arch))
        if r is None:
            space.validate(tuple(arch))
            raise UnknownNameError(
                f"architecture {space.to_string(tuple(arch))!r} is not in the table {self.source} "
                f"(column {HP12_ARCH}, {len(self)} rows)"
            )
        return r

    def lookup(self, arch_str: str) -> dict[str, float]:
        """Metrics of a cell given by its NB201 string (percent)."""
        r = self._row_of_string.get(arch_str)
        if r is None:
            raise UnknownNameError(f"architecture {arch_str!r} is not in the table {self.source} (column {HP12_ARCH})")
        return self._metrics(r)

    def _metrics(self, r: int) -> dict[str, float]:
        return {"val12": self._val12_list[r], "test12": self._test12_list[r], "test_acc": self._test200_list[r]}

    def evaluate(self, space: SearchSpace, arch: Arch, seed: int = 0) -> EvalResult:
        m = self._maps.get(_space_signature(space)) or self._row_map(space)
        r = m.get(arch) if type(arch) is tuple else None
        if r is None:
            r = self.row(space, arch)  # tuple conversion / clear error
        return EvalResult(reward=self._val12_list[r] / 100.0, metrics=self._metrics(r))

    # -- vectorised views ------------------------------------------------------------
    def _table(self, space: SearchSpace | None, which: str) -> np.ndarray:
        space = space if space is not None else _default_space()
        key = (_space_signature(space), which)
        t = self._tables.get(key)
        if t is None:
            m = self._row_map(space)
            rows = np.fromiter((m.get(a, -1) for a in space.enumerate()), dtype=np.int64, count=space.size())
            src = {"reward": self.val12 / 100.0, "reported": self.test200, "test12": self.test12}[which]
            t = np.where(rows >= 0, src[np.maximum(rows, 0)], np.nan)
            t.setflags(write=False)
            self._tables[key] = t
        return t

    def reward_table(self, space: SearchSpace | None = None) -> np.ndarray:
        """Rewards (12-epoch val accuracy, fraction) in ``space.enumerate()`` order; NaN where
        the table lacks a cell. ``space`` defaults to ``nb201``. Shape (space.size(),)."""
        return self._table(space, "reward")

    def reported_table(self, space: SearchSpace | None = None) -> np.ndarray:
        """200-epoch test accuracies (percent) in ``space.enumerate()`` order; NaN where missing."""
        return self._table(space, "reported")


def _space_signature(space: SearchSpace) -> Any:
    sig = getattr(space, "_ganas_tabular_sig", None)
    if sig is None:
        sig = (type(space).__qualname__, space.name, tuple((d.name, repr(d.choices)) for d in space.decisions()))
        try:
            space._ganas_tabular_sig = sig  # type: ignore[attr-defined]
        except AttributeError:  # slots / frozen: recompute each time (only the slow path)
            pass
    return sig


def _default_space() -> SearchSpace:
    from ..base import SPACES

    try:
        from .. import spaces  # noqa: F401  (registers the spaces)
    except ImportError as e:
        raise GanasError(f"the nb201 search space is not available ({e}); pass a space explicitly") from None
    return SPACES.create("nb201")


def _load_csv(path: Path, cols: _DatasetColumns, expected_rows: int | None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    folder = path if path.is_dir() else path.parent
    if not path.exists():
        raise DataError(f"{path}: NAS-Bench-201 table folder or file not found (expected {HP12_FILE} and {HP200_FILE})")
    f12, f200 = folder / HP12_FILE, folder / HP200_FILE
    t12 = _read_csv(f12, [HP12_ARCH, cols.val12, cols.test12], optional=("index",))
    t200 = _read_csv(f200, [HP200_ARCH, cols.test200])
    archs = t12[HP12_ARCH]
    for f, n in ((f12, len(archs)), (f200, len(t200[HP200_ARCH]))):
        if n == 0:
            raise DataError(f"{f}: no data rows")
        if expected_rows is not None and n != expected_rows:
            raise DataError(f"{f}: {n} rows, expected {expected_rows} (one per NAS-Bench-201 cell)")
    # The index column, where present, must be the row number (row i is benchmark index i).
    for i, v in enumerate(t12.get("index", [])):
        if v != str(i):
            raise DataError(f"{f12}: line {i + 2}, column index: {v!r}, expected {i}")
    row_of = {}
    for i, s in enumerate(archs):
        if s in row_of:
            raise DataError(f"{f12}: line {i + 2}, column {HP12_ARCH}: duplicate architecture {s!r}")
        row_of[s] = i
    val12 = _floats(f12, cols.val12, t12[cols.val12])
    test12 = _floats(f12, cols.test12, t12[cols.test12])
    acc200 = _floats(f200, cols.test200, t200[cols.test200])
    test200 = np.full(len(archs), np.nan)
    for j, s in enumerate(t200[HP200_ARCH]):
        i = row_of.get(s)
        if i is None:
            raise DataError(f"{f200}: line {j + 2}, column {HP200_ARCH}: architecture {s!r} is not in {f12}")
        if not math.isnan(test200[i]):
            raise DataError(f"{f200}: line {j + 2}, column {HP200_ARCH}: duplicate architecture {s!r}")
        test200[i] = acc200[j]
    missing = np.flatnonzero(np.isnan(test200))
    if missing.size:
        raise DataError(f"{f200}: column {HP200_ARCH} lacks {missing.size} architecture(s) of {f12}, e.g. {archs[missing[0]]!r}")
    return archs, val12, test12, test200


def _load_nats(path: str, cols: _DatasetColumns) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The same arrays from the official NATS-Bench API (``pip install nats_bench`` and its
    benchmark files). Queries every cell once (slow, once per evaluator)."""
    try:
        from nats_bench import create  # type: ignore[import-not-found]
    except ImportError:
        raise GanasError(
            "the 'nats:PATH' table needs the nats_bench package (pip install nats_bench) and its "
            "benchmark files; or use the CSV folder layout (see docs)"
        ) from None
    try:
        api = create(path or None, "tss", fast_mode=True, verbose=False)
    except Exception as e:  # the API raises plain exceptions on missing/corrupt files
        raise DataError(f"nats:{path}: cannot open the NATS-Bench topology benchmark ({e})") from None
    archs, val12, test12, test200 = [], [], [], []
    for i in range(len(api)):
        archs.append(api.arch(i))
        val12.append(api.get_more_info(i, cols.nats_valid, hp="12", is_random=False)["valid-accuracy"])
        test12.append(api.get_more_info(i, cols.nats_test, hp="12", is_random=False)["test-accuracy"])
        test200.append(api.get_more_info(i, cols.nats_test, hp="200", is_random=False)["test-accuracy"])
    return archs, np.asarray(val12, float), np.asarray(test12, float), np.asarray(test200, float)


EVALUATORS.register("tabular", help="NAS-Bench-201 table lookup (12-epoch val reward, 200-epoch test reported)")(
    TabularEvaluator
)
