"""The POSA conditional VAE: Q(z | f, V) and P(f | z, V) with spiral convolutions.

f is the egocentric feature map (B, N, F): per vertex a contact value and (optionally) a one-hot
MPCAT40 class; V the canonical body vertices (B, N, 3) at the network's level (N = 655 for
SMPL-X); z the latent code (B, z_dim). The layout follows POSA_REFERENCE.md exactly so that
reference weights load one-to-one (see :mod:`posa_model.reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..errors import HierarchyError
from .config import ModelConfig
from .layers import LinearBlock, SpiralBlock, SpiralConv

if TYPE_CHECKING:
    from ..mesh.hierarchy import MeshHierarchy


def _as_index(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    return torch.tensor(np.asarray(array), dtype=torch.long)  # a copy: sources may be read-only


class Encoder(nn.Module):
    """Q(z | f, V): (B, N0, F) features + (B, N0, 3) vertices -> mu, logvar (B, z_dim) each."""

    def __init__(self, config: ModelConfig, spirals: Sequence[torch.Tensor],
                 down: Sequence[torch.Tensor]):
        super().__init__()
        c, g = config.channels, config.num_groups
        self.convs = nn.ModuleList([
            SpiralBlock(3 + config.feature_dim, c, spirals[0], g),
            SpiralBlock(c, c, spirals[0], g),
            SpiralBlock(c, c, spirals[1], g),
            SpiralBlock(c, c, spirals[2], g),
        ])  # fmt: skip
        self.register_buffer("down1", down[0].long(), persistent=False)
        self.register_buffer("down2", down[1].long(), persistent=False)
        self.flat_dim = spirals[2].shape[0] * c
        self.fc = nn.Linear(self.flat_dim, config.h_dim)
        self.fc_norm = nn.LayerNorm(config.h_dim)
        self.mu = nn.Linear(config.h_dim, config.z_dim)
        self.logvar = nn.Linear(config.h_dim, config.z_dim)

    def forward(self, f: torch.Tensor, vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat((vertices, f), dim=-1)
        x = self.convs[1](self.convs[0](x))
        x = self.convs[2](x.index_select(1, self.down1))
        x = self.convs[3](x.index_select(1, self.down2))
        h = torch.relu(self.fc_norm(self.fc(x.reshape(x.shape[0], self.flat_dim))))
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """P(f | z, V): z (B, z_dim) + vertices (B, N0, 3) -> raw outputs (B, N0, F) (logits)."""

    def __init__(self, config: ModelConfig, spirals0: torch.Tensor):
        super().__init__()
        c, g, z = config.channels, config.num_groups, config.z_dim
        self.lin = nn.ModuleList([LinearBlock(3 + z, z // 2, g), LinearBlock(z // 2, c, g)])
        self.convs = nn.ModuleList(
            [SpiralBlock(c, c, spirals0, g) for _ in range(config.num_hidden_layers)]
        )
        self.out = SpiralConv(c, config.feature_dim, spirals0)

    def forward(self, z: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
        x = torch.cat((vertices, z.unsqueeze(1).expand(-1, vertices.shape[1], -1)), dim=-1)
        for block in self.lin:
            x = block(x)
        for block in self.convs:
            x = block(x)
        return self.out(x)


@dataclass
class CVAEOutput:
    """Training-time output of :meth:`POSA.forward`.

    logits: (B, N, F) raw decoder output: channel 0 contact logit, 1..42 class logits.
    mu, logvar: (B, z_dim) posterior parameters; z: (B, z_dim) the reparameterised sample.
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor


class POSA(nn.Module):
    """The POSA cVAE for one mesh hierarchy (spirals at 3 levels, 2 vertex selections)."""

    def __init__(self, config: ModelConfig, spirals: Sequence[np.ndarray | torch.Tensor],
                 down: Sequence[np.ndarray | torch.Tensor]):
        super().__init__()
        if len(spirals) != 3 or len(down) != 2:
            raise HierarchyError("POSA needs spirals at 3 levels and 2 down-sampling selections")
        sp = [_as_index(s) for s in spirals]
        dn = [_as_index(d) for d in down]
        for level, s in enumerate(sp):
            if s.ndim != 2 or s.shape[1] != config.seq_length:
                raise HierarchyError(
                    f"spirals at network level {level} have shape {tuple(s.shape)}; "
                    f"expected (V, seq_length={config.seq_length})"
                )
        for k, d in enumerate(dn):
            if d.shape != (sp[k + 1].shape[0],) or int(d.max()) >= sp[k].shape[0]:
                raise HierarchyError(
                    f"down-sampling selection {k} has shape {tuple(d.shape)} / max index "
                    f"{int(d.max())}; expected ({sp[k + 1].shape[0]},) indices < {sp[k].shape[0]}"
                )
        self.config = config
        self.num_vertices = sp[0].shape[0]
        self.encoder = Encoder(config, sp, dn)
        self.decoder = Decoder(config, sp[0])

    @classmethod
    def from_hierarchy(cls, config: ModelConfig, hierarchy: MeshHierarchy) -> POSA:
        """Build for ``hierarchy``'s levels network_level .. network_level + 2."""
        lvl = config.network_level
        if len(hierarchy.spirals) < lvl + 3:
            raise HierarchyError(
                f"the hierarchy has {len(hierarchy.spirals)} levels; the network needs levels "
                f"{lvl}..{lvl + 2}"
            )
        if (hierarchy.seq_length, hierarchy.dilation) != (config.seq_length, config.dilation):
            raise HierarchyError(
                f"hierarchy spirals use seq_length={hierarchy.seq_length}, dilation="
                f"{hierarchy.dilation}; the model config wants {config.seq_length}, "
                f"{config.dilation}"
            )
        spirals = [hierarchy.spirals[lvl + i] for i in range(3)]
        down = [hierarchy.down[lvl], hierarchy.down[lvl + 1]]
        return cls(config, spirals, down)

    def encode(self, f: torch.Tensor, vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, F) features, (B, N, 3) canonical vertices -> (mu, logvar), each (B, z_dim)."""
        return self.encoder(f, vertices)

    def decode_logits(self, z: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
        """(B, z_dim), (B, N, 3) -> (B, N, F) raw logits (channel 0 is the contact logit)."""
        return self.decoder(z, vertices)

    def decode(self, z: torch.Tensor, vertices: torch.Tensor) -> torch.Tensor:
        """The reference decoder's output: channel 0 contact probability, 1.. class logits."""
        logits = self.decoder(z, vertices)
        return torch.cat((torch.sigmoid(logits[..., :1]), logits[..., 1:]), dim=-1)

    def forward(self, f: torch.Tensor, vertices: torch.Tensor,
                generator: torch.Generator | None = None) -> CVAEOutput:
        """Encode, reparameterise (noise from ``generator`` if given), decode."""
        mu, logvar = self.encoder(f, vertices)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + eps * torch.exp(0.5 * logvar)
        return CVAEOutput(self.decoder(z, vertices), mu, logvar, z)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
