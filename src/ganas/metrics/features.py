"""Feature extractors for distribution metrics (FD, precision/recall), by name.

An extractor maps images (B, C, H, W) in [-1, 1] to feature vectors (B, D). Entries:

- ``"classifier"`` (``metrics/classifier.py``): a small CNN trained on the labelled real
  training split of the dataset being evaluated; its penultimate layer plays the role
  Inception-v3's pool3 layer plays in FID (Heusel et al. 2017), and its softmax gives the
  class coverage and confidence scores. Refused on unlabelled or single-class data.
- ``"selfsup"`` (``metrics/selfsup.py``): a small CNN trained self-supervised (SimCLR)
  on the training split's images alone; no labels, no download.
- ``"inception"`` (``metrics/inception.py``): Inception-v3 from a local weights file.

Factories take ``(data_spec, image_size, channels, **options)``; ``evaluate_generator``
passes ``cache_dir``, ``dataset_fn``, ``device`` and ``progress`` to those that accept them.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..registry import Registry


@runtime_checkable
class FeatureExtractor(Protocol):
    """What the metrics need from an extractor."""

    feature_dim: int

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [-1, 1] -> (B, feature_dim) float features."""
        ...


#: factories ``(data_spec, image_size, channels, **options) -> FeatureExtractor``
FEATURES: Registry = Registry("feature extractor")
