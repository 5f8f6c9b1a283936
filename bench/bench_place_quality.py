"""Placement quality on held-out synthetic test rooms, for one or more checkpoints in one run.

    python bench/bench_place_quality.py --data data/synth24k --rooms 20 --bodies 8 \\
        --checkpoint posa_model/assets/posa_standin.pt --checkpoint runs/r1/best.pt

For ``--rooms`` test rooms of ``--data`` (evenly spaced through the sorted scene names of
``test/``, so bathrooms, bedrooms, kitchens, living rooms and offices all come up)
and each checkpoint: ``--bodies`` bodies in the CLI's default pose mix
(:data:`posa_model.placement.cli.DEFAULT_POSES`), seed ``--seed``, placed on two grids of the same
room: an exact 5 cm grid built from the room's mesh (``scenes/<room>.glb``) and the dataset's own
reference-format grid (``sdf/<room>.json``). Printed and written (``--json``): bodies placed, and
the per-body metrics of :mod:`posa_model.placement.metrics` pooled over every placed body of every
room (non-collision, touch, semantic match), with the worst body-body overlap.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from posa_model.data.dataset import scene_of  # noqa: E402
from posa_model.place import PlacementConfig, place_bodies  # noqa: E402
from posa_model.placement.cli import _requests, build_parser  # noqa: E402
from posa_model.sample import load_sampler  # noqa: E402
from posa_model.scene import load_scene_grid, scene_grid_from_file  # noqa: E402


def test_rooms(data: Path, n: int) -> list[str]:
    """``n`` test rooms evenly spaced through the sorted names (so every room type is there)."""
    names = json.loads((data / "test" / "recording_names.json").read_text())
    rooms = sorted({scene_of(name) for name in names})
    picks = np.linspace(0, len(rooms) - 1, min(n, len(rooms))).round().astype(int)
    return [rooms[i] for i in picks]


def pooled(results: list) -> dict:
    bodies = [b for r in results for b in r.bodies]
    placed = [b for b in bodies if b.placed]

    def mean(key: str) -> float:
        return float(np.mean([b.metrics[key] for b in placed])) if placed else float("nan")

    return {"bodies": len(bodies), "placed": len(placed), "non_collision": mean("non_collision"),
            "touch": mean("touch"), "semantic_match": mean("semantic_match"),
            "worst_overlap_mm": 1000 * max((r.metrics["body_penetration_max"] for r in results),
                                           default=0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synth24k")
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--bodies", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--checkpoint", action="append", default=None,
                        help="repeatable; default: the shipped checkpoint")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    rooms = test_rooms(args.data, args.rooms)
    cli_args = build_parser().parse_args(["--scene", "x.glb", "--out", "x.glb",
                                          "--bodies", str(args.bodies)])
    requests, faces = _requests(cli_args)
    grids = {}
    for room in rooms:
        mesh, _ = scene_grid_from_file(args.data / "scenes" / f"{room}.glb", 0.05)
        grids[room] = {"exact 5 cm (mesh)": mesh,
                       "dataset grid (sdf/)": load_scene_grid(args.data / "sdf", room)}
    config = PlacementConfig(seed=args.seed, device=args.device)
    out = {"data": str(args.data), "rooms": rooms, "bodies_per_room": args.bodies,
           "seed": args.seed, "results": {}}
    for ckpt in args.checkpoint or [None]:
        sampler = load_sampler(ckpt, device=args.device)
        name = str(ckpt or "shipped")
        for kind in ("exact 5 cm (mesh)", "dataset grid (sdf/)"):
            start = time.perf_counter()
            results = [place_bodies(grids[room][kind], requests, sampler, config, faces=faces,
                                    progress=False) for room in rooms]
            row = pooled(results) | {"seconds": round(time.perf_counter() - start, 1)}
            out["results"].setdefault(name, {})[kind] = row
            print(f"{name} | {kind}: placed {row['placed']}/{row['bodies']}, non-collision "
                  f"{row['non_collision']:.4f}, touch {row['touch']:.3f}, semantic match "
                  f"{row['semantic_match']:.3f}, worst overlap {row['worst_overlap_mm']:.1f} mm "
                  f"({row['seconds']} s)", flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
