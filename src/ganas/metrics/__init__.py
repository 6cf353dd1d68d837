"""Evaluation of generators: Fréchet distance, precision/recall, classifier scores."""

from .classifier import ClassifierConfig, SmallClassifier, TrainedClassifier, get_classifier, load_classifier
from .features import FEATURES, FeatureExtractor
from .frechet import feature_stats, frechet_distance
from .gan_metrics import evaluate_generator
from .inception import InceptionV3Features, inception_extractor, load_inception
from .prdc import knn_radii, prdc, precision_recall

__all__ = [
    "FEATURES",
    "ClassifierConfig",
    "FeatureExtractor",
    "InceptionV3Features",
    "SmallClassifier",
    "TrainedClassifier",
    "evaluate_generator",
    "feature_stats",
    "frechet_distance",
    "get_classifier",
    "inception_extractor",
    "knn_radii",
    "load_classifier",
    "load_inception",
    "prdc",
    "precision_recall",
]
