"""``python -m posa_model.place``: populate a scene file with people.

    python -m posa_model.place --scene examples/rooms/example_room.glb --out populated.glb
    python -m posa_model.place --scene room.glb --people "sit:3,lie:1,stand:2" --out out.glb
    python -m posa_model.place --scene room.glb --fill seats --on "Chair.*" --out out.glb

``--scene``: a mesh file (glTF/GLB, OBJ, PLY; its grids are built at ``--grid-resolution``) or a
reference grid ``folder/<scene>.json`` (then the GLB shows the scene's objects when a
``<scene>.glb`` sits in ``folder/../scenes``). Who to place: :mod:`.options` (the same options as
``scripts/populate_scene.py`` and the Blender operators). ``--pose-file`` adds a person in the
file's pose (the first body of the file), placed wherever POSA's maps fit.

Outputs, written as one set (:class:`posa_model.cli.OutputSet`): the GLB (the scene's objects in
their class colours and the people coloured by their maps), ``<out stem>_bodies.npz`` (every
person's pose parameters, transform, vertices and map: :mod:`posa_model.placement.output`),
``<out stem>_bodies/<name>.npz`` (each placed person's SMPL-X parameters, readable by
``BodyPose.from_file`` and any SMPL-X tool) and, with ``--metrics``, the metrics JSON. Errors
a user can fix print ``error: ...`` and exit with status 2; a run that places nobody exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .. import cli
from .options import add_people_arguments, on_patterns, people_request

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m posa_model.place",
        description="Populate a scene with people who sit, lie, stand, lean and kneel where it "
                    "offers room, placed by POSA's contact maps.")
    p.add_argument("--scene", required=True, type=Path,
                   help="scene mesh (.glb/.gltf/.obj/.ply) or reference grid folder/<scene>.json")
    add_people_arguments(p)
    p.add_argument("--pose-file", action="append", type=Path, default=[],
                   help="also place a person in this SMPL-X pose (.npz; repeatable)")
    p.add_argument("--body", default="standin",
                   help="'standin' (default) or a path to an SMPL-X model file/folder")
    p.add_argument("--gender", default="neutral", choices=("neutral", "male", "female"))
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow a .pkl --body (unpickling runs code from the file)")
    p.add_argument("--classes", default=None, type=Path,
                   help="JSON {object name or glob: class} (overrides the file's labels)")
    p.add_argument("--up", choices=("y", "z"), default="y", help="the scene file's up axis")
    p.add_argument("--checkpoint", default=None, type=Path,
                   help="a POSA checkpoint (default: the shipped one)")
    p.add_argument("--maps", type=cli.int_range(1, 64), default=8,
                   help="feature maps sampled per person (default 8)")
    p.add_argument("--cpu-threads", type=cli.int_range(0, 256), default=1,
                   help="torch CPU threads while placing (0: torch's default; default 1)")
    p.add_argument("--out", required=True, type=Path, help="the populated scene, .glb")
    p.add_argument("--metrics", type=Path, default=None, help="also write the metrics JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _populate(args))


def _load_scene(args):
    """(SceneGrid, scene objects, a report line)."""
    from ..scene import load_scene, load_scene_grid, scene_grid_from_file

    path: Path = args.scene
    if path.suffix.lower() == ".json":
        grid = load_scene_grid(path.parent, path.stem, up=args.up)
        mesh = path.parent.parent / "scenes" / f"{path.stem}.glb"
        objects = load_scene(mesh).objects if mesh.is_file() else []
        shown = f"objects from {mesh}" if objects else "no scene mesh found: people only"
        return grid, objects, f"{path}: grid {grid.shape} ({shown})"
    grid, loaded = scene_grid_from_file(path, args.grid_resolution, classes=args.classes,
                                        up=args.up)
    return grid, loaded.objects, loaded.report


def _populate(args) -> int:
    from ..body import BodyPose, load_body_model
    from ..placement.output import bodies_folder, bodies_npz_path
    from ..placement.types import PlacementConfig
    from ..sample import load_sampler
    from .populate import populate

    if args.out.suffix.lower() != ".glb":
        raise cli.UsageError(f"--out: expected a .glb path, found {args.out}")
    body = None if args.body == "standin" else Path(args.body)
    cli.check_pickle(body, args.allow_pickle, "--body")
    npz, folder = bodies_npz_path(args.out), bodies_folder(args.out)
    cli.check_paths(inputs=[("--scene", args.scene), ("--body", body),
                            ("--classes", args.classes), ("--checkpoint", args.checkpoint),
                            *[("--pose-file", p) for p in args.pose_file]],
                    outputs=[("--out", args.out), ("--metrics", args.metrics),
                             ("--out (bodies)", npz)],
                    output_dirs=[("--out (bodies folder)", folder)])
    request = people_request(args.people, args.bodies, args.mix, args.fill, args.on,
                             args.genders)
    if request.genders and body is None:
        raise cli.UsageError("--genders: the stand-in has a neutral body only; give an SMPL-X "
                             "folder holding SMPLX_FEMALE.npz / SMPLX_MALE.npz as --body")
    grid, objects, report = _load_scene(args)
    print(report)
    genders = [g for g, w in (request.genders or {}).items() if w > 0] or [args.gender]
    models = {g: load_body_model(body, g, allow_pickle=args.allow_pickle) for g in genders}
    sampler = load_sampler(args.checkpoint, device=args.device)
    for g, model in models.items():
        sampler.check_body(model.faces, f"{body or 'the stand-in'} ({g})")
    if not sampler.trained:
        print("warning: the checkpoint is an UNTRAINED placeholder; maps are meaningless",
              file=sys.stderr)
    poses = [BodyPose.from_file(p).take([0]).replace(names=(p.stem,)) for p in args.pose_file]
    config = PlacementConfig(seed=args.seed, device=args.device, maps=args.maps,
                             cpu_threads=args.cpu_threads)
    result = populate(grid, objects, request, models, sampler, config, on_patterns(args.on),
                      poses=poses, progress=not args.quiet)
    print(format_people(result))
    written = _write(args, result, objects, npz, folder)
    print("wrote " + ", ".join(str(w) for w in written))
    if not any(p.placed for p in result.people):
        print("warning: nobody was placed (the reasons are above)", file=sys.stderr)
        return 1
    return 0


def _write(args, result, objects, npz: Path, folder: Path) -> list[Path]:
    from ..placement.output import person_file, write_bodies_npz, write_glb, write_metrics

    placed = [p for p in result.people if p.placed]
    per_person = {person_file(folder, p.name): p for p in placed}
    outputs = [args.out, npz, args.metrics, *per_person]
    run = {"scene": str(args.scene), "seed": args.seed, "argv": sys.argv[1:],
           "spots": result.metrics.get("spots", "")}
    with cli.OutputSet(outputs) as outs:
        write_glb(outs.temp(args.out), objects, result, atomic=False)
        write_bodies_npz(outs.temp(npz), result, atomic=False)
        if args.metrics is not None:
            write_metrics(outs.temp(args.metrics), result, run, atomic=False)
        for path, person in per_person.items():
            person.body.pose.to_file(outs.temp(path), atomic=False, gender=person.gender)
    return [o for o in outputs[:3] if o is not None] + ([folder] if per_person else [])


def _number(value, digits: int = 3) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def format_people(result) -> str:
    """The console report: a line per person (where, or why not) and a summary that names what
    it measures."""
    lines = [f"{'person':<12} {'placed':<6} {'where':<34} {'non-coll':>8} {'touch':>5} "
             f"{'semantic':>8}  touches"]
    for p in result.people:
        where = p.spot.describe() if p.spot is not None else "-"
        if p.placed:
            m = p.body.metrics
            touched = ", ".join(f"{k} {v}" for k, v in m["touched_classes"].items())
            lines.append(f"{p.name:<12} {'yes':<6} {where[:34]:<34} "
                         f"{m['non_collision']:>8.3f} {m['touch']:>5.0f} "
                         f"{m['semantic_match']:>8.3f}  {touched}")
            if p.check is not None and not p.check.ok:
                lines.append(f"{'':<12} check: {p.check.describe()}")
        else:
            lines.append(f"{p.name:<12} {'no':<6} {p.reason}")
    m = result.metrics
    per = ", ".join(f"{k} {v['placed']}/{v['requested']}" for k, v in m["interactions"].items())
    passed = sum(v["checks_passed"] for v in m["interactions"].values())
    lines.append(f"placed {m['placed']} of {m['bodies']} ({per}) in "
                 f"{result.seconds['total']:.1f} s; room offers {m.get('spots', '-')}")
    if m["placed"]:
        lines.append(f"{passed} of {m['placed']} placed people pass their interaction's check "
                     "(the touches measured on the meshes; sitters facing out of the seat, "
                     "lying people on the bed)")
    if m["placed"]:
        lines.append(
            f"placed people: non-collision {_number(m['non_collision'], 4)} (share of vertices "
            f"outside the scene), touch {_number(m['touch'], 2)} (share whose predicted "
            f"contacts touch a surface), semantic match {_number(m['semantic_match'])} (touching "
            f"contacts on the predicted class), deepest overlap between people "
            f"{100 * m['body_penetration_max']:.1f} cm")
    return "\n".join(lines)
