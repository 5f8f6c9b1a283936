"""Our checkpoint format: one ``torch.save`` dict, loadable with ``weights_only=True``.

Keys:
    format ("posa_model.checkpoint"), format_version (int),
    model_config (dict of :class:`ModelConfig`), hierarchy_fingerprint (str),
    state_dict (the unwrapped model's parameters; spirals are not stored, the fingerprint is),
    frame_regressor ((4, V) float32: rows giving pelvis, left_hip, right_hip, spine3 from the
        full-resolution vertices; the canonical frame the model was trained in is part of it),
    meta (dict of str/int/float/bool: ``trained``, ``description``, ``frame`` ("canonical":
        posa_model.frames.canonicalize, the default; "reference": the reference code's
        pelvis-centred fixed rotation, for data made by it), training summary, ...),
    extra (dict; the trainer keeps optimiser / RNG / step state here for exact resume).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import CheckpointError
from ..io_utils import atomic_torch_save
from .config import ModelConfig

FORMAT = "posa_model.checkpoint"
FORMAT_VERSION = 1


def unwrap_model(model: nn.Module) -> nn.Module:
    """The plain module inside DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


@dataclass
class Checkpoint:
    """A checkpoint in memory; see the module docstring for the fields."""

    config: ModelConfig
    hierarchy_fingerprint: str
    state_dict: dict[str, torch.Tensor]
    frame_regressor: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))


def save_checkpoint(path: str | os.PathLike, model: nn.Module, hierarchy_fingerprint: str,
                    frame_regressor: torch.Tensor, meta: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None,
                    weights_dtype: torch.dtype = torch.float32) -> Path:
    """Write ``model`` (unwrapped) atomically; weights stored as ``weights_dtype`` (fp32/fp16)."""
    plain = unwrap_model(model)
    config = getattr(plain, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError("save_checkpoint needs a posa_model POSA model (with a .config)")
    state = {k: v.detach().to("cpu", weights_dtype).clone() for k, v in plain.state_dict().items()}
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config.to_dict(),
        "hierarchy_fingerprint": str(hierarchy_fingerprint),
        "state_dict": state,
        "frame_regressor": frame_regressor.detach().to("cpu", torch.float32).clone(),
        "meta": dict(meta or {}),
        "extra": dict(extra or {}),
    }
    return atomic_torch_save(path, payload)


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate a checkpoint file (``weights_only=True``: no code is unpickled)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        raise CheckpointError(
            f"{path}: cannot be read as a weights-only torch file ({exc})"
        ) from exc
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: expected a dict, found {type(payload).__name__}")
    if payload.get("format") != FORMAT:
        hint = (" (it looks like a reference POSA checkpoint: use "
                "posa_model.reference.load_reference with its mesh_ds folder)"
                if "model_state_dict" in payload else "")
        raise CheckpointError(f"{path}: not a posa_model checkpoint (field 'format'){hint}")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version!r} is not supported (this code reads "
            f"{FORMAT_VERSION})"
        )
    for key, kind in (("model_config", dict), ("hierarchy_fingerprint", str),
                      ("state_dict", dict), ("frame_regressor", torch.Tensor)):
        if not isinstance(payload.get(key), kind):
            raise CheckpointError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    regressor = payload["frame_regressor"]
    if regressor.ndim != 2 or regressor.shape[0] != 4 or not torch.isfinite(regressor).all():
        raise CheckpointError(
            f"{path}: field 'frame_regressor' must be a finite (4, V) tensor, found "
            f"{tuple(regressor.shape)}"
        )
    config = ModelConfig.from_dict(payload["model_config"], source=str(path))
    return Checkpoint(
        config=config,
        hierarchy_fingerprint=payload["hierarchy_fingerprint"],
        state_dict=payload["state_dict"],
        frame_regressor=regressor,
        meta=dict(payload.get("meta") or {}),
        extra=dict(payload.get("extra") or {}),
        path=path,
    )


def build_model(checkpoint: Checkpoint, hierarchy: Any) -> nn.Module:
    """Rebuild the POSA model of ``checkpoint`` on ``hierarchy`` and load its weights (fp32).

    Refuses a hierarchy whose fingerprint differs from the one the weights were trained with:
    spirals or down-sampling in another order would silently give garbage.
    """
    from .cvae import POSA

    where = checkpoint.path or "checkpoint"
    if checkpoint.hierarchy_fingerprint != hierarchy.fingerprint:
        raise CheckpointError(
            f"{where}: trained on mesh hierarchy {checkpoint.hierarchy_fingerprint}, but the "
            f"hierarchy in use is {hierarchy.fingerprint} (different topology, decimation or "
            "spiral order); the weights would give garbage. Use the hierarchy the checkpoint "
            "was trained with."
        )
    n_full = hierarchy.vertices[0].shape[0]
    if checkpoint.frame_regressor.shape[1] != n_full:
        raise CheckpointError(
            f"{where}: frame_regressor covers {checkpoint.frame_regressor.shape[1]} vertices, "
            f"the hierarchy's full mesh has {n_full}"
        )
    model = POSA.from_hierarchy(checkpoint.config, hierarchy)
    state = {k: v.float() for k, v in checkpoint.state_dict.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: state_dict does not match the model: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    for key, tensor in expected.items():
        if state[key].shape != tensor.shape:
            raise CheckpointError(
                f"{where}: state_dict[{key!r}] has shape {tuple(state[key].shape)}, the model "
                f"expects {tuple(tensor.shape)}"
            )
    model.load_state_dict(state)
    return model.eval()
