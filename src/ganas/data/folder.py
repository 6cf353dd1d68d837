"""``folder:PATH``: a tree of image files, with torchvision ``ImageFolder`` semantics.

- Images are found recursively (jpg, jpeg, png, bmp, gif, webp, tif, tiff; any case),
  hidden files and folders (``.name``) skipped; the order is sorted and deterministic.
  Symbolic links are followed, but each real file counts once (the first path in sorted
  order keeps it) and a folder reached again through a link is not entered again, so a
  symlink loop cannot multiply the files.
- Each immediate subfolder of the root is a class (sorted names -> labels 0..K-1) holding
  its images at any depth. With no subfolders, the root's images form one class named
  after the root. Images at the root beside class folders are ignored (with a warning).
- *Split folders*: when the root holds any of ``train/``, ``val/`` (or ``valid/``,
  ``validation/``) and ``test/``, they are splits, never classes, and class folders sit
  below them (``train/<class>/...``, the ImageNet layout). The ``train`` split reads
  ``train/``; the ``test`` split reads ``test/``, or ``val/`` when there is no ``test/``
  (the held-out split of ImageNet-style downloads; a ``val/`` beside a ``test/`` is not
  read). Class names are the union over the split folders read, so labels agree. With
  ``train/`` alone, ``?holdout=FRACTION`` carves the test split from it. Other folders
  beside the split folders are ignored with a warning.
- Otherwise split="test" needs ``?holdout=FRACTION``: a deterministic stratified split
  (``stratified_split`` with ``?seed=``); without it the test split is refused.
- Bad files raise DataError naming the file when read; ``?skip_bad=true`` decodes every
  file at construction, drops the bad ones and lists them in ``dataset.skipped``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from .base import DATASETS, DataOptions
from .dataset import FileImageDataset, folder_of, stratified_split
from .progress import progress
from .transforms import convert_mode, load_image_file

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: split folder names -> the split that reads them (in order of preference for "test")
SPLIT_FOLDERS: dict[str, tuple[str, ...]] = {"train": ("train",), "test": ("test", "val", "valid", "validation")}


def is_image_file(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def find_images(folder: Path, show_progress: bool = True) -> list[Path]:
    """Image files under ``folder`` at any depth, sorted; hidden entries skipped.

    Links are followed, but a folder is entered once (by its device and inode) and a file
    reached by several paths is listed once (by its resolved path), so a symlink loop
    gives each real file once.
    """
    out: list[Path] = []
    seen_dirs: set[tuple[int, int]] = set()
    bar = progress(None, f"scanning {folder}", unit="dir", enabled=show_progress)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        bar.update(1)
        try:
            st = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:  # reached again through a link: a loop
            dirnames[:] = []
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in filenames if is_image_file(Path(f)))
    bar.close()
    return unique_files(out)


def unique_files(paths: list[Path]) -> list[Path]:
    """``paths`` sorted, each real file once (the first path in sorted order keeps it)."""
    seen: set[str] = set()
    unique: list[Path] = []
    for p in sorted(paths):
        real = os.path.realpath(p)
        if real not in seen:
            seen.add(real)
            unique.append(p)
    return unique


def _class_dirs(root: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError as e:
        raise DataError(f"{root}: cannot list folder ({e.strerror or e})") from None


def scan_classes(
    root: Path, class_names: list[str] | None = None, single_name: str | None = None, show_progress: bool = True
) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, class_names) of an ImageFolder-style tree at ``root``.

    ``class_names`` fixes the classes (a missing one is simply empty); with none, the
    root's own images form one class called ``single_name`` (default: the root's name).
    """
    names = class_names if class_names is not None else _class_dirs(root)
    root_images = unique_files([p for p in root.iterdir() if not p.is_dir() and is_image_file(p)])
    if not names:
        if not root_images:
            what = "empty folder" if not any(root.iterdir()) else "no images found"
            raise DataError(f"{root}: {what} (looked for {', '.join(IMAGE_EXTENSIONS)})")
        return root_images, [0] * len(root_images), [single_name or root.resolve().name or "images"]
    files: list[Path] = []
    labels: list[int] = []
    seen: set[str] = set()  # each real file once, across classes too
    for k, name in enumerate(names):
        found = find_images(root / name, show_progress) if (root / name).is_dir() else []
        found = [p for p in found if os.path.realpath(p) not in seen]
        seen.update(os.path.realpath(p) for p in found)
        if not found and class_names is None:
            raise DataError(f"{root / name}: class folder has no images (looked for {', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [k] * len(found)
    if root_images:
        warnings.warn(f"{root}: {len(root_images)} images at the root beside class folders are ignored", stacklevel=3)
    if not files:
        raise DataError(f"{root}: no images found in its class folders")
    return files, labels, list(names)


def split_folders(root: Path) -> dict[str, Path]:
    """The split folders of ``root``: {"train": root/train, "test": root/test or root/val...}."""
    present = set(_class_dirs(root))
    out: dict[str, Path] = {}
    for split, names in SPLIT_FOLDERS.items():
        for name in names:
            if name in present:
                out[split] = root / name
                break
    return out


@dataclass
class FolderParams:
    holdout: float = 0.0  # fraction carved as the test split when PATH has no train/ + test/
    seed: int = 0  # seed of that carved split


@DATASETS.register("folder", help="folder:PATH of images; class subfolders -> labels; PATH/train+test or ?holdout=0.1; ?skip_bad=true")
class FolderDataset(FileImageDataset):
    Params = FolderParams
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: FolderParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        splits = split_folders(root)
        if splits:
            files, labels, names = self._scan_splits(root, splits, split, params, spec)
        else:
            files, labels, names = scan_classes(root, show_progress=options.progress)
            if params.holdout:
                files, labels = self._carve(files, labels, split, params)
            elif split == "test":
                raise DataError(
                    f"{root}: no train/ and test/ (or val/) subfolders, so there is no test split; "
                    f"carve one with {spec.split('?')[0]}?holdout=0.1"
                )
        if options.skip_bad:
            files, labels = self._validate(files, labels)
        self.files = files
        self.targets = np.array(labels, dtype=np.int64)
        self.class_names = names

    def _scan_splits(
        self, root: Path, splits: dict[str, Path], split: str, params: FolderParams, spec: str
    ) -> tuple[list[Path], list[int], list[str]]:
        """Files of ``split`` in a root holding split folders (train/, val/, test/)."""
        used = {p.name for p in splits.values()}
        every = {n for names in SPLIT_FOLDERS.values() for n in names}
        others = [n for n in _class_dirs(root) if n not in every]
        if others:
            warnings.warn(
                f"{root}: has split folders ({', '.join(sorted(used))}); the folders "
                f"{', '.join(others)} beside them are ignored", stacklevel=4
            )
        if "train" not in splits:
            raise DataError(f"{root}: has {', '.join(sorted(used))}/ but no train/ folder for the train split")
        if params.holdout and "test" in splits:
            raise ConfigError(f"{spec}: {root} already has train/ and {splits['test'].name}/; drop ?holdout")
        if split == "test" and "test" not in splits and not params.holdout:
            raise DataError(
                f"{root}: has train/ but no test/ or val/ folder, so there is no test split; "
                f"carve one from train/ with {spec.split('?')[0]}?holdout=0.1"
            )
        names = sorted(set().union(*(_class_dirs(p) for p in splits.values())))
        folder = splits["train"] if params.holdout else splits[split]
        files, labels, names = scan_classes(folder, names or None, root.resolve().name, self.options.progress)
        if params.holdout:
            files, labels = self._carve(files, labels, split, params)
        return files, labels, names

    @staticmethod
    def _carve(files: list[Path], labels: list[int], split: str, params: FolderParams) -> tuple[list[Path], list[int]]:
        train, test = stratified_split(np.array(labels), params.holdout, params.seed)
        keep = train if split == "train" else test
        return [files[i] for i in keep], [labels[i] for i in keep]

    def _validate(self, files: list[Path], labels: list[int]) -> tuple[list[Path], list[int]]:
        """Decode every file now; drop and record the bad ones."""
        good_f: list[Path] = []
        good_l: list[int] = []
        bar = progress(zip(files, labels), f"checking {self.spec}", total=len(files), unit="file",
                       enabled=self.options.progress)
        for f, y in bar:
            try:
                convert_mode(load_image_file(f), self.options.channels, str(f))
            except DataError as e:
                self.skipped.append((str(f), str(e)))
                continue
            good_f.append(f)
            good_l.append(y)
        if self.skipped:
            warnings.warn(f"{self.spec}: skipped {len(self.skipped)} bad image files (see dataset.skipped)", stacklevel=4)
        if not good_f:
            raise DataError(f"{self.spec}: all {len(files)} image files are bad, e.g. {self.skipped[0][1]}")
        return good_f, good_l
