"""Choosing the torch device from a user's "auto" / "cpu" / "cuda[:N]" setting."""

from __future__ import annotations

import torch

from .errors import DeviceUnavailableError, PosaError

__all__ = ["DeviceUnavailableError", "resolve_device"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto": CUDA when available, else CPU. "cuda" without CUDA raises DeviceUnavailableError.
    """
    if isinstance(device, torch.device):
        requested = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            requested = torch.device(device)
        except RuntimeError as exc:
            raise PosaError(f"unknown device {device!r}; use auto, cpu or cuda[:N]") from exc
    if requested.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {str(device)!r} was requested but CUDA is not available "
            f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})"
        )
    return requested
