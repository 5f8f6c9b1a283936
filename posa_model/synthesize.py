"""``python -m posa_model.synthesize``: a labelled synthetic training set in the reference format.

Procedural rooms (floor, walls, catalogue furniture made of boxes, every part with its MPCAT40
class) are populated with SMPL-X-format bodies in interaction archetypes (sitting, lying,
leaning, kneeling, reaching, standing), fitted so their contacts are real and nothing sinks in
more than 1 cm; each body is labelled with its per-vertex distance to the scene and the class of
the nearest surface. See :mod:`posa_model.synth` and ``--help``.

Example: ``python -m posa_model.synthesize --out data/synth --bodies 2000 --seed 1``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import PosaError
from .synth.archetypes import ARCHETYPES, parse_archetypes
from .synth.dataset import SynthConfig
from .synth.pipeline import synthesize


def _pair(text: str) -> tuple[int, int]:
    try:
        parts = [int(t) for t in text.replace(":", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX integers, found {text!r}") from None
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX integers, found {text!r}")
    return parts[0], parts[1]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m posa_model.synthesize",
        description="Generate a labelled synthetic POSA training set (reference folder format): "
                    "procedural rooms, bodies fitted in interaction archetypes, per-vertex "
                    "distances and classes, scene meshes and SDF grids.",
    )
    parser.add_argument("--out", required=True, type=Path,
                        help="dataset folder to create (written atomically)")
    parser.add_argument("--bodies", type=int, default=2000, help="labelled bodies (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, identical files")
    parser.add_argument("--body", default="standin",
                        help="'standin' (default) or an SMPL-X model file/folder")
    parser.add_argument("--hierarchy", default=None,
                        help="mesh hierarchy (.npz or reference mesh_ds folder) of --body; "
                             "default: the stand-in's")
    parser.add_argument("--test-fraction", type=float, default=0.2,
                        help="fraction of scenes held out for test/ (default 0.2)")
    parser.add_argument("--sdf-resolution", type=float, default=0.05,
                        help="SDF grid spacing in metres (default 0.05)")
    parser.add_argument("--archetypes", default=None,
                        help="comma-separated subset of: " + ", ".join(ARCHETYPES))
    parser.add_argument("--bodies-per-scene", type=_pair, default=(10, 40),
                        help="MIN,MAX bodies per room (default 10,40)")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes (default: one per CPU, at most 8); results do not "
                             "depend on it")
    parser.add_argument("--no-scenes", action="store_true",
                        help="skip the scene GLB meshes and SDF grids")
    parser.add_argument("--no-picture", action="store_true", help="skip summary.png")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.body != "standin" and args.hierarchy is None:
        print("warning: --body without --hierarchy: the stand-in's vertex selection (10475 -> "
              "655) is used; pass the mesh hierarchy that belongs to this body's topology",
              file=sys.stderr)
    try:
        config = SynthConfig(
            bodies=args.bodies, seed=args.seed,
            body=None if args.body == "standin" else args.body, hierarchy=args.hierarchy,
            test_fraction=args.test_fraction, sdf_resolution=args.sdf_resolution,
            archetypes=parse_archetypes(args.archetypes),
            bodies_per_scene=args.bodies_per_scene, write_scenes=not args.no_scenes,
        )
        report = synthesize(config, args.out, workers=args.workers, overwrite=args.overwrite,
                            progress=not args.quiet, picture=not args.no_picture)
    except PosaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(report.table)
    run = report.summary["run"]
    print(f"wrote {report.out} ({run['bodies']} bodies, {report.seconds:.1f} s, "
          f"{run['bodies_per_minute']:.0f} bodies/min)")
    if run["bodies"] < run["requested"]:
        print(f"warning: only {run['bodies']} of {run['requested']} bodies could be fitted",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
