"""The archetype matching rule: does one decoded contact map show its body's interaction?

A body's archetype is parsed from its recording name ``<scene>_<archetype>_<k>`` (names of
:data:`posa_model.synth.archetypes.ARCHETYPES`; anything else is ``other``: sampled and
described by the statistics, but not part of any match rate).

Matching rule (one decoded sample of a body of archetype A)
-----------------------------------------------------------
* A network vertex is in contact when sigmoid(contact logit) > 0.5; its class is the argmax of
  the class logits over 1..41 (void excluded), as in :mod:`posa_model.sample`.
* Each network vertex has a body part: the dominant skinning joint of its full-resolution
  vertex, grouped as :data:`posa_model.body.parts.PART_JOINTS` (head, torso, pelvis, thighs,
  shins, feet, arms, hands), taken to the network level through the hierarchy's
  down-selections (:func:`network_part_labels`).
* A's requirements are its ``ARCHETYPES[A].contacts``: a group G (union of body parts) and a
  target, whose implied class set S is: floor -> {floor}; seat of a sitting archetype ->
  {chair, sofa, bed, toilet, stool, cushion}; seat of a lying archetype -> {sofa, bed,
  cushion}; the spot's object -> {wall} (lean_wall), {table} (reach_table), {counter}
  (reach_counter); the spot's target (sit_table) -> {table}. Cushion counts as part of a seat
  because the synthetic sofas carry back cushions of that class (and real sofas seat ones).
* Requirement (G, S) holds when (a) at least ``max(1, ceil(0.03 |G|))`` of G's vertices are in
  contact and (b) at least half of G's contact vertices have a class in S.
* The sample matches A when every requirement holds and (c) at most half of all body vertices
  are in contact (a blanket of contact is no interaction).
* ``exact``: the same with S narrowed to the spot's own class where the archetype names it
  (sit_chair / sit_table -> chair, sit_sofa / lie_sofa -> sofa or cushion, sit_bed / lie_bed ->
  bed, sit_stool -> stool, sit_toilet -> toilet). A prior sample sees only the pose, so this
  asks whether the model learnt which furniture goes with which pose variant.
* A model without semantics is judged on (a) and (c) only.

How the thresholds were calibrated on synthetic data: ``docs/EVALUATION.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..assets import STANDIN_BODY_PATH
from ..classes import CLASS_ID, MPCAT40_NAMES
from ..errors import InputShapeError, PosaError, UnknownNameError
from ..mesh.levels import level_indices

__all__ = [
    "MAX_BODY_FRACTION",
    "MIN_CLASS_SHARE",
    "MIN_PART_FRACTION",
    "OTHER",
    "MatchResult",
    "Requirement",
    "archetype_of",
    "implied_requirements",
    "match_samples",
    "network_part_labels",
    "part_names",
]

OTHER = "other"
#: (a) a requirement's group needs at least this fraction of its vertices in contact.
MIN_PART_FRACTION = 0.03
#: (b) ... and at least this share of its contact vertices with a class in the implied set.
MIN_CLASS_SHARE = 0.5
#: (c) a sample with more than this fraction of all vertices in contact matches nothing.
MAX_BODY_FRACTION = 0.5
SEAT_CLASSES = tuple(CLASS_ID[c] for c in ("chair", "sofa", "bed", "toilet", "stool", "cushion"))
LIE_CLASSES = tuple(CLASS_ID[c] for c in ("sofa", "bed", "cushion"))
#: Classes that count as a piece of furniture of a kind (its parts of other classes).
KIND_CLASSES = {"sofa": (CLASS_ID["sofa"], CLASS_ID["cushion"])}
SPOT_CLASSES = {"wall": (CLASS_ID["wall"],)}  # spot kinds whose object has a fixed class


def part_names() -> tuple[str, ...]:
    """The body part names (:data:`posa_model.body.parts.PART_NAMES`) that part ids index."""
    from ..body.parts import PART_NAMES

    return PART_NAMES


@dataclass(frozen=True)
class Requirement:
    """One implied contact: body ``parts`` (a union), the implied class ids ``classes`` and the
    stricter ``exact`` ids (the spot's own class where the archetype names it)."""

    parts: tuple[str, ...]
    classes: tuple[int, ...]
    exact: tuple[int, ...]

    @property
    def label(self) -> str:
        names = "/".join(MPCAT40_NAMES[c] for c in self.classes)
        return f"{'+'.join(self.parts)} on {names}"


def implied_requirements(archetype: str) -> tuple[Requirement, ...]:
    """The requirements of ``archetype`` (a name of ARCHETYPES), from its ``contacts``."""
    from ..synth.archetypes import ARCHETYPES

    if archetype not in ARCHETYPES:
        raise UnknownNameError(f"unknown archetype {archetype!r}; known: {', '.join(ARCHETYPES)}")
    a = ARCHETYPES[archetype]
    own = tuple(c for k in a.kinds for c in KIND_CLASSES.get(k, (CLASS_ID[k],)))
    out = []
    for parts, target in a.contacts:
        if target == "floor":
            classes = exact = (CLASS_ID["floor"],)
        elif target == "seat":
            classes = LIE_CLASSES if a.spot == "lie" else SEAT_CLASSES
            exact = own or classes
        elif target == "object":
            classes = exact = own or SPOT_CLASSES.get(a.spot, ())
        elif target == "target" and a.fit == "sit_table":
            classes = exact = (CLASS_ID["table"],)
        else:
            classes = ()
        if not classes:
            raise PosaError(f"archetype {archetype!r}: no implied class for contact target "
                            f"{target!r} (extend posa_model.evaluation.rules."
                            "implied_requirements)")
        out.append(Requirement(tuple(parts), tuple(classes), tuple(exact)))
    return tuple(out)


def archetype_of(recording_name: str) -> str:
    """``<scene>_<archetype>_<k>`` -> the archetype if it is a known one, else ``"other"``."""
    from ..synth.archetypes import ARCHETYPES

    _, _, rest = recording_name.partition("_")
    name, _, k = rest.rpartition("_")
    return name if name in ARCHETYPES and k.isdigit() else OTHER


def network_part_labels(hierarchy: Any, level: int,
                        part_of_vertex: np.ndarray | None = None) -> np.ndarray:
    """(N,) int64 body part (index into :func:`part_names`) of each network-level vertex.

    ``part_of_vertex`` (V_full,) gives the full-resolution parts; None derives them from the
    stand-in SMPL-X skinning weights (dominant joint, PART_JOINTS groups), which needs a
    hierarchy whose full mesh has SMPL-X's 10475 vertices. They are taken to ``level`` through
    the hierarchy's down-selections (:func:`posa_model.mesh.levels.level_indices`).
    """
    n_full = int(np.asarray(hierarchy.vertices[0]).shape[0])
    names = part_names()
    if part_of_vertex is None:
        from ..body.parts import part_of_vertex as parts_from_weights

        with np.load(STANDIN_BODY_PATH, allow_pickle=False) as data:
            weights = np.asarray(data["weights"])
        if weights.shape[0] != n_full:
            raise InputShapeError(
                f"the hierarchy's full mesh has {n_full} vertices, the stand-in SMPL-X skinning "
                f"weights ({STANDIN_BODY_PATH}) {weights.shape[0]}: pass the body part of every "
                f"full-resolution vertex (--part-labels, ({n_full},) ints indexing "
                f"{', '.join(names)})")
        part_of_vertex = parts_from_weights(weights)
    parts = np.asarray(part_of_vertex)
    if (parts.shape != (n_full,) or parts.dtype.kind not in "iu" or parts.min() < 0
            or parts.max() >= len(names)):
        raise InputShapeError(f"part labels: expected ({n_full},) ints in 0..{len(names) - 1} "
                              f"({', '.join(names)}), found shape {parts.shape} dtype "
                              f"{parts.dtype}")
    return parts[level_indices(hierarchy, level)].astype(np.int64)


@dataclass
class MatchResult:
    """Per sample (M,) booleans: ``match``, ``exact``, ``blanket`` (too much contact); per
    sample and requirement (M, R): ``ok`` (requirement holds) and ``enough`` (condition a)."""

    match: torch.Tensor
    exact: torch.Tensor
    blanket: torch.Tensor
    ok: torch.Tensor
    enough: torch.Tensor


def match_samples(contact: torch.Tensor, classes: torch.Tensor | None, parts: torch.Tensor,
                  requirements: Sequence[Requirement]) -> MatchResult:
    """Apply the module's matching rule to M samples of one archetype.

    contact: (M, N) bool; classes: (M, N) int64 class ids (only read where contact), or None
    for a model without semantics (conditions a and c only); parts: (N,) int64 part index;
    requirements: the archetype's :func:`implied_requirements`.
    """
    names = part_names()
    m, n = contact.shape
    blanket = contact.float().mean(dim=1) > MAX_BODY_FRACTION
    ok, enough, exact = [], [], []
    for req in requirements:
        group = torch.isin(parts, torch.tensor([names.index(p) for p in req.parts],
                                               device=parts.device))
        size = int(group.sum())
        in_group = contact & group
        count = in_group.sum(dim=1)
        has = count >= max(1, math.ceil(MIN_PART_FRACTION * size))
        enough.append(has)
        if classes is None:
            ok.append(has)
            exact.append(has)
            continue
        for ids, out in ((req.classes, ok), (req.exact, exact)):
            hit = in_group & torch.isin(classes, torch.tensor(ids, device=classes.device))
            share = hit.sum(dim=1) >= MIN_CLASS_SHARE * count  # count > 0 where `has`
            out.append(has & share)
    empty = torch.zeros((m, 0), dtype=torch.bool, device=contact.device)
    ok_t = torch.stack(ok, dim=1) if ok else empty
    exact_t = torch.stack(exact, dim=1) if exact else empty
    enough_t = torch.stack(enough, dim=1) if enough else empty
    valid = bool(requirements)
    return MatchResult(match=ok_t.all(dim=1) & ~blanket & valid,
                       exact=exact_t.all(dim=1) & ~blanket & valid,
                       blanket=blanket, ok=ok_t, enough=enough_t)
