"""Speed of populating one big room with many people: seconds per stage, with and without pose
refinement.

    python bench/bench_populate.py --people 100 --seed 0
    python bench/bench_populate.py --people 100 --no-pose      # rigid placement only
    python bench/bench_populate.py --people 0 --fill seats     # someone on every seat

The room is the example rooms (``examples/rooms``: dining room, living room, office, bedroom,
kitchen) side by side in one scene, 4 m apart, each keeping its own floor and walls: about 30
seats, 5 bed places and much free floor and wall (SMPL-X world, +y up, metres). ``--people N``
asks for N people in the default mix (``--bodies N``), seed ``--seed``, on the CPU with one
torch thread (the placement default). Prints the spots, the people placed per interaction, the
metrics, each interaction's checks measured on the meshes (:meth:`Interaction.check`), the seats
used, the crowd's variety (:func:`posa_model.populate.variety.crowd_variety`) and the seconds
per stage (spots, fitting, maps, scoring, refinement, selection, ...).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("dining_room", "living_room", "office", "bedroom", "kitchen")


def big_room(resolution: float = 0.05):
    """(SceneGrid, objects): the example rooms side by side along x, 4 m apart."""
    from posa_model.scene import MeshObject, build_scene_grid, load_scene

    objects, x = [], 0.0
    for room in ROOMS:
        loaded = load_scene(ROOT / "examples" / "rooms" / f"{room}.glb")
        lo = min(o.bounds()[0][0] for o in loaded.objects)
        hi = max(o.bounds()[1][0] for o in loaded.objects)
        for o in loaded.objects:
            moved = np.asarray(o.vertices) + [x - lo, 0.0, 0.0]
            objects.append(MeshObject(f"{room}/{o.name}", moved, o.faces, o.class_id,
                                      o.class_source, o.part_of and f"{room}/{o.part_of}",
                                      tuple(f"{room}/{p}" for p in o.parents)))
        x += hi - lo + 4.0
    return build_scene_grid(objects, resolution=resolution), objects


def main(argv: list[str] | None = None) -> int:
    from posa_model.body import load_body_model
    from posa_model.placement.types import PlacementConfig
    from posa_model.populate import PeopleRequest, populate
    from posa_model.populate.variety import crowd_variety
    from posa_model.sample import load_sampler

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pose", action="store_true", help="rigid placement only")
    parser.add_argument("--fill", default=None, help="also fill: seats and/or beds")
    parser.add_argument("--out", type=Path, default=None, help="results JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    grid, objects = big_room()
    built = time.perf_counter() - started
    model, sampler = load_body_model(), load_sampler(device="cpu")
    config = PlacementConfig(seed=args.seed, device="cpu")
    if args.no_pose:
        config = replace(config, pose_steps=0)
    started = time.perf_counter()
    fill = frozenset(f.strip() for f in args.fill.split(",")) if args.fill else frozenset()
    request = PeopleRequest(total=args.people or None, fill=fill)
    result = populate(grid, objects, request, model, sampler, config, progress=False)
    seconds = time.perf_counter() - started
    m = result.metrics
    per = ", ".join(f"{k} {v['placed']}/{v['requested']}" for k, v in m["interactions"].items())
    checks = ", ".join(f"{k} {v['checks_passed']}/{v['placed']}"
                       for k, v in m["interactions"].items())
    placed = [p for p in result.people if p.placed]
    variety = crowd_variety([p.body.pose for p in placed], [p.interaction for p in placed])
    seats = [s for s in result.spots if s.kind == "seat"]
    used = {id(p.spot) for p in placed if p.spot is not None}
    print(f"room: {len(objects)} objects, grid {grid.shape} in {built:.1f} s; {m['spots']}")
    print(f"placed {m['placed']}/{m['bodies']} ({per}) in {seconds:.1f} s "
          f"({'rigid' if args.no_pose else 'with pose refinement'})")
    print("stages: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    print(f"checks passed (measured on the meshes): {checks}; seats used "
          f"{sum(id(s) in used for s in seats)}/{len(seats)}")
    print(f"variety: {variety['distinct_shapes']} distinct shapes of {variety['people']}; "
          f"closest pose of two people doing the same {variety['closest_pose']:.3f} rad, "
          f"{variety['alike_pairs']} pairs under {variety['threshold']} rad")
    for p in placed:
        if p.check is not None and not p.check.ok:
            print(f"  {p.name} {p.spot.describe()}: check: {p.check.describe()}")
    print(f"non-collision {m['non_collision']:.4f}, touch {m['touch']:.3f}, semantic match "
          f"{m['semantic_match']:.3f} (exact {m['semantic_match_exact']:.3f}), deepest overlap "
          f"{100 * m['body_penetration_max']:.1f} cm")
    for p in result.people:
        if not p.placed:
            print(f"  {p.name}: {p.reason}")
    if args.out is not None:
        args.out.write_text(json.dumps({"people": args.people, "seed": args.seed,
                                        "pose": not args.no_pose, "seconds": seconds,
                                        "stages": result.seconds, "metrics": m,
                                        "variety": variety}, indent=1,
                                       default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
