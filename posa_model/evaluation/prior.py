"""Prior-sample statistics: decode maps from z ~ N(0, I) for every body of a split and score them
per archetype with the matching rule of :mod:`.rules`.

For every body, ``n_samples`` feature maps are decoded at the network level from z ~ N(0, I)
(one seeded CPU ``torch.Generator``, one (samples, z_dim) draw per body in split order, so the
numbers do not depend on ``batch_size`` or the device's batching) with the body's
``vertices_can``. The same rule is applied to the split's own labels
(``ground_truth_match_rate``): the ceiling a model can reach on this data.

Per archetype the result has the match rates (any class of the implied set, and ``exact``), the
contact fraction per body part, the whole-body and implied-part contact fractions,
per-requirement rates and the class histogram of sampled contact vertices.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..classes import MPCAT40_NAMES, NUM_CLASSES
from ..data import PosaDataset
from ..errors import InputShapeError, PosaError
from .rules import (
    MAX_BODY_FRACTION,
    MIN_CLASS_SHARE,
    MIN_PART_FRACTION,
    OTHER,
    archetype_of,
    implied_requirements,
    match_samples,
    part_names,
)

__all__ = ["ArchetypeStats", "prior_sample_metrics"]


class ArchetypeStats:
    """Integer counts over the samples (and label maps) of one archetype, so the result does not
    depend on how bodies were batched; :meth:`to_dict` turns them into the JSON's rates."""

    def __init__(self, name: str, parts: np.ndarray, semantics: bool):
        self.name = name
        self.requirements = implied_requirements(name) if name != OTHER else ()
        self.parts = torch.as_tensor(parts)
        self.semantics = semantics
        names = part_names()
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
        names = part_names()

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
    parts: (N,) PART_NAMES index per network vertex (:func:`.rules.network_part_labels`);
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
        from ..synth.archetypes import ARCHETYPES

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
            part_names(), np.bincount(parts, minlength=len(part_names())), strict=True)},
        "archetypes": per,
    }
