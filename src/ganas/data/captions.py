"""``captions:PATH``: images with captions, for text-to-image (GAN-CLS).

Two layouts:

- Reed et al.'s (CUB-200 and Oxford-102 as released with "Learning deep representations
  of fine-grained visual descriptions"): ``PATH/text_c10/<class>/<image>.txt`` holding one
  caption per line (ten per image in the release), and the images anywhere else under
  PATH (``PATH/images/<class>/<image>.jpg`` for CUB, ``PATH/jpg/<image>.jpg`` for flowers),
  matched by file name without extension. The class is the caption folder's name. With
  ``PATH/trainvalclasses.txt`` and ``PATH/testclasses.txt`` (one class per line, as the
  release has them) the splits are those class-disjoint sets; otherwise
  ``?holdout=FRACTION`` carves a stratified test split by image.
- A table: ``PATH`` a ``.csv`` file with a header naming an ``image`` column (or ``file``,
  ``filename``, ``path``) and a ``caption`` column (or ``text``), optionally ``class`` (or
  ``label``); or a ``.jsonl`` file of objects ``{"image": ..., "caption": "..."}`` (or
  ``"captions": [...]``, optional ``"class"``). Image paths are relative to the file's
  folder; several rows of one image give it several captions. Splits with ``?holdout``.

Items: ``{"image", "label", "caption", "wrong_caption"}``: ``caption`` one of the image's
captions drawn from the item's key (Reed samples one of the ten per step), and
``wrong_caption`` a caption of an image of another class (of another image when there are
no classes), GAN-CLS's mismatching text. The strings collate to lists (the default
collate). ``dataset.captions[i]`` lists every caption of item i.

A caption file or row whose image is missing, an empty caption file, a table without the
columns, or a malformed line raises DataError naming the file (and line); ``?skip_bad=true``
skips captions without images instead.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from .base import DATASETS, DataOptions
from .dataset import FileImageDataset, stratified_split
from .folder import find_images
from .transforms import Jitter, item_rng

_IMAGE_COLUMNS = ("image", "file", "filename", "path", "image_path")
_CAPTION_COLUMNS = ("caption", "text")
_CLASS_COLUMNS = ("class", "label")


@dataclass
class CaptionParams:
    holdout: float = 0.0  # fraction of images carved as the test split (stratified by class)
    seed: int = 0  # seed of that split


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e})") from None


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    return next((low[n] for n in names if n in low), None)


Entry = tuple[Path, str | None, list[str]]  # image, class, captions


def read_table(path: Path) -> list[Entry]:
    """(image, class, captions) grouped by image from a .csv or .jsonl caption table."""
    rows: list[tuple[int, str, str | None, list[str]]] = []  # line, image, class, captions
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(_read_text(path).splitlines())
        cols = reader.fieldnames or []
        ic, cc, kc = _pick(cols, _IMAGE_COLUMNS), _pick(cols, _CAPTION_COLUMNS), _pick(cols, _CLASS_COLUMNS)
        if ic is None or cc is None:
            raise DataError(f"{path}: the header must name an image column ({', '.join(_IMAGE_COLUMNS)}) and a "
                            f"caption column ({', '.join(_CAPTION_COLUMNS)}); got {', '.join(cols) or '(none)'}")
        for k, r in enumerate(reader, start=2):
            if not (r.get(ic) or "").strip():
                raise DataError(f"{path}: line {k}: no image")
            cls = (r.get(kc) or "").strip() if kc else ""
            rows.append((k, r[ic].strip(), cls or None, [(r.get(cc) or "").strip()]))
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        for k, line in enumerate(_read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}: line {k}: not JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}: line {k}: expected an object")
            image = next((obj[c] for c in _IMAGE_COLUMNS if c in obj), None)
            caps = obj.get("captions", obj.get("caption", obj.get("text")))
            caps = [caps] if isinstance(caps, str) else caps
            if not isinstance(image, str) or not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
                raise DataError(f"{path}: line {k}: needs \"image\" (a path) and \"caption\" (text) or \"captions\" (a list)")
            cls = next((obj[c] for c in _CLASS_COLUMNS if c in obj), None)
            rows.append((k, image, None if cls is None else str(cls), [c.strip() for c in caps]))
    else:
        raise DataError(f"{path}: a caption table must be .csv or .jsonl")
    grouped: dict[str, Entry] = {}
    for k, image, cls, caps in rows:
        caps = [c for c in caps if c]
        if not caps:
            raise DataError(f"{path}: line {k}: empty caption")
        p = (path.parent / image) if not os.path.isabs(image) else Path(image)
        key = os.path.normpath(str(p))
        if key in grouped:
            grouped[key][2].extend(caps)
        else:
            grouped[key] = (p, cls, caps)
    if not grouped:
        raise DataError(f"{path}: no captions")
    return list(grouped.values())


def read_reed(root: Path) -> list[Entry]:
    """(image, class, captions) of Reed's text_c10 layout at ``root``."""
    text_root = root / "text_c10"
    images: dict[str, Path] = {}
    for f in find_images(root):
        if text_root in f.parents:
            continue
        stem = f.stem
        if stem in images:
            raise DataError(f"{f}: same name as {images[stem]} (captions match images by name without extension)")
        images[stem] = f
    out: list[Entry] = []
    for cls in sorted(d.name for d in text_root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        for txt in sorted((text_root / cls).glob("*.txt")):
            caps = [ln.strip() for ln in _read_text(txt).splitlines() if ln.strip()]
            if not caps:
                raise DataError(f"{txt}: empty caption file")
            # a caption file without an image keeps the .txt path, so the error can name it
            out.append((images[txt.stem] if txt.stem in images else txt, cls, caps))
    if not out:
        raise DataError(f"{text_root}: no caption files (<class>/<image>.txt)")
    return out


@DATASETS.register("captions", help="captions:PATH, images + text_c10/<class>/<image>.txt (Reed) or an image,caption .csv/.jsonl; adds caption, wrong_caption")
class CaptionDataset(FileImageDataset):
    Params = CaptionParams
    needs_path = True

    def __init__(self, path: str | None, split: str, options: DataOptions, params: CaptionParams, spec: str) -> None:
        super().__init__(path, split, options, params, spec)
        root = Path(str(path)).expanduser()
        if not root.exists():
            raise DataError(f"{root}: no such file or folder (spec {spec!r})")
        class_files = (root / "trainvalclasses.txt", root / "testclasses.txt")
        if root.is_dir():
            if not (root / "text_c10").is_dir():
                raise DataError(f"{root}: no text_c10/ folder (Reed's layout); or give a .csv/.jsonl caption table")
            entries = read_reed(root)
        else:
            entries = read_table(root)
        entries = self._check_images(entries, root)
        names = sorted({c for _, c, _ in entries if c is not None})
        labels = np.array([names.index(c) if c is not None else -1 for _, c, _ in entries], dtype=np.int64)
        if root.is_dir() and all(f.is_file() for f in class_files) and not params.holdout:
            wanted = {ln.strip() for ln in _read_text(class_files[split == "test"]).splitlines() if ln.strip()}
            unknown = sorted(wanted - set(names))
            if unknown:
                raise DataError(f"{class_files[split == 'test']}: classes without captions: {', '.join(unknown[:5])}")
            keep = np.array([c in wanted for _, c, _ in entries])
            idx = np.flatnonzero(keep)
        elif params.holdout:
            train, test = stratified_split(labels, params.holdout, params.seed)
            idx = train if split == "train" else test
        elif split == "test":
            raise DataError(f"{root}: no trainvalclasses.txt + testclasses.txt, so there is no test split; "
                            f"carve one with ?holdout=0.1 (spec {spec!r})")
        else:
            idx = np.arange(len(entries))
        self.files = [entries[i][0] for i in idx]
        self.captions: list[list[str]] = [entries[i][2] for i in idx]
        self.targets = labels[idx]
        self.class_names = names
        groups = len(set(self.targets.tolist())) if names else len(self.files)
        if groups < 2:
            raise DataError(f"{spec}: the {split} split needs images of two classes (or two images) "
                            f"to draw mismatching captions from")

    def _check_images(self, entries: list[Entry], root: Path) -> list[Entry]:
        bad = [e for e in entries if not e[0].is_file() or e[0].suffix == ".txt"]
        if not bad:
            return entries
        if not self.options.skip_bad:
            raise DataError(f"{bad[0][0]}: no image for its captions ({len(bad)} such in {root}; ?skip_bad=true skips them)")
        self.skipped = [(str(e[0]), "no image") for e in bad]
        warnings.warn(f"{self.spec}: skipped {len(bad)} captions without images (see dataset.skipped)", stacklevel=4)
        bad_ids = {id(e) for e in bad}
        return [e for e in entries if id(e) not in bad_ids]


    def wrong_index(self, j: int, rng: np.random.Generator) -> int:
        """An item of another class (another item when there are no classes)."""
        y = int(self.targets[j])
        if y < 0:
            k = int(rng.integers(len(self) - 1))
            return k + (k >= j)
        others = np.flatnonzero(self.targets != y)
        return int(others[int(rng.integers(len(others)))])

    def item(self, j: int, jitter: Jitter, key: tuple[int, int, int]) -> dict[str, Any]:
        out = super().item(j, jitter, key)
        rng = item_rng(j, key[1], key[2], stream=2)
        caps = self.captions[j]
        out["caption"] = caps[int(rng.integers(len(caps)))]
        k = self.wrong_index(j, rng)
        out["wrong_caption"] = self.captions[k][int(rng.integers(len(self.captions[k])))]
        return out
