"""Translation pairs in the layouts of junyanz/pytorch-CycleGAN-and-pix2pix.

Every dataset here yields ``{"A", "B", "A_path", "B_path"}``: ``A`` and ``B`` float
``(C, S, S)`` (``channels_A``/``channels_B`` channels, each converted on load), the paths
strings (the default collate makes them lists). ``?direction=BtoA`` swaps the sides.
Both fields of an item share one crop and one flip (``Jitter``).

- ``aligned:PATH``: ``PATH/{train,val,test}/`` of images holding A (left half) and B
  (right half) side by side, as junyanz's ``aligned_dataset.py`` (facades: 512x256,
  A = photo, B = labels; the paper's task is BtoA). The train split reads ``train/``, the
  test split ``test/``, else ``val/``. An odd width is refused naming the file.
- ``paired:PATH_A,PATH_B``: two folders of separate images matched by file name without
  the extension (``a/12.jpg`` with ``b/12.png``), in the same split layout or flat. A file
  without a partner, or a pair of different sizes, is refused naming the files.
- ``unaligned:PATH``: ``PATH/trainA``, ``trainB``, ``testA``, ``testB`` (junyanz's
  ``unaligned_dataset.py``), sides of any sizes. The length is the larger side; A is
  ``index % len(A)``; B is drawn at random from the item's key on the train split and is
  ``index % len(B)`` on the test split. An empty or missing domain is refused naming it.
  NOTE: junyanz draws independent crops for A and B here; we share one ``Jitter`` per item
  (the protocol's rule), which changes nothing in distribution since B is drawn at random.

Flat folders (no split folders) give a test split only with ``?holdout=FRACTION``.
``?skip_bad=true`` decodes every file at construction and drops bad files and bad pairs,
listing them in ``dataset.skipped``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable

import numpy as np
from PIL import Image

from ..errors import DataError
from .base import DATASETS, DataOptions
from .dataset import ImageDataset, folder_of, stratified_split
from .folder import IMAGE_EXTENSIONS, find_images, split_folders
from .progress import progress
from .transforms import item_rng, load_image_file


@dataclass
class PairParams:
    holdout: float = 0.0  # fraction carved as the test split from a folder without split folders
    seed: int = 0  # seed of that carved split


def split_folder(root: Path, split: str, spec: str) -> Path | None:
    """The folder of ``split`` when ``root`` has split folders (train/, test/ or val/), else None."""
    splits = split_folders(root)
    if not splits:
        return None
    if split not in splits:
        want = "train/" if split == "train" else "test/ or val/"
        raise DataError(f"{root}: has {', '.join(sorted(p.name for p in splits.values()))}/ but no {want} "
                        f"for the {split} split (spec {spec!r})")
    return splits[split]


def carve(items: list[Any], split: str, params: PairParams, root: Path, spec: str) -> list[Any]:
    """The ``split`` part of items of a flat folder: all for train, unless ``?holdout`` carves."""
    if params.holdout:
        train, test = stratified_split(np.zeros(len(items), dtype=np.int64), params.holdout, params.seed)
        return [items[i] for i in (train if split == "train" else test)]
    if split == "test":
        raise DataError(f"{root}: no train/ and test/ (or val/) folders, so there is no test split; "
                        f"carve one with ?holdout=0.1 (spec {spec!r})")
    return items


def images_in(folder: Path, what: str, show_progress: bool) -> list[Path]:
    """The images of ``folder``, or DataError naming it when it is missing or empty."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder ({what})")
    files = find_images(folder, show_progress)
    if not files:
        raise DataError(f"{folder}: no images ({what}; looked for {', '.join(IMAGE_EXTENSIONS)})")
    return files


def image_size_of(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header, or DataError naming it."""
    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: cannot read image ({e})") from None


class PairDataset(ImageDataset):
    """Shared by the file layouts: ``files_A``/``files_B`` and the side loaders."""

    Params = PairParams
    needs_path = True
    pairs = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: PairParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        self.files_A: list[Path] = []
        self.files_B: list[Path] = []

    def set_length(self, n: int) -> None:
        self.targets = np.full(n, -1, dtype=np.int64)

    def keep_good(
        self, groups: list[tuple[Path, ...]], rule: Callable[[tuple[Path, ...], list[tuple[int, int]]], str | None],
        what: str,
    ) -> list[tuple[Path, ...]]:
        """The groups of files (an AB image, a pair, one domain image) whose sizes pass ``rule``
        (it returns an error message or None). Sizes come from the headers, or from a full
        decode with ``skip_bad``, which then drops and records bad groups instead of raising."""
        good: list[tuple[Path, ...]] = []
        skip = self.options.skip_bad
        for group in progress(groups, f"checking {what}", unit="file", enabled=self.options.progress):
            try:
                sizes = [load_image_file(f).size if skip else image_size_of(f) for f in group]
                problem = rule(group, sizes)
                if problem:
                    raise DataError(problem)
            except DataError as e:
                if not skip:
                    raise
                self.skipped.append((str(group[0]), str(e)))
                continue
            good.append(group)
        if self.skipped:
            warnings.warn(f"{self.spec}: skipped {len(self.skipped)} bad files or pairs (see dataset.skipped)", stacklevel=4)
        if not good:
            raise DataError(f"{what}: nothing left after skipping {len(groups)} bad files or pairs")
        return good

    def _load_side(self, path: Path) -> Callable[[], Image.Image]:
        return lambda: load_image_file(path)


@DATASETS.register("aligned", help="aligned:PATH, pix2pix pairs: PATH/{train,val,test}/ images with A|B side by side (?direction=BtoA)")
class AlignedDataset(PairDataset):
    def __init__(self, path: str | None, split: str, options: DataOptions, params: PairParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        folder = split_folder(root, split, spec)
        if folder is not None:
            files = images_in(folder, f"{split} split of {spec!r}", options.progress)
        else:
            files = carve(images_in(root, spec, options.progress), split, params, root, spec)

        def odd(group: tuple[Path, ...], sizes: list[tuple[int, int]]) -> str | None:
            w = sizes[0][0]
            return f"{group[0]}: width {w} is odd, so it cannot hold A|B side by side (aligned layout)" if w % 2 else None

        files = [g[0] for g in self.keep_good([(f,) for f in files], odd, spec)]
        self.files = files
        self.set_length(len(files))
        self._last: tuple[int, Image.Image] | None = None

    def _halves(self, j: int) -> Image.Image:
        if self._last is None or self._last[0] != j:  # A and B come from one decode
            self._last = (j, load_image_file(self.files[j]))
        return self._last[1]

    def side(self, j: int, side: str, key: tuple[int, int, int]) -> tuple[Hashable, Callable[[], Image.Image], str]:
        def load() -> Image.Image:
            ab = self._halves(j)
            w, h = ab.size
            if w % 2:
                raise DataError(f"{self.files[j]}: width {w} is odd, so it cannot hold A|B side by side")
            return ab.crop((0, 0, w // 2, h) if side == "A" else (w // 2, 0, w, h))

        return j, load, f"{self.files[j]}#{side}"


@DATASETS.register("paired", help="paired:PATH_A,PATH_B, separate A and B images matched by file name (?direction=BtoA)")
class PairedDataset(PairDataset):
    def __init__(self, path: str | None, split: str, options: DataOptions, params: PairParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        parts = str(path).split(",")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise DataError(f"paired: expects two folders PATH_A,PATH_B separated by one comma, got {path!r} (spec {spec!r})")
        roots = [folder_of(p.strip(), spec) for p in parts]
        folders = [split_folder(r, split, spec) for r in roots]
        if (folders[0] is None) != (folders[1] is None):
            raise DataError(f"{roots[0]} and {roots[1]}: one has train/test split folders and the other not (spec {spec!r})")
        sides = [images_in(f or r, f"side {s} of {spec!r}", options.progress)
                 for f, r, s in zip(folders, roots, "AB")]
        by_name: list[dict[str, Path]] = []
        for files in sides:
            names: dict[str, Path] = {}
            for f in files:
                stem = os.path.splitext(f.name)[0]
                if stem in names:
                    raise DataError(f"{f}: same name as {names[stem]} (paired matches files by name without extension)")
                names[stem] = f
            by_name.append(names)
        for k in (0, 1):
            lonely = sorted(set(by_name[k]) - set(by_name[1 - k]))
            if lonely:
                raise DataError(
                    f"{by_name[k][lonely[0]]}: no file named {lonely[0]}.* on side {'BA'[k]} "
                    f"({folders[1 - k] or roots[1 - k]}); {len(lonely)} unmatched file(s) on side {'AB'[k]}"
                )
        names = sorted(by_name[0])
        if folders[0] is None:
            names = carve(names, split, params, roots[0], spec)
        self.files_A = [by_name[0][n] for n in names]
        self.files_B = [by_name[1][n] for n in names]
        def same_size(group: tuple[Path, ...], sizes: list[tuple[int, int]]) -> str | None:
            (wa, ha), (wb, hb) = sizes
            if (wa, ha) == (wb, hb):
                return None
            return f"{group[0]} is {wa}x{ha} but its partner {group[1]} is {wb}x{hb}: a pair must have one size"

        pairs = self.keep_good(list(zip(self.files_A, self.files_B)), same_size, spec)
        self.files_A, self.files_B = [a for a, _ in pairs], [b for _, b in pairs]
        self.set_length(len(pairs))

    def side(self, j: int, side: str, key: tuple[int, int, int]) -> tuple[Hashable, Callable[[], Image.Image], str]:
        f = (self.files_A if side == "A" else self.files_B)[j]
        return j, self._load_side(f), str(f)


@DATASETS.register("unaligned", help="unaligned:PATH, CycleGAN domains PATH/trainA, trainB, testA, testB (B drawn at random in training)")
class UnalignedDataset(PairDataset):
    def __init__(self, path: str | None, split: str, options: DataOptions, params: PairParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        self.files_A = images_in(root / f"{split}A", f"domain A of the {split} split of {spec!r}", options.progress)
        self.files_B = images_in(root / f"{split}B", f"domain B of the {split} split of {spec!r}", options.progress)
        if options.skip_bad:  # decode every file now; drop the bad ones
            for side in ("A", "B"):
                files = getattr(self, f"files_{side}")
                good = self.keep_good([(f,) for f in files], lambda group, sizes: None, str(root / f"{split}{side}"))
                setattr(self, f"files_{side}", [g[0] for g in good])
        self.set_length(max(len(self.files_A), len(self.files_B)))

    def b_index(self, j: int, key: tuple[int, int, int]) -> int:
        if self.split == "train":  # junyanz: random B (serial_batches off)
            return int(item_rng(j, key[1], key[2], stream=1).integers(len(self.files_B)))
        return j % len(self.files_B)

    def side(self, j: int, side: str, key: tuple[int, int, int]) -> tuple[Hashable, Callable[[], Image.Image], str]:
        k = j % len(self.files_A) if side == "A" else self.b_index(j, key)
        f = (self.files_A if side == "A" else self.files_B)[k]
        return k, self._load_side(f), str(f)
