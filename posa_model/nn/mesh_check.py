"""The one body-mesh check: is this body the mesh a checkpoint was trained on?

A POSA checkpoint is tied to one mesh topology *and vertex order*: the hierarchy's vertex
selections, spirals and up-sampling weights index its level-0 vertices. A body with the same
vertex count but another vertex order (real SMPL-X vs the stand-in: both 10,475 vertices, 20,908
vs 20,946 faces, different orders) samples garbage without any error. Every path that feeds a
body to a checkpoint calls :func:`check_body_mesh` with the body's faces:

    from posa_model.nn.mesh_check import check_body_mesh
    check_body_mesh(model.faces, sampler.hierarchy, where="--body SMPLX_NEUTRAL.npz",
                    num_vertices=model.num_vertices, checkpoint=sampler.checkpoint)

or, with a loaded sampler, ``sampler.check_body(model.faces, source, num_vertices)``.

Rule: the body's faces (F, 3) must be the hierarchy's level-0 faces as a multiset of oriented
triangles, each compared up to the rotation of its corners ((a, b, c) == (b, c, a) ==
(c, a, b), but not (a, c, b): a flipped triangle is another orientation). Faces listed in another
order pass; the same mesh with its vertices renumbered fails.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import BodyMeshMismatch

__all__ = ["BodyMeshMismatch", "canonical_triangles", "check_body_mesh", "faces_match",
           "how_to_get_a_checkpoint"]

#: Face count of real SMPL-X (for the message: it names the body the user probably has).
SMPLX_NUM_FACES = 20908
SMPLX_NUM_VERTICES = 10475


def canonical_triangles(faces: Any) -> np.ndarray:
    """(F, 3) int triangles -> (F, 3) int64, each rotated so its smallest index comes first
    (orientation kept), rows sorted lexicographically: equal arrays <=> equal multisets of
    oriented triangles."""
    f = np.asarray(faces)
    if f.ndim != 2 or f.shape[1] != 3 or f.dtype.kind not in "iu":
        raise BodyMeshMismatch(f"faces must be an (F, 3) integer array, found {f.dtype} "
                               f"{f.shape}")
    f = f.astype(np.int64, copy=False)
    first = f.argmin(axis=1)
    rows = np.arange(len(f))[:, None]
    rotated = f[rows, (first[:, None] + np.arange(3)[None]) % 3]
    order = np.lexsort(rotated.T[::-1])
    return rotated[order]


def faces_match(faces: Any, reference_faces: Any) -> bool:
    """True when both (F, 3) arrays hold the same oriented triangles (see the module doc)."""
    a, b = np.asarray(faces), np.asarray(reference_faces)
    if a.shape != b.shape:
        return False
    return bool(np.array_equal(canonical_triangles(a), canonical_triangles(b)))


def how_to_get_a_checkpoint() -> str:
    """The three ways to a checkpoint for a body (shared by every refusal message)."""
    return (
        "A checkpoint samples only bodies of the mesh it was trained on. The stand-in body "
        "(--body standin) fits the shipped checkpoint; real SMPL-X fits the reference POSA "
        "weights with their mesh_ds folder, converted once with `python -m posa_model.convert "
        "--reference last_model.pt --mesh-ds mesh_ds/ --out posa_smplx.pt` (then --checkpoint "
        "posa_smplx.pt); any other SMPL-X-format body needs a checkpoint trained for it: "
        "`python -m posa_model.convert --body MODEL.npz --out my_hierarchy.npz`, "
        "`python -m posa_model.synthesize --body MODEL.npz --hierarchy my_hierarchy.npz "
        "--out data/mine`, `python -m posa_model.train --data data/mine --hierarchy "
        "my_hierarchy.npz --out-dir runs/mine` (README: \"Using real SMPL-X\")."
    )


def _describe_mesh(num_vertices: int, num_faces: int, standin_faces: int | None) -> str:
    text = f"{num_vertices} vertices, {num_faces} faces"
    if num_vertices == SMPLX_NUM_VERTICES and num_faces == SMPLX_NUM_FACES:
        text += ": real SMPL-X's topology"
    elif standin_faces is not None and num_faces == standin_faces:
        text += ": the stand-in's face count"
    return text


def _checkpoint_name(checkpoint: Any) -> str:
    if checkpoint is None:
        return "the checkpoint"
    path = getattr(checkpoint, "path", None)
    if isinstance(checkpoint, str | os.PathLike):
        path = checkpoint
    if path is None:
        return "the checkpoint"
    meta = getattr(checkpoint, "meta", None) or {}
    kind = " (converted reference POSA weights)" if meta.get("frame") == "reference" and \
        meta.get("source_format") == "reference" else ""
    return f"checkpoint {path}{kind}"


def _standin_face_count() -> int | None:
    """The stand-in's face count, for the message only (None when its asset is broken)."""
    from ..assets import standin_hierarchy
    from ..errors import PosaError

    try:
        return int(standin_hierarchy().faces[0].shape[0])
    except (PosaError, OSError):
        return None


def check_body_mesh(faces: Any, hierarchy: Any, where: str = "body", *,
                    num_vertices: int | None = None, checkpoint: Any = None) -> None:
    """Refuse a body whose mesh is not the checkpoint's level-0 mesh.

    Args:
        faces: (F, 3) integer triangles of the body (e.g. ``BodyModel.faces``).
        hierarchy: the checkpoint's mesh hierarchy (``sampler.hierarchy``; anything with
            ``faces[0]`` (F0, 3) and ``vertices[0]`` (V0, 3)).
        where: what the body is, for the message ("--body SMPLX_NEUTRAL.npz", "object Body").
        num_vertices: the body's vertex count V, checked against V0 when given.
        checkpoint: the :class:`~posa_model.nn.checkpoint.Checkpoint` or its path, named in
            the message.

    Raises:
        BodyMeshMismatch (a :class:`~posa_model.errors.CheckpointError`): the vertex count, the
            face count or the triangles differ; the message says what differs, which body fits
            which checkpoint and how to get a checkpoint for this body.
    """
    level0 = getattr(hierarchy, "faces", None)
    if level0 is None or len(level0) == 0:
        raise BodyMeshMismatch(f"{where}: the mesh hierarchy has no level-0 faces to check the "
                               "body against")
    ref_faces = np.asarray(level0[0])
    ref_vertices = int(np.asarray(hierarchy.vertices[0]).shape[0])
    body_faces = np.asarray(faces)
    if body_faces.ndim != 2 or body_faces.shape[1:] != (3,) or body_faces.dtype.kind not in "iu":
        raise BodyMeshMismatch(f"{where}: faces must be an (F, 3) integer array, found "
                               f"{body_faces.dtype} {body_faces.shape}")
    n_body = num_vertices
    if n_body is None:
        n_body = int(body_faces.max()) + 1 if body_faces.size else 0
    problem = None
    if num_vertices is not None and int(num_vertices) != ref_vertices:
        problem = f"it has {num_vertices} vertices, the checkpoint's mesh {ref_vertices}"
    elif body_faces.shape[0] != ref_faces.shape[0]:
        problem = (f"it has {body_faces.shape[0]} faces, the checkpoint's mesh "
                   f"{ref_faces.shape[0]}")
    else:
        a, b = canonical_triangles(body_faces), canonical_triangles(ref_faces)
        if not np.array_equal(a, b):
            differ = int(np.any(a != b, axis=1).sum())
            problem = (f"same counts, but {differ} of its {len(a)} triangles differ after "
                       "sorting (another vertex order or topology)")
    if problem is None:
        return
    standin_faces = _standin_face_count()
    raise BodyMeshMismatch(
        f"{where}: the body's mesh ({_describe_mesh(n_body, body_faces.shape[0], standin_faces)}"
        f") is not the mesh {_checkpoint_name(checkpoint)} was trained on "
        f"({_describe_mesh(ref_vertices, ref_faces.shape[0], standin_faces)}): {problem}; its "
        f"maps would be garbage. {how_to_get_a_checkpoint()}"
    )
