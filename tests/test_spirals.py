"""OpenMesh circulator order and SpiralNet++ spirals, compared EXACTLY with real-openmesh fixtures.

The fixtures in tests/fixtures/spirals/ were written by tools/make_spiral_fixtures.py with the
real ``openmesh`` (``TriMesh(vertices, faces)``, ``mesh.vv``) and sklearn's ``KDTree``; see
tests/fixtures/spirals/manifest.json for what each case covers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posa_model.errors import InputShapeError
from posa_model.mesh.halfedge import HalfedgeMesh, vertex_vertex_orders
from posa_model.mesh.spirals import extract_spirals, nearest_vertices

FIXTURES = Path(__file__).parent / "fixtures" / "spirals"
CASES = sorted(p.stem for p in FIXTURES.glob("*.npz"))


def load(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def openmesh_vv(case: dict[str, np.ndarray]) -> list[list[int]]:
    flat, off = case["vv_flat"], case["vv_offsets"]
    return [flat[off[i] : off[i + 1]].tolist() for i in range(len(off) - 1)]


def test_fixtures_present_and_small():
    assert len(CASES) >= 10
    total = sum(p.stat().st_size for p in FIXTURES.iterdir())
    assert total < 1_000_000


@pytest.mark.parametrize("name", CASES)
def test_vertex_vertex_order_matches_openmesh(name):
    case = load(name)
    mesh = HalfedgeMesh(len(case["vertices"]), case["faces"])
    assert len(mesh.accepted_faces) == int(case["n_faces_openmesh"])
    ours = mesh.all_vertex_vertex_orders()
    expected = openmesh_vv(case)
    mismatched = [v for v, (a, b) in enumerate(zip(ours, expected, strict=True)) if a != b]
    assert not mismatched, f"{name}: vv order differs at vertices {mismatched[:10]}"


@pytest.mark.parametrize("name", CASES)
def test_spirals_match_reference(name):
    case = load(name)
    for p, (seq_length, dilation) in enumerate(case["params"].tolist()):
        ours = extract_spirals(case["vertices"], case["faces"], seq_length, dilation)
        expected = case[f"spirals_{p}"]
        assert ours.dtype == np.int64 and ours.shape == expected.shape
        bad = np.flatnonzero((ours != expected).any(1))
        assert not len(bad), (
            f"{name} seq={seq_length} dil={dilation}: rows {bad[:10].tolist()} differ, "
            f"first: ours {ours[bad[0]].tolist()} expected {expected[bad[0]].tolist()}"
        )


def test_fixtures_cover_the_hard_cases():
    """The fixture set exercises every branch that decides the order."""
    relinks, rejected, fallback_rows, boundary, dilated = 0, 0, 0, 0, 0
    for name in CASES:
        case = load(name)
        mesh = HalfedgeMesh(len(case["vertices"]), case["faces"])
        relinks += mesh.relinked_patches
        rejected += len(mesh.rejected_faces)
        boundary += sum(mesh.halfedge_face[h] < 0 for h in mesh.vertex_halfedge if h >= 0)
        for p, (_, dilation) in enumerate(case["params"].tolist()):
            fallback_rows += int(case[f"fallback_{p}"].sum())
            dilated += dilation > 1
    assert relinks >= 10  # add_face re-linked boundary patches
    assert rejected >= 1  # OpenMesh refused a complex edge / failed re-link
    assert fallback_rows >= 10  # KD-tree fallback
    assert boundary >= 10  # open meshes: boundary vertices start at a boundary halfedge
    assert dilated >= 1
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    assert set(manifest["cases"]) == set(CASES)


def test_vertex_vertex_orders_helper_and_isolated_vertex():
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    orders = vertex_vertex_orders(5, faces)
    assert orders[4] == []
    assert sorted(orders[0]) == [1, 2, 3]
    assert orders == HalfedgeMesh(5, faces).all_vertex_vertex_orders()


def test_spiral_rows_start_with_vertex_and_have_no_repeats_on_closed_mesh():
    case = load("icosphere2_shuffled")
    spirals = extract_spirals(case["vertices"], case["faces"])
    assert spirals.shape == (len(case["vertices"]), 9)
    np.testing.assert_array_equal(spirals[:, 0], np.arange(len(spirals)))
    assert all(len(set(row)) == 9 for row in spirals.tolist())


def test_knn_fallback_orders_exact_ties_by_index():
    # vertex 0 at the centre of a square: its 4 neighbours are exactly tied
    pts = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [-1, 0, 0], [3, 3, 3]], float)
    np.testing.assert_array_equal(nearest_vertices(pts, np.array([0]), 5), [[0, 1, 2, 3, 4]])


def test_fallback_needs_enough_vertices():
    v = np.random.default_rng(0).normal(size=(4, 3))
    f = np.array([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    with pytest.raises(InputShapeError, match="nearest vertices"):
        extract_spirals(v, f, seq_length=9)


@pytest.mark.parametrize(
    "vertices, faces, match",
    [
        (np.zeros((3, 2)), np.array([[0, 1, 2]]), "vertices"),
        (np.zeros((3, 3)), np.array([[0, 1, 1]]), "repeat a vertex"),
        (np.zeros((3, 3)), np.array([[0, 1, 3]]), "faces"),
        (np.zeros((3, 3)), np.array([[0.0, 1.0, 2.0]]), "integer"),
    ],
)
def test_bad_input_is_rejected(vertices, faces, match):
    with pytest.raises(InputShapeError, match=match):
        extract_spirals(vertices, faces)


@pytest.mark.parametrize("level", [2, 3, 4])
def test_shipped_standin_spirals_match_openmesh(level):
    """The spirals stored in the shipped stand-in hierarchy are OpenMesh's (levels 2-4 are the
    ones the network uses)."""
    from posa_model.assets import STANDIN_HIERARCHY_PATH
    from posa_model.mesh.hierarchy import load_hierarchy

    case = load(f"standin_level{level}")
    h = load_hierarchy(STANDIN_HIERARCHY_PATH)
    assert np.array_equal(h.faces[level], case["faces"]), (
        "the stand-in asset was rebuilt; regenerate this fixture")
    np.testing.assert_array_equal(h.spirals[level], case["spirals_0"])
