"""Mesh primitives for procedural furniture: boxes, rounded boxes, cylinders, tubes.

Every function returns ``(vertices (N, 3) float64, faces (M, 3) int64)`` in metres, +y up (the
glTF / SMPL-X frame), faces counter-clockwise seen from outside. Each shape is closed on its
own; furniture is made of several such shapes that overlap (a cushion sunk into a frame, a leg
through a base), as artists' models are, and they are never boolean-merged. Everything is
deterministic (no random numbers; angles from :mod:`math`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Mesh", "box", "cylinder", "rotate_x", "rotate_y", "rounded_box", "translate",
           "tube"]

Mesh = tuple[np.ndarray, np.ndarray]


def box(lo, hi) -> Mesh:
    """An axis-aligned box from corner ``lo`` (3,) to corner ``hi`` (3,), metres."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], np.float64)
    vertices = lo + corners * (hi - lo)
    # index = 4x + 2y + z
    faces = np.array([
        [0, 1, 3], [0, 3, 2],  # -x
        [4, 6, 7], [4, 7, 5],  # +x
        [0, 4, 5], [0, 5, 1],  # -y
        [2, 3, 7], [2, 7, 6],  # +y
        [0, 2, 6], [0, 6, 4],  # -z
        [1, 5, 7], [1, 7, 3],  # +z
    ], np.int64)
    return vertices, faces


def rounded_box(lo, hi, radius: float, segments: int = 5) -> Mesh:
    """A box from ``lo`` to ``hi`` (3,) with all edges and corners rounded by ``radius`` (m).

    Made as the Minkowski sum of a smaller box and a sphere: a cube-sphere with ``segments``
    (odd, so no vertex lies on a symmetry plane) divisions per cube edge, each vertex pushed out
    by the half-size of the inner box along the signs of its coordinates; the faces that cross a
    symmetry plane become the flat sides. The result spans exactly ``lo``..``hi``.
    """
    if segments % 2 == 0 or segments < 1:
        raise ValueError(f"segments: expected an odd number, found {segments}")
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    half = (hi - lo) / 2
    radius = float(min(radius, half.min()))
    grid = np.linspace(-1.0, 1.0, segments + 1)
    points, faces = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u_axis, v_axis = [a for a in range(3) if a != axis]
            uu, vv = np.meshgrid(grid, grid, indexing="ij")
            p = np.zeros((segments + 1, segments + 1, 3))
            p[..., axis] = sign
            p[..., u_axis] = uu
            p[..., v_axis] = vv
            base = sum(len(q) for q in points)
            idx = base + np.arange((segments + 1) ** 2).reshape(segments + 1, segments + 1)
            a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
            c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
            quads = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
            # u x v points along +axis for (axis, u, v) in cyclic order; flip to face outwards
            cyclic = (u_axis - axis) % 3 == 1
            if (sign > 0) != cyclic:
                quads = quads[:, ::-1]
            points.append(p.reshape(-1, 3))
            faces.append(quads)
    p = np.concatenate(points)
    f = np.concatenate(faces)
    # merge the points shared by neighbouring cube faces
    keys = np.round(p * (segments * 4)).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    order = np.argsort(first)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    p = p[first[order]]
    f = remap[inverse.reshape(-1)[f]]
    direction = p / np.linalg.norm(p, axis=1, keepdims=True)
    offsets = direction * radius + np.sign(p) * (half - radius)
    # no vertex lies exactly on an axis, so the flat sides fall short of the box by a hair:
    # stretch to the exact size
    offsets *= half / np.abs(offsets).max(axis=0)
    return (lo + half) + offsets, f


def cylinder(radius: float, y0: float, y1: float, x: float = 0.0, z: float = 0.0,
             sections: int = 16, radius_top: float | None = None) -> Mesh:
    """A vertical cylinder (or a cone frustum when ``radius_top`` is given) around the line
    (``x``, ``z``) from height ``y0`` to ``y1`` (m), with ``sections`` sides, capped."""
    r1 = radius if radius_top is None else radius_top
    angles = [2 * math.pi * k / sections for k in range(sections)]
    ring = np.array([[math.cos(a), math.sin(a)] for a in angles])
    bottom = np.column_stack([x + radius * ring[:, 0], np.full(sections, y0),
                              z + radius * ring[:, 1]])
    top = np.column_stack([x + r1 * ring[:, 0], np.full(sections, y1), z + r1 * ring[:, 1]])
    vertices = np.concatenate([bottom, top, [[x, y0, z], [x, y1, z]]])
    k = np.arange(sections)
    n = (k + 1) % sections
    # seen from outside (the ring turns from +x towards +z, i.e. clockwise seen from +y)
    sides = np.concatenate([np.stack([k, k + sections, n], 1),
                            np.stack([n, k + sections, n + sections], 1)])
    cb, ct = 2 * sections, 2 * sections + 1
    caps = np.concatenate([np.stack([np.full(sections, cb), k, n], 1),
                           np.stack([np.full(sections, ct), n + sections, k + sections], 1)])
    return vertices, np.concatenate([sides, caps]).astype(np.int64)


def tube(p0, p1, radius: float, sections: int = 12) -> Mesh:
    """A capped cylinder of ``radius`` (m) from point ``p0`` to ``p1`` (3,), any direction."""
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    vertices, faces = cylinder(radius, 0.0, length, sections=sections)
    y = axis / length
    helper = np.array([1.0, 0.0, 0.0]) if abs(y[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    x = np.cross(y, helper)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    rotation = np.column_stack([x, y, z])  # local (x, y, z) -> world; det +1
    return vertices @ rotation.T + p0, faces


def translate(mesh: Mesh, offset) -> Mesh:
    """``mesh`` moved by ``offset`` (3,) metres."""
    return mesh[0] + np.asarray(offset, np.float64), mesh[1]


def rotate_x(mesh: Mesh, degrees: float, pivot=(0.0, 0.0, 0.0)) -> Mesh:
    """``mesh`` turned by ``degrees`` about the x axis through ``pivot`` (right-handed: +y
    towards +z for positive angles)."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    pivot = np.asarray(pivot, np.float64)
    return (mesh[0] - pivot) @ rotation.T + pivot, mesh[1]


def rotate_y(mesh: Mesh, degrees: float, pivot=(0.0, 0.0, 0.0)) -> Mesh:
    """``mesh`` turned by ``degrees`` about the +y (up) axis through ``pivot`` (+z towards +x
    for positive angles, glTF's rotation sense)."""
    a = math.radians(degrees)
    c, s = math.cos(a), math.sin(a)
    rotation = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    pivot = np.asarray(pivot, np.float64)
    return (mesh[0] - pivot) @ rotation.T + pivot, mesh[1]
