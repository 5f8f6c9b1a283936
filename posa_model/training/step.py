"""What one training step runs: the noisy forward, bf16 autocast, the batch loader, the module
the optimiser steps through (``torch.compile`` and DDP wrapped around the noisy forward) and the
step's losses (:func:`step_losses`).
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from ..data import Batch, IndexBatches, PosaDataset
from ..nn.cvae import POSA
from .config import TrainConfig
from .distributed import DistContext, StepPlan
from .losses import LossTerms, cvae_loss, reconstruction_loss

__all__ = ["NoisyPOSA", "autocast", "batch_loader", "step_losses", "step_module_for"]


class NoisyPOSA(nn.Module):
    """POSA's training forward with the reparameterisation noise passed in.

    ``eps`` (b, z_dim) is this rank's slice of one global draw, so a DDP run sees the same noise
    per body as a single process. Returns (logits (b, V, F), mu, logvar (b, z_dim), prior_logits)
    where ``prior_logits`` (b, V, F) decode ``z_prior`` (b, z_dim) ~ N(0, I) for the hybrid
    loss when given (one decoder call for both), else None.
    """

    def __init__(self, posa: POSA):
        super().__init__()
        self.posa = posa

    def forward(self, f: torch.Tensor, vertices: torch.Tensor, eps: torch.Tensor,
                z_prior: torch.Tensor | None = None):
        mu, logvar = self.posa.encode(f, vertices)
        z = mu + eps * torch.exp(0.5 * logvar)
        if z_prior is None:
            return self.posa.decode_logits(z, vertices), mu, logvar, None
        both = self.posa.decode_logits(torch.cat([z, z_prior.to(z.dtype)]),
                                       torch.cat([vertices, vertices]))
        return both[:len(z)], mu, logvar, both[len(z):]


def step_module_for(model: POSA, config: TrainConfig, ctx: DistContext) -> nn.Module:
    """The module the training step calls: :class:`NoisyPOSA` around ``model``, compiled with
    ``config.compile``, inside DDP under torchrun. ``model`` itself stays the one to save."""
    step_module: nn.Module = NoisyPOSA(model)
    if config.compile:
        step_module = torch.compile(step_module)
    if ctx.distributed:
        # the spiral/down-sampling buffers are constants: no per-step buffer broadcast
        no_sync = ({"forward_sync_buffers": False}
                   if "forward_sync_buffers" in inspect.signature(DDP).parameters
                   else {"broadcast_buffers": False})
        step_module = DDP(step_module, device_ids=[ctx.local_rank]
                          if ctx.device.type == "cuda" else None, **no_sync)
    return step_module


def batch_loader(dataset: PosaDataset, batches: list[np.ndarray], config: TrainConfig,
                 device: torch.device) -> DataLoader:
    """A loader yielding one :class:`posa_model.data.Batch` per row array of ``batches``."""
    return DataLoader(IndexBatches(dataset, batches), batch_size=None, shuffle=False,
                      num_workers=config.num_workers, pin_memory=device.type == "cuda")


def autocast(config: TrainConfig, device: torch.device):
    """bf16 autocast when ``config.bf16`` (losses are computed outside it, in fp32)."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=config.bf16)


def step_losses(step_module: nn.Module, batch: Batch, plan: StepPlan, noise: torch.Generator,
                config: TrainConfig, step: int) -> tuple[LossTerms, torch.Tensor | None]:
    """The cVAE loss terms of optimiser step ``step`` (0-based) on this rank's ``batch``, and
    the hybrid prior term (None when ``prior_w`` is 0).

    The noise of the whole global batch is drawn from ``noise`` (eps, then z_prior) and this
    rank takes its slice, so N ranks see the noise of one process. The forward runs under
    autocast, the losses in fp32 outside it, normalised by the GLOBAL batch (see losses.py).
    """
    device = batch.vertices.device
    eps = torch.randn(plan.global_size, config.z_dim, generator=noise)[plan.start:plan.stop]
    z_prior = None
    if config.prior_w > 0:
        z_prior = torch.randn(plan.global_size, config.z_dim, generator=noise)
        z_prior = z_prior[plan.start:plan.stop].to(device, non_blocking=True)
    with autocast(config, device):
        logits, mu, logvar, prior_logits = step_module(
            batch.features(config.use_semantics), batch.vertices,
            eps.to(device, non_blocking=True), z_prior)
    labels = batch.labels if config.use_semantics else None
    terms = cvae_loss(logits, mu, logvar, batch.contact, labels,
                      kl_w=config.kl_weight(step), contact_w=config.contact_w,
                      semantics_w=config.semantics_w, batch_size=plan.global_size,
                      kl_free_bits=config.kl_free_bits)
    if prior_logits is None:
        return terms, None
    bce, ce = reconstruction_loss(prior_logits, batch.contact, labels,
                                  batch_size=plan.global_size)
    return terms, config.contact_w * bce + config.semantics_w * ce
