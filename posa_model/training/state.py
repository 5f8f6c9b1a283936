"""What a trainer checkpoint holds beyond the weights, and how a run continues from it.

Every checkpoint of ``posa_model.train`` is one of our checkpoints (:mod:`posa_model.nn.checkpoint`:
the unwrapped model's weights, the hierarchy fingerprint, the frame regressor) with

* ``meta`` (:func:`trainer_meta`): ``trained``, ``frame``, ``dataset``, ``epochs``, ``step``,
  ``frame_regressor`` (where the regressor came from), a description, and the epoch's
  ``train_*`` / ``val_*`` numbers;
* ``extra`` (:func:`trainer_extra`): the optimiser state, every RNG state
  (:mod:`.rng`), ``epoch`` and ``step``, ``best_score`` and ``best_epoch``, the ``history`` of
  log rows, the ``train_config`` and the ``world_size``.

:func:`resume_run` restores all of it, so a resumed run continues exactly where the last
completed epoch ended (resuming mid-epoch is not supported: a run killed during epoch e
restarts epoch e). Settings that define the model or the batch order
(:data:`.config.FIXED_ON_RESUME`) cannot change on resume; a changed ``lr`` or
``weight_decay`` applies from then on.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import CheckpointError
from ..nn.checkpoint import Checkpoint, read_checkpoint
from .config import FIXED_ON_RESUME, ConfigError, TrainConfig
from .rng import capture_rng_state, restore_rng_state

__all__ = ["RunState", "read_trainer_checkpoint", "resume_run", "trainer_extra", "trainer_meta"]


@dataclass
class RunState:
    """Where a run stands: ``epoch`` completed epochs, ``step`` optimiser steps, the ``best``
    score so far and its epoch, and the ``history`` of per-epoch log rows."""

    epoch: int = 0
    step: int = 0
    best: float | None = None
    best_epoch: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def record(self, row: dict[str, Any], metric: str) -> bool:
        """Append the log row of a completed epoch; True when ``row[metric]`` is the best so far
        (the highest ``val_f1``, the lowest of any other metric; NaN never is)."""
        self.epoch = int(row["epoch"])
        self.history.append(row)
        score = row[metric]
        if math.isnan(score):
            return False
        higher = metric == "val_f1"
        if self.best is not None and not (score > self.best if higher else score < self.best):
            return False
        self.best, self.best_epoch = score, self.epoch
        return True


def trainer_extra(state: RunState, optimizer: torch.optim.Optimizer, noise: torch.Generator,
                  config: TrainConfig, world_size: int) -> dict[str, Any]:
    """The checkpoint's ``extra``: everything :func:`resume_run` needs besides the weights."""
    return {"optimizer": optimizer.state_dict(), "rng": capture_rng_state(noise),
            "epoch": state.epoch, "step": state.step, "best_score": state.best,
            "best_epoch": state.best_epoch, "history": state.history,
            "train_config": config.to_dict(), "world_size": world_size}


def trainer_meta(state: RunState, config: TrainConfig, row: dict[str, Any],
                 regressor_source: str) -> dict[str, Any]:
    """The checkpoint's ``meta``: what a reader of the model wants to know about its training."""
    return {"trained": True, "frame": config.frame, "dataset": str(config.data),
            "epochs": state.epoch, "step": state.step, "frame_regressor": regressor_source,
            "description": f"POSA cVAE trained by posa_model.train ({state.epoch} epochs)",
            **{k: v for k, v in row.items() if k.startswith(("val_", "train_"))}}


def read_trainer_checkpoint(resume: str | os.PathLike | Checkpoint,
                            ) -> tuple[Checkpoint, TrainConfig]:
    """The checkpoint to resume (read from the path, or as given when already read) and the
    config it was written with.

    Raises:
        CheckpointError: not a checkpoint of this trainer (no ``train_config`` / ``optimizer``).
    """
    ckpt = resume if isinstance(resume, Checkpoint) else read_checkpoint(resume)
    saved = ckpt.extra.get("train_config")
    if not isinstance(saved, dict) or "optimizer" not in ckpt.extra:
        raise CheckpointError(f"{ckpt.path}: has no trainer state in 'extra' (not written by "
                              "posa_model.train); cannot resume it")
    return ckpt, TrainConfig.from_dict(saved, source=f"{ckpt.path} extra.train_config")


def resume_run(ckpt: Checkpoint, saved: TrainConfig, config: TrainConfig, fingerprint: str,
               model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               noise: torch.Generator) -> RunState:
    """Load the weights, the optimiser and every RNG state of ``ckpt`` (written with ``saved``)
    into a run of ``config`` on the hierarchy ``fingerprint``; returns where the run stands.

    Raises:
        ConfigError: a setting of FIXED_ON_RESUME differs from ``saved``.
        CheckpointError: the checkpoint was trained on another hierarchy.
    """
    changed = [k for k in FIXED_ON_RESUME if getattr(saved, k) != getattr(config, k)]
    if changed:
        raise ConfigError(f"{ckpt.path}: cannot resume with different {changed} (they define "
                          "the model or the batch order)")
    if ckpt.hierarchy_fingerprint != fingerprint:
        raise CheckpointError(f"{ckpt.path}: trained on hierarchy {ckpt.hierarchy_fingerprint},"
                              f" this run uses {fingerprint}")
    model.load_state_dict({k: v.float() for k, v in ckpt.state_dict.items()})
    optimizer.load_state_dict(ckpt.extra["optimizer"])
    for group in optimizer.param_groups:  # a changed --lr applies from now on
        group["lr"] = config.lr
        group["weight_decay"] = config.weight_decay
    restore_rng_state(ckpt.extra["rng"], noise)
    best, history = ckpt.extra.get("best_score"), list(ckpt.extra.get("history", []))
    best_epoch = ckpt.extra.get("best_epoch", _best_epoch_of(history, best, saved))
    return RunState(epoch=int(ckpt.extra["epoch"]), step=int(ckpt.extra["step"]), best=best,
                    best_epoch=best_epoch, history=history)


def _best_epoch_of(history: list[dict[str, Any]], best: float | None,
                   saved: TrainConfig) -> int | None:
    """The epoch whose score is ``best`` (checkpoints written before ``best_epoch`` existed)."""
    if best is None:
        return None
    for row in reversed(history):
        metric = saved.best_metric if saved.best_metric in row else "train_loss"
        if row.get(metric) == best:
            return int(row["epoch"])
    return None
