"""Evaluation of generators: Fréchet distance, precision/recall, classifier scores."""

from .classifier import (
    ClassifierConfig, NeedsLabelsError, SmallClassifier, TrainedClassifier, get_classifier, load_classifier,
)
from .features import FEATURES, FeatureExtractor
from .frechet import FrechetReference, fd_infinity, feature_stats, frechet_distance
from .gan_metrics import evaluate_generator, fd_at_matched_sizes, replay
from .inception import InceptionV3Features, inception_extractor, load_inception
from .prdc import knn_radii, prdc, precision_recall
from .selfsup import SelfSupConfig, SelfSupFeatures, get_selfsup

__all__ = [
    "FEATURES",
    "ClassifierConfig",
    "FeatureExtractor",
    "FrechetReference",
    "NeedsLabelsError",
    "InceptionV3Features",
    "SelfSupConfig",
    "SelfSupFeatures",
    "SmallClassifier",
    "TrainedClassifier",
    "evaluate_generator",
    "replay",
    "fd_at_matched_sizes",
    "fd_infinity",
    "feature_stats",
    "frechet_distance",
    "get_classifier",
    "get_selfsup",
    "inception_extractor",
    "knn_radii",
    "load_classifier",
    "load_inception",
    "prdc",
    "precision_recall",
]
