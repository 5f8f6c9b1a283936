"""One named triangle mesh of a scene with its MPCAT40 class: the input of the scene grids.

Frame: SMPL-X world (+y up, metres). Loaders (:mod:`.files`) convert other frames on the way in,
so every :class:`MeshObject` is already in the frame placement works in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classes import MPCAT40_NAMES, NUM_CLASSES
from ..errors import InputShapeError

__all__ = ["CLASS_SOURCES", "MeshObject"]

#: Where a class can come from; ``"guess:<word>"`` names the word of the object's name that
#: matched (see :func:`posa_model.scene.labels.guess_class`).
CLASS_SOURCES: tuple[str, ...] = ("label", "classes", "guess:<word>", "none")


@dataclass(eq=False)
class MeshObject:
    """A named triangle mesh with a class.

    ``vertices`` (V, 3) float64, SMPL-X world (+y up, metres); ``faces`` (F, 3) int64 indices into
    ``vertices`` (counter-clockwise seen from outside, the glTF/OBJ convention); ``class_id`` the
    MPCAT40 id (0 = unlabelled, never guessed); ``class_source`` where it came from: ``"label"``
    (the file's own extras/metadata/sidecar), ``"classes"`` (a user mapping), ``"guess:<word>"``
    (guessed from the name, ``<word>`` the word that matched) or ``"none"``.

    The arrays are converted to those dtypes and checked (non-empty, finite, face indices in
    range); errors name the object.
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    class_id: int = 0
    class_source: str = "none"

    def __post_init__(self) -> None:
        who = f"object {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise InputShapeError(f"object name: expected a non-empty string, found {self.name!r}")
        vertices = np.asarray(self.vertices)
        faces = np.asarray(self.faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) == 0:
            raise InputShapeError(f"{who}: vertices: expected shape (V, 3) with V >= 1, found "
                                  f"{vertices.shape}")
        if vertices.dtype.kind not in "fiu":
            raise InputShapeError(f"{who}: vertices: expected numbers, found dtype "
                                  f"{vertices.dtype}")
        vertices = np.ascontiguousarray(vertices, dtype=np.float64)
        if not np.isfinite(vertices).all():
            bad = int((~np.isfinite(vertices).all(axis=1)).sum())
            raise InputShapeError(f"{who}: vertices: expected finite coordinates, found {bad} "
                                  f"vertices with NaN or infinity")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise InputShapeError(f"{who}: faces: expected shape (F, 3) with F >= 1 (triangles), "
                                  f"found {faces.shape}")
        if faces.dtype.kind not in "iu":
            raise InputShapeError(f"{who}: faces: expected integer indices, found dtype "
                                  f"{faces.dtype}")
        faces = np.ascontiguousarray(faces, dtype=np.int64)
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise InputShapeError(f"{who}: faces: expected indices in 0..{len(vertices) - 1}, "
                                  f"found {faces.min()}..{faces.max()}")
        class_id = int(self.class_id)
        if not 0 <= class_id < NUM_CLASSES:
            raise InputShapeError(f"{who}: class_id: expected an MPCAT40 id in "
                                  f"0..{NUM_CLASSES - 1}, found {self.class_id}")
        source = self.class_source
        if source not in ("label", "classes", "none") and not (
            isinstance(source, str) and source.startswith("guess:") and len(source) > 6
        ):
            raise InputShapeError(f"{who}: class_source: expected 'label', 'classes', "
                                  f"'guess:<word>' or 'none', found {source!r}")
        self.vertices, self.faces, self.class_id = vertices, faces, class_id

    @property
    def class_name(self) -> str:
        """The MPCAT40 name of :attr:`class_id` (``"void"`` when unlabelled)."""
        return MPCAT40_NAMES[self.class_id]

    def bounds(self) -> np.ndarray:
        """(2, 3) float64 [min corner, max corner] of the vertices used by faces (metres)."""
        used = self.vertices[np.unique(self.faces)]
        return np.stack([used.min(axis=0), used.max(axis=0)])

    def __repr__(self) -> str:
        return (f"MeshObject({self.name!r}, {len(self.vertices)} vertices, {len(self.faces)} "
                f"faces, class {self.class_name} ({self.class_id}) from {self.class_source})")
