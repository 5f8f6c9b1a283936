"""COMA-style hierarchy: counts, D/U invariants, manifold checks, closest triangles (libigl),
fingerprint, disk, mesh_ds, and the shipped stand-in hierarchy (rebuilt byte for byte)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import trimesh

from posa_model.assets import STANDIN_BODY_PATH, STANDIN_HIERARCHY_PATH
from posa_model.errors import HierarchyError
from posa_model.mesh.build import build_hierarchy
from posa_model.mesh.decimation import decimate
from posa_model.mesh.hierarchy import (
    MeshHierarchy,
    load_hierarchy,
    save_hierarchy,
    stored_source_key,
)
from posa_model.mesh.levels import level_indices
from posa_model.mesh.mesh_ds import read_mesh_ds, write_mesh_ds
from posa_model.mesh.spirals import extract_spirals
from posa_model.mesh.topology import check_manifold, corner_edges, edge_twins
from posa_model.mesh.upsample import closest_triangles, upsampling
from tools.standin.hierarchy import body_source_key, build_standin_hierarchy


# ------------------------------------------------------------------------------ test meshes
def bumpy(v: np.ndarray) -> np.ndarray:
    return v * (1.0 + 0.15 * np.sin(3 * v[:, :1]) * np.cos(2 * v[:, 1:2]))


@pytest.fixture(scope="module")
def sphere():
    s = trimesh.creation.icosphere(4)  # 2562 vertices
    return bumpy(s.vertices), np.asarray(s.faces)


@pytest.fixture(scope="module")
def capsule():
    c = trimesh.creation.capsule(height=1.0, radius=0.3, count=[32, 32])
    return np.asarray(c.vertices), np.asarray(c.faces)


@pytest.fixture(scope="module")
def open_cup():
    """A sphere with its top cap cut off: an open mesh with one boundary loop."""
    s = trimesh.creation.icosphere(4)
    faces = s.faces[s.triangles_center[:, 2] < 0.7]
    used = np.unique(faces)
    remap = np.full(len(s.vertices), -1)
    remap[used] = np.arange(len(used))
    return bumpy(s.vertices[used]), remap[faces]


@pytest.fixture(scope="module")
def body_sized():
    """A closed 10475-vertex mesh (like SMPL-X), from a decimated icosphere."""
    s = trimesh.creation.icosphere(6)
    v = bumpy(s.vertices)
    dec = decimate(v, np.asarray(s.faces), 10475)
    return v[dec.survivors], dec.faces


@pytest.fixture(scope="module")
def body_hierarchy(body_sized):
    return build_hierarchy(*body_sized)


@pytest.fixture(scope="module")
def sphere_hierarchy(sphere):
    return build_hierarchy(*sphere)


@pytest.fixture(scope="module")
def capsule_hierarchy(capsule):
    return build_hierarchy(*capsule, levels=3)


@pytest.fixture(scope="module")
def open_cup_hierarchy(open_cup):
    return build_hierarchy(*open_cup, levels=3)


class _Built(dict):
    """name -> ``<name>_hierarchy``, each built on first use (the body-sized one takes
    seconds: only the slow tests build it)."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def __missing__(self, name):
        self[name] = self.request.getfixturevalue(f"{name}_hierarchy")
        return self[name]


@pytest.fixture(scope="module")
def hierarchies(request):
    return _Built(request)


NAMES = ["sphere", "capsule", "open_cup", pytest.param("body", marks=pytest.mark.slow)]


# ------------------------------------------------------------------------------ invariants
@pytest.mark.slow
def test_body_sized_counts(body_hierarchy):
    assert body_hierarchy.num_vertices == (10475, 2619, 655, 164, 41)


@pytest.mark.parametrize("name", NAMES)
def test_counts_and_dtypes(hierarchies, name):
    h = hierarchies[name]
    for k in range(h.levels):
        assert len(h.vertices[k + 1]) == math.ceil(len(h.vertices[k]) / 4)
    for k in range(h.levels + 1):
        assert h.vertices[k].dtype == np.float32 and h.faces[k].dtype == np.int64
        assert h.spirals[k].shape == (len(h.vertices[k]), 9)
        assert h.spirals[k].dtype == np.int64
    assert not h.vertices[0].flags.writeable


@pytest.mark.parametrize("name", NAMES)
def test_down_is_one_hot_selection_of_original_positions(hierarchies, name):
    h = hierarchies[name]
    for k in range(1, h.levels + 1):
        d = h.D(k)
        assert d.shape == (len(h.vertices[k]), len(h.vertices[k - 1]))
        assert (np.diff(d.indptr) == 1).all() and (d.data == 1).all()
        np.testing.assert_array_equal(d @ h.vertices[k - 1].astype(np.float64), h.vertices[k])
        assert np.all(np.diff(h.down[k - 1]) > 0)  # survivors keep their order


@pytest.mark.parametrize("name", NAMES)
def test_up_rows_are_barycentric_and_invert_down(hierarchies, name):
    h = hierarchies[name]
    for k in range(1, h.levels + 1):
        u, d = h.U(k), h.D(k)
        assert u.shape == (len(h.vertices[k - 1]), len(h.vertices[k]))
        assert np.diff(u.indptr).max() <= 3 and (u.data >= 0).all()
        np.testing.assert_allclose(np.asarray(u.sum(1)).ravel(), 1.0, atol=1e-6)
        # a surviving vertex maps to itself: (D U) is the identity on the coarse level
        np.testing.assert_allclose((d @ u).toarray(), np.eye(len(h.vertices[k])), atol=1e-6)
        # U D restricted to survivors is the identity
        ud = (u @ d).tocsr()[h.down[k - 1]][:, h.down[k - 1]]
        np.testing.assert_allclose(ud.toarray(), np.eye(len(h.vertices[k])), atol=1e-6)
        # U maps coarse positions back close to fine positions
        fine = h.vertices[k - 1].astype(np.float64)
        err = np.linalg.norm(u @ h.vertices[k].astype(np.float64) - fine, axis=1)
        extent = np.ptp(fine, axis=0).max()
        assert err.mean() < 0.02 * extent * 2 ** (k - 1), (k, err.mean(), extent)


@pytest.mark.parametrize("name", NAMES)
def test_every_level_is_a_connected_manifold(hierarchies, name):
    h = hierarchies[name]
    for k in range(h.levels + 1):
        check_manifold(len(h.vertices[k]), h.faces[k], f"level {k}")


@pytest.mark.parametrize("name", NAMES)
def test_coarse_faces_do_not_fold(hierarchies, name):
    """Coarse faces face the same way as the input surface at their corners."""
    h = hierarchies[name]
    v0 = h.vertices[0].astype(np.float64)
    normals = trimesh.Trimesh(v0, h.faces[0], process=False).vertex_normals
    for k in range(1, h.levels + 1):
        index = level_indices(h, k)  # level-0 index of each level-k vertex
        v, f = h.vertices[k].astype(np.float64), h.faces[k]
        n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
        corner = normals[index[f]].sum(1)
        assert ((n * corner).sum(1) > 0).all(), f"level {k}: folded faces"


def test_decimate_exact_count_and_collapse_record(open_cup):
    v, f = open_cup
    dec = decimate(v, f, 500)
    assert len(dec.survivors) == 500 and len(dec.collapses) == len(v) - 500
    gone = dec.collapses[:, 1]
    assert len(np.unique(gone)) == len(gone)
    np.testing.assert_array_equal(np.setdiff1d(np.arange(len(v)), gone), dec.survivors)
    check_manifold(500, dec.faces, "test")
    again = decimate(v, f, 500)
    np.testing.assert_array_equal(again.faces, dec.faces)


def test_spirals_of_every_level_use_openmesh_order(sphere_hierarchy):
    h = sphere_hierarchy
    for k in range(h.levels + 1):
        np.testing.assert_array_equal(h.spirals[k], extract_spirals(h.vertices[k], h.faces[k]))


def test_closest_triangles_matches_brute_force(sphere):
    v, f = sphere
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(100, 3)) * 0.7
    pts[:20] = v[f[rng.integers(len(f), size=20)]].mean(1)  # on the surface, inside a face
    pts[20:30] = v[f[:10, :2]].mean(1)  # on edges: two faces are as close
    pts[30:40] = v[f[:10, 0]]  # on corners: the whole fan of faces is as close
    face, w, d2 = closest_triangles(pts, v, f)
    tri = v[f]
    all_closest = trimesh.triangles.closest_point(
        np.tile(tri, (len(pts), 1, 1)), np.repeat(pts, len(f), 0)).reshape(len(pts), len(f), 3)
    all_d2 = ((all_closest - pts[:, None]) ** 2).sum(-1)
    np.testing.assert_allclose(d2, all_d2.min(1), rtol=1e-9, atol=1e-15)
    closest = np.einsum("pk,pkc->pc", w, tri[face])
    np.testing.assert_allclose(((closest - pts) ** 2).sum(1), d2, rtol=1e-9, atol=1e-15)
    assert (w >= 0).all() and np.allclose(w.sum(1), 1)
    # ties: the lowest-index face that holds the closest point
    tied = np.abs(all_d2 - d2[:, None]) <= 1e-12 + 1e-9 * d2[:, None]
    np.testing.assert_array_equal(face, np.argmax(tied, axis=1))
    assert (tied.sum(1)[20:30] == 2).all() and (tied.sum(1)[30:40] >= 4).all()


def test_closest_triangles_on_a_degenerate_face():
    """A zero-area face (libigl's barycentric coordinates are NaN there) gets the weights of
    the closest point on its nearest edge."""
    v = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [0, -1, 0]])
    f = np.array([[0, 1, 2], [0, 3, 1]])  # face 0 is a segment
    pts = np.array([[1.5, 0.2, 0.3], [2.5, 0.0, 0.0]])
    face, w, d2 = closest_triangles(pts, v, f)
    np.testing.assert_array_equal(face, [0, 0])
    np.testing.assert_allclose(w, [[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(d2, [0.13, 0.25])


def test_edge_twins_pair_reverse_edges():
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    edges = corner_edges(faces)
    twin = edge_twins(edges)
    np.testing.assert_array_equal(twin, [-1, -1, 3, 2, -1, -1])  # 2 -> 0 and 0 -> 2
    np.testing.assert_array_equal(edges[twin[2]], edges[2][::-1])
    assert len(edge_twins(np.zeros((0, 2), dtype=np.int64))) == 0


def test_closed_manifold_check():
    tetra = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    check_manifold(4, tetra, "tetra", closed=True)
    check_manifold(4, tetra[:3], "open")
    with pytest.raises(HierarchyError, match="cup: 3 boundary half-edges .the mesh is not closed"):
        check_manifold(4, tetra[:3], "cup", closed=True)
    with pytest.raises(ValueError, match=r"x: face indices must lie in \[0, 3\)"):
        check_manifold(3, tetra, "x", error=ValueError)


# ------------------------------------------------------------------------------ fingerprint
def test_deterministic_fingerprint(sphere, sphere_hierarchy):
    again = build_hierarchy(*sphere)
    assert again.fingerprint == sphere_hierarchy.fingerprint
    assert len(again.fingerprint) >= 16
    for a, b in zip(again.spirals, sphere_hierarchy.spirals, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fingerprint_changes_with_faces_and_params(sphere_hierarchy):
    h = sphere_hierarchy
    faces0 = h.faces[0].copy()
    faces0[0] = faces0[0][[1, 2, 0]]  # same triangle, another starting corner
    other = MeshHierarchy(
        vertices=h.vertices,
        faces=(faces0, *h.faces[1:]),
        down=h.down,
        up_index=h.up_index,
        up_weight=h.up_weight,
        spirals=h.spirals,
    )
    assert other.fingerprint != h.fingerprint
    spirals = (h.spirals[0][:, [0, 2, 1, 3, 4, 5, 6, 7, 8]], *h.spirals[1:])
    swapped = MeshHierarchy(h.vertices, h.faces, h.down, h.up_index, h.up_weight, spirals)
    assert swapped.fingerprint != h.fingerprint


# ------------------------------------------------------------------------------ broken input
def test_two_components_raise(sphere):
    v, f = sphere
    v2 = np.concatenate([v, v + 5])
    f2 = np.concatenate([f, f + len(v)])
    with pytest.raises(HierarchyError, match=r"level 0: mesh is not connected: 2 separate"):
        build_hierarchy(v2, f2)


def test_non_manifold_edge_raises(sphere):
    v, f = sphere
    a, b, _ = f[0]
    v2 = np.concatenate([v, [[3.0, 3.0, 3.0]]])
    f2 = np.concatenate([f, [[a, b, len(v)]]])  # a third face on edge (a, b)
    with pytest.raises(HierarchyError, match="level 0: non-manifold mesh: 1 edges have more"):
        build_hierarchy(v2, f2)


def test_flipped_face_raises(sphere):
    v, f = sphere
    f2 = f.copy()
    f2[5] = f2[5][::-1]
    with pytest.raises(HierarchyError, match="level 0: inconsistent face orientation"):
        build_hierarchy(v, f2)


def test_bowtie_vertex_raises():
    v = np.random.default_rng(2).normal(size=(5, 3))
    f = np.array([[0, 1, 2], [0, 3, 4]])
    with pytest.raises(
        HierarchyError, match="level 0: non-manifold mesh: 1 vertices join separate"
    ):
        build_hierarchy(v, f)
    with pytest.raises(HierarchyError, match="level 2: non-manifold"):
        check_manifold(5, f, "level 2")


def test_unused_vertex_raises(sphere):
    v, f = sphere
    with pytest.raises(HierarchyError, match="belong to no face"):
        build_hierarchy(np.concatenate([v, [[9.0, 9.0, 9.0]]]), f)


def test_too_many_levels_name_the_level():
    s = trimesh.creation.icosphere(3)  # 642 -> 161 -> 41 -> 11 -> 3: no closed mesh has 3
    with pytest.raises(HierarchyError, match="level 4"):
        build_hierarchy(s.vertices, s.faces, levels=4)


# ------------------------------------------------------------------------------ disk
def test_save_load_roundtrip(tmp_path, sphere_hierarchy):
    path = save_hierarchy(sphere_hierarchy, tmp_path / "h.npz")
    h = load_hierarchy(path)
    assert h.fingerprint == sphere_hierarchy.fingerprint
    for k in range(h.levels + 1):
        np.testing.assert_array_equal(h.vertices[k], sphere_hierarchy.vertices[k])
        np.testing.assert_array_equal(h.spirals[k], sphere_hierarchy.spirals[k])
    assert not list(tmp_path.glob(".*.tmp"))


def _rewrite(src, dst, **changes):
    with np.load(src, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(changes)
    np.savez(dst, **data)
    return dst


def test_load_detects_tampering(tmp_path, sphere_hierarchy):
    good = save_hierarchy(sphere_hierarchy, tmp_path / "good.npz")
    with np.load(good) as z:
        spirals = z["spirals_2"].copy()
        weights = z["up_weight_1"].copy()
        down = z["down_0"].copy()
    spirals[3, 4], spirals[3, 5] = spirals[3, 5], spirals[3, 4]
    bad = _rewrite(good, tmp_path / "a.npz", spirals_2=spirals)
    with pytest.raises(HierarchyError, match=r"a\.npz: field 'fingerprint'"):
        load_hierarchy(bad)
    weights[0] = [0.5, 0.2, 0.1]
    bad = _rewrite(good, tmp_path / "b.npz", up_weight_1=weights)
    with pytest.raises(HierarchyError, match=r"b\.npz.*'up_weight_1'.*sum to 1"):
        load_hierarchy(bad)
    bad = _rewrite(good, tmp_path / "c.npz", down_0=down[:-1])
    with pytest.raises(HierarchyError, match=r"c\.npz.*'down_0'.*expected shape"):
        load_hierarchy(bad)
    down[0] = 10**6
    bad = _rewrite(good, tmp_path / "d.npz", down_0=down)
    with pytest.raises(HierarchyError, match=r"d\.npz.*'down_0'.*indices"):
        load_hierarchy(bad)
    with np.load(good) as z:
        data = {k: z[k] for k in z.files if k != "faces_1"}
    np.savez(tmp_path / "e.npz", **data)
    with pytest.raises(HierarchyError, match=r"e\.npz: field 'faces_1' is missing"):
        load_hierarchy(tmp_path / "e.npz")
    with pytest.raises(HierarchyError, match="not found"):
        load_hierarchy(tmp_path / "nope.npz")


# ------------------------------------------------------------------------------ mesh_ds
def test_mesh_ds_roundtrip(tmp_path, sphere_hierarchy):
    folder = write_mesh_ds(sphere_hierarchy, tmp_path / "mesh_ds")
    names = {p.name for p in folder.iterdir()}
    assert {"mesh_0.obj", "mesh_4.obj", "D_3.npz", "D_4.npz", "U_1.npz", "A_2.npz"} <= names
    h = read_mesh_ds(folder)
    assert h.fingerprint == sphere_hierarchy.fingerprint
    for k in range(h.levels + 1):
        np.testing.assert_array_equal(h.vertices[k], sphere_hierarchy.vertices[k])
        np.testing.assert_array_equal(h.faces[k], sphere_hierarchy.faces[k])
        np.testing.assert_array_equal(h.spirals[k], sphere_hierarchy.spirals[k])
    for k in range(1, h.levels + 1):
        np.testing.assert_array_equal(h.down[k - 1], sphere_hierarchy.down[k - 1])
        np.testing.assert_allclose(h.U(k).toarray(), sphere_hierarchy.U(k).toarray(), atol=1e-7)


@pytest.fixture()
def mesh_ds_folder(tmp_path, sphere):
    s = trimesh.creation.icosphere(3)
    h = build_hierarchy(bumpy(s.vertices), s.faces, levels=2)
    return write_mesh_ds(h, tmp_path / "ds"), h


def test_mesh_ds_missing_file(mesh_ds_folder):
    folder, _ = mesh_ds_folder
    (folder / "U_2.npz").unlink()
    with pytest.raises(HierarchyError, match=r"U_2\.npz: file is missing"):
        read_mesh_ds(folder, levels=2)
    with pytest.raises(HierarchyError, match=r"mesh_3\.obj: file is missing"):
        read_mesh_ds(folder, levels=3)


def test_mesh_ds_bad_down(mesh_ds_folder):
    folder, h = mesh_ds_folder
    d = h.D(1).tolil()
    d[0, 5] = 1.0
    sp.save_npz(folder / "D_1.npz", d.tocsr())
    with pytest.raises(HierarchyError, match=r"D_1\.npz: D must have exactly one entry per row"):
        read_mesh_ds(folder, levels=2)
    sp.save_npz(folder / "D_1.npz", h.D(1)[:-1])
    with pytest.raises(HierarchyError, match=r"D_1\.npz: expected shape"):
        read_mesh_ds(folder, levels=2)


def test_mesh_ds_bad_up(mesh_ds_folder):
    folder, h = mesh_ds_folder
    u = h.U(2).tolil()
    u[3, :] = 0
    u[3, 0] = 0.5
    sp.save_npz(folder / "U_2.npz", u.tocsr())
    with pytest.raises(HierarchyError, match=r"U_2\.npz: U rows must sum to 1"):
        read_mesh_ds(folder, levels=2)
    u = h.U(2).tolil()
    u[4, :4] = 0.25
    sp.save_npz(folder / "U_2.npz", u.tocsr())
    with pytest.raises(HierarchyError, match=r"U_2\.npz: U must have 1 to 3 entries"):
        read_mesh_ds(folder, levels=2)


# ------------------------------------------------------------------------------ stand-in
def test_standin_hierarchy_asset():
    from posa_model.assets import standin_hierarchy

    h = standin_hierarchy()
    assert h.num_vertices == (10475, 2619, 655, 164, 41)
    assert standin_hierarchy() is h
    assert h.seq_length == 9 and h.dilation == 1
    for k in range(h.levels + 1):
        check_manifold(len(h.vertices[k]), h.faces[k], f"level {k}")


def test_standin_hierarchy_is_current():
    """The shipped asset was built from the current stand-in body file."""
    assert stored_source_key(STANDIN_HIERARCHY_PATH) == body_source_key(STANDIN_BODY_PATH), (
        "the stand-in body changed: rebuild with `python tools/make_standin.py hierarchy`"
    )


def test_upsampling_gives_the_shipped_operators():
    """libigl's closest points give the stand-in's U exactly: the same weights on the same
    coarse vertices for every fine vertex (rows may list another coarse vertex with weight 0
    where the closest point lies on an edge)."""
    h = load_hierarchy(STANDIN_HIERARCHY_PATH)
    for k in range(h.levels):
        index, weight = upsampling(h.vertices[k], h.vertices[k + 1], h.faces[k + 1], h.down[k])
        rows = np.repeat(np.arange(len(index)), 3)
        u = sp.csr_matrix((weight.ravel().astype(np.float64), (rows, index.ravel())),
                          shape=h.U(k + 1).shape)
        assert abs(u - h.U(k + 1)).max() <= 1e-6, k
        same = (index == h.up_index[k]).all(1)
        np.testing.assert_array_equal(weight[same], h.up_weight[k][same])
        assert (weight[~same] == 0).any(1).all(), k  # differ only in a zero-weight slot


@pytest.mark.slow
def test_rebuilding_the_standin_hierarchy_gives_the_shipped_file(tmp_path, capsys):
    from tools.make_standin import main

    assert main(["hierarchy", "--out", str(tmp_path / "h.npz")]) == 0
    assert load_hierarchy(STANDIN_HIERARCHY_PATH).fingerprint[:16] in capsys.readouterr().out
    assert (tmp_path / "h.npz").read_bytes() == STANDIN_HIERARCHY_PATH.read_bytes()


def test_build_standin_hierarchy_from_body_file(tmp_path, sphere):
    body = tmp_path / "SMPLX_NEUTRAL.npz"
    v, f = sphere
    np.savez(body, v_template=v.astype(np.float32), f=f.astype(np.uint32))
    counts = (2562, 641, 161, 41, 11)
    h = build_standin_hierarchy(body, tmp_path / "out.npz", expected_counts=counts)
    assert load_hierarchy(tmp_path / "out.npz").fingerprint == h.fingerprint
    assert stored_source_key(tmp_path / "out.npz") == body_source_key(body)
    with pytest.raises(HierarchyError, match="vertex counts"):
        build_standin_hierarchy(body, tmp_path / "bad.npz",
                                expected_counts=(10475, 2619, 655, 164, 41))
    assert not (tmp_path / "bad.npz").exists()
