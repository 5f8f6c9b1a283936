"""Evaluate a trained POSA checkpoint: reconstruction metrics and archetype match of prior samples.

    python -m posa_model.evaluate --checkpoint runs/r1/best.pt --data data/synth --out m.json
        [--split test] [--samples 8] [--seed 0] [--device auto] [--hierarchy H]
        [--part-labels parts.npy] [--batch-size 256]

1. Reconstruction (z = mu) on the split, by :func:`posa_model.train.evaluate`: loss, KL, BCE,
   CE, contact precision / recall / F1 at 0.5, semantic accuracy on contact vertices (object
   classes, as sampling decodes them; and with void included: :mod:`.training.metrics`).
2. Prior samples: for every body of the split, ``--samples`` feature maps decoded at the network
   level from z ~ N(0, I) (one seeded CPU ``torch.Generator``, one (samples, z_dim) draw per body
   in split order, so the numbers do not depend on ``--batch-size`` or the device's batching)
   and the body's ``vertices_can``; each sample is checked against the interaction archetype
   parsed from the body's recording name ``<scene>_<archetype>_<k>`` (names of
   :data:`posa_model.synth.archetypes.ARCHETYPES`; anything else is ``other``: sampled and
   described, but not part of any match rate). The same rule is applied to the split's own
   labels (``ground_truth_match_rate``): the ceiling a model can reach on this data.

Matching rule (one decoded sample of a body of archetype A)
-----------------------------------------------------------
* A network vertex is in contact when sigmoid(contact logit) > 0.5; its class is the argmax of
  the class logits over 1..41 (void excluded), as in :mod:`posa_model.sample`.
* Each network vertex has a body part: the dominant skinning joint of its full-resolution
  vertex, grouped as :data:`posa_model.body.parts.PART_JOINTS` (head, torso, pelvis, thighs,
  shins, feet, arms, hands), taken through the hierarchy selections ``down[0]``, ``down[1]``.
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
* ``exact_match_rate``: the same with S narrowed to the spot's own class where the archetype
  names it (sit_chair / sit_table -> chair, sit_sofa / lie_sofa -> sofa or cushion, sit_bed /
  lie_bed -> bed, sit_stool -> stool, sit_toilet -> toilet). A prior sample sees only the
  pose, so this asks whether the model learnt which furniture goes with which pose variant.
* A model without semantics is judged on (a) and (c) only (``"semantics": false``).

Calibration (2,000 synthetic bodies, ``posa_model.synthesize --seed 5``): the labels of 1,998
match (two reach_table bodies at a wall have most hand contacts labelled wall); the smallest
group fraction in the labels is 0.033 (sit_table hands+arms on the table, then lie_sofa 0.037),
the largest whole-body contact fraction 0.26. Lying bodies are grouped as their archetype says
(torso+pelvis+thighs+arms): in the data of that calibration most lie_bed bodies rested on
their arms with no torso/pelvis vertex within 5 cm. The generator now rejects lying bodies whose
torso is more than 1 cm above the mattress or seat (median 0.4 cm on beds, 0.9 cm on sofas), so
the group is generous for today's data.
Random per-vertex contacts and classes fail (b) (about |S|/41 of contact vertices land in S).

Python API: :func:`evaluate_checkpoint` (everything, as the JSON dict),
:func:`prior_sample_metrics` (the ``prior`` section for any model with ``decode_logits``),
:func:`match_samples` (the rule on (M, N) contact / class tensors), :func:`implied_requirements`,
:func:`archetype_of`, :func:`network_part_labels`.

Per archetype the JSON also has: the contact fraction per body part, the whole-body and
implied-part contact fractions, per-requirement rates, and the class histogram of sampled
contact vertices. It is written atomically, with the checkpoint's meta and the data path.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .classes import CLASS_ID, MPCAT40_NAMES, NUM_CLASSES
from .data import PosaDataset
from .errors import InputShapeError, PosaError
from .io_utils import atomic_write

__all__ = [
    "MAX_BODY_FRACTION",
    "MIN_CLASS_SHARE",
    "MIN_PART_FRACTION",
    "ArchetypeStats",
    "Requirement",
    "archetype_of",
    "evaluate_checkpoint",
    "implied_requirements",
    "main",
    "match_samples",
    "network_part_labels",
    "prior_sample_metrics",
]

FORMAT = "posa_model.evaluate"
FORMAT_VERSION = 1
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


def _part_names() -> tuple[str, ...]:
    from .body.parts import PART_NAMES

    return PART_NAMES


# =================================================================================== the rule
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
    from .synth.archetypes import ARCHETYPES

    if archetype not in ARCHETYPES:
        raise InputShapeError(f"unknown archetype {archetype!r}; known: {', '.join(ARCHETYPES)}")
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
                            f"{target!r} (extend posa_model.evaluate.implied_requirements)")
        out.append(Requirement(tuple(parts), tuple(classes), tuple(exact)))
    return tuple(out)


def archetype_of(recording_name: str) -> str:
    """``<scene>_<archetype>_<k>`` -> the archetype if it is a known one, else ``"other"``."""
    from .synth.archetypes import ARCHETYPES

    _, _, rest = recording_name.partition("_")
    name, _, k = rest.rpartition("_")
    return name if name in ARCHETYPES and k.isdigit() else OTHER


def network_part_labels(hierarchy: Any, level: int,
                        part_of_vertex: np.ndarray | None = None) -> np.ndarray:
    """(N,) int64 body part (index into PART_NAMES) of each network-level vertex.

    ``part_of_vertex`` (V_full,) gives the full-resolution parts; None derives them from the
    stand-in SMPL-X skinning weights (dominant joint, PART_JOINTS groups), which needs a
    hierarchy whose full mesh has SMPL-X's 10475 vertices. They are taken to ``level`` through
    ``hierarchy.down[0..level-1]``.
    """
    n_full = int(np.asarray(hierarchy.vertices[0]).shape[0])
    names = _part_names()
    if part_of_vertex is None:
        from .body.parts import part_of_vertex as parts_from_weights
        from .mesh.hierarchy import STANDIN_BODY_PATH

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
    index = np.arange(n_full)
    for k in range(level):
        index = index[np.asarray(hierarchy.down[k])]
    return parts[index].astype(np.int64)


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
    for a model without semantics (conditions a and c only); parts: (N,) int64 PART_NAMES index;
    requirements: the archetype's :func:`implied_requirements`.
    """
    names = _part_names()
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


# ============================================================================ the statistics
class ArchetypeStats:
    """Integer counts over the samples (and label maps) of one archetype, so the result does not
    depend on how bodies were batched; :meth:`to_dict` turns them into the JSON's rates."""

    def __init__(self, name: str, parts: np.ndarray, semantics: bool):
        self.name = name
        self.requirements = implied_requirements(name) if name != OTHER else ()
        self.parts = torch.as_tensor(parts)
        self.semantics = semantics
        names = _part_names()
        self.part_sizes = np.bincount(parts, minlength=len(names))
        self.bodies = self.samples = self.bodies_any = 0
        self.match = self.exact = self.blanket = self.gt_match = self.gt_exact = 0
        self.req_ok = np.zeros(len(self.requirements), dtype=np.int64)
        self.req_enough = np.zeros(len(self.requirements), dtype=np.int64)
        self.part_contacts = np.zeros(len(names), dtype=np.int64)  # summed over samples
        self.class_counts = np.zeros(NUM_CLASSES, dtype=np.int64)

    def add(self, contact: torch.Tensor, classes: torch.Tensor | None, bodies: int) -> None:
        """``bodies`` bodies x n samples, rows body-major: contact (b * n, N) bool, classes
        (b * n, N) int64 or None."""
        parts = self.parts.to(contact.device)
        self.bodies += bodies
        self.samples += contact.shape[0]
        per_vertex = contact.sum(dim=0).cpu().numpy()  # (N,) samples in contact (exact ints)
        self.part_contacts += np.bincount(self.parts.numpy(), weights=per_vertex,
                                          minlength=len(self.part_contacts)).astype(np.int64)
        if classes is not None:
            self.class_counts += np.bincount(classes[contact].cpu().numpy(),
                                             minlength=NUM_CLASSES)
        if self.requirements:
            r = match_samples(contact, classes, parts, self.requirements)
            self.match += int(r.match.sum())
            self.exact += int(r.exact.sum())
            self.blanket += int(r.blanket.sum())
            self.req_ok += r.ok.sum(dim=0).cpu().numpy()
            self.req_enough += r.enough.sum(dim=0).cpu().numpy()
            self.bodies_any += int(r.match.reshape(bodies, -1).any(dim=1).sum())

    def add_labels(self, contact: torch.Tensor, labels: torch.Tensor) -> None:
        """The rule on the split's labels: contact (b, N) bool, labels (b, N) int64."""
        if self.requirements:
            r = match_samples(contact, labels, self.parts.to(contact.device), self.requirements)
            self.gt_match += int(r.match.sum())
            self.gt_exact += int(r.exact.sum())

    def to_dict(self) -> dict[str, Any]:
        known = bool(self.requirements)
        names = _part_names()

        def rate(count: int, n: int) -> float | None:
            return count / n if known and n else None

        def fraction(contacts: int, vertices: int) -> float | None:
            return contacts / (self.samples * vertices) if self.samples and vertices else None

        implied = [names.index(p) for p in names if p in {q for r in self.requirements
                                                          for q in r.parts}]
        total = int(self.class_counts.sum())
        order = np.argsort(-self.class_counts, kind="stable")
        histogram = {MPCAT40_NAMES[i]: int(self.class_counts[i]) for i in order
                     if self.class_counts[i] > 0}
        return {
            "bodies": self.bodies,
            "samples": self.samples,
            "match_rate": rate(self.match, self.samples),
            "exact_match_rate": rate(self.exact, self.samples) if self.semantics else None,
            "bodies_with_a_match": rate(self.bodies_any, self.bodies),
            "ground_truth_match_rate": rate(self.gt_match, self.bodies),
            "ground_truth_exact_match_rate": rate(self.gt_exact, self.bodies),
            "blanket_rate": rate(self.blanket, self.samples),
            "requirements": [
                {"label": r.label, "parts": list(r.parts),
                 "classes": [MPCAT40_NAMES[c] for c in r.classes],
                 "exact_classes": [MPCAT40_NAMES[c] for c in r.exact],
                 "vertices": int(self.part_sizes[[names.index(p) for p in r.parts]].sum()),
                 "rate": rate(int(self.req_ok[i]), self.samples),
                 "contact_rate": rate(int(self.req_enough[i]), self.samples)}
                for i, r in enumerate(self.requirements)],
            "mean_implied_contact_fraction": (
                fraction(int(self.part_contacts[implied].sum()),
                         int(self.part_sizes[implied].sum())) if known else None),
            "mean_contact_fraction": fraction(int(self.part_contacts.sum()),
                                              int(self.part_sizes.sum())),
            "part_contact_fraction": {p: fraction(int(c), int(n)) for p, c, n in zip(
                names, self.part_contacts, self.part_sizes, strict=True)},
            "class_histogram": histogram,
            "class_fraction": {k: v / total for k, v in histogram.items()},
        }


@torch.no_grad()
def prior_sample_metrics(model: Any, dataset: PosaDataset, parts: np.ndarray, n_samples: int = 8,
                         seed: int = 0, batch_size: int = 256, threshold: float = 0.5,
                         device: torch.device | str | None = None) -> dict[str, Any]:
    """Decode ``n_samples`` prior maps per body of ``dataset`` and score them per archetype.

    model: anything with ``config.z_dim``, ``config.use_semantics`` and
    ``decode_logits(z (B, z_dim), vertices (B, N, 3)) -> (B, N, F)`` (a POSA model);
    parts: (N,) PART_NAMES index per network vertex (:func:`network_part_labels`);
    batch_size: decoded maps per decoder call. Returns the ``prior`` section of the JSON.

    Raises:
        PosaError: no recording name of the split names a known archetype.
    """
    if not isinstance(n_samples, int) or n_samples < 1:
        raise InputShapeError(f"n_samples must be a positive int, got {n_samples!r}")
    if device is None:
        device = next(iter(model.parameters())).device
    device = torch.device(device)
    archetypes = [archetype_of(n) for n in dataset.recording_names]
    if all(a == OTHER for a in archetypes):
        from .synth.archetypes import ARCHETYPES

        raise PosaError(
            f"{dataset.root / 'recording_names.json'}: no recording name names an archetype "
            f"(expected <scene>_<archetype>_<k> with an archetype among "
            f"{', '.join(ARCHETYPES)}; found e.g. {dataset.recording_names[:3]})")
    semantics = bool(model.config.use_semantics)
    if parts.shape != (dataset.num_vertices,):
        raise InputShapeError(f"part labels: expected ({dataset.num_vertices},), found "
                              f"{parts.shape}")
    stats = {a: ArchetypeStats(a, parts, semantics) for a in sorted(set(archetypes))}
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    z_dim = int(model.config.z_dim)
    per_call = max(1, batch_size // n_samples)
    for start in range(0, len(dataset), per_call):
        rows = np.arange(start, min(len(dataset), start + per_call))
        batch = dataset.get_batch(rows)
        z = torch.stack([torch.randn((n_samples, z_dim), generator=generator) for _ in rows])
        vertices = batch.vertices.to(device).repeat_interleave(n_samples, dim=0)
        logits = model.decode_logits(z.reshape(-1, z_dim).to(device), vertices).float()
        contact = torch.sigmoid(logits[..., 0]) > threshold
        classes = logits[..., 2:].argmax(dim=-1) + 1 if semantics else None
        truth = (batch.contact > 0.5).to(device)
        labels = batch.labels.to(device)
        names = np.asarray([archetypes[i] for i in rows])
        for name in np.unique(names):
            local = np.flatnonzero(names == name)
            sample_rows = torch.as_tensor((local[:, None] * n_samples
                                           + np.arange(n_samples)).reshape(-1), device=device)
            stats[name].add(contact[sample_rows],
                            None if classes is None else classes[sample_rows], len(local))
            body_rows = torch.as_tensor(local, device=device)
            stats[name].add_labels(truth[body_rows], labels[body_rows])
    per = {name: s.to_dict() for name, s in stats.items()}
    known = [s for name, s in stats.items() if name != OTHER]
    samples = sum(s.samples for s in known)
    bodies = sum(s.bodies for s in known)
    return {
        "samples_per_body": n_samples,
        "seed": int(seed),
        "threshold": threshold,
        "semantics": semantics,
        "rule": {"min_part_fraction": MIN_PART_FRACTION, "min_class_share": MIN_CLASS_SHARE,
                 "max_body_fraction": MAX_BODY_FRACTION},
        "bodies": bodies,
        "samples": samples,
        "other_bodies": stats[OTHER].bodies if OTHER in stats else 0,
        "match_rate": sum(s.match for s in known) / samples,
        "match_rate_macro": float(np.mean([per[s.name]["match_rate"] for s in known])),
        "exact_match_rate": sum(s.exact for s in known) / samples if semantics else None,
        "ground_truth_match_rate": sum(s.gt_match for s in known) / bodies,
        "part_vertices": {p: int(c) for p, c in zip(
            _part_names(), np.bincount(parts, minlength=len(_part_names())), strict=True)},
        "archetypes": per,
    }


# ============================================================================ the whole run
def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy / tensor scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def evaluate_checkpoint(checkpoint: str | Path, data: str | Path, split: str = "test",
                        n_samples: int = 8, seed: int = 0, device: str = "auto",
                        hierarchy: Any = None, part_labels: np.ndarray | None = None,
                        batch_size: int = 256) -> dict[str, Any]:
    """Everything ``python -m posa_model.evaluate`` computes, as the JSON-ready dict.

    ``hierarchy``: a MeshHierarchy, a saved ``.npz`` or a ``mesh_ds`` folder (None = the one
    the checkpoint carries, else the stand-in's);
    ``part_labels``: (V_full,) part per full-resolution vertex (None = stand-in SMPL-X).

    Raises:
        CheckpointError: missing/bad checkpoint, or a hierarchy other than the checkpoint's.
        PosaError: missing data, a split without archetype names, bad part labels.
    """
    from .device import resolve_device
    from .nn.checkpoint import build_model, read_checkpoint
    from .sample import resolve_hierarchy
    from .train import evaluate as reconstruction_metrics
    from .training.config import TrainConfig

    ckpt = read_checkpoint(checkpoint)
    root = Path(data)
    if not root.is_dir():
        raise PosaError(f"data folder not found: {root} (expected a folder with train/ and "
                        "test/ in the reference format)")
    if not (root / split).is_dir():
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise PosaError(f"{root}: has no split folder {split!r} (found {found})")
    if hierarchy is None and ckpt.hierarchy is not None:
        hier = ckpt.hierarchy  # the checkpoint carries its own (converted / --hierarchy runs)
    else:
        hier = resolve_hierarchy(hierarchy)
    model = build_model(ckpt, hier)  # CheckpointError on a hierarchy mismatch
    dev = resolve_device(device)
    model = model.to(dev).eval()
    saved = ckpt.extra.get("train_config")
    base = (TrainConfig.from_dict(saved, source=f"{ckpt.path} extra.train_config")
            if isinstance(saved, dict) else TrainConfig())
    config = dataclasses.replace(base, use_semantics=model.config.use_semantics,
                                 batch_size=batch_size, num_workers=0, bf16=False,
                                 compile=False, progress=False)
    dataset = PosaDataset(root / split, num_vertices=model.num_vertices,
                          contact_threshold=config.contact_threshold,
                          remap_classes=config.remap_classes,
                          use_semantics=config.use_semantics)
    if len(dataset) == 0:
        raise PosaError(f"{root / split}: the split has no bodies")
    parts = network_part_labels(hier, model.config.network_level, part_labels)
    recon = reconstruction_metrics(model, dataset, config)
    prior = prior_sample_metrics(model, dataset, parts, n_samples=n_samples, seed=seed,
                                 batch_size=batch_size, device=dev)
    return _clean({
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "checkpoint": str(ckpt.path),
        "checkpoint_meta": ckpt.meta,
        "data": str(root),
        "split": split,
        "bodies": len(dataset),
        "device": str(dev),
        "hierarchy_fingerprint": hier.fingerprint,
        "reconstruction": {k.removeprefix("val_"): v for k, v in recon.items()},
        "prior": prior,
    })


def format_table(result: dict[str, Any]) -> str:
    """The per-archetype table printed by the CLI."""
    def pct(v: float | None) -> str:
        return "   -" if v is None else f"{100 * v:3.0f}%"

    prior = result["prior"]
    head = (f"{'archetype':14s} {'bodies':>6s} {'samples':>7s} {'match':>5s} {'exact':>5s} "
            f"{'GT':>5s} {'implied':>7s}  top classes")
    lines = [head, "-" * len(head)]
    for name, a in prior["archetypes"].items():
        top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in list(a["class_fraction"].items())[:3])
        lines.append(f"{name:14s} {a['bodies']:6d} {a['samples']:7d} {pct(a['match_rate']):>5s} "
                     f"{pct(a['exact_match_rate']):>5s} {pct(a['ground_truth_match_rate']):>5s} "
                     f"{pct(a['mean_implied_contact_fraction']):>7s}  {top or '-'}")
    lines.append("-" * len(head))
    lines.append(f"{'all (known)':14s} {prior['bodies']:6d} {prior['samples']:7d} "
                 f"{pct(prior['match_rate']):>5s} {pct(prior['exact_match_rate']):>5s} "
                 f"{pct(prior['ground_truth_match_rate']):>5s}")
    r = result["reconstruction"]
    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines.append(f"reconstruction (z = mu): loss {r['loss']:.4f}  F1 {r['f1']:.3f}  precision "
                 f"{r['precision']:.3f}  recall {r['recall']:.3f}  semantic acc "
                 f"{num(r['semantic_acc'])} (void included: "
                 f"{num(r.get('semantic_acc_with_void'))})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from . import cli

    parser = argparse.ArgumentParser(
        prog="python -m posa_model.evaluate",
        description="Reconstruction metrics and archetype match rates of prior samples for a "
                    "POSA checkpoint on a split in the reference format (rule: module doc).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--checkpoint", required=True, type=Path, help="our checkpoint (.pt)")
    parser.add_argument("--data", required=True, type=Path, help="dataset root (train/, test/)")
    parser.add_argument("--split", default="test", help="split folder under --data")
    parser.add_argument("--samples", type=cli.int_range(1, MAX_CLI_SAMPLES), default=8,
                        help="prior samples per body")
    parser.add_argument("--seed", type=cli.seed, default=0, help="seed of the prior samples")
    parser.add_argument("--device", type=cli.device, default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--hierarchy", default=None,
                        help="hierarchy .npz or mesh_ds folder of the checkpoint (default: "
                             "the one it carries, else the stand-in's)")
    parser.add_argument("--part-labels", type=Path, default=None,
                        help="(V_full,) int .npy of body parts for a non-SMPL-X hierarchy")
    parser.add_argument("--batch-size", type=cli.int_range(1, MAX_CLI_BATCH), default=256,
                        help="bodies per reconstruction batch, decoded maps per sampling batch")
    parser.add_argument("--out", required=True, type=Path, help="metrics JSON to write")
    return parser


#: Bounds of the command line's counts (each decoded map is a (V, 43) float32 array).
MAX_CLI_SAMPLES = 1024
MAX_CLI_BATCH = 1 << 16


def main(argv: list[str] | None = None) -> int:
    """``python -m posa_model.evaluate``; returns the exit status (2 on a user error)."""
    from . import cli

    parser = build_parser()
    args = parser.parse_args(argv)
    return cli.run(parser.prog, lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    from . import cli
    from .io_utils import read_npy_bounded

    if (args.split in ("", ".", "..") or "/" in args.split or "\\" in args.split
            or "\0" in args.split):
        raise cli.UsageError(f"--split {args.split!r}: expected a folder name under --data")
    cli.check_paths(inputs=[("--checkpoint", args.checkpoint), ("--data", args.data),
                            ("--hierarchy", args.hierarchy), ("--part-labels", args.part_labels)],
                    outputs=[("--out", args.out)])
    cli.clean_stale_temps([args.out])
    part_labels = None
    if args.part_labels is not None:
        part_labels = read_npy_bounded(args.part_labels, "--part-labels", kinds="iu",
                                       error=PosaError)
    result = evaluate_checkpoint(args.checkpoint, args.data, args.split, args.samples,
                                 args.seed, args.device, args.hierarchy, part_labels,
                                 args.batch_size)
    text = json.dumps(result, indent=1, allow_nan=False).encode("utf-8")
    atomic_write(args.out, lambda f: f.write(text))
    print(format_table(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
