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
    OUT/COMPLETE               written last: "written by posa_model.synthesize" + format line;
                               ``--overwrite`` replaces only folders that hold it
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import PosaError

__all__ = ["MARKER", "SPLIT_FILES", "is_synthetic_dataset", "recover_dataset", "staging_folder",
           "write_json", "write_split"]

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


#: The marker file written last into a finished dataset; its first line says it is ours.
MARKER = "COMPLETE"
MARKER_TEXT = "written by posa_model.synthesize\nformat: posa_model.synthetic_dataset 1\n"
_MARKER_FIRST_LINE = "written by posa_model.synthesize"
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d{1,10})-[0-9a-f]{8}$")


def is_synthetic_dataset(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a finished dataset written by ``posa_model.synthesize``: a folder
    holding the :data:`MARKER` file whose first line is ours. Never raises."""
    from ..io_utils import read_text_bounded

    path = Path(folder) / MARKER
    try:
        text = read_text_bounded(path, "dataset marker", max_bytes=4096)
    except PosaError:
        return False
    return text.splitlines()[:1] == [_MARKER_FIRST_LINE]


def _pid_alive(pid: int) -> bool:
    from ..cli import _pid_alive as alive

    return alive(pid)


def _staging_dirs(out: Path) -> list[tuple[Path, str, int]]:
    """Our hidden staging (``tmp``) and swapped-out (``old``) siblings of ``out``:
    (path, kind, pid)."""
    try:
        names = os.listdir(out.parent)
    except OSError:
        return []
    found = []
    for name in names:
        match = _STAGING.match(name)
        if match and match["name"] == out.name:
            found.append((out.parent / name, match["kind"], int(match["pid"])))
    return found


def recover_dataset(out: str | os.PathLike) -> str | None:
    """Finish or undo a swap a killed ``synthesize --overwrite`` left, and remove dead runs'
    staging folders. Returns what was done ("rolled forward", "restored") or None.

    If ``out`` is missing while a finished staging folder (with its marker) of a dead run
    exists, that one is renamed to ``out`` (the run had committed); else a swapped-out old
    dataset is renamed back. Then every other staging / old folder of a dead run is deleted
    (they are ours by name; nothing else is touched).
    """
    out = Path(out)
    dead = [(p, kind) for p, kind, pid in _staging_dirs(out) if not _pid_alive(pid)]
    action = None
    if not os.path.lexists(out):
        finished = [p for p, kind in dead if kind == "tmp" and is_synthetic_dataset(p)]
        old = [p for p, kind in dead if kind == "old" and is_synthetic_dataset(p)]
        choice = max(finished, key=lambda p: p.stat().st_mtime) if finished else (
            old[0] if old else None)
        if choice is not None:
            os.replace(choice, out)
            action = "rolled forward" if choice in finished else "restored"
    for path, _ in dead:
        if os.path.lexists(path) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
    return action


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system or file system cannot, so that the caller falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@contextmanager
def staging_folder(out: str | os.PathLike, overwrite: bool = False):
    """Yield a fresh temporary folder beside ``out``; on success it becomes ``out``.

    Before anything: a swap a killed run left is recovered (:func:`recover_dataset`). Raises
    PosaError up front when ``out`` exists (unless ``overwrite``), is not a folder, is a folder
    that is neither empty nor a dataset of ours (``--overwrite`` never deletes what we did not
    write), or its parent cannot be written. On any exception the temporary folder is deleted
    and ``out`` is untouched.

    Replacing an existing ``out`` is atomic where the system can swap two folders (Linux);
    elsewhere the old one is renamed aside, the new one in, the old one deleted, and a kill
    between the two renames is undone by the next run.
    """
    out = Path(out).expanduser().resolve()
    recover_dataset(out)
    if os.path.lexists(out):
        if not overwrite:
            raise PosaError(f"{out}: already exists; choose another --out or pass --overwrite")
        if not out.is_dir():
            raise PosaError(f"{out}: exists and is not a folder")
        try:
            empty = not any(out.iterdir())
        except OSError as exc:
            raise PosaError(f"{out}: cannot be read ({exc})") from exc
        if not empty and not is_synthetic_dataset(out):
            raise PosaError(
                f"{out}: --overwrite replaces only a dataset written by posa_model.synthesize "
                f"(a folder with its {MARKER} marker); this folder has none, so it is left "
                "alone: choose another --out or remove it yourself")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()
    except OSError as exc:
        raise PosaError(f"{out.parent}: cannot create the output folder ({exc})") from exc
    old = None
    try:
        yield tmp
        (tmp / MARKER).write_text(MARKER_TEXT)
        if not os.path.lexists(out):
            os.replace(tmp, out)
        elif _exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old dataset
        else:
            old = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        if old is not None and not os.path.lexists(out) and os.path.lexists(old):
            os.replace(old, out)  # an error between the two renames: put the old one back
        if os.path.lexists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
        raise
