"""Every random number generator a training run can touch: seeded at the start, captured into
each checkpoint and restored on ``--resume``, so a resumed run continues bit for bit.

The state is stored as tensors and plain numbers only, so a checkpoint holding it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng_state", "restore_rng_state", "seed_everything"]


def seed_everything(seed: int) -> None:
    """Seed torch's global RNG, the legacy global numpy RNG (not used here, but user code or
    libraries may use it) and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (legacy global RNG, for libraries)
    random.seed(seed)


def capture_rng_state(noise: torch.Generator) -> dict[str, Any]:
    """Every RNG the run could touch, as tensors/ints (loadable with weights_only=True):
    torch's global RNG, the run's ``noise`` generator, numpy's and Python's global RNGs, and
    CUDA's when it is in use."""
    # the legacy global numpy RNG is not used here, but user code or libraries may use it
    keys, pos, has_gauss, cached = np.random.get_state()[1:]  # noqa: NPY002
    version, py_state, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "noise": noise.get_state(),
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any], noise: torch.Generator) -> None:
    """Set every RNG from a :func:`capture_rng_state` dict (``noise`` in place)."""
    torch.set_rng_state(state["torch"])
    noise.set_state(state["noise"])
    n = state["numpy"]
    legacy = ("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
              n["cached_gaussian"])
    np.random.set_state(legacy)  # noqa: NPY002
    p = state["python"]
    random.setstate((p["version"], tuple(int(i) for i in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
