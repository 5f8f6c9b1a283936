"""The checkpoint shipped with the package, and how it is made.

``load_sampler()`` with no argument uses :func:`default_checkpoint_path`. The shipped file is a
trained run of ``python -m posa_model.train`` exported with :func:`export_checkpoint` (weights
only, fp16, the held-out metrics in ``meta``); README.md gives the exact commands.
:func:`make_untrained_checkpoint` makes an untrained placeholder (``meta["trained"] = False``)
for wiring tests.

    python -m posa_model.nn.default --from runs/standin/best.pt --metrics runs/standin/metrics.json
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


def export_checkpoint(source: str | os.PathLike, path: str | os.PathLike,
                      metrics: dict | None = None) -> Path:
    """Write a trainer checkpoint as a small shippable one: fp16 weights, no optimiser/RNG state.

    ``meta`` keeps the run's metadata and gains ``source`` and, when given, the held-out
    ``metrics`` (flat str -> float); ``extra`` keeps only the training config.
    """
    from ..sample import resolve_hierarchy
    from .checkpoint import build_model, read_checkpoint

    ckpt = read_checkpoint(source)
    hierarchy = resolve_hierarchy(ckpt.extra.get("train_config", {}).get("hierarchy"))
    model = build_model(ckpt, hierarchy)
    meta = dict(ckpt.meta, source=str(Path(source).name))
    for key, value in (metrics or {}).items():
        meta[f"heldout_{key}"] = float(value)
    extra = {"train_config": ckpt.extra["train_config"]} if "train_config" in ckpt.extra else {}
    return save_checkpoint(path, model, ckpt.hierarchy_fingerprint, ckpt.frame_regressor,
                           meta=meta, extra=extra, weights_dtype=torch.float16)


def _flat_metrics(metrics_json: Path) -> dict[str, float]:
    import json

    data = json.loads(Path(metrics_json).read_text())
    rec, prior = data.get("reconstruction", {}), data.get("prior", {})
    out = {f"reconstruction_{k}": rec[k] for k in ("f1", "precision", "recall", "semantic_acc")
           if rec.get(k) is not None}
    out |= {f"prior_{k}": prior[k] for k in ("match_rate", "match_rate_macro")
            if prior.get(k) is not None}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the package's default checkpoint.")
    parser.add_argument("--out", type=Path, default=default_checkpoint_path())
    parser.add_argument("--from", dest="source", type=Path,
                        help="a trainer checkpoint to export (default: an untrained placeholder)")
    parser.add_argument("--metrics", type=Path, help="posa_model.evaluate's JSON for --from")
    parser.add_argument("--seed", type=int, default=0, help="seed of the untrained placeholder")
    args = parser.parse_args(argv)
    if args.source is None:
        print(make_untrained_checkpoint(args.out, args.seed))
    else:
        metrics = _flat_metrics(args.metrics) if args.metrics else None
        print(export_checkpoint(args.source, args.out, metrics))


if __name__ == "__main__":
    main()
