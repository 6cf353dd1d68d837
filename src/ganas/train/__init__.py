"""The training process shared by every GAN method (knows the method protocol only)."""

from .checkpoint import (
    LoadedCheckpoint, find_latest, latest_checkpoint, load_checkpoint, save_checkpoint, seed_everything,
)
from .config import TrainConfig, resolve_device
from .metrics_log import read_metrics
from .trainer import (
    Trainer, TrainResult, load_run_checkpoint, method_from_checkpoint, restore_method, visual_path,
)

__all__ = [
    "Trainer", "TrainResult", "TrainConfig", "restore_method", "method_from_checkpoint", "load_run_checkpoint",
    "LoadedCheckpoint", "find_latest", "visual_path", "resolve_device",
    "save_checkpoint", "load_checkpoint", "latest_checkpoint", "seed_everything", "read_metrics",
]
