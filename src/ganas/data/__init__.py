"""Data providers: built-in procedural shapes and digits, file layouts, transforms.

``make_dataset(spec, split, options, **overrides)`` builds a ``torch.utils.data.Dataset``
yielding ``{"image": float (C, H, W) in [-1, 1] (or [0, 1] with normalize=False),
"label": int64 scalar}``; every dataset has ``num_classes``, ``class_names``,
``image_shape`` (C, H, W) and ``spec``.

Spec syntax: ``NAME`` or ``NAME:PATH``, then optional ``?key=value&key=value`` where a key
is a dataset param or a ``DataOptions`` field (image_size, channels, crop, flip,
normalize, skip_bad, load_size); a bare ``?key`` means ``key=true``. Values are
URL-unquoted.

Implemented now::

    shapes                       procedural scenes (?view=photo|label_map|edges|night
                                 &label=shape|colour|size|position&n=20000&seed=0)
    digits                       scikit-learn's 8x8 digits, stratified 80/20 split
    folder:PATH                  images (recursive), class subfolders -> labels;
                                 PATH/train + PATH/test select the split, else ?holdout=0.1
    mnist:PATH                   IDX files (gz or not); t10k only -> carved 85/15 split
    cifar10:PATH                 CIFAR-10 python batches (safe restricted unpickler)

Planned layouts use the same syntax (not implemented yet)::

    aligned:PATH                 pix2pix pairs: each file is A|B side by side
                                 (?direction=AtoB|BtoA), adds "target"
    unaligned:PATH               CycleGAN: PATH/trainA, PATH/trainB (testA/testB)
    celeba:PATH                  CelebA images + list_attr_celeba.txt (?attrs=Black_Hair,...),
                                 adds "attrs"
    captions:PATH                images + one caption file per image, adds "caption"
"""

from __future__ import annotations

from . import cifar10, digits, folder, mnist, pairs, shapes  # noqa: F401  (register the datasets)
from .base import DATASETS, DataOptions
from .dataset import ImageDataset, stratified_split
from .spec import DataSpec, list_datasets, make_dataset, parse_spec

__all__ = [
    "DATASETS",
    "DataOptions",
    "DataSpec",
    "ImageDataset",
    "list_datasets",
    "make_dataset",
    "parse_spec",
    "stratified_split",
]
