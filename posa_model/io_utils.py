"""Atomic file writes: write to a temporary file in the target folder, then rename over.

A crash (or kill -9) mid-write leaves either the old file or the new one, never a torn file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

# The process umask, read once (reading it means setting it, which would race other threads).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary binary file beside ``path``, fsync, and rename it over.

    Returns the final path. Parent folders are created. On any error the temp file is removed
    and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_savez(path: str | os.PathLike, compressed: bool = True, **arrays: np.ndarray) -> Path:
    """``np.savez(_compressed)`` via :func:`atomic_write`; never pickles (object arrays fail)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise TypeError(f"atomic_savez: field {key!r} is an object array; refusing to pickle")
    saver = np.savez_compressed if compressed else np.savez
    return atomic_write(path, lambda f: saver(f, **arrays))


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> Path:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))
