"""The machinery of :mod:`posa_model.place`: batched affordance placement of many bodies.

Modules: :mod:`.types` (the API's dataclasses), :mod:`.maps` (feature maps), :mod:`.candidates`
(top surfaces, candidates), :mod:`.losses` (batched losses), :mod:`.bodies` (body-body SDFs),
:mod:`.select` (greedy choice without overlaps), :mod:`.refine` (joint refinement),
:mod:`.metrics`, :mod:`.pipeline` (the steps together), :mod:`.output` (GLB, JSON, NPZ),
:mod:`.cli` (``python -m posa_model.place``).
"""

from .types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult, yaw_matrix

__all__ = ["BodyRequest", "PlacedBody", "PlacementConfig", "PlacementResult", "yaw_matrix"]
