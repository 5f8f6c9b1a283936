"""The stand-in's face landmarks: the 51 static landmarks and smplx's 79 x 17 dynamic jaw
contour, ray-cast onto the face."""

from __future__ import annotations

import numpy as np

from .design import StandinBuildError

#: The 51 static face landmarks in iBUG 68-point order without the 17 jaw points (brows, nose
#: bridge, nostrils, eyes, outer and inner lips; the subject's right, -x, first): (x, y) in
#: metres, projected onto the face along -z.
_FACE_LANDMARKS_XY = (
    (-0.058, 0.365), (-0.047, 0.371), (-0.036, 0.373), (-0.025, 0.372), (-0.014, 0.369),
    (0.014, 0.369), (0.025, 0.372), (0.036, 0.373), (0.047, 0.371), (0.058, 0.365),
    (0.0, 0.352), (0.0, 0.340), (0.0, 0.328), (0.0, 0.318),
    (-0.016, 0.307), (-0.008, 0.305), (0.0, 0.304), (0.008, 0.305), (0.016, 0.307),
    (-0.047, 0.345), (-0.039, 0.351), (-0.026, 0.351), (-0.018, 0.345), (-0.026, 0.340),
    (-0.039, 0.340),
    (0.018, 0.345), (0.026, 0.351), (0.039, 0.351), (0.047, 0.345), (0.039, 0.340),
    (0.026, 0.340),
    (-0.024, 0.277), (-0.016, 0.283), (-0.007, 0.286), (0.0, 0.285), (0.007, 0.286),
    (0.016, 0.283), (0.024, 0.277), (0.016, 0.270), (0.007, 0.267), (0.0, 0.266),
    (-0.007, 0.267), (-0.016, 0.270),
    (-0.020, 0.277), (-0.007, 0.279), (0.0, 0.279), (0.007, 0.279), (0.020, 0.277),
    (0.007, 0.275), (0.0, 0.275), (-0.007, 0.275),
)  # fmt: skip


def _raycast(verts: np.ndarray, faces: np.ndarray, origins: np.ndarray, dirs: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """First hit of each ray on the mesh (Moeller-Trumbore): face ids (R,), barycentrics (R, 3)."""
    a = verts[faces[:, 0]]
    e1, e2 = verts[faces[:, 1]] - a, verts[faces[:, 2]] - a
    face_ids = np.empty(len(origins), dtype=np.int64)
    bary = np.empty((len(origins), 3))
    for r, (o, d) in enumerate(zip(origins, dirs, strict=True)):
        p = np.cross(d, e2)
        det = (e1 * p).sum(1)
        ok = np.abs(det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = o - a
        u = (s * p).sum(1) * inv
        q = np.cross(s, e1)
        v = (q @ d) * inv
        t = (e2 * q).sum(1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        if not hit.any():
            raise StandinBuildError(f"landmarks: the ray from {o} along {d} misses the body")
        i = np.flatnonzero(hit)[np.argmin(t[hit])]
        face_ids[r] = i
        bary[r] = np.maximum((1.0 - u[i] - v[i], u[i], v[i]), 0.0)
    return face_ids, bary / bary.sum(1, keepdims=True)


def _face_landmarks(verts: np.ndarray, faces: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``lmk_faces_idx`` (51,), ``lmk_bary_coords`` (51, 3), ``dynamic_lmk_faces_idx``
    (79, 17) and ``dynamic_lmk_bary_coords`` (79, 17, 3).

    The 17 contour points run along the jaw from the right ear over the chin to the left ear;
    row ``i`` of the dynamic table is for a head yaw of ``i`` degrees (0..39) or ``39 - i``
    (40..78), as smplx indexes it, and turns the contour rays by half the yaw.
    """
    head = np.isin(faces, np.flatnonzero(verts[:, 1] > 0.2)).all(1)
    sub, ids = faces[head], np.flatnonzero(head)
    xy = np.array(_FACE_LANDMARKS_XY)
    origins = np.column_stack([xy, np.full(len(xy), 0.3)])
    f, lmk_bary = _raycast(verts, sub, origins, np.tile([0.0, 0.0, -1.0], (len(xy), 1)))
    lmk_faces = ids[f]
    phi = np.deg2rad(np.linspace(-90.0, 90.0, 17))
    height = 0.236 + 0.095 * (1.0 - np.cos(phi))
    target = np.column_stack([np.zeros(17), height + 0.02, np.full(17, 0.01)])
    dyn_faces = np.empty((79, 17), dtype=np.int64)
    dyn_bary = np.empty((79, 17, 3))
    for row in range(79):
        yaw = np.deg2rad(row if row < 40 else 39 - row)
        psi = phi * (1.0 - abs(yaw) / np.pi) - yaw / 2.0
        origins = target + 0.3 * np.column_stack([np.sin(psi), np.zeros(17), np.cos(psi)])
        origins[:, 1] = height
        dirs = target - origins
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        f, dyn_bary[row] = _raycast(verts, sub, origins, dirs)
        dyn_faces[row] = ids[f]
    return lmk_faces, lmk_bary.astype(np.float32), dyn_faces, dyn_bary.astype(np.float32)
