"""The exception hierarchy of posa_model: every exception class it defines is defined here.

Every error a user can cause (a missing file, a malformed array, a checkpoint for another mesh)
raises a subclass of :class:`PosaError` whose message names the file, the field, what was
expected and what was found. ``assert`` is never used for user input.

    PosaError
    +-- ModelFileError           a body-model file
    +-- InputShapeError          an array's shape, dtype or values (also a ValueError)
    +-- UnknownNameError         a name that is not one of the known ones (also a ValueError)
    +-- ConfigError              a setting out of its range or of the wrong type (also a ValueError)
    +-- HierarchyError           a mesh hierarchy
    +-- CheckpointError          a checkpoint
    |   +-- ModelConfigError     a model configuration (also a ValueError)
    |   +-- BodyMeshMismatch     a body that is not the checkpoint's mesh
    +-- FileFormatError          a file the bounded readers refuse (also a ValueError)
    +-- DatasetError             a training-data file (also a ValueError)
    +-- DeviceUnavailableError   CUDA asked for but absent
    +-- UsageError               a command line that cannot work (also a ValueError)
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


class UnknownNameError(PosaError, ValueError):
    """A name (a pose preset, a body part, a gender, a view, ...) that is not one of the known
    ones; the message lists them."""


class ConfigError(PosaError, ValueError):
    """A setting is unknown, out of its range or of the wrong type; the message names the
    field."""


class BodyMeshMismatch(CheckpointError):
    """A body's mesh is not the mesh (topology and vertex order) a checkpoint was trained on."""


class DatasetError(PosaError, ValueError):
    """A training-data file is missing or malformed; the message names the file and field."""


class DeviceUnavailableError(PosaError):
    """The user asked for CUDA but no usable CUDA device is present."""


class UsageError(PosaError, ValueError):
    """A command line that cannot work: an output that is an input, an unwritable folder, ..."""
