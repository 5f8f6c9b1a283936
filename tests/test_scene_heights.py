"""Exact heights on scene meshes: surface_heights, settle_drop and pieces (scene/objects.py)."""

from __future__ import annotations

import numpy as np
import trimesh

from posa_model.scene.objects import MeshObject, pieces, settle_drop, surface_heights


def _box(name, lo, hi, parents=()):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    mesh = trimesh.creation.box(extents=hi - lo)
    return MeshObject(name, mesh.vertices + (lo + hi) / 2, mesh.faces, 3, parents=parents)


def test_heights_are_the_highest_face_at_or_below_a_height():
    seat = _box("seat", (-0.2, 0.40, -0.2), (0.2, 0.45, 0.2))
    top = _box("top", (-0.5, 0.70, -0.5), (0.5, 0.75, 0.5))
    xz = np.array([[0.0, 0.0], [0.3, 0.0], [2.0, 2.0]])
    np.testing.assert_allclose(surface_heights([seat, top], xz), [0.75, 0.75, np.nan])
    h = surface_heights([seat, top], xz, below=np.array([0.5, 0.5, 0.5]))
    assert abs(h[0] - 0.45) < 1e-9  # the seat, not the top above it
    assert np.isnan(h[1]) and np.isnan(h[2])  # nothing under (0.3, 0) below 0.5 m
    np.testing.assert_allclose(surface_heights([seat], xz[:1], below=0.42), [0.40])


def test_settle_drops_a_hovering_body_onto_the_first_surface_under_it():
    seat = _box("seat", (-0.2, 0.40, -0.2), (0.2, 0.45, 0.2))
    floor = _box("floor", (-2, -0.1, -2), (2, 0.0, 2))
    body = trimesh.creation.box(extents=(0.3, 0.5, 0.3)).vertices + [0.0, 0.45 + 0.25 + 0.02,
                                                                      0.0]
    assert abs(settle_drop([seat, floor], body) - 0.018) < 1e-6  # rests 2 mm above the seat
    assert settle_drop([seat, floor], body, cap=0.01) == 0.01
    sunk = body - [0.0, 0.025, 0.0]  # 5 mm into the seat: no drop
    assert settle_drop([seat, floor], sunk) == 0.0
    assert settle_drop([], body) == 0.0


def test_a_piece_is_the_outermost_parent_that_not_everything_shares():
    objects = [_box("Blanket", (0, 0, 0), (1, 1, 1), ("Bed", "Room", "Scene")),
               _box("Mattress", (0, 0, 0), (1, 1, 1), ("Bed", "Room", "Scene")),
               _box("Seat", (0, 0, 0), (1, 1, 1), ("Chair", "Room", "Scene")),
               _box("Lamp", (0, 0, 0), (1, 1, 1), ("Room", "Scene"))]
    assert pieces(objects) == {"Blanket": "Bed", "Mattress": "Bed", "Seat": "Chair",
                               "Lamp": "Lamp"}
