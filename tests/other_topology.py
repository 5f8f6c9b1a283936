"""A body of another topology than the stand-in's, and a checkpoint trained for it.

Used by ``tests/test_other_topology.py`` and the Blender suite to run the whole chain of a user
who brings their own SMPL-X-format body (``convert --body`` -> ``synthesize --body`` ->
``train`` -> ``sample`` -> ``place`` -> Blender) on a mesh nothing in the project was built for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posa_model.body import standin_path

#: Every SPLIT-th face of the stand-in gets a vertex at its centroid (one face becomes three).
SPLIT = 40
#: Per-vertex fields of an SMPL-X model file and the axis that counts vertices.
PER_VERTEX = {"v_template": 0, "shapedirs": 0, "posedirs": 0, "weights": 0, "part_labels": 0,
              "J_regressor": 1}


def write_variant_body(path: Path) -> tuple[int, int]:
    """The stand-in's model file with every :data:`SPLIT`-th face split at its centroid:
    new vertices (appended) blend their corners' template, shape and pose blend shapes and
    skinning weights (and take the first corner's part label); the joint regressor ignores
    them. Kept faces keep their numbers (landmarks stay valid). Returns (vertices, faces)."""
    with np.load(standin_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    faces = arrays["f"].astype(np.int64)
    picked = np.arange(0, len(faces), SPLIT)
    corners = faces[picked]
    centre = len(arrays["v_template"]) + np.arange(len(picked))
    a, b, c = corners.T
    faces[picked] = np.stack([a, b, centre], 1)
    faces = np.concatenate([faces, np.stack([b, c, centre], 1), np.stack([c, a, centre], 1)])
    arrays["f"] = faces.astype(np.uint32)
    for key, axis in PER_VERTEX.items():
        value = arrays[key]
        if key == "J_regressor":
            extra = np.zeros((value.shape[0], len(picked)), value.dtype)
        elif key == "part_labels":
            extra = value[a]
        else:
            extra = np.take(value, corners, axis=0).mean(axis=1).astype(value.dtype)
        arrays[key] = np.concatenate([value, extra], axis=axis)
    np.savez(path, **arrays)
    return len(arrays["v_template"]), len(faces)


def train_for_variant(folder: Path, epochs: int = 3) -> dict[str, Path]:
    """The chain up to a checkpoint, through the command lines a user runs, in ``folder``:
    ``body.npz`` (:func:`write_variant_body`), ``hierarchy.npz`` (``convert --body``), ``data/``
    (``synthesize --body --hierarchy``, 48 bodies standing and sitting) and ``run/`` (``train``,
    a small network for ``epochs`` epochs). Returns those paths and ``checkpoint``."""
    from posa_model import convert, synthesize, train

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"body": folder / "body.npz", "hierarchy": folder / "hierarchy.npz",
             "data": folder / "data", "run": folder / "run"}
    write_variant_body(paths["body"])
    body, hierarchy = str(paths["body"]), str(paths["hierarchy"])
    steps = [
        (convert.main, ["--body", body, "--out", hierarchy]),
        (synthesize.main, ["--body", body, "--hierarchy", hierarchy, "--out", str(paths["data"]),
                           "--bodies", "48", "--seed", "1", "--workers", "1", "--no-picture",
                           "--no-scenes", "--archetypes", "stand,sit_chair",
                           "--bodies-per-scene", "8,16", "--quiet"]),
        (train.main, ["--data", str(paths["data"]), "--hierarchy", hierarchy, "--out-dir",
                      str(paths["run"]), "--epochs", str(epochs), "--batch-size", "4",
                      "--z-dim", "16", "--h-dim", "32", "--channels", "16", "--num-groups", "4",
                      "--network-level", "2", "--lr", "0.003", "--no-progress"]),
    ]
    for main, argv in steps:
        code = main(argv)
        if code != 0:
            raise RuntimeError(f"{main.__module__} {' '.join(argv)} exited {code}")
    return paths | {"checkpoint": paths["run"] / "best.pt"}
