"""The checkpoint shipped with the package, and how the placeholder one was made.

``load_sampler()`` with no argument uses :func:`default_checkpoint_path`. Until a trained
checkpoint is produced by ``python -m posa_model.train``, the shipped file is an UNTRAINED model
(random weights from a fixed seed) marked ``meta["trained"] = False``; the sampler reports it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch

from .checkpoint import save_checkpoint
from .config import ModelConfig

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def default_checkpoint_path() -> Path:
    """Path of the checkpoint shipped in ``posa_model/assets``."""
    return ASSETS / "posa_standin.pt"


def standin_frame_regressor() -> torch.Tensor:
    """(4, 10475) rows of the stand-in's J_regressor for pelvis, left_hip, right_hip, spine3."""
    import numpy as np

    from ..body import standin_path
    from ..frames import FRAME_JOINTS

    with np.load(standin_path(), allow_pickle=False) as data:
        regressor = np.asarray(data["J_regressor"], dtype=np.float32)
    return torch.from_numpy(regressor[list(FRAME_JOINTS)])


def make_untrained_checkpoint(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a checkpoint of a freshly initialised (untrained) model for the stand-in body."""
    from ..mesh import standin_hierarchy
    from .cvae import POSA

    hierarchy = standin_hierarchy()
    torch.manual_seed(seed)
    model = POSA.from_hierarchy(ModelConfig(), hierarchy)
    meta = {"trained": False, "seed": seed,
            "description": "untrained placeholder: random weights, for wiring and tests only"}
    return save_checkpoint(path, model, hierarchy.fingerprint, standin_frame_regressor(),
                           meta=meta, weights_dtype=torch.float16)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=make_untrained_checkpoint.__doc__)
    parser.add_argument("--out", type=Path, default=default_checkpoint_path())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(make_untrained_checkpoint(args.out, args.seed))


if __name__ == "__main__":
    main()
