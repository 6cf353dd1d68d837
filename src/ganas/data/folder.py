"""``folder:PATH``: a tree of image files, with torchvision ``ImageFolder`` semantics.

- Images are found recursively (jpg, jpeg, png, bmp, gif, webp, tif, tiff; any case),
  hidden files and folders (``.name``) skipped; the order is sorted and deterministic.
- Each immediate subfolder of the root is a class (sorted names -> labels 0..K-1) holding
  its images at any depth. With no subfolders, the root's images form one class named
  after the root. Images at the root beside class folders are ignored (with a warning).
- ``PATH/train`` and ``PATH/test`` both present: the split picks one (e.g. CIFAR-10
  exported as ``train/<class>/*.png``); class names are the union of both so labels agree.
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
from PIL import Image

from ..errors import ConfigError, DataError
from .base import DATASETS, DataOptions
from .dataset import ImageDataset, folder_of, stratified_split
from .transforms import convert_mode, load_image_file

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def is_image_file(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` at any depth, sorted; hidden entries skipped."""
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in filenames if is_image_file(Path(f)))
    return sorted(out)


def _class_dirs(root: Path) -> list[str]:
    try:
        return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    except OSError as e:
        raise DataError(f"{root}: cannot list folder ({e.strerror or e})") from None


def scan_classes(
    root: Path, class_names: list[str] | None = None, single_name: str | None = None
) -> tuple[list[Path], list[int], list[str]]:
    """(files, labels, class_names) of an ImageFolder-style tree at ``root``.

    ``class_names`` fixes the classes (a missing one is simply empty); with none, the
    root's own images form one class called ``single_name`` (default: the root's name).
    """
    names = class_names if class_names is not None else _class_dirs(root)
    root_images = sorted(p for p in root.iterdir() if not p.is_dir() and is_image_file(p))
    if not names:
        if not root_images:
            what = "empty folder" if not any(root.iterdir()) else "no images found"
            raise DataError(f"{root}: {what} (looked for {', '.join(IMAGE_EXTENSIONS)})")
        return root_images, [0] * len(root_images), [single_name or root.resolve().name or "images"]
    files: list[Path] = []
    labels: list[int] = []
    for k, name in enumerate(names):
        found = find_images(root / name) if (root / name).is_dir() else []
        if not found and class_names is None:
            raise DataError(f"{root / name}: class folder has no images (looked for {', '.join(IMAGE_EXTENSIONS)})")
        files += found
        labels += [k] * len(found)
    if root_images:
        warnings.warn(f"{root}: {len(root_images)} images at the root beside class folders are ignored", stacklevel=3)
    if not files:
        raise DataError(f"{root}: no images found in its class folders")
    return files, labels, list(names)


@dataclass
class FolderParams:
    holdout: float = 0.0  # fraction carved as the test split when PATH has no train/ + test/
    seed: int = 0  # seed of that carved split


@DATASETS.register("folder", help="folder:PATH of images; class subfolders -> labels; PATH/train+test or ?holdout=0.1; ?skip_bad=true")
class FolderDataset(ImageDataset):
    Params = FolderParams
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: FolderParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        if (root / "train").is_dir() and (root / "test").is_dir():
            if params.holdout:
                raise ConfigError(f"{spec}: {root} already has train/ and test/; drop ?holdout")
            names = sorted(set(_class_dirs(root / "train")) | set(_class_dirs(root / "test")))
            files, labels, names = scan_classes(root / split, names or None, root.resolve().name)
        else:
            files, labels, names = scan_classes(root)
            if params.holdout:
                train, test = stratified_split(np.array(labels), params.holdout, params.seed)
                keep = train if split == "train" else test
                files, labels = [files[i] for i in keep], [labels[i] for i in keep]
            elif split == "test":
                raise DataError(
                    f"{root}: no train/ and test/ subfolders, so there is no test split; "
                    f"carve one with {spec.split('?')[0]}?holdout=0.1"
                )
        if options.skip_bad:
            files, labels = self._validate(files, labels)
        self.files = files
        self.targets = np.array(labels, dtype=np.int64)
        self.class_names = names

    def _validate(self, files: list[Path], labels: list[int]) -> tuple[list[Path], list[int]]:
        """Decode every file now; drop and record the bad ones."""
        good_f: list[Path] = []
        good_l: list[int] = []
        for f, y in zip(files, labels):
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

    def source(self, i: int) -> str:
        return str(self.files[i])

    def load(self, i: int) -> Image.Image:
        return load_image_file(self.files[i])
