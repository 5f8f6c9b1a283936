"""Write the package's default checkpoint (build time; not part of the package or the add-on).

``load_sampler()`` with no argument reads ``posa_model/assets/posa_standin.pt``
(:data:`posa_model.assets.DEFAULT_CHECKPOINT_PATH`). That file is a trained run of
``python -m posa_model.train`` exported with :func:`export_checkpoint` (weights only, fp16, the
held-out metrics in ``meta``); README.md gives the exact commands.
:func:`make_untrained_checkpoint` writes an untrained placeholder (``meta["trained"] = False``)
for wiring tests.

    python tools/make_default_checkpoint.py --from runs/standin/best.pt \
        --metrics runs/standin/metrics.json
    python tools/make_default_checkpoint.py --untrained --out /tmp/placeholder.pt

Without arguments the command does nothing (exit 2): it never replaces the shipped checkpoint
unless told to with ``--from``, and never with an untrained placeholder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from posa_model import cli
from posa_model.assets import (
    DEFAULT_CHECKPOINT_PATH,
    resolve_hierarchy,
    standin_frame_regressor,
    standin_hierarchy,
)
from posa_model.errors import CheckpointError
from posa_model.nn.checkpoint import build_model, read_checkpoint, save_checkpoint
from posa_model.nn.config import ModelConfig

PROG = "python tools/make_default_checkpoint.py"


def make_untrained_checkpoint(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a checkpoint of a freshly initialised (untrained) model for the stand-in body."""
    from posa_model.nn.cvae import POSA

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
    ckpt = read_checkpoint(source)
    hierarchy = ckpt.hierarchy
    if hierarchy is None:
        hierarchy = resolve_hierarchy(ckpt.extra.get("train_config", {}).get("hierarchy"))
    model = build_model(ckpt, hierarchy)
    meta = dict(ckpt.meta, source=str(Path(source).name))
    for key, value in (metrics or {}).items():
        meta[f"heldout_{key}"] = float(value)
    extra = {"train_config": ckpt.extra["train_config"]} if "train_config" in ckpt.extra else {}
    return save_checkpoint(path, model, ckpt.hierarchy_fingerprint, ckpt.frame_regressor,
                           meta=meta, extra=extra, weights_dtype=torch.float16,
                           hierarchy=ckpt.hierarchy)


def _flat_metrics(metrics_json: Path) -> dict[str, float]:
    from posa_model.io_utils import read_json_bounded

    data = read_json_bounded(metrics_json, "metrics JSON (posa_model.evaluate's --out)")
    if not isinstance(data, dict):
        raise CheckpointError(f"{metrics_json}: expected posa_model.evaluate's JSON object, "
                              f"found {type(data).__name__}")
    rec, prior = data.get("reconstruction", {}), data.get("prior", {})
    if not isinstance(rec, dict) or not isinstance(prior, dict):
        raise CheckpointError(f"{metrics_json}: fields 'reconstruction' and 'prior' must be "
                              "objects")
    out = {}
    for prefix, section, keys in (("reconstruction", rec, ("f1", "precision", "recall",
                                                           "semantic_acc")),
                                  ("prior", prior, ("match_rate", "match_rate_macro"))):
        for key in keys:
            value = section.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CheckpointError(f"{metrics_json}: field {prefix}.{key} must be a number, "
                                      f"found {str(value)[:40]!r}")
            out[f"{prefix}_{key}"] = float(value)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export a trained run as the package's default checkpoint (--from), or "
                    "write an untrained placeholder elsewhere (--untrained --out).")
    parser.add_argument("--from", dest="source", type=Path,
                        help="a trainer checkpoint to export (fp16, no optimiser state)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where to write (default with --from: the shipped "
                             f"{DEFAULT_CHECKPOINT_PATH.name}; required with --untrained)")
    parser.add_argument("--metrics", type=Path, help="posa_model.evaluate's JSON for --from")
    parser.add_argument("--untrained", action="store_true",
                        help="write a randomly initialised placeholder (needs --out; never "
                             "the shipped file)")
    parser.add_argument("--seed", type=cli.seed, default=0,
                        help="seed of the untrained placeholder")
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command line; exit 2 when told nothing or something unsafe."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.source is None and not args.untrained:
        raise cli.UsageError("nothing to do: pass --from RUN/best.pt [--metrics M.json] to "
                             "export a trained checkpoint as the default, or --untrained --out "
                             "PATH for a placeholder")
    if args.source is not None and args.untrained:
        raise cli.UsageError("--from and --untrained exclude each other")
    if args.metrics is not None and args.source is None:
        raise cli.UsageError("--metrics goes with --from")
    shipped = DEFAULT_CHECKPOINT_PATH
    out = args.out if args.out is not None else (shipped if args.source is not None else None)
    if out is None:
        raise cli.UsageError("--untrained needs --out PATH")
    if args.untrained and Path(os.path.realpath(out)) == Path(os.path.realpath(shipped)):
        raise cli.UsageError(f"--out {out}: refusing to replace the shipped trained checkpoint "
                             "with an untrained placeholder")
    cli.check_paths(inputs=[("--from", args.source), ("--metrics", args.metrics)],
                    outputs=[("--out", out)])
    cli.clean_stale_temps([out])
    if args.untrained:
        print(f"wrote {make_untrained_checkpoint(out, args.seed)} (untrained placeholder)")
        return 0
    metrics = _flat_metrics(args.metrics) if args.metrics else None
    print(f"wrote {export_checkpoint(args.source, out, metrics)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
