"""Helpers of the trainer (``python -m posa_model.train``): config, losses, metrics, logs, DDP."""

from __future__ import annotations

from .config import ConfigError, TrainConfig
from .losses import LossTerms, cvae_loss

__all__ = ["ConfigError", "LossTerms", "TrainConfig", "cvae_loss"]
