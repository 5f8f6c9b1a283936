"""Scene grids from triangle meshes: build_scene_grid on a 20-object room at 5 cm.

    python bench/bench_scene_sdf.py [--resolution 0.05] [--repeats 3] [--seed 28]

Rooms (SMPL-X world, +y up), all from one synthetic office of ``posa_model.synth`` (the
generator's largest rooms have 18 objects; two of its chairs are copied 1 m along x to make 20):

* ``boxes``: the objects as the synthetic rooms export them (12 triangles per box).
* ``artist``: every object subdivided (midpoint, 4x per step) to at least 4,000 faces, the size
  of typical artist furniture, and jittered by 0.5 mm so nothing is exactly aligned to the grid.
* ``open``: ``artist`` with every downward-facing triangle removed (meshes without bottoms) and
  the floor replaced by one plane (a thin open sheet, extruded before the sign is taken).

Per room: median seconds of ``build_scene_grid`` over ``--repeats`` runs, the grid size, how many
nodes needed an exact winding number, and, as the baseline, the time of one fast winding number
at every node (what the sign would cost without propagation) and the share of nodes whose
propagated sign equals that of their own winding number. Also checks the ``boxes`` room
against ``posa_model.synth.compute_sdf_grid`` (exact) on the same cube. Record results in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import time

import igl
import numpy as np
import trimesh

from posa_model.scene import MeshObject, build_scene_grid
from posa_model.scene.mesh_sdf import solidify_sheets
from posa_model.synth import compute_sdf_grid, generate_room
from posa_model.synth.export import object_mesh


def room_objects(seed: int) -> tuple[list[MeshObject], object]:
    """The 20 objects of the benchmark room and the synthetic scene they come from."""
    scene = generate_room("bench", np.random.default_rng(seed), room_type="office")
    objects = [MeshObject(o.name, *object_mesh(scene, i), o.class_id, "label")
               for i, o in enumerate(scene.objects)]
    chairs = [o for o in objects if o.class_id == 3]
    for k, chair in enumerate((chairs * 2)[: max(0, 20 - len(objects))]):
        objects.append(MeshObject(f"{chair.name}.copy{k}", chair.vertices + [1.0, 0.0, 0.0],
                                  chair.faces, chair.class_id, "label"))
    return objects, scene


def artist_objects(objects: list[MeshObject], seed: int, min_faces: int = 4000):
    rng = np.random.default_rng(seed)
    out = []
    for obj in objects:
        v, f = obj.vertices, obj.faces
        while len(f) < min_faces:
            v, f = trimesh.remesh.subdivide(v, f)
        v = v + rng.normal(scale=0.0005, size=v.shape)
        out.append(MeshObject(obj.name, v, f, obj.class_id, obj.class_source))
    return out


def open_objects(objects: list[MeshObject]):
    out = []
    for obj in objects:
        if obj.class_id == 2:  # floor -> one plane at its top
            (x0, _, z0), (x1, y1, z1) = obj.bounds()
            plane = np.array([[x0, y1, z0], [x1, y1, z0], [x1, y1, z1], [x0, y1, z1]])
            out.append(MeshObject(obj.name, plane, [[0, 2, 1], [0, 3, 2]], 2, "label"))
            continue
        tri = obj.vertices[obj.faces]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        keep = normal[:, 1] > -0.5 * np.linalg.norm(normal, axis=1)
        out.append(MeshObject(obj.name, obj.vertices, obj.faces[keep], obj.class_id, "label"))
    return out


class WindingCounter:
    """Counts the nodes given to igl.fast_winding_number while installed."""

    def __init__(self):
        self.queries = 0
        self.original = igl.fast_winding_number

    def __enter__(self):
        def counted(v, f, q):
            self.queries += len(q)
            return self.original(v, f, q)

        igl.fast_winding_number = counted
        return self

    def __exit__(self, *exc):
        igl.fast_winding_number = self.original


def bench_room(name: str, objects, resolution: float, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        with WindingCounter() as counter:
            t0 = time.perf_counter()
            grid = build_scene_grid(objects, resolution=resolution)
            times.append(time.perf_counter() - t0)
    nodes = int(np.prod(grid.shape))
    points = np.stack(np.meshgrid(*grid.node_coords(), indexing="ij"), -1).reshape(-1, 3)
    soup = solidify_sheets(objects, grid.bbox.mean(axis=0), max(0.05, 2 * resolution))
    t0 = time.perf_counter()
    winding = soup.winding_number(points)
    all_nodes = time.perf_counter() - t0
    sdf = grid.sdf.reshape(-1)
    signed = np.abs(sdf) > 1e-9
    agree = ((sdf < 0) == (winding > 0.5))[signed].mean()
    return {"room": name, "objects": len(objects),
            "faces": int(sum(len(o.faces) for o in objects)),
            "grid": "x".join(map(str, grid.shape)), "nodes": nodes,
            "seconds": round(statistics.median(times), 3),
            "winding_nodes": counter.queries, "winding_fraction": round(counter.queries / nodes, 4),
            "baseline_winding_all_nodes_s": round(all_nodes, 3),
            "sign_agreement_with_own_winding": round(float(agree), 6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=28)
    args = parser.parse_args()
    boxes, scene = room_objects(args.seed)
    artist = artist_objects(boxes, args.seed)
    rows = [bench_room("boxes", boxes, args.resolution, args.repeats),
            bench_room("artist", artist, args.resolution, args.repeats),
            bench_room("open", open_objects(artist), args.resolution, args.repeats)]

    exact = compute_sdf_grid(scene.boxes, resolution=args.resolution, padding=0.2)
    mesh = build_scene_grid(boxes[: len(scene.objects)], resolution=args.resolution,
                            padding=0.2, cubic=True)
    check = {"max_abs_error_m": float(np.abs(mesh.sdf - exact.sdf).max()),
             "semantics_agree": float((mesh.semantics == exact.semantics).mean())}

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, libigl {importlib.metadata.version('libigl')}, "
          f"resolution {args.resolution} m, median of {args.repeats}")
    print("| room | objects | faces | grid | nodes | build s | winding nodes | "
          "winding at every node s | signs = own winding number |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['room']} | {r['objects']} | {r['faces']:,} | {r['grid']} | {r['nodes']:,} "
              f"| {r['seconds']:.2f} | {r['winding_nodes']:,} ({100 * r['winding_fraction']:.1f} %)"
              f" | {r['baseline_winding_all_nodes_s']:.2f} "
              f"| {100 * r['sign_agreement_with_own_winding']:.3f} % |")
    print(f"boxes room vs exact compute_sdf_grid ({exact.shape[0]}^3 cube): max |error| "
          f"{check['max_abs_error_m']:.2e} m, semantics agree on "
          f"{100 * check['semantics_agree']:.2f} % of nodes")
    print(json.dumps({"rows": rows, "check": check}))


if __name__ == "__main__":
    main()
