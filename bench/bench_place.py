"""Placement speed and quality: N bodies in one big room, and the reference's one-at-a-time
candidate scoring measured in the same run as the baseline.

    python bench/bench_place.py [--bodies 100] [--rooms 4] [--device cpu|cuda|all]
                                [--cpu-threads 1] [--baseline-candidates 3000] [--json out.json]

The room: the furniture of ``--rooms`` held-out synthetic test rooms (``--data``, their
``scenes/<scene>.glb`` box meshes rebuilt exactly as boxes) laid out side by side in one open
room with one floor and four outer walls, so that 100 people fit; its exact SDF grid at 5 cm.
The bodies: the CLI's default pose mix on the stand-in body, the shipped checkpoint.

Baseline: the reference scores candidates one at a time in a Python loop. We time that loop
(one candidate per call, the same losses at the network's 655 vertices) on a subset of
``--baseline-candidates`` of our first-stage candidates, and extrapolate to (a) the candidates
our search scores and (b) the reference's own candidate set for this room (a 0.2 m grid inset
0.75 m x 3 heights x 4 yaws per body); both are extrapolations and printed as such. Results go
in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from posa_model.body import load_body_model, pose_body
from posa_model.classes import CLASS_ID
from posa_model.place import BodyRequest, PlacementConfig, place_bodies
from posa_model.placement.pipeline import _level_data, _level_indices
from posa_model.sample import load_sampler
from posa_model.synth import compute_sdf_grid
from posa_model.synth.primitives import Boxes

DATA = Path("data/synth24k")  # made by the README's synthesize command (seed 2)


def boxes_from_glb(path: Path) -> Boxes:
    """The boxes of a synthetic scene's GLB (12 triangles and 8 corners per box, corner
    ``4x + 2y + z``, see posa_model.synth.export), classes from ``<scene>_objects.json``."""
    import trimesh

    scene = trimesh.load(path, force="scene", process=False)
    info = json.loads(path.with_name(path.stem + "_objects.json").read_text())["objects"]
    rows = []
    for k, node in enumerate(scene.graph.nodes_geometry):
        transform, name = scene.graph[node]
        corners = trimesh.transform_points(scene.geometry[name].vertices, transform)
        for box in corners.reshape(-1, 8, 3):
            ax, ay, az = box[4] - box[0], box[2] - box[0], box[1] - box[0]
            half = [np.linalg.norm(ax) / 2, np.linalg.norm(ay) / 2, np.linalg.norm(az) / 2]
            rows.append((box.mean(0), half, np.arctan2(-ax[2], ax[0]),
                         info[node]["class_id"], k))
    c, h, y, cls, obj = zip(*rows, strict=True)
    return Boxes(np.array(c), np.array(h), np.array(y), np.array(cls), np.array(obj))


def big_room(rooms: list[str], data: Path) -> tuple[Boxes, tuple[float, float]]:
    """The furniture of ``rooms`` on a grid of cells, one floor, four outer walls."""
    boxes = [boxes_from_glb(data / "scenes" / f"{r}.glb") for r in rooms]
    cell = np.array([max(float((b.centers[:, a] + b.half_sizes[:, a]).max()) for b in boxes)
                     for a in (0, 2)])
    cols = int(np.ceil(np.sqrt(len(rooms))))
    parts = []
    for k, b in enumerate(boxes):
        s = b.subset(~np.isin(b.class_ids, [CLASS_ID["wall"], CLASS_ID["floor"]]))
        shift = np.array([k % cols * cell[0], 0.0, k // cols * cell[1]])
        parts.append(Boxes(s.centers + shift, s.half_sizes, s.yaws, s.class_ids,
                           s.object_ids + 1000 * (k + 1)))
    width, depth = cols * cell[0], int(np.ceil(len(rooms) / cols)) * cell[1]
    t, h = 0.1, 2.8
    shell = [((width / 2, -t / 2, depth / 2), (width / 2 + t, t / 2, depth / 2 + t), 2),
             ((width / 2, h / 2, -t / 2), (width / 2 + t, h / 2, t / 2), 1),
             ((width / 2, h / 2, depth + t / 2), (width / 2 + t, h / 2, t / 2), 1),
             ((-t / 2, h / 2, depth / 2), (t / 2, h / 2, depth / 2), 1),
             ((width + t / 2, h / 2, depth / 2), (t / 2, h / 2, depth / 2), 1)]
    parts.append(Boxes(np.array([s[0] for s in shell]), np.array([s[1] for s in shell]),
                       np.zeros(len(shell)), np.array([s[2] for s in shell]),
                       np.arange(len(shell))))
    return Boxes.concatenate(parts), (width, depth)


def baseline(grid, sampler, requests, config, device, n_candidates: int, size) -> dict:
    """One candidate per call, like the reference's loop; seconds per candidate."""
    from posa_model.placement.candidates import make_candidates, top_surfaces
    from posa_model.placement.losses import Evaluator
    from posa_model.placement.maps import choose_maps

    verts = [np.asarray(r.vertices, np.float64) for r in requests[:4]]
    maps = choose_maps(sampler, verts, grid.classes_present(), config)
    local = [(v - [v[:, 0].mean(), 0, v[:, 2].mean()]).astype(np.float32) for v in verts]
    idx = _level_indices(sampler.hierarchy, 2)
    data = {2: _level_data(local, maps, idx, config.maps_per_body, 0.5, device, torch.float32)}
    ev = Evaluator(grid.to_torch(device), data, torch.zeros(len(local), 3, device=device),
                   torch.full((len(local),), float("inf"), device=device), config)
    active = [b for b, m in enumerate(maps) if m.feasible]
    cands, _ = make_candidates(top_surfaces(grid, config.surface_spacing), local, maps, active,
                               [None] * len(local), config)
    pick = np.random.default_rng(0).choice(len(cands), min(n_candidates, len(cands)),
                                           replace=False)
    sub = cands.take(np.sort(pick))
    tensors = ev.tensors(sub)
    start = time.perf_counter()
    with torch.no_grad():
        for k in range(len(sub)):
            out = ev.terms(2, *(x[k:k + 1] for x in tensors))
            float(out["score"][0])  # the reference reads each score back
    per = (time.perf_counter() - start) / len(sub)
    inset = np.maximum(np.asarray(size) - 1.5, 0.2)
    ref_per_body = int(np.prod(np.floor(inset / 0.2) + 1)) * 3 * 4
    return {"seconds_per_candidate": per, "timed": len(sub),
            "reference_candidates_per_body": ref_per_body}


#: Rigid preset poses placed wherever their maps fit (the placement machinery alone, no
#: interactions: ``bench/bench_populate.py`` measures populating).
FREE_POSES = ("sit", "stand", "lean_back", "sit", "lie_back", "stand", "sit_low", "kneel")


def run(args, device: str) -> dict:
    torch.manual_seed(0)
    names = sorted({r.split("_")[0] for r in json.loads(
        (args.data / "test" / "recording_names.json").read_text())})
    kinds = ["living", "office", "kitchen", "bedroom", "bathroom"]
    rooms: list[str] = []
    for k in range(args.rooms):
        pool = [n for n in names if n.startswith(kinds[k % len(kinds)]) and n not in rooms]
        rooms.append(pool[0])
    boxes, size = big_room(rooms, args.data)
    t0 = time.perf_counter()
    grid = compute_sdf_grid(boxes, 0.05)
    grid_s = time.perf_counter() - t0
    model = load_body_model(None)
    poses = [FREE_POSES[k % len(FREE_POSES)] for k in range(args.bodies)]
    verts = {p: pose_body(model, p).vertices[0] for p in set(poses)}
    requests = [BodyRequest(verts[p], f"{p}.{k}", info={"pose": p}) for k, p in
                enumerate(poses)]
    sampler = load_sampler(device=device)
    config = PlacementConfig(seed=args.seed, device=device, cpu_threads=args.cpu_threads)
    place_bodies(grid, requests[:2], sampler, config, progress=False)  # warm-up
    start = time.perf_counter()
    result = place_bodies(grid, requests, sampler, config, progress=not args.quiet)
    wall = time.perf_counter() - start
    base = baseline(grid, sampler, requests, config, torch.device(device),
                    args.baseline_candidates, size)
    per_pose = {}
    for pose in sorted(set(poses)):
        mine = [b for b, p in zip(result.bodies, poses, strict=True) if p == pose]
        done = [b.metrics for b in mine if b.placed]
        per_pose[pose] = {
            "bodies": len(mine), "placed": len(done),
            **{k: float(np.mean([m[k] for m in done])) if done else float("nan")
               for k in ("non_collision", "touch", "semantic_match")},
            "not_placed": sorted({b.reason.split(":")[0] for b in mine if not b.placed})}
    return {"device": device, "per_pose": per_pose, "rooms": rooms,
            "room_size_m": [round(s, 2) for s in size],
            "grid_shape": list(grid.shape), "grid_seconds": grid_s, "bodies": args.bodies,
            "seconds": wall, "bodies_per_s": args.bodies / wall, "stages": result.seconds,
            "metrics": result.metrics, "baseline": base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bodies", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | all")
    parser.add_argument("--cpu-threads", type=int, default=PlacementConfig.cpu_threads,
                        help="torch CPU threads, for the placement and the baseline alike")
    parser.add_argument("--baseline-candidates", type=int, default=3000)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.cpu_threads:
        torch.set_num_threads(args.cpu_threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d == "cpu" or torch.cuda.is_available()]
    rows = [run(args, d) for d in devices]
    print(f"\n{platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    for r in rows:
        m, b = r["metrics"], r["baseline"]
        print(f"\n[{r['device']}] {r['bodies']} bodies in one {r['room_size_m'][0]} x "
              f"{r['room_size_m'][1]} m room (furniture of {', '.join(r['rooms'])}), grid "
              f"{r['grid_shape']} at 5 cm")
        print(f"{'placed':>8} {'seconds':>8} {'bodies/s':>9} {'non-coll':>9} {'touch':>6} "
              f"{'semantic':>9} {'max pen (m)':>12}")
        print(f"{m['placed']:>8} {r['seconds']:>8.1f} {r['bodies_per_s']:>9.2f} "
              f"{m['non_collision']:>9.4f} {m['touch']:>6.3f} {m['semantic_match']:>9.3f} "
              f"{m['body_penetration_max']:>12.4f}")
        print("stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items()))
        for pose, row in r["per_pose"].items():
            print(f"  {pose:<10} placed {row['placed']:>3}/{row['bodies']:<3} non-coll "
                  f"{row['non_collision']:.4f} touch {row['touch']:.3f} semantic "
                  f"{row['semantic_match']:.3f}  {'; '.join(row['not_placed'])}")
        per = b["seconds_per_candidate"]
        ref_total = per * b["reference_candidates_per_body"] * r["bodies"]
        print(f"baseline (one candidate per call, timed on {b['timed']} candidates, "
              f"extrapolated): {1e3 * per:.2f} ms per candidate; the reference's candidate set "
              f"({b['reference_candidates_per_body']} per body) for {r['bodies']} bodies: "
              f"{ref_total:.0f} s (scoring only); our {m['candidates']} candidates one at a time: "
              f"{per * m['candidates']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))


if __name__ == "__main__":
    main()
