"""Evaluation of a trained POSA model; the command line is ``python -m posa_model.evaluate``.

Modules:
    rules: the archetype matching rule (:func:`match_samples`, :func:`implied_requirements`,
        :func:`archetype_of`, :func:`network_part_labels`).
    prior: prior-sample statistics per archetype (:func:`prior_sample_metrics`).
    reconstruction: reconstruction metrics with z = mu (:func:`reconstruction_metrics`; the
        trainer's validation).
    checkpoint: a checkpoint on a split, as the JSON-ready dict (:func:`evaluate_checkpoint`).

Calibration of the rule on synthetic data: ``docs/EVALUATION.md``.
"""

from __future__ import annotations

from .checkpoint import evaluate_checkpoint
from .prior import ArchetypeStats, prior_sample_metrics
from .reconstruction import reconstruction_metrics
from .rules import (
    MAX_BODY_FRACTION,
    MIN_CLASS_SHARE,
    MIN_PART_FRACTION,
    MatchResult,
    Requirement,
    archetype_of,
    implied_requirements,
    match_samples,
    network_part_labels,
)

__all__ = [
    "MAX_BODY_FRACTION",
    "MIN_CLASS_SHARE",
    "MIN_PART_FRACTION",
    "ArchetypeStats",
    "MatchResult",
    "Requirement",
    "archetype_of",
    "evaluate_checkpoint",
    "implied_requirements",
    "match_samples",
    "network_part_labels",
    "prior_sample_metrics",
    "reconstruction_metrics",
]
