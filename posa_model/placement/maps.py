"""Step 1: sample feature maps per body and keep the ones the scene can satisfy.

A map is *feasible* when at least ``min_present_fraction`` of its predicted-contact vertices
carry a class that some surface of the scene has (``SceneGrid.classes_present()``; seat classes
stand in for each other, :data:`SEAT_EQUIVALENT`). Feasible maps of a body with a target are
ranked first by the share of their contact vertices whose class is one the target offers (the
seat's own class and the floor: a map that says "sofa" for a person on a sofa before one that
says "chair"), then all by the present fraction, then by purity (the share of the contact
vertices carried by the map's two largest present classes: a map that mixes chair, sofa and
toilet on the buttocks matches any one seat worse than a map that says "chair"); the best
``maps_per_body`` are
searched. Seeds: body ``i`` samples with ``seed_for(config.seed, i)``, so a body's maps do not
depend on the other bodies in the call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..classes import CLASS_ID, MPCAT40_NAMES
from .types import PlacementConfig

__all__ = ["SEAT_EQUIVALENT", "TOP_EQUIVALENT", "BodyMaps", "canonical_classes", "choose_maps",
           "describe_classes", "needs_floor", "seed_for"]

#: Classes a sitter's buttocks may touch interchangeably: a map that says "chair" fits a sofa,
#: a stool or a bench (the exact class still ranks maps and is what semantic match measures).
SEAT_EQUIVALENT = frozenset(CLASS_ID[n] for n in (
    "chair", "sofa", "stool", "seating", "toilet", "cushion", "bed"))


#: Classes whose tops hands rest on interchangeably (a map that says "table" fits a counter).
TOP_EQUIVALENT = frozenset(CLASS_ID[n] for n in ("table", "counter", "chest_of_drawers",
                                                  "cabinet"))


def canonical_classes() -> np.ndarray:
    """(42,) int64: each class id, with every seat class of :data:`SEAT_EQUIVALENT` mapped to
    the chair's id and every top of :data:`TOP_EQUIVALENT` to the table's (for comparisons
    where they stand in for each other)."""
    out = np.arange(len(MPCAT40_NAMES), dtype=np.int64)
    out[sorted(SEAT_EQUIVALENT)] = CLASS_ID["chair"]
    out[sorted(TOP_EQUIVALENT)] = CLASS_ID["table"]
    return out


@dataclass
class BodyMaps:
    """The maps kept for one body (full resolution V vertices, M <= maps_per_body maps).

    contact: (M, V) float32 probabilities; semantics: (M, V) int64 classes (0 = no contact);
    map_ids: (M,) sample indices; present: (M,) feasible fraction. ``reason`` explains an empty
    selection; ``fallback`` is the best-ranked map (contact, semantics, index) for outputs.
    required: (M, V) bool, the contacts placement pulls and checks: every predicted contact,
    except, for a body with a target, those of classes its target does not offer (a sitter's
    back predicted on a wall, in the middle of a room) and the target's free vertices; the
    maps themselves (contact, semantics) stay as sampled, for outputs and metrics.
    """

    contact: np.ndarray
    semantics: np.ndarray
    map_ids: np.ndarray
    present: np.ndarray
    reason: str
    fallback: tuple[np.ndarray, np.ndarray, int]
    required: np.ndarray | None = None

    @property
    def feasible(self) -> bool:
        return len(self.map_ids) > 0


_BATCH = 16  # bodies decoded together on a GPU


def seed_for(seed: int, index: int, stream: int = 0) -> int:
    """A 63-bit seed for body ``index`` (and a sub-``stream``) derived from the run's seed."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index), int(stream)])
    return int(state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def describe_classes(semantics: np.ndarray, limit: int = 4) -> str:
    """'floor 70%, chair 30%' for the contact vertices of one map."""
    ids, counts = np.unique(semantics[semantics > 0], return_counts=True)
    if not len(ids):
        return "no contact"
    order = np.argsort(-counts, kind="stable")[:limit]
    total = counts.sum()
    return ", ".join(f"{MPCAT40_NAMES[ids[k]]} {100 * counts[k] / total:.0f}%" for k in order)


def _rank_map(semantics: np.ndarray, present: set[int],
              expected: frozenset | None = None) -> tuple[float, float, int, float]:
    """(present fraction, purity, contact count, expected fraction) of one map's (V,)
    classes; seat classes count as present when any seat class is."""
    contact = semantics[semantics > 0]
    if not len(contact):
        return 0.0, 0.0, 0, 0.0
    canon = canonical_classes()
    in_scene = np.isin(canon[contact], sorted({int(canon[c]) for c in present}))
    ids, counts = np.unique(contact[in_scene], return_counts=True)
    purity = float(np.sort(counts)[-2:].sum() / len(contact)) if len(ids) else 0.0
    wanted = float(np.isin(contact, sorted(expected)).mean()) if expected else 0.0
    return float(in_scene.mean()), purity, len(contact), wanted


def choose_maps(sampler, vertices: list[np.ndarray], present: set[int],
                config: PlacementConfig, progress=None,
                expected: list[frozenset | None] | None = None,
                free: list[np.ndarray | None] | None = None) -> list[BodyMaps]:
    """Sample ``config.maps`` maps per body and keep the feasible ones, best first.

    vertices: per body (V, 3) posed vertices (world frame, any placement). present: the scene's
    class ids. progress: an optional tqdm bar advanced once per body. expected: per body the
    classes its target offers (ranks maps first), or None. free: per body a (V,) bool mask of
    vertices whose predicted contacts are dropped (not required: feet hanging), or None.
    """
    out = []
    batches = {}
    # each body keeps its own seed; decoding is memory bound on a CPU (a body at a time is
    # fastest there), a GPU wants batches
    step = _BATCH if str(getattr(sampler, "device", "cpu")).startswith("cuda") else 1
    for start in range(0, len(vertices), step):
        rows = range(start, min(start + step, len(vertices)))
        samples = sampler.sample(np.stack([vertices[i] for i in rows]), n_samples=config.maps,
                                 seed=[seed_for(config.seed, i) for i in rows],
                                 threshold=config.contact_threshold)
        for j, i in enumerate(rows):
            batches[i] = (samples.contact[j], samples.semantics[j])
    for index in range(len(vertices)):
        contact, semantics = batches.pop(index)
        want = expected[index] if expected is not None else None
        required = contact > config.contact_threshold
        if want:
            canon = canonical_classes()
            required &= np.isin(canon[semantics], sorted({int(canon[c]) for c in want}))
        mask = free[index] if free is not None else None
        if mask is not None:
            required &= ~mask[None]
        ranks = [_rank_map(semantics[k], present, want) for k in range(config.maps)]
        order = sorted(range(config.maps),
                       key=lambda k: (-round(ranks[k][3], 2), -ranks[k][0], -ranks[k][1], k))
        keep = [k for k in order if ranks[k][0] >= config.min_present_fraction
                and ranks[k][2] >= config.min_contact_vertices][: config.maps_per_body]
        best = order[0]
        reason = ""
        if not keep:
            names = ", ".join(MPCAT40_NAMES[c] for c in sorted(present)) or "none"
            reason = (f"no feasible feature map: in the best of {config.maps} maps "
                      f"({describe_classes(semantics[best])}) only "
                      f"{100 * ranks[best][0]:.0f}% of the contact vertices touch classes the "
                      f"scene has ({names}); {100 * config.min_present_fraction:.0f}% needed")
            if ranks[best][2] < config.min_contact_vertices:
                reason = (f"no feasible feature map: the best map predicts only "
                          f"{ranks[best][2]} contact vertices "
                          f"(min_contact_vertices = {config.min_contact_vertices})")
        out.append(BodyMaps(
            contact=contact[keep], semantics=semantics[keep],
            map_ids=np.asarray(keep, dtype=np.int64),
            present=np.asarray([ranks[k][0] for k in keep]), reason=reason,
            fallback=(contact[best], semantics[best], int(best)), required=required[keep]))
        if progress is not None:
            progress.update(1)
    return out


def needs_floor(maps: BodyMaps, share: float = 0.2) -> bool:
    """Whether the body's best map puts at least ``share`` of its contact vertices on the floor."""
    semantics = maps.fallback[1]
    contact = semantics[semantics > 0]
    return bool(len(contact)) and float((contact == CLASS_ID["floor"]).mean()) >= share
