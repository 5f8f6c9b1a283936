"""Validation metrics as additive counts (so DDP ranks can ``all_reduce`` one tensor).

Reconstruction metrics use z = mu: contact precision / recall / F1 of ``sigmoid(logit) > 0.5``
against the labels over all vertices, and semantic accuracy on the vertices that are in contact
in the labels:

* ``semantic_acc``: the class as sampling decodes it, the argmax over the object classes 1..41
  (void excluded; :mod:`posa_model.sample` gives a contact vertex an object class). Whether the
  vertex is in contact at all is the contact head's question, scored by F1.
* ``semantic_acc_with_void``: the argmax over all 42 logits, void included, so a contact vertex
  whose void logit wins counts as wrong here as well as in F1.
"""

from __future__ import annotations

import math

import torch

#: Layout of the count vector.
FIELDS = ("bodies", "loss_sum", "kl_sum", "contact_sum", "semantics_sum",
          "tp", "fp", "fn", "tn", "sem_correct", "sem_total", "sem_correct_void")


def new_counts(device: torch.device | str = "cpu") -> torch.Tensor:
    """A zero (len(FIELDS),) float64 count vector."""
    return torch.zeros(len(FIELDS), dtype=torch.float64, device=device)


@torch.no_grad()
def batch_counts(logits: torch.Tensor, contact: torch.Tensor, labels: torch.Tensor | None,
                 loss_terms: torch.Tensor, bodies: int) -> torch.Tensor:
    """Counts of one batch.

    logits (b, V, F); contact (b, V) {0, 1}; labels (b, V) or None; loss_terms (4,) float64
    [total, kl, contact, semantics] already multiplied by ``bodies`` (i.e. per-body sums).
    """
    pred = logits[..., 0].float() > 0  # sigmoid(logit) > 0.5
    truth = contact > 0.5
    tp = (pred & truth).sum()
    fp = (pred & ~truth).sum()
    fn = (~pred & truth).sum()
    tn = (~pred & ~truth).sum()
    if labels is not None and logits.shape[-1] > 2:
        correct = (logits[..., 2:].argmax(-1) + 1 == labels) & truth
        with_void = (logits[..., 1:].argmax(-1) == labels) & truth
        sem = torch.stack([correct.sum(), truth.sum(), with_void.sum()])
    else:
        sem = torch.zeros(3, device=logits.device, dtype=torch.long)
    counts = torch.stack([tp, fp, fn, tn]).double()
    head = torch.tensor([float(bodies)], dtype=torch.float64, device=logits.device)
    return torch.cat([head, loss_terms.to(logits.device, torch.float64), counts, sem.double()])


def summarize(counts: torch.Tensor, prefix: str = "val_") -> dict[str, float]:
    """Means and rates from summed counts: loss, kl, contact, semantics, precision, recall, f1,
    semantic_acc, semantic_acc_with_void (NaN when undefined, e.g. no contact vertex in the
    labels)."""
    c = dict(zip(FIELDS, counts.double().cpu().tolist(), strict=True))
    n = max(c["bodies"], 1.0)
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    acc = c["sem_correct"] / c["sem_total"] if c["sem_total"] > 0 else math.nan
    acc_void = c["sem_correct_void"] / c["sem_total"] if c["sem_total"] > 0 else math.nan
    out = {"loss": c["loss_sum"] / n, "kl": c["kl_sum"] / n, "contact": c["contact_sum"] / n,
           "semantics": c["semantics_sum"] / n, "precision": precision, "recall": recall,
           "f1": f1, "semantic_acc": acc, "semantic_acc_with_void": acc_void}
    return {prefix + k: float(v) for k, v in out.items()}
