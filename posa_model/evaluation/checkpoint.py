"""Evaluate a trained checkpoint on a split: reconstruction metrics and prior-sample statistics,
as one JSON-ready dict (what ``python -m posa_model.evaluate`` writes).

The model is built from the checkpoint with the hierarchy it carries (else the one given, else
the stand-in's); the dataset is read with the settings the checkpoint was trained with
(``extra["train_config"]``: contact threshold, class remap, semantics). The dict holds the
checkpoint's meta, the data path, the device, the hierarchy fingerprint, ``reconstruction``
(:mod:`.reconstruction`, without the ``val_`` prefix) and ``prior`` (:mod:`.prior`); NaN and
infinities become None.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..assets import resolve_hierarchy
from ..data import PosaDataset
from ..device import resolve_device
from ..errors import PosaError
from ..nn.checkpoint import build_model, read_checkpoint
from ..training.config import TrainConfig
from .prior import prior_sample_metrics
from .reconstruction import reconstruction_metrics
from .rules import network_part_labels

__all__ = ["FORMAT", "FORMAT_VERSION", "evaluate_checkpoint"]

FORMAT = "posa_model.evaluate"
FORMAT_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy / tensor scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path, split: str = "test",
                        n_samples: int = 8, seed: int = 0, device: str = "auto",
                        hierarchy: Any = None, part_labels: np.ndarray | None = None,
                        batch_size: int = 256) -> dict[str, Any]:
    """Everything ``python -m posa_model.evaluate`` computes, as the JSON-ready dict.

    ``hierarchy``: a MeshHierarchy, a saved ``.npz`` or a ``mesh_ds`` folder (None = the one
    the checkpoint carries, else the stand-in's);
    ``part_labels``: (V_full,) part per full-resolution vertex (None = stand-in SMPL-X).

    Raises:
        CheckpointError: missing/bad checkpoint, or a hierarchy other than the checkpoint's.
        PosaError: missing data, a split without archetype names, bad part labels.
    """
    ckpt = read_checkpoint(checkpoint)
    root = Path(data)
    if not root.is_dir():
        raise PosaError(f"data folder not found: {root} (expected a folder with train/ and "
                        "test/ in the reference format)")
    if not (root / split).is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise PosaError(f"{root}: has no split folder {split!r} (found {found})")
    if hierarchy is None and ckpt.hierarchy is not None:
        hier = ckpt.hierarchy  # the checkpoint carries its own (converted / --hierarchy runs)
    else:
        hier = resolve_hierarchy(hierarchy)
    model = build_model(ckpt, hier)  # CheckpointError on a hierarchy mismatch
    dev = resolve_device(device)
    model = model.to(dev).eval()
    saved = ckpt.extra.get("train_config")
    base = (TrainConfig.from_dict(saved, source=f"{ckpt.path} extra.train_config")
            if isinstance(saved, dict) else TrainConfig())
    config = dataclasses.replace(base, use_semantics=model.config.use_semantics,
                                 batch_size=batch_size, num_workers=0, bf16=False,
                                 compile=False, progress=False)
    dataset = PosaDataset(root / split, num_vertices=model.num_vertices,
                          contact_threshold=config.contact_threshold,
                          remap_classes=config.remap_classes,
                          use_semantics=config.use_semantics)
    if len(dataset) == 0:
        raise PosaError(f"{root / split}: the split has no bodies")
    parts = network_part_labels(hier, model.config.network_level, part_labels)
    recon = reconstruction_metrics(model, dataset, config)
    prior = prior_sample_metrics(model, dataset, parts, n_samples=n_samples, seed=seed,
                                 batch_size=batch_size, device=dev)
    return _clean({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "checkpoint": str(ckpt.path),
        "checkpoint_meta": ckpt.meta,
        "data": str(root),
        "split": split,
        "bodies": len(dataset),
        "device": str(dev),
        "hierarchy_fingerprint": hier.fingerprint,
        "reconstruction": {k.removeprefix("val_"): v for k, v in recon.items()},
        "prior": prior,
    })
