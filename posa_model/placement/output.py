"""Writing populated scenes: GLB, the people's parameters (NPZ), one SMPL-X file per person, JSON.

* GLB (glTF is +y up, like the SMPL-X world: coordinates are written as they are): one node per
  scene object, coloured by its class (:data:`posa_model.classes.PALETTE`), and one node per
  placed person, its vertices coloured by the chosen map's semantics (grey where no contact).
* NPZ (``<out stem>_bodies.npz`` beside the GLB), per person (B rows): ``names``,
  ``interactions``, ``genders`` (the body model's), ``spots`` (str), ``placed`` (bool),
  ``reasons`` (str), ``transforms`` (B, 4, 4) and ``yaws`` (B,), ``translations`` (B, 3) (the
  rigid part of the placement), ``map_index`` (B,), ``contact`` (B, V) float32, ``semantics``
  (B, V) uint8, ``vertices`` (B, V, 3) float32 placed, and the SMPL-X parameters that reproduce
  them: ``global_orient`` (B, 3), ``body_pose`` (B, 63), ``betas`` (B, K), ``transl`` (B, 3),
  ``left_hand_pose`` / ``right_hand_pose`` (B, 45), ``jaw_pose`` (B, 3), ``expression`` (B, E)
  (NaN rows where a person was not placed or was placed from bare vertices).
* Per placed person ``<out stem>_bodies/<name>.npz``: the same parameters and ``gender``,
  SMPL-X style (:meth:`posa_model.body.BodyPose.to_file`).
* JSON: the run, the configuration, the overall and per-interaction metrics, the seconds per
  stage, and per person: name, interaction, spot, placed/reason, check (how well a placed
  person does their interaction: ok, measures, failed rules), yaw, translation, transform,
  map index and metrics (numbers that do not exist, such as a mean over nobody, are null).

Writers take ``atomic=False`` when the caller writes them as one set itself
(:class:`posa_model.cli.OutputSet`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path

import numpy as np

from ..classes import PALETTE
from ..io_utils import atomic_savez, atomic_write

__all__ = ["bodies_folder", "bodies_npz_path", "person_file", "populated_scene",
           "write_bodies_npz", "write_glb", "write_metrics"]

_POSE_FIELDS = ("global_orient", "body_pose", "betas", "transl", "left_hand_pose",
                "right_hand_pose", "jaw_pose", "expression")


def _write(path, data: bytes, atomic: bool) -> Path:
    if atomic:
        return atomic_write(path, lambda f: f.write(data))
    Path(path).write_bytes(data)
    return Path(path)


def _unique(name: str, used: set[str]) -> str:
    out, k = name, 1
    while out in used:
        out, k = f"{name}.{k}", k + 1
    used.add(out)
    return out


def _bodies(result):
    """The PlacedBody list of a PlacementResult or a PopulateResult (with the people's info)."""
    if hasattr(result, "people"):
        return [p.body for p in result.people], result.people
    return result.bodies, None


def populated_scene(objects, result, faces: np.ndarray | None = None):
    """A ``trimesh.Scene``: ``objects`` (MeshObject-like: name, vertices, faces, class_id) and
    the placed people of ``result`` (a PlacementResult, with ``faces`` (F, 3) the body mesh, or
    a PopulateResult, which carries its faces)."""
    import trimesh

    faces = getattr(result, "faces", None) if faces is None else faces
    scene = trimesh.Scene()
    used: set[str] = set()
    for obj in objects:
        mesh = trimesh.Trimesh(np.asarray(obj.vertices), np.asarray(obj.faces), process=False)
        rgba = np.append(PALETTE[int(obj.class_id)], 255).astype(np.uint8)
        mesh.visual.face_colors = np.tile(rgba, (len(mesh.faces), 1))
        mesh.metadata["class_id"] = int(obj.class_id)
        name = _unique(obj.name, used)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    bodies, _ = _bodies(result)
    for body in bodies:
        if body is None or not body.placed:
            continue
        mesh = trimesh.Trimesh(body.vertices, np.asarray(faces), process=False)
        rgb = PALETTE[np.asarray(body.semantics, dtype=np.int64)]
        mesh.visual.vertex_colors = np.concatenate([rgb, np.full((len(rgb), 1), 255, np.uint8)],
                                                   axis=1)
        mesh.metadata["posa_body"] = body.name
        name = _unique(body.name, used)
        scene.add_geometry(mesh, node_name=name, geom_name=name)
    return scene


def write_glb(path: str | os.PathLike, objects, result, faces: np.ndarray | None = None,
              atomic: bool = True) -> Path:
    """The populated scene as a binary glTF (see the module docstring)."""
    return _write(path, populated_scene(objects, result, faces).export(file_type="glb"), atomic)


def _finite(value):
    """JSON-safe: NaN and infinities become None, numpy scalars plain numbers."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    return value


def _person_rows(result) -> list[dict]:
    bodies, people = _bodies(result)
    rows = []
    for k, body in enumerate(bodies):
        person = people[k] if people is not None else None
        row = {"name": person.name if person else body.name,
               "interaction": person.interaction if person else "",
               "gender": getattr(person, "gender", "") if person else "",
               "spot": person.spot.describe() if person and person.spot else "",
               "placed": bool(body.placed) if body is not None else False,
               "reason": person.reason if person else body.reason}
        if body is not None and body.placed:
            row.update(yaw=body.yaw, translation=np.asarray(body.translation).tolist(),
                       transform=np.asarray(body.transform).tolist(), map_index=body.map_index,
                       metrics=body.metrics)
        check = getattr(person, "check", None)
        if check is not None:
            row["check"] = {"ok": check.ok, "measures": check.measures,
                            "failed": list(check.failed)}
        rows.append(row)
    return rows


def write_metrics(path: str | os.PathLike, result, run: dict | None = None,
                  config=None, atomic: bool = True) -> Path:
    """The metrics JSON (see the module docstring); ``run``: extra fields (scene, command)."""
    doc = {"run": run or {},
           "config": asdict(config) if config is not None and is_dataclass(config) else {},
           "overall": result.metrics, "seconds": result.seconds, "bodies": _person_rows(result)}
    text = json.dumps(_finite(doc), indent=1, allow_nan=False).encode()
    return _write(path, text, atomic)


def bodies_npz_path(glb: str | os.PathLike) -> Path:
    """``<dir>/<stem>_bodies.npz`` for an output ``<dir>/<stem>.glb``."""
    glb = Path(glb)
    return glb.with_name(f"{glb.stem}_bodies.npz")


def bodies_folder(glb: str | os.PathLike) -> Path:
    """``<dir>/<stem>_bodies/`` for an output ``<dir>/<stem>.glb`` (one file per person)."""
    glb = Path(glb)
    return glb.with_name(f"{glb.stem}_bodies")


def person_file(folder: str | os.PathLike, name: str) -> Path:
    """``<folder>/<name>.npz`` with the name made safe for a file name."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "person"
    return Path(folder) / f"{safe}.npz"


def write_bodies_npz(path: str | os.PathLike, result, atomic: bool = True) -> Path:
    """Per person: transform, pose parameters, vertices and chosen map (module docstring)."""
    bodies, people = _bodies(result)
    placed = [b for b in bodies if b is not None and b.placed]
    n_vertices = max((len(b.vertices) for b in placed), default=0)

    def rows(get, shape, dtype=np.float32, fill=np.nan):
        out = np.full((len(bodies), *shape), fill, dtype)
        for k, b in enumerate(bodies):
            if b is not None and b.placed:
                value = get(b)
                if value is not None:
                    out[k] = value
        return out

    widths = {}
    for field in _POSE_FIELDS:
        widths[field] = max((getattr(b.pose, field).shape[1] for b in placed
                             if b.pose is not None), default={"global_orient": 3,
                                                              "body_pose": 63, "betas": 10,
                                                              "transl": 3, "left_hand_pose": 45,
                                                              "right_hand_pose": 45,
                                                              "jaw_pose": 3,
                                                              "expression": 10}[field])
    arrays = {field: rows(lambda b, f=field: None if b.pose is None else np.pad(
        getattr(b.pose, f)[0], (0, widths[f] - getattr(b.pose, f).shape[1])), (widths[field],))
        for field in _POSE_FIELDS}
    names = [p.name for p in people] if people is not None else [b.name for b in bodies]
    arrays.update(
        names=np.array(names, dtype=str),
        interactions=np.array([p.interaction for p in people] if people is not None
                              else [""] * len(bodies), dtype=str),
        genders=np.array([p.gender for p in people] if people is not None
                         else [""] * len(bodies), dtype=str),
        spots=np.array([p.spot.describe() if p.spot else "" for p in people]
                       if people is not None else [""] * len(bodies), dtype=str),
        placed=np.array([bool(b is not None and b.placed) for b in bodies]),
        reasons=np.array([p.reason for p in people] if people is not None
                         else [b.reason for b in bodies], dtype=str),
        transforms=rows(lambda b: b.transform, (4, 4), np.float64),
        yaws=rows(lambda b: b.yaw, (), np.float64),
        translations=rows(lambda b: b.translation, (3,), np.float64),
        map_index=rows(lambda b: b.map_index, (), np.int64, -1),
        contact=rows(lambda b: b.contact, (n_vertices,)),
        semantics=rows(lambda b: np.asarray(b.semantics).astype(np.uint8), (n_vertices,),
                       np.uint8, 0),
        vertices=rows(lambda b: b.vertices, (n_vertices, 3)),
    )
    if atomic:
        return atomic_savez(path, **arrays)
    with open(path, "wb") as f:  # a handle: numpy would add ".npz" to a temporary's name
        np.savez_compressed(f, **arrays)
    return Path(path)
