"""Scene grids from triangle meshes (posa_model.scene.mesh_sdf) against analytic shapes."""

from __future__ import annotations

import igl
import numpy as np
import pytest
import trimesh

from posa_model.errors import InputShapeError
from posa_model.scene import MeshObject, build_scene_grid, mesh_sdf
from posa_model.scene.mesh_sdf import grid_layout, solidify_sheets
from posa_model.synth import compute_sdf_grid, generate_room
from posa_model.synth.export import object_mesh


def _nodes(grid) -> np.ndarray:
    return np.stack(np.meshgrid(*grid.node_coords(), indexing="ij"), axis=-1)


def _box_sdf(points, half):
    q = np.abs(points) - half
    return np.linalg.norm(np.maximum(q, 0), axis=-1) + np.minimum(q.max(axis=-1), 0)


def _box(extents=(1.0, 0.6, 0.8), name="box", class_id=3, offset=(0, 0, 0)):
    mesh = trimesh.creation.box(extents=extents)
    return MeshObject(name, mesh.vertices + np.asarray(offset), mesh.faces, class_id, "label")


def _winding_signs(grid, objects):
    """The plain reference: the exact winding number of the (closed) meshes at every node."""
    soup = solidify_sheets(objects, grid.bbox.mean(axis=0))
    w = igl.winding_number(soup.vertices, soup.faces, _nodes(grid).reshape(-1, 3))
    w += len(soup.shells)
    return np.where(w > 0.5, -1.0, 1.0).reshape(grid.shape)


def test_box_matches_the_analytic_distance_at_every_node():
    grid = build_scene_grid([_box()], resolution=0.05, padding=0.3)
    exact = _box_sdf(_nodes(grid), np.array([0.5, 0.3, 0.4]))
    np.testing.assert_allclose(grid.sdf, exact, atol=1e-6)
    assert (grid.sdf < 0).sum() > 500  # the inside has nodes
    assert grid.classes_present() == {3}


def test_sphere_matches_the_analytic_distance_and_the_winding_number_sign():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    obj = MeshObject("ball", sphere.vertices, sphere.faces, 8)
    grid = build_scene_grid([obj], resolution=0.04, padding=0.2)
    nodes = _nodes(grid)
    exact = np.linalg.norm(nodes, axis=-1) - 0.5
    assert np.abs(grid.sdf - exact).max() < 2e-3  # the icosphere's facets, not the method
    away = np.abs(exact) > 2e-3
    np.testing.assert_array_equal(np.sign(grid.sdf[away]), np.sign(exact[away]))
    # sign propagation gives the same signs as an exact winding number at every node
    reference = _winding_signs(grid, [obj])
    off = np.abs(grid.sdf) > 1e-9
    np.testing.assert_array_equal(np.sign(grid.sdf[off]), reference[off])


def test_open_box_keeps_its_sign_away_from_the_hole():
    mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    top = mesh.triangles_center[:, 1] > 0.49
    assert top.sum() == 2
    obj = MeshObject("crate", mesh.vertices, mesh.faces[~top], 7)
    grid = build_scene_grid([obj], resolution=0.05, padding=0.4)
    nodes = _nodes(grid)
    exact = _box_sdf(nodes, np.array([0.5, 0.5, 0.5]))
    hole = np.linalg.norm(nodes - [0, 0.5, 0], axis=-1) < 0.75  # within ~a block of the hole
    inside = (exact < -0.02) & ~hole
    outside = (exact > 0.02) & ~hole
    assert inside.sum() > 1000 and outside.sum() > 10000
    assert (grid.sdf[inside] < 0).all()
    assert (grid.sdf[outside] > 0).all()
    # distances are exact wherever the missing face is not the nearest part of the box
    above = (nodes[..., 1] > 0.5) & (np.abs(nodes[..., [0, 2]]) < 0.5).all(axis=-1)
    top_is_nearest = above | ((exact < 0) & (0.5 - nodes[..., 1] <= -exact + 1e-3))
    keep = ~hole & ~top_is_nearest
    np.testing.assert_allclose(np.abs(grid.sdf[keep]), np.abs(exact[keep]), atol=1e-6)


def test_sphere_with_a_hole_keeps_its_sign_away_from_the_hole():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    cap = sphere.triangles_center[:, 1] > 0.4  # a hole of radius 0.3 at the top
    obj = MeshObject("pot", sphere.vertices, sphere.faces[~cap], 14)
    grid = build_scene_grid([obj], resolution=0.04, padding=0.3)
    nodes = _nodes(grid)
    radius = np.linalg.norm(nodes, axis=-1)
    away = nodes[..., 1] < 0.1  # farther than a block below the hole's rim
    assert (grid.sdf[(radius < 0.47) & away] < 0).all()
    assert (grid.sdf[(radius > 0.53) & away] > 0).all()


def test_lone_floor_plane_is_solid_below_and_free_above():
    plane = MeshObject("Floor", np.array([[-2, 0, -2], [2, 0, -2], [2, 0, 2], [-2, 0, 2.0]]),
                       np.array([[0, 2, 1], [0, 3, 2]]), 2)
    grid = build_scene_grid([plane], resolution=0.05, padding=0.3)
    height = np.array([-0.04, -0.02, 0.02, 0.1, 0.25])
    points = np.stack([np.full(5, 0.3), height, np.full(5, -0.7)], axis=1)
    sdf = grid.lookup(points)
    np.testing.assert_allclose(sdf[height > 0], height[height > 0], atol=1e-6)
    assert (sdf[height < 0] < -0.015).all()
    assert grid.lookup_semantics(points).tolist() == [2] * 5


def test_sheet_faces_and_direction_do_not_matter():
    """A floor with flipped normals is still solid below; a wall plane is solid outside."""
    floor = MeshObject("Floor", np.array([[0, 0, 0], [4, 0, 0], [4, 0, 3], [0, 0, 3.0]]),
                       np.array([[0, 1, 2], [0, 2, 3]]), 2)  # normals point down
    wall = MeshObject("Wall", np.array([[0, 0, 0], [4, 0, 0], [4, 2.5, 0], [0, 2.5, 0.0]]),
                      np.array([[0, 2, 1], [0, 3, 2]]), 1)  # normal -z, away from the room
    grid = build_scene_grid([floor, wall], resolution=0.05, padding=0.3)
    probe = np.array([[2, -0.03, 1.5], [2, 0.03, 1.5], [2, 1.0, -0.03], [2, 1.0, 0.03]])
    sdf = grid.lookup(probe)
    assert sdf[0] < 0 < sdf[1] and sdf[2] < 0 < sdf[3]
    assert grid.lookup_semantics(probe).tolist() == [2, 2, 1, 1]
    soup = solidify_sheets([floor, wall], grid.bbox.mean(axis=0), 0.1)
    assert soup.sheets == ["Floor", "Wall"]
    assert igl.winding_number(soup.vertices, soup.faces, np.array([[2.0, -0.05, 1.5]])) > 0.99


def test_classes_come_from_the_nearest_object():
    chair = _box((0.5, 0.5, 0.5), "chair", 3, offset=(-0.6, 0, 0))
    sofa = _box((0.5, 0.5, 0.5), "sofa", 10, offset=(0.6, 0, 0))
    grid = build_scene_grid([chair, sofa], resolution=0.05, padding=0.3)
    nodes = _nodes(grid)
    d_chair = _box_sdf(nodes - [-0.6, 0, 0], 0.25)
    d_sofa = _box_sdf(nodes - [0.6, 0, 0], 0.25)
    clear = np.abs(d_chair - d_sofa) > 1e-6
    expected = np.where(d_chair < d_sofa, 3, 10)
    np.testing.assert_array_equal(grid.semantics[clear], expected[clear])
    np.testing.assert_allclose(grid.sdf, np.minimum(d_chair, d_sofa), atol=1e-6)


@pytest.mark.slow
def test_synthetic_room_matches_its_exact_grid():
    scene = generate_room("roomA", np.random.default_rng(0))
    objects = [MeshObject(o.name, *object_mesh(scene, i), o.class_id, "label")
               for i, o in enumerate(scene.objects)]
    exact = compute_sdf_grid(scene.boxes, resolution=0.05, padding=0.2)
    grid = build_scene_grid(objects, resolution=0.05, padding=0.2, cubic=True, thin_parts=False)
    assert grid.shape == exact.shape
    np.testing.assert_allclose(grid.grid_min, exact.grid_min, atol=1e-9)
    # buried faces (legs in table tops, boxes touching) are no surface: the union's exact SDF
    assert np.abs(grid.sdf - exact.sdf).max() < 1e-5
    far = exact.sdf > 0.01  # away from surfaces where two boxes tie
    assert (grid.semantics[far] == exact.semantics[far]).mean() > 0.999
    # thin parts (shelves, chair backs thinner than the spacing) and the tops of parts thinner
    # than two spacings only ever read more solid, by at most two spacings, within a spacing
    thin = build_scene_grid(objects, resolution=0.05, padding=0.2, cubic=True)
    moved = thin.sdf != grid.sdf
    assert 0 < moved.sum() < 0.01 * moved.size
    assert (thin.sdf[moved] < 0).all() and (thin.sdf <= grid.sdf).all()
    assert (grid.sdf[moved] - thin.sdf[moved]).max() <= 0.1 and np.abs(grid.sdf[moved]).max() < 0.05


def test_band_chunks_and_repeat_give_the_same_grid(monkeypatch):
    objects = [_box(), _box((0.3, 0.3, 0.3), "cushion", 8, offset=(0.5, 0.45, 0))]
    a = build_scene_grid(objects, resolution=0.05)
    b = build_scene_grid(objects, resolution=0.05)
    c = build_scene_grid(objects, resolution=0.05, band=0.3)
    np.testing.assert_array_equal(a.sdf, b.sdf)
    np.testing.assert_array_equal(a.sdf, c.sdf)
    np.testing.assert_array_equal(a.semantics, c.semantics)
    monkeypatch.setattr(mesh_sdf, "_CHUNK_NODES", 3000)  # many slabs of 4 x-layers
    monkeypatch.setattr(mesh_sdf, "_WINDING_CHUNK", 100)
    d = build_scene_grid(objects, resolution=0.05, progress=True)
    np.testing.assert_array_equal(a.sdf, d.sdf)
    np.testing.assert_array_equal(a.semantics, d.semantics)


def test_grid_layout_per_axis_and_cubic():
    bbox = np.array([[0.0, 0.0, 0.0], [4.0, 2.5, 3.0]])
    lo, shape = grid_layout(bbox, 0.05, 0.3, cubic=False)
    assert shape == (93, 63, 73)  # ceil(extent / resolution) + 1 per axis
    np.testing.assert_allclose(lo, [-0.3, -0.3, -0.3])
    _, cube = grid_layout(bbox, 0.05, 0.3, cubic=True)
    assert cube == (93, 93, 93)
    grid = build_scene_grid([_box()], resolution=0.1, padding=0.2, cubic=True)
    assert len(set(grid.shape)) == 1 and "shape" not in grid.header()
    np.testing.assert_allclose(grid.spacing, 0.1)


def test_too_many_nodes_names_a_resolution_that_fits():
    objects = [_box((4.0, 2.5, 3.0))]
    with pytest.raises(InputShapeError, match=r"max_nodes = 100,000.*resolution of ([\d.]+) m"
                       ) as info:
        build_scene_grid(objects, resolution=0.05, max_nodes=100_000)
    fit = float(info.value.args[0].split("resolution of ")[1].split(" m")[0])
    grid = build_scene_grid(objects, resolution=fit, max_nodes=100_000)
    assert np.prod(grid.shape) <= 100_000


def test_bad_inputs_are_refused_with_names():
    with pytest.raises(InputShapeError, match="at least one"):
        build_scene_grid([])
    with pytest.raises(InputShapeError, match=r"objects\[0\].*MeshObject"):
        build_scene_grid([np.zeros((3, 3))])
    with pytest.raises(InputShapeError, match="resolution"):
        build_scene_grid([_box()], resolution=0.0)
    with pytest.raises(InputShapeError, match="'Chair.001'.*finite"):
        MeshObject("Chair.001", np.array([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]]), [[0, 1, 2]])
    with pytest.raises(InputShapeError, match="'Chair.001'.*faces.*0..2.*0..3"):
        MeshObject("Chair.001", np.eye(3), [[0, 1, 3]])
    with pytest.raises(InputShapeError, match="'Chair.001'.*faces.*F >= 1"):
        MeshObject("Chair.001", np.eye(3), np.zeros((0, 3), int))
    with pytest.raises(InputShapeError, match="'Chair.001'.*class_id"):
        MeshObject("Chair.001", np.eye(3), [[0, 1, 2]], class_id=42)


@pytest.mark.slow
def test_double_sided_sheet_and_room_shell():
    """A floor exported double-sided is still solid below; a room made of one box with
    outward normals is free inside, and the chair in it stays solid."""
    quad = np.array([[-2, 0, -2], [2, 0, -2], [2, 0, 2], [-2, 0, 2.0]])
    up_faces = np.array([[0, 2, 1], [0, 3, 2]])
    floor = MeshObject("Floor", quad, np.concatenate([up_faces, up_faces[:, ::-1]]), 2)
    grid = build_scene_grid([floor], resolution=0.05)
    below, above = grid.lookup(np.array([[0.1, -0.03, 0.2], [0.1, 0.03, 0.2]]))
    assert below < 0 < above
    room = trimesh.creation.box(extents=(4.0, 2.6, 3.0))
    shell = MeshObject("Room", room.vertices + [0, 1.3, 0], room.faces, 1)  # normals out
    chair = _box((0.5, 0.8, 0.5), "Chair", 3, offset=(0.5, 0.4, 0.3))
    grid = build_scene_grid([shell, chair], resolution=0.05)
    probe = np.array([[-1.0, 1.2, -0.5], [0.5, 0.4, 0.3], [-1.99, 1.0, 0.0]])
    free, in_chair, near_wall = grid.lookup(probe)
    assert free == pytest.approx(1.0, abs=1e-6)  # 1 m from the wall at x = -2
    assert in_chair < -0.2 and 0 < near_wall < 0.02
    assert grid.lookup(np.array([[-2.03, 1.0, 0.0]]))[0] < 0  # beyond the wall: solid
    assert grid.lookup_semantics(probe).tolist() == [1, 3, 1]
    # the exact winding number at every node agrees with the propagated signs
    reference = _winding_signs(grid, [shell, chair])
    off = np.abs(grid.sdf) > 1e-9
    np.testing.assert_array_equal(np.sign(grid.sdf[off]), reference[off])
    # a shell modelled facing in is found as well and gives the same grid
    turned = MeshObject("Room", shell.vertices, shell.faces[:, ::-1], 1)
    np.testing.assert_array_equal(build_scene_grid([turned, chair], resolution=0.05).sdf,
                                  grid.sdf)


def test_a_sofa_frame_around_its_cushion_is_no_room_shell():
    profile = np.array([[0, 0], [0.9, 0], [0.9, 0.45], [0.2, 0.45], [0.2, 0.9], [0, 0.9]])  # z, y
    ring = [np.column_stack([np.full(6, x), profile[:, 1], profile[:, 0]]) for x in (0.0, 2.0)]
    cap = np.array([[3, 4, 5], [3, 5, 0], [3, 0, 1], [3, 1, 2]])
    sides = [[i, (i + 1) % 6, 6 + (i + 1) % 6] for i in range(6)]
    sides += [[i, 6 + (i + 1) % 6, 6 + i] for i in range(6)]
    mesh = trimesh.Trimesh(np.concatenate(ring), np.concatenate([cap, cap + 6, sides]))
    mesh.fix_normals()
    assert mesh.is_watertight and mesh.volume > 0
    frame = MeshObject("Sofa", mesh.vertices, mesh.faces, 10)
    cushion = _box((1.6, 0.15, 0.5), "Cushion", 8, offset=(1.0, 0.525, 0.55))
    grid = build_scene_grid([frame, cushion], resolution=0.05)
    in_frame, in_cushion, air = grid.lookup(np.array([[1.0, 0.2, 0.5], [1.0, 0.52, 0.55],
                                                      [1.0, 0.8, 0.6]]))
    assert in_frame < 0 and in_cushion < 0 and air > 0.05
    assert solidify_sheets([frame, cushion], grid.bbox.mean(axis=0)).shells == []


def test_splitting_long_triangles_keeps_the_surface():
    box = trimesh.creation.box(extents=(4.0, 0.5, 3.0))
    soup = mesh_sdf.TriangleSoup(box.vertices, box.faces, np.arange(12) % 2, [], [])
    split = mesh_sdf._split_long_faces(soup, max_edge=0.6)
    tri = split.vertices[split.faces]
    assert np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max() <= 0.6
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert area.sum() == pytest.approx(box.area)
    assert area[split.face_object == 0].sum() == pytest.approx(box.area_faces[::2].sum())
    points = np.random.default_rng(0).uniform(-2.5, 2.5, size=(200, 3))
    exact = igl.winding_number(split.vertices, split.faces, points)
    np.testing.assert_allclose(exact, igl.winding_number(box.vertices, box.faces, points),
                               atol=1e-9)
    np.testing.assert_allclose(split.winding_number(points), exact, atol=0.02)  # Barnes-Hut


# --------------------------------------------------------------------------------------------
# artist meshes: buried faces, thin parts, thin closed boxes, split rooms, hostile inputs


def test_faces_buried_in_other_parts_are_no_surface():
    """A cover lying face to face on a mattress (the Kenney beds): inside, the depth is to the
    outer surface, not to the buried faces, and the top reads where it is."""
    mattress = _box((1.6, 0.3, 2.0), "Mattress", 11, offset=(0, 0.25, 0))  # top at 0.4
    cover = _box((1.6, 0.1, 2.0), "Cover", 11, offset=(0, 0.45, 0))  # from 0.4 to 0.5
    grid = build_scene_grid([mattress, cover], resolution=0.05, padding=0.2)
    exact = _box_sdf(_nodes(grid) - [0, 0.3, 0], np.array([0.8, 0.2, 1.0]))
    np.testing.assert_allclose(grid.sdf, exact, atol=1e-5)
    column = np.stack([np.zeros(200), np.linspace(0.6, 0.4, 200), np.zeros(200)], axis=1)
    top = column[np.argmax(grid.lookup(column) <= 0), 1]
    assert abs(top - 0.5) < 0.003


def test_thin_slab_between_nodes_reads_solid_and_keeps_its_top():
    """A 2.6 cm table top at 5 cm: no node lies inside it; the node below is moved inside so
    the slab reads solid and its top stays where it is (it grows downwards only)."""
    top = _box((1.0, 0.026, 0.7), "Top", 5, offset=(0.0, 0.787, 0.0))  # 0.774 .. 0.800
    legs = [_box((0.05, 0.774, 0.05), f"Leg{i}", 5, offset=(x, 0.387, z))
            for i, (x, z) in enumerate([(-0.45, -0.3), (0.45, -0.3), (-0.45, 0.3), (0.45, 0.3)])]
    off = build_scene_grid([top, *legs], resolution=0.05, padding=0.2, thin_parts=False)
    on = build_scene_grid([top, *legs], resolution=0.05, padding=0.2)
    inside = np.stack([np.linspace(-0.3, 0.3, 7), np.full(7, 0.787), np.zeros(7)], axis=1)
    assert (off.lookup(inside) > 0).all()  # lost without thin-part recovery
    assert (on.lookup(inside) < 0).all()
    column = np.stack([np.full(300, 0.1), np.linspace(0.9, 0.6, 300), np.full(300, 0.05)], 1)
    surface = column[np.argmax(on.lookup(column) <= 0), 1]
    assert abs(surface - 0.8) < 0.005  # the top did not move
    moved = on.sdf != off.sdf
    assert (on.sdf[moved] < 0).all() and (np.abs(off.sdf[moved]) < 0.05).all()


def test_a_top_on_a_node_plane_stays_at_its_height():
    """A floor and a seat whose tops fall exactly on a plane of nodes: pairs of nodes lying in
    the top are no thin part (their midpoint is in the face, where the winding number can
    read 1); the grid reads the tops at their height, where it read them a spacing higher."""
    # top at y = 0; 0.1 um thicker than 5 cm, so the nodes lie 0.05 um inside the tops, as
    # rounding leaves them in real rooms
    floor = _box((3.0, 0.05 + 1e-7, 3.0), "Floor", 2, offset=(0.0, -0.025 - 5e-8, 0.0))
    seat = _box((0.44, 0.04, 0.42), "Seat", 5, offset=(0.0, 0.43, 0.0))  # top at y = 0.45
    objects = [floor, seat]
    grid = build_scene_grid(objects, resolution=0.05, padding=0.3 - 1e-6)
    ys = grid.node_coords()[1]
    assert np.abs(ys - 0.0).min() < 1e-6 and np.abs(ys - 0.45).min() < 1e-6  # on node planes
    rng = np.random.default_rng(0)
    for top, half in ((0.0, 1.2), (0.45, 0.19)):
        xz = rng.uniform(-half, half, size=(200, 2))
        xz = xz[(top > 0) | (np.abs(xz) > 0.3).any(axis=1)]  # on the floor: away from the seat
        for height in (0.0, 0.005, 0.01, 0.02):
            points = np.stack([xz[:, 0], np.full(len(xz), top + height), xz[:, 1]], axis=1)
            np.testing.assert_allclose(grid.lookup(points), height, atol=1e-3)


def test_thin_closed_box_is_no_sheet_but_an_open_plane_is():
    """An 8 mm chair back modelled as a closed box (and one whose bottom face is missing) keeps
    its own shape: the sheet extrusion only fires on single-layer pieces."""
    back = trimesh.creation.box(extents=(0.4, 0.5, 0.008))
    back.apply_translation([0, 0.7, 0.2])
    closed = MeshObject("ChairBack", back.vertices, back.faces, 3)
    bottom = back.triangles_center[:, 1] < 0.46
    open_box = MeshObject("ChairBack", back.vertices, back.faces[~bottom], 3)
    plane = MeshObject("Sign", np.array([[-0.2, 0.45, 0.5], [0.2, 0.45, 0.5], [0.2, 0.95, 0.5],
                                         [-0.2, 0.95, 0.5]]), np.array([[0, 1, 2], [0, 2, 3]]),
                       35)
    seat = _box((0.4, 0.05, 0.4), "Seat", 3, offset=(0, 0.45, 0))
    for piece in (closed, open_box):
        soup = solidify_sheets([seat, piece, plane], np.array([0.0, 0.5, 0.2]))
        assert soup.sheets == ["Sign"]
    grid = build_scene_grid([seat, open_box], resolution=0.02, padding=0.1)
    behind = grid.lookup(np.array([[0.0, 0.7, 0.23], [0.0, 0.7, 0.26]]))
    assert (behind > 0).all()  # nothing was extruded behind the back


def test_a_room_split_into_parts_is_still_one_shell():
    """Room.floor / .wall / .ceiling with part_of='Room' are welded together: the room is a
    shell turned in (free inside) whichever way its normals point."""
    room = trimesh.creation.box(extents=(5.0, 2.6, 4.0))
    room.apply_translation([0, 1.3, 0])
    normal = room.face_normals
    chair = _box((0.5, 0.9, 0.5), "Chair", 3, offset=(0.5, 0.45, 0.3))
    for faces in (room.faces, room.faces[:, ::-1]):
        parts = [MeshObject(f"Room.{name}", room.vertices, faces[rows], cls, f"geometry:{name}",
                            part_of="Room")
                 for name, cls, rows in (("floor", 2, normal[:, 1] < -0.9),
                                         ("wall", 1, np.abs(normal[:, 1]) < 0.1),
                                         ("ceiling", 17, normal[:, 1] > 0.9))]
        soup = solidify_sheets([*parts, chair], np.array([0, 1.3, 0]))
        assert soup.shells == ["Room"] and soup.sheets == []
        grid = build_scene_grid([*parts, chair], resolution=0.1, padding=0.2)
        free, in_chair, under_ceiling = grid.lookup(np.array([[-1.5, 1.3, -1.0], [0.5, 0.45, 0.3],
                                                              [-1.5, 2.5, -1.0]]))
        assert free == pytest.approx(1.0, abs=1e-6) and in_chair < 0
        assert under_ceiling == pytest.approx(0.1, abs=1e-6)


def test_degenerate_objects_and_far_vertices_are_refused_with_names():
    dot = MeshObject("Dot", np.ones((3, 3)), [[0, 1, 2]])
    with pytest.raises(InputShapeError, match=r"objects 'Dot': expected triangles with area"):
        build_scene_grid([dot])
    far = MeshObject("Stray", np.array([[0, 0, 0], [1e9, 0, 0], [0, 1, 0.0]]), [[0, 1, 2]])
    with pytest.raises(InputShapeError, match=r"over the 1000 m limit: object 'Stray'"):
        build_scene_grid([_box(), far])


def test_fitting_resolution_is_found_by_bisection():
    bbox = np.array([[0.0, 0.0, 0.0], [900.0, 3.0, 900.0]])
    res = mesh_sdf._fitting_resolution(bbox, 0.05, 0.3, False, 1_000_000)
    assert np.prod(grid_layout(bbox, res, 0.3, False)[1]) <= 1_000_000
    assert np.prod(grid_layout(bbox, res - 0.001, 0.3, False)[1]) > 1_000_000


def test_a_plane_left_inside_a_seat_is_dropped_not_extruded():
    """The Kenney bar stool keeps a plane inside its seat cushion; extruded (up, as it lies
    above the scene's middle) it poked 2.5 cm out of the seat at 5 cm."""
    seat = _box((0.5, 0.15, 0.45), "Seat", 19, offset=(0, 0.74, 0))  # 0.665 .. 0.815
    plane = MeshObject("Seat", np.array([[-0.24, 0.741, -0.21], [0.24, 0.741, -0.21],
                                         [0.24, 0.741, 0.21], [-0.24, 0.741, 0.21]]),
                       np.array([[0, 2, 1], [0, 3, 2]]), 19)
    leg = _box((0.1, 0.7, 0.1), "Leg", 19, offset=(0, 0.35, 0))
    soup = solidify_sheets([seat, plane, leg], np.array([0.0, 0.41, 0.0]))
    assert soup.sheets == [] and len(soup.faces) == 24
    grid = build_scene_grid([seat, plane, leg], resolution=0.05, padding=0.1)
    column = np.stack([np.full(300, 0.1), np.linspace(1.0, 0.7, 300), np.zeros(300)], axis=1)
    assert abs(column[np.argmax(grid.lookup(column) <= 0), 1] - 0.815) < 0.005
