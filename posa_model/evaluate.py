"""``python -m posa_model.evaluate``: reconstruction metrics and archetype match of prior samples
for a checkpoint on a split in the reference format, written as JSON, with a table.

    python -m posa_model.evaluate --checkpoint runs/r1/best.pt --data data/synth --out m.json
        [--split test] [--samples 8] [--seed 0] [--device auto] [--hierarchy H]
        [--part-labels parts.npy] [--batch-size 256]

1. Reconstruction (z = mu) on the split (:mod:`posa_model.evaluation.reconstruction`): loss,
   KL, BCE, CE, contact precision / recall / F1 at 0.5, semantic accuracy on contact vertices.
2. Prior samples (:mod:`posa_model.evaluation.prior`): ``--samples`` maps per body decoded from
   z ~ N(0, I), each checked against the body's interaction archetype by the matching rule of
   :mod:`posa_model.evaluation.rules`; the same rule on the split's own labels gives the ceiling.

The JSON (:func:`posa_model.evaluation.evaluate_checkpoint`) is written atomically, with the
checkpoint's meta and the data path; the table gives the rates per archetype.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .errors import PosaError
from .evaluation import evaluate_checkpoint
from .io_utils import atomic_write

__all__ = ["build_parser", "format_table", "main"]


def format_table(result: dict[str, Any]) -> str:
    """The per-archetype table printed by the CLI."""
    def pct(v: float | None) -> str:
        return "   -" if v is None else f"{100 * v:3.0f}%"

    prior = result["prior"]
    head = (f"{'archetype':14s} {'bodies':>6s} {'samples':>7s} {'match':>5s} {'exact':>5s} "
            f"{'GT':>5s} {'implied':>7s}  top classes")
    lines = [head, "-" * len(head)]
    for name, a in prior["archetypes"].items():
        top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(a["class_fraction"].items())[:3])
        lines.append(f"{name:14s} {a['bodies']:6d} {a['samples']:7d} {pct(a['match_rate']):>5s} "
                     f"{pct(a['exact_match_rate']):>5s} {pct(a['ground_truth_match_rate']):>5s} "
                     f"{pct(a['mean_implied_contact_fraction']):>7s}  {top or '-'}")
    lines.append("-" * len(head))
    lines.append(f"{'all (known)':14s} {prior['bodies']:6d} {prior['samples']:7d} "
                 f"{pct(prior['match_rate']):>5s} {pct(prior['exact_match_rate']):>5s} "
                 f"{pct(prior['ground_truth_match_rate']):>5s}")
    r = result["reconstruction"]
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines.append(f"reconstruction (z = mu): loss {r['loss']:.4f}  F1 {r['f1']:.3f}  precision "
                 f"{r['precision']:.3f}  recall {r['recall']:.3f}  semantic acc "
                 f"{num(r['semantic_acc'])} (void included: "
                 f"{num(r.get('semantic_acc_with_void'))})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from . import cli

    parser = argparse.ArgumentParser(
        prog="python -m posa_model.evaluate",
        description="Reconstruction metrics and archetype match rates of prior samples for a "
                    "POSA checkpoint on a split in the reference format (rule: "
                    "posa_model.evaluation.rules).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="our checkpoint (.pt)")
    parser.add_argument("--data", required=True, type=Path, help="dataset root (train/, test/)")
    parser.add_argument("--split", default="test", help="split folder under --data")
    parser.add_argument("--samples", type=cli.int_range(1, MAX_CLI_SAMPLES), default=8,
                        help="prior samples per body")
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the prior samples")
    parser.add_argument("--device", type=cli.device, default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--hierarchy", default=None,
                        help="hierarchy .npz or mesh_ds folder of the checkpoint (default: "
                             "the one it carries, else the stand-in's)")
    parser.add_argument("--part-labels", type=Path, default=None,
                        help="(V_full,) int .npy of body parts for a non-SMPL-X hierarchy")
    parser.add_argument("--batch-size", type=cli.int_range(1, MAX_CLI_BATCH), default=256,
                        help="bodies per reconstruction batch, decoded maps per sampling batch")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON to write")
    return parser


#: Bounds of the command line's counts (each decoded map is a (V, 43) float32 array).
MAX_CLI_SAMPLES = 1024
MAX_CLI_BATCH = 1 << 16


def main(argv: list[str] | None = None) -> int:
    """``python -m posa_model.evaluate``; returns the exit status (2 on a user error)."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from . import cli
    from .io_utils import read_npy_bounded

    if (args.split in ("", ".", "..") or "/" in args.split or "\\" in args.split
            or "\0" in args.split):
        raise cli.UsageError(f"--split {args.split!r}: expected a folder name under --data")
    cli.check_paths(inputs=[("--checkpoint", args.checkpoint), ("--data", args.data),
                            ("--hierarchy", args.hierarchy), ("--part-labels", args.part_labels)],
                    outputs=[("--out", args.out)])
    cli.clean_stale_temps([args.out])
    part_labels = None
    if args.part_labels is not None:
        part_labels = read_npy_bounded(args.part_labels, "--part-labels", kinds="iu",
                                       error=PosaError)
    result = evaluate_checkpoint(args.checkpoint, args.data, args.split, args.samples,
                                 args.seed, args.device, args.hierarchy, part_labels,
                                 args.batch_size)
    text = json.dumps(result, indent=1, allow_nan=False).encode("utf-8")
    atomic_write(args.out, lambda f: f.write(text))
    print(format_table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
