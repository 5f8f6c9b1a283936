"""Shared fixtures: a small synthetic hierarchy-like object for network-only tests."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import numpy as np
import pytest


def fake_hierarchy(counts=(40, 20, 12, 6, 3), seq_length=9, seed=0, tag=""):
    """A hierarchy stand-in with random spirals/selections (network tests need no geometry)."""
    rng = np.random.default_rng(seed)
    vertices = [rng.normal(size=(n, 3)).astype(np.float32) for n in counts]
    spirals = [rng.integers(0, n, size=(n, seq_length)) for n in counts]
    for s in spirals:
        s[:, 0] = np.arange(len(s))
    down = [np.sort(rng.choice(counts[k], counts[k + 1], replace=False))
            for k in range(len(counts) - 1)]
    up_index = [rng.integers(0, counts[k + 1], size=(counts[k], 3)) for k in range(len(counts) - 1)]
    up_weight = [np.full((counts[k], 3), 1 / 3, np.float32) for k in range(len(counts) - 1)]
    digest = hashlib.sha256(b"".join(s.tobytes() for s in spirals) + tag.encode()).hexdigest()
    return SimpleNamespace(vertices=vertices, spirals=spirals, down=down, up_index=up_index,
                           up_weight=up_weight, seq_length=seq_length, dilation=1,
                           fingerprint=digest[:16])


@pytest.fixture
def small_hierarchy():
    return fake_hierarchy()
