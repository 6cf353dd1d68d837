"""Evaluation of generators: Fréchet distance, precision/recall, classifier scores."""

from .classifier import ClassifierConfig, SmallClassifier, TrainedClassifier, get_classifier, load_classifier
from .features import FEATURES, FeatureExtractor
from .frechet import feature_stats, frechet_distance
from .gan_metrics import evaluate_generator
from .prdc import knn_radii, prdc, precision_recall

__all__ = [
    "FEATURES",
    "ClassifierConfig",
    "FeatureExtractor",
    "SmallClassifier",
    "TrainedClassifier",
    "evaluate_generator",
    "feature_stats",
    "frechet_distance",
    "get_classifier",
    "knn_radii",
    "load_classifier",
    "prdc",
    "precision_recall",
]
