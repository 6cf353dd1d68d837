"""Feature extractors for distribution metrics (FD, precision/recall), by name.

An extractor maps images (B, C, H, W) in [-1, 1] to feature vectors (B, D). The
``"classifier"`` entry (``metrics/classifier.py``) is a small CNN trained on the real
training split of the dataset being evaluated; its penultimate layer plays the role
Inception-v3's pool3 layer plays in FID (Heusel et al. 2017), and its softmax gives the
class coverage and confidence scores.
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
