"""``python -m posa_model.synthesize``: a labelled synthetic training set in the reference format.

Procedural rooms (floor, walls, catalogue furniture made of boxes, every part with its MPCAT40
class) are populated with SMPL-X-format bodies in interaction archetypes (sitting, lying,
leaning, kneeling, reaching, standing), fitted so their contacts are real and nothing sinks in
more than 1 cm; each body is labelled with its per-vertex distance to the scene and the class of
the nearest surface. See :mod:`posa_model.synth` and ``--help``.

Example: ``python -m posa_model.synthesize --out data/synth --bodies 2000 --seed 1``.

For an SMPL-X-format body of its own topology, build its hierarchy first and pass both:
``python -m posa_model.convert --body MY.npz --out my_h.npz`` then ``--body MY.npz --hierarchy
my_h.npz``; a body that is not its hierarchy's level-0 mesh is refused. ``--overwrite``
replaces only a dataset this command wrote (its ``COMPLETE`` marker), atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cli
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
    parser.add_argument("--bodies", type=cli.int_range(1, MAX_BODIES), default=2000,
                        help=f"labelled bodies (default 2000, at most {MAX_BODIES:,})")
    parser.add_argument("--seed", type=cli.seed, default=0, help="same seed, identical files")
    parser.add_argument("--body", default="standin",
                        help="'standin' (default) or an SMPL-X model file/folder")
    parser.add_argument("--hierarchy", default=None,
                        help="mesh hierarchy (.npz or reference mesh_ds folder) of --body; "
                             "default: the stand-in's")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow a .pkl --body (unpickling runs code from the file)")
    parser.add_argument("--test-fraction", type=cli.finite_float(0.0, 0.99), default=0.2,
                        help="fraction of scenes held out for test/ (default 0.2)")
    parser.add_argument("--sdf-resolution", type=cli.finite_float(0.0, 10.0), default=0.05,
                        help="SDF grid spacing in metres (default 0.05)")
    parser.add_argument("--archetypes", default=None,
                        help="comma-separated subset of: " + ", ".join(ARCHETYPES))
    parser.add_argument("--bodies-per-scene", type=_pair, default=(10, 40),
                        help="MIN,MAX bodies per room (default 10,40)")
    parser.add_argument("--workers", type=cli.int_range(1, 256), default=None,
                        help="processes (default: one per CPU, at most 8); results do not "
                             "depend on it")
    parser.add_argument("--no-scenes", action="store_true",
                        help="skip the scene GLB meshes and SDF grids")
    parser.add_argument("--no-picture", action="store_true", help="skip summary.png")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --out, only if it is a dataset written by "
                             "this command")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or table")
    return parser


#: Most bodies one run may ask for (48,000 took 20 minutes on 2 cores).
MAX_BODIES = 10_000_000


def check_body_hierarchy(body: str, hierarchy: str | None, allow_pickle: bool = False) -> None:
    """Refuse a ``--body`` that is not the level-0 mesh of ``--hierarchy`` (the stand-in's when
    not given): its labels would be taken at the wrong vertices."""
    from .assets import resolve_hierarchy
    from .body import load_body_model
    from .errors import InputShapeError
    from .nn.mesh_check import faces_match

    model = load_body_model(body, allow_pickle=allow_pickle)
    hier = resolve_hierarchy(hierarchy)
    n_ref = len(hier.vertices[0])
    if model.num_vertices == n_ref and faces_match(model.faces, hier.faces[0]):
        return
    which = f"--hierarchy {hierarchy}" if hierarchy else "the stand-in's hierarchy (no --hierarchy)"
    raise InputShapeError(
        f"--body {body}: its mesh ({model.num_vertices} vertices, {len(model.faces)} faces) is "
        f"not the level-0 mesh of {which} ({n_ref} vertices, {len(hier.faces[0])} faces, or the "
        "same counts in another vertex order); the labels would be taken at the wrong "
        f"vertices. Build the body's own hierarchy with `python -m posa_model.convert --body "
        f"{body} --out my_hierarchy.npz` and pass --hierarchy my_hierarchy.npz (to train: "
        "`python -m posa_model.train --hierarchy my_hierarchy.npz ...`)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    body = None if args.body == "standin" else args.body
    cli.check_pickle(body, args.allow_pickle, "--body")
    cli.check_paths(inputs=[("--body", body), ("--hierarchy", args.hierarchy)],
                    replaced_dirs=[("--out", args.out)])
    if body is not None:
        check_body_hierarchy(body, args.hierarchy, args.allow_pickle)
    config = SynthConfig(
        bodies=args.bodies, seed=args.seed, body=body, hierarchy=args.hierarchy,
        test_fraction=args.test_fraction, sdf_resolution=args.sdf_resolution,
        archetypes=parse_archetypes(args.archetypes),
        bodies_per_scene=args.bodies_per_scene, write_scenes=not args.no_scenes,
    )
    report = synthesize(config, args.out, workers=args.workers, overwrite=args.overwrite,
                        progress=not args.quiet, picture=not args.no_picture)
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
