"""The exception hierarchy of posa_model.

Every error a user can cause (a missing file, a malformed array, a checkpoint for another mesh)
raises a subclass of :class:`PosaError` whose message names the file, the field, what was
expected and what was found. ``assert`` is never used for user input.
"""

from __future__ import annotations


class PosaError(Exception):
    """Base class of every error raised on purpose by posa_model."""


class ModelFileError(PosaError):
    """A body-model file (SMPL-X .npz/.pkl or a folder of them) is missing or malformed."""


class InputShapeError(PosaError, ValueError):
    """An array handed to a public function has the wrong shape, dtype or values."""


class HierarchyError(PosaError):
    """A mesh hierarchy cannot be built or a stored one (cache, mesh_ds folder) is invalid."""


class CheckpointError(PosaError):
    """A checkpoint is missing, malformed, or does not match the mesh hierarchy in use."""
