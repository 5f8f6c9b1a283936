"""Writing a placement: the populated scene as GLB, the metrics as JSON, the bodies as NPZ.

* GLB (glTF is +y up, like the SMPL-X world: coordinates are written as they are): one node per
  scene object, coloured by its class (:data:`posa_model.classes.PALETTE`), and one node per
  placed body, its vertices coloured by the chosen map's semantics (grey where no contact).
* JSON: the run (scene, seed, configuration), the overall metrics, the seconds per stage, and
  per body its name, pose, placed/reason, yaw, translation, (4, 4) transform, map index and
  metrics.
* NPZ (``<out stem>_bodies.npz`` beside the GLB): per body ``names``, ``poses``, ``placed``,
  ``reasons`` (str), ``transforms`` (B, 4, 4), ``yaws`` (B,), ``translations`` (B, 3),
  ``map_index`` (B,), ``contact`` (B, V) float32, ``semantics`` (B, V) uint8, ``vertices``
  (B, V, 3) float32 placed, and the pose parameters ``global_orient`` (B, 3) and ``body_pose``
  (B, 63) axis-angle (NaN where unknown).

All files are written atomically.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..classes import PALETTE
from ..io_utils import atomic_savez, atomic_write
from .types import BodyRequest, PlacementConfig, PlacementResult

__all__ = ["bodies_npz_path", "populated_scene", "write_bodies_npz", "write_glb",
           "write_metrics"]


def _unique(name: str, used: set[str]) -> str:
    out, k = name, 1
    while out in used:
        out, k = f"{name}.{k}", k + 1
    used.add(out)
    return out


def populated_scene(objects, result: PlacementResult, faces: np.ndarray):
    """A ``trimesh.Scene``: ``objects`` (MeshObject-like: name, vertices, faces, class_id) and
    the placed bodies of ``result`` (``faces`` (F, 3) the body mesh)."""
    import trimesh

    scene = trimesh.Scene()
    used: set[str] = set()
    for obj in objects:
        mesh = trimesh.Trimesh(np.asarray(obj.vertices), np.asarray(obj.faces), process=False)
        rgba = np.append(PALETTE[int(obj.class_id)], 255).astype(np.uint8)
        mesh.visual.face_colors = np.tile(rgba, (len(mesh.faces), 1))
        mesh.metadata["class_id"] = int(obj.class_id)
        name = _unique(obj.name, used)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    for body in result.bodies:
        if not body.placed:
            continue
        mesh = trimesh.Trimesh(body.vertices, np.asarray(faces), process=False)
        rgb = PALETTE[np.asarray(body.semantics, dtype=np.int64)]
        mesh.visual.vertex_colors = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)],
                                                   axis=1)
        mesh.metadata["posa_body"] = body.name
        name = _unique(body.name, used)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    return scene


def write_glb(path: str | os.PathLike, objects, result: PlacementResult,
              faces: np.ndarray) -> Path:
    """The populated scene as a binary glTF (see the module docstring)."""
    data = populated_scene(objects, result, faces).export(file_type="glb")
    return atomic_write(path, lambda f: f.write(data))


def _body_rows(result: PlacementResult, requests: list[BodyRequest]) -> list[dict]:
    rows = []
    for body, req in zip(result.bodies, requests, strict=True):
        rows.append({
            "name": body.name, "pose": req.info.get("pose", ""), "placed": body.placed,
            "reason": body.reason, "yaw": body.yaw,
            "translation": [float(v) for v in body.translation],
            "transform": np.asarray(body.transform).tolist(), "map_index": body.map_index,
            "metrics": body.metrics,
        })
    return rows


def write_metrics(path: str | os.PathLike, result: PlacementResult,
                  requests: list[BodyRequest], config: PlacementConfig,
                  run: dict | None = None) -> Path:
    """The metrics JSON (see the module docstring); ``run``: extra fields (scene, command)."""
    doc = {"run": run or {}, "config": asdict(config), "overall": result.metrics,
           "seconds": result.seconds, "bodies": _body_rows(result, requests)}
    text = json.dumps(doc, indent=1, default=float).encode()
    return atomic_write(path, lambda f: f.write(text))


def bodies_npz_path(glb: str | os.PathLike) -> Path:
    """``<dir>/<stem>_bodies.npz`` for an output ``<dir>/<stem>.glb``."""
    glb = Path(glb)
    return glb.with_name(f"{glb.stem}_bodies.npz")


def write_bodies_npz(path: str | os.PathLike, result: PlacementResult,
                     requests: list[BodyRequest]) -> Path:
    """Per body transform, pose and chosen map (see the module docstring)."""
    bodies = result.bodies

    def pose_field(key: str, size: int) -> np.ndarray:
        out = np.full((len(bodies), size), np.nan, np.float32)
        for k, req in enumerate(requests):
            if key in req.info:
                out[k] = np.asarray(req.info[key], np.float32).reshape(size)
        return out

    return atomic_savez(
        path,
        names=np.array([b.name for b in bodies]),
        poses=np.array([str(r.info.get("pose", "")) for r in requests]),
        placed=np.array([b.placed for b in bodies]),
        reasons=np.array([b.reason for b in bodies]),
        transforms=np.stack([np.asarray(b.transform) for b in bodies]),
        yaws=np.array([b.yaw for b in bodies]),
        translations=np.stack([np.asarray(b.translation) for b in bodies]),
        map_index=np.array([b.map_index for b in bodies]),
        contact=np.stack([np.asarray(b.contact, np.float32) for b in bodies]),
        semantics=np.stack([np.asarray(b.semantics).astype(np.uint8) for b in bodies]),
        vertices=np.stack([np.asarray(b.vertices, np.float32) for b in bodies]),
        global_orient=pose_field("global_orient", 3),
        body_pose=pose_field("body_pose", 63),
    )
