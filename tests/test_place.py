"""Placement (posa_model.place): bodies on small hand-made rooms with the shipped checkpoint.

Rooms are boxes with exact SDF grids (posa_model.synth); body-body overlaps are checked with
libigl on the meshes themselves, independently of the placement's own body grids.
"""

from __future__ import annotations

from dataclasses import replace

import igl
import numpy as np
import pytest
import torch

from posa_model.body import load_body_model, pose_body
from posa_model.classes import CLASS_ID
from posa_model.errors import PosaError
from posa_model.place import BodyRequest, PlacementConfig, place_bodies, refine_placement
from posa_model.placement.candidates import top_surfaces
from posa_model.placement.metrics import body_metrics, summarize
from posa_model.placement.types import yaw_matrix
from posa_model.sample import load_sampler
from posa_model.scene.grid import SceneGrid
from posa_model.synth import compute_sdf_grid
from posa_model.synth.primitives import Boxes

#: The stand-in's ``sit`` preset has 0.37 m from its soles to its buttocks: a chair that fits it.
SEAT_TOP = 0.37
#: A small, fast configuration (the defaults search more).
FAST = PlacementConfig(seed=0, device="cpu", maps=4, max_surface_points=64,
                       schedule=((3, 64), (2, 16)), top_k=4,
                       refine_schedule=((3, 15), (2, 5)), rounds=2)


def _boxes(rows) -> Boxes:
    """Boxes from (lo (3,), hi (3,), class name) rows, axis-aligned."""
    lo = np.array([r[0] for r in rows], float)
    hi = np.array([r[1] for r in rows], float)
    return Boxes((lo + hi) / 2, (hi - lo) / 2, np.zeros(len(rows)),
                 np.array([CLASS_ID[r[2]] for r in rows]), np.arange(len(rows)))


def _floor(half: float = 1.2):
    return [((-half, -0.1, -half), (half, 0.0, half), "floor")]


def _chair():
    """A chair facing +z at the origin: seat top at SEAT_TOP, backrest at -z."""
    rows = [((-0.23, SEAT_TOP - 0.06, -0.22), (0.23, SEAT_TOP, 0.22), "chair"),
            ((-0.23, SEAT_TOP, -0.22), (0.23, SEAT_TOP + 0.45, -0.18), "chair")]
    for x in (-0.2, 0.17):
        for z in (-0.2, 0.17):
            rows.append(((x, 0.0, z), (x + 0.03, SEAT_TOP - 0.06, z + 0.03), "chair"))
    return rows


@pytest.fixture(scope="module")
def sampler():
    torch.manual_seed(0)
    return load_sampler(device="cpu")


@pytest.fixture(scope="module")
def poses():
    model = load_body_model(None)
    return {name: pose_body(model, name).vertices[0] for name in ("sit", "stand")}


@pytest.fixture(scope="module")
def chair_room():
    return compute_sdf_grid(_boxes(_floor() + _chair()), 0.05)


@pytest.fixture(scope="module")
def floor_room():
    return compute_sdf_grid(_boxes(_floor(0.9)), 0.05)


def _exact_sdf(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Signed distance to a mesh with libigl: exact distance, sign from the exact winding number
    (robust where a posed body intersects itself)."""
    points, vertices = points.astype(np.float64), vertices.astype(np.float64)
    dist = igl.signed_distance(points, vertices, faces,
                               sign_type=igl.SIGNED_DISTANCE_TYPE_UNSIGNED)[0]
    inside = igl.winding_number(vertices, faces, points) > 0.5
    return np.where(inside, -np.abs(dist), np.abs(dist))


def _igl_depth(a: np.ndarray, b: np.ndarray, faces: np.ndarray) -> float:
    """Deepest vertex of mesh a inside mesh b or of b inside a (metres), libigl exact."""
    return max(0.0, float(-_exact_sdf(a, b, faces).min()), float(-_exact_sdf(b, a, faces).min()))


@pytest.mark.slow
def test_one_body_sits_on_the_lone_chair(chair_room, sampler, poses):
    # The body arrives far away and turned: the placement must move and turn it.
    start = poses["sit"] @ yaw_matrix(2.0).T + np.array([3.0, 1.0, -2.0])
    result = place_bodies(chair_room, [BodyRequest(start, "sitter")], sampler, FAST,
                          progress=False)
    body = result.bodies[0]
    assert body.placed, body.reason
    v = body.vertices
    np.testing.assert_allclose(v, start @ yaw_matrix(body.yaw).T + body.translation, atol=1e-4)
    np.testing.assert_allclose(body.transform[:3, :3], yaw_matrix(body.yaw), atol=1e-12)
    # The buttocks: the vertices the map puts on a chair, over the seat. The lowest rests on the
    # seat top (the map does not say which way the body faces: thighs may overhang an edge).
    on_chair = v[(body.semantics == CLASS_ID["chair"]) & (body.contact > 0.5)]
    buttocks = on_chair[(np.abs(on_chair[:, 0]) < 0.22) & (np.abs(on_chair[:, 2]) < 0.21)]
    assert len(buttocks) > 50
    assert SEAT_TOP - 0.01 <= buttocks[:, 1].min() <= SEAT_TOP + 0.04, buttocks[:, 1].min()
    assert -0.01 <= v[:, 1].min() <= 0.05  # feet on the floor
    assert body.metrics["non_collision"] >= 0.98
    assert body.metrics["touched_classes"].get("chair", 0) > 0
    assert body.metrics["semantic_match"] >= 0.9


@pytest.mark.slow
def test_two_bodies_never_overlap(floor_room, sampler, poses):
    faces = np.asarray(sampler.hierarchy.faces[0])
    requests = [BodyRequest(poses["stand"], f"s{k}") for k in range(3)]
    result = place_bodies(floor_room, requests, sampler, FAST, progress=False)
    placed = [b for b in result.bodies if b.placed]
    assert len(placed) >= 2
    for i in range(len(placed)):
        for j in range(i + 1, len(placed)):
            assert _igl_depth(placed[i].vertices, placed[j].vertices, faces) <= 0.01
    assert result.metrics["body_penetration_max"] <= 0.01


@pytest.mark.slow
def test_same_seed_same_result(chair_room, sampler, poses):
    requests = [BodyRequest(poses["sit"], "a"), BodyRequest(poses["stand"], "b")]
    one = place_bodies(chair_room, requests, sampler, FAST, progress=False)
    two = place_bodies(chair_room, requests, sampler, FAST, progress=False)
    for a, b in zip(one.bodies, two.bodies, strict=True):
        assert a.placed == b.placed and a.map_index == b.map_index
        np.testing.assert_array_equal(a.transform, b.transform)
        np.testing.assert_array_equal(a.vertices, b.vertices)


def test_drop_and_refine_stays_in_the_region(floor_room, sampler, poses):
    centre, radius = np.array([0.3, 0.0, -0.2]), 0.15
    body = refine_placement(floor_room, BodyRequest(poses["stand"], "dropped", (centre, radius)),
                            sampler, FAST)
    assert body.placed, body.reason
    centroid = body.vertices.mean(axis=0)
    assert np.hypot(*(centroid - centre)[[0, 2]]) <= radius + 1e-3
    assert body.metrics["non_collision"] >= 0.98


@pytest.mark.slow
def test_obstacles_are_respected(chair_room, sampler, poses):
    first = place_bodies(chair_room, [BodyRequest(poses["sit"], "first")], sampler, FAST,
                         progress=False).bodies[0]
    assert first.placed, first.reason
    second = place_bodies(chair_room, [BodyRequest(poses["sit"], "second")], sampler, FAST,
                          obstacles=[first.vertices], progress=False).bodies[0]
    if second.placed:  # the only chair is taken: it must be elsewhere, not inside the first
        faces = np.asarray(sampler.hierarchy.faces[0])
        assert _igl_depth(first.vertices, second.vertices, faces) <= 0.01
        assert second.metrics["body_penetration"] <= 0.01
    else:
        assert second.reason


def test_metrics_on_a_hand_made_case(floor_room):
    scene = floor_room.to_torch()
    # 10 vertices: 4 contact vertices 1 cm above the floor (2 say floor, 2 say chair), one
    # contact vertex 10 cm up, one vertex 2 cm inside the floor, 4 free vertices 1 m up.
    v = np.array([[0.0, 0.01, 0.0], [0.1, 0.01, 0.0], [0.2, 0.01, 0.0], [0.3, 0.01, 0.0],
                  [0.0, 0.10, 0.3], [0.0, -0.02, 0.5]] + [[0.0, 1.0, 0.1 * k] for k in range(4)])
    contact = np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0, 0, 0, 0])
    semantics = np.array([2, 2, 3, 3, 2, 0, 0, 0, 0, 0])
    m = body_metrics(scene, v, contact, semantics, touch_distance=0.02)
    assert m["non_collision"] == pytest.approx(0.9)
    assert m["reference_contact"] == 1.0 and m["touch"] == 1.0
    assert m["semantic_match"] == pytest.approx(0.5)  # 2 of the 4 touching ones say floor
    assert m["touched_classes"] == {"floor": 4}
    assert m["scene_penetration"] == pytest.approx(0.02, abs=1e-3)
    lifted = body_metrics(scene, v + [0, 0.5, 0], contact, semantics)
    assert lifted["reference_contact"] == 0.0 and lifted["touch"] == 0.0
    assert lifted["semantic_match"] == 0.0 and lifted["non_collision"] == 1.0
    overall = summarize([m, lifted], [True, False])
    assert overall["placed"] == 1 and overall["non_collision"] == pytest.approx(0.9)


def test_top_surfaces_find_the_seat_and_the_floor(chair_room):
    s = top_surfaces(chair_room, 0.1)
    seat = s.points[s.classes == CLASS_ID["chair"]]
    floor = s.points[s.classes == CLASS_ID["floor"]]
    assert len(seat) and len(floor)
    np.testing.assert_allclose(floor[:, 1], 0.0, atol=1e-5)
    on_seat = seat[np.abs(seat[:, 2]) < 0.15]  # not the backrest's top
    np.testing.assert_allclose(on_seat[:, 1], SEAT_TOP, atol=1e-5)


def test_body_penetration_matches_libigl(sampler, poses):
    """The mesh-based depth of points inside a body is libigl's exact signed distance."""
    from posa_model.placement.bodies import penetration_depth

    faces = np.asarray(sampler.hierarchy.faces[0])
    body = poses["sit"].astype(np.float64)
    rng = np.random.default_rng(0)
    pts = body[rng.choice(len(body), 300)] + rng.normal(scale=0.03, size=(300, 3))
    exact = _exact_sdf(pts, body, faces)
    assert (exact < -0.005).any()
    assert penetration_depth(pts, body, faces) == pytest.approx(-exact.min(), abs=1e-6)
    outside = pts[exact > 0.001]
    assert penetration_depth(outside, body, faces) == 0.0


def test_body_mesh_matches_the_plain_penetration_depth(sampler, poses):
    """BodyMesh (query structures built once) gives penetration_depth's figures, and the point
    it names deepest is the deepest point inside; the structures stay right on a second ask."""
    from posa_model.placement.bodies import BodyMesh, penetration_depth

    faces = np.asarray(sampler.hierarchy.faces[0])
    body = poses["sit"].astype(np.float64)
    mesh = BodyMesh(body, faces)
    rng = np.random.default_rng(1)
    for scale in (0.01, 0.03, 0.1):
        pts = body[rng.choice(len(body), 500)] + rng.normal(scale=scale, size=(500, 3))
        plain = penetration_depth(pts, body, faces)
        assert plain > 0.0
        assert mesh.depth_of(pts) == pytest.approx(plain, abs=1e-12)
        exact = _exact_sdf(pts, body, faces)
        np.testing.assert_allclose(mesh.deepest_point(pts), pts[np.argmin(exact)], atol=1e-12)
    far = body + [5.0, 0.0, 0.0]
    assert mesh.depth_of(far) == 0.0 and mesh.deepest_point(far) is None


def test_free_drop_lowers_a_body_only_as_far_as_its_neighbours_allow():
    """Occupancy.free_drop: the whole drop when nothing is under the body; else the largest
    drop (to 1/64 of it) that presses no deeper than 5 mm (or than it already does)."""
    import trimesh

    from posa_model.placement.select import Occupancy

    cube = trimesh.creation.box((1.0, 1.0, 1.0))
    faces = np.asarray(cube.faces)
    below = np.asarray(cube.vertices) + [0.0, 0.5, 0.0]  # y in [0, 1]
    body = np.asarray(cube.vertices) * [0.5, 1.0, 0.5] + [0.0, 1.53, 0.0]  # 3 cm above it
    occupancy = Occupancy(faces)
    occupancy.add(0, below)
    assert occupancy.free_drop(1, body, 0.02) == 0.02  # 1 cm above it afterwards
    drop = occupancy.free_drop(1, body, 0.05)  # the whole drop would press 2 cm in
    assert 0.035 - 0.05 / 64 <= drop <= 0.035 + 1e-9
    assert occupancy.depth(1, body - [0.0, drop, 0.0]) <= 0.005 + 1e-9
    sunk = body - [0.0, 0.04, 0.0]  # 1 cm in already: may not go deeper
    assert occupancy.free_drop(1, sunk, 0.02) <= 0.02 / 64
    assert occupancy.free_drop(1, body + [5.0, 0.0, 0.0], 0.05) == 0.05
    assert occupancy.free_drop(1, body, 0.0) == 0.0


def test_bad_scenes_give_clear_errors(sampler, poses, chair_room):
    request = [BodyRequest(poses["stand"], "b")]
    shape = (8, 8, 8)
    empty = SceneGrid(np.ones(shape, np.float32), np.zeros(shape, np.uint8), np.zeros(3),
                      np.ones(3), np.array([[0, 0, 0], [1, 1, 1.0]]))
    with pytest.raises(PosaError, match="empty"):
        place_bodies(empty, request, sampler, FAST, progress=False)
    unlabelled = SceneGrid(chair_room.sdf, np.zeros_like(chair_room.semantics),
                           chair_room.grid_min, chair_room.grid_max, chair_room.bbox)
    with pytest.raises(PosaError, match="no labelled object"):
        place_bodies(unlabelled, request, sampler, FAST, progress=False)
    no_floor = compute_sdf_grid(_boxes(_chair()), 0.05)
    with pytest.raises(PosaError, match="no floor"):
        place_bodies(no_floor, request, sampler, FAST, progress=False)
    with pytest.raises(PosaError, match="vertices"):
        place_bodies(chair_room, [BodyRequest(poses["stand"][:100], "short")], sampler, FAST)
    with pytest.raises(PosaError, match="maps"):
        replace(FAST, maps=0)


def test_a_body_of_another_mesh_is_refused_by_placement(chair_room, sampler, poses):
    """The one body-mesh check on the placement path: faces in another vertex order (the
    stand-in renumbered) would place garbage maps; refused like the sampler refuses them."""
    from posa_model.nn.mesh_check import BodyMeshMismatch

    faces = sampler.hierarchy.faces[0]
    perm = np.random.default_rng(0).permutation(sampler.num_vertices)
    with pytest.raises(BodyMeshMismatch, match="another vertex order"):
        place_bodies(chair_room, [BodyRequest(poses["stand"], "b")], sampler, FAST,
                     faces=perm[faces], progress=False)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_is_deterministic_and_places_well(chair_room, sampler, poses):
    cuda = replace(FAST, device="cuda")
    request = [BodyRequest(poses["sit"], "a")]
    one = place_bodies(chair_room, request, sampler, cuda, progress=False).bodies[0]
    two = place_bodies(chair_room, request, sampler, cuda, progress=False).bodies[0]
    assert one.placed and one.metrics["non_collision"] >= 0.98
    np.testing.assert_array_equal(one.transform, two.transform)
