"""Data providers: built-in procedural shapes and digits, file layouts, transforms.

``make_dataset(spec, split, options, **overrides)`` builds a ``torch.utils.data.Dataset``
yielding ``{"image": float (C, H, W) in [-1, 1] (or [0, 1] with normalize=False),
"label": int64 scalar}``; every dataset has ``num_classes``, ``class_names``,
``image_shape`` (C, H, W) and ``spec``.

Spec syntax: ``NAME`` or ``NAME:PATH``, then optional ``?key=value&key=value`` where a key
is a dataset param or a ``DataOptions`` field (image_size, channels, crop, flip,
normalize, skip_bad, load_size, resize, progress, direction, channels_A,
channels_B); a bare ``?key`` means ``key=true``. Values are
URL-unquoted.

Implemented now::

    shapes                       procedural scenes (?view=photo|label_map|edges|night
                                 &label=shape|colour|size|position&n=20000&seed=0)
    shapes?task=edges2photo      translation pairs A, B (+ factors); also label2photo,
                                 day2night (unpaired train; test keeps B_true)
    digits                       scikit-learn's 8x8 digits, stratified 80/20 split
    folder:PATH                  images (recursive), class subfolders -> labels; split
                                 folders train/ + test/ (else val/), or ?holdout=0.1
    mnist:PATH                   IDX files (gz or not); t10k only -> carved 85/15 split
    cifar10:PATH                 CIFAR-10 python batches (safe restricted unpickler)
    aligned:PATH                 pix2pix A|B side by side in PATH/{train,val,test}/
    paired:PATH_A,PATH_B         A and B images matched by file name
    unaligned:PATH               CycleGAN: PATH/trainA, trainB, testA, testB
    celeba:PATH                  CelebA + list_attr_celeba.txt (?attrs=Black_Hair,...), adds "attrs"
    captions:PATH                Reed's text_c10 layout or an image,caption .csv/.jsonl,
                                 adds "caption", "wrong_caption"
    shapes?task=attributes       adds "attrs" (one-hot groups of ?attrs=colour,size,background)
    shapes?task=captions         adds "caption", "wrong_caption", "factors"

Items are keyed ``dataset[i]`` or ``dataset[(index, epoch, seed)]``: random crops, flips and
the unaligned B draw come from a numpy Generator seeded by the key (docs/protocol.md,
"Data items"). Pair datasets yield ``{"A", "B", "A_path", "B_path"}``; ``field_shapes``
gives each image field's (C, H, W). Options ``direction=AtoB|BtoA``, ``channels_A``,
``channels_B`` apply to pairs; ``resize=shorter|square`` and ``load_size`` to all.
"""

from __future__ import annotations

from . import captions, celeba, cifar10, digits, folder, mnist, pairs, shapes  # noqa: F401  (register the datasets)
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
