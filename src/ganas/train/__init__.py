"""The training process shared by every GAN method (knows the method protocol only)."""

from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, seed_everything
from .config import TrainConfig, resolve_device
from .metrics_log import read_metrics
from .trainer import Trainer, TrainResult, restore_method

__all__ = [
    "Trainer", "TrainResult", "TrainConfig", "restore_method", "resolve_device",
    "save_checkpoint", "load_checkpoint", "latest_checkpoint", "seed_everything", "read_metrics",
]
