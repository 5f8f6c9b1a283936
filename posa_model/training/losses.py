"""The cVAE training loss of POSA, in fp32, with explicit normalisers for sharded batches.

loss = kl_w * KL + contact_w * BCE(contact) + semantics_w * CE(semantics, all vertices)

With ``kl_free_bits`` = f > 0 (off by default; not in the reference) the KL term of the total is
``sum_b max(KL_b, f) / B``: each body's KL (nats, summed over latent dims) is floored at f, so the
encoder may put up to f nats per body into the latent without paying for it (Kingma et al. 2016,
"free bits", here as a per-body total floor) - a remedy for posterior collapse. The floor is
applied per body, so the sums of DDP ranks still add up to the single-process loss.
``LossTerms.kl`` always reports the plain KL.

With ``prior_w`` > 0 (off by default; not in the reference) the trainer adds
``prior_w * (contact_w * BCE + semantics_w * CE)`` of a second decoding of each body from
z ~ N(0, I) (:func:`reconstruction_loss`): the "hybrid" objective of Sohn et al. 2015 (Learning
Structured Output Representation using Deep Conditional Generative Models, Eq. 6, the GSNN term
with POSA's N(0, I) prior). Sampling decodes from the prior, so this trains the decoder on the
latents it will see at sampling time: prior samples must then fit the pose, and the latent is
left to carry what the pose does not say.

* KL = -1/2 sum_d (1 + logvar - mu^2 - exp(logvar)), summed over latent dims, divided by the
  batch size B.
* BCE: binary cross-entropy of the contact logit (channel 0) against contact in {0, 1}, mean over
  the B*V vertices. ``binary_cross_entropy_with_logits`` equals the reference's
  ``binary_cross_entropy(sigmoid(logit))`` mathematically, is stable, and accepts any dtype.
* CE: cross-entropy of the class logits (channels 1..42) against the class ids (0 = void on
  non-contact vertices), mean over the B*V vertices.

Under DDP each rank holds a slice of the global batch. :func:`cvae_loss` therefore divides the
rank's SUMS by the GLOBAL counts (``batch_size``, ``batch_size * V``): the ranks' losses then add
up to the single-process loss exactly (the trainer multiplies by the world size before backward
because DDP averages gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class LossTerms:
    """Scalar fp32 tensors: ``total`` = kl_w*kl + contact_w*contact + semantics_w*semantics
    (with free bits, the floored KL in place of ``kl`` in ``total``; ``kl`` stays the plain KL)."""

    total: torch.Tensor
    kl: torch.Tensor
    contact: torch.Tensor
    semantics: torch.Tensor

    def detached(self) -> torch.Tensor:
        """(4,) float64 [total, kl, contact, semantics] for logging / all_reduce."""
        return torch.stack([self.total, self.kl, self.contact, self.semantics]).detach().double()


def kl_divergence_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the batch and latent dims (scalar)."""
    return kl_per_body(mu, logvar).sum()


def kl_per_body(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """(b,) fp32 KL(N(mu, exp(logvar)) || N(0, I)) of each body, summed over latent dims (nats).
    """
    mu, logvar = mu.float(), logvar.float()
    return -0.5 * torch.sum(1.0 + logvar - mu.square() - logvar.exp(), dim=-1)


def cvae_loss(logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
              contact: torch.Tensor, labels: torch.Tensor | None, *, kl_w: float = 0.1,
              contact_w: float = 1.0, semantics_w: float = 1.0,
              batch_size: int | None = None, kl_free_bits: float = 0.0) -> LossTerms:
    """POSA's loss (see module docstring), computed in fp32 whatever the logits' dtype.

    Args:
        logits: (b, V, F) raw decoder output; channel 0 contact logit, 1.. class logits.
        mu, logvar: (b, z_dim) posterior parameters.
        contact: (b, V) targets in {0, 1}; labels: (b, V) int64 class ids, or None for a
            contact-only model (the semantic term is then 0).
        batch_size: the GLOBAL batch B the normalisers use; None = this batch's b.
        kl_free_bits: floor (nats per body, >= 0) on each body's KL in ``total``; 0 = off.
    """
    big_b = contact.shape[0] if batch_size is None else int(batch_size)
    kl_b = kl_per_body(mu, logvar)
    kl = kl_b.sum() / big_b
    kl_term = kl if kl_free_bits <= 0 else kl_b.clamp_min(float(kl_free_bits)).sum() / big_b
    bce, ce = reconstruction_loss(logits, contact, labels, batch_size=big_b)
    total = kl_w * kl_term + contact_w * bce + semantics_w * ce
    return LossTerms(total, kl, bce, ce)


def reconstruction_loss(logits: torch.Tensor, contact: torch.Tensor,
                        labels: torch.Tensor | None, batch_size: int | None = None,
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(BCE, CE) fp32 scalars: the contact and semantic terms of :func:`cvae_loss`.

    logits (b, V, F); contact (b, V) in {0, 1}; labels (b, V) class ids or None (CE = 0);
    sums divided by ``batch_size * V`` (the GLOBAL batch; None = this batch's b).
    """
    b, v = contact.shape
    big_b = b if batch_size is None else int(batch_size)
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits[..., 0], contact.float(), reduction="sum")
    bce = bce / (big_b * v)
    if labels is not None and logits.shape[-1] > 1:
        ce = F.cross_entropy(logits[..., 1:].reshape(b * v, -1), labels.reshape(-1).long(),
                             reduction="sum") / (big_b * v)
    else:
        ce = logits.new_zeros(())
    return bce, ce
