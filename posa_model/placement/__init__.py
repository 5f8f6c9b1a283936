"""The machinery of :mod:`posa_model.place`: batched affordance placement of many bodies.

Modules: :mod:`.api` (:func:`~.api.place_bodies`, :func:`~.api.refine_placement`), :mod:`.types`
(the API's dataclasses), :mod:`.maps` (feature maps), :mod:`.candidates` (top surfaces,
candidates), :mod:`.floor` (the floor's height field), :mod:`.surface` (the class of the
nearest surface), :mod:`.losses` (batched losses), :mod:`.bodies` (body-body SDFs),
:mod:`.posing` (poses that adapt), :mod:`.select` (greedy choice without overlaps),
:mod:`.touches` (required contacts), :mod:`.metrics`, :mod:`.pipeline` (the steps together),
:mod:`.output` (GLB, JSON, NPZ). The command line, ``python -m posa_model.place``, is
:mod:`posa_model.populate.cli`.
"""

from .types import BodyRequest, PlacedBody, PlacementConfig, PlacementResult, yaw_matrix

__all__ = ["BodyRequest", "PlacedBody", "PlacementConfig", "PlacementResult", "yaw_matrix"]
