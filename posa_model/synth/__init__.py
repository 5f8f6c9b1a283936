"""Synthetic training data: procedural rooms populated with fitted, labelled bodies.

    >>> from posa_model.synth import SynthConfig, synthesize
    >>> report = synthesize(SynthConfig(bodies=2000, seed=1), "data/synth")

Modules (pure numpy/torch, no Blender):

* :mod:`.primitives`: oriented boxes, analytic signed distances, ray sweeps.
* :mod:`.furniture`: the catalogue (chair, stool, sofa, bed, toilet, table, coffee table,
  counter, cabinet, shelving, bathtub) with randomised sizes and styles.
* :mod:`.rooms`: room types and layouts; :mod:`.scene`: the scene and its distance queries.
* :mod:`.archetypes`: interactions (sit, lie, lean, kneel, reach, stand) and pose noise.
* :mod:`.fitting`: placing bodies so contacts are real and penetration stays under 1 cm.
* :mod:`.labels`: per-vertex distance / class labels and the canonical frame.
* :mod:`.sdf`, :mod:`.export`: scene SDF grids (reference format) and GLB meshes.
* :mod:`.dataset`, :mod:`.pipeline`, :mod:`.writer`, :mod:`.summary`, :mod:`.render`: the run.

Command line: ``python -m posa_model.synthesize --out D --bodies 2000 --seed 1``.
"""

from __future__ import annotations

from .archetypes import ARCHETYPES, Archetype, archetype_names, parse_archetypes
from .dataset import SynthConfig, Synthesizer, plan_scenes
from .fitting import CONTACT_TOLERANCE, PENETRATION_TOLERANCE, fit_jobs
from .furniture import CATALOGUE, BodyDims, build_furniture
from .labels import CONTACT_THRESHOLD, LabelMaker
from .pipeline import SynthesisReport, synthesize
from .primitives import Boxes, box_signed_distance, sweep_distance
from .rooms import ROOM_TYPES, generate_room
from .scene import Scene, SceneObject, Spot
from .sdf import compute_sdf_grid

__all__ = [
    "ARCHETYPES", "CATALOGUE", "CONTACT_THRESHOLD", "CONTACT_TOLERANCE",
    "PENETRATION_TOLERANCE", "ROOM_TYPES", "Archetype", "BodyDims", "Boxes", "LabelMaker",
    "Scene", "SceneObject", "Spot", "SynthConfig", "SynthesisReport", "Synthesizer",
    "archetype_names", "box_signed_distance", "build_furniture", "compute_sdf_grid", "fit_jobs",
    "generate_room", "parse_archetypes", "plan_scenes", "sweep_distance", "synthesize",
]  # fmt: skip
