"""``celeba:PATH``: CelebA images with ``list_attr_celeba.txt`` (StarGAN's layout).

Files: the attribute file at ``PATH/list_attr_celeba.txt`` (or ``PATH/Anno/``), the images
in ``PATH/images``, ``PATH/img_align_celeba`` (also nested twice, as the Kaggle archive
unpacks) or ``PATH`` itself.

The attribute file: a first line with the image count, a second with the 40 attribute
names, then one line per image, its file name and 40 values ``1``/``-1`` separated by one
or more spaces. As files in the wild have them: CRLF line endings, blank lines and a count
that disagrees with the rows present (a warning; the rows win) are accepted; so is the
CSV export (``image_id,5_o_Clock_Shadow,...`` with no count line). A row with the wrong
number of values, or a value other than 1/-1/0, raises DataError naming the file and line.

Items: ``{"image", "label": -1, "attrs": float (c,)}`` with 1.0/0.0 for the chosen
attributes (``?attrs=Black_Hair,Blond_Hair,Brown_Hair,Male,Young``, StarGAN's default).
``attr_groups`` lists the mutually exclusive groups (the chosen hair colours, one-hot at
test time as StarGAN's ``create_labels``); every other attribute is its own binary group.

Split as StarGAN's ``data_loader.py``: the rows are shuffled with Python's
``random.Random(1234)`` and the first ``test_size`` go to the test split.
NOTE: StarGAN's ``(i+1) < 2000`` keeps 1999 test images; we keep ``test_size`` (2000).
Transform: centre crop ``center_crop`` (178, StarGAN's ``celeba_crop_size``; 0 = none),
then the usual resize to ``image_size`` (StarGAN: 128) and, on the train split, ``flip``.
An image listed but missing raises DataError naming it (``?skip_bad=true`` skips it).
"""

from __future__ import annotations

import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import ConfigError, DataError
from .base import DATASETS, DataOptions
from .dataset import FileImageDataset, folder_of
from .progress import progress
from .transforms import Jitter

DEFAULT_ATTRS = "Black_Hair,Blond_Hair,Brown_Hair,Male,Young"
HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")
_SEP = re.compile(r"[,\s]+")


def read_attr_file(path: Path, show_progress: bool = True) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, values int8 (N, A) in {1, -1}) of a list_attr file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file ({e})") from None
    lines = [(k + 1, ln.strip()) for k, ln in enumerate(text.splitlines()) if ln.strip()]  # CRLF too
    if not lines:
        raise DataError(f"{path}: empty attribute file")
    count: int | None = None
    if re.fullmatch(r"\d+", lines[0][1]):
        count = int(lines[0][1])
        lines = lines[1:]
    if not lines:
        raise DataError(f"{path}: no attribute names line")
    names = [t for t in _SEP.split(lines[0][1]) if t]
    if names and names[0].lower() in ("image_id", "filename", "file", "image"):
        names = names[1:]  # the CSV export names its first column
    if not names:
        raise DataError(f"{path}: line {lines[0][0]}: no attribute names")
    files: list[str] = []
    rows: list[list[int]] = []
    for lineno, ln in progress(lines[1:], f"reading {path.name}", unit="row", enabled=show_progress):
        parts = [t for t in _SEP.split(ln) if t]
        if len(parts) != len(names) + 1:
            raise DataError(f"{path}: line {lineno}: {len(parts) - 1} values for {len(names)} attributes")
        try:
            vals = [int(v) for v in parts[1:]]
        except ValueError:
            raise DataError(f"{path}: line {lineno}: values must be 1 or -1, got {ln[:80]!r}") from None
        if any(v not in (1, -1, 0) for v in vals):
            raise DataError(f"{path}: line {lineno}: values must be 1 or -1 (or 0), got {ln[:80]!r}")
        files.append(parts[0])
        rows.append(vals)
    if not files:
        raise DataError(f"{path}: no image rows")
    if count is not None and count != len(files):
        warnings.warn(f"{path}: the first line says {count} images but {len(files)} rows are present; using the rows",
                      stacklevel=3)
    return names, files, np.array(rows, dtype=np.int8)


def _find(root: Path, candidates: list[str], what: str, is_dir: bool) -> Path:
    for c in candidates:
        p = root / c
        if (p.is_dir() if is_dir else p.is_file()):
            return p
    raise DataError(f"{root}: no {what} (looked for {', '.join(candidates)})")


@dataclass
class CelebAParams:
    attrs: str = DEFAULT_ATTRS  # comma-separated attribute names
    test_size: int = 2000  # rows held out as the test split (after StarGAN's shuffle)
    seed: int = 1234  # StarGAN's random.seed(1234)
    center_crop: int = 178  # StarGAN's celeba_crop_size; 0 = no crop


@DATASETS.register("celeba", help="celeba:PATH, CelebA images + list_attr_celeba.txt; ?attrs=Black_Hair,Blond_Hair,... adds attrs; StarGAN's split")
class CelebADataset(FileImageDataset):
    Params = CelebAParams
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: CelebAParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = folder_of(path, spec)
        attr_file = _find(root, ["list_attr_celeba.txt", "Anno/list_attr_celeba.txt", "list_attr_celeba.csv"],
                          "attribute file", is_dir=False)
        image_dir = _find(root, ["images", "img_align_celeba/img_align_celeba", "img_align_celeba", "."],
                          "image folder", is_dir=True)
        names, files, values = read_attr_file(attr_file, options.progress)
        chosen = [a.strip() for a in params.attrs.split(",") if a.strip()]
        unknown = [a for a in chosen if a not in names]
        if not chosen or unknown:
            raise ConfigError(f"{spec}: unknown attribute(s) {', '.join(unknown) or '(none given)'} for {attr_file}; "
                              f"valid: {', '.join(names)}")
        if len(set(chosen)) != len(chosen):
            raise ConfigError(f"{spec}: attribute given twice in {params.attrs!r}")
        if not 0 < params.test_size < len(files):
            raise ConfigError(f"{spec}: test_size must be in 1..{len(files) - 1} for {len(files)} rows, got {params.test_size}")
        order = list(range(len(files)))
        random.Random(params.seed).shuffle(order)  # StarGAN: random.seed(1234); random.shuffle(lines)
        keep = order[: params.test_size] if split == "test" else order[params.test_size :]
        cols = [names.index(a) for a in chosen]
        self.attr_names = chosen
        hair = [i for i, a in enumerate(chosen) if a in HAIR_COLOURS]
        if len(hair) > 1:
            self.attr_groups = [hair] + [[i] for i in range(len(chosen)) if i not in hair]
        else:
            self.attr_groups = [[i] for i in range(len(chosen))]
        paths = [image_dir / files[i] for i in keep]
        attrs = (values[keep][:, cols] == 1).astype(np.float32)  # (N, c)
        good = np.array([p.is_file() for p in progress(paths, f"checking {spec}", unit="file",
                                                        enabled=options.progress)], dtype=bool)
        if not good.all():
            missing = [str(p) for p, g in zip(paths, good) if not g]
            if not options.skip_bad:
                raise DataError(f"{missing[0]}: listed in {attr_file} but missing ({len(missing)} missing in the "
                                f"{split} split; ?skip_bad=true skips them)")
            self.skipped = [(m, f"{m}: missing") for m in missing]
            warnings.warn(f"{spec}: skipped {len(missing)} missing images (see dataset.skipped)", stacklevel=3)
            paths = [p for p, g in zip(paths, good) if g]
            attrs = attrs[good]
        if not paths:
            raise DataError(f"{spec}: no images of the {split} split found in {image_dir}")
        self.files = paths
        self.attrs = attrs
        self.targets = np.full(len(paths), -1, dtype=np.int64)

    def load(self, i: int) -> Image.Image:
        img = super().load(i)
        c = self.params.center_crop
        if c:
            w, h = img.size
            if w < c or h < c:
                raise DataError(f"{self.files[i]}: {w}x{h} is smaller than center_crop={c}")
            left, top = int(round((w - c) / 2.0)), int(round((h - c) / 2.0))  # torchvision CenterCrop
            img = img.crop((left, top, left + c, top + c))
        return img

    def item(self, j: int, jitter: Jitter, key: tuple[int, int, int]) -> dict[str, object]:
        out = super().item(j, jitter, key)
        out["attrs"] = torch.from_numpy(self.attrs[j].copy())  # (c,) float
        return out
