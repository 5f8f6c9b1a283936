"""Models kept loaded between clicks: body models and samplers (pure Python: no ``bpy``).

Loading a sampler (torch, the checkpoint, the mesh hierarchy) takes seconds; sampling one map
takes a fraction of one. The first "Sample Contacts" loads and caches; later clicks reuse it.
Every function imports posa_model's heavy modules lazily, so the add-on registers without torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BODY_MODELS: dict[tuple[str, str, int], Any] = {}
_SAMPLERS: dict[tuple[str, int, str], Any] = {}


@dataclass(frozen=True)
class LoadedSampler:
    """A cached sampler, the device it runs on, and why it is not the one asked for (if so)."""

    sampler: Any
    device: str
    fallback: str | None = None


def _file_key(path: str) -> tuple[str, int]:
    """(resolved path, modification time) so that a replaced file is loaded again."""
    if not path:
        return "", 0
    resolved = Path(path).expanduser()
    try:
        return str(resolved.resolve()), resolved.stat().st_mtime_ns
    except OSError:
        return str(resolved), 0


def body_model(model_path: str = "", gender: str = "neutral") -> Any:
    """The ``smplx.SMPLX`` module for ``model_path`` ("" = the stand-in) and ``gender``.

    Raises posa_model's ``ModelFileError`` / ``InputShapeError`` for bad files or genders.
    """
    from posa_model.body import load_body_model

    path, mtime = _file_key(model_path)
    key = (path, gender, mtime)
    if key not in _BODY_MODELS:
        _BODY_MODELS[key] = load_body_model(os.path.expanduser(model_path) or None, gender=gender)
    return _BODY_MODELS[key]


def sampler(checkpoint: str = "", device: str = "auto") -> LoadedSampler:
    """The sampler for ``checkpoint`` ("" = shipped) on ``device`` ("auto", "cpu", "cuda").

    CUDA asked for but unavailable falls back to the CPU; ``fallback`` then says why.
    Raises posa_model's ``CheckpointError`` (missing or mismatched checkpoint) and ``PosaError``.
    """
    from posa_model import load_sampler
    from posa_model.device import DeviceUnavailableError, resolve_device

    fallback = None
    try:
        resolved = resolve_device(device.lower())
    except DeviceUnavailableError as exc:
        resolved = resolve_device("cpu")
        fallback = f"{exc}; sampled on the CPU instead"
    if checkpoint and not Path(checkpoint).expanduser().is_file():
        from posa_model.errors import CheckpointError

        raise CheckpointError(f"{checkpoint}: checkpoint file not found (set in the preferences)")
    path, mtime = _file_key(checkpoint)
    key = (path, mtime, str(resolved))
    if key not in _SAMPLERS:
        _SAMPLERS[key] = load_sampler(path or None, device=str(resolved))
    return LoadedSampler(_SAMPLERS[key], str(resolved), fallback)


def cached_sampler_trained() -> bool | None:
    """Whether the most recently loaded sampler is trained; None when none is loaded."""
    if not _SAMPLERS:
        return None
    return bool(list(_SAMPLERS.values())[-1].trained)


def clear() -> None:
    """Forget every loaded model (at unregister)."""
    _BODY_MODELS.clear()
    _SAMPLERS.clear()
