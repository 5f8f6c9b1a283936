"""Writing a synthetic dataset in the reference folder format, never half-written.

Everything goes into a hidden sibling folder ``.<OUT>.tmp-<pid>-<random>`` that is renamed to
``OUT`` only once every file is written (and removed on any error). Layout::

    OUT/train/ and OUT/test/   x.npy (N, 655) float32 distances (m); x_semantics.npy (N, 655)
                               int64 nearest class (not zeroed); vertices.npy, vertices_can.npy
                               (N, 655, 3) float32; joints_can.npy (N, 55, 3) float32;
                               recording_names.json (<scene>_<archetype>_<k>);
                               pkl_file_paths.json (bodies.npz#<row>); bodies.npz (SMPL-X
                               parameters per row: betas, global_orient, body_pose, transl,
                               plus scene and archetype names)
    OUT/scenes/<scene>.glb     one node per object (chair.0 ...); <scene>_objects.json
    OUT/sdf/<scene>.json, <scene>_sdf.npy, <scene>_semantics.npy
    OUT/summary.json, OUT/summary.png
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import PosaError

__all__ = ["SPLIT_FILES", "staging_folder", "write_json", "write_split"]

SPLIT_FILES = ("x.npy", "x_semantics.npy", "vertices.npy", "vertices_can.npy", "joints_can.npy",
               "recording_names.json", "pkl_file_paths.json", "bodies.npz")


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1))


def write_split(folder: Path, arrays: dict) -> None:
    """Write one split folder from ``arrays`` (see the module docstring for the fields)."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "x.npy", np.asarray(arrays["x"], dtype=np.float32))
    np.save(folder / "x_semantics.npy", np.asarray(arrays["x_semantics"], dtype=np.int64))
    np.save(folder / "vertices.npy", np.asarray(arrays["vertices"], dtype=np.float32))
    np.save(folder / "vertices_can.npy", np.asarray(arrays["vertices_can"], dtype=np.float32))
    np.save(folder / "joints_can.npy", np.asarray(arrays["joints_can"], dtype=np.float32))
    write_json(folder / "recording_names.json", list(arrays["recording_names"]))
    n = len(arrays["x"])
    write_json(folder / "pkl_file_paths.json", [f"bodies.npz#{i}" for i in range(n)])
    p = arrays["params"]
    np.savez(folder / "bodies.npz", betas=p.betas, global_orient=p.global_orient,
             body_pose=p.body_pose, transl=p.transl,
             scene=np.asarray(arrays["scenes"], dtype=str),
             archetype=np.asarray(arrays["archetypes"], dtype=str),
             body_model=np.asarray(arrays["body_model"], dtype=str))


@contextmanager
def staging_folder(out: str | os.PathLike, overwrite: bool = False):
    """Yield a fresh temporary folder beside ``out``; on success rename it to ``out``.

    Raises PosaError up front when ``out`` exists (unless ``overwrite``) or its parent cannot
    be written. On any exception the temporary folder is deleted and ``out`` is untouched.
    """
    out = Path(out).expanduser().resolve()
    if out.exists() and not overwrite:
        raise PosaError(f"{out}: already exists; choose another --out or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise PosaError(f"{out}: exists and is not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as exc:
        raise PosaError(f"{out.parent}: cannot create the output folder ({exc})") from exc
    try:
        yield tmp
        (tmp / "COMPLETE").write_text("written by posa_model.synthesize\n")
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
