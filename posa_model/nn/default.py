"""Former home of the default checkpoint; kept only for callers not yet moved.

The shipped files' paths and loaders live in :mod:`posa_model.assets`
(``default_checkpoint_path``, ``standin_frame_regressor``); the writer of the shipped checkpoint
is the build-time tool ``tools/make_default_checkpoint.py``. Import from those; this module goes
once nothing imports it.
"""

from __future__ import annotations

from ..assets import default_checkpoint_path, standin_frame_regressor

__all__ = ["default_checkpoint_path", "standin_frame_regressor"]
