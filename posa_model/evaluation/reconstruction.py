"""Reconstruction metrics: encode each body of a split, decode z = mu, compare with its labels.

Loss, KL, contact BCE, semantics CE, contact precision / recall / F1 at 0.5 and semantic accuracy
on contact vertices (the object class as sampling decodes it, and with void included), as
defined in :mod:`posa_model.training.metrics`. The trainer validates every epoch with it and
``python -m posa_model.evaluate`` reports it.
"""

from __future__ import annotations

import torch

from ..data import PosaDataset
from ..nn.cvae import POSA
from ..training.config import TrainConfig
from ..training.distributed import DistContext, shard
from ..training.losses import cvae_loss
from ..training.metrics import batch_counts, new_counts, summarize
from ..training.step import autocast, batch_loader

__all__ = ["reconstruction_metrics"]


@torch.no_grad()
def reconstruction_metrics(model: POSA, dataset: PosaDataset, config: TrainConfig,
                           ctx: DistContext | None = None) -> dict[str, float]:
    """Reconstruction metrics on ``dataset`` with z = mu (see :mod:`.training.metrics`).

    ``config`` gives the batch size, loss weights, semantics, workers and autocast. Under DDP
    each rank evaluates a shard and the counts are summed, so every rank gets the metrics of the
    whole split. Returns ``val_loss``, ``val_kl``, ``val_contact``, ``val_semantics``,
    ``val_precision``, ``val_recall``, ``val_f1``, ``val_semantic_acc``,
    ``val_semantic_acc_with_void``.
    """
    ctx = ctx or DistContext(0, 1, 0, next(model.parameters()).device)
    was_training = model.training
    model.eval()
    rows = shard(len(dataset), ctx.rank, ctx.world_size)
    batches = [rows[i:i + config.batch_size] for i in range(0, len(rows), config.batch_size)]
    counts = new_counts(ctx.device)
    use_sem = config.use_semantics
    for batch in batch_loader(dataset, batches, config, ctx.device):
        batch = batch.to(ctx.device, non_blocking=True)
        with autocast(config, ctx.device):
            mu, logvar = model.encode(batch.features(use_sem), batch.vertices)
            logits = model.decode_logits(mu, batch.vertices)
        labels = batch.labels if use_sem else None
        terms = cvae_loss(logits, mu, logvar, batch.contact, labels, kl_w=config.kl_w,
                          contact_w=config.contact_w, semantics_w=config.semantics_w)
        b = len(batch)
        counts += batch_counts(logits, batch.contact, labels, terms.detached() * b, b)
    ctx.all_reduce_sum(counts)
    model.train(was_training)
    return summarize(counts, prefix="val_")
