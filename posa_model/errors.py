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


class FileFormatError(PosaError, ValueError):
    """A file is not a regular file, is larger than a loader allows, or is malformed.

    The default error of the bounded readers in :mod:`posa_model.io_utils`; loaders pass their
    own subclass of :class:`PosaError` (e.g. :class:`CheckpointError`) instead.
    """


class ModelConfigError(CheckpointError, ValueError):
    """A model configuration has a field of the wrong type or out of its range."""
