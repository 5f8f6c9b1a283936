"""``python -m posa_model.place``: populate a scene file with posed bodies.

    python -m posa_model.place --scene room.glb --bodies 10 --seed 0 --out populated.glb \\
        --metrics m.json [--poses sit,stand,lie_back] [--pose-file p.npz] [--classes c.json]

``--scene`` is a mesh file (glTF/GLB, OBJ, PLY; :func:`posa_model.scene.scene_grid_from_file`
builds its grids at ``--resolution``) or a reference grid ``folder/<scene>.json``
(:func:`posa_model.scene.load_scene_grid`); for a grid, the output GLB shows the scene's objects
when a ``<scene>.glb`` sits in ``folder/../scenes`` (our synthetic sets), else only the bodies.
Body ``k`` takes pose ``k mod n`` of the mix: ``--poses`` (preset names) followed by the
``--pose-file`` poses (or :data:`DEFAULT_POSES` when neither is given). Outputs: the GLB, the
metrics JSON (``--metrics``) and ``<out stem>_bodies.npz`` (:mod:`.output`). Errors a user can
fix print ``error: ...`` and exit with status 2; a run that places no body exits with 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..errors import PosaError
from .types import BodyRequest, PlacementConfig, PlacementResult

__all__ = ["DEFAULT_POSES", "build_parser", "run_cli"]

#: The default pose mix: people sitting, standing, leaning on walls, lying, kneeling.
DEFAULT_POSES = ("sit", "stand", "lean_back", "sit", "lie_back", "stand", "sit_low", "kneel")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m posa_model.place",
        description="Populate a scene with posed bodies placed by POSA's contact maps.")
    p.add_argument("--scene", required=True, type=Path,
                   help="scene mesh (.glb/.gltf/.obj/.ply) or reference grid folder/<scene>.json")
    p.add_argument("--bodies", type=int, default=10, help="number of bodies (default 10)")
    p.add_argument("--poses", default=None,
                   help=f"comma-separated pose presets (default {','.join(DEFAULT_POSES)})")
    p.add_argument("--pose-file", action="append", type=Path, default=[],
                   help="an SMPL-X pose .npz added to the mix (repeatable)")
    p.add_argument("--frame", type=int, default=0, help="frame of AMASS pose files")
    p.add_argument("--body", default="standin",
                   help="'standin' (default) or a path to an SMPL-X model file/folder")
    p.add_argument("--classes", default=None, help="JSON {object name or glob: class}")
    p.add_argument("--up", choices=("y", "z"), default="y", help="the scene file's up axis")
    p.add_argument("--resolution", type=float, default=0.05,
                   help="grid spacing in metres for mesh scenes (default 0.05)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--checkpoint", default=None, help="our checkpoint (default: shipped)")
    p.add_argument("--maps", type=int, default=PlacementConfig.maps,
                   help=f"feature maps sampled per body (default {PlacementConfig.maps})")
    p.add_argument("--cpu-threads", type=int, default=PlacementConfig.cpu_threads,
                   help="torch CPU threads while placing (0: torch's default; default "
                        f"{PlacementConfig.cpu_threads})")
    p.add_argument("--out", required=True, type=Path, help="populated scene, .glb")
    p.add_argument("--metrics", type=Path, default=None, help="metrics JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _load_scene(args):
    """(SceneGrid, scene objects for the GLB, a report line)."""
    from ..scene import load_scene, load_scene_grid, scene_grid_from_file

    path: Path = args.scene
    if path.suffix.lower() == ".json":
        grid = load_scene_grid(path.parent, path.stem, up=args.up)
        mesh = path.parent.parent / "scenes" / f"{path.stem}.glb"
        objects = load_scene(mesh).objects if mesh.is_file() else []
        shown = f"objects from {mesh}" if objects else "no scene mesh found: bodies only"
        return grid, objects, f"{path}: grid {grid.shape} ({shown})"
    if args.classes is not None and not Path(args.classes).is_file():
        raise PosaError(f"--classes: file not found: {args.classes}")
    grid, loaded = scene_grid_from_file(path, args.resolution, classes=args.classes, up=args.up)
    return grid, loaded.objects, loaded.report


def _requests(args) -> tuple[list[BodyRequest], np.ndarray | None]:
    from ..body import BodyPose, load_body_model, pose_body

    if args.bodies < 1:
        raise PosaError(f"--bodies: expected a positive number, found {args.bodies}")
    names = [n.strip() for n in args.poses.split(",") if n.strip()] if args.poses else []
    if not names and not args.pose_file:
        names = list(DEFAULT_POSES)
    mix = [BodyPose.from_preset(n) for n in names]
    mix += [BodyPose.from_file(path, frame=args.frame).take([0]) for path in args.pose_file]
    model = load_body_model(None if args.body == "standin" else args.body)
    poses = BodyPose.concatenate(mix).with_betas(model.num_betas)
    vertices = pose_body(model, poses).vertices
    requests = []
    for k in range(args.bodies):
        i = k % len(poses)
        name = poses.names[i]
        requests.append(BodyRequest(vertices[i], f"{name}.{k:03d}", info={
            "pose": name, "global_orient": poses.global_orient[i].tolist(),
            "body_pose": poses.body_pose[i].tolist()}))
    return requests, model.faces


def _print_summary(result: PlacementResult) -> None:
    print(f"{'body':<18} {'placed':<6} {'non-coll':>8} {'touch':>5} {'semantic':>8}  touches")
    for b in result.bodies:
        if b.placed:
            m = b.metrics
            touched = ", ".join(f"{k} {v}" for k, v in m["touched_classes"].items())
            print(f"{b.name:<18} {'yes':<6} {m['non_collision']:>8.3f} {m['touch']:>5.0f} "
                  f"{m['semantic_match']:>8.3f}  {touched}")
        else:
            print(f"{b.name:<18} {'no':<6} {b.reason}")
    m = result.metrics
    print(f"placed {m['placed']}/{m['bodies']}; mean non-collision {m['non_collision']:.4f}, "
          f"touch {m['touch']:.3f}, semantic match {m['semantic_match']:.3f}, max body-body "
          f"penetration {m['body_penetration_max'] * 100:.2f} cm; "
          f"{result.seconds['total']:.1f} s")


def run_cli(argv: list[str] | None = None) -> int:
    """Parse, place, write; returns the exit status (PosaError propagates to the caller)."""
    from ..place import place_bodies
    from ..sample import load_sampler
    from .output import bodies_npz_path, write_bodies_npz, write_glb, write_metrics

    args = build_parser().parse_args(argv)
    if args.out.suffix.lower() != ".glb":
        raise PosaError(f"--out: expected a .glb path, found {args.out}")
    grid, objects, report = _load_scene(args)
    print(report)
    requests, faces = _requests(args)
    sampler = load_sampler(args.checkpoint, device=args.device)
    if not sampler.trained:
        print("warning: the checkpoint is an UNTRAINED placeholder; maps are meaningless",
              file=sys.stderr)
    config = PlacementConfig(seed=args.seed, device=args.device, maps=args.maps,
                             cpu_threads=args.cpu_threads)
    result = place_bodies(grid, requests, sampler, config, faces=faces, progress=not args.quiet)
    _print_summary(result)
    placed = result.metrics["placed"]
    written = []
    if objects or placed:
        written.append(str(write_glb(args.out, objects, result, faces)))
    written.append(str(write_bodies_npz(bodies_npz_path(args.out), result, requests)))
    if args.metrics is not None:
        run = {"scene": str(args.scene), "bodies": args.bodies, "seed": args.seed,
               "poses": [r.info["pose"] for r in requests], "argv": sys.argv[1:]}
        written.append(str(write_metrics(args.metrics, result, requests, config, run)))
    print("wrote " + ", ".join(written))
    if not placed:
        print("warning: no body was placed (the reasons are above)", file=sys.stderr)
        return 1
    return 0
