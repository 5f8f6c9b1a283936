"""Write the spiral fixtures of tests/test_spirals.py with the real ``openmesh`` and ``sklearn``.

This script is the ground truth for ``posa_model.mesh.halfedge`` / ``posa_model.mesh.spirals``:
it builds each mesh with ``openmesh.TriMesh(vertices, faces)``, records OpenMesh's ``vv`` order
of every vertex, and runs the SpiralNet++ spiral algorithm the reference POSA used (OpenMesh
circulators, sklearn ``KDTree`` fallback). posa_model never imports openmesh; only this tool does.

Run it in an environment that has openmesh, scikit-learn, numpy and scipy (fast-simplification
is optional: without it the decimated-mesh case is skipped)::

    /tmp/omenv/bin/python tools/make_spiral_fixtures.py [--out tests/fixtures/spirals] \
        [--mesh standin_level2=level2.npz ...]

``--mesh`` adds an external mesh (an .npz with ``vertices`` and ``faces``), e.g. a level of the
stand-in hierarchy exported from posa_model; external cases already in the manifest are kept
on later runs (their fixture file holds the mesh).

Each case is one ``<name>.npz`` with ``vertices`` (V, 3) float64, ``faces`` (F, 3) int64,
``vv_flat`` / ``vv_offsets`` (the ``vv`` list of vertex ``i`` is
``vv_flat[vv_offsets[i]:vv_offsets[i + 1]]``), ``n_faces_openmesh`` (faces OpenMesh accepted),
``params`` (P, 2) rows of (seq_length, dilation), and per row ``spirals_<p>`` (V, seq_length)
int64 and ``fallback_<p>`` (V,) bool (whether the KD-tree fallback produced the row).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import openmesh as om
import sklearn
from scipy.spatial import ConvexHull, Delaunay
from sklearn.neighbors import KDTree

PARAMS = ((9, 1), (9, 2))


# ------------------------------------------------------------------ reference spiral algorithm
def vv_lists(mesh: om.TriMesh) -> list[list[int]]:
    return [[vh.idx() for vh in mesh.vv(mesh.vertex_handle(i))] for i in range(mesh.n_vertices())]


def next_ring(mesh: om.TriMesh, last_ring: list[int], other: list[int]) -> list[int]:
    res: list[int] = []

    def is_new(idx: int) -> bool:
        return idx not in last_ring and idx not in other and idx not in res

    for vh1 in last_ring:
        vh1 = mesh.vertex_handle(vh1)
        after_last_ring = False
        for vh2 in mesh.vv(vh1):
            if after_last_ring and is_new(vh2.idx()):
                res.append(vh2.idx())
            if vh2.idx() in last_ring:
                after_last_ring = True
        for vh2 in mesh.vv(vh1):
            if vh2.idx() in last_ring:
                break
            if is_new(vh2.idx()):
                res.append(vh2.idx())
    return res


def check_no_ties(points: np.ndarray, v0: int, k: int) -> None:
    """Refuse exact distance ties in a fallback row: sklearn orders those arbitrarily."""
    diff = points - points[v0]
    d2 = np.sort((diff[:, 0] * diff[:, 0] + diff[:, 1] * diff[:, 1]) + diff[:, 2] * diff[:, 2])
    d2 = d2[: k + 1]
    if len(np.unique(d2)) != len(d2):
        raise SystemExit(
            f"vertex {v0}: exact distance ties among its {k} nearest vertices; "
            "jitter the fixture mesh (sklearn's order for exact ties is arbitrary)"
        )


def reference_spirals(mesh: om.TriMesh, seq_length: int, dilation: int):
    length = seq_length * dilation
    points = mesh.points()
    spirals, fallback = [], []
    for vh0 in mesh.vertices():
        one_ring = [vh1.idx() for vh1 in mesh.vv(vh0)]
        spiral = [vh0.idx()]
        last_ring = one_ring
        ring = next_ring(mesh, last_ring, spiral)
        spiral.extend(last_ring)
        while len(spiral) + len(ring) < length:
            if len(ring) == 0:
                break
            last_ring = ring
            ring = next_ring(mesh, last_ring, spiral)
            spiral.extend(last_ring)
        if len(ring) > 0:
            spiral.extend(ring)
            fallback.append(False)
        else:
            check_no_ties(points, spiral[0], length)
            kdt = KDTree(points, metric="euclidean")
            query = kdt.query(points[spiral[0]][None], k=length, return_distance=False)
            spiral = [int(i) for i in query.ravel()]
            fallback.append(True)
        spirals.append(spiral[:length][::dilation])
    return np.asarray(spirals, dtype=np.int64), np.asarray(fallback, dtype=bool)


# ------------------------------------------------------------------ test meshes (numpy only)
def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    t = (1.0 + 5.0**0.5) / 2.0
    v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
         [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]  # fmt: skip
    f = [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
         [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
         [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]]  # fmt: skip
    verts = [np.asarray(p, dtype=np.float64) for p in v]

    def mid(a: int, b: int, cache: dict[tuple[int, int], int]) -> int:
        key = (min(a, b), max(a, b))
        if key not in cache:
            cache[key] = len(verts)
            verts.append((verts[a] + verts[b]) / 2.0)
        return cache[key]

    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}
        new_f = []
        for a, b, c in f:
            ab, bc, ca = mid(a, b, cache), mid(b, c, cache), mid(c, a, cache)
            new_f += [[a, ab, ca], [b, bc, ab], [c, ca, bc], [ab, bc, ca]]
        f = new_f
    vs = np.asarray(verts)
    vs /= np.linalg.norm(vs, axis=1, keepdims=True)
    return vs, np.asarray(f, dtype=np.int64)


def grid(n: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """An (n x m)-vertex triangulated grid with jittered positions and mixed diagonals."""
    ij = np.stack(np.meshgrid(np.arange(n), np.arange(m), indexing="ij"), -1).reshape(-1, 2)
    v = np.c_[ij + rng.uniform(-0.2, 0.2, ij.shape), rng.uniform(-0.05, 0.05, len(ij))]
    f = []
    for i in range(n - 1):
        for j in range(m - 1):
            a, b, c, d = i * m + j, (i + 1) * m + j, (i + 1) * m + j + 1, i * m + j + 1
            if rng.random() < 0.5:
                f += [[a, b, c], [a, c, d]]
            else:
                f += [[a, b, d], [b, c, d]]
    return v, np.asarray(f, dtype=np.int64)


def shuffle(v, f, rng, vertices=True, faces=True, rotate=True):
    """Random vertex order, face order and starting corner; the geometry is unchanged."""
    if vertices:
        perm = rng.permutation(len(v))
        inv = np.empty_like(perm)
        inv[perm] = np.arange(len(v))
        v, f = v[perm], inv[f]
    if faces:
        f = f[rng.permutation(len(f))]
    if rotate:
        shift = rng.integers(0, 3, len(f))
        f = np.stack([np.roll(row, s) for row, s in zip(f, shift, strict=True)])
    return v, f


def outward(v, f):
    c = v[f].mean(1) - v.mean(0)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    flip = (n * c).sum(1) < 0
    f = f.copy()
    f[flip] = f[flip][:, ::-1]
    return f


def cases(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    out: dict[str, tuple[np.ndarray, np.ndarray, str]] = {}
    v, f = icosphere(1)
    out["icosphere1_shuffled"] = (*shuffle(v, f, rng), "closed, 42 vertices, shuffled")
    v, f = icosphere(2)
    out["icosphere2_shuffled"] = (*shuffle(v, f, rng), "closed, 162 vertices, shuffled")
    v, f = icosphere(2)
    out["icosphere2_ordered"] = (v, f, "closed, 162 vertices, subdivision order")

    v, f = grid(9, 8, rng)
    out["grid_open"] = (*shuffle(v, f, rng), "open grid, boundary, shuffled")
    v, f = grid(10, 10, rng)
    centre = v[:, :2].mean(0)
    keep = np.linalg.norm(v[f].mean(1)[:, :2] - centre, axis=1) > 2.2
    out["grid_hole"] = (*shuffle(v, f[keep], rng), "open grid with an inner hole, shuffled")

    p = rng.random((120, 2))
    d = Delaunay(p).simplices
    v = np.c_[p, 0.1 * np.sin(5 * p[:, 0])]
    e1, e2 = p[d[:, 1]] - p[d[:, 0]], p[d[:, 2]] - p[d[:, 0]]
    flip = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] < 0
    d[flip] = d[flip][:, ::-1]
    out["delaunay_disc"] = (*shuffle(v, d, rng), "irregular open disc, random vertex order")

    p = rng.normal(size=(150, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    h = ConvexHull(p).simplices.astype(np.int64)
    p *= rng.uniform(0.9, 1.1, (150, 1))
    out["hull_irregular"] = (*shuffle(p, outward(p, h), rng), "irregular closed, random order")

    # Faces of a closed sphere added fan by fan out of order: OpenMesh has to re-link patches.
    v, f = icosphere(2)
    order = np.argsort(np.arange(len(f)) % 7, kind="stable")
    out["relink_patches"] = (v, f[order], "closed, every 7th face first: 17 patch re-links")
    hexv = np.r_[[[0.0, 0.0, 0.0]], [[np.cos(a), np.sin(a), 0.0] for a in np.arange(6) * np.pi / 3]]
    hexv = np.r_[hexv, rng.normal(size=(12, 3)) + [0, 0, 3]]
    hexv += rng.normal(size=hexv.shape) * 0.01  # no exact distance ties for the fallback
    fan = np.array([[0, 1, 2], [0, 3, 4], [0, 5, 6], [0, 4, 5], [0, 2, 3], [0, 6, 1]])
    out["relink_fan"] = (hexv, fan, "hexagon fan: three gaps closed out of order; 12 isolated")

    # Rings run out: 3 tetrahedra (KD-tree fallback for every vertex) + a strip + a lone vertex.
    tet = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    tv = np.concatenate([rng.normal(size=(4, 3)) * 0.3 + [3 * k, 0, 0] for k in range(3)])
    tf = np.concatenate([tet + 4 * k for k in range(3)])
    strip = np.array([[i, i + 1, i + 2] if i % 2 == 0 else [i + 1, i, i + 2] for i in range(8)])
    sv = np.c_[np.arange(10) * 0.5, np.arange(10) % 2, np.zeros(10)] + [0, 5, 0]
    sv += rng.normal(size=sv.shape) * 0.05
    v = np.concatenate([tv, sv, [[9.0, 9.0, 9.0]]])
    f = np.concatenate([tf, strip + 12])
    out["tiny_fallback"] = (v, f, "3 tetrahedra, a 10-vertex strip, one isolated vertex")

    # Non-manifold input: a bowtie vertex and an edge with three faces (OpenMesh rejects one).
    v = rng.normal(size=(20, 3))  # vertices 9..19 are isolated
    f = np.array([[0, 1, 2], [0, 2, 3], [0, 4, 5], [0, 5, 6], [1, 2, 7], [2, 1, 8], [0, 3, 1]])
    out["nonmanifold"] = (v, f, "bowtie vertex + a complex edge (a face OpenMesh refuses)")

    try:
        import fast_simplification
    except ImportError:
        print("fast_simplification not installed: skipping the decimated case")
    else:
        v, f = icosphere(4)
        v = v * (1.0 + 0.15 * np.sin(3 * v[:, :1]) * np.cos(2 * v[:, 1:2]))
        v += rng.normal(size=v.shape) * 0.01
        pts, tri = fast_simplification.simplify(v, f.astype(np.int32), target_count=700)
        used = np.unique(tri)
        remap = np.full(len(pts), -1)
        remap[used] = np.arange(len(used))
        dv, df = pts[used], remap[tri].astype(np.int64)
        out["decimated_irregular"] = (*shuffle(dv, df, rng), "quadric-decimated, random order")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).parents[1] / "tests/fixtures/spirals"))
    parser.add_argument("--seed", type=int, default=20210620)
    parser.add_argument(
        "--mesh",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="extra case from an .npz with 'vertices' and 'faces' (e.g. a hierarchy level "
        "exported from posa_model); an existing fixture file works too",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    extra = {}
    for spec in args.mesh:
        name, _, file = spec.partition("=")
        with np.load(file, allow_pickle=False) as z:
            extra[name] = (z["vertices"], z["faces"], f"external mesh ({Path(file).name})")
    manifest_path = out / "manifest.json"
    if manifest_path.is_file():  # keep external cases made earlier (their npz holds the mesh)
        for name, info in json.loads(manifest_path.read_text())["cases"].items():
            if info.get("external") and name not in extra and (out / f"{name}.npz").is_file():
                with np.load(out / f"{name}.npz", allow_pickle=False) as z:
                    extra[name] = (z["vertices"], z["faces"], info["what"])
    manifest = {"openmesh": getattr(om, "__version__", "1.2.1"), "sklearn": sklearn.__version__,
                "params": [list(p) for p in PARAMS], "cases": {}}  # fmt: skip
    for name, (v, f, what) in {**cases(rng), **extra}.items():
        v = np.ascontiguousarray(v, dtype=np.float64)
        f = np.ascontiguousarray(f, dtype=np.int64)
        mesh = om.TriMesh(v, f.astype(np.int32))
        vv = vv_lists(mesh)
        arrays = {
            "vertices": v,
            "faces": f,
            "vv_flat": np.asarray([i for ring in vv for i in ring], dtype=np.int64),
            "vv_offsets": np.cumsum([0] + [len(r) for r in vv]).astype(np.int64),
            "n_faces_openmesh": np.int64(mesh.n_faces()),
            "params": np.asarray(PARAMS, dtype=np.int64),
        }
        fallbacks = []
        for p, (seq_length, dilation) in enumerate(PARAMS):
            spirals, fallback = reference_spirals(mesh, seq_length, dilation)
            arrays[f"spirals_{p}"] = spirals
            arrays[f"fallback_{p}"] = fallback
            fallbacks.append(int(fallback.sum()))
        np.savez_compressed(out / f"{name}.npz", **arrays)
        manifest["cases"][name] = {
            "what": what, "vertices": len(v), "faces": len(f),
            "faces_openmesh": int(mesh.n_faces()), "fallback_rows": fallbacks,
            "external": name in extra,
        }  # fmt: skip
        print(f"{name:22s} V={len(v):4d} F={len(f):4d} openmesh F={mesh.n_faces():4d} "
              f"fallback rows={fallbacks}  {what}")  # fmt: skip
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
