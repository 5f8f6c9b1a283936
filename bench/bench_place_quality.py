"""Populating quality on synthetic test rooms (the generator's box furniture), per interaction.

    python bench/bench_place_quality.py --rooms 20 --bodies 8 --seed 0 --json quality.json
    python bench/bench_place_quality.py --checkpoint runs/r1/best.pt

``--rooms`` rooms from :func:`posa_model.synth.rooms.generate_room` (room type cycling through
bathroom, bedroom, kitchen, living, office; room ``k`` seeded with ``(--room-seed, k)``, so the
set is the same on every machine), each written as a GLB and built into an exact 5 cm grid from
its mesh, then populated with ``--bodies`` people in the default mix (``--bodies N``: the mix
shared out over what each room offers), seed ``--seed``, for each checkpoint. Printed and
written (``--json``): people placed per interaction, those who found no free spot (a full
room, not a placement failure), and the per-person metrics of
:mod:`posa_model.placement.metrics` pooled over every placed person of every room
(non-collision, touch, semantic match with seats standing in for each other and exact), with
the worst body-body overlap and the seconds. SMPL-X world, +y up, metres.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from posa_model.placement.types import PlacementConfig  # noqa: E402
from posa_model.populate import PeopleRequest, populate  # noqa: E402
from posa_model.sample import load_sampler  # noqa: E402
from posa_model.scene import scene_grid_from_file  # noqa: E402

ROOM_TYPES = ("bathroom", "bedroom", "kitchen", "living", "office")


def test_rooms(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` generated rooms written as ``<folder>/<name>.glb`` (with their class sidecar)."""
    from posa_model.synth.export import save_scene
    from posa_model.synth.rooms import generate_room

    paths = []
    for k in range(count):
        kind = ROOM_TYPES[k % len(ROOM_TYPES)]
        scene = generate_room(f"{kind}{k:04d}", np.random.default_rng((seed, k)), kind)
        paths.append(save_scene(folder, scene))
    return paths


def pooled(results: list) -> dict:
    people = [p for r in results for p in r.people]
    placed = [p for p in people if p.placed]

    def mean(key: str) -> float | None:
        return float(np.mean([p.body.metrics[key] for p in placed])) if placed else None

    per: dict[str, list[int]] = {}
    for p in people:
        row = per.setdefault(p.interaction, [0, 0])
        row[0] += int(p.placed)
        row[1] += 1
    no_spot = sum(p.spot is None for p in people)  # the room was full: not a placement failure
    return {"people": len(people), "placed": len(placed), "no_free_spot": no_spot,
            "per_interaction": per,
            "non_collision": mean("non_collision"), "touch": mean("touch"),
            "semantic_match": mean("semantic_match"),
            "semantic_match_exact": mean("semantic_match_exact"),
            "worst_overlap_mm": 1000 * max((p.body.metrics["body_penetration"] for p in placed),
                                           default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--room-seed", type=int, default=2)
    parser.add_argument("--bodies", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", action="append", default=None,
                        help="repeatable; default: the shipped checkpoint")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        paths = test_rooms(Path(tmp), args.rooms, args.room_seed)
        scenes = [scene_grid_from_file(p, 0.05) for p in paths]
    config = PlacementConfig(seed=args.seed, device=args.device)
    out = {"rooms": [p.stem for p in paths], "bodies_per_room": args.bodies,
           "room_seed": args.room_seed, "seed": args.seed, "results": {}}
    for ckpt in args.checkpoint or [None]:
        sampler = load_sampler(ckpt, device=args.device)
        start = time.perf_counter()
        results = [populate(grid, loaded.objects, PeopleRequest(total=args.bodies),
                            sampler=sampler, config=config, progress=False)
                   for grid, loaded in scenes]
        row = pooled(results) | {"seconds": round(time.perf_counter() - start, 1)}
        out["results"][str(ckpt or "shipped")] = row
        per = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in row["per_interaction"].items())
        print(f"{ckpt or 'shipped'}: placed {row['placed']}/{row['people']} ({per}; "
              f"{row['no_free_spot']} found the room full); "
              f"non-collision {row['non_collision']:.4f}, touch {row['touch']:.3f}, semantic "
              f"match {row['semantic_match']:.3f} (exact {row['semantic_match_exact']:.3f}), "
              f"worst overlap {row['worst_overlap_mm']:.1f} mm ({row['seconds']} s)", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
